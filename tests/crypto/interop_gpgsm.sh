#!/bin/bash
# Interop with gpgsm (GnuPG's S/MIME over libksba), private GNUPGHOME in the build tree.
#  mixgate -> gpgsm: signed (DER and the MIME opaque form), RSA-encrypted, triple-wrapped (binary
#  P772 form and MIME form) opened layer by layer by gpgsm.
#  gpgsm -> mixgate: signed and encrypted messages opened by mixgate.
#  EC: mixgate's ECDSA signatures (signed, MIME, triple wrap with EC signers around an RSA
#  envelope) verified by gpgsm; gpgsm's ECDSA signatures verified by mixgate; ECDH both ways
#  where gpgsm can (see below).
# Limits of Debian 12's gpgsm 2.2.40, measured: no RSA-OAEP key transport ("error getting
# encrypted session key"); importing any EC PKCS#12 crashes it (SIGSEGV in libgcrypt, whatever
# the PBE/MAC), so the EC key reaches gpg-agent as an unprotected key file in the agent's own
# S-expression format (private-keys-v1.d/<keygrip>.key); it cannot decrypt ECDH (dhSinglePass
# stdDH, any KDF hash, any AES wrap: "Invalid session key", OpenSSL's own messages too, and
# with a key gpg-agent generated itself) nor encrypt to an EC certificate
# ("ksba_cms_set_enc_val failed"). Those two cases are reported as SKIP with gpgsm's error while
# gpgsm fails on OpenSSL's control message (resp. cannot encrypt at all), so a gpgsm that learns
# ECDH is tested at once.
# usage: interop_gpgsm.sh MIXGATE PKI_DIR WORK_DIR
set -u
MG=$1; P=$2; W=$3
rm -rf "$W"; mkdir -p "$W/gnupg"; chmod 700 "$W/gnupg"; cd "$W" || exit 2
export GNUPGHOME=$W/gnupg
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1' EXIT
fails=0
ok()  { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >"$name.log" 2>&1; then ok "$name"; else bad "$name"; cat "$name.log"; fi; }

echo disable-crl-checks > gnupg/gpgsm.conf
echo allow-loopback-pinentry > gnupg/gpg-agent.conf
echo test > pw
G="gpgsm --batch --pinentry-mode loopback --passphrase-fd 0"
gpgsm --batch --import "$P/ca.pem" >/dev/null 2>&1
echo "$(openssl x509 -in "$P/ca.pem" -noout -fingerprint -sha1 | cut -d= -f2) S" > gnupg/trustlist.txt
# gpgsm 2.2 reads PKCS#12 with the classic 3DES/SHA-1 protection only, takes the passphrase in
# batch mode only from --passphrase-fd, and (measured) fails to parse some files depending on the
# random salt (about 1 in 6): make a fresh file and retry a few times.
imported=0
for attempt in 1 2 3 4 5 6 7 8; do
    openssl pkcs12 -export -in "$P/alice.pem" -inkey "$P/alice.key" -keypbe PBE-SHA1-3DES \
        -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass:test -out alice3des.p12
    if $G --import alice3des.p12 < pw > import.log 2>&1 && grep -q 'secret keys imported: 1' import.log; then
        imported=1
        break
    fi
done
[ $imported = 1 ] || { echo "FAIL gpgsm cannot import the test key"; cat import.log; exit 1; }
# bob's EC P-256 key: certificate imported, key written where gpg-agent looks for it
gpgsm --batch --import "$P/bob.pem" >/dev/null 2>&1
BOBGRIP=$(gpgsm --with-colons --with-keygrip -k bob@example.org 2>/dev/null | awk -F: '/^grp/ {print $10; exit}')
[ -n "$BOBGRIP" ] || { echo "FAIL gpgsm has no keygrip for bob's certificate"; exit 1; }
python3 -c '
import sys, os
from cryptography.hazmat.primitives import serialization
k = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
q = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
d = k.private_numbers().private_value.to_bytes(32, "big")
a = lambda b: str(len(b)).encode() + b":" + b
sexp = b"(" + a(b"private-key") + b"(" + a(b"ecc") + b"(" + a(b"curve") + a(b"NIST P-256") + b")(" + a(b"q") + a(q) + b")(" + a(b"d") + a(d) + b")))"
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, sexp)
os.close(fd)' "$P/bob.key" "$GNUPGHOME/private-keys-v1.d/$BOBGRIP.key" ||
    { echo "FAIL cannot write bob's key for gpg-agent"; exit 1; }

printf 'From: alice@example.org\r\nTo: alice@example.org\r\nSubject: gpgsm\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello gpgsm\r\n' > msg.eml
printf '\x31\x08\x02\x01\x01\x06\x03\x2a\x03\x04' > inner.der
printf '\x31\x08\x02\x01\x02\x06\x03\x2a\x03\x04' > outer.der
printf '\x30\x06\x02\x01\x05\x04\x01\x41' > content.p772
SIGN="--key $P/alice.key --cert $P/alice.pem --ca $P/ca.pem"

# helpers: the base64 body of a MIME entity as DER; a ContentInfo around bare CMS content
body_der() { python3 -c 'import email,sys; m=email.message_from_bytes(open(sys.argv[1],"rb").read()); open(sys.argv[2],"wb").write(m.get_payload(decode=True))' "$1" "$2"; }
wrapci() { python3 -c '
import sys
oid = {"signed": bytes.fromhex("06092a864886f70d010702"), "enveloped": bytes.fromhex("06092a864886f70d010703")}[sys.argv[1]]
def tlv(t, b):
    n = len(b)
    l = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([t]) + l + b
open(sys.argv[3], "wb").write(tlv(0x30, oid + tlv(0xa0, open(sys.argv[2], "rb").read())))' "$@"; }
export -f body_der wrapci

check mixgate_sign_der_gpgsm_verify bash -c "$MG cms sign $SIGN --der --label inner.der content.p772 -o s.der && $G --output s.out --verify s.der </dev/null 2>v.txt && grep -q 'Good signature' v.txt && cmp s.out content.p772"
check mixgate_sign_mime_gpgsm_verify bash -c "$MG cms sign $SIGN msg.eml -o s.eml && body_der s.eml s2.der && $G --output s2.out --verify s2.der </dev/null 2>v2.txt && grep -q 'Good signature' v2.txt && grep -q 'hello gpgsm' s2.out"
check mixgate_encrypt_rsa_gpgsm_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/alice.pem --der msg.eml -o e.der && $G --output e.out --decrypt e.der < pw && grep -q 'hello gpgsm' e.out"
check mixgate_encrypt_aes256_gpgsm_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/alice.pem --cipher aes256 --der msg.eml -o e2.der && $G --output e2.out --decrypt e2.der < pw && grep -q 'hello gpgsm' e2.out"
check mixgate_triple_der_gpgsm bash -c "$MG cms triple-wrap $SIGN --recip $P/alice.pem --der --label inner.der --outer-label outer.der content.p772 -o t.der &&
  $G --output t1.bin --verify t.der </dev/null 2>tv1.txt && grep -q 'Good signature' tv1.txt && wrapci enveloped t1.bin t1.der &&
  $G --output t2.bin --decrypt t1.der < pw && wrapci signed t2.bin t2.der &&
  $G --output t3.bin --verify t2.der </dev/null 2>tv2.txt && grep -q 'Good signature' tv2.txt && cmp t3.bin content.p772"
check mixgate_triple_mime_gpgsm bash -c "$MG cms triple-wrap $SIGN --recip $P/alice.pem msg.eml -o t.eml &&
  body_der t.eml tm1.der && $G --output tm1.eml --verify tm1.der </dev/null 2>mv1.txt && grep -q 'Good signature' mv1.txt &&
  body_der tm1.eml tm2.der && $G --output tm2.eml --decrypt tm2.der < pw &&
  body_der tm2.eml tm3.der && $G --output tm3.out --verify tm3.der </dev/null 2>mv2.txt && grep -q 'Good signature' mv2.txt && grep -q 'hello gpgsm' tm3.out"

printf 'hello from gpgsm\n' > g.txt
check gpgsm_sign_mixgate_verify bash -c "$G -u alice@example.org --output gs.der --sign g.txt < pw && $MG cms verify --ca $P/ca.pem gs.der -o gs.out && cmp gs.out g.txt"
check gpgsm_encrypt_mixgate_decrypt bash -c "$G --recipient alice@example.org --output ge.der --encrypt g.txt </dev/null && $MG cms decrypt --key $P/alice.key --cert $P/alice.pem ge.der -o ge.out && cmp ge.out g.txt"
check gpgsm_sign_encrypt_mixgate_unwrap bash -c "$G -u alice@example.org --output gs2.der --sign g.txt < pw && $G --recipient alice@example.org --output gse.der --encrypt gs2.der </dev/null && $MG cms decrypt --key $P/alice.key --cert $P/alice.pem gse.der -o gse.out && $MG cms verify --ca $P/ca.pem gse.out -o gse2.out && cmp gse2.out g.txt"

# EC: ECDSA signatures of mixgate verified by gpgsm, and the reverse
ECSIGN="--key $P/bob.key --cert $P/bob.pem --ca $P/ca.pem"
check mixgate_sign_ec_der_gpgsm_verify bash -c "$MG cms sign $ECSIGN --der --label inner.der content.p772 -o es.der && $G --output es.out --verify es.der </dev/null 2>ev.txt && grep -q 'Good signature' ev.txt && cmp es.out content.p772"
check mixgate_sign_ec_mime_gpgsm_verify bash -c "$MG cms sign $ECSIGN msg.eml -o es.eml && body_der es.eml es2.der && $G --output es2.out --verify es2.der </dev/null 2>ev2.txt && grep -q 'Good signature' ev2.txt && grep -q 'hello gpgsm' es2.out"
check mixgate_triple_ec_signers_gpgsm bash -c "$MG cms triple-wrap $ECSIGN --recip $P/alice.pem --der --label inner.der --outer-label outer.der content.p772 -o et.der &&
  $G --output et1.bin --verify et.der </dev/null 2>etv1.txt && grep -q 'Good signature' etv1.txt && wrapci enveloped et1.bin et1.der &&
  $G --output et2.bin --decrypt et1.der < pw && wrapci signed et2.bin et2.der &&
  $G --output et3.bin --verify et2.der </dev/null 2>etv2.txt && grep -q 'Good signature' etv2.txt && cmp et3.bin content.p772"
check gpgsm_sign_ec_mixgate_verify bash -c "$G -u bob@example.org --output gbs.der --sign g.txt < pw && $MG cms verify --ca $P/ca.pem gbs.der -o gbs.out 2>gbv.txt && cmp gbs.out g.txt && grep -q 'CN=bob' gbv.txt"

# EC: ECDH. Each case first tries OpenSSL's own message as the control: while gpgsm fails on
# that too the case is a SKIP with gpgsm's error, otherwise mixgate's message must work as well.
skip() { echo "SKIP $1: $2"; }
openssl cms -encrypt -binary -aes128 -recip "$P/bob.pem" -outform DER -in g.txt -out ctl.der
if $G --output ctl.out --decrypt ctl.der < pw >ctl.log 2>&1 && cmp -s ctl.out g.txt; then
    check mixgate_encrypt_ecdh_gpgsm_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/bob.pem --der msg.eml -o ee.der && $G --output ee.out --decrypt ee.der < pw && grep -q 'hello gpgsm' ee.out"
    check mixgate_encrypt_ecdh_sha256_gpgsm_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/bob.pem --ecdh-sha256 --der msg.eml -o ee2.der && $G --output ee2.out --decrypt ee2.der < pw && grep -q 'hello gpgsm' ee2.out"
else
    skip mixgate_encrypt_ecdh_gpgsm_decrypt "gpgsm $(gpgsm --version | head -1 | awk '{print $3}') cannot decrypt OpenSSL's ECDH either: $(grep -v DBG ctl.log | grep -m1 -i 'failed\|error')"
fi
# gpgsm wants keyEncipherment on any encryption certificate (bob's has keyAgreement only): a
# second certificate for bob's key from the test CA with both, made here
python3 -c '
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
load = lambda f: open(f, "rb").read()
bob = x509.load_pem_x509_certificate(load(sys.argv[1]))
ca = x509.load_pem_x509_certificate(load(sys.argv[3]))
cakey = serialization.load_pem_private_key(load(sys.argv[4]), None)
pub = serialization.load_pem_private_key(load(sys.argv[2]), None).public_key()
c = (x509.CertificateBuilder().subject_name(bob.subject).issuer_name(ca.subject).public_key(pub)
     .serial_number(4711).not_valid_before(datetime.datetime(2020, 1, 1))
     .not_valid_after(datetime.datetime(2099, 1, 1))
     .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
     .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True)
     .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
     .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("bob@example.org")]), critical=False)
     .sign(cakey, hashes.SHA256()))
open(sys.argv[5], "wb").write(c.public_bytes(serialization.Encoding.PEM))' \
    "$P/bob.pem" "$P/bob.key" "$P/ca.pem" "$P/ca.key" bobke.pem && gpgsm --batch --import bobke.pem >/dev/null 2>&1
BOBKE=$(openssl x509 -in bobke.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
if $G --recipient "0x$BOBKE" --output gbe.der --encrypt g.txt </dev/null >gbe.log 2>&1 && [ -s gbe.der ]; then
    check gpgsm_encrypt_ecdh_mixgate_decrypt bash -c "$MG cms decrypt --key $P/bob.key --cert bobke.pem gbe.der -o gbe.out && cmp gbe.out g.txt"
else
    skip gpgsm_encrypt_ecdh_mixgate_decrypt "gpgsm cannot encrypt to an EC certificate: $(grep -v 'DBG\|CRLs not checked' gbe.log | head -1)"
fi

echo "$fails failure(s)"
exit $((fails > 0))
