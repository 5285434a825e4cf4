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

# 1b. -v writes a configuration that loads again and dumps the same: every example, every
# channel kind's options (those a kind does not write itself as the file gave them), the
# labels group; templates keep their \${...}, secrets are masked
for f in "$SRC"/etc/mixgate.conf "$SRC"/etc/examples/*.conf; do
    b=$(basename "$f" .conf)
    (cd "$SRC" && env -i PATH="$PATH" "$MG" check-config -v -c "$f") >"$TMP/$b.v1" 2>&1 \
        || fail "$b -v: $(cat "$TMP/$b.v1")"
    sed 1d "$TMP/$b.v1" >"$TMP/$b.dump.conf"
    (cd "$SRC" && env -i PATH="$PATH" "$MG" check-config -v -c "$TMP/$b.dump.conf") >"$TMP/$b.v2" 2>&1 \
        || fail "$b: the -v dump does not load again: $(cat "$TMP/$b.v2")"
    sed 1,2d "$TMP/$b.v1" >"$TMP/$b.a"
    sed 1,2d "$TMP/$b.v2" >"$TMP/$b.b"
    cmp -s "$TMP/$b.a" "$TMP/$b.b" || fail "$b: the dump of the dump differs: $(diff "$TMP/$b.a" "$TMP/$b.b")"
done
grep -q 'cert = "etc/examples/gateway-pair/a.pem";' "$TMP/x400-triple-wrap.a" || fail "cms cert not dumped"
grep -q 'regex = "\\\\\[hold\\\\\]";' "$TMP/rules.a" || fail "rules not dumped: $(cat "$TMP/rules.a")"
grep -q '^labels = {' "$TMP/labels.a" && grep -q 'clearances_file = "etc/examples/labels/clearances";' "$TMP/labels.a" \
    || fail "labels group not dumped: $(cat "$TMP/labels.a")"
cat >"$TMP/kinds.conf" <<CONF
global = { var_dir = "$TMP/var"; };
listeners = ( { name = "in"; listen = "127.0.0.1:2525"; } );
channels = (
  { name = "mark"; type = "shaper"; spif = "$SRC/etc/examples/labels/example-spif.xml";
    outputs = [ "sio-label" ]; headers = ( { name = "X-Class"; value = "\\\${classification} (\\\${policy})"; } ); },
  { name = "conv"; type = "mixer"; domain = "x400.example"; or_address = "/C=XX/ADMD= /PRMD=GW/"; },
  { name = "out"; type = "p1"; },
  { name = "local"; type = "file"; directory = "$TMP/d"; concurrency = 7; }
);
peers = ( { name = "mta"; type = "x400"; host = "127.0.0.1:1102"; mta_name = "M"; password = "pw1";
            our_mta_name = "U"; our_password = "pw2"; } );
labels = { spif = "$SRC/etc/examples/labels/example-spif.xml"; unlabelled = "allow"; report_label = "<label xmlns='http://surevine.com/xmlns/spiffy'><policy id='1.3.6.1.4.1.99999.7'/><classification lacv='2'/></label>";
           ldap = { uri = "ldap://127.0.0.1:1"; base = "dc=x"; bind_dn = "cn=a"; password = "ldap-secret"; }; };
routes = ( { or_address = "*"; label_at_least = "SECRET"; chain = [ "mark", "out" ]; peer = "mta"; },
           { default = true; chain = [ "conv", "local" ]; } );
CONF
"$MG" check-config -v -c "$TMP/kinds.conf" >"$TMP/k1" 2>&1 || fail "kinds.conf: $(cat "$TMP/k1")"
sed 1d "$TMP/k1" >"$TMP/k.dump.conf"
"$MG" check-config -v -c "$TMP/k.dump.conf" >"$TMP/k2" 2>&1 || fail "kinds dump: $(cat "$TMP/k2")"
sed 1,2d "$TMP/k1" >"$TMP/k.a"; sed 1,2d "$TMP/k2" >"$TMP/k.b"
cmp -s "$TMP/k.a" "$TMP/k.b" || fail "kinds: the dump of the dump differs: $(diff "$TMP/k.a" "$TMP/k.b")"
grep -qF 'value = "\${classification} (\${policy})";' "$TMP/k.a" || fail "template: $(cat "$TMP/k.a")"
grep -q 'concurrency = 7; directory' "$TMP/k.a" || fail "file channel: $(cat "$TMP/k.a")"
grep -q 'name = "conv"; type = "mixer"; direction = ' "$TMP/k.a" || fail "mixer: $(cat "$TMP/k.a")"
grep -q 'password = "\*\*\*\*\*\*\*\*";' "$TMP/k.a" && ! grep -q 'ldap-secret\|pw1\|pw2' "$TMP/k.a" \
    || fail "secrets: $(cat "$TMP/k.a")"
grep -q 'report_label = ' "$TMP/k.a" || fail "labels group: $(cat "$TMP/k.a")"

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
