#!/usr/bin/python3
"""End to end: the mixer processing channel in the real daemon through etc/examples/mixer.conf.
SMTP in -> mixer-to-x400 -> the X.400 side (the file channel x400-out until the P1 channel kind
is registered): the delivered content is P772 BER that tshark decodes, with the mapped values;
a recipient in the gateway's domain without an O/R address fails, and its DSN reaches the SMTP
originator through the sink; an MDN crosses as an IPN; table errors are refused by
check-config with file:line."""
import os, re, shutil, subprocess, tempfile
from harness import *

CONF = os.path.join(SRC, "etc/examples/mixer.conf")


def daemon(wd, sink_port, extra=None):
    env = {"MIXGATE_RELAY": "127.0.0.1:%d" % sink_port, "MIXGATE_RETRY_MIN": "1",
           "MIXGATE_MIXER_TABLES": os.path.join(SRC, "etc/mixer"), "MIXGATE_X400_CONTENT": "p772"}
    env.update(extra or {})
    return Daemon(wd, CONF, env=env)


MSG = (b"From: Ops <ops@example.org>\r\nTo: Bob.Jones@camelot.example\r\n"
       b"Subject: OPORD 7\r\nMessage-ID: <opord7@example.org>\r\n"
       b"MMHS-Primary-Precedence: flash\r\nMMHS-Subject-Indicator-Codes: ABC; XYZ1\r\n"
       b"\r\nProceed.\r\n")


def strip_local_headers(data):
    # the file channel prepends Return-Path and Delivered-To lines even to BER content
    for _ in range(2):
        assert data[:1] in (b"R", b"D"), data[:40]
        data = data[data.index(b"\n") + 1:]
    return data


def t_smtp_to_x400():
    wd = Workdir("mixer-to-x400")
    sink = Sink(wd).start()
    d = daemon(wd, sink.port).start()
    try:
        send(d.port, "ops@example.org", ["Bob.Jones@camelot.example", "nobody@x400.example"], MSG)
        out = os.path.join(d.var, "x400-out")
        files = wait_for(lambda: os.path.isdir(out) and [f for f in os.listdir(out) if f.endswith(".eml")],
                         30 * SLOW, "the converted message in x400-out")
        data = strip_local_headers(open(os.path.join(out, files[0]), "rb").read())
        assert data[:1] == b"\xa0", data[:16]
        with open(wd.sub("m.p772"), "wb") as f:
            f.write(data)
        if shutil.which("tshark"):
            env = dict(os.environ, HOME=wd.path)
            r = subprocess.run(["tshark", "-r", wd.sub("m.p772"), "-V"], capture_output=True, text=True,
                               env=env, timeout=120)
            assert "Malformed" not in r.stdout, r.stdout[-2000:]
            for want in ("subject: OPORD 7", "PrimaryPrecedence: flash (4)", "Sic: ABC",
                         "opord7(a)example.org", "surname: Jones"):
                assert want in r.stdout, (want, r.stdout[-3000:])
        # the recipient with no O/R address failed: its DSN goes back over SMTP to the sink
        wait_for(lambda: sink.count() >= 1, 30 * SLOW, "the DSN at the sink")
        meta, content = sink.messages()[0]
        assert meta["rcpt_tos"] == ["ops@example.org"], meta
        assert b"5.1.3" in content and b"nobody@x400.example" in content, content[-1500:]
        assert b"has no X.400 address" in content, content[-1500:]
    finally:
        d.stop()
        sink.stop()


def t_mdn_becomes_ipn():
    """An MDN answering an X.400 message crosses as an X.420 IPN (receipt)."""
    wd = Workdir("mixer-mdn")
    sink = Sink(wd).start()
    d = daemon(wd, sink.port).start()
    try:
        mdn = open(os.path.join(SRC, "test-vectors/mixer/smtp/mdn.in"), "rb").read()
        send(d.port, "bob@example.org", ["Alice.Smith@camelot.example"], mdn)
        out = os.path.join(d.var, "x400-out")
        files = wait_for(lambda: os.path.isdir(out) and [f for f in os.listdir(out) if f.endswith(".eml")],
                         30 * SLOW, "the IPN in x400-out")
        data = strip_local_headers(open(os.path.join(out, files[0]), "rb").read())
        assert data[:1] == b"\xa1", data[:16]   # InformationObject ipn [1]
        if shutil.which("tshark"):
            with open(wd.sub("n.p772"), "wb") as f:
                f.write(data)
            r = subprocess.run(["tshark", "-r", wd.sub("n.p772"), "-V"], capture_output=True, text=True,
                               env=dict(os.environ, HOME=wd.path), timeout=120)
            assert "Malformed" not in r.stdout, r.stdout[-2000:]
            assert "receipt-fields" in r.stdout and "gen-ipm-0001" in r.stdout, r.stdout[-3000:]
    finally:
        d.stop()
        sink.stop()


def t_tables_reloaded_on_hup():
    """The mapping tables are read again on SIGHUP: a changed MCGAM takes effect."""
    wd = Workdir("mixer-hup")
    tables = wd.sub("tables")
    shutil.copytree(os.path.join(SRC, "etc/mixer"), tables)
    sink = Sink(wd).start()
    d = daemon(wd, sink.port, {"MIXGATE_MIXER_TABLES": tables}).start()
    out = os.path.join(d.var, "x400-out")

    def delivered(n):
        return wait_for(lambda: os.path.isdir(out) and len([f for f in os.listdir(out) if f.endswith(".eml")]) >= n
                        and sorted(f for f in os.listdir(out) if f.endswith(".eml")), 30 * SLOW,
                        "%d messages in x400-out" % n)
    try:
        send(d.port, "ops@example.org", ["Bob.Jones@camelot.example"], MSG)
        first = open(os.path.join(out, delivered(1)[0]), "rb").read()
        assert b"Camelot" in first and b"Avalon" not in first, first[:200]
        for name in ("rfc2or", "or2rfc"):
            path = os.path.join(tables, name)
            text = open(path).read().replace("PRMD$Camelot", "PRMD$Avalon")
            write(path, text)
        d.hup()
        wait_for(lambda: "event=reloaded" in d.log_text(), 20 * SLOW, "the reload")
        send(d.port, "ops@example.org", ["Bob.Jones@camelot.example"], MSG)
        files = delivered(2)
        second = [open(os.path.join(out, f), "rb").read() for f in files]
        assert any(b"Avalon" in x for x in second), [x[:120] for x in second]
    finally:
        d.stop()
        sink.stop()


def t_bad_table_refused():
    wd = Workdir("mixer-bad-table")
    tables = wd.sub("tables")
    shutil.copytree(os.path.join(SRC, "etc/mixer"), tables)
    with open(os.path.join(tables, "rfc2or"), "a") as f:
        f.write("bad_domain#C$GB#\n")
    env = dict(os.environ, MIXGATE_MIXER_TABLES=tables, MIXGATE_VAR=wd.sub("var"))
    r = subprocess.run([MIXGATE, "check-config", "-c", CONF], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode != 0, r.stdout
    assert re.search(r"tables/rfc2or:\d+: \"bad_domain\" is not a domain", r.stderr + r.stdout), r.stderr


run([("smtp_to_x400", t_smtp_to_x400), ("mdn_becomes_ipn", t_mdn_becomes_ipn),
     ("tables_reloaded_on_hup", t_tables_reloaded_on_hup), ("bad_table_refused", t_bad_table_refused)])
