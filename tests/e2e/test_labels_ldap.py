#!/usr/bin/python3
"""End to end: recipients' clearances from a real LDAP directory (slapd started here, on
127.0.0.1 and a free port, with entries holding an X.841 clearance attribute). A cleared
recipient gets the message, an uncleared one, one whose entry has no clearance and one without
an entry do not; the directory going away mid-run defers (never allows), and the message is
delivered once it is back. Every decision is an audit record."""
import base64, os, re, shutil, signal, subprocess, time
from harness import *
from test_labels import (FOOD, MILK, OK, LACT, audit, custom_conf, labels_daemon, label_cli, msg, outcome,
                         qid_of, queue_empty, smtp_try, VEC)

SLAPD = "/usr/sbin/slapd"
BER = os.path.join(VEC, "generated-ber")


class Slapd:
    def __init__(self, wd):
        self.dir = wd.sub("slapd")
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.port = free_port()
        self.proc = None
        write(os.path.join(self.dir, "schema"),
              "attributetype ( 2.5.4.55 NAME 'clearance' DESC 'X.841 clearance'\n"
              "  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )\n")
        self.conf = write(os.path.join(self.dir, "slapd.conf"), "\n".join([
            "include /etc/ldap/schema/core.schema", "include /etc/ldap/schema/cosine.schema",
            "include /etc/ldap/schema/inetorgperson.schema", "include %s/schema" % self.dir,
            "pidfile %s/slapd.pid" % self.dir, "modulepath /usr/lib/ldap", "moduleload back_mdb",
            "database mdb", 'suffix "dc=example,dc=test"', 'rootdn "cn=admin,dc=example,dc=test"',
            "rootpw secret", "directory %s/db" % self.dir, "access to * by * read", ""]))

        def person(cn, clearance_file):
            e = ("dn: cn=%s,dc=example,dc=test\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\n"
                 "cn: %s\nsn: %s\nmail: %s@ldap.test\n" % (cn, cn, cn, cn))
            if clearance_file:
                with open(clearance_file, "rb") as f:
                    e += "clearance:: %s\n" % base64.b64encode(f.read()).decode()
            return e + "\n"
        ldif = ("dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n\n" +
                person("ok", os.path.join(BER, "food-clearance-all-okay.ber")) +
                person("lact", os.path.join(BER, "food-clearance-lactose-intolerant.ber")) +
                person("plain", None))
        lf = write(os.path.join(self.dir, "data.ldif"), ldif)
        r = subprocess.run(["slapadd", "-f", self.conf, "-l", lf], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    def start(self):
        log = open(os.path.join(self.dir, "slapd.log"), "ab")
        self.proc = track(subprocess.Popen([SLAPD, "-f", self.conf, "-h", "ldap://127.0.0.1:%d/" % self.port, "-d", "0"],
                                           stdout=log, stderr=log))
        log.close()
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


def t_ldap_clearances():
    assert os.path.exists(SLAPD), "slapd is not installed (scripts/install-deps.sh --test)"
    wd = Workdir("labels-ldap")
    ldap = Slapd(wd).start()
    sink = Sink(wd).start()
    conf = custom_conf(wd, '    { listener = "smtp"; extract = [ "x-x411" ]; }',
                       extra_labels='  ldap = { uri = "ldap://127.0.0.1:%d"; base = "dc=example,dc=test"; timeout = 3; };\n'
                       % ldap.port)
    d = labels_daemon(wd, sink, FOOD, clearances="", conf=conf).start()
    milk = label_cli("convert", "--spif", FOOD, "--to", "x-x411", MILK).encode() + b"\r\n"
    try:
        code, text = smtp_try(d.port, "a@orig.test", ["ok@ldap.test", "lact@ldap.test", "plain@ldap.test",
                                                      "nobody@ldap.test"], msg("four", milk))
        assert code == 250, (code, text)
        qid = qid_of(text)
        wait_for(lambda: queue_empty(d), 60, "the queue to drain")
        got = [m["rcpt_tos"] for m, c in sink.messages() if b"X-Test-Id: four\r\n" in c]
        assert got == [["ok@ldap.test"]], got
        recs = {r["rcpt"]: r for r in audit(d, "--qid", qid) if r["decision"].startswith("access-")}
        assert recs["ok@ldap.test"]["decision"] == "access-granted", recs
        assert recs["lact@ldap.test"]["decision"] == "access-denied" and "Lactose" in recs["lact@ldap.test"]["reason"]
        assert "has no clearance" in recs["plain@ldap.test"]["reason"], recs
        assert "no entry" in recs["nobody@ldap.test"]["reason"] or "no clearance" in recs["nobody@ldap.test"]["reason"]

        # the directory goes away: deferred, not allowed
        ldap.stop()
        code, text = smtp_try(d.port, "a@orig.test", ["ok@ldap.test"], msg("away", milk))
        q2 = qid_of(text)
        wait_for(lambda: any(r["decision"] == "access-deferred" for r in audit(d, "--qid", q2)), 60,
                 "the deferral")
        assert re.search(r"event=deferred qid=%s .*4\.7\.1" % q2, d.log_text()), d.tail()
        assert outcome(d, sink, "away", "ok@ldap.test", q2) is None
        # ... and back: delivered at a retry
        ldap.start()
        wait_for(lambda: outcome(d, sink, "away", "ok@ldap.test", q2) == "delivered", 90, "delivery after the directory")
        assert [r["decision"] for r in audit(d, "--qid", q2) if r["decision"] == "access-granted"] == ["access-granted"]
    finally:
        d.stop()
        sink.stop()
        ldap.stop()


if __name__ == "__main__":
    run([("ldap_clearances", t_ldap_clearances)])
