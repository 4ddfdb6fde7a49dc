#!/bin/bash
# Scenario: `qinstall provision` of the netqmail profile (qmail itself, with
# ucspi-tcp and daemontools) into throwaway roots, the sources from the
# shared distfiles folder served on loopback. qmail's accounts are made in
# the same run; every path is what qmail's hier.c says (checked with an
# instcheck built from the netqmail tree for the root, not with a table
# copied into the test); a second run changes nothing; status shows the
# version, the patches and the ids; verify finds drift; rollback gives the
# root back; a bad root, a clash on an id, a missing source and a failed
# build stop before the root is touched. The cases share one build cache.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail"
command -v unshare >/dev/null || tap_skip_all "unshare(1) is needed for the instcheck of the root"
distfiles_mirror $DISTFILES_NETQMAIL ||
	tap_skip_all "cannot start the loopback HTTP server"
MIRROR=(${DISTFILES_URL:+--mirror "$DISTFILES_URL"})
# Every provision names the domain and the administrator (a user of the root).
ARGS=(--domain mail.example.org --admin admin "${MIRROR[@]}")

CACHE=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$CACHE
TAP_TREE_EXCLUDE=var/lib/qinstall

# The first provision fills the cache; without the folder it goes to the
# upstream URLs, and the script skips when that fails too.
# qmail_root DIR (users-fixture.sh): make_root, and a user admin with a
# home, who gets postmaster's mail.
WARM=$(tap_tmpdir)
qmail_root "$WARM"
if ! "$QINSTALL" -q --root "$WARM" provision "${ARGS[@]}" >"$WARM.out" 2>&1; then
	if [ -z "$DISTFILES_URL" ] && grep -q "cannot fetch\|could not\|resolve" "$WARM.out"; then
		tap_skip_all "the qmail sources are neither in a distfiles folder nor reachable upstream"
	fi
fi

# instcheck_root R: build qmail's own instcheck from the netqmail tree with
# R/var/qmail as its home and R's accounts (a private passwd and group in
# a mount namespace), run it, print what it says (nothing when every path
# of hier.c is right).
instcheck_root() {
	local r=$1 t
	t=$(tap_tmpdir)
	tar xzf "$CACHE/distfiles/netqmail-1.06.tar.gz" -C "$t" || return 1
	echo "$r/var/qmail" >"$t/netqmail-1.06/conf-qmail"
	unshare -m sh -c 'mount --bind "$1/etc/passwd" /etc/passwd && mount --bind "$1/etc/group" /etc/group &&
		cd "$2" && make instcheck >/dev/null 2>&1 && ./instcheck 2>&1' sh "$r" "$t/netqmail-1.06"
}

new_qmail_root() {
	R=$(tap_tmpdir)
	qmail_root "$R"
	before=$(tap_tree "$R")
}

case_provision() {
	tap_case "provision netqmail"
	new_qmail_root
	tap_run 0 "provision (no --profile: netqmail) succeeds" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is changed true "it changed the root"
	tap_json_has components.#.name netqmail "netqmail is one of its components"
	tap_json_has components.#.name ucspi-tcp "ucspi-tcp is one of them"
	tap_json_has components.#.name daemontools "daemontools is one of them"
	tap_is "$(grep -c '^q\?m\?a\?i\?l\?[a-z]*:x:60[0-6]:60[01]:' "$R/etc/passwd")" 7 "the seven qmail users are in passwd with the seed guide's ids"
	tap_like "$(cat "$R/etc/group")" 'nofiles:x:600:' "group nofiles is 600"
	tap_like "$(cat "$R/etc/group")" 'qmail:x:601:' "group qmail is 601"
	tap_is "$(instcheck_root "$R")" "" "qmail's instcheck, built for this root, has no complaint"
	tap_mode_is "$R/var/qmail/bin/qmail-queue" 4711 "qmail-queue is setuid 04711"
	tap_owner_is "$R/var/qmail/bin/qmail-queue" 604:601 "qmail-queue belongs to qmailq:qmail"
	tap_mode_is "$R/var/qmail/bin/qmail-lspawn" 0700 "qmail-lspawn is 0700"
	tap_mode_is "$R/var/qmail/alias" 2755 "alias is 02755"
	tap_owner_is "$R/var/qmail/alias" 600:601 "alias belongs to alias:qmail"
	tap_mode_is "$R/var/qmail/queue" 0750 "the queue is 0750"
	tap_owner_is "$R/var/qmail/queue" 604:601 "the queue belongs to qmailq"
	tap_type_is "$R/var/qmail/queue/lock/trigger" fifo "lock/trigger is a FIFO"
	tap_mode_is "$R/var/qmail/queue/lock/trigger" 0622 "lock/trigger is 0622"
	tap_owner_is "$R/var/qmail/queue/lock/trigger" 606:601 "lock/trigger belongs to qmails"
	tap_is "$(stat -c %s "$R/var/qmail/queue/lock/tcpto")" 1024 "lock/tcpto has 1024 bytes"
	tap_type_is "$R/var/qmail/queue/mess/22" dir "mess has conf-split's 23 subdirectories"
	tap_type_is "$R/var/qmail/queue/mess/23" none "and no more"
	tap_type_is "$R/usr/local/bin/tcpserver" file "ucspi-tcp is installed too"
	chmod 0755 "$R/var/qmail/bin/qmail-lspawn"
	tap_like "$(instcheck_root "$R")" 'qmail-lspawn' "the instcheck check itself sees a wrong mode"
	chmod 0700 "$R/var/qmail/bin/qmail-lspawn"

	tap_run 0 "provision again" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is changed false "a second provision changes nothing"
	tap_json_is components.0.cached true "and takes every component from the build cache"
	tap_run 0 "provision again without --domain and --admin" "$QINSTALL" --root "$R" --json provision "${MIRROR[@]}"
	tap_json_is changed false "changes nothing either: the last provision's domain and admin are kept"

	tap_run 0 "status" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'netqmail +1\.06' "status shows qmail's version"
	tap_like "$TAP_STDOUT" 'patch qmail-103\.patch: 3 hunks, 0 clean: dns\.c #1 offset' "status shows each hunk of qmail-103.patch that moved, with its offset"
	tap_like "$TAP_STDOUT" 'ids: nofiles 600 qmail 601 alias 600 .* qmails 606' "status shows the ids"

	tap_run 0 "verify a fresh install" "$QINSTALL" --root "$R" verify
	chmod 0755 "$R/var/qmail/queue"
	tap_run 5 "verify finds a queue made world-readable" "$QINSTALL" --root "$R" verify
	tap_like "$TAP_STDOUT$TAP_STDERR" '/var/qmail/queue' "and names it"
	tap_run 0 "provision mends it" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is changed true "provision changed the queue back"
	tap_mode_is "$R/var/qmail/queue" 0750 "the queue is 0750 again"

	tap_run 0 "rollback every run" "$QINSTALL" --root "$R" rollback 1
	tap_tree_is "$R" "$before" "the root is as it was, accounts and all"
}

case_second_root() {
	tap_case "a second root from the warm build cache"
	new_qmail_root
	tap_run 0 "provision a second root" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is components.2.cached true "netqmail comes from the build cache"
	tap_is "$(instcheck_root "$R")" "" "its instcheck has no complaint either"
}

case_other_ids() {
	tap_case "other ids are another build"
	new_qmail_root
	local P key1 key2
	P=$(tap_tmpdir)/lwq.profile
	printf '[profile]\ninclude = netqmail\n[accounts]\nnofiles = 2108\nqmail = 2107\nalias = 7790\nqmaild = 7791\nqmaill = 7792\nqmailp = 7793\nqmailq = 7794\nqmailr = 7795\nqmails = 7796\n' >"$P"
	tap_run 0 "plan with Life with qmail's ids" "$QINSTALL" --root "$R" plan -p "$P" --domain mail.example.org --admin admin
	tap_like "$TAP_STDOUT" 'create +user qmailq 7794 in /etc/passwd' "the plan lists the accounts with their ids"
	key1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"][2]["build_key"])' "$WARM/var/lib/qinstall/provision.json")
	tap_run 0 "provision with them" "$QINSTALL" --root "$R" --json provision -p "$P" "${ARGS[@]}"
	tap_json_is components.2.cached false "netqmail is built again for other ids"
	key2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"][2]["build_key"])' "$R/var/lib/qinstall/provision.json")
	tap_ok "the build key differs" test "$key1" != "$key2"
	tap_owner_is "$R/var/qmail/queue" 7794:2107 "the queue belongs to qmailq's uid 7794"
	tap_is "$(instcheck_root "$R")" "" "instcheck for this root has no complaint"
}

case_member_patch() {
	tap_case "a patch from inside netqmail's archive"
	new_qmail_root
	local P
	P=$(tap_tmpdir)/other.profile
	printf '[profile]\ninclude = netqmail\n[component ucspi-tcp]\npatch =\npatch = netqmail:netqmail-1.06/other-patches/ucspi-tcp-0.88.errno.patch\n' >"$P"
	tap_run 0 "ucspi-tcp patched with netqmail's other-patches/ucspi-tcp-0.88.errno.patch" \
		"$QINSTALL" --root "$R" --json provision -p "$P" "${ARGS[@]}"
	tap_json_is components.0.cached false "ucspi-tcp is another build"
	tap_run 0 "status" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'patch ucspi-tcp-0\.88\.errno\.patch: 1 hunk, 1 clean' "status names the patch taken from the archive"
	tap_type_is "$R/usr/local/bin/tcpserver" file "tcpserver is installed"

	new_qmail_root
	printf '[profile]\ninclude = netqmail\n[component ucspi-tcp]\npatch = netqmail:netqmail-1.06/other-patches/nothing.patch\n' >"$P"
	tap_run 1 "a member that is not in the archive" "$QINSTALL" --root "$R" provision -p "$P" "${ARGS[@]}"
	tap_like "$TAP_STDERR" 'component netqmail has no file netqmail-1\.06/other-patches/nothing\.patch' "the error names the archive and the path"
	tap_tree_is "$R" "$before" "the root is untouched"
}

case_bad_inputs() {
	tap_case "bad inputs stop before the root is touched"
	local C0
	new_qmail_root
	echo "alias:x:999:999::/home/alias:/bin/sh" >>"$R/etc/passwd"
	before=$(tap_tree "$R")
	C0=$(tap_tmpdir)
	tap_run 1 "an id clash (alias is 999 in the root)" "$QINSTALL" --root "$R" --cache-dir "$C0" provision "${ARGS[@]}"
	tap_like "$TAP_STDERR" 'alias.*999' "the error names the account and its id"
	tap_tree_is "$R" "$before" "the root is untouched"
	tap_is "$(find "$C0" -name '*.tar.gz' | head -1)" "" "nothing was fetched"

	new_qmail_root
	rm "$R/etc/passwd"
	before=$(tap_tree "$R")
	tap_run 1 "a root without /etc/passwd" "$QINSTALL" --root "$R" provision "${ARGS[@]}"
	tap_like "$TAP_STDERR" 'etc/passwd does not exist' "the error says what is missing"
	tap_tree_is "$R" "$before" "the root is untouched"

	new_qmail_root
	tap_run 1 "a source that is neither cached nor reachable (--offline)" \
		"$QINSTALL" --root "$R" --cache-dir "$(tap_tmpdir)" provision --offline \
		--domain mail.example.org --admin admin
	tap_like "$TAP_STDERR" 'netqmail-1\.06\.tar\.gz|ucspi-tcp-0\.88\.tar\.gz' "the error names the archive"
	tap_tree_is "$R" "$before" "the root is untouched"

	local P
	P=$(tap_tmpdir)/broken.profile
	printf '[profile]\ninclude = netqmail\n[build]\ncc = gcc -O2 -DQINSTALL_BROKEN=1 -include /nonexistent/broken.h\n' >"$P"
	tap_run 1 "a build that fails" "$QINSTALL" --root "$R" provision -p "$P" "${ARGS[@]}"
	tap_like "$TAP_STDERR" 'build failed' "the error says the build failed"
	tap_like "$TAP_STDERR" 'broken\.h' "and quotes the build log"
	tap_tree_is "$R" "$before" "the root is untouched"
}

case_provision
case_second_root
case_other_ids
case_member_patch
case_bad_inputs
tap_done
