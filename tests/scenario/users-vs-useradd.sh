#!/bin/bash
# Scenario, differential: shadow-utils is the oracle. The seed guide makes
# qmail's accounts with groupadd and useradd; on identical roots, qinstall
# must write the very same passwd, group, shadow and gshadow bytes, and
# must recognise accounts made that way as present (changing no file).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
command -v useradd >/dev/null && command -v groupadd >/dev/null ||
	tap_skip_all "shadow-utils (useradd, groupadd) is not installed"
# The same day for both, whatever the clock does between them.
export SOURCE_DATE_EPOCH=$(date +%s)

# seed_guide ROOT [useradd options]: the guide's commands, with --prefix.
seed_guide() {
	local r=$1 u g home i=600
	shift
	groupadd --prefix "$r" -g 600 nofiles && groupadd --prefix "$r" -g 601 qmail || return 1
	for u in alias qmaild qmaill qmailp qmailq qmailr qmails; do
		g=nofiles home=/var/qmail
		case $u in qmailq|qmailr|qmails) g=qmail ;; esac
		[ "$u" = alias ] && home=/var/qmail/alias
		useradd --prefix "$r" -u $i -g $g -d $home "$@" -s /usr/sbin/nologin "$u" 2>/dev/null || return 1
		i=$((i + 1))
	done
}

# The action of each of the nine accounts when all are there.
present9='["present", "present", "present", "present", "present", "present", "present", "present", "present"]'

case_same_bytes() {
	tap_case "qinstall and shadow-utils on identical roots"
	local A B f
	A=$(tap_tmpdir); B=$(tap_tmpdir)
	make_root "$A"; make_root "$B"
	tap_ok "groupadd/useradd --prefix make the accounts (the oracle)" seed_guide "$A" -M
	tap_run 0 "qinstall users makes them on an identical root" "$QINSTALL" --root "$B" users
	for f in passwd group shadow gshadow; do
		tap_ok "/etc/$f is byte-identical to shadow-utils' result" cmp "$A/etc/$f" "$B/etc/$f"
	done
}

# Accounts made by the guide's commands are present as wanted.
case_made_by_useradd() {
	tap_case "qinstall users after useradd -M"
	local A sums
	A=$(tap_tmpdir)
	make_root "$A"
	tap_setup seed_guide "$A" -M || return
	sums=$(etc_sums "$A")
	tap_run 0 "qinstall users on the useradd-made root" "$QINSTALL" --root "$A" --json users
	tap_json_is accounts.#.action "$present9" "every account is reported present"
	tap_is "$(etc_sums "$A")" "$sums" "no file under /etc changed"
	tap_ok "only the homes were made" test -d "$A/var/qmail/alias"
}

# The guide itself uses -m -k /dev/null: useradd makes the homes, its way.
case_homes_by_useradd() {
	tap_case "qinstall users after useradd -m"
	local C homes
	C=$(tap_tmpdir)
	make_root "$C"
	tap_ok "the guide's exact commands (-m -k /dev/null)" seed_guide "$C" -m -k /dev/null
	homes=$(stat -c '%a %u:%g' "$C/var/qmail" "$C/var/qmail/alias")
	tap_run 0 "qinstall users after them" "$QINSTALL" --root "$C" --json users
	tap_json_is accounts.#.action "$present9" "the nine accounts are present"
	tap_json_is homes.#.action '["kept", "kept"]' "useradd's homes (other modes and owners) are kept"
	tap_like "$TAP_STDERR" 'warning: .*/var/qmail/alias exists with mode' "and a warning says how they differ"
	tap_is "$(stat -c '%a %u:%g' "$C/var/qmail" "$C/var/qmail/alias")" "$homes" "the homes are left as useradd made them"
}

case_same_bytes
case_made_by_useradd
case_homes_by_useradd
tap_done
