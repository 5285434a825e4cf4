#!/usr/bin/python3
"""End to end: the operator tools. `mixgate queue list` (a postqueue -p like entry per message
with each recipient's state, peer and last reply; filters; --json), `queue cat` (envelope and
content; --raw bytes), `queue history`, hold/release/delete/retry on several ids or --all with
filters (the hold reason kept and logged; unknown or extra words refused), `mixgate peers`,
`mixgate peer hold|release|flush NAME` (the peer's hold kept across a restart), and
`mixgate -c FILE <command>`."""
import json, os, re, subprocess
from harness import *

RELAY = os.path.join(SRC, "etc/examples/smtp-relay.conf")


def setup(name):
    """A relay whose next hop answers 451 to DATA: everything sent stays deferred."""
    wd = Workdir(name)
    sink = Sink(wd, args=["--tempfail-data", "1000"]).start()
    d = Daemon(wd, RELAY, env={"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "MIXGATE_RETRY_MIN": "3600"}).start()
    return wd, sink, d


def body(subject):
    return ("From: s@example.org\r\nTo: x@example.net\r\nMessage-ID: <%s@example.org>\r\nSubject: %s\r\n\r\n"
            "the body of %s\r\n" % (subject, subject, subject)).encode()


def queued(d, n):
    def ok():
        j = json.loads(d.cli("queue", "list", "--json").stdout)
        return len(j) == n and all(r["state"] == "deferred" for m in j for r in m["recipients"]) and j
    return wait_for(ok, 60, "%d deferred messages" % n)


def t_list_filters_json():
    wd, sink, d = setup("svcq-list")
    try:
        send(d.port, "alice@example.org", ["bob@example.net", "carol@example.net"], body("one"))
        send(d.port, "dave@example.org", ["erin@example.com"], body("two"))
        j = queued(d, 2)
        m1 = next(m for m in j if m["originator"] == "alice@example.org")
        assert [r["address"] for r in m1["recipients"]] == ["bob@example.net", "carol@example.net"], m1
        r0 = m1["recipients"][0]
        assert r0["peer"] == "smarthost" and r0["attempts"] >= 1 and r0["reason"].startswith("451"), r0
        text = d.cli("queue", "list").stdout
        # one line per recipient with its state, peer and last reply
        assert re.search(r"^\s+deferred\s+<bob@example.net> peer=smarthost attempts=\d+ next=\S+ \(451", text, re.M), text
        assert "-- 2 messages" in text, text
        only = lambda *f: [m["originator"] for m in json.loads(d.cli("queue", "list", "--json", *f).stdout)]
        assert only("--from", "alice@*") == ["alice@example.org"]
        assert only("--to", "*@EXAMPLE.COM") == ["dave@example.org"]
        assert sorted(only("--state", "deferred")) == ["alice@example.org", "dave@example.org"]
        assert only("--state", "delivered") == []
        assert len(only("--peer", "smarthost")) == 2 and only("--peer", "other") == []
        assert len(only("--channel", "smtp-out")) == 2
        assert only("--older", "1h") == [] and len(only("--older", "0s")) == 2
        assert only("--held") == []
        # unknown words are errors, never ignored
        for bad in (["--bogus"], ["--state", "sleeping"], ["--older", "soon"], ["extra"], ["--from"]):
            r = d.cli("queue", "list", *bad, check=False)
            assert r.returncode != 0 and r.stderr, (bad, r.returncode, r.stdout)
        r = d.cli("queue", "frobnicate", check=False)
        assert r.returncode == 2 and "unknown operation" in r.stderr
    finally:
        d.stop()
        sink.stop()


def t_cat_and_history():
    wd, sink, d = setup("svcq-cat")
    try:
        send(d.port, "alice@example.org", ["bob@example.net"], body("catme"))
        qid = queued(d, 1)[0]["id"]
        out = d.cli("queue", "cat", qid).stdout
        assert "*** ENVELOPE RECORDS %s ***" % qid in out and "sender: <alice@example.org>" in out, out
        assert "recipient: <bob@example.net> state=deferred" in out and "content_type: rfc5322" in out, out
        assert "Subject: catme" in out and "the body of catme" in out and "*** END OF MESSAGE" in out, out
        raw = subprocess.run([MIXGATE, "queue", "-s", d.control(), "cat", qid, "--raw"], capture_output=True,
                             timeout=30 * SLOW).stdout
        assert raw.endswith(body("catme")), raw[-200:]
        assert b"ENVELOPE" not in raw
        r = d.cli("queue", "cat", qid, qid, check=False)
        assert r.returncode != 0
        assert d.cli("queue", "cat", "0000000000000Z", check=False).returncode == 1
        h = d.cli("queue", "history", qid).stdout
        assert qid + " queued" in h and "<bob@example.net> deferred attempts=" in h, h
        d.cli("queue", "delete", qid)
        h = d.cli("queue", "history", qid).stdout
        assert re.search(r"^%s deleted .*from=<alice@example.org> rcpts=1" % qid, h, re.M), h
        assert qid in d.cli("queue", "history").stdout
        assert d.cli("queue", "history", "0000000000000Z", check=False).returncode == 1
    finally:
        d.stop()
        sink.stop()


def t_bulk_operations():
    wd, sink, d = setup("svcq-bulk")
    try:
        for i in range(3):
            send(d.port, "s%d@example.org" % i, ["r%d@example.net" % i], body("bulk%d" % i))
        ids = sorted(m["id"] for m in queued(d, 3))
        r = d.cli("queue", "hold", ids[0], ids[1], "--reason", "legal", "asked", "to", "wait")
        assert "-- 2 messages held" in r.stdout, r.stdout
        j = {m["id"]: m for m in json.loads(d.cli("queue", "list", "--json").stdout)}
        assert j[ids[0]]["held"] and j[ids[0]]["hold_reason"] == "legal asked to wait", j[ids[0]]
        assert not j[ids[2]]["held"]
        assert "event=admin_hold qid=%s reason=\"legal asked to wait\"" % ids[1] in d.log_text()
        assert "(held: legal asked to wait)" in d.cli("queue", "list").stdout
        # errors: a word that is not an id, ids and --all together, filters without --all, nothing
        for bad in ([ids[2], "because"], [ids[2], "--all"], ["--held"], [], ["--all", "--bogus"]):
            r = d.cli("queue", "release", *bad, check=False)
            assert r.returncode != 0 and r.stderr, (bad, r.stdout)
        # an unknown id among good ones: the others are done, the exit says one failed
        r = d.cli("queue", "retry", ids[2], "0000000000000Z", check=False)
        assert r.returncode == 1 and "0000000000000Z: no such message" in r.stdout and "%s: due now" % ids[2] in r.stdout, r.stdout
        r = d.cli("queue", "release", "--all", "--held")
        assert "-- 2 messages released" in r.stdout, r.stdout
        assert not any(m["held"] for m in json.loads(d.cli("queue", "list", "--json").stdout))
        r = d.cli("queue", "hold", "--all", "--from", "s2@*")
        assert "-- 1 message held" in r.stdout and ids[2] in r.stdout, r.stdout
        r = d.cli("queue", "delete", "--all")
        assert "-- 3 messages deleted" in r.stdout, r.stdout
        assert json.loads(d.cli("queue", "list", "--json").stdout) == []
    finally:
        d.stop()
        sink.stop()


def t_peers_and_peer_steering():
    wd, sink, d = setup("svcq-peers")
    try:
        send(d.port, "a@example.org", ["b@example.net"], body("p1"))
        send(d.port, "a@example.org", ["c@example.net"], body("p2"))
        queued(d, 2)
        out = d.cli("peers").stdout
        line = next(l for l in out.splitlines() if l.startswith("smarthost"))
        f = line.split()
        assert f[1] == "smtp" and f[3] == "0" and f[4] == "2" and f[5] == "2", line
        assert "451" in line, line
        p = json.loads(d.cli("peers", "--json").stdout)
        assert p[0]["name"] == "smarthost" and p[0]["queued"] == 2 and p[0]["deferred"] == 2, p
        assert p[0]["next_attempt"] != "-" and p[0]["last_error_at"] != "-", p
        assert d.cli("peers", "extra", check=False).returncode == 2
        r = d.cli("peer", "hold", "smarthost", "--reason", "maintenance", "window")
        assert "-- 2 messages held" in r.stdout, r.stdout
        assert 'event=admin_peer_hold peer=smarthost reason="maintenance window"' in d.log_text()
        assert d.cli("peer", "hold", "smarthost", "--because", "x", check=False).returncode == 2
        assert all(m["hold_reason"] == "peer smarthost held by operator"
                   for m in json.loads(d.cli("queue", "list", "--json").stdout))
        # held in the scheduler too: a message arriving now is not handed to the peer
        send(d.port, "a@example.org", ["e@example.net"], body("p3"))
        wait_for(lambda: re.search(r"event=deferred qid=\w+ to=<e@example.net> .*peer smarthost held by operator: "
                                   r"maintenance window", d.log_text()), 30, "the new message deferred by the peer hold")
        p = json.loads(d.cli("peers", "--json").stdout)
        assert p[0]["held"] is True and p[0]["hold_reason"] == "maintenance window", p
        line = next(l for l in d.cli("peers").stdout.splitlines() if l.startswith("smarthost"))
        assert line.split()[6] == "yes", line
        # the peer's hold survives a restart: kept in the queue, in force before anything is sent
        d.stop()
        d.start()
        since = d.log_text()[d.log_text().rfind("---- start 2"):]
        assert re.search(r"event=peer_held peer=smarthost reason=\"maintenance window\" since=\d+ source=queue",
                         since), since
        send(d.port, "a@example.org", ["f@example.net"], body("p4"))
        wait_for(lambda: re.search(r"event=deferred qid=\w+ to=<f@example.net> .*peer smarthost held by operator: "
                                   r"maintenance window", d.log_text()), 30,
                 "a message after the restart deferred by the peer hold")
        assert json.loads(d.cli("peers", "--json").stdout)[0]["held"], "held after the restart"
        r = d.cli("peer", "release", "smarthost")
        assert "-- 2 messages released" in r.stdout, r.stdout
        p = json.loads(d.cli("peers", "--json").stdout)
        assert p[0]["held"] is False and p[0]["hold_reason"] == "", p
        assert "event=peer_released peer=smarthost" in d.log_text()
        assert d.cli("peer", "hold", "nosuchpeer", check=False).returncode == 1
        assert d.cli("peer", "pause", "smarthost", check=False).returncode == 2
        # flush: the next hop now accepts; both go at once although retry_min is an hour
        sink.stop()
        sink2 = Sink(wd, "sink2", port=sink.port).start()
        r = d.cli("peer", "flush", "smarthost")
        assert "-- 4 messages made due" in r.stdout, r.stdout
        wait_for(lambda: sink2.count() == 4, 60, "the four messages after the flush")
        sink2.stop()
    finally:
        d.stop()
        sink.stop()


def t_peer_hold_outlives_its_peer():
    """A held peer the configuration no longer names (renamed, reloaded): `peers` still lists
    its hold, `peer release` still takes it, and a peer never held and not configured is not
    found."""
    wd = Workdir("svcq-peer-gone")
    sink = Sink(wd, args=["--tempfail-data", "1000"]).start()
    conf = wd.sub("relay.conf")
    text = open(RELAY).read()
    open(conf, "w").write(text)
    d = Daemon(wd, conf, env={"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "MIXGATE_RETRY_MIN": "3600"}).start()
    try:
        r = d.cli("peer", "hold", "smarthost", "--reason", "old", "hub")
        assert r.returncode == 0, r.stdout + r.stderr
        open(conf, "w").write(text.replace('"smarthost"', '"newhub"'))
        d.hup()
        wait_for(lambda: "event=reloaded" in d.log_text(), 30, "the reload")
        p = {x["name"]: x for x in json.loads(d.cli("peers", "--json").stdout)}
        assert p["smarthost"]["held"] is True and p["smarthost"]["hold_reason"] == "old hub", p
        assert p["smarthost"]["type"] == "-" and p["newhub"]["held"] is False, p
        line = next(l for l in d.cli("peers").stdout.splitlines() if l.startswith("smarthost"))
        assert "(unconfigured)" in line and line.split()[6] == "yes", line
        assert d.cli("peer", "hold", "smarthost", check=False).returncode == 1   # not configured
        r = d.cli("peer", "release", "smarthost")
        assert r.returncode == 0 and "event=peer_released peer=smarthost" in d.log_text(), r.stdout
        assert "smarthost" not in [x["name"] for x in json.loads(d.cli("peers", "--json").stdout)]
        assert d.cli("peer", "release", "smarthost", check=False).returncode == 1   # gone now
    finally:
        d.stop()
        sink.stop()


def t_config_option_before_command():
    wd, sink, d = setup("svcq-dash-c")
    try:
        r = subprocess.run([MIXGATE, "-c", RELAY, "status"], capture_output=True, text=True, env=d.env,
                           timeout=30 * SLOW)
        assert r.returncode == 0 and "mixgated: running" in r.stdout, (r.returncode, r.stdout, r.stderr)
        r = subprocess.run([MIXGATE, "-c", RELAY, "queue", "list"], capture_output=True, text=True, env=d.env,
                           timeout=30 * SLOW)
        assert r.returncode == 0 and "-- 0 messages" in r.stdout, (r.stdout, r.stderr)
        r = subprocess.run([MIXGATE, "-c", RELAY], capture_output=True, text=True, env=d.env, timeout=30)
        assert r.returncode == 2
    finally:
        d.stop()
        sink.stop()


run([("list_filters_json", t_list_filters_json),
     ("cat_and_history", t_cat_and_history),
     ("bulk_operations", t_bulk_operations),
     ("peers_and_peer_steering", t_peers_and_peer_steering),
     ("peer_hold_outlives_its_peer", t_peer_hold_outlives_its_peer),
     ("config_option_before_command", t_config_option_before_command)])
