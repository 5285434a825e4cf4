#!/usr/bin/python3
"""End to end: the shipped default configuration (etc/mixgate.conf) with swaks, file delivery,
the admin CLI, relay control, and a clean SIGTERM stop."""
import os, socket, subprocess
from harness import *

CONF = os.path.join(SRC, "etc/mixgate.conf")


def t_check_config_shipped_files():
    for f in ("etc/mixgate.conf", "etc/examples/smtp-relay.conf"):
        r = subprocess.run([MIXGATE, "check-config", "-c", os.path.join(SRC, f)], capture_output=True, text=True)
        assert r.returncode == 0, "%s: %s%s" % (f, r.stdout, r.stderr)


def t_swaks_to_file():
    wd = Workdir("default-file")
    d = Daemon(wd, CONF).start()
    try:
        swaks(d.port, "--from", "alice@example.org", "--to", "bob@example.net,carol@example.com",
              "--header", "Subject: hello mixgate", "--body", "first line\n.leading dot\nlast line")
        deliver = os.path.join(d.var, "deliver")
        files = wait_for(lambda: sorted(os.listdir(deliver)) if os.path.isdir(deliver) and
                         len([f for f in os.listdir(deliver) if f.endswith(".eml")]) == 2 else None,
                         30, "two delivered files")
        texts = [open(os.path.join(deliver, f), "rb").read() for f in files if f.endswith(".eml")]
        joined = b"\n".join(texts)
        assert b"Delivered-To: <bob@example.net>" in joined and b"Delivered-To: <carol@example.com>" in joined
        for t in texts:
            assert t.startswith(b"Return-Path: <alice@example.org>\r\n"), t[:80]
            assert b"Subject: hello mixgate" in t
            assert b"\r\n.leading dot\r\n" in t, "dot-stuffing must be undone exactly once"
            assert b"Received: from " in t
        # the queue empties once both recipients are delivered
        wait_for(lambda: "messages=0" in d.cli("status").stdout, 20, "an empty queue")
        log = d.log_text()
        for ev in ("event=received", "event=routed", "event=delivered"):
            assert ev in log, ev + " missing from the log"
        # the channel makes its directory once; removed under it, it is made again
        import shutil
        shutil.rmtree(deliver)
        swaks(d.port, "--from", "alice@example.org", "--to", "dave@example.net", "--body", "again")
        again = wait_for(lambda: os.path.isdir(deliver) and [f for f in os.listdir(deliver) if f.endswith(".eml")],
                         30, "the delivery into the directory made again")
        assert b"Delivered-To: <dave@example.net>" in open(os.path.join(deliver, again[0]), "rb").read()
        assert "status=4" not in d.log_text(), "no deferral: made again at the first failure"
    finally:
        d.stop()


def t_admin_cli_and_hold():
    wd = Workdir("default-admin")
    conf = write(wd.sub("held.conf"), open(CONF).read().replace(
        'routes = (\n  { default = true; chain = [ "local" ]; }\n);',
        'routes = (\n  { default = true; chain = [ "local" ]; }\n);\n'))
    d = Daemon(wd, conf).start()
    try:
        r = d.cli("status")
        assert "mixgated: running" in r.stdout, r.stdout
        r = d.cli("queue", "show", "0000000000000Z", check=False)
        assert r.returncode == 1 and "no such message" in r.stderr, (r.returncode, r.stderr)
        r = d.cli("queue", "bogus", check=False)
        assert r.returncode == 2
        r = d.cli("queue", "list")
        assert "ID" in r.stdout
    finally:
        d.stop()


def t_relay_denied_for_outside_domain():
    wd = Workdir("default-relay")
    conf = write(wd.sub("relay.conf"), open(CONF).read().replace(
        'relay_networks = [ "127.0.0.0/8", "::1/128" ];', 'relay_networks = [ "192.0.2.0/24" ];').replace(
        'relay_domains = [ ];', 'relay_domains = [ "example.org" ];'))
    d = Daemon(wd, conf).start()
    try:
        r = swaks(d.port, "--from", "a@example.net", "--to", "someone@outside.example", check=False)
        assert r.returncode != 0 and "554 5.7.1" in r.stdout + r.stderr, r.stdout + r.stderr
        swaks(d.port, "--from", "a@example.net", "--to", "someone@example.org")
        assert "reason=relay_denied" in d.log_text()
    finally:
        d.stop()


def t_reconnect_after_quit_within_client_limit():
    """A session that said QUIT no longer counts against max_sessions_per_client, even while
    its 221 is still being written and its socket closed: N clients that each reconnect as
    soon as they have the 221 never exceed a limit of N (as Postfix's smtp-source does)."""
    import threading
    n = 10
    wd = Workdir("default-reconnect")
    conf = write(wd.sub("limit.conf"), open(CONF).read().replace(
        "max_sessions_per_client = 50;", "max_sessions_per_client = %d;" % n))
    d = Daemon(wd, conf).start()
    refused = []
    try:
        # Daemon.start() probed the port with a connection of its own: let it go first.
        wait_for(lambda: "event=smtp_disconnect" in d.log_text(), 20, "the start-up probe to close")

        def client():
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", d.port))
                if not s.recv(512).startswith(b"220"):
                    refused.append(1)
                    s.close()
                    continue
                s.sendall(b"QUIT\r\n")
                got = b""
                while b"221 " not in got:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    got += chunk
                s.close()
        ts = [threading.Thread(target=client) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not refused, "%d of %d reconnects refused with a per-client limit of %d" % (len(refused), n * 100, n)
    finally:
        d.stop()


def t_sigterm_keeps_queue():
    wd = Workdir("default-restart")
    d = Daemon(wd, CONF).start()
    swaks(d.port, "--from", "a@example.org", "--to", "b@example.org")
    d.stop()
    d.start()
    try:
        assert d.cli("status").returncode == 0
    finally:
        d.stop()


run([("check_config_shipped_files", t_check_config_shipped_files),
     ("swaks_to_file", t_swaks_to_file),
     ("admin_cli", t_admin_cli_and_hold),
     ("relay_denied_for_outside_domain", t_relay_denied_for_outside_domain),
     ("reconnect_after_quit_within_client_limit", t_reconnect_after_quit_within_client_limit),
     ("sigterm_keeps_queue", t_sigterm_keeps_queue)])
