#!/usr/bin/python3
"""End to end (e2e.mixer): the MIXER gateway as shipped, etc/examples/mixer.conf, set up by its
variables only (issue 11, "The channel and the configuration"). Gateway A is the example; the
X.400 MTA B behind it is etc/mixgate.conf (P1 in, file delivery), with A's associations to B
passing through a recorder so tshark decodes them.

- swaks -> A (mixer-to-x400) -> P1 -> B -> file: the P772 content B stored has the mapped
  headings and the body (tshark); a recipient in the gateway's domain without an O/R address
  fails and its DSN reaches the SMTP originator; tshark finds nothing malformed on the
  association. An MDN crosses as an IPN.
- The real P772 transfer (the capture's initiator stream) replayed into A's P1 listener: we
  answer as the real responder did, A converts, the SMTP sink gets RFC 5322 with every heading
  field and the body.
- Reports back both ways: a 550 at the SMTP sink for that P772 message becomes an X.400 NDR for
  the X.400 originator, routed by the example's `or_address = "*"` rule over P1 to B, which
  delivers it; a P1 NDR from an X.400 MTA for a converted message becomes a DSN for the SMTP
  originator. etc/mixgate.conf routes everything to its file channel and has no P1 route back,
  so the MTA that refuses here is a two-route configuration of the test's own.
- The tables are read again on SIGHUP; a bad table line is refused by check-config with
  file:line."""
import os, re, shutil, subprocess
from harness import *
from test_p1 import replay, signature, write_pcap, need_vectors, STREAMS, VEC
from test_p1_relay import Recorder

CONF = os.path.join(SRC, "etc/examples/mixer.conf")
DEFAULT = os.path.join(SRC, "etc/mixgate.conf")
TABLES = os.path.join(SRC, "etc/mixer")

# A answers the real capture's initiator as its responder did; B is A's peer the other way.
A_NAMES = {"MIXGATE_PEER_MTA": "percival.smhs.co.uk", "MIXGATE_PEER_PASSWORD": "excalibur",
           "MIXGATE_MTA_NAME": "guinevere.smhs.co.uk", "MIXGATE_MTA_PASSWORD": "merlin"}
B_NAMES = {"MIXGATE_PEER_MTA": "guinevere.smhs.co.uk", "MIXGATE_PEER_PASSWORD": "merlin",
           "MIXGATE_MTA_NAME": "percival.smhs.co.uk", "MIXGATE_MTA_PASSWORD": "excalibur"}

# The capture's recipient community seen as the Internet: its O/R addresses map to smhs.example
# (or2rfc), and the example's Internet route takes guinevere's users.
SMHS_OR2RFC = "PRMD$smhs.ADMD$ .C$gb#smhs.example#\n"
SMHS_INTERNET = "/C=gb/ADMD= /PRMD=smhs/O=guinevere/"

MSG = (b"From: Ops <ops@example.org>\r\nTo: Bob.Jones@camelot.example\r\n"
       b"Subject: OPORD 7\r\nMessage-ID: <opord7@example.org>\r\n"
       b"MMHS-Primary-Precedence: flash\r\nMMHS-Subject-Indicator-Codes: ABC; XYZ1\r\n"
       b"\r\nProceed.\r\n")

# tshark 4.0 has no dissector for the RFC 2156 heading extension rfc-822-field (OID
# 1.3.6.1.7.1.3.2) that carries the mixer's trace line: that "Undecoded" note is the tool's
# gap; any other warning, an error or a malformed value is ours.
GAP = "[Expert Info (Warning/Undecoded): BER: Dissector for OID not implemented"


def tshark(path, wd):
    r = subprocess.run(["tshark", "-r", path, "-V"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=wd.path))
    assert r.returncode == 0, r.stderr
    text = r.stdout.replace(GAP, "")
    for bad in ("Malformed", "[Expert Info (Error", "[Expert Info (Warning"):
        assert bad not in text, "tshark: %s\n%s" % (bad, r.stdout[-3000:])
    return r.stdout


class Gateway:
    """A = mixer.conf, B = etc/mixgate.conf (or b_conf), a sink as A's SMTP relay."""

    def __init__(self, name, sink_args=(), tables=None, b_conf=None, extra_a=None):
        self.wd = Workdir(name)
        self.sink = Sink(self.wd, args=sink_args).start()
        self.pa, self.pb = free_port(), free_port()
        self.rec = Recorder(self.pb)
        env_a = dict(A_NAMES, MIXGATE_P1_LISTEN="127.0.0.1:%d" % self.pa,
                     MIXGATE_P1_RELAY="127.0.0.1:%d" % self.rec.port,
                     MIXGATE_RELAY="127.0.0.1:%d" % self.sink.port, MIXGATE_RETRY_MIN="1",
                     MIXGATE_MIXER_TABLES=tables or TABLES, MIXGATE_X400_CONTENT="p772")
        env_a.update(extra_a or {})
        self.a = Daemon(self.wd, CONF, env=env_a, var=self.wd.sub("va"))
        self.a.log = self.wd.sub("a.log")
        env_b = dict(B_NAMES, MIXGATE_P1_LISTEN="127.0.0.1:%d" % self.pb,
                     MIXGATE_X400_DOMAIN="/C=GB/ADMD= /PRMD=Camelot/")
        if callable(b_conf):
            b_conf = b_conf(self.wd, self.pa)
        self.b = Daemon(self.wd, b_conf or DEFAULT, env=env_b, var=self.wd.sub("vb"))
        self.b.log = self.wd.sub("b.log")

    def start(self):
        self.b.start()
        wait_port(self.pb, proc=self.b.proc)
        self.a.start()
        wait_port(self.pa, proc=self.a.proc)
        return self

    def stop(self):
        for d in (self.a, self.b):
            if d.proc:
                d.stop(expect_rc=None)
        self.sink.stop()
        self.rec.srv.close()

    def b_files(self, n=1):
        """B's deliveries (content .ber with its envelope summary .txt) once there are n."""
        d = os.path.join(self.b.var, "deliver")
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".ber")) if os.path.isdir(d) else []
        return files if len(files) >= n else None

    def association_pcap(self, name):
        """A's associations to B as a pcap (A stopped first, so they are complete)."""
        if self.a.proc:
            self.a.stop()
        wait_for(lambda: self.rec.frames and True, 5, "the recorded association")
        pcap = self.wd.sub(name + ".pcap")
        with self.rec.lock:
            write_pcap(pcap, list(self.rec.frames))   # B is the responder (the "server" side)
        return pcap


def smhs_tables(wd):
    tables = wd.sub("tables")
    shutil.copytree(TABLES, tables)
    with open(os.path.join(tables, "or2rfc"), "a") as f:
        f.write(SMHS_OR2RFC)
    return tables


def ndr_codes(diag):
    # NonDeliveryReport { reason [0] unable-to-transfer (1), diagnostic [1] diag }
    return bytes([0x80, 1, 1, 0x81, 1, diag])


def t_smtp_to_x400_over_p1():
    g = Gateway("mixer-to-x400").start()
    try:
        send(g.a.port, "ops@example.org", ["Bob.Jones@camelot.example", "nobody@x400.example"], MSG)
        files = wait_for(g.b_files, 60, "the converted message delivered at B")
        summary = open(files[0][:-4] + ".txt").read()
        for line in ("Recipient: /C=GB/ADMD= /PRMD=Camelot/S=Jones/G=Bob/",
                     "Content-Type: 1.3.26.0.4406.0.4.1", "Received-Protocol: P1",
                     "Received-From: guinevere.smhs.co.uk"):
            assert line in summary, "summary lacks %r:\n%s" % (line, summary)
        assert re.search(r"^MTS-Identifier: \[/C=GB/ADMD= /PRMD=Example/;", summary, re.M), summary
        assert re.search(r"^Originator: /C=GB/ADMD= /PRMD=Example/O=Example/S=ops/", summary, re.M), summary
        data = open(files[0], "rb").read()
        assert data[:1] == b"\xa0", data[:16]   # InformationObject ipm [0]
        p772 = g.wd.sub("m.p772")
        with open(p772, "wb") as f:
            f.write(data)
        out = tshark(p772, g.wd)
        for want in ("subject: OPORD 7", "PrimaryPrecedence: flash (4)", "Sic: ABC", "Sic: XYZ1",
                     "opord7(a)example.org", "surname: Jones", "surname: ops", "Proceed."):
            assert want in out, (want, out[-3000:])
        # the recipient with no O/R address failed: its DSN goes back over SMTP to the sink
        wait_for(lambda: g.sink.count() >= 1, 30, "the DSN at the sink")
        meta, content = g.sink.messages()[0]
        assert meta["rcpt_tos"] == ["ops@example.org"], meta
        assert b"5.1.3" in content and b"nobody@x400.example" in content, content[-1500:]
        assert b"has no X.400 address" in content, content[-1500:]
        # the association A opened to B: tshark decodes every TPKT, the message among them
        text = tshark(g.association_pcap("a-to-b"), g.wd)
        for want in ("MTS-APDU: message (0)", "recipient-name (/C=GB/A= /P=Camelot/S=Jones/G=Bob/)",
                     "subject: OPORD 7"):
            assert want in text, (want, text[-3000:])
        g.b.stop()
    finally:
        g.stop()


def t_mdn_becomes_ipn():
    """An MDN answering an X.400 message crosses as an X.420 IPN (receipt), over P1 to B."""
    g = Gateway("mixer-mdn").start()
    try:
        mdn = open(os.path.join(SRC, "test-vectors/mixer/smtp/mdn.in"), "rb").read()
        send(g.a.port, "bob@example.org", ["Alice.Smith@camelot.example"], mdn)
        files = wait_for(g.b_files, 60, "the IPN delivered at B")
        data = open(files[0], "rb").read()
        assert data[:1] == b"\xa1", data[:16]   # InformationObject ipn [1]
        with open(g.wd.sub("n.p772"), "wb") as f:
            f.write(data)
        out = tshark(g.wd.sub("n.p772"), g.wd)
        assert "receipt-fields" in out and "gen-ipm-0001" in out, out[-3000:]
        summary = open(files[0][:-4] + ".txt").read()
        assert "Recipient: /C=GB/ADMD= /PRMD=Camelot/S=Smith/G=Alice/" in summary, summary
    finally:
        g.stop()


def replay_p772(g):
    """The capture's initiator stream into A's P1 listener; we must answer as the real
    responder did (bind accepted, the message confirmed only once queued)."""
    need_vectors()
    init = open(os.path.join(STREAMS, "wsample-p772-transfer-initiator.tpkt"), "rb").read()
    real = open(os.path.join(STREAMS, "wsample-p772-transfer-responder.tpkt"), "rb").read()
    frames = replay(g.pa, init)
    ours = b"".join(b for s, b in frames if s)
    assert signature(ours) == signature(real), "we answered %s, the real responder %s\n%s" % (
        signature(ours), signature(real), g.a.tail())
    la = g.a.log_text()
    assert 0 <= la.find("event=received") < la.find("event=p1_transfer_confirmed"), g.a.tail()
    assert 'to=<"/C=gb/ADMD= /PRMD=smhs/O=guinevere/CN=ethereal/">' in la, g.a.tail()


def t_real_p772_to_smtp():
    """The real P772 transfer -> A's P1 listener -> mixer-to-smtp -> the SMTP sink: RFC 5322
    with every heading field of the P772 heading and the body."""
    wd_tables = Workdir("mixer-p772-tables")
    g = Gateway("mixer-p772", tables=smhs_tables(wd_tables),
                extra_a={"MIXGATE_INTERNET_OR": SMHS_INTERNET}).start()
    try:
        replay_p772(g)
        wait_for(lambda: g.sink.count() >= 1, 60, "the converted message at the sink")
        meta, content = g.sink.messages()[0]
        text = content.decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        assert len(meta["rcpt_tos"]) == 1 and "ethereal" in meta["rcpt_tos"][0].lower() and \
            meta["rcpt_tos"][0].lower().endswith("smhs.example"), meta
        assert "gal" in meta["mail_from"].lower() and meta["mail_from"].lower().endswith("smhs.example"), meta
        heads = {}
        for m in re.finditer(r"^([A-Za-z0-9-]+):[ \t]*(.*(?:\r\n[ \t].*)*)", head, re.M):
            heads.setdefault(m.group(1).lower(), []).append(m.group(2))
        # every field of the P772 heading (tshark's decode of the capture), mapped
        want = {"subject": "P772 Message", "mmhs-primary-precedence": "immediate",
                "mmhs-message-type": "exercise", "mmhs-subject-indicator-codes": "ABC",
                "mmhs-message-instructions": "Message Instruction",
                "mmhs-extended-authorisation-info": "Sat, 1 Oct 2005 11:30:50 +0000",
                "message-id": "percival.s:049600:20051001113050",
                "from": "gal@percival.smhs.example", "to": "/CN=ethereal/@lancelot.smhs.example",
                "disposition-notification-to": "gal@percival.smhs.example",
                # the envelope, its O/R addresses mapped through or2rfc like the heading's
                "x400-originator": "gal@percival.smhs.example",
                "x400-recipients": "/CN=ethereal/@guinevere.smhs.example",
                "x400-content-type": "(1) (3) (26) (0) (4406) (0) (4) (1)"}
        for name, value in want.items():
            got = " ".join(heads.get(name, []))
            assert value.lower() in got.lower(), "%s: want %r, got %r\n%s" % (name, value, got, head)
        assert "Discarded-X400-IPMS-Extensions: 1.2.826.0.1004.10.1.1" in head, head
        assert re.search(r"^Received: by \S+ with MIXER \(RFC 2156 conversion, channel mixer-to-smtp\)", head,
                         re.M), head
        assert body.strip() == "hello", body
        la = g.a.log_text()
        assert re.search(r"event=delivered qid=\S+ to=<[^>]*ethereal[^>]*> channel=smtp-out", la), g.a.tail()
    finally:
        g.stop()


def t_smtp_550_becomes_x400_ndr():
    """The same real P772 message, its SMTP next hop answering 550: A's non-delivery becomes an
    X.400 NDR for the X.400 originator (gal at smhs), which the example routes over P1 to B."""
    wd_tables = Workdir("mixer-550-tables")
    g = Gateway("mixer-550", sink_args=("--reject", "ethereal"), tables=smhs_tables(wd_tables),
                extra_a={"MIXGATE_INTERNET_OR": SMHS_INTERNET}).start()
    try:
        replay_p772(g)
        wait_for(lambda: "status=5.1.1" in g.a.log_text(), 60, "the 550 at A")
        files = wait_for(g.b_files, 60, "the NDR delivered at B")
        summary = open(files[0][:-4] + ".txt").read()
        assert "Content-Type: report" in summary, summary
        assert "Recipient: /C=gb/ADMD= /PRMD=smhs/O=percival/S=gal/" in summary, summary
        assert "MTS-Identifier: [/C=GB/ADMD= /PRMD=Example/;R" in summary, summary
        body = open(files[0], "rb").read()
        assert ndr_codes(0) in body, "unable-to-transfer / unrecognised-OR-name for a 5.1.1"
        assert b"ethereal" in body, "the actual recipient is named"
        assert g.sink.count() == 0, "nothing reached the sink"
        text = tshark(g.association_pcap("ndr"), g.wd)
        for want in ("MTS-APDU: report (1)", "report-destination-name (/C=gb/A= /P=smhs/O=percival/S=gal/)",
                     "non-delivery-diagnostic-code: unrecognised-OR-name (0)"):
            assert want in text, (want, text[-3000:])
        g.b.stop()
    finally:
        g.stop()


# An X.400 MTA that delivers two users and routes the Internet side (A's domain) back over P1
# to A: the recipient it does not know is refused with a non-delivery report.
B_REFUSING = """
global = { hostname = "mta-b.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr";
           x400_domain = "${MIXGATE_X400_DOMAIN}"; };
queue = { retry_min = 1; retry_max = 60; max_lifetime = 3600; delay_warning = 0; };
listeners = (
  { name = "smtp"; protocol = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; },
  { name = "p1"; protocol = "p1"; listen = "${MIXGATE_P1_LISTEN}"; }
);
peers = (
  { name = "mta-a"; type = "x400"; mta_name = "${MIXGATE_PEER_MTA}"; password = "${MIXGATE_PEER_PASSWORD}";
    our_mta_name = "${MIXGATE_MTA_NAME}"; our_password = "${MIXGATE_MTA_PASSWORD}"; host = "127.0.0.1:%d"; }
);
channels = (
  { name = "local"; type = "file"; directory = "${MIXGATE_VAR}/deliver"; },
  { name = "p1-out"; type = "p1"; }
);
routes = (
  { or_address = "/C=GB/ADMD= /PRMD=Camelot/S=Jones/"; chain = [ "local" ]; },
  { or_address = "/C=GB/ADMD= /PRMD=Example/"; chain = [ "p1-out" ]; peer = "mta-a"; }
);
"""


def t_p1_ndr_becomes_dsn():
    """swaks -> A -> P1 -> an MTA that has no route for the recipient: its NDR comes back over
    P1 to A's listener, A's mixer converts it, the SMTP originator's sink gets the DSN."""
    g = Gateway("mixer-ndr", b_conf=lambda wd, pa: write(wd.sub("b.conf"), B_REFUSING % pa)).start()
    try:
        swaks(g.a.port, "--from", "ops@example.org", "--to", "nobody@camelot.example",
              "--header", "Subject: to nowhere", "--body", "Does not exist at B.")
        wait_for(lambda: "event=p1_rcpt_refused" in g.b.log_text(), 60, "B to refuse the recipient")
        assert "x400_reason=1 x400_diagnostic=0" in g.b.log_text(), g.b.tail()
        wait_for(lambda: g.sink.count() >= 1, 60, "the DSN at the originator's sink")
        meta, content = g.sink.messages()[0]
        assert meta["rcpt_tos"] == ["ops@example.org"], meta
        assert meta["mail_from"] in ("", "<>"), meta
        text = content.decode("utf-8", "replace")
        assert "multipart/report" in text and "report-type=delivery-status" in text, text[:2000]
        assert re.search(r"Action: failed", text), text
        assert "nobody" in text.lower() and "camelot" in text.lower(), text
        assert re.search(r"Reporting-MTA: x400;", text), text
        la = g.a.log_text()
        # the report came in over A's P1 listener (the example's peer) and took the Internet
        # route: mixer-to-smtp, smtp-out
        assert "event=p1_transfer_confirmed" in la, g.a.tail()
        assert re.search(r'event=delivered qid=\S+ to=<"/C=GB/ADMD= /PRMD=Example/O=Example/S=ops/"> '
                         r'channel=smtp-out', la), g.a.tail()
        assert re.search(r"event=report_matched qid=\S+ subject=\S*\[/C=GB/ADMD= /PRMD=Example/;", la), g.a.tail()
        g.b.stop()
    finally:
        g.stop()


def t_tables_reloaded_on_hup():
    """The mapping tables are read again on SIGHUP: a changed MCGAM takes effect."""
    wd_tables = Workdir("mixer-hup-tables")
    tables = wd_tables.sub("tables")
    shutil.copytree(TABLES, tables)
    g = Gateway("mixer-hup", tables=tables).start()
    try:
        send(g.a.port, "ops@example.org", ["Bob.Jones@camelot.example"], MSG)
        first = open(wait_for(g.b_files, 60, "the first message at B")[0][:-4] + ".txt").read()
        assert "/PRMD=Camelot/" in first and "Avalon" not in first, first
        for name in ("rfc2or", "or2rfc"):
            path = os.path.join(tables, name)
            write(path, open(path).read().replace("PRMD$Camelot", "PRMD$Avalon"))
        g.a.hup()
        wait_for(lambda: "event=reloaded" in g.a.log_text(), 20, "the reload")
        send(g.a.port, "ops@example.org", ["Bob.Jones@camelot.example"], MSG)
        files = wait_for(lambda: g.b_files(2), 60, "the second message at B")
        second = [open(f[:-4] + ".txt").read() for f in files]
        assert any("Recipient: /C=GB/ADMD= /PRMD=Avalon/S=Jones/G=Bob/" in x for x in second), second
    finally:
        g.stop()


def t_bad_table_refused():
    wd = Workdir("mixer-bad-table")
    tables = wd.sub("tables")
    shutil.copytree(TABLES, tables)
    with open(os.path.join(tables, "rfc2or"), "a") as f:
        f.write("bad_domain#C$GB#\n")
    env = dict(os.environ, MIXGATE_MIXER_TABLES=tables, MIXGATE_VAR=wd.sub("var"))
    r = subprocess.run([MIXGATE, "check-config", "-c", CONF], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode != 0, r.stdout
    assert re.search(r"tables/rfc2or:\d+: \"bad_domain\" is not a domain", r.stderr + r.stdout), r.stderr


if __name__ == "__main__":
    run([(f.__name__[2:], f) for f in (t_smtp_to_x400_over_p1, t_mdn_becomes_ipn, t_real_p772_to_smtp,
                                        t_smtp_550_becomes_x400_ndr, t_p1_ndr_becomes_dsn,
                                        t_tables_reloaded_on_hup, t_bad_table_refused)])
