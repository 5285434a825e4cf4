#!/usr/bin/python3
"""scripted_peer: a deliberately misbehaving SMTP server for client robustness tests.

Usage: scripted_peer.py PORTFILE REPLY...
Accepts connections one at a time on 127.0.0.1. On connect it sends REPLY[0]; after each line
the client sends, the next REPLY. Python escapes are decoded ("\\r\\n"); a reply of the form
"*N:text" sends text N times. When the replies run out it closes the connection.
"""
import os
import socket
import sys


def decode(r):
    if r.startswith("*"):
        n, text = r[1:].split(":", 1)
        return decode(text) * int(n)
    return r.encode().decode("unicode_escape").encode("latin-1")


def main():
    portfile, replies = sys.argv[1], [decode(r) for r in sys.argv[2:]]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = srv.accept()
        buf = b""
        try:
            for r in replies:
                conn.sendall(r)
                while b"\n" not in buf:
                    data = conn.recv(4096)
                    if not data:
                        raise ConnectionError
                    buf += data
                buf = buf.split(b"\n", 1)[1]
        except OSError:
            pass
        conn.close()


main()
