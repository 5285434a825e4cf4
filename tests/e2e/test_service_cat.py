#!/usr/bin/python3
"""`mixgate queue cat` shows X.400 content decoded as `mixgate decode` shows it, and --raw gives
its bytes. The daemon does not take X.400 content in yet (no P1 listener), so a small fake
control socket answers the request the way mixgated's admin_queue does: envelope lines, then
"content-base64 TYPE SIZE" and the content in base64 (the P772 vector of the shared corpus)."""
import base64, socket, subprocess, tempfile, threading
from harness import *

VEC = os.path.join(os.environ.get("MIXGATE_VECTORS", "/work/shared/vectors"), "x400/ber/wsample-p772-content.p772")
QID = "1K20AAAAAAAA00"


def fake_daemon(path, content, ctype, requests):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                req = b""
                while not req.endswith(b"\n"):
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    req += chunk
                requests.append(req.decode().split())
                b64 = base64.b64encode(content).decode()
                lines = ["*** ENVELOPE RECORDS %s ***" % QID, "queue_id: %s" % QID, "sender: <a@example.org>",
                         "content_type: %s" % ctype, "*** MESSAGE CONTENTS %s ***" % QID,
                         "content-base64 %s %d" % (ctype, len(content))]
                lines += [b64[i:i + 76] for i in range(0, len(b64), 76)]
                lines += ["*** END OF MESSAGE %s ***" % QID, "=OK"]
                c.sendall(("\n".join(lines) + "\n").encode())
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv


def t_x400_content_decoded_and_raw():
    assert os.path.exists(VEC), "missing vector %s (MIXGATE_VECTORS)" % VEC
    content = open(VEC, "rb").read()
    wd = Workdir("svc-cat")
    path = wd.sub("control.sock")
    requests = []
    srv = fake_daemon(path, content, "x400-p22", requests)
    try:
        r = subprocess.run([MIXGATE, "-s", path, "queue", "cat", QID], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert requests[-1] == ["queue", "cat", QID], requests
        out = r.stdout
        assert "*** ENVELOPE RECORDS %s ***" % QID in out and "content_type: x400-p22" in out, out
        assert "P772 information object" in out and "MMInformationObject" in out, out
        assert "/C=gb/ADMD= /PRMD=smhs/O=percival/S=gal/" in out, out
        assert "content-base64" not in out and "*** END OF MESSAGE" in out
        r = subprocess.run([MIXGATE, "queue", "-s", path, "cat", QID, "--raw"], capture_output=True, timeout=60)
        assert r.returncode == 0 and r.stdout == content, (r.returncode, r.stdout[:80])
        assert requests[-1] == ["queue", "cat", QID, "--raw"], requests
    finally:
        srv.close()


run([("x400_content_decoded_and_raw", t_x400_content_decoded_and_raw)])
