#!/bin/bash
# Scenario: qmail's first configuration as a provision step ([mail]
# configure = yes): the control files with config-fast's contents, written
# once however often provision runs; another --domain changes them; the
# administrator's files are left with a warning; an empty rcpthosts of the
# administrator's stops the run before anything is written; bad domains,
# a host name without a dot and a missing, root or unknown admin are usage
# errors with ROOT untouched; ~alias's files, the admin's Maildir, rc and
# the sendmail links (left alone where another MTA is); plan writes
# nothing; rollback gives back the root identical.
#
# The component is a tiny source tree (a Makefile, no compiler) read from
# a file: URL; it installs nothing under /var/qmail. Each root gets qmail's
# accounts from `qinstall users` and an admin user alice with a home.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null || tap_skip_all "make is needed to build the test component"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

# --- the component and the profile -----------------------------------------
S=$(tap_tmpdir)
mkdir "$S/mini-1.0"
printf 'all: mini\nmini:\n\tprintf "#!/bin/sh\\necho mini\\n" >mini\n\tchmod 755 mini\n' >"$S/mini-1.0/Makefile"
tar -C "$S" -czf "$S/mini-1.0.tar.gz" mini-1.0
P=$S/mail.profile
cat >"$P" <<EOF
[mail]
configure = yes
admin = alice

[component mini]
version = 1.0
url = file://$S/mini-1.0.tar.gz
sha256 = $(sha256sum <"$S/mini-1.0.tar.gz" | cut -c1-64)
make = all
program = mini
EOF

Q=/var/qmail
C=$Q/control
# Any reader of the journal (status too) leaves SQLite's shared-memory
# files of state.db: not a change of ROOT.
TAP_TREE_EXCLUDE="var/lib/qinstall/state.db-shm var/lib/qinstall/state.db-wal"

# new_root: R is a root with a passwd of its own, qmail's accounts (made
# by `qinstall users`, which the journal then holds: run 1) and alice,
# uid 1000, home /home/alice; before is its whole tree.
new_root() {
	R=$(tap_tmpdir)
	alice_root "$R"
	tap_setup_qinstall "$R" users || return
	before=$(tap_tree "$R")
}
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$R/etc/$1"; }
provision() { tap_run "$1" "$2" "$QINSTALL" --root "$R" --json provision -p "$P" "${@:3}"; }

# --- the control files ----------------------------------------------------------
case_control_files() {
	tap_case "the control files of mail.example.org"
	new_root || return
	provision 0 "provision with --domain mail.example.org" --domain mail.example.org
	tap_json_is changed true "it changed ROOT"
	local f want
	for f in "me mail.example.org" "defaultdomain example.org" "plusdomain example.org" \
		"locals mail.example.org" "rcpthosts mail.example.org" "defaultdelivery ./Maildir/"; do
		set -- $f
		tap_is "$(cat "$R$C/$1")" "$2" "control/$1 is the one line $2"
		tap_mode_is "$R$C/$1" 0644 "control/$1 is 0644"
		tap_owner_is "$R$C/$1" 0:0 "control/$1 is root's"
	done
	tap_owner_is "$R$C" "0:$(id_of group qmail)" "control/ is root:qmail, as hier.c makes it"
	tap_mode_is "$R$C" 0755 "control/ is 0755"
	tap_json_is mail.domain mail.example.org "the result names the domain"
	tap_json_is mail.admin alice "and the admin"
	tap_json_has mail.control.#.path "$C/rcpthosts" "mail.control lists rcpthosts"
	tap_json_has mail.control.#.action create "the files were created"
	tap_run 0 "status after provision" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'mail domain +mail\.example\.org \(admin alice\)' "status shows the domain and the admin"
	tap_run 0 "status --json" "$QINSTALL" --root "$R" --json status
	tap_json_is provisioned.domain mail.example.org "the provision record holds the domain"
	tap_json_is provisioned.admin alice "and the admin"

	local after
	after=$(tap_tree "$R")
	provision 0 "a second provision" --domain mail.example.org
	tap_json_is changed false "changes nothing (changed: false)"
	tap_json_is warnings "[]" "and warns of nothing"
	for f in me defaultdomain plusdomain locals rcpthosts defaultdelivery; do
		tap_is "$(wc -l <"$R$C/$f")" 1 "control/$f still has one line"
	done
	tap_tree_is "$R" "$after" "the tree is as the first provision left it"
	tap_run 0 "plan after provision" "$QINSTALL" --root "$R" --json plan -p "$P" --domain mail.example.org
	tap_json_is plan "[]" "plan lists nothing to do"
}

case_two_labels() {
	tap_case "a domain of two labels is its own defaultdomain"
	new_root || return
	provision 0 "provision with --domain example.org" --domain example.org
	local f
	for f in me defaultdomain plusdomain locals rcpthosts; do
		tap_is "$(cat "$R$C/$f")" example.org "control/$f is example.org"
	done
}

case_other_domain() {
	tap_case "another --domain changes what qinstall wrote"
	new_root || return
	tap_setup_qinstall "$R" "provision -p $P --domain mail.example.org" || return
	provision 0 "provision with --domain mx.example.net" --domain mx.example.net
	tap_json_is changed true "it changed ROOT"
	tap_is "$(cat "$R$C/me") $(cat "$R$C/defaultdomain") $(cat "$R$C/rcpthosts")" \
		"mx.example.net example.net mx.example.net" "me, defaultdomain and rcpthosts follow the new domain"
	tap_json_has mail.control.#.action replace "the result says replace"
	tap_json_is warnings "[]" "with no warning"
}

case_admin_edit() {
	tap_case "an administrator's locals is left, with a warning"
	new_root || return
	tap_setup_qinstall "$R" "provision -p $P --domain mail.example.org" || return
	printf 'mail.example.org\nlists.example.org\n' >"$R$C/locals"
	provision 0 "provision with another domain" --domain mx.example.net
	tap_is "$(cat "$R$C/locals")" "$(printf 'mail.example.org\nlists.example.org')" "locals is as the administrator left it"
	tap_is "$(cat "$R$C/me")" mx.example.net "the other control files changed"
	tap_like "$TAP_STDERR" "$R$C/locals: the administrator changed it .*remove it and provision again" \
		"the warning names locals and how to take qinstall's version"
	tap_json_is mail.warnings.# 1 "the result's mail.warnings has that one warning"
	tap_json_has mail.control "{\"path\": \"$C/locals\", \"action\": \"left\"}" "mail.control says locals is left"
	rm "$R$C/locals"
	provision 0 "provision once locals is removed" --domain mx.example.net
	tap_is "$(cat "$R$C/locals")" mx.example.net "qinstall's version is back"
}

case_not_ours() {
	tap_case "a control file that qinstall never wrote is the administrator's"
	new_root || return
	mkdir -p "$R$C"
	echo old.example.org >"$R$C/me"
	provision 0 "provision over an existing control/me" --domain mail.example.org
	tap_is "$(cat "$R$C/me")" old.example.org "control/me is left as it was"
	tap_like "$TAP_STDERR" "$R$C/me: qinstall did not write it" "with a warning naming it"
	tap_is "$(cat "$R$C/rcpthosts")" mail.example.org "the others are written"
}

case_empty_rcpthosts() {
	tap_case "an empty rcpthosts of the administrator's stops the run"
	new_root || return
	mkdir -p "$R$C"
	printf '# nothing yet\n\n' >"$R$C/rcpthosts"
	before=$(tap_tree "$R")
	provision 1 "provision refuses" --domain mail.example.org
	tap_like "$TAP_STDERR" "$R$C/rcpthosts is empty.*open relay" "the error names rcpthosts and the danger"
	tap_like "$TAP_STDERR" "remove it so that qinstall writes mail.example.org" "and the fix"
	tap_tree_is "$R" "$before" "ROOT is untouched"
}

# --- usage errors: nothing written ------------------------------------------------
case_bad_domains() {
	tap_case "invalid domains are usage errors"
	new_root || return
	local d label
	label=$(printf 'a%.0s' $(seq 64))
	for d in "$label.org" "-a.org" "a..b" "nodot" "a-.org"; do
		provision 2 "--domain $d is a usage error" --domain "$d"
		tap_like "$TAP_STDERR" "'$d': not a valid domain name \(.*63.*\)" "the error names '$d' and the rule"
	done
	tap_tree_is "$R" "$before" "ROOT is untouched"
}

case_host_without_dot() {
	tap_case "no domain and a host name without a dot"
	new_root || return
	unshare -u true 2>/dev/null || { tap_skip "a host name without a dot" "unshare -u is not permitted here"; return; }
	tap_run 2 "provision without --domain asks for it" unshare -u sh -c \
		'hostname nodots && exec "$0" --root "$1" provision -p "$2"' "$QINSTALL" "$R" "$P"
	tap_like "$TAP_STDERR" "host name 'nodots' has no dot.*give --domain" "the error asks for --domain"
	tap_tree_is "$R" "$before" "ROOT is untouched"
	tap_run 0 "the host's FQDN is the default when it has a dot" unshare -u sh -c \
		'hostname box.example.com && exec "$0" --root "$1" --json provision -p "$2"' "$QINSTALL" "$R" "$P"
	tap_is "$(cat "$R$C/me")" box.example.com "control/me is the host's name"
}

case_admin_errors() {
	tap_case "the admin unset, root or unknown"
	new_root || return
	local Pn=$S/noadmin.profile
	grep -v '^admin' "$P" >"$Pn"
	tap_run 2 "no admin" "$QINSTALL" --root "$R" provision -p "$Pn" --domain example.org
	tap_like "$TAP_STDERR" "qmail never delivers to root: give --admin USER or ADDRESS" "says qmail never delivers to root"
	provision 2 "--admin root" --domain example.org --admin root
	tap_like "$TAP_STDERR" "qmail never delivers to root: give --admin USER or ADDRESS" "root is refused likewise"
	provision 2 "--admin bob (not in ROOT's passwd)" --domain example.org --admin bob
	tap_like "$TAP_STDERR" "'bob' is no user in $R/etc/passwd" "names the user and ROOT/etc/passwd"
	provision 2 "--admin 'a b'" --domain example.org --admin 'a b'
	tap_like "$TAP_STDERR" "bad value for 'admin'" "a malformed admin is a usage error"
	tap_tree_is "$R" "$before" "ROOT is untouched"
}

# --- ~alias, the Maildir, rc, the links -----------------------------------------
case_alias_maildir_rc() {
	tap_case "~alias, the admin's Maildir and rc"
	new_root || return
	provision 0 "provision" --domain mail.example.org
	local f owner="$(id_of passwd alias):$(id_of group nofiles)"
	for f in postmaster mailer-daemon root; do
		tap_is "$(cat "$R$Q/alias/.qmail-$f")" "&alice" ".qmail-$f delivers to alice"
		tap_mode_is "$R$Q/alias/.qmail-$f" 0644 ".qmail-$f is 0644"
		tap_owner_is "$R$Q/alias/.qmail-$f" "$owner" ".qmail-$f is alias:nofiles"
	done
	for f in "" /cur /new /tmp; do
		tap_type_is "$R/home/alice/Maildir$f" dir "Maildir$f is made"
		tap_mode_is "$R/home/alice/Maildir$f" 0700 "Maildir$f is 0700"
		tap_owner_is "$R/home/alice/Maildir$f" 1000:1000 "Maildir$f is alice's"
	done
	tap_mode_is "$R$Q/rc" 0755 "rc is 0755"
	tap_owner_is "$R$Q/rc" 0:0 "rc is root's"
	tap_like "$(cat "$R$Q/rc")" '^exec env - PATH="/var/qmail/bin:\$PATH" \\$' "rc runs qmail-start with qmail's bin first on PATH"
	tap_like "$(cat "$R$Q/rc")" '^qmail-start "\$\(cat /var/qmail/control/defaultdelivery\)"$' \
		"with the default delivery and no logger (stdout)"
	tap_ok "rc is a valid sh script" sh -n "$R$Q/rc"
	tap_is "$(readlink "$R/usr/sbin/sendmail") $(readlink "$R/usr/lib/sendmail")" \
		"$Q/bin/sendmail $Q/bin/sendmail" "/usr/sbin/sendmail and /usr/lib/sendmail lead to qmail's"
	tap_json_is mail.sendmail linked "the result says linked"
}

case_address_admin() {
	tap_case "an address as the admin"
	new_root || return
	provision 0 "provision with --admin postmaster@example.net" --domain mail.example.org --admin postmaster@example.net
	tap_is "$(cat "$R$Q/alias/.qmail-root")" "&postmaster@example.net" ".qmail-root forwards to the address"
	tap_type_is "$R/home/alice/Maildir" none "no Maildir for anyone"
	tap_json_is mail.admin postmaster@example.net "the result names the address"
}

case_sendmail_taken() {
	tap_case "a sendmail of another MTA is left alone"
	new_root || return
	mkdir -p "$R/usr/lib"
	printf '#!/bin/sh\necho exim\n' >"$R/usr/sbin/sendmail"
	ln -s /etc/alternatives/sendmail "$R/usr/lib/sendmail"
	provision 0 "provision" --domain mail.example.org
	tap_is "$(cat "$R/usr/sbin/sendmail")" "$(printf '#!/bin/sh\necho exim')" "/usr/sbin/sendmail is still the other MTA's"
	tap_is "$(readlink "$R/usr/lib/sendmail")" /etc/alternatives/sendmail "and /usr/lib/sendmail its alternatives link"
	tap_like "$TAP_STDERR" "$R/usr/sbin/sendmail: owned by another MTA: a file: .*qinstall migrate" \
		"a warning says qinstall migrate takes it over"
	tap_like "$(tap_json mail.sendmail)" "^left: /usr/sbin/sendmail owned by another MTA: a file; /usr/lib/sendmail owned by another MTA: a link to /etc/alternatives/sendmail$" \
		"the result says left, and by whom"
}

# --- plan and rollback --------------------------------------------------------------
case_plan() {
	tap_case "plan lists everything and writes nothing"
	new_root || return
	tap_run 0 "plan" "$QINSTALL" --root "$R" --json plan -p "$P" --domain mail.example.org
	local p
	for p in "$C/me" "$C/rcpthosts" "$C/defaultdelivery" "$Q/alias/.qmail-root" "$Q/rc" \
		/home/alice/Maildir /home/alice/Maildir/new /usr/sbin/sendmail /usr/lib/sendmail; do
		tap_json_has plan "{\"path\": \"$p\", \"action\": \"create\", \"component\": \"mail\"}" "plan creates $p"
	done
	tap_tree_is "$R" "$before" "plan wrote nothing"
	tap_setup_qinstall "$R" "provision -p $P --domain mail.example.org" || return
	echo edited >>"$R$C/locals"
	tap_run 0 "plan with another domain" "$QINSTALL" --root "$R" plan -p "$P" --domain mx.example.net
	tap_like "$TAP_STDOUT" "replace +$C/me +\(mail\)" "plan says me is replaced"
	tap_like "$TAP_STDOUT" "left +$C/locals +\(mail\)" "and the edited locals left"
}

case_rollback() {
	tap_case "rollback gives back the root"
	new_root || return
	local whole
	whole=$(tap_tree --exclude var/lib/qinstall "$R")
	tap_setup_qinstall "$R" "provision -p $P --domain mail.example.org" || return
	tap_run 0 "rollback of the provision" "$QINSTALL" --root "$R" rollback
	tap_tree_is --exclude var/lib/qinstall "$R" "$whole" "the root is identical to before the provision"
}

case_configure_no() {
	tap_case "configure = no writes no mail configuration"
	new_root || return
	local Pn=$S/nomail.profile
	sed 's/^configure = yes/configure = no/' "$P" >"$Pn"
	tap_run 0 "provision" "$QINSTALL" --root "$R" --json provision -p "$Pn"
	tap_type_is "$R$C" none "no control directory"
	tap_unlike "$TAP_STDOUT" '"mail":' "no mail in the result"
}

case_control_files
case_two_labels
case_other_domain
case_admin_edit
case_not_ours
case_empty_rcpthosts
case_bad_domains
case_host_without_dot
case_admin_errors
case_alias_maildir_rc
case_address_admin
case_sendmail_taken
case_plan
case_rollback
case_configure_no
tap_done
