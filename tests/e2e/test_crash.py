#!/usr/bin/python3
"""End to end: crash safety. The next hop is down; 500 messages are sent; mixgated is killed
with SIGKILL (after the load, then in the middle of it); it is restarted and the next hop comes
up: every message that got a 250 arrives, byte for byte, exactly once, and nothing else does."""
import os, re, smtplib, threading, time
from harness import *

RELAY = os.path.join(SRC, "etc/examples/smtp-relay.conf")
N = int(os.environ.get("MIXGATE_CRASH_MESSAGES", "500"))
CONNS = 10


def content(i):
    head = b"From: load@example.org\r\nTo: sink@example.net\r\nSubject: crash %d\r\nMessage-ID: <crash-%d@test>\r\n\r\n" % (i, i)
    line = (b"payload %06d " % i) * 5 + b"\r\n"          # 76 octets a line
    return head + line * (5 + i % 60)


def load(port, acked, errors, stop_at=None):
    """CONNS clients, each sending its share over one connection; acked gets each 250'd index."""
    def worker(k):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60 * SLOW)
            s.ehlo("load.test")
            for i in range(k, N, CONNS):
                s.sendmail("load@example.org", ["sink@example.net"], content(i))
                acked.add(i)
            s.quit()
        except Exception as e:  # the daemon was killed under us: expected in that test
            errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(CONNS)]
    for t in ts:
        t.start()
    return ts


def verify(sink, acked):
    got = {}
    for meta, c in sink.messages():
        m = re.search(rb"Subject: crash (\d+)", c)
        assert m, c[:200]
        i = int(m.group(1))
        assert i not in got, "message %d delivered twice" % i
        assert c.endswith(content(i)), "message %d changed" % i
        got[i] = True
    missing = sorted(set(acked) - set(got))
    assert not missing, "%d acknowledged messages lost, e.g. %s" % (len(missing), missing[:10])
    extra = sorted(set(got) - set(range(N)))
    assert not extra, extra
    return len(got)


def scenario(name, kill_during_load):
    wd = Workdir(name)
    sink_port = free_port()
    d = Daemon(wd, RELAY, env={"MIXGATE_RELAY": "127.0.0.1:%d" % sink_port, "MIXGATE_RETRY_MIN": "1"}).start()
    acked, errors = set(), []
    ts = load(d.port, acked, errors)
    if kill_during_load:
        wait_for(lambda: len(acked) >= N // 3, 120, "a third of the load to be accepted")
        d.kill9()
    for t in ts:
        t.join()
    if not kill_during_load:
        assert len(acked) == N, "only %d of %d accepted: %s" % (len(acked), N, errors[:3])
        d.kill9()
    else:
        assert errors, "the kill should have interrupted some clients"
    sink = Sink(wd, port=sink_port).start()
    try:
        d.start()
        d.cli("queue", "flush")
        wait_for(lambda: sink.count() >= len(acked), 180, "%d messages at the next hop" % len(acked))
        wait_for(lambda: "messages=0 " in d.cli("status").stdout, 60, "an empty queue")
        n = verify(sink, acked)
        print("  %s: %d acknowledged, %d delivered" % (name, len(acked), n))
    finally:
        d.stop()
        sink.stop()


run([("kill9_after_load", lambda: scenario("crash-after", False)),
     ("kill9_during_load", lambda: scenario("crash-during", True))])
