#!/usr/bin/python3
"""End to end: limits and abuse. Listeners on port 0 report the port the kernel gave them
(two daemons at once never collide); a body line longer than max_line_length is folded and the
message delivered, not refused (docs/smtp.md); lines up to max_line_length arrive unchanged."""
import os, re
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


run([("port_zero_listeners", t_port_zero_listeners), ("long_body_lines_folded", t_long_body_lines_folded)])
