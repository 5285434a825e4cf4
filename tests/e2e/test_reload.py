#!/usr/bin/python3
"""End to end: SIGHUP reloads routes and peers without dropping sessions; a broken config on
reload is refused and the running one kept."""
import os, smtplib, time
from harness import *

RELAY = os.path.join(SRC, "etc/examples/smtp-relay.conf")


def conf_for(wd, port):
    return write(wd.sub("relay.conf"), open(RELAY).read().replace(
        'host = "${MIXGATE_RELAY:-127.0.0.1:2626}";', 'host = "127.0.0.1:%d";' % port))


def t_sighup_switches_peer_keeps_session():
    wd = Workdir("reload-peer")
    a = Sink(wd, "sinkA").start()
    b = Sink(wd, "sinkB").start()
    conf = conf_for(wd, a.port)
    d = Daemon(wd, conf).start()
    try:
        send(d.port, "s@example.org", ["x@example.net"], b"Subject: one\r\n\r\nbefore reload\r\n")
        wait_for(lambda: a.count() == 1, 30, "the first message at sink A")
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=30 * SLOW)
        s.ehlo("held-open.test")
        conf_for(wd, b.port)
        d.hup()
        wait_for(lambda: "event=reloaded" in d.log_text(), 20, "the reload")
        s.sendmail("s@example.org", ["y@example.net"], b"Subject: two\r\n\r\nsession opened before the reload\r\n")
        s.quit()
        wait_for(lambda: b.count() == 1, 30, "the second message at sink B")
        assert a.count() == 1
        # a broken file is refused, the running configuration stays
        write(conf, open(conf).read() + "\nroutes_typo = 1;\n")
        d.hup()
        wait_for(lambda: "event=reload_failed" in d.log_text(), 20, "the refused reload")
        assert "relay.conf:" in d.log_text()
        send(d.port, "s@example.org", ["z@example.net"], b"Subject: three\r\n\r\nstill running\r\n")
        wait_for(lambda: b.count() == 2, 30, "the third message at sink B")
    finally:
        d.stop()
        a.stop()
        b.stop()


run([("sighup_switches_peer_keeps_session", t_sighup_switches_peer_keeps_session)])
