"""harness: drives the real mixgated over real sockets for the end-to-end tests.

Each test gets a fresh work directory under the build tree, free loopback ports, the daemon
started from a configuration file (the shipped etc/ files where possible), and real peers:
swaks, Postfix smtp-source/smtp-sink, an aiosmtpd sink (sink.py), openssl. Helpers raise
AssertionError with a readable message; `run(tests)` runs named cases and prints a summary
line "N passed, N failed" that CTest output shows.
"""
import atexit, json, os, signal, shutil, smtplib, socket, subprocess, sys, time, traceback

SRC = os.environ.get("MIXGATE_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("MIXGATE_BUILD_DIR") or os.path.join(SRC, "build-test")
MIXGATED = os.path.join(BUILD, "daemon", "mixgated")
MIXGATE = os.path.join(BUILD, "cli", "mixgate")
PY = "/usr/bin/python3"   # Debian's python, which has python3-aiosmtpd
# Sanitizer builds are slower: scale every wait by this.
SLOW = float(os.environ.get("MIXGATE_E2E_SLOW", "1"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def chown_tree(path, user):
    import pwd
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for n in [root] + [os.path.join(root, x) for x in dirs + files]:
            os.lchown(n, pw.pw_uid, pw.pw_gid)


def reachable_by_others(*paths):
    """True when every directory above each path lets others through (o+x): an unprivileged
    daemon can reach them. A configuration in a checkout under /root (mode 0700) cannot be
    re-read by the daemon once it runs as nobody; then the tests run it as root with -R
    (development only), as `make run` does."""
    return all(others_can_reach(os.path.dirname(os.path.abspath(p))) for p in paths)


def wait_port(port, timeout=20.0, proc=None):
    end = time.time() + timeout * SLOW
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("process exited with %s while we waited for port %d" % (proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on port %d after %.0fs" % (port, timeout * SLOW))


def wait_for(pred, timeout=30.0, what="condition", step=0.05):
    """Polls pred until it is true. A daemon this test started that dies meanwhile ends the
    wait at once with its log (waiting out the timeout only hides the crash)."""
    end = time.time() + timeout * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        dead = _dead_daemon()
        if dead is not None:
            v = pred()   # the exit may be what the caller waits for
            if v:
                return v
            raise AssertionError("mixgated (%s) exited with %s while we waited for %s\n%s" % (
                os.path.basename(dead.conf), dead.proc.returncode, what, dead.tail()))
        time.sleep(step)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout * SLOW, what))


def _dead_daemon():
    for d in _daemons:
        if d.proc is not None and not d.may_exit and d.proc.poll() is not None:
            return d
    return None


def others_can_reach(path):
    """Every directory above path lets others through (o+x): the daemon, once it has dropped
    root, must reach its var_dir there."""
    path = os.path.abspath(path)
    while True:
        if os.path.exists(path) and not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


class Workdir:
    def __init__(self, name):
        base = os.path.join(BUILD, "e2e-work")
        if os.geteuid() == 0 and not others_can_reach(BUILD):
            # A tree under /root: the daemon runs as an unprivileged user and could not reach
            # its work directory there.
            base = "/tmp/mixgate-e2e-%d" % os.getuid()
        self.path = os.path.join(base, name)
        shutil.rmtree(self.path, ignore_errors=True)
        os.makedirs(self.path)

    def sub(self, *p):
        return os.path.join(self.path, *p)


# Every daemon a test started: killed when the test process exits, so a failing case never
# leaves a daemon behind holding ports (or the P1 port of the default configuration).
_started = []
# Every Daemon object started, for wait_for's liveness check and the logs of a failed case.
_daemons = []


def _kill_leftovers():
    for p in _started:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except Exception:
                pass


atexit.register(_kill_leftovers)


def track(proc):
    """A helper process a test started (a sink, a responder, a directory server): killed with
    the daemons when the test process exits, whatever the case's outcome. Returns proc."""
    _started.append(proc)
    return proc


class Daemon:
    """mixgated on a config file, with MIXGATE_VAR and MIXGATE_SMTP_LISTEN set for the test."""

    def __init__(self, wd, conf, env=None, port=None, var=None, user=None, args=()):
        self.wd = wd
        # As root (CI), the daemon runs as it would in production: it binds, then becomes an
        # unprivileged user; the work directory is handed to that user first.
        # user="" runs it as whoever we are.
        self.args = list(args)
        if user is None and os.geteuid() == 0:
            if reachable_by_others(wd.path, conf):
                user = os.environ.get("MIXGATE_E2E_USER", "nobody")
            elif "-R" not in self.args:
                user = ""
                self.args.append("-R")
        self.user = user
        self.conf = conf
        # Port 0: the daemon binds any free port and says which in event=listening, so no
        # test races another for a port picked in advance.
        self.port_fixed = port is not None
        self.port = port or 0
        self.var = var or wd.sub("var")
        self.env = dict(os.environ)
        # The default configuration also listens for P1 (on 1102 unless told): a test that does
        # not use it must not race the others for that port.
        self.env.update({"MIXGATE_VAR": self.var, "MIXGATE_SMTP_LISTEN": "127.0.0.1:%d" % self.port,
                         "MIXGATE_P1_LISTEN": "127.0.0.1:0", "MIXGATE_HOSTNAME": "mixgate.test"})
        self.env.update(env or {})
        self.proc = None
        self.log = wd.sub("mixgated.log")
        self.starts = 0
        self.may_exit = False   # a test that makes the daemon exit on purpose sets this

    def start(self):
        self.starts += 1
        logf = open(self.log, "ab")
        logf.write(b"---- start %d\n" % self.starts)
        logf.flush()
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdout=logf, stderr=logf)
        _started.append(self.proc)
        if self not in _daemons:
            _daemons.append(self)
        logf.close()
        if not self.port_fixed:
            self.port = wait_for(self.bound_port, 20, "event=listening in the daemon's log")
        wait_port(self.port, proc=self.proc)
        wait_for(lambda: os.path.exists(self.control()), 10, "the control socket")
        return self

    def bound_port(self):
        """The port of the listener on MIXGATE_SMTP_LISTEN, from this start's event=listening."""
        if self.proc.poll() is not None:
            raise AssertionError("mixgated exited with %s at start\n%s" % (self.proc.returncode, self.tail()))
        text = self.log_text()
        text = text[text.rfind("---- start %d\n" % self.starts):]
        want = "listen=%s " % self.env["MIXGATE_SMTP_LISTEN"]
        for line in text.splitlines():
            if "event=listening" in line and want in line and "protocol=smtp" in line:
                return int(line.rsplit(" port=", 1)[1].split()[0])
        return None

    def argv(self):
        argv = [MIXGATED, "-c", self.conf] + self.args
        if self.user:
            chown_tree(self.wd.path, self.user)
            argv += ["-u", self.user]
        return argv

    def control(self):
        return os.path.join(self.var, "control.sock")

    def stop(self, expect_rc=0):
        """SIGTERM and wait: a clean stop exits 0 (under ASan this is also the leak check)."""
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("mixgated did not stop within %.0fs of SIGTERM\n%s" % (30 * SLOW, self.tail()))
        self.proc = None
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError("mixgated exited %d after SIGTERM (expected %d)\n%s" % (rc, expect_rc, self.tail()))
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args, check=True):
        r = subprocess.run([MIXGATE] + list(args[:1]) + ["-s", self.control()] + list(args[1:]),
                           capture_output=True, text=True, timeout=30 * SLOW, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError("mixgate %s exited %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def tail(self, n=60):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "---- mixgated log (last %d lines)\n%s" % (n, "\n".join(lines[-n:]))
        except OSError:
            return "(no log)"

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Sink:
    """The aiosmtpd next hop (sink.py) in its own process, so it can be stopped and started."""

    def __init__(self, wd, name="sink", port=None, args=()):
        self.dir = wd.sub(name)
        self.port_fixed = port is not None
        self.port = port or free_port()
        self.args = list(args)
        self.proc = None

    def start(self):
        for attempt in range(3):
            self.proc = track(subprocess.Popen([PY, os.path.join(SRC, "tests/e2e/sink.py"), "--port",
                                                str(self.port), "--dir", self.dir] + self.args,
                                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                               text=True))
            line = self.proc.stdout.readline()
            if line.startswith("READY"):
                break
            self.proc.wait()
            if self.port_fixed or attempt == 2:
                raise AssertionError("sink did not start on port %d: %r" % (self.port, line))
            self.port = free_port()   # taken by a test running beside us (see Daemon.start)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def messages(self):
        """[(envelope dict, content bytes)] in arrival order."""
        out = []
        if not os.path.isdir(self.dir):
            return out
        for n in sorted(f for f in os.listdir(self.dir) if f.endswith(".json")):
            base = os.path.join(self.dir, n[:-5])
            with open(base + ".json") as f:
                meta = json.load(f)
            with open(base + ".eml", "rb") as f:
                out.append((meta, f.read()))
        return out

    def count(self):
        if not os.path.isdir(self.dir):
            return 0
        return sum(1 for f in os.listdir(self.dir) if f.endswith(".json"))


def swaks(port, *args, check=True, timeout=60):
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--silent", "2"] + list(args),
                       capture_output=True, text=True, timeout=timeout * SLOW)
    if check and r.returncode != 0:
        raise AssertionError("swaks %s exited %d:\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def send(port, mail_from, rcpts, data, **kw):
    """One message with smtplib; returns the final reply (code, text). Raises on failure."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30 * SLOW) as s:
        s.ehlo("client.test")
        s.sendmail(mail_from, rcpts, data, **kw)
    return True


def make_cert(wd, cn="localhost"):
    key, crt = wd.sub(cn + ".key"), wd.sub(cn + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
                   check=True, capture_output=True)
    return crt, key


def made_once(dest, stamp, make):
    """dest, made by make(folder) once per build tree; dest/stamp says it is complete. CTest runs
    e2e tests in parallel: the first makes it under a lock, in a fresh folder renamed into
    place, so no test ever sees half of it or parts of two runs."""
    import fcntl
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(dest, stamp)):
            tmp = dest + ".new.%d" % os.getpid()
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            make(tmp)
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(tmp, dest)
    return dest


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run(cases):
    """Runs [(name, fn)] in order, prints one line per case and a summary; exits 1 on failure."""
    passed = failed = 0
    for name, fn in cases:
        t = time.time()
        try:
            fn()
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.time() - t), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)\n%s" % (name, time.time() - t, traceback.format_exc()), flush=True)
            # what each daemon of this case said last (CI shows only this output)
            for d in _daemons:
                print("%s (%s)\n%s" % (d.log, os.path.basename(d.conf), d.tail(40)), flush=True)
        del _daemons[:]
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
