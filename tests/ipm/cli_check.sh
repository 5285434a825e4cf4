#!/usr/bin/env bash
# `mixgate decode` end to end: tree, JSON, --reencode, --as auto on P1, and malformed input
# (exit 1 with the byte offset). Usage: cli_check.sh MIXGATE VECTOR_DIR
set -uo pipefail
mg="$1"; own="$2"
vec="${MIXGATE_VECTORS:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, condition result
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
has() { grep -qF -- "$2" "$1"; }

if [ -z "$vec" ] || [ ! -d "$vec/x400/ber" ]; then
  echo "SKIPPED: MIXGATE_VECTORS not set or missing x400/ber"; exit 77
fi
p772="$vec/x400/ber/wsample-p772-content.p772"

"$mg" decode "$p772" >"$tmp/tree.txt" 2>"$tmp/err.txt"; rc=$?
check "p772 sample decodes (auto)" $rc
has "$tmp/tree.txt" "P772 information object"; check "auto picks P772" $?
has "$tmp/tree.txt" "formal-name: /C=gb/ADMD= /PRMD=smhs/O=lancelot/CN=ethereal/"; check "RFC 2156 O/R name" $?
has "$tmp/tree.txt" "value [primary-precedence, PrimaryPrecedence]: immediate (3)"; check "heading extension decoded and named" $?
has "$tmp/tree.txt" "1.3.26.0.4406.0.2.6 (distribution-codes)"; check "OID named" $?

"$mg" decode --json "$p772" >"$tmp/out.json"; rc=$?
check "json exit status" $rc
python3 -m json.tool "$tmp/out.json" >/dev/null; check "json parses" $?

"$mg" decode --as p772 --reencode "$tmp/re.der" "$p772" >/dev/null; check "reencode" $?
"$mg" decode --as p772 --reencode "$tmp/re2.der" "$tmp/re.der" >"$tmp/re.txt"
cmp -s "$tmp/re.der" "$tmp/re2.der"; check "DER re-encoding is stable" $?
# Same value: the same tree lines (DER sorts SET OF members, so compare them sorted).
grep -v '^#' "$tmp/tree.txt" | sed 's/\[[0-9]*\] //' | sort >"$tmp/a.txt"
grep -v '^#' "$tmp/re.txt" | sed 's/\[[0-9]*\] //' | sort >"$tmp/b.txt"
cmp -s "$tmp/a.txt" "$tmp/b.txt"; check "DER re-encoding decodes to the same value" $?

"$mg" decode "$vec/x400/ber/wsample-p1-MTS-APDU-message-p772.ber" >"$tmp/p1.txt" 2>&1; rc=$?
check "P1 MTS-APDU decodes (auto)" $rc
has "$tmp/p1.txt" "content (P772)"; check "P1 content decoded by content type" $?
"$mg" decode --json "$vec/x400/ber/wsample-p1-MTS-APDU-message-p772.ber" >"$tmp/p1.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d)==2 and "content (P772)" in d[1] else 1)' "$tmp/p1.json"
check "P1 JSON: the APDU and its content in one document" $?

"$mg" decode "$own/ipm-full-heading.p22" >"$tmp/p22.txt"
sed -n 1p "$tmp/p22.txt" | grep -qF "P2/P22 information object"; check "auto: P22 without STANAG 4406 extensions" $?
"$mg" decode "$own/p772-full.p772" >"$tmp/p772.txt"
sed -n 1p "$tmp/p772.txt" | grep -qF "P772 information object"; check "auto: P772" $?
"$mg" decode - <"$own/ipn-receipt.p22" >"$tmp/stdin.txt"
has "$tmp/stdin.txt" "Read by Bob"; check "reads standard input" $?
"$mg" decode "$tmp/no-such-file" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "missing file exits 2" $?

# OSI upper layers: CP user data -> ACSE AARQ -> RTSE RTORQ in an EXTERNAL -> P1 bind
# (values as the vectors' README gives them: initiator percival.smhs.co.uk, "excalibur").
"$mg" decode "$vec/x400/ber/wsample-pres-CP-ppdu-aarq-rtorq-bind.ber" >"$tmp/cp.txt"; rc=$?
check "presentation CP decodes" $rc
has "$tmp/cp.txt" "single-ASN1-type [presentation context, ACSE-apdu]"; check "PDV decoded by negotiated context" $?
has "$tmp/cp.txt" 'initiator-name: "percival.smhs.co.uk"'; check "P1 bind inside RTORQ inside ACSE" $?
has "$tmp/cp.txt" 'ia5-string: "excalibur"'; check "bind password shown" $?
"$mg" decode "$vec/x400/ber/wsample-rtse-RTORJ-bind-error.ber" >"$tmp/rj.txt"
has "$tmp/rj.txt" "authentication-error (2)"; check "RTORJ bind error named" $?

# X.400 reports as mixgate stores and delivers them: the ReportTransferContent (a file
# channel's .ber of a report), and a ReportTransferEnvelope, found by --as auto and --as p1.
rep="$own/../mixer/report"
"$mg" decode "$rep/x400-ndr.ber" >"$tmp/ndr.txt" 2>&1; rc=$?
check "report content decodes (auto)" $rc
sed -n 1p "$tmp/ndr.txt" | grep -qF "P1 report transfer content"; check "auto: report transfer content" $?
has "$tmp/ndr.txt" "actual-recipient-name: /C=GB/ADMD= /PRMD=Example/O=Sales/S=Smith/"; check "report: recipient as O/R text" $?
has "$tmp/ndr.txt" "non-delivery-reason-code: 1"; check "report: non-delivery reason" $?
"$mg" decode --as p1 --json "$rep/x400-dr.ber" >"$tmp/dr.json"; rc=$?
check "delivery report decodes (--as p1, JSON)" $rc
python3 -m json.tool "$tmp/dr.json" >/dev/null; check "report JSON parses" $?
"$mg" decode "$rep/report-envelope.ber" >"$tmp/renv.txt" 2>&1
sed -n 1p "$tmp/renv.txt" | grep -qF "P1 report transfer envelope"; check "auto: report transfer envelope" $?

for f in "$own"/*.p22; do
  "$mg" decode --as p22 "$f" >/dev/null; check "decode $(basename "$f")" $?
done

head -c 200 "$p772" >"$tmp/trunc.p772"
"$mg" decode --as p772 "$tmp/trunc.p772" >/dev/null 2>"$tmp/trunc.err"; rc=$?
[ $rc -eq 1 ]; check "truncated input exits 1" $?
has "$tmp/trunc.err" "input truncated at byte"; check "truncation reported with its byte offset" $?
has "$tmp/trunc.err" "runs past the end of the input"; check "truncation explained" $?

printf '\xa1\x0c\x6c\x0a\x13\x08gen-ipm0' >"$tmp/badtag.p22"
"$mg" decode --as p22 "$tmp/badtag.p22" >/dev/null 2>"$tmp/bad.err"; rc=$?
[ $rc -eq 1 ]; check "wrong tag exits 1" $?
has "$tmp/bad.err" "at byte 2 "; check "wrong tag located" $?
has "$tmp/bad.err" "expected subject-ipm"; check "wrong tag says what was expected" $?

"$mg" decode --as nonsense "$p772" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "unknown --as is a usage error" $?

# Every third-party BER vector decodes (--as auto) to a tree.
for f in "$vec"/x400/ber/*.ber "$vec"/x400/ber/*.p772 "$vec"/labels/spiffing/*.ber \
         "$vec"/labels/spiffing/generated-ber/*.ber "$vec"/labels/ess/*; do
  "$mg" decode "$f" >"$tmp/v.txt" 2>"$tmp/v.err"; rc=$?
  check "vector $(basename "$f") decodes" $rc
done
# Labels that break their schema are shown, with the rule they break named.
"$mg" decode "$vec/labels/ess/xep0258-equiv-aqua-obsolete.der" >"$tmp/aqua.txt" 2>"$tmp/aqua.err"
has "$tmp/aqua.err" "privacy mark is a UTF8String, X.411 allows only PrintableString"; check "UTF8String X.411 privacy mark named" $?
has "$tmp/aqua.txt" 'privacy-mark: "Aqua (obsolete)"'; check "UTF8String X.411 privacy mark shown" $?
"$mg" decode "$vec/labels/spiffing/generated-ber/nato-4774-extra-1.ber" >"$tmp/empty.txt" 2>"$tmp/empty.err"
has "$tmp/empty.err" "must hold at least one element is empty"; check "empty category set named" $?
has "$tmp/empty.txt" "security-policy-identifier: 1.3.26.1.3.1"; check "empty category set label shown" $?
# A valid label carries no such note.
"$mg" decode "$vec/labels/ess/rfc4134-4.10-ESSSecurityLabel.der" >/dev/null 2>"$tmp/ok.err"
[ ! -s "$tmp/ok.err" ]; check "valid label decodes without a note" $?
exit $fail
