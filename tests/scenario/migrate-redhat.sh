#!/bin/bash
# Scenario: `qinstall migrate --check` on bare roots with an rpm database
# (tests/lib/rpmroot.sh: Red Hat's sendmail and mailx as rpmbuild makes
# them, the alternatives group mta and its chain; nothing is built or
# written). --check finds the MTA through rpm, lists mailx as requiring
# one, plans the Red Hat steps (startup, alternatives, keep, package) and
# writes nothing. Refused, with the file and what to do, nothing written:
# a state file that does not parse (its line named), a leftover mta.new
# (alternatives was interrupted), a chain of links that loops, two MTA
# packages installed at once, and an rpm root with no MTA.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/rpmroot.sh"

command -v rpm >/dev/null && command -v rpmbuild >/dev/null ||
	tap_skip_all "rpm and rpmbuild are not installed (Debian's package rpm)"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
# rpm's own queries rewrite its database's shared-memory file
TAP_TREE_EXCLUDE=var/lib/rpm

# new_root [MTA]: a bare rpm root with passwd and group.
new_root() {
	local r
	r=$(tap_tmpdir)/root
	rpmroot_make "$r" "${1:-sendmail}" 2>/dev/null || return 1
	mkdir -p "$r/etc" "$r/usr/sbin"
	printf '#!/bin/sh\nexit 1\n' >"$r/usr/sbin/nologin"
	chmod 0755 "$r/usr/sbin/nologin"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nshadow:x:42:\n' >"$r/etc/group"
	printf '%s\n' "$r"
}

check() {
	tap_run "$1" "$2" "$QINSTALL" --root "$R" --json migrate --domain example.org \
		--admin postmaster@example.net --check
}

case_check() {
	tap_case "--check on a Red Hat root"
	R=$(new_root) || { tap_ok "the rpm root is made" false; return; }
	local before
	before=$(tap_tree "$R")
	check 0 "--check succeeds"
	tap_json_is from.database rpm "the MTA is found through rpm"
	tap_json_is from.package sendmail "sendmail"
	tap_json_is from.version 8.16.1-1.el9 "its version and release"
	tap_json_is from.unit sendmail.service "Red Hat's unit"
	tap_json_has from.required_by mailx "mailx requires an MTA"
	local s
	for s in startup alternatives keep package; do
		tap_json_has steps.#.step "$s" "the step $s is planned"
	done
	tap_like "$(tap_json steps)" "rpm -e --nodeps sendmail" "the guide's removal"
	tap_like "$(tap_json steps)" "priority 100" "qmail above sendmail's 90"
	tap_tree_is "$R" "$before" "nothing was written"
}

case_bad_state() {
	tap_case "a state file that does not parse"
	R=$(new_root) || { tap_ok "the rpm root is made" false; return; }
	printf 'sometimes\n/usr/sbin/sendmail\n\n' >"$R/var/lib/alternatives/mta"
	local before
	before=$(tap_tree "$R")
	check 1 "refused"
	tap_like "$(tap_json msg)" "var/lib/alternatives/mta.*line 1" "the message names the file and its line"
	tap_tree_is "$R" "$before" "nothing was written"
}

case_leftover_new() {
	tap_case "a leftover mta.new"
	R=$(new_root) || { tap_ok "the rpm root is made" false; return; }
	printf 'auto\n' >"$R/var/lib/alternatives/mta.new"
	check 1 "refused"
	tap_like "$(tap_json msg)" "mta.new is there: alternatives was interrupted" "the message says why"
	tap_like "$(tap_json msg)" "remove" "and what to do"
}

case_loop() {
	tap_case "a chain that loops"
	R=$(new_root) || { tap_ok "the rpm root is made" false; return; }
	ln -sfn /usr/sbin/sendmail "$R/etc/alternatives/mta"
	local before
	before=$(tap_tree "$R")
	check 1 "refused"
	tap_like "$(tap_json msg)" "/usr/sbin/sendmail.*loop" "the message names the link and the loop"
	tap_tree_is "$R" "$before" "nothing was written"
}

case_two() {
	tap_case "two MTA packages"
	R=$(new_root both) || { tap_ok "the rpm root is made" false; return; }
	check 1 "refused"
	tap_like "$(tap_json msg)" "2 installed packages provide an MTA.*postfix.*sendmail.*rpm -e" \
		"the message names both and what to do"
}

case_none() {
	tap_case "an rpm root with no MTA"
	R=$(new_root) || { tap_ok "the rpm root is made" false; return; }
	rpm --root "$R" --dbpath /var/lib/rpm -e --nodeps --noscripts sendmail
	rm -f "$R/usr/sbin/sendmail"
	check 1 "refused"
	tap_like "$(tap_json msg)" "no installed rpm package provides MTA or smtpdaemon.*qinstall provision" \
		"the message says so, and what to use"
}

case_check
case_bad_state
case_leftover_new
case_loop
case_two
case_none
tap_done
