#!/usr/bin/python3
"""End to end: RFC 6710 MT-PRIORITY on the SMTP listener. EHLO offers it with the STANAG4406
policy; from a trusted client (inside relay_networks) the value becomes the queue priority
(deferred -4 .. override 6 -> 0..5); from anyone else it is ignored and logged. The relay
points at a port nothing listens on, so the message stays queued for `mixgate queue show`."""
import os, re, smtplib
from harness import *

CONF = os.path.join(SRC, "etc/examples/smtp-relay.conf")


def queued_priority(d):
    ids = wait_for(lambda: re.findall(r"^([0-9A-Z]{14})\b", d.cli("queue", "list").stdout, re.M) or None,
                   30, "a queued message")
    show = d.cli("queue", "show", ids[0]).stdout
    m = re.search(r"^priority: (\d+)$", show, re.M)
    assert m, show
    return int(m.group(1))


def mail(port, value):
    with smtplib.SMTP("127.0.0.1", port, timeout=30 * SLOW) as s:
        code, text = s.ehlo("client.test")
        assert code == 250 and b"MT-PRIORITY STANAG4406" in text, text
        s.sendmail("a@example.org", ["b@example.net"], "Subject: p\r\n\r\nbody\r\n",
                   mail_options=["MT-PRIORITY=%d" % value])


def case(name, conf_text, value, want, ignored):
    wd = Workdir("mt-priority-" + name)
    conf = write(wd.sub("relay.conf"), conf_text)
    d = Daemon(wd, conf, env={"MIXGATE_RELAY": "127.0.0.1:%d" % free_port()}).start()
    try:
        mail(d.port, value)
        assert queued_priority(d) == want
        assert ("event=mt_priority_ignored" in d.log_text()) == ignored, d.tail()
    finally:
        d.stop()


def t_trusted_flash():
    case("trusted-flash", open(CONF).read(), 4, 4, False)


def t_trusted_deferred():
    case("trusted-deferred", open(CONF).read(), -4, 0, False)


def t_trusted_between_levels():
    # 5 lies between flash (4) and override (6): the lower level
    case("trusted-between", open(CONF).read(), 5, 4, False)


def t_untrusted_ignored():
    text = open(CONF).read().replace('relay_networks = [ "127.0.0.0/8" ];',
                                     'relay_networks = [ "192.0.2.0/24" ];\n    relay_domains = [ "example.net" ];')
    assert "192.0.2.0/24" in text
    case("untrusted", text, 6, 1, True)


run([("trusted_flash", t_trusted_flash),
     ("trusted_deferred", t_trusted_deferred),
     ("trusted_between_levels", t_trusted_between_levels),
     ("untrusted_ignored", t_untrusted_ignored)])
