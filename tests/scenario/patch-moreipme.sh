#!/bin/bash
# Scenario: qmail-1.03-moreipme-0.6, made against qmail-1.03, on netqmail
# 1.06 after the netqmail profile's default patches (103, date-localtime,
# auth.patch, qregex, validrcptto with its glue, 0003): merged against the
# pristine netqmail tree it cannot be (its ipme.c hunk 2 fails there too:
# netqmail took its 0.0.0.0 part); merged against qmail-1.03's tree it
# leaves one true conflict in ipme.c, which the project's glue (0005)
# settles; the merged tree builds ipmeprint, ipmetest and qmail-remote,
# and an address in control/moreipme is "me". Then the same through the
# profile: `provision --with moreipme` (patch ... base=qmail-1.03) builds,
# and its provenance names the base and the glue.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail"
command -v python3 >/dev/null || tap_skip_all "python3 reads the JSON"
. "$top_srcdir/tests/lib/patchset.sh"
# shellcheck disable=SC2086
distfiles_find $PATCHSET_FILES qmail-1.03.tar.gz qmail-1.03-moreipme-0.6.patch $DISTFILES_NETQMAIL ||
	tap_skip_all "netqmail, qmail-1.03 and moreipme are not in a distfiles folder (QI_DISTFILES)"

W=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$W/cache
D=$DISTFILES
G=$top_srcdir/payload/qmail
MORE="-p1 -F0 -i $D/qmail-1.03-moreipme-0.6.patch"
patchset_prepare "$W" || tap_skip_all "the patch set could not be unpacked"
tar xzf "$D/qmail-1.03.tar.gz" -C "$W" || tap_skip_all "qmail-1.03 could not be unpacked"
Q103=$W/qmail-1.03

# defaults_tree DIR: the pristine tree with the default patches before
# moreipme merged in (validrcptto with its shipped glue).
defaults_tree() {
	cp -a "$W/pristine" "$1" || return
	local p
	for p in "${PATCHSET[@]}" "$VRT --glue $G/0002-validrcptto-after-qregex-glue.patch" \
		"-p1 -i $G/0003-validrcptto-relayclient.patch"; do
		# shellcheck disable=SC2086
		tap_setup "$QINSTALL" -q patch -d "$1" -F0 --merge --base "$W/pristine" $p || return
	done
}

# make_ipme DIR: ipmeprint, ipmetest and qmail-remote built in DIR, its
# home (conf-qmail) DIR itself, so that ipmeprint reads DIR/control.
make_ipme() {
	echo "$1" >"$1/conf-qmail" &&
		(cd "$1" && env -u MAKEFLAGS -u MAKELEVEL make ipmeprint ipmetest qmail-remote >build.log 2>&1) &&
		[ -x "$1/ipmeprint" ] && [ -x "$1/ipmetest" ] && [ -x "$1/qmail-remote" ]
}

case_not_against_pristine() {
	tap_case "moreipme cannot be merged against netqmail's pristine tree"
	local T=$W/t1 before
	defaults_tree "$T" || return
	before=$(tap_tree "$T")
	# shellcheck disable=SC2086
	tap_run 1 "merged against the pristine tree it fails" "$QINSTALL" patch -d "$T" --merge --base "$W/pristine" $MORE
	tap_like "$TAP_STDERR" 'does not apply to the pristine tree either' "the patch alone does not apply to netqmail"
	tap_like "$TAP_STDERR" 'base=COMPONENT' "the error names the profile's base="
	tap_tree_is "$T" "$before" "nothing was written"
}

case_against_qmail103() {
	tap_case "moreipme merged against qmail-1.03: one true conflict, settled by the glue"
	local T=$W/t2 before
	defaults_tree "$T" || return
	before=$(tap_tree "$T")
	# shellcheck disable=SC2086
	tap_run 1 "without the glue: a true conflict" "$QINSTALL" patch -d "$T" --merge --base "$Q103" $MORE
	tap_like "$TAP_STDERR" 'moreipme-0.6.patch: 1 true conflict' "one true conflict"
	tap_like "$TAP_STDERR" 'ipme.c: a true conflict' "in ipme.c"
	tap_tree_is "$T" "$before" "nothing was written"
	# shellcheck disable=SC2086
	tap_run 0 "with 0008-moreipme-glue.patch it merges" "$QINSTALL" --json patch -d "$T" --merge --base "$Q103" \
		--glue "$G/0008-moreipme-glue.patch" $MORE
	tap_is "$(record ipme.c 2 outcome)" "glue" "ipme.c hunk 2 (ipme_init's top) by the glue"
	tap_is "$(record ipme.c 1 outcome)" "clean" "ipme.c hunk 1 applies as written"
	tap_is "$(grep -c 'byte_copy(&ix.ip,4,"\\0\\0\\0\\0");' "$T/ipme.c")" 1 "0.0.0.0 is added once"
	tap_is "$(grep -c 'socket(AF_INET' "$T/ipme.c")" 1 "the socket is opened once"
	cp -a "$Q103" "$W/q103p" && tap_setup "$QINSTALL" -q patch -d "$W/q103p" $MORE
	tap_ok "ipme.c is qmail-1.03's with moreipme alone" cmp -s "$T/ipme.c" "$W/q103p/ipme.c"
	# shellcheck disable=SC2086
	tap_run 0 "the submission patch still applies after it" "$QINSTALL" patch -d "$T" -F0 -p1 -i "$G/0004-submission.patch"
	tap_ok "ipmeprint, ipmetest and qmail-remote build from the merged tree" make_ipme "$T"
	mkdir -p "$T/control" && printf '192.0.2.7\n' >"$T/control/moreipme"
	tap_is "$(cd "$T" && IPMETEST_HERE=1 ./ipmetest 192.0.2.7)" "me" "ipmetest: the address in control/moreipme is me"
	tap_is "$(cd "$T" && IPMETEST_HERE=1 ./ipmetest 192.0.2.8)" "not me" "ipmetest: another one is not"
	tap_like "$("$T/ipmeprint")" '192\.0\.2\.7/255\.255\.255\.255 is me' "ipmeprint lists it"
	tap_like "$("$T/ipmeprint")" '0\.0\.0\.0/255\.255\.255\.255 is me' "and 0.0.0.0"
}

case_provision() {
	tap_case "provision --with moreipme: base=qmail-1.03 with the glue"
	local R
	R=$(tap_tmpdir)
	qmail_root "$R"
	tap_run 0 "provision --with moreipme builds" "$QINSTALL" --root "$R" provision --domain mail.example.org \
		--admin admin --mirror "file://$D" --with moreipme
	local prov=$R/var/qmail/doc/PROVENANCE.json
	tap_is "$(python3 - "$prov" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["components"] if c["name"] == "netqmail"][0]
p = [p for p in c["patches"] if "moreipme" in p["patch"]][0]
h = [h for h in p["hunks"] if h["file"] == "ipme.c" and h["hunk"] == 2][0]
print(p["base"]["component"], p["base"]["sha256"][:12], p["glue"], h["outcome"], h.get("base"))
PY
)" "qmail-1.03 21ed6c562cbb payload/qmail/0008-moreipme-glue.patch glue qmail-1.03" \
		"the provenance names the base (and its pin), the glue, and ipme.c hunk 2's outcome"
	tap_run 0 "plan --without moreipme" "$QINSTALL" --root "$R" --json plan --without moreipme
	tap_unlike "$TAP_STDOUT" '"qmail-1.03"' "without moreipme, qmail-1.03 is no component"
}

case_not_against_pristine
case_against_qmail103
case_provision
tap_done
