#!/bin/bash
# Scenario: the three-way merge (qinstall patch --merge --base) on the
# real patch set of the netqmail profile, from the shared distfiles
# folder: qmail-103, date-localtime, qmail-smtpd-auth-0.31's auth.patch
# (after base64.c/.h are copied in) and qregex-20060423 on netqmail-1.06,
# each merged against the pristine tree; the two conflicts of qregex
# resolved by rule and the result compiled (make qmail-smtpd); validrcptto
# after them a true conflict without glue (nothing written) and merged with
# a glue patch written here; and each patch alone on the pristine tree
# placed hunk for hunk as GNU patch places it.
#
# auth.patch is a context diff: the series applies it as it is, -p0 -F1
# (hunks #2 and #3 with fuzz 1, as GNU patch places them).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail-smtpd"
. "$top_srcdir/tests/lib/patchset.sh"
# shellcheck disable=SC2086
distfiles_find $PATCHSET_FILES || tap_skip_all "the netqmail patch set is not in a distfiles folder (QI_DISTFILES)"

W=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$W/cache
D=$DISTFILES
patchset_prepare "$W" || tap_skip_all "the patch set could not be unpacked, or GNU patch could not apply auth.patch"
SET=("${PATCHSET[@]}")

# merged_tree DIR: the pristine tree with the set before validrcptto merged in.
merged_tree() {
	cp -a "$W/pristine" "$1" || return
	local p
	for p in "${SET[@]}"; do
		# shellcheck disable=SC2086
		tap_setup "$QINSTALL" -q patch -d "$1" -F0 --merge --base "$W/pristine" $p || return
	done
}

# make_smtpd DIR: qmail-smtpd built in a copy of DIR.
make_smtpd() {
	rm -rf "$1.build" && cp -a "$1" "$1.build" &&
		(cd "$1.build" && env -u MAKEFLAGS -u MAKELEVEL make qmail-smtpd >build.log 2>&1) &&
		[ -x "$1.build/qmail-smtpd" ]
}

case_set_merges_by_rule() {
	tap_case "the set merges by rule and compiles"
	local T=$W/set p
	cp -a "$W/pristine" "$T"
	for p in "${SET[@]:0:3}"; do
		# shellcheck disable=SC2086
		tap_setup "$QINSTALL" -q patch -d "$T" -F0 --merge --base "$W/pristine" $p || return
	done
	# shellcheck disable=SC2086
	tap_run 0 "qregex after smtp-auth merges" "$QINSTALL" --json patch -d "$T" -F0 --merge --base "$W/pristine" ${SET[3]}
	tap_is "$(record Makefile 1 outcome)/$(record Makefile 1 rule)" "rule/words" \
		"the qmail-smtpd link lines: both add objects (words)"
	tap_is "$(record qmail-smtpd.c 1 outcome)/$(record qmail-smtpd.c 1 rule)" "rule/insert/insert" \
		"both add lines after #include \"commands.h\" (insert/insert)"
	tap_is "$(record qmail-smtpd.c 2 outcome)" "offset" "a hunk that applied says offset"
	tap_like "$(cat "$T/Makefile")" 'load qmail-smtpd.o rcpthosts.o qregex.o commands.o' "qregex.o is on the link line"
	tap_like "$(grep -A5 '^qmail-smtpd: ' "$T/Makefile")" 'auto_qmail.o base64.o socket.lib' "and base64.o too"
	tap_like "$(sed -n '/#include "commands.h"/,/#define MAXHOPS/p' "$T/qmail-smtpd.c")" \
		'#include "qregex.h"' "qregex's includes are in"
	tap_ok "qmail-smtpd builds from the merged tree" make_smtpd "$T"
	# Its messages: the hunks the merge placed are not called FAILED.
	local T2=$W/set-text
	cp -a "$W/pristine" "$T2"
	for p in "${SET[@]:0:3}"; do
		# shellcheck disable=SC2086
		tap_setup "$QINSTALL" -q patch -d "$T2" -F0 --merge --base "$W/pristine" $p || return
	done
	# shellcheck disable=SC2086
	tap_run 0 "the same merge, its messages" "$QINSTALL" patch -d "$T2" -F0 --merge --base "$W/pristine" ${SET[3]}
	tap_like "$TAP_STDOUT" '^Hunk #1 did not apply at [0-9]+: merged three ways \(below\)\.$' \
		"a hunk the merge placed says so"
	tap_like "$TAP_STDOUT" '^1 out of 2 hunks merged three ways$' "and the count says merged"
	tap_like "$TAP_STDOUT" '^merged file Makefile three ways \(2 conflict regions resolved\)$' "then the merge of the file"
	tap_unlike "$TAP_STDOUT" 'FAILED' "nothing is called FAILED"
}

case_validrcptto_true_conflict() {
	tap_case "validrcptto after qregex is a true conflict without glue"
	local T=$W/vrt1 before
	merged_tree "$T" || return
	before=$(tap_tree "$T")
	# shellcheck disable=SC2086
	tap_run 1 "validrcptto without glue fails" "$QINSTALL" patch -d "$T" -F0 --merge --base "$W/pristine" $VRT
	tap_like "$TAP_STDERR" 'qmail-smtpd.c: a true conflict' "the error names the file"
	tap_like "$TAP_STDERR" 'validrcptto.cdb.patch: 1 true conflict' "and the patch"
	tap_like "$TAP_STDERR" 'Pin a glue patch' "and says to pin a glue patch"
	tap_like "$TAP_STDERR" 'constmap_init\(&mapbmf' "it shows the sides"
	tap_tree_is "$T" "$before" "nothing was written"
}

case_validrcptto_glue() {
	tap_case "validrcptto merges with its glue and compiles"
	local T=$W/vrt2
	merged_tree "$T" || return
	# shellcheck disable=SC2086
	tap_run 0 "validrcptto with the glue merges" "$QINSTALL" --json patch -d "$T" -F0 --merge --base "$W/pristine" \
		--glue "$W/validrcptto-glue.patch" $VRT
	tap_is "$(record qmail-smtpd.c 4 outcome)" "glue" "the setup() hunk is resolved by the glue"
	tap_is "$(record Makefile 1 outcome)/$(record Makefile 1 rule)" "rule/words" "the Makefile by the words rule"
	tap_is "$(record qmail-smtpd.c 2 outcome)/$(record qmail-smtpd.c 2 rule)" "rule/insert/insert" \
		"the error functions by insert/insert"
	tap_is "$(grep -c '#include "strerr.h"' "$T/qmail-smtpd.c")" 2 "the include both add is kept twice (only an identical whole insertion is kept once)"
	tap_is "$(grep -c 'constmap_init(&mapbmf' "$T/qmail-smtpd.c")" 0 "the glue removed the constmap"
	tap_ok "qmail-smtpd builds with validrcptto" make_smtpd "$T"
}

# alone LABEL OPTIONS...: the patch on the pristine tree by GNU patch and
# by qinstall: the same messages (every hunk's place) and the same files.
alone() {
	local label=$1
	shift
	rm -rf "$W/gnu" "$W/qi" && cp -a "$W/pristine" "$W/gnu" && cp -a "$W/pristine" "$W/qi"
	local g
	g=$(cd "$W/gnu" && "$GNU_PATCH" "$@" 2>&1)
	q=$(cd "$W/qi" && "$QINSTALL" patch "$@" 2>&1)
	tap_is "$q" "$g" "$label alone: the hunks are placed as GNU patch places them"
	tap_tree_same "$W/qi" "$W/gnu" "$label alone: the same files as GNU patch"
}

case_alone_like_gnu() {
	tap_case "each patch alone on the pristine tree, as GNU patch"
	alone qmail-103 -p1 -F0 -i "$D/qmail-103.patch"
	alone date-localtime -p1 -F0 -i "$D/qmail-date-localtime.patch"
	alone qregex -p3 -F0 -i "$D/qregex-20060423.patch"
	alone validrcptto -p1 -F0 -i "$D/netqmail-1.05-validrcptto.cdb.patch"
	alone "qregex (fuzz 2)" -p3 -i "$D/qregex-20060423.patch"
	alone "auth.patch (a context diff)" -p0 -F1 -i "$AUTH"
	tap_like "$q" 'Hunk #2 succeeded at 62 with fuzz 1.' "auth.patch: hunk #2 with fuzz 1 at 62"
	tap_like "$q" 'Hunk #3 succeeded at 241 with fuzz 1.' "auth.patch: hunk #3 with fuzz 1 at 241"
}

case_set_merges_by_rule
case_validrcptto_true_conflict
case_validrcptto_glue
case_alone_like_gnu
tap_done
