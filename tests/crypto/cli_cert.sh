#!/bin/bash
# mixgate cert and the store-backed paths of mixgate cms: import (PEM anchor, PKCS#12, DER with
# an X.400 O/R address, CRL), list, show, export, encrypt by address (--store --to), decrypt with
# the stored keys, refusal of a revoked recipient, harvest of a signer certificate (by
# `cert harvest` and by the policy's harvest switch on `cms verify|unwrap --store --harvest`).
# usage: cli_cert.sh MIXGATE PKI_DIR WORK_DIR
set -u
MG=$1; P=$2; W=$3
rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 2
fails=0
ok()  { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >"$name.log" 2>&1; then ok "$name"; else bad "$name"; cat "$name.log"; fi; }
S="--store store.db --pass $P/pass.txt"
printf 'From: carol@example.org\r\nTo: alice@example.org\r\nSubject: store\r\n\r\nhello store\r\n' > msg.eml

check import_anchor  bash -c "$MG cert import $S --anchor $P/ca.pem 2>&1 | grep -q '1 item'"
check import_p12     bash -c "$MG cert import $S $P/alice.p12"
check import_orname  bash -c "$MG cert import $S --orname 'C=GB;ADMD= ;PRMD=mixgate;O=test;S=bob' $P/bob.der"
check import_revoked bash -c "$MG cert import $S $P/revoked.pem && $MG cert import $S $P/ca.crl"
check import_garbage_exit2 bash -c "$MG cert import $S msg.eml; test \$? = 2"
check list  bash -c "$MG cert list $S > list.txt && grep -q 'AK\\|A-' list.txt && grep -q 'alice@example.org' list.txt && grep -q 'S=bob' list.txt && test \$(wc -l < list.txt) = 4"
check show  bash -c "$MG cert show $S 2 | grep -q 'private key held: yes'"
check export bash -c "$MG cert export $S 2 -o alice.out.pem && openssl x509 -in alice.out.pem -noout -subject | grep -q alice"
check encrypt_by_address bash -c "$MG cms encrypt $S --to alice@example.org msg.eml -o e.eml && $MG cms decrypt $S e.eml -o d.eml && grep -q 'hello store' d.eml"
check encrypt_by_orname bash -c "$MG cms encrypt $S --to 'C=GB;ADMD= ;PRMD=mixgate;O=test;S=bob' msg.eml -o e2.eml && openssl cms -decrypt -recip $P/bob.pem -inkey $P/bob.key -in e2.eml | grep -q 'hello store'"
check refuse_revoked_recipient bash -c "$MG cms encrypt $S --to revoked@example.org msg.eml -o e3.eml 2> err.txt; test \$? = 1 && grep -q 'MG_EREVOKED\\|revoked' err.txt"
check unknown_recipient bash -c "$MG cms encrypt $S --to nobody@example.org msg.eml 2> err2.txt; test \$? = 2 && grep -q 'MG_ENOTFOUND: no certificate' err2.txt"
check harvest bash -c "$MG cms sign --key $P/carol.key --cert $P/carol.pem --ca $P/ca.pem msg.eml -o signed.eml && $MG cert harvest $S signed.eml && $MG cms encrypt $S --to carol@example.org msg.eml -o e4.eml"
check harvest_on_unwrap bash -c "rm -f s2.db*; $MG cert import --store s2.db --anchor $P/ca.pem && $MG cms verify --store s2.db --harvest signed.eml -o /dev/null 2> h1.txt && grep -q 'harvested 1 new' h1.txt && $MG cert list --store s2.db | grep -q carol &&
  $MG cms unwrap --store s2.db --harvest signed.eml -o /dev/null 2> h2.txt && grep -q 'harvested 0 new' h2.txt && $MG cms encrypt --store s2.db --to carol@example.org msg.eml -o /dev/null"
# the harvest switch never keeps the signer of a message that does not verify
check harvest_altered_not_kept bash -c "rm -f s6.db*; $MG cms sign --detached --key $P/carol.key --cert $P/carol.pem --ca $P/ca.pem msg.eml -o det.eml && sed 's/hello store/hello stork/' det.eml > det-bad.eml &&
  $MG cert import --store s6.db --anchor $P/ca.pem && { $MG cms verify --store s6.db --harvest det-bad.eml -o /dev/null 2> h3.txt; test \$? = 1; } && grep -q MG_EVERIFY h3.txt &&
  ! $MG cert list --store s6.db | grep -q carol && $MG cms verify --store s6.db --harvest det.eml -o /dev/null && $MG cert list --store s6.db | grep -q carol"
check harvest_needs_store bash -c "$MG cms verify --harvest --ca $P/ca.pem signed.eml -o /dev/null 2> h4.txt; test \$? = 2 && grep -q 'harvest needs --store' h4.txt"
# CRL over HTTP from a loopback server, cached in the store, then used against a recipient
openssl crl -in "$P/ca.crl" -outform DER -out ca.crl.der
python3 -c '
import http.server, socketserver, sys, os
os.chdir(sys.argv[1])
class Q(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
with socketserver.TCPServer(("127.0.0.1", 0), Q) as srv:
    open("port", "w").write(str(srv.server_address[1]))
    srv.handle_request()' "$W" &
srv=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
check fetch_crl_http bash -c "rm -f s3.db*; $MG cert import --store s3.db --anchor $P/ca.pem && $MG cert import --store s3.db $P/revoked.pem &&
  $MG cms encrypt --store s3.db --to revoked@example.org msg.eml -o /dev/null &&
  $MG cert fetch-crl --store s3.db http://127.0.0.1:\$(cat port)/ca.crl.der &&
  { $MG cms encrypt --store s3.db --to revoked@example.org msg.eml -o /dev/null 2> err3.txt; test \$? = 1; } && grep -q revoked err3.txt"
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
check fetch_crl_unreachable bash -c "$MG cert fetch-crl --store s3.db --timeout 1 http://127.0.0.1:9/none.crl; test \$? = 2"

# OCSP from a loopback responder (python3-cryptography): answers cached in the store; revoked
# refused, good accepted even fail-closed without any CRL
python3 "$(dirname "$0")/ocsp_responder.py" "$P" "$W/ocspport" 4 &
osrv=$!
for _ in $(seq 100); do [ -s ocspport ] && break; sleep 0.1; done
check ocsp_refresh bash -c "rm -f s4.db*; $MG cert import --store s4.db --anchor $P/ca.pem && $MG cert import --store s4.db $P/alice.pem &&
  $MG cert import --store s4.db $P/revoked.pem && $MG cert import --store s4.db $P/bob.pem &&
  $MG cert ocsp --store s4.db --timeout 5 http://127.0.0.1:\$(cat ocspport)/ 2> o.txt && grep -q '3 answer' o.txt"
check ocsp_revoked_refused bash -c "$MG cms encrypt --store s4.db --to revoked@example.org msg.eml -o /dev/null 2> err4.txt; test \$? = 1 && grep -q 'OCSP' err4.txt"
check ocsp_good_fail_closed bash -c "$MG cms encrypt --store s4.db --revocation closed --to alice@example.org msg.eml -o /dev/null"
check no_ocsp_fail_closed_refused bash -c "rm -f s5.db*; $MG cert import --store s5.db --anchor $P/ca.pem && $MG cert import --store s5.db $P/alice.pem &&
  { $MG cms encrypt --store s5.db --revocation closed --to alice@example.org msg.eml -o /dev/null 2> err5.txt; test \$? = 1; } && grep -q 'unable to get certificate CRL' err5.txt"
kill "$osrv" 2>/dev/null; wait "$osrv" 2>/dev/null

echo "$fails failure(s)"
exit $((fails > 0))
