#!/usr/bin/python3
"""End to end: limits and abuse. Listeners on port 0 report the port the kernel gave them
(two daemons at once never collide); a body line longer than max_line_length is folded and the
message delivered, not refused (docs/smtp.md); lines up to max_line_length arrive unchanged."""
import os, re, smtplib, socket, time
from harness import *

CONF = os.path.join(SRC, "etc/mixgate.conf")


def t_port_zero_listeners():
    wd = Workdir("svclim-port0")
    a = Daemon(wd, CONF, var=wd.sub("var-a"))
    b = Daemon(wd, CONF, var=wd.sub("var-b"))
    assert a.env["MIXGATE_SMTP_LISTEN"] == "127.0.0.1:0"
    a.start()
    b.start()
    try:
        assert a.port and b.port and a.port != b.port, (a.port, b.port)
        assert re.search(r"event=listening listener=smtp protocol=smtp listen=127.0.0.1:0 port=%d " % a.port, a.log_text())
        for d in (a, b):
            send(d.port, "s@example.org", ["r@example.org"], b"Subject: p0\r\n\r\nport zero\r\n")
            wait_for(lambda: os.path.isdir(os.path.join(d.var, "deliver")) and os.listdir(os.path.join(d.var, "deliver")),
                     30, "the delivery")
    finally:
        a.stop()
        b.stop()


def delivered(d):
    dd = os.path.join(d.var, "deliver")
    files = [os.path.join(dd, f) for f in os.listdir(dd)] if os.path.isdir(dd) else []
    return [open(f, "rb").read() for f in files if os.path.isfile(f)]


def t_long_body_lines_folded():
    wd = Workdir("svclim-long")
    conf = write(wd.sub("long.conf"), open(CONF).read().replace(
        "max_sessions_per_client = 50;", "max_sessions_per_client = 50;\n    max_line_length = 1000;"))
    d = Daemon(wd, conf).start()
    try:
        ok = b"k" * 1000            # at the limit: unchanged
        long = b"L" * 2500          # over it: folded into 1000 + 1000 + 500
        send(d.port, "s@example.org", ["r@example.org"], b"Subject: long\r\n\r\n" + ok + b"\r\n" + long + b"\r\nend\r\n")
        got = wait_for(lambda: delivered(d), 30, "the delivery")[0]
        assert b"\r\n" + ok + b"\r\n" in got, got[-3000:]
        assert b"\r\n" + b"L" * 1000 + b"\r\n" + b"L" * 1000 + b"\r\n" + b"L" * 500 + b"\r\nend\r\n" in got, got[-3000:]
        assert "event=smtp_long_lines_folded" in d.log_text() and "lines=2 max_line_length=1000" in d.log_text()
    finally:
        d.stop()


def limits_conf(wd, extra):
    return write(wd.sub("limits.conf"), open(CONF).read().replace(
        "max_sessions_per_client = 50;", "max_sessions_per_client = 50;\n" + extra))


def read_reply(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while not data.endswith(b"\r\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data.decode("ascii", "replace")


def t_idle_flood_does_not_lock_out():
    """200 idle connections from four addresses against max_sessions = 100: a fifth address
    still gets a session and delivers; the idle ones are dropped by the first-command
    timeout, long before command_timeout."""
    wd = Workdir("svclim-flood")
    conf = limits_conf(wd, "    max_sessions = 100;\n    first_command_timeout = 3;\n    command_timeout = 300;")
    d = Daemon(wd, conf).start()
    socks = []
    try:
        for i in range(200):
            src = "127.0.0.%d" % (2 + i % 4)
            socks.append(socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW, source_address=(src, 0)))
        # the server is full of idle sessions: a newcomer still gets in and delivers
        t0 = time.time()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30 * SLOW, source_address=("127.0.0.9", 0)) as c:
            c.ehlo("legit.test")
            c.sendmail("legit@example.org", ["r@example.org"], b"Subject: through\r\n\r\nthrough the flood\r\n")
        wait_for(lambda: os.path.isdir(os.path.join(d.var, "deliver")) and os.listdir(os.path.join(d.var, "deliver")),
                 30, "the legitimate client's delivery")
        log = d.log_text()
        assert "event=smtp_evict" in log, "no idle session was evicted to make room"
        assert log.count("event=smtp_connect") >= 201
        # an idle session that got its greeting is closed by the first-command timeout
        greeted = []
        for s in socks:
            r = read_reply(s, 0.2)
            if r.startswith("220") and r.count("\r\n") == 1:   # greeted, not evicted since
                greeted.append(s)
        assert greeted, "no idle session got a greeting"
        r = read_reply(greeted[-1], 30 * SLOW)
        assert r.startswith("421 4.4.2"), r
        assert time.time() - t0 < 60 * SLOW, "the idle session lived too long: %.0fs" % (time.time() - t0)
    finally:
        for s in socks:
            s.close()
        d.stop()


def t_connection_rate_per_client():
    wd = Workdir("svclim-rate")
    d = Daemon(wd, limits_conf(wd, "    max_connection_rate = 5;")).start()
    try:
        def greet(src):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW, source_address=(src, 0))
            r = read_reply(s, 10 * SLOW)
            s.close()
            return r
        for i in range(5):
            assert greet("127.0.0.6").startswith("220"), i
        r = greet("127.0.0.6")
        assert r.startswith("421 4.7.0") and "per minute" in r, r
        assert greet("127.0.0.7").startswith("220"), "another address was limited too"
    finally:
        d.stop()


run([("port_zero_listeners", t_port_zero_listeners), ("long_body_lines_folded", t_long_body_lines_folded),
     ("idle_flood_does_not_lock_out", t_idle_flood_does_not_lock_out),
     ("connection_rate_per_client", t_connection_rate_per_client)])
