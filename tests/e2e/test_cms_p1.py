#!/usr/bin/python3
"""End to end: STANAG 4406 Annex B triple wrap between two mixgates over P1, both running
etc/examples/x400-triple-wrap.conf: A (alice's key signs inside and outside, carol's
certificate is the peer gateway's) wraps mail for /PRMD=X/ before its p1 channel; B (carol's
key) opens it (decrypt, verify, strip) before its file channel. `mixgate p1 send` hands A a P772 content; what crosses from A to B (through a
recording relay in this test) is CMS: the MTS envelope's content type id-ct-contentInfo
(RFC 3855), the content a DER ContentInfo (SignedData over EnvelopedData over SignedData over
the P772 content, RFC 3854), which tshark dissects with no malformed packet and no cleartext;
Bouncy Castle verifies, decrypts (carol's key) and verifies again the ContentInfo as it crossed the
wire; B's file channel gets the original P772 content byte for byte; both audit stores say what was
done (signed, encrypted, x400-content-protected at A; decrypted, both signatures verified,
x400-content-restored at B).
decrypt_and_relay_on_over_p1: B relays the opened content on over P1 to C, its envelope
retyped to P772 (tshark checks it), also for a P772 whose heading carries no STANAG 4406
extension (the type is the one the content version says, the inner eContentType B opened,
not a guess from the heading)."""
import os, re, shutil, socket, subprocess, threading
from harness import *
import bc
from test_cms import P, audit
from test_p1 import write_pcap

EXAMPLE = os.path.join(SRC, "etc/examples/x400-triple-wrap.conf")
VEC = os.environ.get("MIXGATE_VECTORS", "")
P772 = os.path.join(VEC, "x400", "ber", "wsample-p772-content.p772")
# an IPM whose heading has no STANAG 4406 extension: sent as P772 it must stay P772
PLAIN_IPM = os.path.join(SRC, "test-vectors", "mixer", "smtp", "plain.p22")


def gw_env(wd, me, peer, my_mta, peer_mta, listen, relay, domain, remote_or):
    return {"MIXGATE_KEY": wd.sub(me + ".key"), "MIXGATE_CERT": wd.sub(me + ".pem"),
            "MIXGATE_PEER_CERT": wd.sub(peer + ".pem"), "MIXGATE_CA": wd.sub("ca.pem"),
            "MIXGATE_MTA_NAME": my_mta, "MIXGATE_PEER_MTA": peer_mta, "MIXGATE_P1_LISTEN": "127.0.0.1:%d" % listen,
            "MIXGATE_P1_RELAY": "127.0.0.1:%d" % relay, "MIXGATE_X400_DOMAIN": domain,
            "MIXGATE_REMOTE_OR": remote_or, "MIXGATE_RETRY_MIN": "1"}


class Recorder:
    """A TCP relay from A to B that keeps every byte each way, cut into whole TPKTs in the
    order they passed (for a pcap tshark reads as RFC 1006 on port 102)."""

    def __init__(self, target_port):
        self.target = target_port
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.frames = []           # (from_server, tpkt bytes)
        self.lock = threading.Lock()
        self.threads = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            for src, dst, from_server in ((c, s, False), (s, c, True)):
                t = threading.Thread(target=self.pump, args=(src, dst, from_server), daemon=True)
                t.start()
                self.threads.append(t)

    def pump(self, src, dst, from_server):
        buf = b""
        while True:
            try:
                b = src.recv(65536)
            except OSError:
                b = b""
            if not b:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += b
            with self.lock:
                while len(buf) >= 4 and len(buf) >= ((buf[2] << 8) | buf[3]):
                    n = (buf[2] << 8) | buf[3]
                    if n < 4:
                        break
                    self.frames.append((from_server, buf[:n]))
                    buf = buf[n:]
            dst.sendall(b)

    def close(self):
        self.ls.close()

    def sent_by_a(self):
        with self.lock:
            return b"".join(b for s, b in self.frames if not s)


def t_triple_wrap_over_p1():
    assert os.path.exists(P772), "MIXGATE_VECTORS/x400/ber/wsample-p772-content.p772 missing"
    wd = Workdir("cms-p1-triple")
    for n in ("alice.key", "alice.pem", "carol.key", "carol.pem", "ca.pem"):
        shutil.copy(P(n), wd.sub(n))
    pa, pb = free_port(), free_port()
    # B: the recipients behind A are not ours; mail for /PRMD=X/ arriving here is opened
    # (the example listens for P1 only: the harness waits for that port)
    b = Daemon(wd, EXAMPLE, var=wd.sub("vb"), port=pb,
               env=gw_env(wd, "carol", "alice", "MTA-B", "MTA-A", pb, 1, "/C=XX/ADMD= /PRMD=B/",
                          "/C=XX/ADMD= /PRMD=A/"))
    b.log = wd.sub("b.log")
    b.start()
    wait_port(pb, proc=b.proc)
    rec = Recorder(pb)
    # A: /PRMD=X/ is behind B: triple wrapped and relayed over P1 (through the recorder)
    a = Daemon(wd, EXAMPLE, var=wd.sub("va"), port=pa,
               env=gw_env(wd, "alice", "carol", "MTA-A", "MTA-B", pa, rec.port, "/C=XX/ADMD= /PRMD=A/",
                          "/C=GB/ADMD= /PRMD=X/"))
    a.log = wd.sub("a.log")
    try:
        a.start()
        wait_port(pa, proc=a.proc)
        r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:%d" % pa, "--mta", "MTA-B", "--password", "secret",
                            "--to", "/C=GB/ADMD= /PRMD=X/O=Y/S=Wrapped/", "--from", "/C=FR/ADMD= /PRMD=Z/S=op/",
                            "--content", P772], capture_output=True, text=True, timeout=120 * SLOW)
        assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr + a.tail()
        deliver = os.path.join(b.var, "deliver")
        files = wait_for(lambda: sorted(os.path.join(deliver, f) for f in os.listdir(deliver) if f.endswith(".ber"))
                         if os.path.isdir(deliver) and any(f.endswith(".ber") for f in os.listdir(deliver)) else None,
                         60, "the delivery at B\n" + a.tail(20) + "\n" + b.tail(20))
        original = open(P772, "rb").read()
        assert open(files[0], "rb").read() == original, "B did not get the original P772 content back"
        # the wire: CMS only, typed so in the envelope
        wire = rec.sent_by_a()
        probe = original[len(original) // 2:len(original) // 2 + 24]
        assert probe not in wire, "P772 cleartext on the wire between the gateways"
        ct_info = bytes.fromhex("060b2a864886f70d0109100106")   # OID id-ct-contentInfo
        assert ct_info in wire, "the P1 envelope's content type is not id-ct-contentInfo"
        pcap = wd.sub("a-to-b.pcap")
        with rec.lock:
            write_pcap(pcap, list(rec.frames))
        if shutil.which("tshark"):
            t = subprocess.run(["tshark", "-r", pcap, "-V"], capture_output=True, text=True, timeout=120)
            assert t.returncode == 0, t.stderr
            assert "Malformed" not in t.stdout, [l for l in t.stdout.splitlines() if "Malformed" in l][:5]
            # the envelope names the CMS type; the content dissects as the outer SignedData
            # whose eContent is the EnvelopedData; the P772 type is inside the encryption
            for want in ("content-type: extended (1) (id-ct-contentInfo)", "ContentInfo (id-signedData)",
                         "encapContentInfo (id-envelopedData)", "encryptedContent"):
                assert want in t.stdout, "%r not in tshark's dissection:\n%s" % (want, t.stdout[-3000:])
            assert "1.3.26.0.4406.0.4.1" not in t.stdout, "the protected content's type shows outside"
        else:
            raise AssertionError("tshark missing (scripts/install-deps.sh --test installs it)")
        # Bouncy Castle reads the channel's triple wrap as it crossed the wire (RFC 3854 binary
        # nesting): alice's outer signature over an EnvelopedData, opened with carol's key, then
        # alice's inner signature over the P772 content, typed as P772
        with rec.lock:
            stream = bc.cotp_payload([t for s, t in rec.frames if not s])
        cis = bc.content_infos(stream, bytes.fromhex("06092a864886f70d010702"))   # id-signedData
        assert len(cis) == 1, "%d signed ContentInfos in what A sent" % len(cis)
        open(wd.sub("bc0.der"), "wb").write(cis[0])
        v1 = bc.run("verify", wd.sub("bc0.der"), wd.sub("bc1.der"), wd.sub("ca.pem"))
        assert "econtent-type=1.2.840.113549.1.7.3" in v1 and re.search(r"signer=.*CN=alice", v1), v1
        bc.run("decrypt", wd.sub("bc1.der"), wd.sub("bc2.der"), wd.sub("carol.pem"), wd.sub("carol.key"))
        v2 = bc.run("verify", wd.sub("bc2.der"), wd.sub("bc3.p772"), wd.sub("ca.pem"))
        assert "econtent-type=1.3.26.0.4406.0.4.1" in v2 and re.search(r"signer=.*CN=alice", v2), v2
        assert open(wd.sub("bc3.p772"), "rb").read() == original, "BC's inner content is not the P772 sent"
        # what each side did
        da = [x["decision"] for x in audit(a)]
        for want in ("signed", "encrypted", "x400-content-protected"):
            assert want in da, "A's audit lacks %s: %r" % (want, da)
        recs_b = audit(b)
        db = [x["decision"] for x in recs_b]
        assert "decrypted" in db and db.count("signature-verified") == 2 and "x400-content-restored" in db, db
        restored = [x for x in recs_b if x["decision"] == "x400-content-restored"][0]
        assert "1.3.26.0.4406.0.4.1" in restored.get("reason", ""), restored
    finally:
        for d in (a, b):
            if d.proc:
                d.stop(expect_rc=None)
        rec.close()


def b_relays_to_c(wd):
    """B of x400-triple-wrap.conf that opens mail for /PRMD=X/ and relays it on over P1 to C
    (its x400 peer mta-c) instead of delivering it itself."""
    text = open(EXAMPLE).read()
    peer_c = """  {
    name = "mta-c";
    type = "x400";
    mta_name = "MTA-C";
    password = "secret";
    our_mta_name = "${MIXGATE_MTA_NAME}";
    our_password = "secret";
    host = "${MIXGATE_C_RELAY}";
    idle_timeout = 60;
  },
  {
    name = "peer-gateway";"""
    new = text.replace("""  {
    name = "peer-gateway";""", peer_c, 1)
    new = new.replace('{ default = true; chain = [ "unprotect", "local" ]; }',
                      '{ or_address = "/C=GB/ADMD= /PRMD=X/"; chain = [ "unprotect", "p1-out" ]; peer = "mta-c"; },\n'
                      '  { default = true; chain = [ "unprotect", "local" ]; }', 1)
    assert new.count("mta-c") == 2, "x400-triple-wrap.conf changed: adapt the test"
    path = wd.sub("b-relay.conf")
    open(path, "w").write(new)
    return path


def t_decrypt_and_relay_on_over_p1():
    """A triple wraps a P772 content for /PRMD=X/ and relays it to B over P1 (typed
    id-ct-contentInfo); B opens it (decrypt, verify, strip) and relays it on over P1 to C, a
    plain X.400 MTA: the envelope B sends names the content B now sends, P772, not the CMS
    type the message arrived with (RFC 3855 types the content carried). C delivers the
    original P772 content byte for byte; tshark reads B's envelope as P772."""
    assert os.path.exists(P772), "MIXGATE_VECTORS/x400/ber/wsample-p772-content.p772 missing"
    wd = Workdir("cms-p1-relay-on")
    for n in ("alice.key", "alice.pem", "carol.key", "carol.pem", "ca.pem"):
        shutil.copy(P(n), wd.sub(n))
    pa, pb, pc = free_port(), free_port(), free_port()
    c = Daemon(wd, os.path.join(SRC, "etc/mixgate.conf"), var=wd.sub("vc"), port=pc,
               env={"MIXGATE_MTA_NAME": "MTA-C", "MIXGATE_PEER_MTA": "MTA-B",
                    "MIXGATE_P1_LISTEN": "127.0.0.1:%d" % pc,
                    "MIXGATE_SMTP_LISTEN": "127.0.0.1:%d" % free_port(),
                    "MIXGATE_X400_DOMAIN": "/C=GB/ADMD= /PRMD=X/"})
    c.log = wd.sub("c.log")
    rec = None
    b = a = None
    try:
        c.start()
        wait_port(pc, proc=c.proc)
        rec = Recorder(pc)
        benv = gw_env(wd, "carol", "alice", "MTA-B", "MTA-A", pb, 1, "/C=XX/ADMD= /PRMD=B/",
                      "/C=XX/ADMD= /PRMD=A/")
        benv["MIXGATE_C_RELAY"] = "127.0.0.1:%d" % rec.port
        b = Daemon(wd, b_relays_to_c(wd), var=wd.sub("vb"), port=pb, env=benv)
        b.log = wd.sub("b.log")
        b.start()
        wait_port(pb, proc=b.proc)
        a = Daemon(wd, EXAMPLE, var=wd.sub("va"), port=pa,
                   env=gw_env(wd, "alice", "carol", "MTA-A", "MTA-B", pa, pb, "/C=XX/ADMD= /PRMD=A/",
                              "/C=GB/ADMD= /PRMD=X/"))
        a.log = wd.sub("a.log")
        a.start()
        wait_port(pa, proc=a.proc)
        noext = wd.sub("no-heading-extension.p772")
        shutil.copy(PLAIN_IPM, noext)
        for content in (P772, noext):
            r = subprocess.run([MIXGATE, "p1", "send", "127.0.0.1:%d" % pa, "--mta", "MTA-B", "--password", "secret",
                                "--to", "/C=GB/ADMD= /PRMD=X/O=Y/S=Onward/", "--from", "/C=FR/ADMD= /PRMD=Z/S=op/",
                                "--content", content], capture_output=True, text=True, timeout=120 * SLOW)
            assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr + a.tail()
        deliver = os.path.join(c.var, "deliver")
        files = wait_for(lambda: sorted(os.path.join(deliver, f) for f in os.listdir(deliver) if f.endswith(".ber"))
                         if os.path.isdir(deliver) and len([f for f in os.listdir(deliver) if f.endswith(".ber")]) >= 2
                         else None,
                         60, "both deliveries at C\n" + a.tail(20) + "\n" + b.tail(20) + "\n" + c.tail(20))
        got = {open(f, "rb").read(): f for f in files}
        assert len(files) == 2, files
        for content in (P772, noext):
            original = open(content, "rb").read()
            assert original in got, "C did not get the original content of %s" % content
            summary = open(got[original][:-4] + ".txt").read()
            # both are P772 at C: the second although its heading has no STANAG 4406 extension
            assert "1.3.26.0.4406.0.4.1" in summary, (content, summary)
        assert "x400-content-restored" in [x["decision"] for x in audit(b)]
        wire = rec.sent_by_a()
        ct_info = bytes.fromhex("060b2a864886f70d0109100106")   # OID id-ct-contentInfo
        p772 = bytes.fromhex("06082b1a00a236000401")            # OID 1.3.26.0.4406.0.4.1
        assert ct_info not in wire, "B still names id-ct-contentInfo for the opened content"
        assert wire.count(p772) >= 2, "B's envelopes do not both name P772"
        pcap = wd.sub("b-to-c.pcap")
        with rec.lock:
            write_pcap(pcap, list(rec.frames))
        if not shutil.which("tshark"):
            raise AssertionError("tshark missing (scripts/install-deps.sh --test installs it)")
        t = subprocess.run(["tshark", "-r", pcap, "-V"], capture_output=True, text=True, timeout=120)
        assert t.returncode == 0, t.stderr
        assert "Malformed" not in t.stdout, [l for l in t.stdout.splitlines() if "Malformed" in l][:5]
        cts = [l.strip() for l in t.stdout.splitlines() if "content-type:" in l]
        # tshark names the P772 content type by its arc (1.3.26.0.4406: STANAG 4406)
        assert cts and all(l == "content-type: extended (1) (STANAG 4406)" for l in cts), cts
        assert "id-ct-contentInfo" not in t.stdout
        for d in (a, b, c):
            d.stop()
    finally:
        for d in (a, b, c):
            if d and d.proc:
                d.stop(expect_rc=None)
        if rec:
            rec.close()


if __name__ == "__main__":
    run([("triple_wrap_over_p1", t_triple_wrap_over_p1),
         ("decrypt_and_relay_on_over_p1", t_decrypt_and_relay_on_over_p1)])
