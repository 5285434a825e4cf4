#!/usr/bin/python3
"""Packaging: `cmake --install` (staged with DESTDIR) puts the binaries, the unit, the
sysusers/tmpfiles definitions, the man pages, the configuration and the examples in place;
`cpack -G DEB` builds a .deb whose control data (dpkg-deb --info) declares the conffile and
maintainer scripts that create the mixgate user and the spool and start nothing, and lintian
finds no error in it (its warnings are recorded in docs/operations.md)."""
import glob, re, shutil, subprocess, tempfile
from harness import *

EXPECTED = ["usr/sbin/mixgated", "usr/bin/mixgate", "usr/lib/systemd/system/mixgated.service",
            "usr/lib/sysusers.d/mixgate.conf", "usr/lib/tmpfiles.d/mixgate.conf", "etc/mixgate/mixgate.conf",
            "usr/share/man/man8/mixgated.8.gz", "usr/share/man/man1/mixgate.1.gz",
            "usr/share/man/man5/mixgate.conf.5.gz", "usr/share/doc/mixgate/copyright",
            "usr/share/doc/mixgate/changelog.Debian.gz", "usr/share/doc/mixgate/examples/smtp-relay.conf"]


def t_cmake_install_staged():
    stage = tempfile.mkdtemp(prefix="mixgate-stage-")
    try:
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"], capture_output=True, text=True,
                           env=dict(os.environ, DESTDIR=stage), timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        missing = [p for p in EXPECTED if not os.path.exists(os.path.join(stage, p))]
        assert not missing, missing
        # the installed configuration is valid as shipped
        r = subprocess.run([os.path.join(stage, "usr/sbin/mixgated"), "-t", "-c", os.path.join(stage, "etc/mixgate/mixgate.conf")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        shutil.rmtree(stage)


def t_deb_and_lintian():
    out = tempfile.mkdtemp(prefix="mixgate-deb-")
    try:
        r = subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=BUILD, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        debs = glob.glob(os.path.join(out, "mixgate_*.deb"))
        assert len(debs) == 1, debs
        deb = debs[0]
        info = subprocess.run(["dpkg-deb", "--info", deb], capture_output=True, text=True).stdout
        for want in ("Package: mixgate", "Section: mail", "conffiles", "postinst", "postrm", "Depends: adduser"):
            assert want in info, (want, info)
        contents = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True).stdout
        for p in EXPECTED:
            assert "./" + p in contents, (p, contents)
        ctl = tempfile.mkdtemp(dir=out)
        subprocess.run(["dpkg-deb", "--control", deb, ctl], check=True)
        assert open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/mixgate/mixgate.conf"]
        postinst = open(os.path.join(ctl, "postinst")).read()
        assert "systemd-sysusers" in postinst and "adduser --system" in postinst and "systemd-tmpfiles" in postinst
        for script in ("postinst", "postrm"):
            text = open(os.path.join(ctl, script)).read()
            assert not re.search(r"systemctl\s+(start|enable|restart)|deb-systemd-invoke", text), \
                "%s starts or enables the service" % script
        if not shutil.which("lintian"):
            raise AssertionError("lintian is missing: scripts/install-deps.sh --test installs it")
        r = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True, timeout=600)
        errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
        assert not errors, "lintian errors:\n" + "\n".join(errors)
        print("lintian: " + (" | ".join(l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")) or "clean"))
    finally:
        shutil.rmtree(out)


run([("cmake_install_staged", t_cmake_install_staged), ("deb_and_lintian", t_deb_and_lintian)])
