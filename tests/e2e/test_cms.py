#!/usr/bin/python3
"""End to end: the cms processing channel in the real daemon.

etc/examples/gateway-pair.conf as two gateways (A = alice's key, B = carol's, test PKI made
here at test time by test-vectors/crypto/gen-test-pki.py): swaks -> A -> S/MIME on the wire
(opened by `openssl cms` with B's key at a sink) -> B -> file, cleartext with the security-status
header naming the verified signer; then A -> B directly; A triple-wrapping (MIME), its output
read layer by layer by Bouncy Castle and opened by B. Gateway to client: mail `openssl cms`
encrypts (and signs) for the gateway is decrypted; mail the gateway encrypts to a client
certificate from its store, and to one harvested from that client's signed mail, is decrypted by
`openssl cms`. Policy: keyless recipient (hold, return, clear), expired and revoked (CRL)
certificates, tampered signature (hold, tag, return), Subject keyword, archive key, a held
message released once the certificate is known; gpgsm both ways; the audit record of each
decision; a sender's forged status header is removed. Key isolation: mixgated's memory holds no
byte of the private key, its key process does. kill -9 of either gateway under load: nothing
lost, nothing on the wire in clear."""
import json, os, re, shutil, subprocess
from harness import *

PAIR = os.path.join(SRC, "etc/examples/gateway-pair.conf")
PKI_DIR = os.path.join(BUILD, "e2e-work", "cms-pki")


def pki():
    """The test PKI, made once per build tree (several e2e tests use it)."""
    made_once(PKI_DIR, "stamp", lambda tmp: subprocess.run(
        [PY, os.path.join(SRC, "test-vectors/crypto/gen-test-pki.py"), tmp], check=True, capture_output=True))
    return lambda n: os.path.join(PKI_DIR, n)


P = pki()


def pair_env(me, peer, remote_domain, relay_port, extra=None):
    env = {"MIXGATE_KEY": P(me + ".key"), "MIXGATE_CERT": P(me + ".pem"), "MIXGATE_PEER_CERT": P(peer + ".pem"),
           "MIXGATE_CA": P("ca.pem"), "MIXGATE_REMOTE_DOMAIN": remote_domain,
           "MIXGATE_RELAY": "127.0.0.1:%d" % relay_port, "MIXGATE_RETRY_MIN": "1"}
    env.update(extra or {})
    return env


def msg(subject, to="user@b.example", frm="sender@a.example", extra=b"", body=b"secret body line\r\n"):
    return (b"From: " + frm.encode() + b"\r\nTo: " + to.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\nMessage-ID: <" + subject.encode().replace(b" ", b"-") + b"@t>\r\n" + extra + b"\r\n" + body)


def delivered(d, n=1):
    deliver = os.path.join(d.var, "deliver")

    def files():
        if not os.path.isdir(deliver):
            return None
        fs = sorted(f for f in os.listdir(deliver) if f.endswith(".eml"))
        return fs if len(fs) >= n else None
    fs = wait_for(files, 60, "%d delivered file(s) in %s" % (n, deliver))
    return [open(os.path.join(deliver, f), "rb").read() for f in fs]


def audit(d, *args):
    r = subprocess.run([MIXGATE, "audit", "-c", d.conf, "--json"] + list(args), capture_output=True,
                       text=True, timeout=30 * SLOW, env=d.env)
    assert r.returncode in (0, 1), "mixgate audit exited %d: %s" % (r.returncode, r.stderr)
    return json.loads(r.stdout or "[]")


def decisions(d):
    return [(r["decision"], r.get("rcpt") or None) for r in audit(d)]


def openssl(*args, data=None, check=True):
    r = subprocess.run(["openssl", "cms"] + list(args), input=data, capture_output=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("openssl cms %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()))
    return r


def held_reason(d, rcpt):
    m = wait_for(lambda: re.search(r"event=held_rcpt qid=(\w+) to=<%s> .*reason=\"([^\"]*)\"" % re.escape(rcpt),
                                   d.log_text()), 60, "%s held" % rcpt)
    return m.group(1), m.group(2)


def stop_all(*xs):
    """Stops every daemon and sink given (None skipped), even when one of them fails to stop
    cleanly; then raises the first failure (so a crash is reported and nothing is left running)."""
    first = None
    for x in xs:
        if x is None or (hasattr(x, "alive") and not x.alive()):
            continue
        try:
            x.stop()
        except Exception as e:  # noqa: BLE001 - re-raised below
            first = first or e
    if first:
        raise first


def t_check_config():
    env = dict(os.environ)
    env.update(pair_env("alice", "carol", "b.example", 2600))
    r = subprocess.run([MIXGATE, "check-config", "-c", PAIR], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # every mistake is reported with file:line at load time
    wd = Workdir("cms-check")
    bad = write(wd.sub("bad.conf"), open(PAIR).read()
                .replace('operations = [ "sign", "encrypt" ];', 'operations = [ "sign", "encrypt", "shred" ];')
                .replace('cipher = "aes128-cbc";', 'cipher = "des";')
                .replace('no_key = "pass";', 'no_key = "pass"; harvest = true; colour = "red";'))
    r = subprocess.run([MIXGATE, "check-config", "-c", bad], capture_output=True, text=True, env=env)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    for want in (r"bad\.conf:\d+: channel 'protect': unknown operation \"shred\"",
                 r"bad\.conf:\d+: channel 'protect': 'cipher' must be one of",
                 r"bad\.conf:\d+: .*unknown key 'colour'", r"'harvest' needs a 'store'"):
        assert re.search(want, out), "%r not in %s" % (want, out)
    # an expired peer certificate is refused at load time
    env["MIXGATE_PEER_CERT"] = P("expired.pem")
    r = subprocess.run([MIXGATE, "check-config", "-c", PAIR], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "peer certificate" in r.stdout + r.stderr, r.stdout + r.stderr


def t_pair_wire_then_b():
    """A -> sink: the wire carries S/MIME only, openssl opens it with B's key and verifies A's
    signature; the same bytes given to B come out in clear with the status header."""
    wd = Workdir("cms-pair-wire")
    sink = Sink(wd).start()
    a = Daemon(wd, PAIR, env=pair_env("alice", "carol", "b.example", sink.port), var=wd.sub("var-a")).start()
    b = Daemon(Workdir("cms-pair-wire-b"), PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
    try:
        swaks(a.port, "--from", "sender@a.example", "--to", "user@b.example", "--header", "Subject: wire test",
              "--body", "the secret plan\nline two")
        wait_for(lambda: sink.count() == 1, 60, "the message at the sink")
        meta, wire = sink.messages()[0]
        assert meta["rcpt_tos"] == ["user@b.example"], meta
        assert b"the secret plan" not in wire, "cleartext on the wire"
        assert b"application/pkcs7-mime" in wire and b"enveloped-data" in wire, wire[:600]
        assert b"Subject: wire test" in wire   # the outer header stays (no header protection)
        f = wd.sub("wire.eml")
        open(f, "wb").write(wire)
        dec = openssl("-decrypt", "-recip", P("carol.pem"), "-inkey", P("carol.key"), "-in", f).stdout
        open(wd.sub("inner.eml"), "wb").write(dec)
        ver = openssl("-verify", "-CAfile", P("ca.pem"), "-in", wd.sub("inner.eml"))
        assert b"the secret plan" in ver.stdout, ver.stdout[:400]
        # A's own key does not open it: it was encrypted to the peer only
        r = openssl("-decrypt", "-recip", P("alice.pem"), "-inkey", P("alice.key"), "-in", f, check=False)
        assert r.returncode != 0
        # B opens it
        send(b.port, "sender@a.example", ["user@b.example"], wire)
        text = delivered(b)[0]
        assert b"the secret plan" in text, text[:800]
        m = re.search(rb"X-Mixgate-Security: ([^\r\n]*)", text)
        assert m and b"decrypted" in m.group(1) and b"CN=alice" in m.group(1) and b"verified" in m.group(1), text[:800]
        assert b"pkcs7" not in text.lower()
        got = decisions(b)
        assert ("decrypted", None) in got and ("signature-verified", None) in got, got
        got = decisions(a)
        assert ("signed", None) in got and ("encrypted", "user@b.example") in got, got
    finally:
        stop_all(a, b, sink)


def cms_metrics(d):
    """{(name, frozenset(labels)): value} of the mixgate_cms_* series at d's metrics endpoint."""
    port = int(wait_for(lambda: re.search(r"event=listening listener=metrics protocol=http listen=\S+ port=(\d+)",
                                          d.log_text()), 20, "the metrics listener").group(1))
    r = subprocess.run(["curl", "-sS", "--max-time", str(int(20 * SLOW)), "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"(mixgate_cms_\w+)\{(.*)\} (\S+)$", line)
        if m:
            out[(m.group(1), frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2))))] = float(m.group(3))
    return out


def t_metrics_endpoint():
    """The crypto counters at each gateway's metrics endpoint: A signed and encrypted, B
    decrypted and verified, per channel; they survive a reload."""
    wd = Workdir("cms-metrics")
    conf = wd.sub("pair-metrics.conf")
    open(conf, "w").write(open(PAIR).read().replace('log = "stderr";', 'log = "stderr";\n  metrics_listen = "127.0.0.1:0";'))
    bport = free_port()
    b = Daemon(Workdir("cms-metrics-b"), conf, env=pair_env("carol", "alice", "a.example", 1), port=bport).start()
    a = Daemon(wd, conf, env=pair_env("alice", "carol", "b.example", bport), var=wd.sub("var-a")).start()

    def op(d, channel, operation):
        return cms_metrics(d).get(("mixgate_cms_operations_total",
                                   frozenset({("channel", channel), ("operation", operation)})), 0)
    try:
        for i in range(2):
            swaks(a.port, "--from", "sender@a.example", "--to", "one@b.example",
                  "--header", "Subject: metrics %d" % i, "--body", "counted")
            delivered(b, i + 1)
            if i == 0:
                b.hup()
                wait_for(lambda: "event=reloaded" in b.log_text(), 30, "the reload")
        wait_for(lambda: op(b, "unprotect", "verified") == 2, 30, "B's counters")
        assert op(a, "protect", "signed") == 2 and op(a, "protect", "encrypted") == 2, cms_metrics(a)
        assert op(b, "unprotect", "decrypted") == 2, cms_metrics(b)
        assert op(a, "protect", "decrypted") == 0 and op(b, "unprotect", "signed") == 0
    finally:
        stop_all(a, b)


def t_pair_direct():
    """swaks -> A -> B -> file, nothing configured on the clients."""
    wd = Workdir("cms-pair")
    bport = free_port()
    b = Daemon(Workdir("cms-pair-b"), PAIR, env=pair_env("carol", "alice", "a.example", 1), port=bport).start()
    a = Daemon(wd, PAIR, env=pair_env("alice", "carol", "b.example", bport), var=wd.sub("var-a")).start()
    try:
        swaks(a.port, "--from", "sender@a.example", "--to", "one@b.example,two@b.example",
              "--header", "Subject: pair", "--body", "between gateways")
        texts = delivered(b, 2)
        for t in texts:
            assert b"between gateways" in t and b"X-Mixgate-Security: encrypted, decrypted at the boundary; signed by" in t, t[:600]
        # a status header forged by a sender is removed: only the gateway states security
        send(b.port, "x@c.example", ["user@b.example"], msg("forged", extra=b"X-Mixgate-Security: signed by the CEO, verified\r\n"))
        texts = delivered(b, 3)
        forged = [t for t in texts if b"Subject: forged" in t][0]
        assert b"the CEO" not in forged, forged[:600]
    finally:
        stop_all(a, b)


def t_pair_triple_wrap_mime_bc():
    """gateway-pair.conf with operations = [ "triple-wrap" ] at A: what A puts on the wire is
    read by Bouncy Castle layer by layer (A's outer signature, the envelope opened with B's
    key, A's inner signature over the message), and B opens it to the cleartext with both
    signatures verified."""
    import bc
    wd = Workdir("cms-pair-triple")
    conf = write(wd.sub("triple.conf"), open(PAIR).read().replace('operations = [ "sign", "encrypt" ];',
                                                                   'operations = [ "triple-wrap" ];', 1))
    sink = Sink(wd).start()
    a = Daemon(wd, conf, env=pair_env("alice", "carol", "b.example", sink.port), var=wd.sub("var-a")).start()
    b = Daemon(Workdir("cms-pair-triple-b"), PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
    try:
        swaks(a.port, "--from", "sender@a.example", "--to", "user@b.example", "--header", "Subject: triple",
              "--body", "three layers of secret")
        wait_for(lambda: sink.count() == 1, 60, "the message at the sink")
        wire = sink.messages()[0][1]
        assert b"three layers of secret" not in wire, "cleartext on the wire"

        ca = P("ca.pem")
        v1, m1 = bc.verify_mime(wire, wd.sub("bc1"), ca)
        assert re.search(r"signer=.*CN=alice", v1), v1
        assert b"enveloped-data" in m1, m1[:400]
        m2 = bc.decrypt_mime(m1, wd.sub("bc2"), P("carol.pem"), P("carol.key"))
        v3, m3 = bc.verify_mime(m2, wd.sub("bc3"), ca)
        assert re.search(r"signer=.*CN=alice", v3), v3
        assert b"three layers of secret" in m3, m3[:600]
        assert ("signed", None) in decisions(a), decisions(a)
        # B opens all three layers
        send(b.port, "sender@a.example", ["user@b.example"], wire)
        text = delivered(b)[0]
        assert b"three layers of secret" in text and b"pkcs7" not in text.lower(), text[:800]
        got = [x for x, _ in decisions(b)]
        assert "decrypted" in got and got.count("signature-verified") == 2, got
    finally:
        stop_all(a, b, sink)


def t_client_encrypted_for_gateway():
    """Mail that openssl cms encrypts (and signs) for the gateway is opened at the boundary."""
    wd = Workdir("cms-client-in")
    b = Daemon(wd, PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
    try:
        plain = wd.sub("plain.eml")
        open(plain, "wb").write(msg("from a client", frm="bob@example.org", to="user@b.example",
                                    body=b"client secret\r\n"))
        enc = openssl("-encrypt", "-aes128", "-in", plain, P("carol.pem")).stdout
        send(b.port, "bob@example.org", ["user@b.example"], enc)
        t = delivered(b, 1)[0]
        assert b"client secret" in t and b"X-Mixgate-Security: encrypted, decrypted at the boundary" in t, t[:600]
        # signed by the client (EC key), then encrypted with AES-256-GCM to the gateway
        signed = openssl("-sign", "-signer", P("bob.pem"), "-inkey", P("bob.key"), "-in", plain).stdout
        open(wd.sub("signed.eml"), "wb").write(signed)
        enc = openssl("-encrypt", "-aes256", "-in", wd.sub("signed.eml"), P("carol.pem")).stdout
        send(b.port, "bob@example.org", ["user2@b.example"], enc)
        t = [x for x in delivered(b, 2) if b"user2@b.example" in x][0]
        assert b"client secret" in t and b"signed by" in t and b"CN=bob" in t, t[:800]
        # encrypted for a key the gateway does not hold: passed on unchanged (no_key = "pass")
        other = openssl("-encrypt", "-aes128", "-in", plain, P("alice.pem")).stdout
        send(b.port, "bob@example.org", ["user3@b.example"], other)
        t = [x for x in delivered(b, 3) if b"user3@b.example" in x][0]
        assert b"client secret" not in t and b"no key held here" in t, t[:600]
        got = decisions(b)
        assert got.count(("decrypted", None)) == 2 and ("no-key", None) in got, got
    finally:
        stop_all(b)


STORE_CONF = r'''
global = { hostname = "mixgate.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr"; };
queue = { retry_min = 1; retry_max = 60; delay_warning = 0; };
listeners = ( { name = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; relay_networks = [ "127.0.0.0/8" ]; } );
peers = ( { name = "sink"; type = "smtp"; host = "${MIXGATE_RELAY}"; starttls = "none"; } );
channels = (
  { name = "in"; type = "cms"; operations = [ "decrypt", "verify", "strip" ]; ca = "${PKI}/ca.pem";
    store = "${STORE}"; harvest = true; bad_signature = "${BADSIG}"; status_footer = true; },
  { name = "out"; type = "cms"; operations = [ "sign", "encrypt" ]; cert = "${PKI}/carol.pem";
    key = "${PKI}/carol.key"; ca = "${PKI}/ca.pem"; crl = "${PKI}/ca.crl"; store = "${STORE}";
    revocation = "fail-open"; no_certificate = "${KEYLESS}"; ENCRYPT_SELECT },
  { name = "smtp"; type = "smtp"; }
);
routes = ( { default = true; chain = [ "in", "out", "smtp" ]; peer = "sink"; } );
'''


def store_daemon(wd, sink, keyless="hold", badsig="hold", select=""):
    store = wd.sub("store.db")
    if not os.path.exists(store):
        for args in (["--anchor", P("ca.pem")], [P("bob.pem")], [P("expired.pem")], [P("revoked.pem")]):
            subprocess.run([MIXGATE, "cert", "import", "--store", store] + args, check=True, capture_output=True)
    conf = write(wd.sub("store.conf"), STORE_CONF.replace("ENCRYPT_SELECT", select))
    env = {"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "PKI": PKI_DIR, "STORE": store, "KEYLESS": keyless,
           "BADSIG": badsig}
    return Daemon(wd, conf, env=env).start()


def by_rcpt(sink):
    out = {}
    for meta, content in sink.messages():
        for r in meta["rcpt_tos"]:
            out.setdefault(r, []).append(content)
    return out


def t_gateway_to_client_and_keyless():
    """Encrypted to each client's certificate from the store (separate results per certificate);
    no certificate, expired, revoked: held (never sent in clear)."""
    wd = Workdir("cms-client-out")
    sink = Sink(wd).start()
    d = store_daemon(wd, sink)
    try:
        rcpts = ["bob@example.org", "nobody@example.org", "expired@example.org", "revoked@example.org"]
        send(d.port, "s@example.net", rcpts, msg("to clients", to="bob@example.org", body=b"for bob only\r\n"))
        wait_for(lambda: "bob@example.org" in by_rcpt(sink), 60, "bob's copy at the sink")
        for r in rcpts[1:]:
            qid, why = held_reason(d, r)
            assert "no usable certificate for " + r in why, why
        wire = by_rcpt(sink)["bob@example.org"][0]
        assert b"for bob only" not in wire
        f = wd.sub("bob.eml")
        open(f, "wb").write(wire)
        dec = openssl("-decrypt", "-recip", P("bob.pem"), "-inkey", P("bob.key"), "-in", f).stdout
        open(wd.sub("bob-inner.eml"), "wb").write(dec)
        assert b"for bob only" in openssl("-verify", "-CAfile", P("ca.pem"), "-in", wd.sub("bob-inner.eml")).stdout
        assert sink.count() == 1, "a keyless recipient reached the sink"
        log = d.log_text()
        assert re.search(r"to=<revoked@example.org> .*revoked", log), "revocation not the reason"
        assert re.search(r"to=<expired@example.org> .*(expired|not yet valid)", log), "expiry not the reason"
        got = decisions(d)
        for r in rcpts[1:]:
            assert ("no-certificate", r) in got, (r, got)
        assert ("encrypted", "bob@example.org") in got and ("sent-in-clear", "bob@example.org") not in got, got
    finally:
        stop_all(d, sink)


def t_keyless_return_and_clear():
    for keyless in ("return", "clear"):
        wd = Workdir("cms-keyless-" + keyless)
        sink = Sink(wd).start()
        d = store_daemon(wd, sink, keyless=keyless)
        try:
            send(d.port, "s@example.net", ["bob@example.org", "nobody@example.org"], msg("keyless " + keyless))
            if keyless == "return":
                # the report goes to the sender through the same chain (encrypted or not: the
                # sender s@example.net has no certificate, so with "return" it is returned too;
                # we only need nobody's failure and bob's encrypted copy)
                wait_for(lambda: "bob@example.org" in by_rcpt(sink), 60, "bob's copy")
                wait_for(lambda: re.search(r"event=failed qid=\w+ to=<nobody@example.org>", d.log_text()), 60,
                         "nobody@ returned")
                assert "nobody@example.org" not in by_rcpt(sink)
            else:
                wait_for(lambda: {"bob@example.org", "nobody@example.org"} <= set(by_rcpt(sink)), 60, "both copies")
                clear = by_rcpt(sink)["nobody@example.org"][0]
                enc = by_rcpt(sink)["bob@example.org"][0]
                assert b"secret body line" in clear and b"multipart/signed" in clear, clear[:600]
                assert b"secret body line" not in enc, enc[:600]
                assert ("sent-in-clear", "nobody@example.org") in decisions(d)
        finally:
            stop_all(d, sink)


def t_tampered_signature():
    """A client's signature that does not verify: held, tagged or returned per bad_signature."""
    wd0 = Workdir("cms-tamper")
    plain = wd0.sub("plain.eml")
    open(plain, "wb").write(msg("tampered", frm="bob@example.org", to="x@example.net", body=b"pay 100 EUR\r\n"))
    signed = openssl("-sign", "-signer", P("bob.pem"), "-inkey", P("bob.key"), "-in", plain).stdout
    assert b"pay 100 EUR" in signed
    bad = signed.replace(b"pay 100 EUR", b"pay 900 EUR")
    for badsig in ("hold", "tag", "return"):
        wd = Workdir("cms-tamper-" + badsig)
        sink = Sink(wd).start()
        d = store_daemon(wd, sink, badsig=badsig, keyless="clear")
        try:
            send(d.port, "bob@example.org", ["x@example.net"], bad)
            if badsig == "hold":
                qid, why = held_reason(d, "x@example.net")
                assert "signature invalid" in why, why
            elif badsig == "tag":
                wait_for(lambda: "x@example.net" in by_rcpt(sink), 60, "the tagged message")
                t = by_rcpt(sink)["x@example.net"][0]
                assert b"signature invalid" in t, t[:600]
            else:
                wait_for(lambda: re.search(r"event=failed qid=\w+ to=<x@example.net>", d.log_text()), 60, "returned")
            assert ("signature-invalid", None) in decisions(d)
            # the good signature passes, is stated, and bob's certificate is harvested
            if badsig == "tag":
                send(d.port, "bob@example.org", ["y@example.net"], signed)
                wait_for(lambda: "y@example.net" in by_rcpt(sink), 60, "the good message")
                t = by_rcpt(sink)["y@example.net"][0]
                assert b"signed by" in t and b"CN=bob" in t and b"[signed by" in t, t[:800]
        finally:
            stop_all(d, sink)


def t_harvested_client_cert():
    """carol's certificate is not in the store until her signed mail passes; then mail to her is
    encrypted to it and openssl opens it with her key."""
    wd = Workdir("cms-harvest")
    sink = Sink(wd).start()
    d = store_daemon(wd, sink, keyless="hold")
    try:
        send(d.port, "s@example.net", ["carol@example.org"], msg("before"))
        held_reason(d, "carol@example.org")
        plain = wd.sub("plain.eml")
        open(plain, "wb").write(msg("from carol", frm="carol@example.org", to="bob@example.org"))
        signed = openssl("-sign", "-signer", P("carol.pem"), "-inkey", P("carol.key"), "-in", plain).stdout
        send(d.port, "carol@example.org", ["bob@example.org"], signed)
        wait_for(lambda: "bob@example.org" in by_rcpt(sink), 60, "carol's signed mail to bob")
        assert ("cert-harvested", None) in decisions(d)
        send(d.port, "s@example.net", ["carol@example.org"], msg("after", body=b"now for carol\r\n"))
        wait_for(lambda: "carol@example.org" in by_rcpt(sink), 60, "mail to carol")
        f = wd.sub("carol.eml")
        open(f, "wb").write(by_rcpt(sink)["carol@example.org"][0])
        dec = openssl("-decrypt", "-recip", P("carol.pem"), "-inkey", P("carol.key"), "-in", f).stdout
        open(wd.sub("carol-inner.eml"), "wb").write(dec)
        assert b"now for carol" in openssl("-verify", "-CAfile", P("ca.pem"), "-in", wd.sub("carol-inner.eml")).stdout
    finally:
        stop_all(d, sink)


def t_subject_keyword():
    wd = Workdir("cms-keyword")
    sink = Sink(wd).start()
    d = store_daemon(wd, sink, select='encrypt = "subject-keyword"; subject_keyword = "[secure]";')
    try:
        send(d.port, "s@example.net", ["bob@example.org"], msg("plain one"))
        send(d.port, "s@example.net", ["bob@example.org"], msg("[secure] the plan"))
        wait_for(lambda: len(by_rcpt(sink).get("bob@example.org", [])) == 2, 60, "both messages")
        plain = [m for m in by_rcpt(sink)["bob@example.org"] if b"plain one" in m]
        enc = [m for m in by_rcpt(sink)["bob@example.org"] if b"plain one" not in m]
        assert plain and b"secret body line" in plain[0], plain   # signed only
        assert enc and b"secret body line" not in enc[0] and b"Subject: the plan\r\n" in enc[0], enc[0][:600]
        assert not re.search(rb"Subject:[^\r\n]*\[secure\]", enc[0]), enc[0][:400]
    finally:
        stop_all(d, sink)


def t_archive_key():
    """archive_cert: every encrypted message can also be opened with the archive key."""
    wd = Workdir("cms-archive")
    env = pair_env("alice", "carol", "b.example", 1)
    sink = Sink(wd).start()
    env["MIXGATE_RELAY"] = "127.0.0.1:%d" % sink.port
    text = open(PAIR).read()
    anchor = re.search(r'peer_cert = "\$\{MIXGATE_PEER_CERT[^"]*";', text).group(0)
    assert text.count(anchor) == 1, anchor
    conf = write(wd.sub("archive.conf"), text.replace(anchor, anchor + ' archive_cert = "%s";' % P("alice2.pem")))
    a = Daemon(wd, conf, env=env).start()
    try:
        send(a.port, "s@a.example", ["u@b.example"], msg("archived"))
        wait_for(lambda: sink.count() == 1, 60, "the message")
        f = wd.sub("w.eml")
        open(f, "wb").write(sink.messages()[0][1])
        for who in ("carol", "alice2"):
            dec = openssl("-decrypt", "-recip", P(who + ".pem"), "-inkey", P(who + ".key"), "-in", f).stdout
            assert b"secret body line" in dec, who
    finally:
        stop_all(a, sink)


def key_needles(name):
    """Byte strings only the private key has: its RSA primes and private exponent, big- and
    little-endian (OpenSSL keeps bignums as little-endian words), and its PEM text."""
    from cryptography.hazmat.primitives import serialization
    pem = open(P(name + ".key"), "rb").read()
    k = serialization.load_pem_private_key(pem, None)
    n = k.private_numbers()
    out = []
    for v in (n.p, n.q, n.d):
        b = v.to_bytes((v.bit_length() + 7) // 8, "big")
        out += [b[:48], b[::-1][:48]]
    body = [l for l in pem.splitlines() if l and not l.startswith(b"-----")]
    out.append(body[len(body) // 2])
    return out


def memory_has(pid, needles):
    """Which needles occur in the readable memory of pid (/proc/pid/mem; we are its ancestor)."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if not f[1].startswith("r") or hi - lo > (512 << 20) or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
                continue
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for i, n in enumerate(needles):
                if n in chunk:
                    found.add(i)
    return found


def children(pid):
    out = []
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            out += [int(x) for x in open("/proc/%d/task/%s/children" % (pid, t)).read().split()]
        except OSError:
            pass
    return out


def t_key_isolation():
    """The network-facing mixgated holds no byte of its private key; the key process it started
    does, and decryption and signing still work through it."""
    wd = Workdir("cms-keyiso")
    b = Daemon(wd, PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
    try:
        plain = wd.sub("plain.eml")
        open(plain, "wb").write(msg("isolated", frm="bob@example.org", body=b"opened by the key process\r\n"))
        send(b.port, "bob@example.org", ["user@b.example"], openssl("-encrypt", "-aes128", "-in", plain, P("carol.pem")).stdout)
        assert b"opened by the key process" in delivered(b, 1)[0]
        kids = children(b.proc.pid)
        assert len(kids) == 1, "expected one key process, found %r" % kids
        needles = key_needles("carol")
        in_keyproc = memory_has(kids[0], needles)
        assert in_keyproc, "the scan finds nothing even in the key process: it proves nothing"
        in_daemon = memory_has(b.proc.pid, needles)
        assert not in_daemon, "mixgated's memory holds private key material (needles %s)" % sorted(in_daemon)
    finally:
        stop_all(b)
    # the key process ends with the daemon
    wait_for(lambda: not os.path.exists("/proc/%d" % kids[0]) or
             open("/proc/%d/stat" % kids[0]).read().split()[2] == "Z", 30, "the key process to end")


def t_kill9_during_encryption_and_decryption():
    """kill -9 of gateway A while it encrypts and of gateway B while it decrypts, under load:
    after restarts every acknowledged message arrives, opened at B; the wire between them never
    carried one in clear."""
    import threading
    wd = Workdir("cms-kill9")
    wire = Sink(wd, name="wire").start()   # A relays to this sink first: the wire is checked
    bport = free_port()
    b = Daemon(Workdir("cms-kill9-b"), PAIR, env=pair_env("carol", "alice", "a.example", 1), port=bport).start()
    a = Daemon(wd, PAIR, env=pair_env("alice", "carol", "b.example", wire.port), var=wd.sub("var-a")).start()
    n = 40
    acked = set()

    def load(lo, hi):
        for i in range(lo, hi):
            try:
                send(a.port, "s@a.example", ["u@b.example"], msg("k9 %03d" % i, body=b"cleartext-%03d\r\n" % i))
                acked.add(i)
            except Exception:
                pass
    ts = [threading.Thread(target=load, args=(k * 10, k * 10 + 10)) for k in range(4)]
    try:
        for t in ts:
            t.start()
        wait_for(lambda: len(acked) >= 8, 120, "some messages accepted")
        a.kill9()
        for t in ts:
            t.join()
        a.start()
        a.cli("queue", "flush")
        wait_for(lambda: {int(m[1].split(b"Subject: k9 ")[1][:3]) for m in wire.messages()} >= acked, 180,
                 "every acknowledged message on the wire")
        for meta, content in wire.messages():
            assert b"cleartext-" not in content, "a message crossed the wire in clear"
        # B opens them; killed while decrypting, restarted: nothing lost
        texts = [c for _, c in wire.messages()]
        got = set()

        def feed():
            for c in texts:
                try:
                    send(b.port, "s@a.example", ["u@b.example"], c)
                except Exception:
                    pass
        t = threading.Thread(target=feed)
        t.start()
        deliver = os.path.join(b.var, "deliver")
        wait_for(lambda: os.path.isdir(deliver) and len(os.listdir(deliver)) >= 3, 120, "B delivering")
        b.kill9()
        t.join()
        b.start()
        b.cli("queue", "flush")
        feed()   # what B refused while it was down is sent again (duplicates are allowed)

        def opened():
            got.clear()
            for f in os.listdir(deliver):
                if f.endswith(".eml"):
                    m = re.search(rb"cleartext-(\d{3})", open(os.path.join(deliver, f), "rb").read())
                    if m:
                        got.add(int(m.group(1)))
            return got >= acked
        wait_for(opened, 180, "every acknowledged message opened at B")
    finally:
        stop_all(a, b, wire)


def t_held_then_released_encrypts():
    """Subject keyword asks for encryption, no certificate yet: held with the keyword kept.
    The certificate is imported while the daemon runs (mixgate cert, SQLite WAL), the operator
    releases the message: it leaves encrypted, the keyword removed, never in clear."""
    wd = Workdir("cms-release")
    sink = Sink(wd).start()
    d = store_daemon(wd, sink, select='encrypt = "subject-keyword"; subject_keyword = "[secure]";')
    try:
        send(d.port, "s@example.net", ["carol@example.org"], msg("[secure] later", body=b"hold me\r\n"))
        qid, why = held_reason(d, "carol@example.org")
        assert "no usable certificate" in why, why
        subprocess.run([MIXGATE, "cert", "import", "--store", wd.sub("store.db"), P("carol.pem")], check=True,
                       capture_output=True)
        d.cli("queue", "release", qid)
        wait_for(lambda: "carol@example.org" in by_rcpt(sink), 60, "the released message")
        out = by_rcpt(sink)["carol@example.org"][0]
        assert b"hold me" not in out and b"Subject: later\r\n" in out, out[:600]
        f = wd.sub("c.eml")
        open(f, "wb").write(out)
        assert b"hold me" in openssl("-decrypt", "-recip", P("carol.pem"), "-inkey", P("carol.key"), "-in", f).stdout
    finally:
        stop_all(d, sink)


def t_gpgsm_client():
    """Gateway to client with an independent implementation: gpgsm (GnuPG S/MIME, RSA as in
    tests/crypto/interop_gpgsm.sh) encrypts for gateway B, which opens it; the gateway encrypts
    to alice's certificate from its store and gpgsm decrypts it with alice's key."""
    import base64, email
    wd = Workdir("cms-gpgsm")
    home = wd.sub("gnupg")
    os.makedirs(home, mode=0o700)
    env = dict(os.environ, GNUPGHOME=home)
    write(os.path.join(home, "gpgsm.conf"), "disable-crl-checks\n")
    write(os.path.join(home, "gpg-agent.conf"), "allow-loopback-pinentry\n")
    G = ["gpgsm", "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0"]

    sink = Sink(wd).start()
    b = d = None
    try:
        for c in ("ca.pem", "carol.pem"):
            subprocess.run(["gpgsm", "--batch", "--import", P(c)], capture_output=True, env=env, timeout=60)
        fpr = subprocess.run(["openssl", "x509", "-in", P("ca.pem"), "-noout", "-fingerprint", "-sha1"],
                             capture_output=True, text=True).stdout.strip().split("=")[1]
        write(os.path.join(home, "trustlist.txt"), fpr + " S\n")
        # gpgsm 2.2 imports classic 3DES PKCS#12 only, and some random salts fail: retry
        for attempt in range(8):
            subprocess.run(["openssl", "pkcs12", "-export", "-in", P("alice.pem"), "-inkey", P("alice.key"),
                            "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1",
                            "-passout", "pass:test", "-out", wd.sub("a.p12")], check=True, capture_output=True)
            r = subprocess.run(G + ["--import", wd.sub("a.p12")], input=b"test\n", capture_output=True,
                               env=env, timeout=60)
            if b"secret keys imported: 1" in r.stderr + r.stdout:
                break
        else:
            raise AssertionError("gpgsm cannot import alice's key: %s" % r.stderr.decode(errors="replace"))
        # gpgsm -> gateway B (carol's key)
        inner = b"Content-Type: text/plain\r\n\r\nfrom gpgsm to the boundary\r\n"
        r = subprocess.run(["gpgsm", "--batch", "--encrypt", "-r", "carol@example.org"], input=inner,
                           capture_output=True, env=env, timeout=60)
        assert r.returncode == 0 and r.stdout, r.stderr.decode(errors="replace")
        mail = (b"From: alice@example.org\r\nTo: user@b.example\r\nSubject: gpgsm\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(r.stdout).replace(b"\n", b"\r\n"))
        b = Daemon(Workdir("cms-gpgsm-b"), PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
        send(b.port, "alice@example.org", ["user@b.example"], mail)
        t = delivered(b, 1)[0]
        assert b"from gpgsm to the boundary" in t and b"decrypted at the boundary" in t, t[:600]
        # gateway -> gpgsm (alice's certificate from the store)
        d = store_daemon(wd, sink)
        subprocess.run([MIXGATE, "cert", "import", "--store", wd.sub("store.db"), P("alice.pem")], check=True,
                       capture_output=True)
        send(d.port, "s@example.net", ["alice@example.org"], msg("to gpgsm", body=b"for alice via gpgsm\r\n"))
        wait_for(lambda: "alice@example.org" in by_rcpt(sink), 60, "the message for alice")
        m = email.message_from_bytes(by_rcpt(sink)["alice@example.org"][0])
        assert m.get_content_type() == "application/pkcs7-mime", m.get_content_type()
        open(wd.sub("alice.der"), "wb").write(m.get_payload(decode=True))
        r = subprocess.run(G + ["--output", wd.sub("alice.out"), "--decrypt", wd.sub("alice.der")],
                           input=b"test\n", capture_output=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        out = open(wd.sub("alice.out"), "rb").read()
        assert b"for alice via gpgsm" in out, out[:400]
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
        stop_all(b, d, sink)


OCSP_CONF = r'''
global = { hostname = "mixgate.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr"; };
queue = { retry_min = 1; retry_max = 60; delay_warning = 0; };
listeners = ( { name = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; relay_networks = [ "127.0.0.0/8" ]; } );
peers = ( { name = "sink"; type = "smtp"; host = "${MIXGATE_RELAY}"; starttls = "none"; } );
channels = (
  { name = "out"; type = "cms"; operations = "encrypt"; ca = "${PKI}/ca.pem"; store = "${STORE}";
    revocation = "${REVOCATION}"; ocsp_url = "${OCSP_URL}"; refresh = "1h"; refresh_timeout = "3s";
    no_certificate = "hold"; },
  { name = "smtp"; type = "smtp"; }
);
routes = ( { default = true; chain = [ "out", "smtp" ]; peer = "sink"; } );
'''


def t_ocsp_fail_closed_and_open():
    """Revocation by OCSP only (no CRL), refreshed by the channel on the pool: fail-closed with
    the responder up: good certificate encrypted, revoked one held; responder down: fail-closed
    defers (4.7.5, audited), fail-open encrypts."""
    for mode, up in (("fail-closed", True), ("fail-closed", False), ("fail-open", False)):
        wd = Workdir("cms-ocsp-%s-%s" % (mode, "up" if up else "down"))
        store = wd.sub("store.db")
        for args in (["--anchor", P("ca.pem")], [P("bob.pem")], [P("revoked.pem")]):
            subprocess.run([MIXGATE, "cert", "import", "--store", store] + args, check=True, capture_output=True)
        resp = None
        if up:
            pf = wd.sub("ocspport")
            resp = track(subprocess.Popen([PY, os.path.join(SRC, "tests/crypto/ocsp_responder.py"), PKI_DIR, pf, "100"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 30, "the OCSP responder")
            url = "http://127.0.0.1:%s/" % open(pf).read().strip()
        else:
            url = "http://127.0.0.1:%d/" % free_port()   # nothing listens there
        sink = Sink(wd).start()
        conf = write(wd.sub("ocsp.conf"), OCSP_CONF)
        d = Daemon(wd, conf, env={"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "PKI": PKI_DIR, "STORE": store,
                                  "REVOCATION": mode, "OCSP_URL": url}).start()
        try:
            send(d.port, "s@example.net", ["bob@example.org", "revoked@example.org"], msg("ocsp " + mode))
            if up:
                wait_for(lambda: "bob@example.org" in by_rcpt(sink), 60, "bob's encrypted copy")
                assert b"secret body line" not in by_rcpt(sink)["bob@example.org"][0]
                qid, why = held_reason(d, "revoked@example.org")
                assert "OCSP" in why or "revoked" in why, why
            elif mode == "fail-closed":
                wait_for(lambda: re.search(r"event=deferred qid=\w+ to=<bob@example.org> .*revocation status unavailable",
                                           d.log_text()), 60, "bob deferred")
                assert sink.count() == 0, "sent although the revocation status is unknown (fail-closed)"
                assert ("revocation-unavailable", "bob@example.org") in decisions(d)
            else:
                wait_for(lambda: "bob@example.org" in by_rcpt(sink), 60, "bob's encrypted copy (fail-open)")
                assert b"secret body line" not in by_rcpt(sink)["bob@example.org"][0]
            assert "cms_revocation_refreshed" in d.log_text()
        finally:
            if resp:
                resp.terminate()
                resp.wait(10)
            stop_all(d, sink)


def t_reload_keeps_working():
    """SIGHUP: the new configuration loads its keys through the same key process; mail before
    and after is opened; the old configuration's key connections close with it."""
    wd = Workdir("cms-reload")
    b = Daemon(wd, PAIR, env=pair_env("carol", "alice", "a.example", 1)).start()
    try:
        plain = wd.sub("plain.eml")
        for i, n in ((0, 1), (1, 2)):
            open(plain, "wb").write(msg("reload %d" % i, frm="bob@example.org", body=b"round %d\r\n" % i))
            send(b.port, "bob@example.org", ["user@b.example"],
                 openssl("-encrypt", "-aes128", "-in", plain, P("carol.pem")).stdout)
            assert any(b"round %d" % i in t for t in delivered(b, n))
            if i == 0:
                before = b.log_text().count("event=config_reloaded") + b.log_text().count("event=reloaded")
                b.hup()
                wait_for(lambda: b.log_text().count("event=config_reloaded") + b.log_text().count("event=reloaded") > before,
                         30, "the reload")
        assert len(children(b.proc.pid)) == 1, "one key process, whatever the reloads"
    finally:
        stop_all(b)


if __name__ == "__main__":
    run([
        ("check_config", t_check_config),
        ("pair_wire_then_b", t_pair_wire_then_b),
        ("pair_direct", t_pair_direct),
        ("pair_triple_wrap_mime_bc", t_pair_triple_wrap_mime_bc),
        ("metrics_endpoint", t_metrics_endpoint),
        ("client_encrypted_for_gateway", t_client_encrypted_for_gateway),
        ("gateway_to_client_and_keyless", t_gateway_to_client_and_keyless),
        ("keyless_return_and_clear", t_keyless_return_and_clear),
        ("tampered_signature", t_tampered_signature),
        ("harvested_client_cert", t_harvested_client_cert),
        ("subject_keyword", t_subject_keyword),
        ("archive_key", t_archive_key),
        ("held_then_released_encrypts", t_held_then_released_encrypts),
        ("ocsp_fail_closed_and_open", t_ocsp_fail_closed_and_open),
        ("gpgsm_client", t_gpgsm_client),
        ("key_isolation", t_key_isolation),
        ("reload_keeps_working", t_reload_keeps_working),
        ("kill9_during_encryption_and_decryption", t_kill9_during_encryption_and_decryption),
    ])
