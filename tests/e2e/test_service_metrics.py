#!/usr/bin/python3
"""End to end: the Prometheus endpoint (global.metrics_listen, port 0 here so the kernel picks
one and event=listening says which). Scraped with curl, checked with `promtool check
metrics`, and the numbers follow what happens: a received message, a deferred delivery, the
queue gauges, the destination's state, a peer held by the operator. Off by default: no metrics listener without the key."""
import json, os, re, shutil, subprocess, time
from harness import *

RELAY = os.path.join(SRC, "etc/examples/smtp-relay.conf")


def metrics_conf(wd):
    return write(wd.sub("metrics.conf"), open(RELAY).read().replace(
        'log = "stderr";', 'log = "stderr";\n  metrics_listen = "127.0.0.1:0";'))


def metrics_port(d):
    m = wait_for(lambda: re.search(r"event=listening listener=metrics protocol=http listen=\S+ port=(\d+)", d.log_text()),
                 20, "the metrics listener")
    return int(m.group(1))


def scrape(port, path="/metrics", extra=()):
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", str(int(20 * SLOW))] + list(extra) +
                       ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    return head, body


def value(body, name, **labels):
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


def promtool(body):
    if not shutil.which("promtool"):
        raise AssertionError("promtool is missing: scripts/install-deps.sh --test installs Debian's prometheus")
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr)


def t_scrape_follows_the_queue():
    wd = Workdir("svc-metrics")
    sink = Sink(wd, args=["--tempfail-data", "1000"]).start()
    d = Daemon(wd, metrics_conf(wd), env={"MIXGATE_RELAY": "127.0.0.1:%d" % sink.port, "MIXGATE_RETRY_MIN": "3600"}).start()
    try:
        port = metrics_port(d)
        head, body = scrape(port)
        assert head.startswith("HTTP/1.1 200") and "text/plain; version=0.0.4" in head, head
        promtool(body)
        assert value(body, "mixgate_messages_received_total", listener="smtp") == 0, body
        assert value(body, "mixgate_start_time_seconds") > 0
        send(d.port, "a@example.org", ["b@example.net"], b"Subject: m\r\n\r\nmetrics\r\n")
        wait_for(lambda: value(scrape(port)[1], "mixgate_recipients_deferred_total") == 1, 60, "a deferral in the metrics")
        body = scrape(port)[1]
        promtool(body)
        assert value(body, "mixgate_messages_received_total", listener="smtp") == 1, body
        assert value(body, "mixgate_sessions_total", listener="smtp") >= 1
        assert value(body, "mixgate_queue_messages", state="waiting") == 1, body
        assert value(body, "mixgate_recipients_delivered_total") == 0
        assert value(body, "mixgate_destination_throttled", channel="smtp-out", peer="smarthost") is not None, body
        assert value(body, "mixgate_store_commits_total") >= 1
        # by channel and peer: the deferral, then (the next hop now accepts) the delivery and
        # its latency
        assert value(body, "mixgate_recipients_total", channel="smtp-out", peer="smarthost",
                     outcome="deferred") == 1, body
        sink.stop()
        sink = Sink(wd, "sink2", port=sink.port).start()
        d.cli("queue", "flush")
        wait_for(lambda: value(scrape(port)[1], "mixgate_recipients_total", channel="smtp-out",
                               peer="smarthost", outcome="delivered") == 1, 60, "the delivery in the metrics")
        body = scrape(port)[1]
        promtool(body)
        assert value(body, "mixgate_delivery_latency_seconds_count", channel="smtp-out") == 1, body
        # HEAD has the headers only; other paths and methods are refused; junk is a 400
        # a peer held by the operator: one series naming it, with since when; gone on release
        assert value(body, "mixgate_peer_held_since_seconds") is None, body
        t0 = int(time.time())
        d.cli("peer", "hold", "smarthost", "--reason", "maintenance")
        body = scrape(port)[1]
        promtool(body)
        since = value(body, "mixgate_peer_held_since_seconds", peer="smarthost")
        assert since is not None and t0 - 1 <= since <= time.time() + 1, body
        d.cli("peer", "release", "smarthost")
        assert value(scrape(port)[1], "mixgate_peer_held_since_seconds") is None
        head, body = scrape(port, extra=["-I"])
        assert head.startswith("HTTP/1.1 200") and body == "", (head, body)
        assert scrape(port, "/")[0].startswith("HTTP/1.1 404")
        assert scrape(port, extra=["-X", "POST"])[0].startswith("HTTP/1.1 405")
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        s.sendall(b"\x16\x03\x01 not http\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
        s.close()
    finally:
        d.stop()
        sink.stop()


def t_off_by_default():
    wd = Workdir("svc-metrics-off")
    d = Daemon(wd, os.path.join(SRC, "etc/mixgate.conf")).start()
    try:
        assert "listener=metrics" not in d.log_text()
    finally:
        d.stop()
    text = open(RELAY).read().replace('log = "stderr";', 'log = "stderr";\n  metrics_listen = "localhost";')
    line = text.split("\n").index('  metrics_listen = "localhost";') + 1
    r = subprocess.run([MIXGATE, "check-config", "-c", write(wd.sub("bad.conf"), text)], capture_output=True,
                       text=True, env=d.env, timeout=30)
    assert r.returncode != 0 and "bad.conf:%d:" % line in r.stdout + r.stderr and "metrics_listen" in r.stdout + r.stderr, r.stdout + r.stderr


import socket
run([("scrape_follows_the_queue", t_scrape_follows_the_queue), ("off_by_default", t_off_by_default)])
