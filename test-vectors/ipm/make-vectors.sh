#!/usr/bin/env bash
# Regenerates the P22/P772 vectors in this folder from gen_ipm_vectors.c (deterministic:
# tests/ipm checks that a fresh run gives the same bytes).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${CC:-cc}" -std=c17 -Wall -Wextra -O1 -o "$tmp/gen" "$here/gen_ipm_vectors.c"
"$tmp/gen" "$here"
ls -l "$here"/*.p22 "$here"/*.p772
