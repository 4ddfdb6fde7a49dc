#!/bin/bash
# System: `qinstall migrate` the Red Hat way, then `qinstall rollback`. The
# root is a debootstrap'd Debian chroot (tests/lib/chroot.sh: it has the
# compiler that builds qmail; dpkg there has no MTA) given an rpm database
# with Red Hat's sendmail and mailx as tests/lib/rpmroot.sh builds them:
# the alternatives group mta (sendmail's choice at 90 with its followers)
# and the guide's chain, /usr/sbin/sendmail -> /etc/alternatives/mta ->
# /usr/sbin/sendmail.sendmail; sendmail.service enabled in
# multi-user.target.wants and a SysV S80sendmail link (and sm-client's, which
# sendmail.service enables with it).
#   migrate   detected through rpm (from.database rpm, package sendmail,
#             mailx listed as requiring an MTA); rpm -q sendmail says it is
#             gone, mailx stays; its .rpm kept (rebuilt: no package cache);
#             every link of the chain ends at qmail's sendmail
#             (/usr/sbin/sendmail, /usr/lib/sendmail) and mailq at
#             qmail-qread, each followed hop by hop here; the state file
#             is manual, lists qmail at 100 and no choice of the removed
#             package; the start-up links are gone
#   rollback  rpm -qa as before, the state file byte for byte, the tree by
#             manifest (but the journal and rpm's database files, compared
#             by rpm -qa)
#   crash injection  qinstall killed (SIGKILL, tests/lib/crashshim.so with
#             QI_CRASH_SELF_ONLY: rpm runs without it) just before its Nth
#             mutating call, $QI_CRASH_SAMPLES times (default 3) spread over
#             the run and as many among its last 200 calls (the start-up
#             links, the alternatives, the kept .rpm, the erase and what
#             follows: one of those must come after the group is rewired,
#             one after the erase and one before it), each on a fresh copy,
#             --offline (the cache the migrate above warmed); then `qinstall
#             rollback`: the tree as before by manifest (/var/lib/alternatives
#             with it), rpm -qa as before, the state file byte for byte
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/lib/rpmroot.sh"

tap_heavy
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v rpm >/dev/null && command -v rpmbuild >/dev/null ||
	tap_skip_all "rpm and rpmbuild are not installed (Debian's package rpm)"
distfiles_qmail
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

C=$(tap_tmpdir)/root
chroot_template "$C"
chroot "$C" useradd -m -u 1000 -s /bin/sh admin
rpmroot_make "$C" sendmail || tap_skip_all "the rpm root could not be made (see above)"
mkdir -p "$C/etc/systemd/system/multi-user.target.wants" "$C/etc/rc.d/rc3.d" "$C/etc/rc.d/init.d"
ln -s /usr/lib/systemd/system/sendmail.service "$C/etc/systemd/system/multi-user.target.wants/sendmail.service"
ln -s ../init.d/sendmail "$C/etc/rc.d/rc3.d/S80sendmail"
# sendmail.service's Also=sm-client.service: enabled with it
ln -s /usr/lib/systemd/system/sm-client.service "$C/etc/systemd/system/multi-user.target.wants/sm-client.service"
ln -s ../init.d/sm-client "$C/etc/rc.d/rc3.d/S80sm-client"
TAP_TREE_EXCLUDE="var/lib/qinstall var/lib/rpm"
before=$(tap_tree "$C")
rpm_before=$(rpm --root "$C" --dbpath /var/lib/rpm -qa | sort)
cp "$C/var/lib/alternatives/mta" "$C.mta-before"

# chain_end PATH: where the chain of links from PATH ends inside the root
# (absolute targets from the root, relative ones from their link's
# directory), at most 40 hops.
chain_end() {
	local p=$1 t i
	for i in $(seq 40); do
		[ -L "$C$p" ] || { echo "$p"; return; }
		t=$(readlink "$C$p")
		case $t in
		/*) p=$t ;;
		*) p=$(cd "$(dirname "$C$p")" && realpath -ms "$t") && p=${p#"$C"} ;;
		esac
	done
	echo "(a loop at $p)"
}

_run() {
	"$QINSTALL" --root "$C" --cache-dir "$QINSTALL_CACHE_DIR" --json migrate --profile netqmail \
		--domain mail.example.org --admin admin --mirror "file://$DISTFILES" "$@"
}

case_check() {
	tap_case "migrate --check on the rpm root"
	tap_run 0 "migrate --check" _run --check
	tap_json_is from.database rpm "it reads the rpm database"
	tap_json_is from.package sendmail "and finds sendmail"
	tap_json_has from.required_by mailx "mailx is listed as requiring an MTA"
	tap_json_has steps.#.step alternatives "the alternatives step is planned"
	tap_tree_is "$C" "$before" "and nothing is written"
}

case_migrate() {
	tap_case "migrate from Red Hat's sendmail"
	tap_run 0 "migrate" _run
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_ok "rpm -q sendmail: not installed" sh -c "! rpm --root '$C' --dbpath /var/lib/rpm -q sendmail"
	tap_ok "rpm -q mailx: still installed" rpm --root "$C" --dbpath /var/lib/rpm -q mailx
	tap_ok "sendmail's .rpm is kept" test -s "$C/var/backups/qinstall-migrate/sendmail-8.16.1-1.el9.noarch.rpm"
	tap_json_is package.kept.0.from rebuilt "rebuilt from the rpmdb (no package cache)"
	tap_is "$(chain_end /usr/sbin/sendmail)" /var/qmail/bin/sendmail "/usr/sbin/sendmail ends at qmail's"
	tap_is "$(chain_end /usr/lib/sendmail)" /var/qmail/bin/sendmail "/usr/lib/sendmail ends at qmail's"
	tap_is "$(chain_end /usr/bin/mailq)" /var/qmail/bin/qmail-qread "mailq ends at qmail-qread"
	tap_is "$(readlink "$C/usr/sbin/sendmail")" /etc/alternatives/mta "through /etc/alternatives/mta"
	tap_is "$(readlink "$C/etc/alternatives/mta")" /var/qmail/bin/sendmail "which names qmail's sendmail"
	tap_ok "the programs are there" test -x "$C/var/qmail/bin/sendmail" -a -x "$C/var/qmail/bin/qmail-qread"
	tap_is "$(head -1 "$C/var/lib/alternatives/mta")" manual "the group is set by hand"
	tap_ok "qmail's choice at priority 100" grep -qzP '\n/var/qmail/bin/sendmail\n100\n' "$C/var/lib/alternatives/mta"
	tap_ok "sendmail's choice is gone from the state" sh -c "! grep -q '^/usr/sbin/sendmail.sendmail\$' '$C/var/lib/alternatives/mta'"
	tap_ok "no /usr/bin/newaliases (qmail has none)" test ! -e "$C/usr/bin/newaliases" -a ! -L "$C/usr/bin/newaliases"
	tap_ok "the unit's start-up link is gone" test ! -L "$C/etc/systemd/system/multi-user.target.wants/sendmail.service"
	tap_ok "the SysV start-up link is gone" test ! -L "$C/etc/rc.d/rc3.d/S80sendmail"
	tap_json_has startup_removed /etc/rc.d/rc3.d/S80sendmail "and said"
	tap_ok "sm-client's start-up links are gone too (enabled with sendmail)" \
		test ! -L "$C/etc/systemd/system/multi-user.target.wants/sm-client.service" -a ! -L "$C/etc/rc.d/rc3.d/S80sm-client"
	tap_json_has startup_removed /etc/systemd/system/multi-user.target.wants/sm-client.service "and said"

	tap_run 0 "rollback" "$QINSTALL" --root "$C" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback
	tap_is "$(rpm --root "$C" --dbpath /var/lib/rpm -qa | sort)" "$rpm_before" "rpm -qa is as before"
	tap_ok "the state file is byte-identical" cmp "$C.mta-before" "$C/var/lib/alternatives/mta"
	tap_tree_is "$C" "$before" "the tree is as before by manifest"
}

CRASH_SHIM=$top_builddir/tests/lib/crashshim.so

# One killed run at N, then its rollback, on a fresh copy of C.
crash_at() {
	local n=$1 c rc=0 keep=$C
	c=$(tap_tmpdir)/crash-$n
	tap_setup cp -a "$keep" "$c" || return
	C=$c
	QI_CRASH_SELF_ONLY=1 QI_CRASH_AT=$n LD_PRELOAD=$CRASH_SHIM _run --offline >"$c.out" 2>&1 || rc=$?
	chroot_wait_idle "$c" || tap_diag "crash $n: processes still run in the root"
	# how far it got: the group rewired, the package erased
	cmp -s "$keep.mta-before" "$c/var/lib/alternatives/mta" || REWIRED=$((REWIRED + 1))
	rpm --root "$c" --dbpath /var/lib/rpm -q sendmail >/dev/null 2>&1 || ERASED=$((ERASED + 1))
	tap_run 0 "crash at call $n/$TOTAL (exit $rc): rollback" \
		"$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback
	tap_is "$(rpm --root "$c" --dbpath /var/lib/rpm -qa | sort)" "$rpm_before" "crash $n: rpm -qa is as before"
	tap_ok "crash $n: the state file is byte-identical" cmp "$keep.mta-before" "$c/var/lib/alternatives/mta"
	tap_tree_is "$c" "$before" "crash $n: the tree is as before by manifest"
	C=$keep
	rm -rf "$c"
}

case_crashes() {
	tap_case "crash injection"
	[ -f "$CRASH_SHIM" ] || { tap_skip "crash injection" "the crash shim was not built ($CRASH_SHIM)"; return; }
	local c i samples=${QI_CRASH_SAMPLES:-3} keep=$C
	c=$(tap_tmpdir)/count
	tap_setup cp -a "$C" "$c" || return
	C=$c
	QI_CRASH_SELF_ONLY=1 QI_CRASH_COUNT=$c.count LD_PRELOAD=$CRASH_SHIM _run --offline >"$c.out" 2>&1
	C=$keep
	TOTAL=$(cat "$c.count" 2>/dev/null || echo 0)
	tap_ok "the counting run made its mutating calls ($TOTAL)" test "$TOTAL" -gt 100
	rm -rf "$c"
	[ "$TOTAL" -gt 100 ] || return
	cp "$C/var/lib/alternatives/mta" "$C.mta-before"
	for i in $(seq "$samples"); do
		crash_at $(( (TOTAL * i) / (samples + 1) ))
	done
	# the Red Hat steps come last: among the last 200 calls
	REWIRED=0 ERASED=0
	for i in $(seq "$samples"); do
		crash_at $(( TOTAL - (200 * i) / (samples + 1) ))
	done
	tap_ok "a crash among the last calls came after the group was rewired ($REWIRED)" test "$REWIRED" -gt 0
	tap_ok "and one after the erase ($ERASED)" test "$ERASED" -gt 0
	tap_ok "and one before it" test "$ERASED" -lt "$samples"
}

case_check
case_migrate
case_crashes
tap_done
