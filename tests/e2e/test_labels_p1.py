#!/usr/bin/python3
"""End to end: the ESS security label of a binary X.400 content signed as a whole (STANAG 4406
Annex B, RFC 3854/3855), read at submission from P1. The default configuration's P1 listener
(etc/mixgate.conf, file delivery) with a `labels` group whose P1 submission reads the X.411
envelope label, then the ESS label, and rejects a message without one. `mixgate cms sign --der
--label` signs the P772 content of test-vectors/ipm (SignedData in a ContentInfo, DER, the label
among the signed attributes) and `mixgate p1 send` transfers it: it is delivered byte for byte
with a `label-extracted` record naming the ESS label; the same content unsigned is refused
(`label-rejected`) and never delivered.

History in the X.400 heading: a P772 content whose heading carries `SIO-Label:` in its RFC 2156
rfc-822-field list (made by `mixgate mixer to-x400` from an Internet message) is read at P1
submission, converted by a shaper from the UK demo policy to TLP+ (the vectors' SPIFs), and
delivered with the new SIO-Label and the original as `SIO-Label-History:` in the same list;
`mixgate mixer to-smtp` of the delivered content restores both as header fields."""
import json, os, subprocess
from harness import *
from test_labels import audit, label_cli, make_signer, write_bytes

CONF = os.path.join(SRC, "etc/mixgate.conf")
SPIF = os.path.join(SRC, "etc/examples/labels/example-spif.xml")
P772 = os.path.join(SRC, "test-vectors/ipm/p772-full.p772")
POLICY = "1.3.6.1.4.1.99999.7"


def conf(wd):
    text = open(CONF).read() + """
labels = {
  spif = "%s";
  recipient_clearance = false;
  unlabelled = "allow";          # the non-delivery report about an unlabelled message passes
  submission = ( { listener = "p1"; extract = [ "x411", "ess" ]; on_missing = "reject"; } );
};
""" % SPIF
    return write(wd.sub("p1-labels.conf"), text)


def send(d, content, to):
    r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:%d" % d.p1port, "--mta", "PEER-MTA", "--password", "secret",
                        "--to", to, "--from", "/C=FR/ADMD= /PRMD=Z/S=op/", "--content", content],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr + d.tail()


def delivered(d):
    dd = os.path.join(d.var, "deliver")
    return sorted(os.path.join(dd, f) for f in os.listdir(dd) if f.endswith(".ber")) if os.path.isdir(dd) else []


def t_signed_p772_label_from_p1():
    wd = Workdir("labels-p1-ess")
    lx = write(wd.sub("label.xml"), "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/>"
               "<classification lacv='3'/><tag type='permissive' id='%s.1' lacv='2'/></label>" % (POLICY, POLICY))
    ess = write_bytes(wd.sub("label.ess"), label_cli("convert", "--spif", SPIF, "--to", "ess", lx, binary=True))
    key, crt, ca = make_signer(wd)
    signed = wd.sub("signed.p772.der")
    r = subprocess.run([MIXGATE, "cms", "sign", "--key", key, "--cert", crt, "--ca", ca, "--der", "--label", ess,
                        P772, "-o", signed], capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stderr
    # what openssl makes of it: DER SignedData, the P772 content inside unchanged
    r = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", signed, "-noverify", "-binary",
                        "-out", wd.sub("inner")], capture_output=True, text=True)
    assert r.returncode == 0 and open(wd.sub("inner"), "rb").read() == open(P772, "rb").read(), r.stderr
    p1port = free_port()
    d = Daemon(wd, conf(wd), env={"MIXGATE_P1_LISTEN": "127.0.0.1:%d" % p1port, "MIXGATE_PEER_MTA": "PEER-MTA",
                                  "MIXGATE_PEER_PASSWORD": "secret"}).start()
    wait_port(p1port, proc=d.proc)
    d.p1port = p1port
    try:
        send(d, signed, "/C=GB/ADMD= /PRMD=X/O=Y/S=Signed/")
        files = wait_for(lambda: delivered(d) or None, 30, "the signed content delivered")
        assert open(files[0], "rb").read() == open(signed, "rb").read()
        recs = audit(d)
        ext = [x for x in recs if x["decision"] == "label-extracted"]
        assert len(ext) == 1 and "from ess" in ext[0]["reason"], recs
        # the unsigned content has no label at all: refused at submission
        send(d, P772, "/C=GB/ADMD= /PRMD=X/O=Y/S=Plain/")
        wait_for(lambda: any(x["decision"] in ("label-rejected", "label-missing") for x in audit(d)), 30,
                 "the refusal on record")
        assert "event=p1_label_refused" in d.log_text(), d.tail()
        # the originator gets a non-delivery report (secure-messaging-error), delivered here too
        reps = wait_for(lambda: [f for f in delivered(d) if "Content-Type: report" in open(f[:-4] + ".txt").read()],
                        30, "the non-delivery report")
        # NonDeliveryReasonCode [0] unable-to-transfer (1), NonDeliveryDiagnosticCode [1]
        # secure-messaging-error (46)
        assert b"\x80\x01\x01\x81\x01\x2e" in open(reps[0], "rb").read()
        msgs = [f for f in delivered(d) if "Content-Type: report" not in open(f[:-4] + ".txt").read()]
        assert len(msgs) == 1, delivered(d)
    finally:
        d.stop()


def report_conf(wd, on_missing):
    text = open(CONF).read() + """
labels = {
  spif = "%s";
  recipient_clearance = false;
  unlabelled = "deny";           # the report about an unlabelled message takes the report label
  submission = ( { listener = "p1"; extract = [ "x411" ]; on_missing = "%s"; } );
};
""" % (SPIF, on_missing)
    return write(wd.sub("p1-report-label.conf"), text)


def t_report_of_unlabelled_reaches_originator():
    """unlabelled = "deny": the non-delivery report about an unlabelled P1 message carries the
    report label (here the policy's default, its least sensitive classification), so the gate
    passes it and the originator hears, whether the message was refused at submission
    (on_missing = reject) or accepted unlabelled and denied at the gate (on_missing = accept)."""
    for on_missing in ("reject", "accept"):
        wd = Workdir("labels-p1-report-" + on_missing)
        p1port = free_port()
        d = Daemon(wd, report_conf(wd, on_missing), env={"MIXGATE_P1_LISTEN": "127.0.0.1:%d" % p1port,
                                                         "MIXGATE_PEER_MTA": "PEER-MTA",
                                                         "MIXGATE_PEER_PASSWORD": "secret"}).start()
        wait_port(p1port, proc=d.proc)
        d.p1port = p1port
        try:
            send(d, P772, "/C=GB/ADMD= /PRMD=X/O=Y/S=Plain/")
            reps = wait_for(lambda: [f for f in delivered(d) if "Content-Type: report" in open(f[:-4] + ".txt").read()],
                            30, "the non-delivery report (%s)" % on_missing)
            assert len(reps) == 1, delivered(d)
            # unable-to-transfer (1), secure-messaging-error (46)
            assert b"\x80\x01\x01\x81\x01\x2e" in open(reps[0], "rb").read()
            # the delivered report content is what `mixgate decode` reads (ReportTransferContent)
            r = subprocess.run([MIXGATE, "decode", reps[0]], capture_output=True, text=True, timeout=30 * SLOW)
            assert r.returncode == 0 and "P1 report transfer content" in r.stdout, r.stdout + r.stderr
            assert "non-delivery-diagnostic-code: 46" in r.stdout, r.stdout
            # the message itself never went anywhere
            assert len(delivered(d)) == 1, delivered(d)
            recs = audit(d)
            if on_missing == "reject":
                assert any(x["decision"] == "label-rejected" for x in recs), recs
            else:
                denied = [x for x in recs if x["decision"] == "access-denied"]
                assert len(denied) == 1 and "unlabelled" in denied[0]["reason"], recs
            assert "event=report_labelled" in d.log_text(), d.tail()
            # the report passed the gate on its label (UNCLASSIFIED), not as an unlabelled message
            granted = [x for x in recs if x["decision"] == "access-granted"]
            assert len(granted) == 1 and "unlabelled" not in granted[0]["reason"], recs
            assert "UNCLASSIFIED" in json.dumps(granted[0]), granted[0]
        finally:
            d.stop()


VEC = os.path.join(os.environ.get("MIXGATE_VECTORS") or os.path.join(SRC, "../shared/vectors"),
                   "labels/spiffing/test-data")


def history_conf(wd):
    text = open(CONF).read()
    text = text.replace('channels = (\n', 'channels = (\n  { name = "to-tlpx"; type = "shaper"; spif = "%s"; '
                        'outputs = [ "sio-label", "history" ]; },\n' % os.path.join(VEC, "tlp-plus.xml"), 1)
    text = text.replace('chain = [ "local" ]', 'chain = [ "to-tlpx", "local" ]')
    text += """
labels = {
  spif = "%s";
  spifs = [ "%s" ];
  recipient_clearance = false;
  unlabelled = "allow";
  submission = ( { listener = "p1"; extract = [ "sio-label" ]; on_missing = "reject"; } );
};
""" % (os.path.join(VEC, "uk-demo.xml"), os.path.join(VEC, "tlp-plus.xml"))
    return write(wd.sub("p1-history.conf"), text)


def t_history_in_x400_heading():
    wd = Workdir("labels-p1-history")
    uk = write(wd.sub("uk.xml"), "<label xmlns='http://surevine.com/xmlns/spiffy'>"
               "<policy id='1.2.826.0.1.6726289.0.4'/><classification lacv='10'/></label>")
    sio = label_cli("convert", "--spif", os.path.join(VEC, "uk-demo.xml"), "--to", "sio", uk)
    eml = write(wd.sub("in.eml"), "From: a@example.org\r\nTo: b@example.net\r\nSubject: history\r\n%s\r\n\r\n"
                "hello\r\n" % sio)
    r = subprocess.run([MIXGATE, "mixer", "to-x400", "--content", "p772", "--ber", eml], capture_output=True,
                       timeout=60 * SLOW)
    assert r.returncode == 0, r.stderr
    p772 = write_bytes(wd.sub("in.p772"), r.stdout)
    p1port = free_port()
    d = Daemon(wd, history_conf(wd), env={"MIXGATE_P1_LISTEN": "127.0.0.1:%d" % p1port,
                                          "MIXGATE_PEER_MTA": "PEER-MTA", "MIXGATE_PEER_PASSWORD": "secret"}).start()
    wait_port(p1port, proc=d.proc)
    d.p1port = p1port
    try:
        send(d, p772, "/C=GB/ADMD= /PRMD=X/O=Y/S=History/")
        files = wait_for(lambda: delivered(d) or None, 30, "the shaped content delivered")
        ext = [x for x in audit(d) if x["decision"] == "label-extracted"]
        assert len(ext) == 1 and "from sio-label" in ext[0]["reason"], audit(d)
        r = subprocess.run([MIXGATE, "mixer", "to-smtp", files[0]], capture_output=True, text=True, timeout=60 * SLOW)
        assert r.returncode == 0, r.stderr
        head = r.stdout.split("\n\n")[0].replace("\r", "")
        hist = [l for l in head.splitlines() if l.startswith("SIO-Label-History:")]
        new = [l for l in head.splitlines() if l.startswith("SIO-Label:")]
        assert len(hist) == 1 and len(new) == 1, head
        # the new label is TLP+'s, the history the original UK one
        back = subprocess.run([MIXGATE, "label", "convert", "--spif", os.path.join(VEC, "tlp-plus.xml"), "--to", "xml",
                               "-"], input=new[0], capture_output=True, text=True)
        assert back.returncode == 0 and "1.2.826.0.1.6726289.0.1" in back.stdout, (back.stdout, back.stderr)
        orig = sio.split('label="')[1].rstrip('"')           # the original's ESS label, base64
        assert 'prev-label="%s"' % orig in hist[0] and 'change="translated"' in hist[0], hist[0]
        assert any(x["decision"] == "label-converted" for x in audit(d))
    finally:
        d.stop()


if __name__ == "__main__":
    run([("signed_p772_label_from_p1", t_signed_p772_label_from_p1),
         ("report_of_unlabelled_reaches_originator", t_report_of_unlabelled_reaches_originator),
         ("history_in_x400_heading", t_history_in_x400_heading)])
