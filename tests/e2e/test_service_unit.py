#!/usr/bin/python3
"""The systemd unit (packaging/mixgated.service): systemd's own checks accept it, it asks for
the readiness protocol mixgated speaks, and its hardening keeps `systemd-analyze security`'s
exposure at or under 2.0 (recorded in docs/operations.md)."""
import re, subprocess
from harness import *

UNIT = os.path.join(SRC, "packaging/mixgated.service")


def settings():
    out = {}
    for line in open(UNIT):
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def t_unit_verifies():
    r = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True, timeout=60)
    # The binary and the man pages are not installed on a build machine: everything else is a defect.
    rest = [l for l in (r.stdout + r.stderr).splitlines()
            if l.strip() and "is not executable" not in l and "Command 'man " not in l]
    assert not rest, "\n".join(rest)


def t_unit_settings():
    s = settings()
    assert s["Type"] == ["notify"], s["Type"]
    assert s["User"] == ["mixgate"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    for k in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert s[k] == ["yes"], (k, s.get(k))
    assert s["ProtectSystem"] == ["strict"] and "/var/lib/mixgate" in s["ReadWritePaths"][0]
    assert "WantedBy" in s


def t_security_score():
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", UNIT],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, "exposure %s > 2.0\n%s" % (m.group(1), r.stdout)
    ops = open(os.path.join(SRC, "docs/operations.md")).read()
    assert "exposure level %s**" % m.group(1) in ops, "docs/operations.md does not record the score %s" % m.group(1)


run([("unit_verifies", t_unit_verifies), ("unit_settings", t_unit_settings), ("security_score", t_security_score)])
