#!/usr/bin/python3
"""End to end: security labels in the switch (etc/examples/labels.conf and variants).

- oracle sweep: for every label and clearance pair spiffing's tests.xml gives an access
  decision for, one message labelled with it as X-X411, as SIO-Label and as an S/MIME signed
  message with an ESS label, to a recipient holding that clearance: delivered exactly when the
  oracle says allow. Disagreements and leaks (delivered when denied) are counted: both 0.
- submission: no label / invalid label rejected at the end of DATA (554 5.7.1); default and
  correct; inconsistency with the header; every decision an audit record.
- peer and channel clearances; the shaper's outputs decoded back.
"""
import base64, json, os, re, subprocess, time
import xml.etree.ElementTree as ET
from harness import *

LABELS_CONF = os.path.join(SRC, "etc/examples/labels.conf")
VEC = os.path.join(os.environ.get("MIXGATE_VECTORS") or os.path.join(SRC, "../shared/vectors"), "labels/spiffing")
TD = os.path.join(VEC, "test-data")
REPAIRED = os.path.join(VEC, "repaired")
FOOD = os.path.join(REPAIRED, "food-policy.xml")


def spif_path(name):
    """The food policies come from repaired/ (see docs/labels.md)."""
    p = os.path.join(REPAIRED, name)
    return p if os.path.exists(p) else os.path.join(TD, name)


def label_cli(*args, binary=False):
    r = subprocess.run([MIXGATE, "label"] + list(args), capture_output=True, timeout=30 * SLOW)
    if r.returncode != 0:
        raise AssertionError("mixgate label %s: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout if binary else r.stdout.decode().strip()


def audit(d, *args):
    r = subprocess.run([MIXGATE, "audit", "-c", d.conf, "--json"] + list(args), capture_output=True,
                       text=True, timeout=30 * SLOW, env=d.env)
    assert r.returncode in (0, 1), "mixgate audit exited %d: %s" % (r.returncode, r.stderr)
    return json.loads(r.stdout or "[]")


def smtp_try(port, mail_from, rcpts, data):
    """(code, text) of the end of DATA; text has the queue id on 250 (no exception on refusal)."""
    import smtplib
    with smtplib.SMTP("127.0.0.1", port, timeout=30 * SLOW) as s:
        s.ehlo("client.test")
        code, text = s.mail(mail_from)
        assert code == 250, (code, text)
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (code, text)
        code, text = s.data(data)
        return code, text.decode()


def qid_of(text):
    m = re.search(r"queued as (\w+)", text)
    assert m, text
    return m.group(1)


def oracle_cases():
    """[(policies, label, clearance, allow)] from tests.xml (policies: the sequence's SPIFs)."""
    root = ET.parse(os.path.join(TD, "tests.xml")).getroot()
    out = []
    for seq in root.findall("sequence"):
        pols = [spif_path(p.get("spif")) for p in seq.findall("policy") if not p.get("exception")]
        for t in seq.findall("test"):
            if t.get("acdf-result") is not None and t.get("clearance"):
                out.append((pols, t.get("label"), t.get("clearance"), t.get("acdf-result") == "1"))
    return out


def governing_of(pols, label):
    """The policy of the sequence under which the label is valid."""
    for p in pols:
        r = subprocess.run([MIXGATE, "label", "validate", "--spif", p, os.path.join(TD, label)],
                           capture_output=True, timeout=30 * SLOW)
        if r.returncode == 0:
            return p
    raise AssertionError("no policy of %s validates %s" % (pols, label))


def labels_daemon(wd, sink, spif, spifs=(), clearances="", extra_env=None, conf=LABELS_CONF):
    cl = write(wd.sub("clearances"), clearances)
    env = {"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "MIXGATE_RETRY_MIN": "1", "MIXGATE_SPIF": spif,
           "MIXGATE_SPIFS": ", ".join('"%s"' % s for s in spifs), "MIXGATE_CLEARANCES": cl}
    env.update(extra_env or {})
    return Daemon(wd, conf, env=env)


def msg(tag, headers=b"", body=b"hello\r\n", subject=None):
    subject = subject or tag
    return (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: " + subject.encode() +
            b"\r\nMessage-ID: <" + tag.encode() + b"@t>\r\nX-Test-Id: " + tag.encode() + b"\r\n" + headers +
            b"\r\n" + body)


def make_signer(wd):
    """A CA and an S/MIME signer it issued (the signer must chain to a trust anchor)."""
    ca_key, ca_crt, key, csr, crt = (wd.sub(n) for n in ("ca.key", "ca.crt", "signer.key", "signer.csr", "signer.crt"))
    if os.path.exists(crt):
        return key, crt, ca_crt
    ext = write(wd.sub("signer.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=emailProtection\nsubjectAltName=email:a@example.org\n")
    for cmd in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
                 "-days", "2", "-subj", "/CN=labels test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
                 "/CN=a@example.org"],
                ["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", crt, "-days", "2", "-extfile", ext]):
        subprocess.run(cmd, check=True, capture_output=True)
    return key, crt, ca_crt


def signed_msg(wd, tag, ess_der):
    key, crt, ca = make_signer(wd)
    lf = write_bytes(wd.sub(tag + ".ess"), ess_der)
    inner = write_bytes(wd.sub(tag + ".in"), msg(tag))
    r = subprocess.run([MIXGATE, "cms", "sign", "--key", key, "--cert", crt, "--ca", ca, "--label", lf, inner],
                       capture_output=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def write_bytes(path, b):
    with open(path, "wb") as f:
        f.write(b)
    return path


def outcome(d, sink, tag, rcpt, qid):
    """'delivered' (at the sink), 'denied' (an access-denied audit record) or None (not yet).
    The originator's DSN is no evidence: it carries the message's label, so an originator
    without the clearance does not get it either."""
    for meta, content in sink.messages():
        if rcpt in meta["rcpt_tos"] and (b"X-Test-Id: " + tag.encode() + b"\r\n") in content:
            return "delivered"
    if any(r["decision"] == "access-denied" and r["rcpt"] == rcpt for r in audit(d, "--qid", qid)):
        return "denied"
    return None


def queue_empty(d):
    return re.search(r"\bmessages=0\b", d.cli("status").stdout)


def t_oracle_sweep():
    cases = oracle_cases()
    assert len(cases) >= 3, cases
    total = disagreements = leaks = 0
    by_policy = {}
    for pols, label, clearance, allow in cases:
        gov = governing_of(pols, label)
        by_policy.setdefault((gov, tuple(pols)), []).append((label, clearance, allow))
    n = 0
    for (gov, pols), pairs in sorted(by_policy.items()):
        n += 1
        wd = Workdir("labels-oracle-%d" % n)
        sink = Sink(wd).start()
        lines = ["r%d@rcpt.test %s" % (i, os.path.join(TD, c)) for i, (_, c, _) in enumerate(pairs)]
        d = labels_daemon(wd, sink, gov, [p for p in pols if p != gov], "\n".join(lines) + "\n").start()
        try:
            sent = []
            for i, (label, clearance, allow) in enumerate(pairs):
                lp = os.path.join(TD, label)
                ess = label_cli("convert", "--spif", gov, "--to", "ess", lp, binary=True)
                for form in ("x-x411", "sio", "ess"):
                    tag = "p%d-%s" % (i, form)
                    if form == "ess":
                        data = signed_msg(wd, tag, ess)
                    else:
                        data = msg(tag, label_cli("convert", "--spif", gov, "--to", form, lp).encode() + b"\r\n")
                    code, text = smtp_try(d.port, "%s@orig.test" % tag, ["r%d@rcpt.test" % i], data)
                    assert code == 250, "%s %s refused at submission: %d %s" % (label, form, code, text)
                    sent.append((tag, "r%d@rcpt.test" % i, qid_of(text), allow, label, clearance, form))
            for tag, rcpt, qid, allow, label, clearance, form in sent:
                got = wait_for(lambda: outcome(d, sink, tag, rcpt, qid), 60, "the outcome of " + tag)
                total += 1
                if (got == "delivered") != allow:
                    disagreements += 1
                    print("DISAGREE %s %s %s: oracle %s, switch %s" % (label, clearance, form,
                                                                         "allow" if allow else "deny", got))
                if got == "delivered" and not allow:
                    leaks += 1
            # nothing denied arrives later either: the queue drains, the sink has only the allowed
            wait_for(lambda: queue_empty(d), 60, "the queue to drain")
            for tag, rcpt, qid, allow, label, clearance, form in sent:
                if not allow and outcome(d, sink, tag, rcpt, qid) == "delivered":
                    leaks += 1
                    print("LEAK %s %s %s" % (label, clearance, form))
            # every decision is an audit record
            recs = [r for r in audit(d) if r["decision"] in ("access-granted", "access-denied")
                    and r["rcpt"].endswith("@rcpt.test")]
            assert len(recs) == len(sent), (len(recs), len(sent), recs)
            for r in recs:
                assert r["subject_kind"] == "label", r
        finally:
            d.stop()
            sink.stop()
    print("oracle sweep: %d messages, %d disagreements, %d leaks" % (total, disagreements, leaks))
    assert total == 3 * len(cases), total
    assert disagreements == 0 and leaks == 0


def food(label):
    return os.path.join(TD, label)


MILK = food("food-label-milk-chocolate.xml")      # the oracle: all-okay allows, lactose-intolerant denies
BACON = food("food-label-bacon.xml")
OK = food("food-clearance-all-okay.xml")
LACT = food("food-clearance-lactose-intolerant.xml")
CLEARANCES = "ok@rcpt.test %s\nlact@rcpt.test %s   # comment\n# a comment line\n" % (OK, LACT)


def t_submission_reject_and_audit():
    wd = Workdir("labels-submission")
    sink = Sink(wd).start()
    d = labels_daemon(wd, sink, FOOD, clearances=CLEARANCES).start()
    try:
        # no label: 554 5.7.1 at the end of DATA, nothing queued
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("none"))
        assert code == 554 and "5.7.1" in text, (code, text)
        # invalid label (the oracle's cheap milk chocolate): rejected too
        bad = label_cli("convert", "--spif", FOOD, "--to", "x-x411", food("food-label-cheap-milk-chocolate.xml"))
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("bad", bad.encode() + b"\r\n"))
        assert code == 554 and "5.7.1" in text, (code, text)
        # valid: accepted and delivered, with the shaper's SIO-Label and first-line marking
        good = label_cli("convert", "--spif", FOOD, "--to", "x-x411", MILK)
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("good", good.encode() + b"\r\n"))
        assert code == 250, (code, text)
        qid = qid_of(text)
        # the submission's records were durable before the 250 (read at once, no waiting)
        assert [r["decision"] for r in audit(d, "--qid", qid) if r["decision"] == "label-extracted"] == \
            ["label-extracted"], audit(d, "--qid", qid)
        wait_for(lambda: sink.count() == 1, 30, "the labelled message")
        meta, content = sink.messages()[0]
        flot = label_cli("marking", "--spif", FOOD, "--phrase", "firstLineOfText", MILK)
        assert ("\r\n\r\n%s\r\nhello\r\n" % flot).encode() in content, content
        sio = re.findall(rb"\r\nSIO-Label: ([^\r]*)", content)
        assert len(sio) == 1, content
        back = subprocess.run([MIXGATE, "label", "convert", "--spif", FOOD, "--to", "xml", "-"],
                              input=b"SIO-Label: " + sio[0], capture_output=True)
        want = label_cli("convert", "--spif", FOOD, "--to", "xml", MILK)
        # the same label (a set: category order is free)
        assert back.returncode == 0 and sorted(back.stdout.decode().split()) == sorted(want.split()), (back.stdout, want)
        recs = audit(d)
        decisions = [r["decision"] for r in recs]
        assert decisions.count("label-rejected") == 2, decisions
        mine = sorted(r["decision"] for r in recs if r["qid"] == qid)
        assert mine == ["access-granted", "label-extracted", "label-marked"], mine
        assert "event=label-rejected" in d.log_text()
    finally:
        d.stop()
        sink.stop()


def custom_conf(wd, submission, extra_labels="", chain='"smtp-out"', name="labels.conf"):
    text = open(LABELS_CONF).read()
    text = re.sub(r"  submission = \(.*?\n  \);\n", lambda m: "  submission = (\n" + submission + "\n  );\n" +
                  extra_labels, text, flags=re.S)
    text = text.replace('chain = [ "mark", "smtp-out" ]', "chain = [ %s ]" % chain)
    return write(wd.sub(name), text)


def t_default_correct_inconsistent():
    wd = Workdir("labels-default")
    sink = Sink(wd).start()
    conf = custom_conf(wd, """    { listener = "smtp"; extract = [ "sio-label", "x-x411" ]; on_missing = "default";
      on_invalid = "correct"; default_label = "%s"; on_inconsistent = "header"; }""" % MILK)
    d = labels_daemon(wd, sink, FOOD, clearances=CLEARANCES, conf=conf).start()
    try:
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("nolabel"))
        assert code == 250, (code, text)
        q1 = qid_of(text)
        sio = label_cli("convert", "--spif", FOOD, "--to", "sio", MILK)
        xx = label_cli("convert", "--spif", FOOD, "--to", "x-x411", BACON)
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("incons", (sio + "\r\n" + xx + "\r\n").encode()))
        assert code == 250, (code, text)
        q2 = qid_of(text)
        wait_for(lambda: sink.count() == 2, 30, "both messages")
        byid = {re.search(rb"X-Test-Id: (\w+)", c).group(1): c for m, c in sink.messages()}
        assert b"X-Security-Label-Inconsistent: label from x-x411 differs from the governing label from sio-label" \
            in byid[b"incons"], byid[b"incons"]
        assert b"X-Security-Label-Inconsistent" not in byid[b"nolabel"]
        d1 = sorted(r["decision"] for r in audit(d, "--qid", q1))
        assert d1 == ["access-granted", "label-defaulted"], d1
        d2 = sorted(r["decision"] for r in audit(d, "--qid", q2))
        assert d2 == ["access-granted", "label-extracted", "label-inconsistent"], d2
    finally:
        d.stop()
        sink.stop()


def t_peer_and_channel_clearances():
    """The recipient is cleared; then the peer, then the channel is not: nothing is handed on,
    and the report names the decision without the label's categories. Reloads with SIGHUP."""
    wd = Workdir("labels-peer")
    sink = Sink(wd).start()
    sub = """    { listener = "smtp"; extract = [ "x-x411" ]; }"""
    conf = custom_conf(wd, sub, extra_labels='  peers = ( { peer = "smarthost"; clearance = "%s"; } );\n' % OK)
    d = labels_daemon(wd, sink, FOOD, clearances=CLEARANCES, conf=conf).start()
    milk = label_cli("convert", "--spif", FOOD, "--to", "x-x411", MILK).encode() + b"\r\n"
    try:
        code, text = smtp_try(d.port, "m@orig.test", ["ok@rcpt.test"], msg("peer-ok", milk))
        wait_for(lambda: outcome(d, sink, "peer-ok", "ok@rcpt.test", qid_of(text)) == "delivered", 30, "peer-ok")
        reloads = 0
        for name, extra, who in (("peer", '  peers = ( { peer = "smarthost"; clearance = "%s"; } );\n' % LACT,
                                  "the next hop is not cleared"),
                                 ("channel", '  channels = ( { channel = "smtp-out"; clearance = "%s"; } );\n' % LACT,
                                  "the delivery channel is not cleared")):
            custom_conf(wd, sub, extra_labels=extra)
            d.hup()
            reloads += 1
            wait_for(lambda: d.log_text().count("event=reloaded") == reloads, 30, "the reload")
            code, text = smtp_try(d.port, "m@orig.test", ["ok@rcpt.test"], msg(name, milk))
            qid = qid_of(text)
            wait_for(lambda: outcome(d, sink, name, "ok@rcpt.test", qid) == "denied", 30, name + " denied")
            failed = wait_for(lambda: re.search(r"event=failed qid=%s .*reply=\"([^\"]*)\"" % qid, d.log_text()), 30,
                              "the failure")
            assert "5.7.1" in failed.group(1) and who in failed.group(1), failed.group(1)
            assert "Lactose" not in failed.group(1) and "Allergen" not in failed.group(1)
            rec = [r for r in audit(d, "--qid", qid) if r["decision"] == "access-denied"]
            assert len(rec) == 1 and "Lactose" in rec[0]["reason"], rec
            assert (name + " ") in rec[0]["reason"], rec
        wait_for(lambda: queue_empty(d), 60, "the queue to drain")
        assert outcome(d, sink, "peer", "ok@rcpt.test", "-") is None
        assert outcome(d, sink, "channel", "ok@rcpt.test", "-") is None
        # a reload whose labels cannot be loaded keeps the running configuration (still denies)
        custom_conf(wd, sub, extra_labels='  peers = ( { peer = "smarthost"; clearance = "/nonexistent.xml"; } );\n')
        d.hup()
        wait_for(lambda: "event=reload_failed" in d.log_text(), 30, "the refused reload")
        code, text = smtp_try(d.port, "m@orig.test", ["ok@rcpt.test"], msg("after", milk))
        q3 = qid_of(text)
        wait_for(lambda: outcome(d, sink, "after", "ok@rcpt.test", q3) == "denied", 30, "still denied")
        assert d.alive()
    finally:
        d.stop()
        sink.stop()


def t_recipient_without_clearance():
    wd = Workdir("labels-noclear")
    sink = Sink(wd).start()
    d = labels_daemon(wd, sink, FOOD, clearances=CLEARANCES).start()
    try:
        milk = label_cli("convert", "--spif", FOOD, "--to", "sio", MILK).encode() + b"\r\n"
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test", "lact@rcpt.test", "nobody@rcpt.test"],
                              msg("three", milk))
        qid = qid_of(text)
        wait_for(lambda: queue_empty(d), 60, "the queue to drain")
        got = [m["rcpt_tos"] for m, c in sink.messages() if b"X-Test-Id: three" in c]
        assert got == [["ok@rcpt.test"]], got
        recs = {r["rcpt"]: r for r in audit(d, "--qid", qid) if r["decision"].startswith("access-")}
        assert recs["ok@rcpt.test"]["decision"] == "access-granted", recs
        assert recs["lact@rcpt.test"]["decision"] == "access-denied", recs
        assert "no clearance" in recs["nobody@rcpt.test"]["reason"], recs
        # a cleared originator gets the report (it carries the message's label)
        code, text = smtp_try(d.port, "ok@rcpt.test", ["lact@rcpt.test"], msg("dsn", milk))
        wait_for(lambda: [c for m, c in sink.messages() if m["rcpt_tos"] == ["ok@rcpt.test"] and
                          m["mail_from"] in ("", "<>")], 30, "the report to the cleared originator")
        dsn = [c for m, c in sink.messages() if m["rcpt_tos"] == ["ok@rcpt.test"] and m["mail_from"] in ("", "<>")][0]
        assert b"5.7.1" in dsn and b"the recipient is not cleared" in dsn, dsn
    finally:
        d.stop()
        sink.stop()


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def cert_with_clearance(wd, name, addr, clearance_ber, ca_key, ca_crt):
    """A recipient certificate issued by the test CA whose subjectDirectoryAttributes carry the
    X.841 clearance attribute (2.5.4.55)."""
    sda = tlv(0x30, tlv(0x30, tlv(0x06, bytes([0x55, 0x04, 0x37])) + tlv(0x31, clearance_ber)))
    key, csr, crt = wd.sub(name + ".key"), wd.sub(name + ".csr"), wd.sub(name + ".crt")
    ext = write(wd.sub(name + ".ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n2.5.29.9=DER:%s\n" % (addr, sda.hex()))
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
                    "/CN=" + addr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", crt, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    return crt


def t_cert_store_clearances():
    """Clearances carried by the recipients' certificates in the cert store."""
    wd = Workdir("labels-certs")
    sink = Sink(wd).start()
    key, crt, ca = make_signer(wd)   # the CA doubles as the store's anchor
    store = wd.sub("certs.db")
    with open(os.path.join(VEC, "generated-ber/food-clearance-all-okay.ber"), "rb") as f:
        okc = f.read()
    with open(os.path.join(VEC, "generated-ber/food-clearance-lactose-intolerant.ber"), "rb") as f:
        lactc = f.read()
    for args in (["--anchor", ca], [cert_with_clearance(wd, "okc", "ok@certs.test", okc, wd.sub("ca.key"), ca)],
                 [cert_with_clearance(wd, "lactc", "lact@certs.test", lactc, wd.sub("ca.key"), ca)]):
        r = subprocess.run([MIXGATE, "cert", "import", "--store", store] + args, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    conf = custom_conf(wd, '    { listener = "smtp"; extract = [ "x-x411" ]; }',
                       extra_labels='  cert_store = "%s";\n' % store)
    d = labels_daemon(wd, sink, FOOD, clearances="", conf=conf).start()
    try:
        milk = label_cli("convert", "--spif", FOOD, "--to", "x-x411", MILK).encode() + b"\r\n"
        code, text = smtp_try(d.port, "a@orig.test", ["ok@certs.test", "lact@certs.test", "none@certs.test"],
                              msg("certs", milk))
        qid = qid_of(text)
        wait_for(lambda: queue_empty(d), 60, "the queue to drain")
        got = [m["rcpt_tos"] for m, c in sink.messages() if b"X-Test-Id: certs\r\n" in c]
        assert got == [["ok@certs.test"]], got
        recs = {r["rcpt"]: r for r in audit(d, "--qid", qid) if r["decision"].startswith("access-")}
        assert recs["ok@certs.test"]["decision"] == "access-granted", recs
        assert "Lactose" in recs["lact@certs.test"]["reason"], recs
        assert "no clearance" in recs["none@certs.test"]["reason"], recs
    finally:
        d.stop()
        sink.stop()


def t_shaper_ess_signature():
    """The shaper's ess-signature output: the MTA signs, the label as the signature's ESS label."""
    wd = Workdir("labels-sign")
    sink = Sink(wd).start()
    key, crt, ca = make_signer(wd)
    conf = custom_conf(wd, '    { listener = "smtp"; extract = [ "x-x411" ]; }', chain='"mark", "smtp-out"')
    text = open(conf).read().replace('outputs = [ "sio-label", "flot" ]; }',
                                     'outputs = [ "sio-label", "ess-signature" ]; sign_cert = "%s"; sign_key = "%s";'
                                     ' sign_ca = "%s"; }' % (crt, key, ca))
    write(conf, text)
    d = labels_daemon(wd, sink, FOOD, clearances=CLEARANCES, conf=conf).start()
    try:
        milk = label_cli("convert", "--spif", FOOD, "--to", "x-x411", MILK).encode() + b"\r\n"
        code, text = smtp_try(d.port, "a@orig.test", ["ok@rcpt.test"], msg("signed", milk))
        assert code == 250, (code, text)
        wait_for(lambda: sink.count() == 1, 30, "the signed message")
        meta, content = sink.messages()[0]
        assert b"\r\nSIO-Label: " in content, content[:600]
        f = write_bytes(wd.sub("out.eml"), content)
        r = subprocess.run([MIXGATE, "cms", "verify", "--ca", ca, f], capture_output=True, text=True)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "verify=ok" in out, out
        hexlabel = re.search(r"label=([0-9a-f]+)", out).group(1)
        lf = write_bytes(wd.sub("ess.der"), bytes.fromhex(hexlabel))
        back = label_cli("convert", "--spif", FOOD, "--to", "xml", lf)
        want = label_cli("convert", "--spif", FOOD, "--to", "xml", MILK)
        assert sorted(back.split()) == sorted(want.split()), (back, want)
    finally:
        d.stop()
        sink.stop()


if __name__ == "__main__":
    run([("oracle_sweep", t_oracle_sweep),
         ("submission_reject_and_audit", t_submission_reject_and_audit),
         ("default_correct_inconsistent", t_default_correct_inconsistent),
         ("peer_and_channel_clearances", t_peer_and_channel_clearances),
         ("recipient_without_clearance", t_recipient_without_clearance),
         ("cert_store_clearances", t_cert_store_clearances),
         ("shaper_ess_signature", t_shaper_ess_signature)])
