#!/usr/bin/env bash
# `mixgate mixer`: map addresses with the example tables (etc/mixer), convert the golden
# inputs both ways and compare with unit.mixer_conv's golden outputs, and fail cleanly on junk.
# Usage: cli_check.sh MIXGATE SOURCE_DIR
set -euo pipefail
mg="${1:?mixgate binary}"; src="${2:?source dir}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail=0
"$mg" mixer map --tables "$src/etc/mixer" Tom_Harris@cs.widget.com Bob.Jones@camelot.example \
  '/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/' >"$tmp/map.txt"
printf '%s\t%s\t%s\n' \
  'Tom_Harris@cs.widget.com' '/C=GB/ADMD= /PRMD=Example/O=MIXER/RFC-822=Tom(u)Harris(a)cs.widget.com/' dda \
  'Bob.Jones@camelot.example' '/C=GB/ADMD= /PRMD=Camelot/G=Bob/S=Jones/' mcgam \
  '/C=GB/ADMD= /PRMD=Camelot/O=Lab/S=Smith/' 'Smith@Lab.camelot.example' mcgam >"$tmp/want.txt"
diff -u "$tmp/want.txt" "$tmp/map.txt" || { echo "FAIL map"; fail=1; }
# the golden P22 of plain.in, and its RFC 5322 form, with the test tables
t="$src/test-vectors/mixer"
"$mg" mixer to-x400 --ber --tables "$t/tables" "$t/smtp/plain.in" >"$tmp/plain.p22"
cmp "$tmp/plain.p22" "$t/smtp/plain.p22" || { echo "FAIL to-x400 differs from the golden file"; fail=1; }
"$mg" mixer to-smtp --tables "$t/tables" "$t/smtp/plain.p22" >"$tmp/plain.out"
cmp "$tmp/plain.out" "$t/smtp/plain.p22.out" || { echo "FAIL to-smtp differs from the golden file"; fail=1; }
"$mg" mixer to-x400 --content p772 "$t/smtp/mmhs.in" >"$tmp/tree.txt"
grep -q 'PrimaryPrecedence\]: flash (4)' "$tmp/tree.txt" ||
  { echo "FAIL to-x400 tree lacks the precedence"; fail=1; }
printf 'junk' >"$tmp/junk"
if "$mg" mixer to-smtp "$tmp/junk" 2>"$tmp/err"; then echo "FAIL junk accepted"; fail=1; fi
grep -q 'does not decode' "$tmp/err" || { echo "FAIL no reason for junk"; cat "$tmp/err"; fail=1; }
[ $fail -eq 0 ] && echo "ok   mixgate mixer"
exit $fail
