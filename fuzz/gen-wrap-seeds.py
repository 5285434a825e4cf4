#!/usr/bin/env python3
"""Writes the seeds of the crypto_wrap fuzz target (fuzz/corpus/crypto_wrap/seed-*): ordinary
messages the switch wraps (text, multipart, 8bit with LF line ends, an empty body, no MIME
headers, a forwarded message/rfc822, RFC 9788 protected headers, a header-only message), a
P772 content, and content that is CMS already (copied from the crypto_unwrap gen-* seeds, which
fuzz/gen-crypto-corpus.sh makes with the fixed keys: the "already a ContentInfo / already
encrypted" checks read them). Each with a few option bytes (see fuzz/crypto_wrap.c).
The own-* seeds are not made here: binary EnvelopedData / AuthEnvelopedData for the target's
own recipients (so the binary "already encrypted for the same recipients" path is reached),
made by fuzz/gen-crypto-corpus.sh, which runs this script last; this script leaves them alone.
usage: python3 fuzz/gen-wrap-seeds.py"""
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "crypto_wrap")
unwrap = os.path.join(here, "corpus", "crypto_unwrap")

SIGN, ENC, OUTER, DER, HP, DET, LABELS, STRONG = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80
TRIPLE = 0

H = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: quarterly figures\r\n"
     b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n")
mime = {
    "text": H + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n",
    "multipart": H + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                 b"--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\n"
                 b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 b"AAECAw==\r\n--b1--\r\n",
    "8bit-lf": H.replace(b"\r\n", b"\n") + b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
               b"Content-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe\n\nzweite Zeile\n",
    "empty-body": H + b"\r\n",
    "no-mime": b"From: a@example.org\r\nSubject: plain\r\nReceived: from x by y; Mon, 7 Dec 2026\r\n"
               b"\r\nno MIME header at all\r\n",
    "forwarded-rfc822": H + b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
                        b"From: c@example.org\r\nSubject: inner\r\n\r\ninner body\r\n",
    "protected-headers": H + b"MIME-Version: 1.0\r\nContent-Type: text/plain; protected-headers=\"v1\"\r\n"
                         b"\r\nbody\r\n",
    "header-only": b"Subject: no body and no line end",
}
p772 = bytes.fromhex("3006020105040141")

seeds = []
for name, m in mime.items():
    for tag, opt in (("sign", SIGN), ("encrypt", ENC), ("triple", TRIPLE),
                     ("detached-labels", SIGN | DET | LABELS), ("hp-sign-encrypt", HP | SIGN | ENC),
                     ("strong-triple", STRONG | LABELS | DET)):
        seeds.append((f"{name}-{tag}", opt, m))
for tag, opt in (("sign", DER | SIGN), ("encrypt", DER | ENC), ("triple-p772", DER | HP),
                 ("strong-triple-labels", DER | STRONG | LABELS), ("outer", DER | OUTER)):
    seeds.append((f"p772-{tag}", opt, p772))
# a plain id-data ContentInfo ("hello"): its octets are the content of the layers added
data_ci = bytes.fromhex("3014" "06092a864886f70d010701" "a007" "0405") + b"hello"
seeds.append(("data-contentinfo-encrypt", DER | ENC, data_ci))
seeds.append(("data-contentinfo-encrypt-outer", DER | ENC | OUTER, data_ci))
# already CMS: encrypt and/or outer-sign what is signed; encrypt what is encrypted (skipped)
for f, tags in (("gen-signed-p772.der", (("encrypt", DER | ENC), ("encrypt-outer", DER | ENC | OUTER),
                                          ("strong-encrypt", DER | STRONG | ENC))),
                ("gen-triple-p772.der", (("outer", DER | OUTER), ("encrypt", DER | ENC))),
                ("gen-signed-receipt-request-p772.der", (("encrypt", DER | ENC),)),
                ("gen-signed-opaque.eml", (("encrypt", ENC), ("encrypt-outer", ENC | OUTER))),
                ("gen-signed-detached-ec-label.eml", (("encrypt", ENC),)),
                ("gen-enveloped-rsa.eml", (("encrypt", ENC), ("encrypt-outer", ENC | OUTER))),
                ("gen-enveloped-oaep-ecdh.eml", (("strong-encrypt", STRONG | ENC),)),
                ("gen-authenveloped.eml", (("sign", SIGN),))):
    with open(os.path.join(unwrap, f), "rb") as fh:
        data = fh.read()
    for tag, opt in tags:
        seeds.append((f"cms-{f.split('.')[0][4:]}-{tag}", opt, data))

os.makedirs(out, exist_ok=True)
for old in os.listdir(out):
    if old.startswith("seed-"):
        os.remove(os.path.join(out, old))
for name, opt, data in seeds:
    with open(os.path.join(out, "seed-" + name), "wb") as fh:
        fh.write(bytes([opt]) + data)
print(f"{len(seeds)} seeds in {out}")
