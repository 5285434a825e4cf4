#!/usr/bin/python3
"""End to end: routing by security label (route rules with label_* keys).

A relay on the example policy (etc/examples/labels/example-spif.xml) with two next hops, each
an aiosmtpd sink: a rule `label_at_least = "SECRET"` sends SECRET traffic through its own chain
to sink A; everything else takes the default route to sink B. Both messages go to the same
recipient in one run; each arrives at its own sink only. `check-config --route --label` names
the same rules. The metrics endpoint counts the gate's decisions per channel and peer
(mixgate_label_decisions_total): a SECRET message to a recipient cleared only for UNCLASSIFIED
is denied on the SECRET route.
"""
import json, os, re, subprocess
from harness import *

SPIF = os.path.join(SRC, "etc/examples/labels/example-spif.xml")
POLICY = "1.3.6.1.4.1.99999.7"


def label_xml(lacv):
    return ("<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/><classification lacv='%d'/>"
            "</label>" % (POLICY, lacv))


CONF = """
global = { hostname = "mixgate.test"; var_dir = "${MIXGATE_VAR}"; log = "stderr"; metrics_listen = "127.0.0.1:0"; };
queue = { retry_min = 1; retry_max = 60; delay_warning = 0; };
listeners = ( { name = "smtp"; protocol = "smtp"; listen = "${MIXGATE_SMTP_LISTEN}";
                relay_networks = [ "127.0.0.0/8" ]; } );
peers = ( { name = "secret-hop"; type = "smtp"; host = "127.0.0.1:%(a)d"; },
          { name = "smarthost"; type = "smtp"; host = "127.0.0.1:%(b)d"; } );
labels = {
  spif = "%(spif)s";
  clearances = ( { recipient = "u@rcpt.test"; clearance = "%(clear)s"; },
                 { recipient = "lo@rcpt.test"; clearance = "%(low)s"; } );
  submission = ( { listener = "smtp"; extract = [ "x-x411" ]; } );
};
channels = (
  { name = "mark"; type = "shaper"; spif = "%(spif)s"; outputs = [ "sio-label" ]; },
  { name = "out-secret"; type = "smtp"; },
  { name = "out"; type = "smtp"; }
);
routes = (
  { pattern = "*"; label_at_least = "SECRET"; chain = [ "mark", "out-secret" ]; peer = "secret-hop"; },
  { default = true; chain = [ "mark", "out" ]; peer = "smarthost"; }
);
"""


def x411(wd, name, lacv):
    f = write(wd.sub(name + ".xml"), label_xml(lacv))
    r = subprocess.run([MIXGATE, "label", "convert", "--spif", SPIF, "--to", "x-x411", f], capture_output=True,
                       text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def msg(tag, header):
    return ("From: a@orig.test\r\nTo: u@rcpt.test\r\nSubject: %s\r\nMessage-ID: <%s@t>\r\nX-Test-Id: %s\r\n%s\r\n"
            "\r\nhello\r\n" % (tag, tag, tag, header)).encode()


def metric(d, **labels):
    """The value of mixgate_label_decisions_total{labels} at the metrics endpoint (None: absent)."""
    port = int(wait_for(lambda: re.search(r"event=listening listener=metrics protocol=http listen=\S+ port=(\d+)",
                                          d.log_text()), 20, "the metrics listener").group(1))
    r = subprocess.run(["curl", "-sS", "--max-time", str(int(20 * SLOW)), "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        m = re.match(r"mixgate_label_decisions_total\{(.*)\} (\S+)$", line)
        if m and dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == labels:
            return float(m.group(2))
    return None


def t_secret_takes_its_own_route():
    wd = Workdir("labels-route")
    a = Sink(wd, "sink-a").start()
    b = Sink(wd, "sink-b").start()
    clear = write(wd.sub("clearance.xml"),
                  "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/><classification lacv='1'/>"
                  "<classification lacv='2'/><classification lacv='3'/><classification lacv='4'/></clearance>" % POLICY)
    low = write(wd.sub("low.xml"), "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/>"
                "<classification lacv='1'/></clearance>" % POLICY)
    conf = write(wd.sub("route.conf"), CONF % {"a": a.port, "b": b.port, "spif": SPIF, "clear": clear, "low": low})
    d = Daemon(wd, conf).start()
    try:
        secret, uncl = x411(wd, "secret", 4), x411(wd, "uncl", 1)
        # what check-config says each label would take
        lines = open(conf).read().splitlines()
        l1 = 1 + [n for n, l in enumerate(lines) if "label_at_least" in l][0]
        for text, want in ((secret, 'route #1 (line %d) pattern "*" label [at least SECRET] -> mark, out-secret '
                                     'peer secret-hop' % l1),
                           (uncl, "route #2 (line %d) default -> mark, out peer smarthost" % (l1 + 1))):
            r = subprocess.run([MIXGATE, "check-config", "-c", conf, "--label", text, "--route", "u@rcpt.test"],
                               capture_output=True, text=True, env=d.env, timeout=30 * SLOW)
            assert r.returncode == 0, r.stderr
            assert ("u@rcpt.test: " + want) in r.stdout, r.stdout
        send(d.port, "a@orig.test", ["u@rcpt.test"], msg("secret", secret))
        send(d.port, "a@orig.test", ["u@rcpt.test"], msg("uncl", uncl))
        wait_for(lambda: a.count() == 1 and b.count() == 1, 60, "one message at each sink")
        ga = [c for m, c in a.messages()]
        gb = [c for m, c in b.messages()]
        assert b"X-Test-Id: secret\r\n" in ga[0] and b"X-Test-Id: uncl\r\n" in gb[0], (ga, gb)
        # the shaper of each chain ran before its own delivery channel
        assert b"SIO-Label:" in ga[0] and b"SIO-Label:" in gb[0]
        qa = re.search(r"Message-ID: <secret@t>", ga[0].decode())
        assert qa and re.search(r"event=delivered .*channel=out-secret", d.log_text()), d.tail()
        # a SECRET message to a recipient not cleared for it (null sender: no report)
        send(d.port, "", ["lo@rcpt.test"], msg("denied", secret))
        wait_for(lambda: metric(d, channel="out-secret", peer="secret-hop", decision="denied") == 1, 60,
                 "the denial in the metrics")
        assert metric(d, channel="out-secret", peer="secret-hop", decision="allowed") == 1
        assert metric(d, channel="out", peer="smarthost", decision="allowed") == 1
        assert metric(d, channel="out", peer="smarthost", decision="denied") is None
        assert a.count() == 1 and b.count() == 1
    finally:
        d.stop()
        a.stop()
        b.stop()


def t_queue_filters_follow_label_routes():
    """`mixgate queue list --peer/--channel`, `queue show` and `peers` route each recipient with
    its message's label, as the switch does: with both next hops down, the SECRET message is
    queued for secret-hop / out-secret only and the UNCLASSIFIED one for smarthost / out only
    (an address-only lookup would put the SECRET one on the default route's peer as well)."""
    wd = Workdir("labels-route-queue")
    clear = write(wd.sub("clearance.xml"),
                  "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/><classification lacv='1'/>"
                  "<classification lacv='2'/><classification lacv='3'/><classification lacv='4'/></clearance>" % POLICY)
    conf = write(wd.sub("route.conf"), CONF % {"a": free_port(), "b": free_port(), "spif": SPIF, "clear": clear,
                                               "low": clear})
    d = Daemon(wd, conf).start()
    try:
        secret, uncl = x411(wd, "secret", 4), x411(wd, "uncl", 1)
        send(d.port, "s@orig.test", ["u@rcpt.test"], msg("secret", secret))
        send(d.port, "n@orig.test", ["u@rcpt.test"], msg("uncl", uncl))

        def listed(*f):
            return sorted(m["originator"] for m in json.loads(d.cli("queue", "list", "--json", *f).stdout))

        wait_for(lambda: listed("--state", "deferred") == ["n@orig.test", "s@orig.test"], 60, "both deferred")
        assert listed("--peer", "secret-hop") == ["s@orig.test"], d.cli("queue", "list").stdout
        assert listed("--peer", "smarthost") == ["n@orig.test"], d.cli("queue", "list").stdout
        assert listed("--channel", "out-secret") == ["s@orig.test"]
        assert listed("--channel", "out") == ["n@orig.test"]
        assert listed("--channel", "mark") == ["n@orig.test", "s@orig.test"]
        ids = {m["originator"]: m["id"] for m in json.loads(d.cli("queue", "list", "--json").stdout)}
        show = d.cli("queue", "show", ids["s@orig.test"]).stdout
        assert "chain=mark,out-secret " in show, show
        show = d.cli("queue", "show", ids["n@orig.test"]).stdout
        assert "chain=mark,out " in show, show
        peers = {p["name"]: p for p in json.loads(d.cli("peers", "--json").stdout)}
        assert peers["secret-hop"]["queued"] == 1 and peers["smarthost"]["queued"] == 1, peers
        # a bulk operation takes the same selection
        r = d.cli("queue", "hold", "--all", "--peer", "smarthost", "--reason", "uncl only")
        held = listed("--held")
        assert held == ["n@orig.test"], (r.stdout, held)
    finally:
        d.stop()


def t_dsn_of_unlabelled_reaches_originator():
    """unlabelled = "deny" over SMTP: a message accepted without a label (on_missing = accept)
    is denied at the gate, and its DSN, which takes the report label (the policy's least
    sensitive classification) since its subject has none, passes the same gate and reaches the
    originator through the default route (marked UNCLASSIFIED by its shaper); the message never
    leaves."""
    wd = Workdir("labels-route-dsn")
    b = Sink(wd, "sink-b").start()
    low = write(wd.sub("low.xml"), "<clearance xmlns='http://surevine.com/xmlns/spiffy'><policy id='%s'/>"
                "<classification lacv='1'/></clearance>" % POLICY)
    text = CONF.replace('extract = [ "x-x411" ];', 'extract = [ "x-x411" ]; on_missing = "accept";') \
               .replace('labels = {', 'labels = {\n  unlabelled = "deny";') \
               .replace('{ recipient = "lo@rcpt.test"; clearance = "%(low)s"; }',
                        '{ recipient = "lo@rcpt.test"; clearance = "%(low)s"; },\n'
                        '                 { recipient = "a@orig.test"; clearance = "%(low)s"; }')
    conf = write(wd.sub("dsn.conf"), text % {"a": free_port(), "b": b.port, "spif": SPIF, "clear": low, "low": low})
    d = Daemon(wd, conf).start()
    try:
        send(d.port, "a@orig.test", ["lo@rcpt.test"], msg("nolabel", ""))
        wait_for(lambda: b.count() == 1, 60, "the DSN at the originator's next hop")
        env, body = b.messages()[0]
        assert b"multipart/report" in body and b"5.7.1" in body and b"no security label" in body, body
        assert b"SIO-Label:" in body and b"X-Test-Id: nolabel" in body, body
        la = d.log_text()
        assert "event=report_labelled" in la, d.tail()
        assert re.search(r"event=access_decision .*rcpt=<\"?a@orig.test\"?>.*decision=granted", la), d.tail()
        assert re.search(r"event=access_decision .*rcpt=<\"?lo@rcpt.test\"?>.*decision=denied", la), d.tail()
    finally:
        d.stop()
        b.stop()


def t_check_config_names_unknown_names():
    wd = Workdir("labels-route-check")
    bad = CONF.replace('label_at_least = "SECRET"', 'label_at_least = "COSMIC"')
    conf = write(wd.sub("bad.conf"), bad % {"a": 1, "b": 2, "spif": SPIF, "clear": SPIF, "low": SPIF})
    r = subprocess.run([MIXGATE, "check-config", "-c", conf], capture_output=True, text=True, timeout=30 * SLOW,
                       env=dict(os.environ, MIXGATE_VAR=wd.sub("var"), MIXGATE_SMTP_LISTEN="127.0.0.1:0"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = [n for n, l in enumerate(bad.splitlines(), 1) if "COSMIC" in l][0]
    assert "%s:%d: route #1: label_at_least: policy EXAMPLE has no classification \"COSMIC\"" % (conf, line) \
        in r.stderr, r.stderr


if __name__ == "__main__":
    run([("secret_takes_its_own_route", t_secret_takes_its_own_route),
         ("queue_filters_follow_label_routes", t_queue_filters_follow_label_routes),
         ("dsn_of_unlabelled_reaches_originator", t_dsn_of_unlabelled_reaches_originator),
         ("check_config_names_unknown_names", t_check_config_names_unknown_names)])
