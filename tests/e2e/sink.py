#!/usr/bin/python3
"""sink.py: a next-hop SMTP server for mixgate's end-to-end tests and benchmarks.

Built on aiosmtpd (Debian's python3-aiosmtpd). Every accepted message is written atomically
to DIR as NNNNNN.eml with its envelope in NNNNNN.json. Replies can be scripted:
  --reject RE        RCPT TO addresses matching RE get 550 5.1.1
  --tempfail RE      RCPT TO addresses matching RE get 451 4.3.0
  --tempfail-data N  the first N DATA commands get 451 4.3.0 (then accept)
  --tls CERT KEY     offer STARTTLS with this certificate
  --count-only       do not write files, only count (benchmarks); prints the count at exit
Prints "READY <port>" on stdout once listening. Stops on SIGTERM.
"""
import argparse, asyncio, json, os, re, signal, ssl, sys, threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, args):
        self.args = args
        self.n = 0
        self.tempfail_left = args.tempfail_data
        self.lock = threading.Lock()
        self.reject = re.compile(args.reject) if args.reject else None
        self.tempfail = re.compile(args.tempfail) if args.tempfail else None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject.search(address):
            return "550 5.1.1 <%s>: recipient rejected by test sink" % address
        if self.tempfail and self.tempfail.search(address):
            return "451 4.3.0 <%s>: try again later (test sink)" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfail_left > 0:
                self.tempfail_left -= 1
                return "451 4.3.0 temporary failure at end of data (test sink)"
            self.n += 1
            n = self.n
        if not self.args.count_only:
            base = os.path.join(self.args.dir, "%06d" % n)
            meta = {
                "mail_from": envelope.mail_from,
                "mail_options": envelope.mail_options,
                "rcpt_tos": envelope.rcpt_tos,
                "rcpt_options": envelope.rcpt_options,
                "tls": session.ssl is not None,
                "peer": list(session.peer) if session.peer else None,
            }
            data = envelope.original_content if envelope.original_content is not None else envelope.content
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogateescape")
            for path, blob in ((base + ".eml", data), (base + ".json", json.dumps(meta).encode())):
                tmp = path + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(blob)
                os.rename(tmp, path)
        return "250 2.0.0 Ok: stored %d" % n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", default=".")
    ap.add_argument("--reject")
    ap.add_argument("--tempfail")
    ap.add_argument("--tempfail-data", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--count-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args)
    tls_ctx = None
    if args.tls:
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(args.tls[0], args.tls[1])

    port = args.port
    if port == 0:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()

    class Ctl(Controller):
        def factory(self):
            return SMTP(self.handler, tls_context=tls_ctx, require_starttls=False,
                        enable_SMTPUTF8=True, decode_data=False, data_size_limit=0,
                        ident="test-sink")

    ctl = Ctl(handler, hostname="127.0.0.1", port=port, server_hostname="sink.test")
    ctl.start()
    print("READY %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    ctl.stop()
    if args.count_only:
        print("COUNT %d" % handler.n, flush=True)


if __name__ == "__main__":
    main()
