#!/usr/bin/python3
"""The man pages: mixgated(8), mixgate(1) and mixgate.conf(5) are generated from their
Markdown (mixgate.conf(5) from docs/configuration.md itself) and committed; each must equal a
fresh generation, format without groff warnings, mixgate.conf(5) must document every key the
loader accepts (the key tables of mta/config.c), and mixgate(1) every command `mixgate help`
lists."""
import re, subprocess
from harness import *

PAGES = [("8", "mixgated", "the mixgate boundary message switch daemon", "man/mixgated.8.md", "man/mixgated.8"),
         ("1", "mixgate", "operate and inspect the mixgate message switch", "man/mixgate.1.md", "man/mixgate.1"),
         ("5", "mixgate.conf", "configuration file of the mixgate boundary message switch", "docs/configuration.md",
          "man/mixgate.conf.5")]


def t_pages_current():
    for sect, name, summary, src, dst in PAGES:
        r = subprocess.run([PY, os.path.join(SRC, "scripts/md2man.py"), "--check", sect, name, summary,
                            os.path.join(SRC, src), os.path.join(SRC, dst)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def t_pages_format_cleanly():
    for _, _, _, _, dst in PAGES:
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(SRC, dst)], capture_output=True,
                           text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and not r.stderr.strip(), "%s: %s" % (dst, r.stderr)


def t_every_key_documented():
    src = open(os.path.join(SRC, "mta/config.c")).read()
    page = open(os.path.join(SRC, "docs/configuration.md")).read()
    roff = open(os.path.join(SRC, "man/mixgate.conf.5")).read()
    missing = []
    tables = re.findall(r"static const char \*const (\w+_keys)\[\] = \{(.*?)\};", src, re.S)
    assert len(tables) >= 6, "the key tables of mta/config.c were not found"
    for table, body in tables:
        for key in re.findall(r'"([a-z0-9_]+)"', body):
            documented = re.search(r"`%s(`|\s|=)" % key, page) or re.search(r"^## %s$" % key, page, re.M)
            in_man = ("\\fB" + key.replace("-", "\\-")) in roff or ('.SH "%s"' % key.upper()) in roff
            if not (documented and in_man):
                missing.append("%s.%s" % (table, key))
    assert not missing, "keys the loader accepts but mixgate.conf(5) does not document: %s" % missing


def t_every_command_in_mixgate_1():
    out = subprocess.run([MIXGATE, "help"], capture_output=True, text=True).stdout
    cmds = re.findall(r"^  (\S+)\s", out.split("commands:", 1)[1], re.M)
    assert "queue" in cmds and "peers" in cmds, cmds
    roff = open(os.path.join(SRC, "man/mixgate.1")).read()
    missing = [c for c in cmds if '.SS "%s"' % c.replace("-", "\\-") not in roff]
    assert not missing, "commands without a section in mixgate(1): %s" % missing


run([("pages_current", t_pages_current), ("pages_format_cleanly", t_pages_format_cleanly),
     ("every_key_documented", t_every_key_documented), ("every_command_in_mixgate_1", t_every_command_in_mixgate_1)])
