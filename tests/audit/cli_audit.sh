#!/bin/sh
# Drives `mixgate audit` end to end on a store written by audit_fill (the fixed records are
# listed in tests/audit/audit_fill.c): every filter, newest-first order, key=value quoting,
# --json (checked with python3 -m json.tool and by content), -c finding <var_dir>/audit.db,
# reading while a writer holds the store open, exit statuses, and bad arguments.
# usage: cli_audit.sh /path/to/mixgate /path/to/audit_fill   (CTest sets MIXGATE_SOURCE_DIR)
# shellcheck disable=SC2015  # "test && test || fail": fail exits
set -u
LC_ALL=C; export LC_ALL  # reasons may hold bytes that are not UTF-8
MG=$1
FILL=$2
SRC=${MIXGATE_SOURCE_DIR:?}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DB=$TMP/var/audit.db
mkdir "$TMP/var"

# run ARGS...: runs mixgate audit, stdout in $TMP/out, stderr in $TMP/err, status in $rc
run() { "$MG" audit "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }
# qids: the queue ids of the output lines, in order, on one line
qids() { sed -n 's/.* qid=\([^ ]*\) .*/\1/p' "$TMP/out" | tr '\n' ' '; }
# seqs: the seq numbers of the output lines, in order
seqs() { sed -n 's/.* seq=\([0-9]*\) .*/\1/p' "$TMP/out" | tr '\n' ' '; }

# 1. a reader beside a live writer: audit_fill keeps the store open until we write a line
mkfifo "$TMP/in" "$TMP/ready"
"$FILL" --hold "$DB" <"$TMP/in" >"$TMP/ready" &
FILLPID=$!
exec 3>"$TMP/in"
read -r word <"$TMP/ready" || fail "audit_fill did not start"
[ "$word" = ready ] || fail "audit_fill: $word"
run --db "$DB"
[ $rc -eq 0 ] || fail "read beside the writer: exit $rc $(cat "$TMP/err")"
[ "$(seqs)" = "6 5 4 3 2 1 " ] || fail "order beside the writer: $(seqs)"
# 2. the database and its WAL and shared-memory files (present while the writer runs) are private
for f in "$DB" "$DB-wal" "$DB-shm"; do
    [ -e "$f" ] || fail "$f missing while the writer runs"
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
done
echo "done" >&3
exec 3>&-
wait $FILLPID || fail "audit_fill exit $?"

# 3. every record, newest first, with every key, values quoted as in the logs
run --db "$DB"
[ $rc -eq 0 ] || fail "all: exit $rc"
[ "$(wc -l <"$TMP/out")" -eq 6 ] || fail "all: $(cat "$TMP/out")"
[ "$(seqs)" = "6 5 4 3 2 1 " ] || fail "all order: $(seqs)"
grep -qx 'time=2026-11-06T09:00:01.000000Z seq=3 qid=0V9AAAAAAAAAA1 rcpt=bob@example.org channel=shaper decision=access-denied reason="clearance lacks category \\x22ALPHA\\x22" subject_kind="" subject_len=0 summary="policy=NATO a=b"' "$TMP/out" \
    || fail "line of seq 3: $(grep 'seq=3 ' "$TMP/out")"
grep -q '^time=2026-11-05T08:00:00.000000Z seq=1 .* subject_kind=label subject_len=15 summary="NATO SECRET"$' "$TMP/out" \
    || fail "line of seq 1: $(grep 'seq=1 ' "$TMP/out")"
grep -q 'reason="key\\x09slot 2 ' "$TMP/out" || fail "control bytes escaped: $(grep 'seq=6 ' "$TMP/out")"

# 4. filters (table: arguments | expected seqs)
while IFS='|' read -r args want; do
    # shellcheck disable=SC2086
    run $args
    [ $rc -eq 0 ] || fail "$args: exit $rc $(cat "$TMP/err")"
    [ "$(seqs)" = "$want" ] || fail "$args: got '$(seqs)' want '$want'"
done <<EOF
--db $DB --qid 0V9AAAAAAAAAA1|3 2 1 |
--db $DB --decision access-denied|3 |
--db $DB --rcpt ALICE@example.org|2 |
--db $DB --since 2026-11-06|6 5 4 3 2 |
--db $DB --until 2026-11-06T09:00:01Z|2 1 |
--db $DB --since 2026-11-06T10:00:00+01:00 --until 2026-11-07|3 2 |
--db $DB --since -1h|6 |
--db $DB --since -1d --until -1h|5 |
--db $DB --limit 2|6 5 |
--db $DB --qid 0V9AAAAAAAAAA1 --limit 1|3 |
--db $DB --qid 0V9AAAAAAAAAA3 --decision decrypted --rcpt carol@example.org|6 |
EOF

# 5. nothing matched: exit 1, nothing on stdout ([] with --json)
run --db "$DB" --qid NOSUCHQID
[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] || fail "no match: exit $rc $(cat "$TMP/out")"
run --db "$DB" --qid NOSUCHQID --json
[ $rc -eq 1 ] && [ "$(cat "$TMP/out")" = "[]" ] || fail "no match json: exit $rc $(cat "$TMP/out")"
python3 -m json.tool "$TMP/out" >/dev/null || fail "empty json invalid"

# 6. --json: valid JSON (whatever bytes a reason holds), the same records, subject in base64
run --db "$DB" --json
[ $rc -eq 0 ] || fail "json: exit $rc"
python3 -m json.tool "$TMP/out" >/dev/null || fail "json invalid: $(cat "$TMP/out")"
python3 - "$TMP/out" <<'PY' || fail "json content"
import base64, json, sys
recs = json.load(open(sys.argv[1], encoding="utf-8"))
assert [r["seq"] for r in recs] == [6, 5, 4, 3, 2, 1], recs
by = {r["seq"]: r for r in recs}
assert by[1]["subject_kind"] == "label"
assert base64.b64decode(by[1]["subject"]) == bytes.fromhex("310b800102060 62b0601040100 00ff".replace(" ", ""))
assert base64.b64decode(by[4]["subject"]) == bytes.fromhex("308200020500")
assert by[4]["summary"] == "CN=Alice, O=Example"
assert by[3]["reason"] == 'clearance lacks category "ALPHA"'
assert by[3]["time"] == "2026-11-06T09:00:01.000000Z" and by[3]["time_us"] == 1793955601000000
assert by[6]["reason"] == "key\tslot 2 \u00ff\u00fe bytes, caf\u00e9", repr(by[6]["reason"])
assert by[2]["subject"] is None and by[2]["rcpt"] == "alice@example.org"
assert set(by[2]) == {"seq", "time", "time_us", "qid", "rcpt", "channel", "decision", "reason",
                      "subject_kind", "summary", "subject"}
PY
run --db "$DB" --json --decision access-granted
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [x["seq"] for x in r]==[2]' "$TMP/out" \
    || fail "json filter: $(cat "$TMP/out")"

# 7. -c finds <var_dir>/audit.db; without -c/--db, $MIXGATE_VAR/audit.db
MIXGATE_VAR=$TMP/var "$MG" audit -c "$SRC/etc/mixgate.conf" --limit 1 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && [ "$(seqs)" = "6 " ] || fail "-c: exit $rc $(cat "$TMP/out" "$TMP/err")"
MIXGATE_VAR=$TMP/var "$MG" audit --qid 0V9AAAAAAAAAA2 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && [ "$(seqs)" = "4 " ] || fail "MIXGATE_VAR: exit $rc $(cat "$TMP/out" "$TMP/err")"

# 8. errors: exit 2 and one line on stderr naming the problem, nothing on stdout
printf 'not a database, just some text that is long enough to be a header.....\n' >"$TMP/junk.db"
while IFS='|' read -r args msg; do
    # shellcheck disable=SC2086
    run $args
    [ $rc -eq 2 ] || fail "'$args': exit $rc"
    [ ! -s "$TMP/out" ] || fail "'$args' wrote to stdout"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "'$args': stderr not one line: $(cat "$TMP/err")"
    grep -q -- "$msg" "$TMP/err" || fail "'$args': $(cat "$TMP/err") (want $msg)"
done <<EOF
--db $DB --bogus|unknown option: --bogus
--db $DB extra|unexpected argument: extra
--db $DB --since|option needs a value: --since
--db $DB --since yesterday|--since: not a time
--db $DB --until 2026-02-30|--until: not a time
--db $DB --since -1h --until -2h|--since is not before --until
--db $DB --limit 0|--limit wants a number
--db $DB --limit 12x|--limit wants a number
--db $DB --limit -3|--limit wants a number
--db $DB --decision Access-Denied|--decision is a token
--db $DB --qid A --qid B|option given twice: --qid
--db $DB -c $SRC/etc/mixgate.conf|exclude each other
--db $TMP/none.db|cannot read $TMP/none.db: no such file
--db $TMP/junk.db|not an audit database
-c $TMP/none.conf|$TMP/none.conf: cannot read
EOF
run --help
[ $rc -eq 0 ] && grep -q '^usage: mixgate audit' "$TMP/out" || fail "--help: exit $rc"
echo "audit CLI: ok"
