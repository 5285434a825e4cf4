#!/usr/bin/env bash
# Remakes the asn1_mts_apdu seeds (fuzz/corpus/asn1_mts_apdu/gen-*.ber) with the project's own
# encoder (fuzz/gen_mts_seeds.c, CMake target gen_mts_seeds) from our test-vectors/ipm.
# usage: bash fuzz/gen-asn1-corpus.sh [BUILD_DIR]   (default build-test, configured already)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-test}
cmake --build "$build" --target gen_mts_seeds >/dev/null
rm -f "$here"/corpus/asn1_mts_apdu/gen-*
"$build/fuzz/gen_mts_seeds" "$here/../test-vectors/ipm" "$here/corpus/asn1_mts_apdu"
ls -l "$here"/corpus/asn1_mts_apdu/gen-*
