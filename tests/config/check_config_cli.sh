#!/bin/sh
# Drives `mixgate check-config` end to end: the shipped files pass, a broken file fails with
# file:line messages on stderr, -v shows expanded values, --route names the rule.
# usage: check_config_cli.sh /path/to/mixgate   (CTest sets MIXGATE_SOURCE_DIR)
set -u
MG=$1
SRC=${MIXGATE_SOURCE_DIR:?}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. the shipped configurations are valid, with a one-line summary
"$MG" check-config -c "$SRC/etc/mixgate.conf" >"$TMP/out" 2>"$TMP/err" || fail "etc/mixgate.conf: $(cat "$TMP/err")"
grep -q "^$SRC/etc/mixgate.conf: ok (2 listeners, 1 channel, 1 peer, 1 route, with default)\$" "$TMP/out" \
    || fail "summary: $(cat "$TMP/out")"
"$MG" check-config -c "$SRC/etc/examples/smtp-relay.conf" >"$TMP/out" 2>&1 || fail "smtp-relay.conf: $(cat "$TMP/out")"
"$MG" check-config -c "$SRC/etc/examples/x400-relay.conf" >"$TMP/out" 2>&1 || fail "x400-relay.conf: $(cat "$TMP/out")"
# every example configuration loads with its default variables, from the top of the tree (the
# defaults of gateway-pair.conf and labels.conf name example files there), with no MIXGATE_*
# variable set
for f in "$SRC"/etc/mixgate.conf "$SRC"/etc/examples/*.conf; do
    (cd "$SRC" && env -i PATH="$PATH" "$MG" check-config -c "$f") >"$TMP/out" 2>&1 \
        || fail "$(basename "$f") with default variables: $(cat "$TMP/out")"
done
MIXGATE_P1_RELAY_TSEL="'0101'H" MIXGATE_P1_MODE=1984 \
    "$MG" check-config -v -c "$SRC/etc/examples/x400-relay.conf" >"$TMP/out" 2>&1 || fail "x400 -v: $(cat "$TMP/out")"
grep -q "tsel = \"'0101'H\";" "$TMP/out" && grep -q 'mode = "1984";' "$TMP/out" || fail "x400 -v: $(cat "$TMP/out")"

# 2. -v shows what ${...} became
MIXGATE_RELAY=relay.example.net:2727 MIXGATE_RETRY_MIN=90 \
    "$MG" check-config -v -c "$SRC/etc/examples/smtp-relay.conf" >"$TMP/out" 2>&1 || fail "-v: $(cat "$TMP/out")"
grep -q 'host = "relay.example.net:2727";' "$TMP/out" || fail "-v host: $(cat "$TMP/out")"
grep -q 'retry_min = 90;' "$TMP/out" || fail "-v retry_min: $(cat "$TMP/out")"

# 3. --route names the rule and the chain
"$MG" check-config -c "$SRC/etc/examples/smtp-relay.conf" --route user@example.org >"$TMP/out" 2>&1 \
    || fail "--route: $(cat "$TMP/out")"
grep -q '^user@example.org: route #1 (line 45) default -> smtp-out peer smarthost$' "$TMP/out" \
    || fail "--route output: $(cat "$TMP/out")"

# 3b. an O/R address takes the or_address rules (the default here)
"$MG" check-config -c "$SRC/etc/mixgate.conf" --route "/C=GB/ADMD= /PRMD=SMHS/S=Smith/" >"$TMP/out" 2>&1 \
    || fail "--route O/R: $(cat "$TMP/out")"
grep -q '^/C=GB/ADMD= /PRMD=SMHS/S=Smith/: route #1 (line [0-9]*) default -> local$' "$TMP/out" \
    || fail "--route O/R output: $(cat "$TMP/out")"

# 4. every error, with its line, on stderr; exit 1
cat >"$TMP/bad.conf" <<'CONF'
global = { log = "file"; };
listeners = ( { name = "in"; listen = "127.0.0.1:25"; relay_networks = [ "0.0.0.0/0" ]; } );
channels = ( { name = "local"; type = "file"; directory = "/d"; } );
routes = ( { default = true; chain = [ "lokal" ]; } );
CONF
"$MG" check-config -c "$TMP/bad.conf" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] || fail "bad.conf exit $rc"
[ ! -s "$TMP/out" ] || fail "bad.conf wrote to stdout: $(cat "$TMP/out")"
grep -q "^$TMP/bad.conf:1: global: 'log'" "$TMP/err" || fail "line 1: $(cat "$TMP/err")"
grep -q "^$TMP/bad.conf:2: listener 'in': relay_networks lets every client relay" "$TMP/err" || fail "line 2: $(cat "$TMP/err")"
grep -q "^$TMP/bad.conf:4: route #1: chain names channel 'lokal'" "$TMP/err" || fail "line 4: $(cat "$TMP/err")"

# 5. a missing file and bad usage
"$MG" check-config -c "$TMP/none.conf" >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "none.conf: cannot read" "$TMP/err" || fail "missing file: $rc $(cat "$TMP/err")"
"$MG" check-config >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no -c: exit $rc"
echo "check-config CLI: ok"
