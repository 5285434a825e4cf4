#!/usr/bin/python3
"""End to end (e2e.mixer_p1_envelope): SMTP -> mixgate A (etc/examples/mixer.conf by its variables:
mixer-to-x400, then the p1 channel) -> P1 -> mixgate B
(etc/mixgate.conf: P1 in, file delivery). A gives the converted message an X.411 envelope of
its own (RFC 2156 appendix A: the SMTP DSN parameters as report requests, the ENVID as the
content correlator, the priority from MT-PRIORITY), which A's P1 channel relays: B must take
it, find its recipient responsible, and record A's MTS identifier and the priority (MT-PRIORITY 4 = flash: X.400 urgent with
the STANAG 4406 qualifier low, read back as 4). A recipient that another X.400 gateway serves
(table 3, etc/mixer/gate1) is encapsulated in that gateway's O/R address. NOTIFY=SUCCESS
became the originator-report request: B, delivering, sends the X.400 delivery report for each
recipient (its default configuration delivers those to files too)."""
import os, re, smtplib
from harness import *

MIXER = os.path.join(SRC, "etc/examples/mixer.conf")
DEFAULT = os.path.join(SRC, "etc/mixgate.conf")


def delivered(var):
    d = os.path.join(var, "deliver")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".txt"))


def t_smtp_to_p1_with_envelope():
    wd = Workdir("mixer-p1")
    pb = free_port()
    b = Daemon(wd, DEFAULT, var=wd.sub("vb"),
               env={"MIXGATE_MTA_NAME": "MTA-B", "MIXGATE_PEER_MTA": "MTA-A",
                    "MIXGATE_P1_LISTEN": "127.0.0.1:%d" % pb, "MIXGATE_X400_DOMAIN": "/C=GB/ADMD= /PRMD=B/"})
    b.log = wd.sub("b.log")
    # A is the example as shipped, its peer set to B by the variables; the domain another
    # X.400 gateway serves (etc/mixer/gate1: alter.example) has its route there
    a = Daemon(wd, MIXER, var=wd.sub("va"),
               env={"MIXGATE_P1_RELAY": "127.0.0.1:%d" % pb, "MIXGATE_RETRY_MIN": "1",
                    "MIXGATE_PEER_MTA": "MTA-B", "MIXGATE_MTA_NAME": "MTA-A",
                    "MIXGATE_RELAY": "127.0.0.1:%d" % free_port(),
                    "MIXGATE_MIXER_TABLES": os.path.join(SRC, "etc/mixer"), "MIXGATE_X400_CONTENT": "p772"})
    a.log = wd.sub("a.log")
    b.start()
    wait_port(pb, proc=b.proc)
    a.start()
    try:
        msg = (b"From: Ops <ops@example.org>\r\nTo: Bob.Jones@camelot.example\r\n"
               b"Subject: relay with parameters\r\nMessage-ID: <p1env@example.org>\r\n\r\nGo.\r\n")
        # both recipients in one message: the two routes make two transfers to B, each naming
        # both recipients with the responsibility indicator set for its own one only (X.411
        # 12.2.1.1); B must take each recipient once
        with smtplib.SMTP("127.0.0.1", a.port, timeout=30 * SLOW) as s:
            s.ehlo("client.test")
            s.sendmail("ops@example.org", ["Bob.Jones@camelot.example", "postmaster@uk.alter.example"], msg,
                       mail_options=["MT-PRIORITY=4", "ENVID=env-42", "RET=HDRS"],
                       rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;Ann.Desk@camelot.example"])
        files = wait_for(lambda: delivered(b.var) if len(delivered(b.var)) == 4 else None, 60,
                         "two deliveries and their two delivery reports at B")
        every = [open(f).read() for f in files]
        summaries = [s for s in every if "Content-Type: report" not in s]
        reports = [s for s in every if "Content-Type: report" in s]
        assert len(summaries) == 2 and len(reports) == 2, every
        for s in reports:
            # to the originator (its O/R address at A), about A's message
            assert "Recipient: /C=GB/ADMD= /PRMD=Example/O=Example/S=ops/" in s, s
        rcpts = sorted(re.search(r"^Recipient: (.*)$", s, re.M).group(1) for s in summaries)
        assert rcpts == ["/C=GB/ADMD= /PRMD=Camelot/S=Jones/G=Bob/",
                         "/C=GB/ADMD=BTglobal/PRMD=relay/DD.RFC-822=postmaster(a)uk.alter.example/"], rcpts
        for s in summaries:
            # A's envelope: its MTS identifier (A's domain and queue id), flash precedence
            assert re.search(r"^MTS-Identifier: \[/C=GB/ADMD= /PRMD=Example/;[0-9A-Z]{14}\]$", s, re.M), s
            assert "\nPriority: 4\n" in s, s
            assert "Received-Protocol: P1" in s, s
        la = a.log_text()
        transfers = la.count("transferred to peer-mta (MTA-B)")
        assert transfers in (1, 2), a.tail()
        # every transfer B confirmed was queued before the confirmation: its received lines
        # name each recipient once in all
        wait_for(lambda: len(re.findall(r"event=received .*proto=P1", b.log_text())) == transfers, 30,
                 "B's received lines")
        taken = [int(n) for n in re.findall(r"event=received .*rcpts=(\d+) .*proto=P1", b.log_text())]
        assert sum(taken) == 2, (taken, b.tail())
        if transfers == 2:
            assert b.log_text().count("event=p1_not_responsible") == 2, b.tail()
    finally:
        a.stop(expect_rc=None)
        b.stop(expect_rc=None)


run([("smtp_to_p1_with_envelope", t_smtp_to_p1_with_envelope)])
