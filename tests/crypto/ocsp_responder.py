#!/usr/bin/env python3
"""Loopback OCSP responder for the crypto tests (python3-cryptography, independent of OpenSSL's
CLI): answers for the certificates of the test PKI, signed by the test CA, echoing the nonce.
revoked.pem is revoked, every other certificate of the CA is good.
usage: ocsp_responder.py PKI_DIR PORTFILE NREQUESTS   (binds 127.0.0.1, port written to PORTFILE)
"""
import datetime as dt
import http.server
import os
import socketserver
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

pki, portfile, nreq = sys.argv[1], sys.argv[2], int(sys.argv[3])
load = lambda n: x509.load_pem_x509_certificate(open(os.path.join(pki, n), "rb").read())
ca = load("ca.pem")
ca_key = serialization.load_pem_private_key(open(os.path.join(pki, "ca.key"), "rb").read(), None)
certs = {c.serial_number: (n, c) for n, c in ((n, load(n)) for n in
         ("alice.pem", "alice2.pem", "bob.pem", "carol.pem", "revoked.pem", "expired.pem"))}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = ocsp.load_der_ocsp_request(body)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        entry = certs.get(req.serial_number)
        if entry is None:
            resp = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        else:
            name, cert = entry
            revoked = name == "revoked.pem"
            b = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=ca, algorithm=hashes.SHA1(),
                cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
                this_update=now - dt.timedelta(minutes=1), next_update=now + dt.timedelta(hours=1),
                revocation_time=now - dt.timedelta(days=1) if revoked else None,
                revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
            try:
                nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
                b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
            except x509.ExtensionNotFound:
                pass
            resp = b.sign(ca_key, hashes.SHA256())
        der = resp.public_bytes(serialization.Encoding.DER)
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(der)))
        self.end_headers()
        self.wfile.write(der)


with socketserver.TCPServer(("127.0.0.1", 0), Handler) as srv:
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    for _ in range(nreq):
        srv.handle_request()
