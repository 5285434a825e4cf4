#!/usr/bin/env bash
# Cross-checks mixgate's own P22/P772 vectors (test-vectors/ipm) with an independent decoder:
# Wireshark's p22/p772 dissectors via `tshark -r FILE.p772 -V` (tshark decodes a raw file
# named *.p772 as STANAG 4406; P22 has the same IPM/IPN encoding, so P22 files are given the
# same extension in a temporary copy). Fails on "Malformed" or any expert error, and checks
# that every value listed in NAME.expect appears in tshark's output (as text, or as hex for
# octet strings tshark shows in hex), and every line of NAME.tshark (tshark's own wording of
# typed values, e.g. "PrimaryPrecedence: flash (4)").
# Usage: tshark_check.sh VECTOR_DIR
set -euo pipefail
dir="${1:?usage: tshark_check.sh VECTOR_DIR}"
if ! command -v tshark >/dev/null; then
  echo "SKIP: tshark not installed (scripts/install-deps.sh --test installs it)"
  exit 77
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" # tshark wants a writable profile directory
fail=0
n=0
for f in "$dir"/*.p22 "$dir"/*.p772; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  base="$(basename "$f")"
  cp "$f" "$tmp/$base.p772"
  if ! tshark -r "$tmp/$base.p772" -V >"$tmp/out.txt" 2>"$tmp/err.txt"; then
    echo "FAIL $base: tshark exited with an error:"; cat "$tmp/err.txt"; fail=1; continue
  fi
  if grep -qiE 'malformed|\[Expert Info' "$tmp/out.txt"; then
    echo "FAIL $base: tshark reports problems:"
    grep -iE -B3 'malformed|\[Expert Info' "$tmp/out.txt" | head -40
    fail=1
  fi
  if ! grep -q 'STANAG 4406 Message' "$tmp/out.txt"; then
    echo "FAIL $base: tshark did not dissect it as an IPMS information object"; fail=1
  fi
  expect="${f%.*}.expect"
  [ -f "$expect" ] || { echo "FAIL $base: no $(basename "$expect")"; fail=1; continue; }
  missing=0
  while IFS= read -r want; do
    [ -n "$want" ] || continue
    hex="$(printf '%s' "$want" | od -An -tx1 | tr -d ' \n')"
    if ! grep -qF -- "$want" "$tmp/out.txt" && ! grep -qF -- "$hex" "$tmp/out.txt"; then
      echo "FAIL $base: tshark output lacks '$want'"; missing=1
    fi
  done <"$expect"
  # NAME.tshark: tshark's own wording of typed values we put in (precedence names etc.)
  if [ -f "${f%.*}.tshark" ]; then
    while IFS= read -r want; do
      [ -n "$want" ] || continue
      grep -qF -- "$want" "$tmp/out.txt" || { echo "FAIL $base: tshark output lacks '$want'"; missing=1; }
    done <"${f%.*}.tshark"
  fi
  [ $missing -eq 0 ] || fail=1
  [ $fail -ne 0 ] || echo "ok   $base ($(wc -l <"$expect") values found)"
done
if [ $n -eq 0 ]; then echo "FAIL: no vectors in $dir"; exit 1; fi
exit $fail
