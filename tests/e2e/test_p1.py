#!/usr/bin/python3
"""End to end, X.400 P1 inbound: the shipped default configuration (etc/mixgate.conf) with its
P1 listener and peer variables set to the names of the real captures, and each real initiator
stream of shared/vectors/x400/streams replayed over TCP into mixgated. We must give the real
responder's outcome (the same SPDU sequence: bind accepted / refused with authentication-error
/ the message queued, durable and only then confirmed), deliver the P772 content byte for byte
through the file channel (with its envelope summary), and tshark must find nothing malformed in
what we sent."""
import os, socket, struct, subprocess, time
from harness import *

CONF = os.path.join(SRC, "etc/mixgate.conf")
VEC = os.environ.get("MIXGATE_VECTORS", "")
STREAMS = os.path.join(VEC, "x400", "streams")
PEER = {"MIXGATE_PEER_MTA": "percival.smhs.co.uk", "MIXGATE_PEER_PASSWORD": "excalibur",
        "MIXGATE_MTA_NAME": "guinevere.smhs.co.uk", "MIXGATE_MTA_PASSWORD": "merlin"}


def tpkts(b):
    out, i = [], 0
    while i + 4 <= len(b):
        n = (b[i + 2] << 8) | b[i + 3]
        assert n >= 4 and i + n <= len(b), "bad TPKT length at %d" % i
        out.append(b[i:i + n])
        i += n
    assert i == len(b), "trailing bytes after the last TPKT"
    return out


def signature(b):
    """The outcome as a sequence: COTP TPDU codes, and for data the session SPDU (with the
    SPDU concatenated after a GIVE/PLEASE TOKENS)."""
    sig, tsdu = [], b""
    for p in tpkts(b):
        code = p[5] & 0xf0
        if code != 0xf0:
            sig.append("%02x" % code)
            continue
        tsdu += p[7:]          # DT TPDUs up to the one with EOT are one TSDU (segmentation
        if not p[6] & 0x80:    # is the TPDU size, not the outcome)
            continue
        si = tsdu[0]
        s = "DT:%d" % si
        if si in (1, 2) and len(tsdu) > 2:
            s += "+%d" % tsdu[2 + tsdu[1]]
        sig.append(s)
        tsdu = b""
    return sig


def start_daemon(wd, extra=None):
    p1port = free_port()
    env = dict(PEER)
    env["MIXGATE_P1_LISTEN"] = "127.0.0.1:%d" % p1port
    env.update(extra or {})
    d = Daemon(wd, CONF, env=env).start()
    wait_port(p1port, proc=d.proc)
    d.p1port = p1port
    return d


def replay(port, data):
    """Send the initiator's TPKTs one by one, reading whatever comes back after each, until
    the responder closes. Returns [(from_us, bytes)] in order."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
    frames, got = [], bytearray()

    def drain(until_closed=False, wait=0.0):
        end = time.time() + wait
        while True:
            s.settimeout(max(0.05, end - time.time()) if not until_closed else 10 * SLOW)
            try:
                x = s.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not x:
                return True
            got.extend(x)
            # keep whole TPKTs as frames
            while len(got) >= 4 and len(got) >= ((got[2] << 8) | got[3]):
                n = (got[2] << 8) | got[3]
                frames.append((True, bytes(got[:n])))
                del got[:n]

    closed = False
    pk = tpkts(data)
    for i, p in enumerate(pk):
        if closed:
            break
        s.sendall(p)
        frames.append((False, p))
        # wait for an answer where the real responder gave one; the last one: until closed
        closed = drain(until_closed=(i == len(pk) - 1), wait=0.3 * SLOW)
    if not closed:
        drain(until_closed=True)
    s.close()
    return frames


def write_pcap(path, frames, sport=102, cport=40102):
    """frames [(from_server, bytes)] as Ethernet/IPv4/TCP, so tshark reads TPKT on port 102."""
    seq = {True: 1000, False: 5000}
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        t = 1
        for from_srv, b in frames:
            src, dst = (0x0a000002, 0x0a000001) if from_srv else (0x0a000001, 0x0a000002)
            sp, dp = (sport, cport) if from_srv else (cport, sport)
            tcp = struct.pack("!HHIIBBHHH", sp, dp, seq[from_srv], seq[not from_srv], 0x50, 0x18, 65535, 0, 0)
            ipl = 20 + len(tcp) + len(b)
            ip = struct.pack("!BBHHHBBHII", 0x45, 0, ipl, 0, 0, 64, 6, 0, src, dst)
            eth = b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00"
            pkt = eth + ip + tcp + b
            f.write(struct.pack("<IIII", t, 0, len(pkt), len(pkt)) + pkt)
            seq[from_srv] += len(b)
            t += 1


def tshark_clean(path):
    """tshark's decode; every frame we sent (source port 102) without a malformed mark or an
    expert error/warning."""
    r = subprocess.run(["tshark", "-r", path, "-V"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.split("\nFrame ")
    ours = [b for b in blocks if "Src Port: 102" in b]
    assert ours, "no frame of ours in the pcap"
    for b in ours:
        for bad in ("Malformed", "[Expert Info (Error", "[Expert Info (Warning"):
            assert bad not in b, "tshark: %s in a frame we sent:\n%s" % (bad, b[:3000])
    return r.stdout


def case(name, wd, d):
    init = open(os.path.join(STREAMS, "wsample-%s-initiator.tpkt" % name), "rb").read()
    real = open(os.path.join(STREAMS, "wsample-%s-responder.tpkt" % name), "rb").read()
    frames = replay(d.p1port, init)
    ours = b"".join(b for s, b in frames if s)
    assert signature(ours) == signature(real), "%s: we answered %s, the real responder %s\n%s" % (
        name, signature(ours), signature(real), d.tail())
    pcap = wd.sub(name + ".pcap")
    write_pcap(pcap, frames)
    return tshark_clean(pcap)


def need_vectors():
    if not os.path.isdir(STREAMS):
        raise AssertionError("MIXGATE_VECTORS/x400/streams missing: cannot replay the captures")


def t_ping_success():
    need_vectors()
    wd = Workdir("p1-ping-success")
    d = start_daemon(wd)
    try:
        text = case("ping-success", wd, d)
        assert "responder-name: guinevere.smhs.co.uk" in text, "our bind result names us"
        log = d.log_text()
        assert 'event=p1_bind_accepted' in log and 'mta="percival.smhs.co.uk"' in log, d.tail()
        assert "event=p1_released" in log, d.tail()
    finally:
        d.stop()


def t_ping_refuse():
    need_vectors()
    wd = Workdir("p1-ping-refuse")
    d = start_daemon(wd)
    try:
        text = case("ping-refuse", wd, d)
        assert "authentication-error" in text, "tshark should show the bind error we sent"
        assert "event=p1_bind_refused" in d.log_text() and "error=authentication-error" in d.log_text(), d.tail()
    finally:
        d.stop()


def t_unknown_peer_refused():
    """The successful ping's stream from an MTA name no peer has: authentication-error."""
    need_vectors()
    wd = Workdir("p1-unknown-peer")
    d = start_daemon(wd, {"MIXGATE_PEER_MTA": "someone.else"})
    try:
        init = open(os.path.join(STREAMS, "wsample-ping-success-initiator.tpkt"), "rb").read()
        frames = replay(d.p1port, init)
        ours = b"".join(b for s, b in frames if s)
        assert signature(ours) == ["d0", "DT:12"], signature(ours)
        assert "no x400 peer has this MTA name" in d.log_text(), d.tail()
    finally:
        d.stop()


def t_p772_transfer_queued_then_confirmed():
    need_vectors()
    wd = Workdir("p1-p772")
    d = start_daemon(wd)
    try:
        text = case("p772-transfer", wd, d)
        log = d.log_text()
        # durable (event=received is logged after the commit) before the confirmation
        i_recv = log.find("event=received")
        i_conf = log.find("event=p1_transfer_confirmed")
        assert 0 <= i_recv < i_conf, d.tail()
        assert "proto=P1" in log
        assert 'to=<"/C=gb/ADMD= /PRMD=smhs/O=guinevere/CN=ethereal/">' in log, d.tail()
        deliver = os.path.join(d.var, "deliver")
        # the message for guinevere (its originator asked for a delivery report: that report,
        # for percival, is delivered here too)
        def for_guinevere():
            if not os.path.isdir(deliver):
                return None
            found = []
            for f in os.listdir(deliver):
                txt = os.path.join(deliver, f[:-4] + ".txt")
                if f.endswith(".ber") and os.path.exists(txt) and \
                        "Recipient: /C=gb/ADMD= /PRMD=smhs/O=guinevere/" in open(txt).read():
                    found.append(f)
            return found or None
        ber = wait_for(for_guinevere, 30, "the delivered content")
        content = open(os.path.join(deliver, ber[0]), "rb").read()
        want = open(os.path.join(VEC, "x400", "ber", "wsample-p772-content.p772"), "rb").read()
        assert content == want, "the content must be delivered byte for byte"
        summary = open(os.path.join(deliver, ber[0][:-4] + ".txt")).read()
        for line in ("MTS-Identifier: [/C=gb/ADMD= /PRMD=smhs/;percival.s:055680:20051001113050]",
                     "Originator: /C=gb/ADMD= /PRMD=smhs/O=percival/S=gal/",
                     "Recipient: /C=gb/ADMD= /PRMD=smhs/O=guinevere/CN=ethereal/",
                     "Content-Type: 1.3.26.0.4406.0.4.1", "Received-Protocol: P1"):
            assert line in summary, "summary lacks %r:\n%s" % (line, summary)
    finally:
        d.stop()


def t_p772_loop_held():
    """Our own domain already in the trace: held as a loop, not delivered (still confirmed:
    the operator sees it in the queue)."""
    need_vectors()
    wd = Workdir("p1-loop")
    d = start_daemon(wd, {"MIXGATE_X400_DOMAIN": "/C=GB/ADMD= /PRMD=SMHS/"})
    try:
        init = open(os.path.join(STREAMS, "wsample-p772-transfer-initiator.tpkt"), "rb").read()
        replay(d.p1port, init)
        wait_for(lambda: "event=p1_loop" in d.log_text(), 20, "the loop to be detected")
        r = d.cli("queue", "list")
        assert "loop detected" in r.stdout or "held" in r.stdout, r.stdout
    finally:
        d.stop()


def p1cli(*args):
    return subprocess.run([MIXGATE, "p1"] + list(args), capture_output=True, text=True, timeout=60 * SLOW)


def t_cli_ping_exit_codes():
    wd = Workdir("p1-cli-ping")
    d = start_daemon(wd, {"MIXGATE_PEER_MTA": "PEER-MTA", "MIXGATE_PEER_PASSWORD": "secret",
                          "MIXGATE_MTA_NAME": "MIXGATE", "MIXGATE_MTA_PASSWORD": "secret"})
    try:
        target = "127.0.0.1:%d" % d.p1port
        r = p1cli("ping", target, "--mta", "PEER-MTA", "--password", "secret",
                  "--peer-mta", "MIXGATE", "--peer-password", "secret")
        assert r.returncode == 0, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        for want in ("> CR", "< CC", "> DT CN", "< DT AC", "> DT FN", "< DT DN"):
            assert any(l.startswith(want) for l in lines), "transcript lacks %r:\n%s" % (want, r.stdout)
        assert 'bind accepted by "MIXGATE"' in r.stdout
        r = p1cli("ping", target, "--mta", "PEER-MTA", "--password", "wrong")
        assert r.returncode == 1 and "bind refused: authentication-error" in r.stdout, r.stdout
        # we check the responder too: a wrong answer is ours to refuse
        r = p1cli("ping", target, "--mta", "PEER-MTA", "--password", "secret", "--peer-password", "other")
        assert r.returncode == 1, r.stdout
        r = p1cli("ping", "127.0.0.1:%d" % free_port())
        assert r.returncode == 2 and "cannot connect" in r.stderr, (r.returncode, r.stderr)
        r = p1cli("ping")
        assert r.returncode == 2
    finally:
        d.stop()


def t_cli_send_all_modes():
    """mixgate p1 send into mixgated in each mode: the P772 content is delivered byte for byte
    for both recipients (one with a common name), a probe is answered from routing."""
    need_vectors()
    wd = Workdir("p1-cli-send")
    d = start_daemon(wd, {"MIXGATE_PEER_MTA": "PEER-MTA", "MIXGATE_PEER_PASSWORD": "secret"})
    content = os.path.join(VEC, "x400", "ber", "wsample-p772-content.p772")
    want = open(content, "rb").read()
    try:
        target = "127.0.0.1:%d" % d.p1port
        for i, mode in enumerate(("1988-normal", "1988-x410", "1984")):
            r = p1cli("send", target, "--mode", mode, "--mta", "PEER-MTA", "--password", "secret",
                      "--to", "/C=GB/ADMD= /PRMD=X/O=Y/S=Smith/", "--to", "/C=GB/ADMD= /PRMD=X/CN=Bob Jones/",
                      "--from", "/C=FR/ADMD= /PRMD=Z/S=op%d/" % i, "--content", content)
            assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr + d.tail()
        deliver = os.path.join(d.var, "deliver")
        bers = wait_for(lambda: [f for f in os.listdir(deliver) if f.endswith(".ber")]
                        if os.path.isdir(deliver) and len([f for f in os.listdir(deliver) if f.endswith(".ber")]) == 6
                        else None, 30, "six delivered contents")
        for f in bers:
            assert open(os.path.join(deliver, f), "rb").read() == want, f
        sums = "".join(open(os.path.join(deliver, f[:-4] + ".txt")).read() for f in bers)
        assert sums.count("Recipient: /C=GB/ADMD= /PRMD=X/CN=Bob Jones/") == 3, sums
        r = p1cli("send", target, "--probe", "--mta", "PEER-MTA", "--password", "secret",
                  "--to", "/C=GB/ADMD= /PRMD=X/S=Smith/", "--from", "/C=FR/ADMD= /PRMD=Z/S=op/")
        assert r.returncode == 0, r.stdout
        wait_for(lambda: "event=p1_probe" in d.log_text() and "answer=affirmation" in d.log_text(),
                 10, "the probe's answer")
        # the answer is a report to the probe's originator (delivered here by the file channel)
        wait_for(lambda: any("Content-Type: report" in open(os.path.join(deliver, f)).read()
                             for f in os.listdir(deliver) if f.endswith(".txt")), 20, "the probe's report")
    finally:
        d.stop()


def t_calling_address_checked():
    """A peer configured with check_calling_address binds only from its host."""
    wd = Workdir("p1-calling-address")
    conf = write(wd.sub("strict.conf"), open(CONF).read().replace(
        'our_password = "${MIXGATE_MTA_PASSWORD:-secret}";',
        'our_password = "${MIXGATE_MTA_PASSWORD:-secret}";\n    host = "192.0.2.1";\n'
        '    check_calling_address = true;'))
    p1port = free_port()
    d = Daemon(wd, conf, env={"MIXGATE_P1_LISTEN": "127.0.0.1:%d" % p1port}).start()
    try:
        wait_port(p1port, proc=d.proc)
        r = p1cli("ping", "127.0.0.1:%d" % p1port, "--mta", "PEER-MTA", "--password", "secret")
        assert r.returncode == 1 and "authentication-error" in r.stdout, r.stdout
        assert "calling address is not the peer's host" in d.log_text(), d.tail()
    finally:
        d.stop()


def t_busy_at_max_associations():
    """A p1 listener with max_sessions = 1: while one association is bound, the next bind gets
    the bind error busy."""
    need_vectors()
    wd = Workdir("p1-busy")
    conf = write(wd.sub("one.conf"), open(CONF).read().replace(
        'protocol = "p1";', 'protocol = "p1";\n    max_sessions = 1;'))
    p1port = free_port()
    d = Daemon(wd, conf, env=dict(PEER, MIXGATE_P1_LISTEN="127.0.0.1:%d" % p1port)).start()
    try:
        wait_port(p1port, proc=d.proc)
        init = tpkts(open(os.path.join(STREAMS, "wsample-ping-success-initiator.tpkt"), "rb").read())
        s = socket.create_connection(("127.0.0.1", p1port), timeout=10 * SLOW)
        s.sendall(init[0] + init[1])            # CR, CN: bound, and kept open
        wait_for(lambda: "event=p1_bind_accepted" in d.log_text(), 20, "the first bind")
        r = p1cli("ping", "127.0.0.1:%d" % p1port, "--mta", "percival.smhs.co.uk", "--password", "excalibur")
        assert r.returncode == 1 and "bind refused: busy" in r.stdout, r.stdout + d.tail()
        s.close()
        wait_for(lambda: p1cli("ping", "127.0.0.1:%d" % p1port, "--mta", "percival.smhs.co.uk",
                               "--password", "excalibur").returncode == 0, 20, "a bind once the first is gone")
    finally:
        d.stop()


def t_ndr_for_unroutable_recipient():
    """A recipient no route takes: the message is queued for the others and a non-delivery
    report (unable-to-transfer, unrecognised-OR-name) goes to the originator, both durable
    before the transfer is confirmed."""
    need_vectors()
    wd = Workdir("p1-ndr")
    conf = write(wd.sub("gb-only.conf"), open(CONF).read().replace(
        '{ default = true; chain = [ "local" ]; }', '{ or_address = "/C=GB/"; chain = [ "local" ]; }'))
    p1port = free_port()
    d = Daemon(wd, conf, env={"MIXGATE_P1_LISTEN": "127.0.0.1:%d" % p1port}).start()
    try:
        wait_port(p1port, proc=d.proc)
        content = os.path.join(VEC, "x400", "ber", "wsample-p772-content.p772")
        r = p1cli("send", "127.0.0.1:%d" % p1port, "--mta", "PEER-MTA", "--password", "secret",
                  "--to", "/C=GB/ADMD= /PRMD=X/S=known/", "--to", "/C=FR/ADMD= /PRMD=Y/S=nowhere/",
                  "--from", "/C=GB/ADMD= /PRMD=X/S=sender/", "--content", content)
        assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + d.tail()
        log = d.log_text()
        assert 'event=p1_rcpt_refused' in log and 'to="/C=FR/ADMD= /PRMD=Y/S=nowhere/"' in log, d.tail()
        assert "x400_reason=1 x400_diagnostic=0" in log
        assert log.find("event=p1_report_queued") < log.find("event=p1_transfer_confirmed"), d.tail()
        deliver = os.path.join(d.var, "deliver")
        sums = wait_for(lambda: [open(os.path.join(deliver, f)).read() for f in os.listdir(deliver)
                                 if f.endswith(".txt")] if os.path.isdir(deliver) and
                        len([f for f in os.listdir(deliver) if f.endswith(".txt")]) == 2 else None,
                        30, "the message and the report")
        report = [x for x in sums if "Content-Type: report" in x]
        assert len(report) == 1 and "Recipient: /C=GB/ADMD= /PRMD=X/S=sender/" in report[0], sums
        assert any("Recipient: /C=GB/ADMD= /PRMD=X/S=known/" in x for x in sums), sums
    finally:
        d.stop()


def scripted_responder(stream):
    """A TCP server answering each initiator TSDU that wants an answer (CR, CN, a minor or
    major synchronisation point or activity end, FN) with the next TSDU of the real responder
    stream. Returns (port, thread, record) where record collects what the initiator sent."""
    import threading
    answers, cur, tsdu = [], [], b""
    for p in tpkts(stream):
        cur.append(p)
        if (p[5] & 0xf0) != 0xf0 or p[6] & 0x80:
            answers.append(b"".join(cur))
            cur = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    record = []

    def serve():
        c, _ = srv.accept()
        c.settimeout(20 * SLOW)
        buf, tsdu = b"", b""
        try:
            while answers:
                x = c.recv(65536)
                if not x:
                    break
                buf += x
                while len(buf) >= 4 and len(buf) >= ((buf[2] << 8) | buf[3]):
                    n = (buf[2] << 8) | buf[3]
                    p, buf = buf[:n], buf[n:]
                    record.append(p)
                    code = p[5] & 0xf0
                    if code == 0xe0:
                        c.sendall(answers.pop(0))
                        continue
                    if code != 0xf0:
                        continue
                    tsdu += p[7:]
                    if not p[6] & 0x80:
                        continue
                    si = tsdu[0]
                    if si in (1, 2) and len(tsdu) > 2:
                        si = tsdu[2 + tsdu[1]]
                    tsdu = b""
                    if si in (13, 41, 49, 9):   # CN, MAP/AE, MIP, FN
                        c.sendall(answers.pop(0))
            # out of answers: stay connected and silent until the initiator gives up
            while c.recv(65536):
                pass
        finally:
            c.close()
            srv.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return port, th, record


def t_cli_against_real_responder():
    """Initiator replay: `mixgate p1 ping` and `send` against the real responder's recorded
    answers (ping success, refusal, the P772 transfer)."""
    need_vectors()
    real = lambda n: open(os.path.join(STREAMS, "wsample-%s-responder.tpkt" % n), "rb").read()
    common = ["--mta", "percival.smhs.co.uk", "--password", "excalibur",
              "--peer-mta", "guinevere.smhs.co.uk", "--peer-password", "merlin"]
    port, th, _ = scripted_responder(real("ping-success"))
    r = p1cli("ping", "127.0.0.1:%d" % port, *common)
    th.join(10)
    assert r.returncode == 0 and 'bind accepted by "guinevere.smhs.co.uk"' in r.stdout, r.stdout + r.stderr
    port, th, _ = scripted_responder(real("ping-refuse"))
    r = p1cli("ping", "127.0.0.1:%d" % port, *common)
    th.join(10)
    assert r.returncode == 1 and "authentication-error" in r.stdout, r.stdout + r.stderr
    port, th, rec = scripted_responder(real("p772-transfer"))
    content = os.path.join(VEC, "x400", "ber", "wsample-p772-content.p772")
    r = p1cli("send", "127.0.0.1:%d" % port, *common, "--to", "/C=gb/ADMD= /PRMD=smhs/O=guinevere/CN=ethereal/",
              "--from", "/C=gb/ADMD= /PRMD=smhs/O=percival/S=gal/", "--content", content)
    th.join(10)
    assert r.returncode == 0 and "transfer confirmed" in r.stdout, r.stdout + r.stderr


if __name__ == "__main__":
    run([(f.__name__[2:], f) for f in (t_ping_success, t_ping_refuse, t_unknown_peer_refused,
                                        t_p772_transfer_queued_then_confirmed, t_p772_loop_held,
                                        t_cli_ping_exit_codes, t_cli_send_all_modes,
                                        t_cli_against_real_responder, t_ndr_for_unroutable_recipient,
                                        t_calling_address_checked, t_busy_at_max_associations)])
