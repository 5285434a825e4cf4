#!/usr/bin/env bash
# Writes the seeds of the dsn_build and control_request fuzz targets (fuzz/corpus/<target>/gen-*).
# dsn_build unit: 4 flag bytes (RET; NOTIFY | action << 4 for each of two recipients; options
# bit 0 last attempt, 1 retry-until, 2 cut the returned content at 64 bytes), then 12 fields
# ended by NUL (originator, envid, then per recipient addr, orcpt, status, remote MTA,
# diagnostic), then the original content. control_request unit: the bytes a client writes,
# 0xFF splitting them into separate reads. (queue_store_recover seeds are in its own folder,
# written by fuzz/gen-queue-seeds.py: see fuzz/queue_store_recover.c for their format.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
d=$here/corpus/dsn_build
c=$here/corpus/control_request
mkdir -p "$d" "$c"
rm -f "$d"/gen-* "$c"/gen-*
msg='From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: quarterly\r\nMessage-ID: <1@example.org>\r\n\r\nbody line\r\nsecond line\r\n'
dsn() { # dsn NAME FLAGS(4 octal escapes) FIELDS... (12) CONTENT
  local name=$1 flags=$2; shift 2
  { printf "$flags"; for i in $(seq 12); do printf '%s\0' "$1"; shift; done; printf "$1"; } > "$d/gen-$name"
}
# failed (action 0) with NOTIFY=FAILURE (4), RET=FULL, ORCPT in xtext, a remote reply
dsn failed-full '\002\004\004\001' 'alice@example.org' 'ENV+2B1' \
  'bob@example.net' 'rfc822;bob+2Bx@example.net' '5.1.1' 'mx.example.net' '550 5.1.1 <bob@example.net>: no such user' \
  'carol@example.net' 'rfc822;carol@example.net' '5.2.2' 'mx.example.net' '552 5.2.2 mailbox full' "$msg"
# delayed (1) with NOTIFY=DELAY (8), headers only, retry-until
dsn delayed-hdrs '\001\030\030\003' 'alice@example.org' '' \
  'bob@example.net' '' '4.4.1' 'mx.example.net' '451 4.4.1 connection timed out' \
  'dave@example.net' 'bob@example.net' '' '' '' "$msg"
# delivered (2) with NOTIFY=SUCCESS (2), LF line ends, no header/body separator
dsn delivered-lf '\000\042\042\000' 'alice@example.org' 'id-1' \
  'bob@example.net' 'utf-8;b+C3+A9b@example.net' '2.0.0' 'mx.example.net' '250 2.0.0 ok' \
  'eve@example.net' 'x400;/C=gb/O=mil/S=eve/' '' 'mta.example' '' 'Subject: only headers\nX-A: b\n'
# relayed/expanded, cut at 64 bytes, hostile CR/LF/8-bit in every copied field
dsn hostile-fields '\002\063\104\004' 'alice@example.org' $'e\r\nX-Injected: 1' \
  'bob@example.net' 'rfc822;b+0D+0AX-Evil:+201@example.net' '5.9.99' $'mx\r\nX: y' $'550 bad\r\nFinal-Recipient: rfc822;x\xff' \
  'carol@example.net' 'noaddrtype' '9.9.9' '' $'\x01\x7f' "$msg$msg$msg"
# null reverse path: no report is due
dsn null-path '\002\004\004\000' '' '' 'bob@example.net' '' '' '' '' '' '' '' '' '' "$msg"
printf 'queue list\n' > "$c/gen-list"
printf 'queue show 0123456789ABCD\n' > "$c/gen-show"
printf 'queue hold 0123456789ABCD  operator\treason here\r\n' > "$c/gen-hold"
printf 'que\377ue rel\377ease 0123456789ABCD\n' > "$c/gen-split-reads"
printf 'status\ntrailing bytes ignored\n' > "$c/gen-status-trailing"
printf '   \n' > "$c/gen-empty"
printf 'a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7\n' > "$c/gen-too-many-words"
head -c 5000 /dev/zero | tr '\0' 'x' > "$c/gen-too-long"
echo "seeds written under $d and $c"
