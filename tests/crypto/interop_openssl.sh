#!/bin/bash
# Interop with `openssl cms` (an implementation nobody here wrote), both directions:
#  mixgate -> openssl: signed (opaque, multipart), encrypted (RSA v1.5, RSA-OAEP, ECDH SHA-1 and
#  SHA-256 KDF, AES-GCM), triple-wrapped MIME and binary with labels, each layer opened by openssl.
#  openssl -> mixgate: signed, encrypted (RSA, EC), triple-wrapped messages unwrapped by mixgate.
# usage: interop_openssl.sh MIXGATE PKI_DIR WORK_DIR
set -u
MG=$1; P=$2; W=$3
rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 2
fails=0
ok()   { echo "ok   $1"; }
bad()  { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >"$name.log" 2>&1; then ok "$name"; else bad "$name"; cat "$name.log"; fi; }

printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: interop\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello interop\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b--\r\n' > msg.eml
printf '\x31\x08\x02\x01\x01\x06\x03\x2a\x03\x04' > inner.der
printf '\x31\x08\x02\x01\x02\x06\x03\x2a\x03\x04' > outer.der
printf '\x30\x06\x02\x01\x05\x04\x01\x41' > content.p772
SIGN="--key $P/alice.key --cert $P/alice.pem --ca $P/ca.pem"
OV="-CAfile $P/ca.pem -purpose any"

# body of the unwrapped result must hold the original text
has_text() { grep -q "hello interop" "$1"; }

# ---- mixgate -> openssl ----
check sign_opaque_verify   bash -c "$MG cms sign $SIGN msg.eml -o s1.eml && openssl cms -verify $OV -in s1.eml -out s1.out && grep -q 'hello interop' s1.out"
check sign_multipart_verify bash -c "$MG cms sign $SIGN --detached msg.eml -o s2.eml && openssl cms -verify $OV -in s2.eml -out s2.out && grep -q 'hello interop' s2.out"
check sign_der_verify      bash -c "$MG cms sign $SIGN --der --label inner.der content.p772 -o s3.der && openssl cms -verify $OV -inform DER -in s3.der -out s3.out && cmp s3.out content.p772"
for v in "rsa_v15:alice::" "rsa_oaep:alice:--oaep:" "ecdh_sha1:bob::" "ecdh_sha256:bob:--ecdh-sha256:" "rsa_gcm:alice:--cipher aes256-gcm:" "ec_aes256:bob:--cipher aes256:"; do
    IFS=: read -r name who opt _ <<<"$v"
    check "encrypt_${name}_decrypt" bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/$who.pem $opt msg.eml -o e_$name.eml && openssl cms -decrypt -recip $P/$who.pem -inkey $P/$who.key -in e_$name.eml -out e_$name.out && grep -q 'hello interop' e_$name.out"
done
check encrypt_three_recipients bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/alice.pem --recip $P/bob.pem --recip $P/carol.pem msg.eml -o e3.eml && openssl cms -decrypt -recip $P/carol.pem -inkey $P/carol.key -in e3.eml -out e3.out && grep -q 'hello interop' e3.out"

# triple wrap MIME: outer verify, decrypt, inner verify, each by openssl
check triple_mime_openssl bash -c "$MG cms triple-wrap $SIGN --recip $P/bob.pem --ecdh-sha256 --label inner.der --outer-label outer.der msg.eml -o t.eml &&
  openssl cms -verify $OV -in t.eml -out t1.eml && grep -qi 'pkcs7-mime' t1.eml &&
  openssl cms -decrypt -recip $P/bob.pem -inkey $P/bob.key -in t1.eml -out t2.eml &&
  openssl cms -verify $OV -in t2.eml -out t3.eml && grep -q 'hello interop' t3.eml &&
  openssl cms -cmsout -print -in t.eml | grep -q 'id-smime-aa-securityLabel'"

# triple wrap binary: openssl sees bare EnvelopedData/SignedData as eContent; re-add the
# ContentInfo wrapper (what a P772 reader does) between layers
wrapci() { python3 - "$1" "$2" "$3" <<'PY'
import sys
oid = {"signed": bytes.fromhex("06092a864886f70d010702"), "enveloped": bytes.fromhex("06092a864886f70d010703")}[sys.argv[1]]
def tlv(tag, b):
    n = len(b)
    if n < 0x80: l = bytes([n])
    else:
        s = n.to_bytes((n.bit_length() + 7) // 8, "big"); l = bytes([0x80 | len(s)]) + s
    return bytes([tag]) + l + b
data = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(tlv(0x30, oid + tlv(0xa0, data)))
PY
}
check triple_der_openssl bash -c "$MG cms triple-wrap $SIGN --recip $P/alice.pem --der --content-type 1.3.26.0.4406.0.4.1 --label inner.der --outer-label outer.der content.p772 -o t.der &&
  openssl cms -verify $OV -inform DER -in t.der -out t1.bin && $(declare -f wrapci); wrapci enveloped t1.bin t1.der &&
  openssl cms -decrypt -inform DER -recip $P/alice.pem -inkey $P/alice.key -in t1.der -out t2.bin && wrapci signed t2.bin t2.der &&
  openssl cms -verify $OV -inform DER -in t2.der -out t3.bin && cmp t3.bin content.p772"

# ---- openssl -> mixgate ----
printf 'Content-Type: text/plain\r\n\r\nhello interop\r\n' > ent.txt
check openssl_signed_unwrap bash -c "openssl cms -sign -signer $P/alice.pem -inkey $P/alice.key -in ent.txt -out os.eml && $MG cms verify --ca $P/ca.pem os.eml -o os.out && grep -q 'hello interop' os.out"
check openssl_signed_nodetach_der bash -c "openssl cms -sign -nodetach -binary -outform DER -signer $P/alice.pem -inkey $P/alice.key -in content.p772 -out os.der && $MG cms verify --ca $P/ca.pem os.der -o os2.out && cmp os2.out content.p772"
check openssl_enc_rsa_oaep_unwrap bash -c "openssl cms -encrypt -aes256 -recip $P/alice.pem -keyopt rsa_padding_mode:oaep -in ent.txt -out oe.eml && $MG cms decrypt --key $P/alice.key --cert $P/alice.pem oe.eml -o oe.out && grep -q 'hello interop' oe.out"
check openssl_enc_ec_unwrap bash -c "openssl cms -encrypt -aes128 -recip $P/bob.pem -keyopt ecdh_kdf_md:sha256 -in ent.txt -out oe2.eml && $MG cms decrypt --key $P/bob.key --cert $P/bob.pem oe2.eml -o oe2.out && grep -q 'hello interop' oe2.out"
check openssl_gcm_unwrap bash -c "openssl cms -encrypt -aes-256-gcm -recip $P/bob.pem -in ent.txt -out oe3.eml && $MG cms decrypt --key $P/bob.key --cert $P/bob.pem oe3.eml -o oe3.out && grep -q 'hello interop' oe3.out"
check openssl_triple_unwrap bash -c "openssl cms -sign -signer $P/alice.pem -inkey $P/alice.key -in ent.txt -out ot1.eml &&
  openssl cms -encrypt -aes128 -recip $P/bob.pem -in ot1.eml -out ot2.eml &&
  openssl cms -sign -signer $P/carol.pem -inkey $P/carol.key -in ot2.eml -out ot3.eml &&
  $MG cms unwrap --ca $P/ca.pem --key $P/bob.key --cert $P/bob.pem ot3.eml -o ot.out 2> ot.err && grep -q 'hello interop' ot.out &&
  grep -q 'layer 3: signed signer=\"/O=mixgate test/CN=alice' ot.err && grep -q 'layer 1: signed signer=\"/O=mixgate test/CN=carol' ot.err"

# tampering seen through the CLI: exit 1 and a reason
check cli_tampered_exit1 bash -c "sed 's/hello interop/hellO interop/' s2.eml > s2bad.eml; $MG cms verify --ca $P/ca.pem s2bad.eml >/dev/null 2>err.txt; test \$? = 1 && grep -q 'content altered' err.txt"
check cli_usage_exit2 bash -c "$MG cms verify --bogus x >/dev/null 2>&1; test \$? = 2"
check cli_untrusted_exit1 bash -c "$MG cms verify s2.eml >/dev/null 2>err2.txt; test \$? = 1 && grep -q 'MG_EUNTRUSTED' err2.txt"

# ESS signed receipts through the CLI, the request made by mixgate, checked by openssl too
check receipt_round_trip bash -c "$MG cms sign $SIGN --receipt-to alice@example.org msg.eml -o rr.eml &&
  openssl cms -verify $OV -in rr.eml -receipt_request_print -out /dev/null 2>&1 | grep -q 'Receipts To' &&
  $MG cms receipt --key $P/carol.key --cert $P/carol.pem --ca $P/ca.pem rr.eml -o rcpt.eml &&
  $MG cms verify-receipt --ca $P/ca.pem --original rr.eml rcpt.eml 2> rv.txt && grep -q 'CN=carol' rv.txt &&
  openssl cms -verify_receipt rcpt.eml -in rr.eml $OV >/dev/null 2>&1"

echo "$fails failure(s)"
exit $((fails > 0))
