#!/usr/bin/python3
"""End to end: mixgated as a system service. One daemon per var_dir (the second names the
first's pid and leaves its socket and queue alone), private file modes (created 0600/0700, a
start refused with the fix when others can read them), the switch from root to global.user,
sd_notify READY/RELOADING/STOPPING to a fake NOTIFY_SOCKET, and the stderr fallback when
syslog is configured but nothing listens on /dev/log."""
import os, pwd, re, signal, socket, stat, subprocess
from harness import *

CONF = os.path.join(SRC, "etc/mixgate.conf")
ROOT = os.geteuid() == 0


def start_fails(wd, conf, name, var=None, user=None, env=None):
    """Starts mixgated expecting a refusal; returns its log."""
    log = wd.sub(name + ".log")
    d = Daemon(wd, conf, var=var, user=user, env=env)
    with open(log, "wb") as f:
        p = subprocess.run(d.argv(), env=d.env, stdout=f, stderr=f, timeout=30 * SLOW)
    text = open(log).read()
    assert p.returncode != 0, "mixgated started although it should not:\n" + text
    return text


def t_second_daemon_refused():
    wd = Workdir("service-lock")
    a = Daemon(wd, CONF).start()
    try:
        sock = os.stat(a.control())
        db = os.stat(os.path.join(a.var, "queue.db"))
        log = start_fails(wd, CONF, "second", var=a.var)
        assert "another mixgated (pid %d)" % a.proc.pid in log, log
        # the running one's socket and queue are untouched and it still answers
        assert os.stat(a.control()).st_ino == sock.st_ino, "the control socket was replaced"
        assert os.stat(os.path.join(a.var, "queue.db")).st_ino == db.st_ino
        assert "running" in a.cli("status").stdout
        send(a.port, "s@example.org", ["r@example.org"], b"Subject: x\r\n\r\nstill here\r\n")
    finally:
        a.stop()
    # the lock dies with its holder, even a killed one
    b = Daemon(wd, CONF, var=a.var).start()
    b.kill9()
    c = Daemon(wd, CONF, var=a.var).start()
    c.stop()


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def t_file_modes():
    wd = Workdir("service-modes")
    d = Daemon(wd, CONF).start()
    try:
        send(d.port, "s@example.org", ["r@example.org"], b"Subject: x\r\n\r\nsecret\r\n")
    finally:
        d.stop()
    assert mode(d.var) == 0o700, "var_dir is %o" % mode(d.var)
    for f in ("queue.db", "audit.db", "mixgated.lock"):
        assert mode(os.path.join(d.var, f)) == 0o600, "%s is %o" % (f, mode(os.path.join(d.var, f)))
    db = os.path.join(d.var, "queue.db")
    os.chmod(db, 0o644)
    log = start_fails(wd, CONF, "world-readable-db", var=d.var)
    assert "fix with: chmod 0600 %s" % db in log, log
    os.chmod(db, 0o600)
    os.chmod(d.var, 0o755)
    log = start_fails(wd, CONF, "world-readable-dir", var=d.var)
    assert "fix with: chmod 0700 %s" % d.var in log, log
    os.chmod(d.var, 0o700)
    Daemon(wd, CONF, var=d.var).start().stop()


def proc_ids(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def t_runs_as_configured_user():
    wd = Workdir("service-user")
    if not ROOT:
        # Not root: global.user cannot be honoured; the daemon says so and runs as us.
        conf = write(wd.sub("user.conf"), open(CONF).read().replace('log = "stderr";', 'log = "stderr"; user = "root";'))
        d = Daemon(wd, conf).start()
        try:
            assert "event=user_ignored user=root" in d.log_text()
        finally:
            d.stop()
        return
    if not reachable_by_others(wd.path):
        # a checkout under a directory only root may enter (e.g. /root): nobody cannot run
        # from here; the switch is then not testable in this tree
        print("SKIP runs_as_configured_user: %s is not reachable by other users" % wd.path)
        return
    # the user comes from the configuration (no -u): bind as root, then run as it
    conf = write(wd.sub("user.conf"), open(CONF).read().replace('log = "stderr";', 'log = "stderr"; user = "nobody";'))
    d = Daemon(wd, conf)
    d.user = None
    chown_tree(wd.path, "nobody")
    d.start()
    try:
        nobody = pwd.getpwnam("nobody")
        assert proc_ids(d.proc.pid, "Uid") == [nobody.pw_uid] * 4, proc_ids(d.proc.pid, "Uid")
        assert proc_ids(d.proc.pid, "Gid") == [nobody.pw_gid] * 4, proc_ids(d.proc.pid, "Gid")
        assert os.stat(os.path.join(d.var, "queue.db")).st_uid == nobody.pw_uid
        send(d.port, "s@example.org", ["r@example.org"], b"Subject: x\r\n\r\nas nobody\r\n")
        wait_for(lambda: os.path.isdir(os.path.join(d.var, "deliver")) and os.listdir(os.path.join(d.var, "deliver")),
                 30, "the delivery")
    finally:
        d.stop()
    # root without a user is refused, with the way out
    wd2 = Workdir("service-user-root")
    log = start_fails(wd2, CONF, "as-root", user="")
    assert "does not run as root: set global.user" in log, log
    assert not os.path.exists(wd2.sub("var", "queue.db")), "the refused daemon created a queue"
    # a var_dir owned by someone else is refused with the chown to run
    os.chown(d.var, 0, 0)
    log = start_fails(wd, conf, "foreign-var", var=d.var, user="")
    assert "fix with: chown -R nobody: %s" % d.var in log, log


def t_sd_notify():
    wd = Workdir("service-notify")
    path = wd.sub("notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(30 * SLOW)
    d = Daemon(wd, CONF, env={"NOTIFY_SOCKET": path})
    try:
        d.start()
        msg = ns.recv(4096).decode()
        assert "READY=1" in msg.split("\n"), msg
        # READY came after the listeners and the queue: both answer now
        assert "running" in d.cli("status").stdout
        d.hup()
        msg = ns.recv(4096).decode()
        assert "RELOADING=1" in msg.split("\n") and "MONOTONIC_USEC=" in msg, msg
        assert ns.recv(4096).decode() == "READY=1"
        d.proc.send_signal(signal.SIGTERM)
        assert ns.recv(4096).decode() == "STOPPING=1"
        d.proc.wait(timeout=30 * SLOW)
        assert d.proc.returncode == 0
        d.proc = None
    finally:
        d.stop()
        ns.close()


def syslog_listening():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect("/dev/log")
        return True
    except OSError:
        return False
    finally:
        s.close()


def t_syslog_fallback():
    wd = Workdir("service-syslog")
    conf = write(wd.sub("syslog.conf"), open(CONF).read().replace('log = "stderr";', 'log = "syslog";'))
    d = Daemon(wd, conf)
    if syslog_listening():
        # Hide /dev/log from the daemon in its own mount namespace (root only).
        assert ROOT, "a syslog daemon listens on /dev/log and we cannot hide it without root"
        empty = write(wd.sub("not-a-socket"), "")
        argv = d.argv
        d.argv = lambda: ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /dev/log && exec "$@"', empty] + argv()
    d.start()
    try:
        text = d.log_text()
        assert "event=syslog_unavailable" in text, text
        assert "event=started" in text, "the log lines after the warning did not come to stderr"
    finally:
        d.stop()


def t_status_after_partial_reload():
    """`mixgate status` says what is bound, not what the reloaded file says."""
    wd = Workdir("service-status")
    conf = write(wd.sub("s.conf"), open(CONF).read())
    d = Daemon(wd, conf).start()
    try:
        st = d.cli("status").stdout
        assert "listener smtp: listening on 127.0.0.1:0 port=%d\n" % d.port in st, st
        write(conf, open(CONF).read().replace("${MIXGATE_SMTP_LISTEN:-127.0.0.1:2525}", "127.0.0.1:1"))
        d.hup()
        wait_for(lambda: "event=reloaded" in d.log_text(), 20, "the reload")
        st = d.cli("status").stdout
        assert "listening on 127.0.0.1:0 port=%d (configuration now says 127.0.0.1:1: restart to apply)" % (
            d.port) in st, st
        send(d.port, "s@example.org", ["r@example.org"], b"Subject: x\r\n\r\nstill on the old port\r\n")
    finally:
        d.stop()


def t_accept_line_names_session_qid_msgid():
    wd = Workdir("service-logline")
    d = Daemon(wd, CONF).start()
    try:
        send(d.port, "s@example.org", ["r@example.org"],
             b"Message-ID: <log-line.1@example.org>\r\nSubject: x\r\n\r\nlogged\r\n")
        send(d.port, "s@example.org", ["r@example.org"], b"Subject: no id\r\n\r\nlogged\r\n")
        wait_for(lambda: d.log_text().count("event=accepted") == 2, 20, "two accepted lines")
        text = d.log_text()
        m = re.search(r"event=accepted session=(\S+) qid=(\S+) message_id=<log-line.1@example.org>", text)
        assert m, text
        session, qid = m.groups()
        assert "event=smtp_connect session=%s " % session in text
        assert re.search(r"event=received qid=%s " % qid, text)
        assert re.search(r"event=accepted session=\S+ qid=\S+ message_id=-$", text, re.M), text
        # every line of an SMTP session names it
        for line in text.splitlines():
            if "event=smtp_" in line and "event=smtp_listen" not in line:
                assert "session=" in line, line
    finally:
        d.stop()


def t_syntax_error_names_the_opening_line():
    """libconfig notices an unclosed group only at the end of the file; the error names the
    line that opened the group left open (the extra '{' makes global's own '}' close it)."""
    wd = Workdir("service-syntax")
    text = open(CONF).read().replace("global = {", "global = {\n  oops = {", 1)
    conf = write(wd.sub("broken.conf"), text)
    line = text.split("\n").index("global = {") + 1
    r = subprocess.run([MIXGATED, "-t", "-c", conf], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "broken.conf:%d: syntax error: the '{' opened here is never closed" % line in r.stdout + r.stderr, \
        r.stdout + r.stderr


run([("second_daemon_refused", t_second_daemon_refused),
     ("file_modes", t_file_modes),
     ("runs_as_configured_user", t_runs_as_configured_user),
     ("sd_notify", t_sd_notify),
     ("syslog_fallback", t_syslog_fallback),
     ("status_after_partial_reload", t_status_after_partial_reload),
     ("accept_line_names_session_qid_msgid", t_accept_line_names_session_qid_msgid),
     ("syntax_error_names_the_opening_line", t_syntax_error_names_the_opening_line)])
