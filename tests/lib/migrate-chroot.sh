# migrate-chroot.sh - the story the system tests of `qinstall migrate`
# share, one script per MTA (tests/system/migrate-*-chroot.sh), after
# tap.sh (it sources chroot.sh, distfiles.sh, netns.sh and mtachroot.sh):
#
#   migrate_story MTA NAME   # MTA as mta_chroot takes it, NAME as migrate's
#                            # JSON says it (from.mta): every case below
#
# The cases, each on its own copy of one chroot with 20 deferred messages:
#   --check   lists its steps (steps.# > 0), names the MTA and its package,
#             and writes nothing (the tree's manifest, the journal's too)
#   migrate   queue.found and queue.carried 20, qmail's queue holds the 20
#             messages (sender, recipients, a hash of the body alike), the
#             MTA's package removed (its configuration files kept), the
#             stand-in qinstall-mta installed, bsd-mailx still installed,
#             `dpkg --audit` silent, `apt-get check` passes,
#             /usr/sbin/sendmail is qmail's; qmail started in a private
#             network namespace delivers a message sent with bsd-mailx's
#             `mail` to admin's Maildir
#   rollback  the MTA's package installed again at its old version, its
#             configuration as it says it (mta_config) as before, the 20
#             messages back in its queue, qinstall-mta gone, the installed
#             packages as before, the tree as before by manifest but for
#             the paths below
# Not compared by manifest after the rollback: what the journal keeps and
# what dpkg itself changes when a package is removed and installed again,
# found by doing the same swap by hand with dpkg on these chroots
# (dpkg -r --force-depends MTA, dpkg -i stand-in; back: dpkg -r
# --force-depends stand-in, dpkg -i the old .deb, dpkg --purge stand-in):
#   var/lib/qinstall                          the journal
#   var/log/dpkg.log, var/log/alternatives.log  dpkg's logs
#   var/lib/dpkg/status-old                   dpkg's backup of its status
#                                             (status itself is compared: a
#                                             purged stand-in leaves no entry)
#   var/cache/debconf/config.dat, config.dat-old, templates.dat-old
#                                             the maintainer scripts' debconf
#   var/cache/apt/pkgcache.bin, srcpkgcache.bin  apt-get check's caches
# and each script's $MIGRATE_CHANGED_MTA (listed in its header). The
# packages are compared by dpkg-query, the configuration by the MTA's tools.
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/mtachroot.sh"

MIGRATE_CHANGED="var/lib/qinstall var/log/dpkg.log var/log/alternatives.log var/lib/dpkg/status-old
	var/cache/debconf/config.dat var/cache/debconf/config.dat-old var/cache/debconf/templates.dat-old
	var/cache/apt/pkgcache.bin var/cache/apt/srcpkgcache.bin"

# _migrate_installed DIR: each installed package and its version.
_migrate_installed() {
	chroot "$1" dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' | awk '$1 == "ii" { print $2, $3 }'
}
# _migrate_status DIR PACKAGE: dpkg's status of PACKAGE ("" when dpkg has none).
_migrate_status() { chroot "$1" dpkg-query -W -f '${Status}' "$2" 2>/dev/null; }

# _migrate_run DIR ARGS...: qinstall migrate on DIR with the test's profile.
_migrate_run() {
	local dir=$1
	shift
	"$QINSTALL" --root "$dir" --cache-dir "$QINSTALL_CACHE_DIR" --json migrate --profile netqmail \
		--domain "$MTA_DOMAIN" --admin admin --mirror "file://$DISTFILES" "$@"
}

case_check() {
	tap_case "migrate --check ($MIGRATE_MTA)"
	local c before
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$MIGRATE_QUEUED" "$c" || return
	before=$(TAP_TREE_EXCLUDE='' tap_tree "$c")
	tap_run 0 "migrate --check" _migrate_run "$c" --check
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_ok "it lists the steps it would take (steps.# > 0)" test "$(tap_json steps.# 2>/dev/null || echo 0)" -gt 0
	tap_json_is from.mta "$MIGRATE_NAME" "it finds $MIGRATE_NAME"
	tap_json_is from.package "$MIGRATE_PKG" "installed by $MIGRATE_PKG"
	TAP_TREE_EXCLUDE='' tap_tree_is "$c" "$before" "and writes nothing (the whole tree's manifest, the journal's too)"
}

# _migrate_mail DIR SUBJECT: qmail started in DIR inside the namespace, a
# message sent with bsd-mailx's mail to admin; MIGRATE_MAILED is its file
# in admin's Maildir once it is there (else empty); then everything is
# stopped. (Not in a subshell: netns_start's EXIT trap would clean up.)
_migrate_mail() {
	local dir=$1 subject=$2 i f=
	netns_start || { tap_diag "no private network namespace"; return 1; }
	in_ns setsid chroot "$dir" /usr/local/bin/svscan /etc/service </dev/null >"$W/svscan.log" 2>&1 &
	for i in $(seq 100); do _mta_running qmail-send && break; sleep 0.2; done
	printf 'sent with mail(1) after the takeover\n' |
		_mta_in "$dir" mail -s "$subject" "admin@$MTA_DOMAIN" >"$W/mailx.log" 2>&1
	for i in $(seq 100); do
		f=$(grep -l "^Subject: $subject\$" "$dir"/home/admin/Maildir/new/* "$dir"/home/admin/Maildir/cur/* 2>/dev/null | head -1)
		[ -n "$f" ] && break
		sleep 0.2
	done
	in_ns chroot "$dir" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	sleep 1
	netns_stop
	[ -n "$f" ] || tap_diag "mail: $(cat "$W/mailx.log")" "$(tail -5 "$dir"/var/log/qmail/current 2>/dev/null)"
	MIGRATE_MAILED=$f
}

case_migrate() {
	tap_case "migrate from $MIGRATE_NAME, then rollback"
	local c before conf installed version
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$MIGRATE_QUEUED" "$c" || return
	before=$(tap_tree "$c")
	conf=$(mta_config "$c" "$MIGRATE_MTA")
	installed=$(_migrate_installed "$c")
	version=$(chroot "$c" dpkg-query -W -f '${Version}' "$MIGRATE_PKG")

	tap_run 0 "migrate --profile netqmail from $MIGRATE_NAME" _migrate_run "$c"
	# a failed run: the rest would only repeat it
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_json_is from.mta "$MIGRATE_NAME" "from.mta is $MIGRATE_NAME"
	tap_json_is from.package "$MIGRATE_PKG" "from.package is $MIGRATE_PKG"
	tap_json_is from.version "$version" "from.version is the installed one"
	tap_json_is queue.found 20 "queue.found 20"
	tap_json_is queue.carried 20 "queue.carried 20"
	tap_json_is queue.left_count 0 "none left"
	tap_json_is package.installed qinstall-mta "package.installed qinstall-mta"
	tap_is "$(qmail_queue_ref "$c")" "$MIGRATE_REF" "qmail's queue holds the 20 messages: senders, recipients, bodies alike"
	tap_is "$(_migrate_status "$c" "$MIGRATE_PKG")" "deinstall ok config-files" \
		"$MIGRATE_PKG is removed, not purged (its configuration stays)"
	tap_is "$(_migrate_status "$c" qinstall-mta)" "install ok installed" "qinstall-mta is installed"
	tap_is "$(_migrate_status "$c" bsd-mailx)" "install ok installed" "bsd-mailx is still installed"
	tap_is "$(chroot "$c" dpkg --audit 2>&1)" "" "dpkg --audit finds nothing"
	tap_ok "apt-get check passes" chroot "$c" apt-get -q check
	tap_is "$(chroot "$c" readlink -f /usr/sbin/sendmail)" /var/qmail/bin/sendmail \
		"/usr/sbin/sendmail is qmail's"
	_migrate_mail "$c" "migrate-$MIGRATE_MTA"
	tap_ok "a message sent with bsd-mailx's mail reaches admin's Maildir" test -n "$MIGRATE_MAILED"

	tap_run 0 "rollback" "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback
	tap_json_is queue_returned.returned 20 "queue_returned.returned 20"
	tap_is "$(_migrate_status "$c" "$MIGRATE_PKG")" "install ok installed" "$MIGRATE_PKG is installed again"
	tap_is "$(chroot "$c" dpkg-query -W -f '${Version}' "$MIGRATE_PKG")" "$version" "at its old version ($version)"
	tap_is "$(mta_config "$c" "$MIGRATE_MTA")" "$conf" "$MIGRATE_NAME's configuration is what it said before"
	tap_is "$(mta_queue_ref "$c" "$MIGRATE_MTA")" "$MIGRATE_REF" "the 20 messages are back in its queue"
	tap_unlike "$(_migrate_status "$c" qinstall-mta)" ' installed$' "qinstall-mta is gone"
	tap_is "$(_migrate_installed "$c")" "$installed" "the installed packages are those of before"
	tap_tree_is "$c" "$before" "the tree is as before (but for dpkg's and the journal's own files)"
}

migrate_story() {
	MIGRATE_MTA=$1 MIGRATE_NAME=$2
	MIGRATE_PKG=$(mta_package "$1")
	tap_heavy
	[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
	netns_require
	distfiles_qmail
	export QINSTALL_CACHE_DIR=$(tap_tmpdir)
	TAP_TREE_EXCLUDE="$MIGRATE_CHANGED ${MIGRATE_CHANGED_MTA:-}"
	W=$(tap_tmpdir)
	MIGRATE_QUEUED=$(tap_tmpdir)/queued
	mta_chroot "$MIGRATE_QUEUED" "$MIGRATE_MTA"
	if ! mta_queue "$MIGRATE_QUEUED" "$MIGRATE_MTA" 20; then
		tap_is "not deferred" "20 deferred" "20 messages deferred in $MIGRATE_NAME's queue"
		tap_done
		exit 1
	fi
	MIGRATE_REF=$(mta_queue_ref "$MIGRATE_QUEUED" "$MIGRATE_MTA")
	tap_is "$(printf '%s\n' "$MIGRATE_REF" | grep -c .)" 20 "$MIGRATE_NAME's queue holds the 20 messages"
	case_check
	case_migrate
	tap_done
}
