#!/bin/bash
# Interop with gpgsm (GnuPG's S/MIME over libksba), private GNUPGHOME in the build tree.
#  mixgate -> gpgsm: signed (DER and the MIME opaque form), RSA-encrypted, triple-wrapped (binary
#  P772 form and MIME form) opened layer by layer by gpgsm.
#  gpgsm -> mixgate: signed and encrypted messages opened by mixgate.
# Limits of Debian 12's gpgsm 2.2.40, measured: no RSA-OAEP key transport ("error getting
# encrypted session key"), and importing an EC PKCS#12 crashes it, so EC/ECDH is not tested here
# (openssl and Bouncy Castle cover it).
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

echo "$fails failure(s)"
exit $((fails > 0))
