#!/usr/bin/python3
"""aiosmtpd_sink: an SMTP peer for the mixgate client tests, built on aiosmtpd (not ours).

Usage: aiosmtpd_sink.py PORTFILE LOGFILE [--tls CERT KEY] [--require-tls] [--utf8]
Listens on 127.0.0.1 on a free port, writes the port number to PORTFILE, and appends one JSON
line per accepted message to LOGFILE. Runs until SIGTERM.
Recipient rules: local part starting with "temp" -> 450 4.2.1, "perm" -> 550 5.1.1.
Content containing REJECTME -> 554 5.6.0 for the message.
"""
import asyncio
import json
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, log):
        self.log = log

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("temp"):
            return "450 4.2.1 Mailbox busy, try later"
        if local.startswith("perm"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or b""
        if b"REJECTME" in content:
            return "554 5.6.0 Content rejected"
        with open(self.log, "a") as f:
            f.write(json.dumps({
                "from": envelope.mail_from,
                "mail_options": envelope.mail_options,
                "rcpts": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "content": content.decode("utf-8", "replace"),
            }) + "\n")
        return "250 2.0.0 Queued"


async def main():
    portfile, log = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    ctx = None
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
    require = "--require-tls" in args
    utf8 = "--utf8" in args
    loop = asyncio.get_running_loop()
    handler = Handler(log)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", tls_context=ctx, require_starttls=require,
                     enable_SMTPUTF8=utf8, decode_data=False),
        "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(portfile + ".tmp", portfile)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    server.close()


asyncio.run(main())
