#!/usr/bin/env python3
"""Generate the test-only PKI for mixgate's crypto tests into a directory (build tree).

Nothing here is secret: keys are made fresh at test time (CTest fixture crypto.pki) into the
build tree and never committed.  Fixed dates keep
the results deterministic in meaning: valid certificates run 2020-2099 (the CA from 1999), the expired one ended
in 2001, the CRL runs to 2099.

Output (PEM unless noted):
  ca.pem ca.key                      test CA (RSA 2048), trust anchor
  alice.pem alice.key                RSA 2048, alice@example.org, sign + encrypt
  bob.pem bob.key                    EC P-256, bob@example.org, sign + key agreement
  carol.pem carol.key                RSA, carol@example.org, second encryption recipient
  alice2.pem alice2.key              RSA, alice@example.org again, newer (key rotation)
  expired.pem expired.key            RSA, expired@example.org, valid 2000-2001
  revoked.pem revoked.key            RSA, revoked@example.org, listed in ca.crl
  rogue.pem rogue.key                self-signed RSA, not under the CA (untrusted)
  server.pem server.key              RSA under the CA for TLS server use only (no emailProtection)
  ca.crl                             CRL of the CA listing revoked.pem
  *.der *.p8 (encrypted PKCS#8, passphrase in pass.txt), alice.p12 (password in pass.txt)
"""
import datetime as dt
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASS = b"mixgate-test-only"


def utc(y, m=1, d=1):
    return dt.datetime(y, m, d, tzinfo=dt.timezone.utc)


def name(cn, email=None):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mixgate test"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def write_key(out, base, key):
    with open(os.path.join(out, base + ".key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(out, base + ".p8"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(PASS)))


def write_cert(out, base, cert):
    with open(os.path.join(out, base + ".pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out, base + ".der"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.DER))


def make_ca(out):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subj = name("mixgate test CA")
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(utc(1999)).not_valid_after(utc(2099))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    write_key(out, "ca", key)
    write_cert(out, "ca", cert)
    return key, cert


def make_ee(out, base, email, serial, ca_key, ca_cert, kind="rsa", start=utc(2020),
            end=utc(2099), self_signed=False, eku=ExtendedKeyUsageOID.EMAIL_PROTECTION):
    if kind == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
        ku = x509.KeyUsage(True, False, False, False, True, False, False, False, False)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ku = x509.KeyUsage(True, True, True, False, False, False, False, False, False)
    subj = name(base, email)
    issuer_key, issuer = (key, subj) if self_signed else (ca_key, ca_cert.subject)
    b = (x509.CertificateBuilder().subject_name(subj).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(ku, critical=True)
         .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
         .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if not self_signed:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                            critical=False)
    cert = b.sign(issuer_key, hashes.SHA256())
    write_key(out, base, key)
    write_cert(out, base, cert)
    return key, cert


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ca_key, ca = make_ca(out)
    alice_key, alice = make_ee(out, "alice", "alice@example.org", 10, ca_key, ca)
    make_ee(out, "bob", "bob@example.org", 11, ca_key, ca, kind="ec")
    make_ee(out, "carol", "carol@example.org", 12, ca_key, ca)
    make_ee(out, "alice2", "alice@example.org", 13, ca_key, ca, start=utc(2021))
    make_ee(out, "expired", "expired@example.org", 14, ca_key, ca, start=utc(2000), end=utc(2001))
    _, revoked = make_ee(out, "revoked", "revoked@example.org", 15, ca_key, ca)
    make_ee(out, "rogue", "rogue@example.org", 16, None, None, self_signed=True)
    make_ee(out, "server", "server@example.org", 17, ca_key, ca, eku=ExtendedKeyUsageOID.SERVER_AUTH)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(utc(2020)).next_update(utc(2099))
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                    .serial_number(revoked.serial_number)
                                    .revocation_date(utc(2021)).build())
           .add_extension(x509.CRLNumber(1), critical=False)
           .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(out, "ca.crl"), "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out, "pass.txt"), "wb") as f:
        f.write(PASS + b"\n")
    with open(os.path.join(out, "alice.p12"), "wb") as f:
        f.write(pkcs12.serialize_key_and_certificates(
            b"alice", alice_key, alice, [ca],
            serialization.BestAvailableEncryption(PASS)))
    with open(os.path.join(out, "stamp"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
