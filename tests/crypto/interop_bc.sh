#!/bin/bash
# Interop with Bouncy Castle (Debian's bcprov/bcpkix/bcutil, Java 17): tests/crypto/java is
# compiled here with javac, then
#  mixgate -> BC: signed, RSA/EC-encrypted, binary and MIME triple-wrapped messages are verified
#  and decrypted by BC, which also reads the ESS security label back from both signatures;
#  BC -> mixgate: signed, encrypted (RSA, ECDH) and binary triple-wrapped messages with labels
#  are unwrapped by mixgate, which must report both labels.
# usage: interop_bc.sh MIXGATE PKI_DIR WORK_DIR SOURCE_DIR
set -u
MG=$1; P=$2; W=$3; SRC=$4
rm -rf "$W"; mkdir -p "$W/classes"; cd "$W" || exit 2
CP=/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar
for j in ${CP//:/ }; do
    [ -r "$j" ] || { echo "FAIL $j missing (scripts/install-deps.sh --test installs libbcpkix-java)"; exit 1; }
done
javac -Xlint:-unchecked -d classes -cp "$CP" "$SRC/MixgateInterop.java" || { echo "FAIL javac"; exit 1; }
J="java -cp classes:$CP MixgateInterop"
fails=0
ok()  { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >"$name.log" 2>&1; then ok "$name"; else bad "$name"; cat "$name.log"; fi; }

printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: bc\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello bc\r\n' > msg.eml
L1=310802010106032a0304; L2=310802010206032a0304
printf '\x31\x08\x02\x01\x01\x06\x03\x2a\x03\x04' > inner.der
printf '\x31\x08\x02\x01\x02\x06\x03\x2a\x03\x04' > outer.der
printf '\x30\x06\x02\x01\x05\x04\x01\x41' > content.p772
SIGN="--key $P/alice.key --cert $P/alice.pem --ca $P/ca.pem"
body_der() { python3 -c 'import email,sys; m=email.message_from_bytes(open(sys.argv[1],"rb").read()); open(sys.argv[2],"wb").write(m.get_payload(decode=True))' "$1" "$2"; }
export -f body_der
export J P MG

check mixgate_sign_bc_verify bash -c "$MG cms sign $SIGN --der --label inner.der content.p772 -o s.der && $J verify s.der s.out $P/ca.pem > v.txt && grep -q label=$L1 v.txt && cmp s.out content.p772"
check mixgate_rsa_oaep_bc_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/alice.pem --oaep --der msg.eml -o e1.der && $J decrypt e1.der e1.out $P/alice.pem $P/alice.key && grep -q 'hello bc' e1.out"
check mixgate_ecdh_bc_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/bob.pem --ecdh-sha256 --der msg.eml -o e2.der && $J decrypt e2.der e2.out $P/bob.pem $P/bob.key && grep -q 'hello bc' e2.out"
check mixgate_gcm_bc_decrypt bash -c "$MG cms encrypt --ca $P/ca.pem --recip $P/alice.pem --cipher aes128-gcm --der msg.eml -o e3.der && $J decrypt e3.der e3.out $P/alice.pem $P/alice.key && grep -q 'hello bc' e3.out"
check mixgate_triple_der_bc bash -c "$MG cms triple-wrap $SIGN --recip $P/bob.pem --ecdh-sha256 --der --content-type 1.3.26.0.4406.0.4.1 --label inner.der --outer-label outer.der content.p772 -o t.der &&
  $J verify t.der t1.bin $P/ca.pem > tv1.txt && grep -q label=$L2 tv1.txt && grep -q econtent-type=1.2.840.113549.1.7.3 tv1.txt &&
  $J decrypt t1.bin t2.bin $P/bob.pem $P/bob.key &&
  $J verify t2.bin t3.bin $P/ca.pem > tv2.txt && grep -q label=$L1 tv2.txt && grep -q econtent-type=1.3.26.0.4406.0.4.1 tv2.txt && cmp t3.bin content.p772"
check mixgate_triple_mime_bc bash -c "$MG cms triple-wrap $SIGN --recip $P/alice.pem --label inner.der --outer-label outer.der msg.eml -o t.eml &&
  body_der t.eml m1.der && $J verify m1.der m1.eml $P/ca.pem > mv1.txt && grep -q label=$L2 mv1.txt &&
  body_der m1.eml m2.der && $J decrypt m2.der m2.eml $P/alice.pem $P/alice.key &&
  body_der m2.eml m3.der && $J verify m3.der m3.out $P/ca.pem > mv2.txt && grep -q label=$L1 mv2.txt && grep -q 'hello bc' m3.out"

check bc_sign_mixgate_verify bash -c "$J sign content.p772 bs.der $P/carol.pem $P/carol.key $L1 && $MG cms verify --ca $P/ca.pem bs.der -o bs.out 2> bs.err && cmp bs.out content.p772 && grep -q label=$L1 bs.err"
check bc_encrypt_rsa_mixgate_decrypt bash -c "$J encrypt msg.eml be.der $P/alice.pem && $MG cms decrypt --key $P/alice.key --cert $P/alice.pem be.der -o be.out && cmp be.out msg.eml"
check bc_encrypt_ecdh_mixgate_decrypt bash -c "$J encrypt msg.eml be2.der $P/bob.pem && $MG cms decrypt --key $P/bob.key --cert $P/bob.pem be2.der -o be2.out && cmp be2.out msg.eml"
check bc_triple_mixgate_unwrap bash -c "$J triple content.p772 bt.der $P/carol.pem $P/carol.key $P/bob.pem $L1 $L2 1.3.26.0.4406.0.4.1 &&
  $MG cms unwrap --ca $P/ca.pem --key $P/bob.key --cert $P/bob.pem bt.der -o bt.out 2> bt.err && cmp bt.out content.p772 &&
  grep -q 'layer 1: signed .*label=$L2' bt.err && grep -q 'layer 2: enveloped' bt.err && grep -q 'layer 3: signed .*label=$L1.*content-type=1.3.26.0.4406.0.4.1' bt.err"

echo "$fails failure(s)"
exit $((fails > 0))
