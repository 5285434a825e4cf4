#!/usr/bin/python3
"""End to end: the shipped default configuration (etc/mixgate.conf) with swaks, file delivery,
the admin CLI, relay control, and a clean SIGTERM stop."""
import os, subprocess
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
     ("sigterm_keeps_queue", t_sigterm_keeps_queue)])
