#!/usr/bin/env bash
# Cross-checks the X.400 content mixer produced from RFC 5322 (test-vectors/mixer/smtp/*.p22,
# *.p772, the golden outputs of unit.mixer_conv) with an independent decoder: Wireshark's
# p22/p772 dissectors (`tshark -r FILE.p772 -V`; P22 has the same IPM encoding). Fails on
# "Malformed" or any expert info except tshark's "Dissector for OID not implemented" for
# RFC 2156's rfc-822-field extension (1.3.6.1.7.1.3.2, which Wireshark does not know), and
# checks that every line of FILE.expect (mapped values) and FILE.tshark (tshark's wording of
# typed values) appears in tshark's output.
# Usage: tshark_check.sh VECTOR_DIR
set -euo pipefail
dir="${1:?usage: tshark_check.sh VECTOR_DIR}"
if ! command -v tshark >/dev/null; then
  echo "SKIP: tshark not installed (scripts/install-deps.sh --test installs it)"
  exit 77
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp"
fail=0
n=0
for f in "$dir"/*.p2 "$dir"/*.p22 "$dir"/*.p772; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  base="$(basename "$f")"
  cp "$f" "$tmp/x.p772"
  if ! tshark -r "$tmp/x.p772" -V >"$tmp/out.txt" 2>"$tmp/err.txt"; then
    echo "FAIL $base: tshark exited with an error:"; cat "$tmp/err.txt"; fail=1; continue
  fi
  if grep -iE 'malformed|\[Expert Info' "$tmp/out.txt" | grep -qv 'Dissector for OID not implemented'; then
    echo "FAIL $base: tshark reports problems:"
    grep -iE -B3 'malformed|\[Expert Info' "$tmp/out.txt" | head -40
    fail=1
  fi
  if grep -q 'Dissector for OID not implemented' "$tmp/out.txt" &&
     ! grep -B2 'Dissector for OID not implemented' "$tmp/out.txt" | grep -q '1.3.6.1.7.1.3.2'; then
    echo "FAIL $base: an extension other than rfc-822-field is unknown to tshark"; fail=1
  fi
  grep -q 'STANAG 4406 Message' "$tmp/out.txt" || { echo "FAIL $base: not dissected as an IPM"; fail=1; }
  for list in "$f.expect" "$f.tshark"; do
    [ -f "$list" ] || continue
    while IFS= read -r want; do
      [ -n "$want" ] || continue
      grep -qF -- "$want" "$tmp/out.txt" || { echo "FAIL $base: tshark output lacks '$want'"; fail=1; }
    done <"$list"
  done
  [ -f "$f.expect" ] || { echo "FAIL $base: no $(basename "$f").expect"; fail=1; }
  [ $fail -ne 0 ] || echo "ok   $base"
done
if [ $n -eq 0 ]; then echo "FAIL: no vectors in $dir"; exit 1; fi
exit $fail
