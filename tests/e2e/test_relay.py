#!/usr/bin/python3
"""End to end: etc/examples/smtp-relay.conf relaying to a real next hop (aiosmtpd sink and
Postfix smtp-sink): byte-for-byte relay, pipelining, DSN parameters passed on, 4xx retried,
5xx returned to the sender as an RFC 3464 DSN, size and recipient limits, STARTTLS both ways."""
import email, email.policy, os, re, subprocess, time
from harness import *

RELAY = os.path.join(SRC, "etc/examples/smtp-relay.conf")


def relay(wd, sink_port, extra_env=None, conf=RELAY):
    env = {"MIXGATE_RELAY": "127.0.0.1:%d" % sink_port, "MIXGATE_RETRY_MIN": "1"}
    env.update(extra_env or {})
    return Daemon(wd, conf, env=env)


def body(i, size=600):
    line = ("message %d " % i).encode() * 8
    out = b"From: sender@example.org\r\nTo: rcpt@example.net\r\nSubject: test %d\r\nMessage-ID: <%d@test>\r\n\r\n" % (i, i)
    while len(out) < size:
        out += line[:70] + b"\r\n"
    return out + b".starts with a dot\r\nend\r\n"


def t_byte_for_byte_with_pipelining():
    wd = Workdir("relay-bytes")
    sink = Sink(wd).start()
    d = relay(wd, sink.port).start()
    try:
        sent = {}
        for i in range(5):
            b = body(i, 300 + i * 1000)
            sent[i] = b
            send(d.port, "sender@example.org", ["r%d@example.net" % i, "x%d@example.com" % i], b)
        wait_for(lambda: sink.count() == 5, 30, "5 messages at the sink")
        for meta, content in sink.messages():
            i = int(re.search(rb"Subject: test (\d+)", content).group(1))
            assert content.startswith(b"Received: "), content[:60]
            assert content.endswith(sent[i]), "message %d changed in transit" % i
            assert sorted(meta["rcpt_tos"]) == sorted(["r%d@example.net" % i, "x%d@example.com" % i])
            assert meta["mail_from"] == "sender@example.org"
        # swaks with pipelining
        swaks(d.port, "--pipeline", "--from", "p@example.org", "--to", "q@example.net")
        wait_for(lambda: sink.count() == 6, 30, "the pipelined message")
    finally:
        d.stop()
        sink.stop()


def t_dsn_parameters_passed_on():
    """A next hop that offers DSN (Postfix smtp-sink) gets RET, ENVID, NOTIFY and ORCPT, and
    reports success itself: we send no report."""
    wd = Workdir("relay-dsnparams")
    dump = wd.sub("dump")
    os.makedirs(dump)
    sink_port = free_port()
    sink = track(subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", dump + "/%H%M%S.", "127.0.0.1:%d" % sink_port, "10"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(sink_port)
    d = relay(wd, sink_port).start()
    try:
        # (swaks 20201014 has no DSN options: smtplib sends the parameters)
        send(d.port, "s@example.org", ["t@example.net"], b"Subject: dsn\r\n\r\nx\r\n",
             mail_options=["RET=HDRS", "ENVID=env-42"],
             rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;t@example.net"])
        files = wait_for(lambda: os.listdir(dump) or None, 30, "the message at smtp-sink")
        text = open(os.path.join(dump, files[0]), "rb").read().decode()
        mail_args = re.search(r"^X-Mail-Args: (.*)$", text, re.M).group(1)
        rcpt_args = re.search(r"^X-Rcpt-Args: (.*)$", text, re.M).group(1)
        assert "RET=HDRS" in mail_args and "ENVID=env-42" in mail_args, mail_args
        assert "NOTIFY=SUCCESS,FAILURE" in rcpt_args and "ORCPT=rfc822;t@example.net" in rcpt_args, rcpt_args
        wait_for(lambda: "event=removed" in d.log_text(), 20, "the message to leave the queue")
        assert "event=reported" not in d.log_text(), "the next hop reports success, not us"
    finally:
        d.stop()
        sink.terminate()
        sink.wait()


def t_relayed_dsn_when_next_hop_lacks_dsn():
    """RFC 3461 section 4.1: relaying NOTIFY=SUCCESS to a server without DSN: we report 'relayed'."""
    wd = Workdir("relay-relayed")
    sink = Sink(wd).start()
    d = relay(wd, sink.port).start()
    try:
        send(d.port, "s@example.org", ["t@example.net"], b"Subject: relayed\r\n\r\nx\r\n",
             rcpt_options=["NOTIFY=SUCCESS"])
        wait_for(lambda: sink.count() == 2, 30, "the message and the report")
        reports = [c for m, c in sink.messages() if m["mail_from"] in ("", "<>")]
        assert len(reports) == 1
        assert re.search(rb"Action: relayed", reports[0]), reports[0][-800:]
    finally:
        d.stop()
        sink.stop()


def t_tempfail_is_retried_and_flush_works():
    wd = Workdir("relay-retry")
    sink = Sink(wd, args=["--tempfail-data", "1"]).start()
    d = relay(wd, sink.port, {"MIXGATE_RETRY_MIN": "300"}).start()
    try:
        send(d.port, "s@example.org", ["later@example.net"], body(1))
        wait_for(lambda: "deferred" in d.cli("queue", "list").stdout, 30, "a deferred message")
        lst = d.cli("queue", "list", "deferred").stdout
        qid = re.search(r"^([0-9A-Z]{14}) ", lst, re.M).group(1)
        show = d.cli("queue", "show", qid).stdout
        assert "state=deferred" in show and "451" in show, show
        assert sink.count() == 0
        r = d.cli("queue", "flush")
        assert "1 message" in r.stdout, r.stdout
        wait_for(lambda: sink.count() == 1, 30, "delivery after flush")
        wait_for(lambda: d.cli("queue", "show", qid, check=False).returncode == 1, 20, "the message to leave the queue")
        assert "event=deferred" in d.log_text() and "event=delivered" in d.log_text()
    finally:
        d.stop()
        sink.stop()


def t_5xx_returns_a_dsn():
    wd = Workdir("relay-dsn")
    sink = Sink(wd, args=["--reject", "^nobody@"]).start()
    d = relay(wd, sink.port).start()
    try:
        send(d.port, "sender@example.org", ["nobody@example.net", "somebody@example.net"], body(7))
        # the good recipient gets the message, the sender gets a DSN about the bad one
        wait_for(lambda: sink.count() == 2, 30, "message and DSN at the sink")
        msgs = sink.messages()
        dsn = [(m, c) for m, c in msgs if m["mail_from"] in ("", "<>")]
        assert len(dsn) == 1, [m["mail_from"] for m, c in msgs]
        meta, content = dsn[0]
        assert meta["rcpt_tos"] == ["sender@example.org"]
        msg = email.message_from_bytes(content, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/report", msg.get_content_type()
        assert msg.get_param("report-type") == "delivery-status"
        text = content.decode("utf-8", "replace")
        assert re.search(r"Action: failed", text), text
        assert re.search(r"Status: 5\.1\.1", text), text
        assert "Final-Recipient: rfc822;nobody@example.net" in text.replace("; ", ";"), text
        assert "somebody@example.net" not in re.findall(r"Final-Recipient:[^\r\n]*", text)[0]
        # no report about the report: reject the DSN's recipient too and nothing more comes
    finally:
        d.stop()
        sink.stop()


def t_no_report_about_a_report():
    wd = Workdir("relay-nodsn")
    sink = Sink(wd, args=["--reject", "^nobody@"]).start()
    d = relay(wd, sink.port).start()
    try:
        send(d.port, "", ["nobody@example.net"], body(8))
        wait_for(lambda: "event=failed" in d.log_text(), 30, "the failure")
        time.sleep(1.0 * SLOW)
        assert sink.count() == 0, "a bounce of a bounce was sent"
        assert "event=reported" not in d.log_text()
    finally:
        d.stop()
        sink.stop()


def t_limits():
    wd = Workdir("relay-limits")
    sink = Sink(wd).start()
    conf = write(wd.sub("limits.conf"), open(RELAY).read()
                 .replace("max_recipients = 1000;", "max_recipients = 3;\n    max_message_size = 20000;"))
    d = relay(wd, sink.port, conf=conf).start()
    try:
        r = swaks(d.port, "--from", "a@example.org", "--to", "1@x.example,2@x.example,3@x.example,4@x.example",
                  check=False)
        assert "452 4.5.3" in r.stdout + r.stderr, r.stdout
        big = ("x" * 70 + "\n") * 430
        r = swaks(d.port, "--from", "a@example.org", "--to", "1@x.example", "--body", big, check=False)
        assert r.returncode != 0 and "552" in r.stdout + r.stderr, r.stdout[-500:]
        r = subprocess.run(["bash", "-c", "printf 'EHLO x\\r\\nBOGUS\\r\\nMAIL FROM:<<>\\r\\nQUIT\\r\\n' | nc -q 3 127.0.0.1 %d" % d.port],
                           capture_output=True, text=True, timeout=20)
        assert re.search(r"^500 5\.5\.2", r.stdout, re.M), r.stdout          # unknown command
        assert re.search(r"^5[05]\d 5\.\d\.\d", r.stdout.split("Command unrecognized")[1], re.M), r.stdout
        assert d.alive()
    finally:
        d.stop()
        sink.stop()


def t_postfix_smtp_source_to_smtp_sink():
    wd = Workdir("relay-postfix")
    sink_port = free_port()
    sink = track(subprocess.Popen(["/usr/sbin/smtp-sink", "-c", "-u", "root", "127.0.0.1:%d" % sink_port, "100"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    wait_port(sink_port)
    d = relay(wd, sink_port).start()
    try:
        r = subprocess.run(["/usr/sbin/smtp-source", "-s", "5", "-m", "100", "-l", "2000", "-f", "src@example.org",
                            "-t", "dst@example.net", "127.0.0.1:%d" % d.port], capture_output=True, text=True,
                           timeout=120 * SLOW)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: d.cli("status").stdout.count("messages=0 ") == 1 and
                 "delivered=100" in d.cli("status").stdout, 60, "100 deliveries")
    finally:
        d.stop()
        sink.terminate()
        sink.wait()


def t_starttls_both_ways():
    wd = Workdir("relay-tls")
    crt, key = make_cert(wd, "localhost")
    sink = Sink(wd, args=["--tls", crt, key]).start()
    conf = write(wd.sub("tls.conf"), open(RELAY).read()
                 .replace("max_recipients = 1000;", 'max_recipients = 1000;\n    tls = { cert = "%s"; key = "%s"; };' % (crt, key))
                 .replace('starttls = "opportunistic";', 'starttls = "required";\n    verify = true;\n    ca = "%s";' % crt)
                 .replace('host = "${MIXGATE_RELAY:-127.0.0.1:2626}";', 'host = "localhost:%d";' % sink.port))
    d = relay(wd, sink.port, conf=conf).start()
    try:
        r = swaks(d.port, "--tls", "--from", "a@example.org", "--to", "b@example.net")
        assert "STARTTLS" in r.stdout or r.returncode == 0
        wait_for(lambda: sink.count() == 1, 30, "the message over TLS")
        meta, content = sink.messages()[0]
        assert meta["tls"], "the relay did not use STARTTLS to the next hop"
        assert b"ESMTPS" in content.split(b"\r\n\r\n")[0], "Received: should say ESMTPS"
    finally:
        d.stop()
        sink.stop()


run([("byte_for_byte_with_pipelining", t_byte_for_byte_with_pipelining),
     ("dsn_parameters_passed_on", t_dsn_parameters_passed_on),
     ("relayed_dsn_when_next_hop_lacks_dsn", t_relayed_dsn_when_next_hop_lacks_dsn),
     ("tempfail_is_retried_and_flush_works", t_tempfail_is_retried_and_flush_works),
     ("5xx_returns_a_dsn", t_5xx_returns_a_dsn),
     ("no_report_about_a_report", t_no_report_about_a_report),
     ("limits", t_limits),
     ("postfix_smtp_source_to_smtp_sink", t_postfix_smtp_source_to_smtp_sink),
     ("starttls_both_ways", t_starttls_both_ways)])
