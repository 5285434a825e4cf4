"""Bouncy Castle for end-to-end tests: tests/crypto/java/MixgateInterop.java (the program
crypto.interop_bc runs against the library) compiled once per build tree, so a test can have BC
verify and decrypt what the running daemon put on the wire."""
import email, hashlib, os, shutil, subprocess
from harness import SRC, BUILD, made_once

JARS = ["/usr/share/java/bcprov.jar", "/usr/share/java/bcpkix.jar", "/usr/share/java/bcutil.jar"]
CLASSES = os.path.join(BUILD, "e2e-work", "bc-classes")


def interop():
    """The argv prefix that runs MixgateInterop (verify IN OUT CA, decrypt IN OUT CERT KEY, ...),
    compiled once per build tree."""
    for j in JARS:
        assert os.access(j, os.R_OK), "%s missing (scripts/install-deps.sh --test installs libbcpkix-java)" % j
    assert shutil.which("javac") and shutil.which("java"), \
        "javac missing (scripts/install-deps.sh --test installs openjdk-17-jdk-headless)"
    cp = ":".join(JARS)
    src = os.path.join(SRC, "tests/crypto/java/MixgateInterop.java")
    # the stamp names the source's digest: an edited program is compiled again
    stamp = "built-" + hashlib.sha256(open(src, "rb").read()).hexdigest()[:16]

    def compile_into(tmp):
        r = subprocess.run(["javac", "-Xlint:-unchecked", "-d", tmp, "-cp", cp, src],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "javac: " + r.stderr
        open(os.path.join(tmp, stamp), "w").close()
    made_once(CLASSES, stamp, compile_into)
    return ["java", "-cp", CLASSES + ":" + cp, "MixgateInterop"]


def run(*args):
    """Runs MixgateInterop with args; its stdout (signer=, label=, econtent-type= lines)."""
    r = subprocess.run(interop() + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "Bouncy Castle %s failed: %s%s" % (args[0], r.stdout, r.stderr)
    return r.stdout


def _body(data, path):
    """The decoded body of a one-part MIME entity (an application/pkcs7-mime's DER), into path."""
    open(path, "wb").write(email.message_from_bytes(data).get_payload(decode=True))
    return path


def verify_mime(data, prefix, ca):
    """BC's verification of a signed MIME entity, clear-signed (multipart/signed, RFC 8551 3.5.3:
    the second part over the first part's bytes exactly as they crossed the wire) or opaque
    (application/pkcs7-mime signed-data); files prefix.*. (BC's report, the signed content)."""
    m = email.message_from_bytes(data)
    out = prefix + ".out"
    if m.get_content_type() == "multipart/signed":
        sep = b"--" + m.get_boundary().encode()
        start = data.index(sep + b"\r\n") + len(sep) + 2
        content = data[start:data.index(b"\r\n" + sep, start)]   # the CRLF before a boundary is the boundary's
        open(prefix + ".eml", "wb").write(content)
        open(prefix + ".p7s", "wb").write(m.get_payload(1).get_payload(decode=True))
        return run("verify-detached", prefix + ".p7s", prefix + ".eml", out, ca), content
    return run("verify", _body(data, prefix + ".p7m"), out, ca), open(out, "rb").read()


def decrypt_mime(data, prefix, cert, key):
    """BC's decryption of an application/pkcs7-mime enveloped-data entity: the entity inside."""
    run("decrypt", _body(data, prefix + ".p7m"), prefix + ".out", cert, key)
    return open(prefix + ".out", "rb").read()


def cotp_payload(tpkts):
    """The transport user data of a list of TPKTs (RFC 1006) in order: each DT TPDU's data after
    its header (ISO 8073 class 0: length indicator, code 0xF0, EOT), other TPDUs skipped."""
    out = b""
    for t in tpkts:
        if len(t) > 6 and t[0] == 3 and (t[5] & 0xF0) == 0xF0:
            out += t[5 + t[4]:]
    return out


def der_at(buf, i):
    """The DER element (definite length) starting at buf[i], or None."""
    if i + 2 > len(buf):
        return None
    n = buf[i + 1]
    if n < 0x80:
        hl, ln = 2, n
    else:
        k = n & 0x7F
        if k == 0 or k > 4 or i + 2 + k > len(buf):
            return None
        hl, ln = 2 + k, int.from_bytes(buf[i + 2:i + 2 + k], "big")
    end = i + hl + ln
    return buf[i:end] if end <= len(buf) else None


def content_infos(stream, oid_der):
    """Every DER ContentInfo in stream of the type oid_der (the OID's encoding, tag and length
    included): a SEQUENCE of that type and a [0] content."""
    out, i = [], 0
    while True:
        j = stream.find(oid_der, i)
        if j < 0:
            return out
        for hl in (2, 3, 4, 5):
            if j - hl >= 0 and stream[j - hl] == 0x30:
                e = der_at(stream, j - hl)
                # [0] EXPLICIT content after the type: an EncryptedContentInfo also begins with
                # a SEQUENCE and a content type, then an AlgorithmIdentifier
                if e is not None and len(e) - hl > len(oid_der) and e[hl + len(oid_der)] == 0xA0:
                    out.append(e)
                    break
        i = j + 1
