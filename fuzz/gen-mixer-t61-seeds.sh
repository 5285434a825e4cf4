#!/bin/sh
# Seeds for mixer_to_822 with teletex (T.61) O/R attributes: RFC 5322 messages whose
# addresses carry RFC 2156 teletex-and-or-ps values ("Muller*M{252}ller") in the personal
# name, organization, units, common name and a domain-defined attribute, converted to P22,
# P772 and P2 by our own gateway. The X.400 -> RFC 5322 side then reads teletex extension
# attributes (mixer_orname.c), which no capture in the vectors has.
# usage: fuzz/gen-mixer-t61-seeds.sh BUILD_DIR   (writes fuzz/corpus/mixer_to_822/seed-t61-*)
set -eu
B=${1:?usage: $0 BUILD_DIR}
M="$B/cli/mixgate"
OUT="$(dirname "$0")/corpus/mixer_to_822"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
i=0
while IFS='|' read -r from to subj; do
    i=$((i + 1))
    printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <t61-%d@example.org>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n' \
        "$from" "$to" "$subj" "$i" >"$T/m$i.eml"
    for c in p22 p772 p2; do
        "$M" mixer to-x400 --content "$c" --ber "$T/m$i.eml" >"$OUT/seed-t61-$i-$c.ber"
    done
done <<'LIST'
"/C=GB/ADMD= /PRMD=Example/O=Ops/G=Jose*Jos{194}e/S=Muller*M{252}ller/"@x400.example|"/C=GB/ADMD= /PRMD=Example/OU1=Dev*D{200}ev/S=Smith*Sm{201}ith/"@x400.example|teletex
"/C=GB/ADMD= /PRMD=Example/O=Acme*Ac{225}me/CN=Bob*B{232}ob/"@x400.example|"/C=GB/ADMD= /PRMD=Example/O=Ops/OU1=A*{193}A/OU2=B*{194}B/OU3=C/OU4=D*{195}D/S=X/"@x400.example|t61 org and cn
"/C=GB/ADMD= /PRMD=Example/O=Ops/S=Lee/DD.Tel=12*{200}12/"@x400.example|"/C=FR/ADMD=ATLAS/PRMD=Ex/O=Ops/I=J*{202}J/GQ=Jr*J{203}r/S=Noel*No{204}el/"@x400.example|dda
LIST
