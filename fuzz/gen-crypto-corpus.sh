#!/usr/bin/env bash
# Remakes the crypto fuzz seeds (fuzz/corpus/crypto_*/gen-*) with the test-only PKI in fuzz/keys:
# signed, enveloped, authenticated-enveloped, triple-wrapped and header-protected messages (the
# project's own encoder, `mixgate cms`), detached signatures and signed receipts (openssl and
# `mixgate cms receipt`), certificates, CRLs, PKCS#12 and OCSP responses (openssl).
# usage: bash fuzz/gen-crypto-corpus.sh [--new-keys]   (MIXGATE=path/to/mixgate, default
#        build-test/cli/mixgate). --new-keys first remakes fuzz/keys (needs python3-cryptography).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K=$here/keys
C=$here/corpus
MG=${MIXGATE:-$here/../build-test/cli/mixgate}
[ -x "$MG" ] || { echo "no mixgate CLI at $MG (build target mixgate, or set MIXGATE)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" = --new-keys ]; then
  python3 "$here/../test-vectors/crypto/gen-test-pki.py" "$tmp/pki"
  for f in ca.pem ca.key ca.crl alice.pem alice.key bob.pem bob.key alice.p12 pass.txt; do
    cp "$tmp/pki/$f" "$K/$f"
  done
fi

mkdir -p "$C/crypto_unwrap" "$C/crypto_detached" "$C/crypto_receipt" "$C/crypto_certs" \
         "$C/crypto_ocsp"
rm -f "$C"/crypto_*/gen-*
trust=(--ca "$K/ca.pem" --crl "$K/ca.crl" --revocation closed)
alice=(--key "$K/alice.key" --cert "$K/alice.pem")
bob=(--key "$K/bob.key" --cert "$K/bob.pem")
printf 'From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: fuzz seed\r\nMessage-ID: <seed@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n' > "$tmp/msg"
# a tiny P772 content (SEQUENCE { INTEGER 5, OCTET STRING "A" }) and two ESSSecurityLabels
printf '\x30\x06\x02\x01\x05\x04\x01\x41' > "$tmp/p772"
printf '\x31\x08\x02\x01\x01\x06\x03\x2a\x03\x04' > "$tmp/label1"
printf '\x31\x08\x02\x01\x02\x06\x03\x2a\x03\x04' > "$tmp/label2"
p772=(--der --content-type 1.3.26.0.4406.0.4.1)
u=$C/crypto_unwrap
mg() { "$MG" cms "$@" 2>/dev/null; }
mg sign "${trust[@]}" "${alice[@]}" -o "$u/gen-signed-opaque.eml" "$tmp/msg"
mg sign "${trust[@]}" "${bob[@]}" --detached --label "$tmp/label1" -o "$u/gen-signed-detached-ec-label.eml" "$tmp/msg"
mg sign "${trust[@]}" "${alice[@]}" "${p772[@]}" -o "$u/gen-signed-p772.der" "$tmp/p772"
mg encrypt "${trust[@]}" --recip "$K/alice.pem" -o "$u/gen-enveloped-rsa.eml" "$tmp/msg"
mg encrypt "${trust[@]}" --recip "$K/alice.pem" --recip "$K/bob.pem" --oaep --ecdh-sha256 \
   --cipher aes256 -o "$u/gen-enveloped-oaep-ecdh.eml" "$tmp/msg"
mg encrypt "${trust[@]}" --recip "$K/bob.pem" --cipher aes128-gcm -o "$u/gen-authenveloped.eml" "$tmp/msg"
mg triple-wrap "${trust[@]}" "${alice[@]}" --recip "$K/bob.pem" --label "$tmp/label1" \
   --outer-label "$tmp/label2" -o "$u/gen-triple.eml" "$tmp/msg"
mg triple-wrap "${trust[@]}" "${bob[@]}" --recip "$K/alice.pem" "${p772[@]}" --label "$tmp/label1" \
   --outer-label "$tmp/label2" -o "$u/gen-triple-p772.der" "$tmp/p772"
mg triple-wrap "${trust[@]}" "${alice[@]}" --recip "$K/alice.pem" --header-protection --detached \
   -o "$u/gen-triple-header-protected.eml" "$tmp/msg"
mg sign "${trust[@]}" "${alice[@]}" --header-protection -o "$u/gen-signed-header-protected.eml" "$tmp/msg"
mg sign "${trust[@]}" "${alice[@]}" --receipt-to alice@example.org -o "$u/gen-signed-receipt-request.eml" "$tmp/msg"
mg sign "${trust[@]}" "${alice[@]}" "${p772[@]}" --receipt-to alice@example.org \
   -o "$tmp/rr.der" "$tmp/p772"
cp "$tmp/rr.der" "$u/gen-signed-receipt-request-p772.der"
# the check: every seed above opens with the fixed keys
for f in "$u"/gen-*; do
  "$MG" cms unwrap "${trust[@]}" "${alice[@]}" "$f" >/dev/null 2>&1 ||
  "$MG" cms unwrap "${trust[@]}" "${bob[@]}" "$f" >/dev/null 2>&1 ||
    { echo "seed $f does not open with the fixed keys" >&2; exit 1; }
done

# Units of two inputs are one file: a 2-byte big-endian length, the first input, the second.
pair() { # pair OUT FIRST SECOND
  local n; n=$(stat -c %s "$2")
  printf "\\x$(printf %02x $((n >> 8)))\\x$(printf %02x $((n & 255)))" > "$1"
  cat "$2" "$3" >> "$1"
}
# detached DER signatures (RFC 4134 4.3 style) over a P772 content and over a text
openssl cms -sign -binary -md sha256 -signer "$K/alice.pem" -inkey "$K/alice.key" -outform DER \
  -in "$tmp/p772" -out "$tmp/sig1"
pair "$C/crypto_detached/gen-detached-rsa" "$tmp/sig1" "$tmp/p772"
openssl cms -sign -binary -md sha256 -signer "$K/bob.pem" -inkey "$K/bob.key" -outform DER \
  -in "$tmp/msg" -out "$tmp/sig2"
pair "$C/crypto_detached/gen-detached-ec" "$tmp/sig2" "$tmp/msg"
# signed receipts: bob acknowledges alice's messages (S/MIME and DER)
mg receipt "${trust[@]}" "${bob[@]}" -o "$tmp/rcpt1" "$u/gen-signed-receipt-request.eml"
pair "$C/crypto_receipt/gen-receipt-mime" "$tmp/rcpt1" "$u/gen-signed-receipt-request.eml"
mg receipt "${trust[@]}" "${bob[@]}" -o "$tmp/rcpt2" "$tmp/rr.der"
pair "$C/crypto_receipt/gen-receipt-der" "$tmp/rcpt2" "$tmp/rr.der"
"$MG" cms verify-receipt "${trust[@]}" --original "$tmp/rr.der" "$tmp/rcpt2" >/dev/null 2>&1 ||
  { echo "receipt seed does not verify" >&2; exit 1; }

# certificate import: PEM, DER, a PEM bundle, a CRL in both forms, PKCS#12. The first byte of a
# unit chooses the parser (crypto_certs.c): 'c' certificates, 'l' CRLs, 'p' PKCS#12.
ce=$C/crypto_certs
{ printf c; cat "$K/alice.pem"; } > "$ce/gen-cert-pem"
{ printf c; openssl x509 -in "$K/bob.pem" -outform DER; } > "$ce/gen-cert-der"
{ printf c; cat "$K/alice.pem" "$K/bob.pem" "$K/ca.pem"; } > "$ce/gen-cert-bundle"
{ printf l; cat "$K/ca.crl"; } > "$ce/gen-crl-pem"
{ printf l; openssl crl -in "$K/ca.crl" -outform DER; } > "$ce/gen-crl-der"
{ printf p; cat "$K/alice.p12"; } > "$ce/gen-p12"

# OCSP: a request with a fixed nonce (kept in fuzz/keys, the harness checks responses against
# it) and the CA's responses for it: good, revoked, unknown (alice is not in the CA's index),
# and an error status
o=$C/crypto_ocsp
if [ "${1:-}" = --new-keys ] || [ ! -s "$K/ocsp-req.der" ]; then
  openssl ocsp -issuer "$K/ca.pem" -cert "$K/alice.pem" -reqout "$K/ocsp-req.der" >/dev/null
fi
serial=$(openssl x509 -in "$K/alice.pem" -noout -serial | cut -d= -f2)
subj=$(openssl x509 -in "$K/alice.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
printf 'V\t20991231000000Z\t\t%s\tunknown\t%s\n' "$serial" "$subj" > "$tmp/index.good"
printf 'R\t20991231000000Z\t210101000000Z\t%s\tunknown\t%s\n' "$serial" "$subj" > "$tmp/index.rev"
bserial=$(openssl x509 -in "$K/bob.pem" -noout -serial | cut -d= -f2)
bsubj=$(openssl x509 -in "$K/bob.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
printf 'V\t20991231000000Z\t\t%s\tunknown\t%s\n' "$bserial" "$bsubj" > "$tmp/index.unknown"
for st in good rev unknown; do
  openssl ocsp -index "$tmp/index.$st" -CA "$K/ca.pem" -rsigner "$K/ca.pem" -rkey "$K/ca.key" \
    -reqin "$K/ocsp-req.der" -respout "$o/gen-ocsp-$st" -ndays 36500 >/dev/null 2>&1
done
printf '\x30\x03\x0a\x01\x01' > "$o/gen-ocsp-malformed-request"
# A validly signed answer about another certificate (bob) carrying the request's nonce: the
# responder copies the nonce of the request it answers, so it answers alice's request with
# bob's serial put in (the serials are equally long); and a validly signed answer that is out
# of date (its nextUpdate a minute after it is made: stale, past the check's five-minute
# leeway, for every run after that)
python3 - "$K/ocsp-req.der" "$tmp/bob-req.der" "$serial" "$bserial" <<'PY'
import sys
req = open(sys.argv[1], "rb").read()
a, b = (bytes.fromhex(x if len(x) % 2 == 0 else "0" + x) for x in sys.argv[3:5])
enc = lambda v: bytes([2, len(v)]) + v
assert len(a) == len(b) and req.count(enc(a)) == 1, "serials of different lengths"
open(sys.argv[2], "wb").write(req.replace(enc(a), enc(b)))
PY
openssl ocsp -index "$tmp/index.unknown" -CA "$K/ca.pem" -rsigner "$K/ca.pem" -rkey "$K/ca.key" \
  -reqin "$tmp/bob-req.der" -respout "$o/gen-ocsp-other-cert" -ndays 36500 >/dev/null 2>&1
openssl ocsp -index "$tmp/index.good" -CA "$K/ca.pem" -rsigner "$K/ca.pem" -rkey "$K/ca.key" \
  -reqin "$K/ocsp-req.der" -respout "$o/gen-ocsp-stale" -nmin 1 >/dev/null 2>&1
# crypto_wrap: binary EnvelopedData / AuthEnvelopedData for the recipients of the target's
# writer policies 0 and 8 (crypto_wrap.c), so the binary "already encrypted for the same
# recipients" path is reached; the option byte first (DER, encrypt; 0x8x the strong algorithms).
# The other crypto_wrap seeds copy gen-* files above: fuzz/gen-wrap-seeds.py, run last.
w=$C/crypto_wrap
mkdir -p "$w"
mg encrypt "${trust[@]}" --recip "$K/alice.pem" "${p772[@]}" -o "$tmp/env.der" "$tmp/p772"
mg encrypt "${trust[@]}" --recip "$K/alice.pem" --recip "$K/bob.pem" --oaep --ecdh-sha256 \
   --cipher aes256-gcm "${p772[@]}" -o "$tmp/authenv.der" "$tmp/p772"
{ printf '\x0a'; cat "$tmp/env.der"; } > "$w/own-cms-enveloped-der-encrypt-again"
{ printf '\x0e'; cat "$tmp/env.der"; } > "$w/own-cms-enveloped-der-encrypt-outer"
{ printf '\x8e'; cat "$tmp/authenv.der"; } > "$w/own-cms-authenveloped-der-strong-encrypt-outer"
python3 "$here/gen-wrap-seeds.py"
echo "seeds written under $C/crypto_*"
