#!/usr/bin/python3
"""End to end: routing by the X.411 envelope label over P1, and the gate on P1 messages.

Relay A (the configuration below) takes P1 from `mixgate p1 send --label FILE` (the label in the
MessageTransferEnvelope's message-security-label), reads it at submission (`extract = [ "x411" ]`),
and relays every O/R recipient over P1: a rule `label_at_least = "SECRET"` sends SECRET traffic
to next hop S, everything else takes the other `or_address` rule to next hop U (two mixgates on
etc/mixgate.conf, file delivery). SECRET and UNCLASSIFIED messages to the same recipient each
arrive at their own next hop only, with the envelope label as sent. A SECRET message to a
recipient cleared only for UNCLASSIFIED is denied at A's gate (audit `access-denied`), never
leaves A, and its non-delivery report (secure-messaging-error, carrying the subject's SECRET
label) goes to the originator's side over the SECRET route."""
import json, os, subprocess
from harness import *
from harness import send as send_smtp

DEFAULT = os.path.join(SRC, "etc/mixgate.conf")
SPIF = os.path.join(SRC, "etc/examples/labels/example-spif.xml")
POLICY = "1.3.6.1.4.1.99999.7"
P772 = os.path.join(SRC, "test-vectors/ipm/p772-full.p772")

CONF = """
global = { hostname = "a.localhost"; var_dir = "${MIXGATE_VAR}"; log = "stderr";
           x400_domain = "/C=XX/ADMD= /PRMD=A/"; };
queue = { retry_min = 1; retry_max = 60; delay_warning = 0; };
listeners = ( { name = "smtp"; protocol = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; },
              { name = "p1"; protocol = "p1"; listen = "127.0.0.1:%(pa)d"; } );
channels = ( { name = "p1-secret"; type = "p1"; }, { name = "p1-out"; type = "p1"; },
             { name = "local"; type = "file"; directory = "${MIXGATE_VAR}/deliver"; } );
peers = (
  { name = "client"; type = "x400"; mta_name = "CLIENT"; password = "secret";
    our_mta_name = "MTA-A"; our_password = "secret"; },
  { name = "hop-s"; type = "x400"; mta_name = "MTA-S"; password = "secret"; our_mta_name = "MTA-A";
    our_password = "secret"; host = "127.0.0.1:%(ps)d"; },
  { name = "hop-u"; type = "x400"; mta_name = "MTA-U"; password = "secret"; our_mta_name = "MTA-A";
    our_password = "secret"; host = "127.0.0.1:%(pu)d"; }
);
labels = {
  spif = "%(spif)s";
  clearances = ( { pattern = "*/S=Low/"; clearance = "%(low)s"; },
                 { pattern = "/*"; clearance = "%(all)s"; } );
  submission = ( { listener = "p1"; extract = [ "x411" ]; on_missing = "reject"; } );
};
routes = (
  { or_address = "*"; label_at_least = "SECRET"; chain = [ "p1-secret" ]; peer = "hop-s"; },
  { or_address = "*"; chain = [ "p1-out" ]; peer = "hop-u"; },
  { default = true; chain = [ "local" ]; }
);
"""


def clearance(wd, name, lacvs):
    return write(wd.sub(name + ".xml"), "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/>%s"
                 "</clearance>" % (POLICY, "".join("<classification lacv='%d'/>" % c for c in lacvs)))


def label(wd, name, lacv):
    return write(wd.sub(name + ".xml"), "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/>"
                 "<classification lacv='%d'/></label>" % (POLICY, lacv))


def delivered(d):
    dd = os.path.join(d.var, "deliver")
    return sorted(os.path.join(dd, f) for f in os.listdir(dd) if f.endswith(".ber")) if os.path.isdir(dd) else []


def summaries(d):
    return [open(f[:-4] + ".txt").read() for f in delivered(d)]


def audit(d):
    r = subprocess.run([MIXGATE, "audit", "-c", d.conf, "--json"], capture_output=True, text=True,
                       timeout=30 * SLOW, env=d.env)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout or "[]")


def send(pa, to, lab, extra=()):
    r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:%d" % pa, "--mta", "CLIENT", "--password", "secret",
                        "--to", to, "--from", "/C=FR/ADMD= /PRMD=Z/S=op/", "--content", P772, "--label", lab]
                       + list(extra), capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr
    return r


def t_route_by_envelope_label():
    wd = Workdir("labels-p1-route")
    pa, ps, pu = free_port(), free_port(), free_port()
    low, allc = clearance(wd, "low", [1]), clearance(wd, "all", [1, 2, 3, 4])
    conf = write(wd.sub("a.conf"), CONF % {"pa": pa, "ps": ps, "pu": pu, "spif": SPIF, "low": low, "all": allc})
    hops = {}
    for name, port in (("S", ps), ("U", pu)):
        hops[name] = Daemon(wd, DEFAULT, env={"MIXGATE_MTA_NAME": "MTA-" + name, "MIXGATE_PEER_MTA": "MTA-A",
                                              "MIXGATE_P1_LISTEN": "127.0.0.1:%d" % port,
                                              "MIXGATE_X400_DOMAIN": "/C=XX/ADMD= /PRMD=%s/" % name},
                            var=wd.sub("v" + name))
        hops[name].log = wd.sub(name + ".log")
    a = Daemon(wd, conf, var=wd.sub("va"))
    a.log = wd.sub("a.log")
    try:
        for name, port in (("S", ps), ("U", pu)):
            hops[name].start()
            wait_port(port, proc=hops[name].proc)
        a.start()
        wait_port(pa, proc=a.proc)
        secret, uncl = label(wd, "secret", 4), label(wd, "uncl", 1)
        # the label file in another format the engine reads: X.411 BER
        r = subprocess.run([MIXGATE, "label", "convert", "--spif", SPIF, "--to", "x411", secret],
                           capture_output=True, timeout=30 * SLOW)
        assert r.returncode == 0, r.stderr
        secret_ber = wd.sub("secret.x411")
        with open(secret_ber, "wb") as f:
            f.write(r.stdout)
        send(pa, "/C=GB/ADMD= /PRMD=X/O=Y/S=Secret/", secret_ber)
        send(pa, "/C=GB/ADMD= /PRMD=X/O=Y/S=Uncl/", uncl, ["--spif", SPIF])
        wait_for(lambda: len(delivered(hops["S"])) == 1 and len(delivered(hops["U"])) == 1, 60,
                 "one message at each next hop")
        s, u = summaries(hops["S"])[0], summaries(hops["U"])[0]
        assert "Recipient: /C=GB/ADMD= /PRMD=X/O=Y/S=Secret/" in s, s
        assert "Recipient: /C=GB/ADMD= /PRMD=X/O=Y/S=Uncl/" in u, u
        assert open(delivered(hops["S"])[0], "rb").read() == open(P772, "rb").read()
        ext = [x for x in audit(a) if x["decision"] == "label-extracted"]
        assert len(ext) == 2 and all("from x411" in x["reason"] for x in ext), ext
        la = a.log_text()
        assert "channel=p1-secret peer=hop-s" in la and "channel=p1-out peer=hop-u" in la, a.tail()

        # a SECRET message to a recipient cleared for UNCLASSIFIED only: denied at A's gate
        send(pa, "/C=GB/ADMD= /PRMD=X/O=Y/S=Low/", secret_ber)
        wait_for(lambda: any(x["decision"] == "access-denied" for x in audit(a)), 30, "the denial on record")
        denied = [x for x in audit(a) if x["decision"] == "access-denied"]
        assert len(denied) == 1 and "S=Low" in json.dumps(denied[0]), denied
        # its non-delivery report (SECRET, the subject's label) reaches the originator's side
        # over the SECRET route; the message itself never leaves A
        wait_for(lambda: any("Content-Type: report" in t for t in summaries(hops["S"])), 60, "the report at S")
        rep = [f for f in delivered(hops["S"]) if "Content-Type: report" in open(f[:-4] + ".txt").read()]
        assert b"\x80\x01\x01\x81\x01\x2e" in open(rep[0], "rb").read()
        assert not any("S=Low" in t and "Content-Type: report" not in t for h in hops.values()
                       for t in summaries(h)), [summaries(h) for h in hops.values()]
        assert len(delivered(hops["U"])) == 1
        assert len(delivered(a)) == 0
        for d in [a] + list(hops.values()):
            d.stop()                                   # exit 0: the leak check
    finally:
        for d in [a] + list(hops.values()):
            if d.proc:
                d.stop(expect_rc=None)


GW_CONF = """
global = { hostname = "gw-a.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr";
           x400_domain = "/C=GB/ADMD= /PRMD=Example/"; };
queue = { retry_min = 1; retry_max = 60; delay_warning = 0; };
listeners = ( { name = "smtp"; protocol = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; relay_networks = [ "127.0.0.0/8" ]; } );
peers = ( { name = "mta-b"; type = "x400"; mta_name = "MTA-B"; password = "secret"; our_mta_name = "MTA-A";
            our_password = "secret"; host = "127.0.0.1:%(pb)d"; } );
channels = (
  { name = "to-x400"; type = "mixer"; direction = "to-x400"; domain = "x400.example";
    or_address = "/C=GB/ADMD= /PRMD=Example/O=MIXER/"; tables = "%(tables)s"; content = "p22"; },
  { name = "p1-out"; type = "p1"; }
);
labels = {
  spif = "%(spif)s";
  recipient_clearance = false;
  submission = ( { listener = "smtp"; extract = [ "x-x411" ]; } );
};
routes = ( { default = true; chain = [ "to-x400", "p1-out" ]; peer = "mta-b"; } );
"""

MTA_CONF = """
global = { hostname = "mta-b.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr";
           x400_domain = "/C=GB/ADMD= /PRMD=Camelot/"; };
listeners = ( { name = "smtp"; protocol = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}"; },
              { name = "p1"; protocol = "p1"; listen = "127.0.0.1:%(pb)d"; } );
peers = ( { name = "mta-a"; type = "x400"; mta_name = "MTA-A"; password = "secret"; our_mta_name = "MTA-B";
            our_password = "secret"; } );
channels = ( { name = "local"; type = "file"; directory = "${MIXGATE_VAR}/deliver"; } );
labels = {
  spif = "%(spif)s";
  recipient_clearance = false;
  submission = ( { listener = "p1"; extract = [ "x411" ]; on_missing = "reject"; } );
};
routes = ( { default = true; chain = [ "local" ]; } );
"""


def t_smtp_to_x400_envelope_label():
    """An Internet message labelled with X-X411 leaves a MIXER gateway over P1 with that label in
    the MessageTransferEnvelope (the p1 channel writes the label the gate decided on): the X.400
    MTA behind it, which takes only messages with an envelope label (extract = [ "x411" ],
    on_missing = reject), delivers it and reads the label from there."""
    wd = Workdir("labels-p1-route-mixer")
    pb = free_port()
    b = Daemon(wd, write(wd.sub("b.conf"), MTA_CONF % {"pb": pb, "spif": SPIF}), var=wd.sub("vb"))
    b.log = wd.sub("b.log")
    a = Daemon(wd, write(wd.sub("a.conf"), GW_CONF % {"pb": pb, "spif": SPIF,
                                                     "tables": os.path.join(SRC, "etc/mixer")}), var=wd.sub("va"))
    a.log = wd.sub("a.log")
    try:
        b.start()
        wait_port(pb, proc=b.proc)
        a.start()
        r = subprocess.run([MIXGATE, "label", "convert", "--spif", SPIF, "--to", "x-x411", label(wd, "conf", 3)],
                           capture_output=True, text=True, timeout=30 * SLOW)
        assert r.returncode == 0, r.stderr
        send_smtp(a.port, "ops@example.org", ["Smith@camelot.example"],
                  ("From: ops@example.org\r\nTo: Smith@camelot.example\r\nSubject: labelled\r\n%s\r\n\r\n"
                   "hello\r\n" % r.stdout.strip()).encode())
        wait_for(lambda: len(delivered(b)) == 1, 60, "the message at the X.400 MTA")
        assert "Recipient: /C=GB/ADMD= /PRMD=Camelot/S=Smith/" in summaries(b)[0], summaries(b)
        ext = [x for x in audit(b) if x["decision"] == "label-extracted"]
        assert len(ext) == 1 and "from x411" in ext[0]["reason"], audit(b)
        assert "CONFIDENTIAL" in json.dumps(ext[0]), ext
        for d in (a, b):
            d.stop()
    finally:
        for d in (a, b):
            if d.proc:
                d.stop(expect_rc=None)


def t_label_option_errors():
    wd = Workdir("labels-p1-route-cli")
    bad = write(wd.sub("bad.txt"), "SECRET")        # a marking needs --spif
    r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:1", "--to", "/C=GB/ADMD= /PRMD=X/S=a/", "--from",
                        "/C=FR/ADMD= /PRMD=Z/S=op/", "--label", bad], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert r.returncode == 2 and "--label" in r.stderr, (r.stdout, r.stderr)
    r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:1", "--to", "/C=GB/ADMD= /PRMD=X/S=a/", "--from",
                        "/C=FR/ADMD= /PRMD=Z/S=op/", "--label", wd.sub("missing")], capture_output=True,
                       text=True, timeout=30 * SLOW)
    assert r.returncode == 2 and "cannot read" in r.stderr, r.stderr
    r = subprocess.run([MIXGATE, "p1", "ping", "127.0.0.1:1", "--label", bad], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert r.returncode == 2, r.stderr


if __name__ == "__main__":
    run([("route_by_envelope_label", t_route_by_envelope_label),
         ("smtp_to_x400_envelope_label", t_smtp_to_x400_envelope_label),
         ("label_option_errors", t_label_option_errors)])
