#!/usr/bin/python3
"""End to end: mixgated starts its key process only when the configuration needs one (a cms
channel that names a private key), and starts or retires it when a SIGHUP reload changes that.
A configuration with no cms channel runs with no child; reloaded into etc/examples/
gateway-pair.conf it starts the key process and mail to the peer leaves encrypted; reloaded
back, the key process is retired, ends by itself once the old configuration is done, and mail
leaves as the new configuration says (in clear: no cms channel any more)."""
import os, shutil, subprocess
from harness import *
from test_cms import PAIR, P, children, msg, pair_env, stop_all

# gateway-pair.conf with its cms channels taken out of the chains and the file: no key anywhere
def plain_conf(text):
    start = text.index("channels = (")
    end = text.index("routes = (")
    text = (text[:start] + 'channels = (\n  { name = "smtp-out"; type = "smtp"; },\n'
            '  { name = "local"; type = "file"; directory = "${MIXGATE_VAR:-./var}/deliver"; }\n);\n\n' +
            text[end:])
    return text.replace('chain = [ "protect", "smtp-out" ]', 'chain = [ "smtp-out" ]') \
               .replace('chain = [ "unprotect", "local" ]', 'chain = [ "local" ]')


def keyproc_pids(d):
    return children(d.proc.pid)


def gone(pid):
    return not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def t_started_only_when_needed():
    wd = Workdir("cms-keyproc-demand")
    # the daemon may run as another user: its keys are in its own work directory
    for n in ("alice.key", "alice.pem", "carol.pem", "ca.pem"):
        shutil.copy(P(n), wd.sub(n))
    env = pair_env("alice", "carol", "b.example", 1)
    env.update({"MIXGATE_KEY": wd.sub("alice.key"), "MIXGATE_CERT": wd.sub("alice.pem"),
                "MIXGATE_PEER_CERT": wd.sub("carol.pem"), "MIXGATE_CA": wd.sub("ca.pem")})
    sink = Sink(wd).start()
    env["MIXGATE_RELAY"] = "127.0.0.1:%d" % sink.port
    pair_text = open(PAIR).read()
    conf = write(wd.sub("gw.conf"), plain_conf(pair_text))
    d = Daemon(wd, conf, env=env).start()
    try:
        # no cms channel: no key process
        assert keyproc_pids(d) == [], "a key process with no key configured: %r" % keyproc_pids(d)
        assert "event=keyproc_started" not in d.log_text()
        send(d.port, "s@a.example", ["u@b.example"], msg("before", to="u@b.example", body=b"clear one\r\n"))
        wait_for(lambda: sink.count() == 1, 60, "the first message at the sink")
        assert b"clear one" in sink.messages()[0][1]
        # reloaded with the gateway pair's cms channels: the key process starts, mail is encrypted
        write(conf, pair_text)
        d.hup()
        wait_for(lambda: d.log_text().count("event=reloaded") == 1, 30, "the first reload")
        assert "event=keyproc_started" in d.log_text(), d.tail()
        kids = keyproc_pids(d)
        assert len(kids) == 1, "expected one key process after the reload, found %r" % kids
        send(d.port, "s@a.example", ["u@b.example"], msg("during", to="u@b.example", body=b"secret two\r\n"))
        wait_for(lambda: sink.count() == 2, 60, "the second message at the sink")
        wire = sink.messages()[1][1]
        assert b"secret two" not in wire and b"enveloped-data" in wire, wire[:400]
        # reloaded back: retired, and it ends by itself (the old configuration let go of its keys)
        write(conf, plain_conf(pair_text))
        d.hup()
        wait_for(lambda: d.log_text().count("event=reloaded") == 2, 30, "the second reload")
        assert "event=keyproc_retired pid=%d" % kids[0] in d.log_text(), d.tail()
        wait_for(lambda: gone(kids[0]), 30, "the retired key process to end")
        wait_for(lambda: "event=keyproc_ended pid=%d" % kids[0] in d.log_text(), 30, "the reap")
        assert keyproc_pids(d) == []
        send(d.port, "s@a.example", ["u@b.example"], msg("after", to="u@b.example", body=b"clear three\r\n"))
        wait_for(lambda: sink.count() == 3, 60, "the third message at the sink")
        assert b"clear three" in sink.messages()[2][1]
        # and needed again: a new one
        write(conf, pair_text)
        d.hup()
        wait_for(lambda: d.log_text().count("event=reloaded") == 3, 30, "the third reload")
        kids2 = keyproc_pids(d)
        assert len(kids2) == 1 and kids2 != kids, (kids, kids2)
    finally:
        stop_all(d, sink)


def t_verify_only_needs_none():
    """A cms channel that only verifies names no key: no key process, and it still verifies."""
    wd = Workdir("cms-keyproc-verify-only")
    shutil.copy(P("ca.pem"), wd.sub("ca.pem"))
    text = plain_conf(open(PAIR).read()).replace(
        'channels = (\n', 'channels = (\n  { name = "check"; type = "cms"; operations = "verify"; '
        'ca = "%s"; bad_signature = "hold"; },\n' % wd.sub("ca.pem"), 1).replace(
        'chain = [ "local" ]', 'chain = [ "check", "local" ]')
    assert '"check", "local"' in text
    conf = write(wd.sub("v.conf"), text)
    d = Daemon(wd, conf, env=pair_env("alice", "carol", "b.example", 1)).start()
    try:
        assert keyproc_pids(d) == [], "a key process for a channel without a key: %r" % keyproc_pids(d)
        send(d.port, "s@x.example", ["u@a.example"], msg("verify only", to="u@a.example"))
        wait_for(lambda: "event=delivered" in d.log_text(), 60, "the message through the check channel")
        assert keyproc_pids(d) == []
    finally:
        stop_all(d)


def t_check_config_starts_none():
    """mixgated -t (check-config) never starts one, whatever the configuration."""
    env = dict(os.environ)
    env.update(pair_env("alice", "carol", "b.example", 2600))
    r = subprocess.run([MIXGATED, "-t", "-c", PAIR], capture_output=True, text=True, env=env, timeout=60 * SLOW)
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr
    assert "keyproc_started" not in r.stdout + r.stderr


if __name__ == "__main__":
    run([
        ("started_only_when_needed", t_started_only_when_needed),
        ("verify_only_needs_none", t_verify_only_needs_none),
        ("check_config_starts_none", t_check_config_starts_none),
    ])
