#!/bin/sh
# CLI cases for `mixgate label`: name | expected exit | expected text in stdout+stderr | args.
# Usage: cli_label.sh /path/to/mixgate   (MIXGATE_VECTORS set by CTest)
M="$1"
V="${MIXGATE_VECTORS:-../shared/vectors}/labels"
T="$V/spiffing/test-data"
if [ ! -d "$T" ]; then
    echo "*** SKIPPED: test vectors not found in $V; set MIXGATE_VECTORS ***"
    exit 77
fi
fails=0
run() { # name exit text args...
    name="$1"; want="$2"; text="$3"; shift 3
    out=$("$M" label "$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ] || ! printf '%s' "$out" | grep -qF -- "$text"; then
        echo "FAIL [$name] exit $rc (want $want), output: $out"
        fails=$((fails + 1))
    else
        echo "ok   [$name]"
    fi
}
N="$T/nato-4774-policy.xml"
run validate-valid 0 "valid" validate --spif "$N" "$T/nato-4774-17-1.xml"
run validate-invalid 1 "category EAPC is not allowed with classification CONFIDENTIAL" validate --spif "$N" "$T/nato-4774-17-5.xml"
run validate-bad-spif 2 "food-policy.xml:81:" validate --spif "$T/food-policy.xml" "$T/food-label-water.xml"
run validate-missing-label 2 "cannot read" validate --spif "$N" "$T/no-such-label.xml"
run marking-en 0 "NATO RESTRICTED Releasable to Japan, Switzerland, Ukraine" marking --spif "$N" "$T/nato-4774-17-4.nato"
run marking-fr 0 "NATO SANS CLASSIFICATION Communicable a ISAF, KFOR, RESOLUTE SUPPORT" marking --spif "$N" --lang fr-CA "$T/nato-4774-17-1.xml"
run marking-subject 0 "TLPX:AMBER J:EU" marking --spif "$T/tlp-plus.xml" --phrase subject "$T/tlpx-amber-eu.xml"
run marking-ber 0 "NATO/KFOR CONFIDENTIAL Ireland, Sweden, Ukraine, NATO ONLY" marking --spif "$N" "$V/spiffing/generated-ber/nato-4774-17-6.ber"
F="$V/spiffing/repaired/food-policy.xml"
run check-allow 0 "allow: allowed" check --spif "$F" "$T/food-label-milk-chocolate.xml" "$T/food-clearance-all-okay.xml"
run check-deny 1 "deny: restrictive category Lactose" check --spif "$F" "$T/food-label-milk-chocolate.xml" "$T/food-clearance-lactose-intolerant.xml"
run check-ber-clearance 1 "deny:" check --spif "$F" "$T/food-label-milk-chocolate.xml" "$V/spiffing/generated-ber/food-clearance-lactose-intolerant.ber"
run convert-nato 0 "<GenericValue>RESOLUTE SUPPORT</GenericValue>" convert --spif "$N" --to nato "$T/nato-4774-17-1.xml"
run convert-sio 0 "SIO-Label: marking=\"NATO UNCLASSIFIED - STAFF\"" convert --spif "$N" --to sio "$T/nato-4774-17-3.nato"
run convert-policy 0 "<policy id=\"1.2.826.0.1.6726289.0.2\"/>" convert --spif "$T/tlp-plus.xml" --to xml --to-policy "$T/tlp.xml" "$T/tlpx-amber-eu.xml"
run convert-no-equivalent 2 "No equivalent classification" convert --spif "$N" --to xml --to-policy "$T/tlp.xml" "$T/nato-4774-17-2.xml"
printf '<label xmlns="http://surevine.com/xmlns/spiffy"><policy id="1.3.26.1.3.1"/><classification lacv="1"/><tag type="permissive" id="1.3.26.1.4.4" lacv="1001"/><tag type="permissive" id="1.3.26.1.4.4" lacv="1008"/><tag type="permissive" id="1.3.26.1.4.4" lacv="4242"/></label>' > "${TMPDIR:-/tmp}/labels-cli-fix-$$.xml"
X="${TMPDIR:-/tmp}/labels-cli-fix-$$.xml"
run fix-needed 1 "category UKRAINE is obsolete" validate --spif "$N" "$X"
run fix 0 "--fix dropped 2 categories" validate --fix --spif "$N" "$X"
rm -f "$X"
run show 0 "category: Releasable To / JPN enumeratedPermissive" show --spif "$N" "$T/nato-4774-17-4.xml"
run bad-format 2 "unknown format" convert --spif "$N" --to pdf "$T/nato-4774-17-4.xml"
run usage 2 "usage: mixgate label" frobnicate
echo "$fails failure(s)"
[ "$fails" = 0 ]
