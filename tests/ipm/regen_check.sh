#!/usr/bin/env bash
# The P22/P772 vector generator must reproduce the committed vectors byte for byte.
# Usage: regen_check.sh GENERATOR VECTOR_DIR
set -euo pipefail
gen="$1"; dir="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp"
n=0
for f in "$tmp"/*; do
  n=$((n + 1))
  cmp "$f" "$dir/$(basename "$f")" || { echo "FAIL: $(basename "$f") differs from a fresh run (re-run test-vectors/ipm/make-vectors.sh)"; exit 1; }
done
echo "ok: $n generated files match"
