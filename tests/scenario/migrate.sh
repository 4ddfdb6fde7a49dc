#!/bin/bash
# Scenario: `qinstall migrate` on throwaway roots whose dpkg database the
# test writes by hand (no dpkg runs, nothing is built): what the detection
# refuses and how it says so, and --check. A root without dpkg's database,
# with no MTA, with an MTA no package installed (a /usr/sbin/sendmail of
# the administrator's), with an MTA qinstall does not know (nullmailer),
# --from naming another MTA than the installed one, a bad --queue, and a
# root whose dpkg lock a live process holds (exit 3): each refused with
# what to do, and nothing written. --check on a Postfix root with three
# queued messages lists every step (stop, provision, queue, keep,
# package, link, start) and the provision's plan of files, says what
# comes from where in its JSON, and writes nothing (the tree as it was).
. "$top_srcdir/tests/lib/tap.sh"
PY=${PYTHON3:-python3}
Q=$QINSTALL
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
LOCKERS=()
trap 'for p in "${LOCKERS[@]}"; do kill "$p" 2>/dev/null; done; _tap_cleanup' EXIT

# stanza NAME VERSION [PROVIDES]: one installed package of dpkg's status.
stanza() {
	printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: mail\n' "$1"
	printf 'Installed-Size: 10\nMaintainer: Test <test@example.org>\nArchitecture: amd64\n'
	printf 'Version: %s\n' "$2"
	[ -n "${3:-}" ] && printf 'Provides: %s\n' "$3"
	printf 'Description: test package %s\n\n' "$1"
}

# new_root [PACKAGE VERSION [FILE...]]: a root with passwd, group and a
# dpkg database holding bsd-mailx and, when named, the MTA PACKAGE (which
# provides mail-transport-agent and owns FILEs, made as small files).
new_root() {
	local r f
	r=$(tap_tmpdir)
	mkdir -p "$r/etc" "$r/var/lib/dpkg/info" "$r/usr/sbin" "$r/var/spool"
	printf '#!/bin/sh\nexit 1\n' >"$r/usr/sbin/nologin"
	chmod 0755 "$r/usr/sbin/nologin"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nshadow:x:42:\n' >"$r/etc/group"
	{
		stanza bsd-mailx 8.1.2-0.20220412cvs-1
		[ -n "${1:-}" ] && stanza "$1" "$2" "default-mta, mail-transport-agent"
	} >"$r/var/lib/dpkg/status"
	: >"$r/var/lib/dpkg/lock"
	: >"$r/var/lib/dpkg/lock-frontend"
	if [ -n "${1:-}" ]; then
		local pkg=$1
		shift 2
		for f in "$@"; do
			mkdir -p "$r$(dirname "$f")"
			printf '#!/bin/sh\n' >"$r$f"
			printf '%s\n' "$f" >>"$r/var/lib/dpkg/info/$pkg.list"
		done
	fi
	printf '%s\n' "$r"
}

# postfix_queue ROOT N: N files in Postfix's deferred queue (their content
# does not matter to --check).
postfix_queue() {
	local i
	mkdir -p "$1/var/spool/postfix/deferred/A"
	for i in $(seq "$2"); do
		printf 'x' >"$1/var/spool/postfix/deferred/A/A1B2C3D$i"
		chmod 0700 "$1/var/spool/postfix/deferred/A/A1B2C3D$i"
	done
}

migrate() {
	tap_run "$1" "$2" "$Q" --root "$R" --json migrate --domain example.org --admin postmaster@example.net "${@:3}"
}

case_no_dpkg() {
	tap_case no-dpkg
	R=$(tap_tmpdir)
	mkdir -p "$R/etc"
	local before
	before=$(tap_tree "$R")
	migrate 1 "a root without dpkg's database is refused"
	tap_like "$(tap_json msg)" "var/lib/dpkg/status is missing.*qinstall provision" \
		"the message names the missing file and what to do"
	tap_tree_is "$R" "$before" "nothing was written"
}

case_no_mta() {
	tap_case no-mta
	R=$(new_root)
	migrate 1 "a root with no MTA is refused"
	tap_like "$(tap_json msg)" "no MTA in .*mail-transport-agent.*qinstall provision" \
		"the message says there is nothing to take over"
	tap_json_is from.mta none "from says there is none"
}

case_by_hand() {
	tap_case by-hand
	R=$(new_root)
	printf '#!/bin/sh\n' >"$R/usr/sbin/sendmail"
	migrate 1 "an MTA no package installed is refused"
	tap_like "$(tap_json msg)" "usr/sbin/sendmail is \\(a file\\).*installed by hand.*remove it yourself" \
		"the message says it was installed by hand and what to do"
}

case_unknown() {
	tap_case unknown-mta
	R=$(new_root nullmailer 1:2.2-3 /usr/sbin/sendmail)
	migrate 1 "an MTA qinstall does not know is refused"
	tap_like "$(tap_json msg)" "package nullmailer, which qinstall does not know.*Postfix, Exim and sendmail" \
		"the message names the package and what qinstall migrates"
	tap_json_is from.sendmail_owner nullmailer "dpkg's owner of /usr/sbin/sendmail is found"
}

case_from_other() {
	tap_case from-other
	R=$(new_root postfix 3.7.11-0+deb12u1 /usr/sbin/sendmail)
	migrate 2 "--from exim on a Postfix root is a usage error" --from exim
	tap_like "$(tap_json msg)" "--from exim, but .* is package postfix" "the message names the real one"
	migrate 2 "--from smail is a usage error" --from smail
	migrate 2 "--queue flush is a usage error" --queue flush
	tap_like "$(tap_json msg)" "give carry, drain or keep" "the message lists the modes"
}

case_locked() {
	tap_case dpkg-locked
	R=$(new_root postfix 3.7.11-0+deb12u1 /usr/sbin/sendmail)
	local ready
	ready=$(tap_tmpdir)/ready
	"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)' "$R/var/lib/dpkg/lock-frontend" "$ready" &
	LOCKERS+=($!)
	local i
	for i in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
	local before
	before=$(tap_tree "$R")
	migrate 3 "a locked dpkg database is refused with exit 3"
	tap_like "$(tap_json msg)" "locked by process $!.*nothing was changed" \
		"the message names the process that holds the lock"
	tap_tree_is "$R" "$before" "nothing was written"
	kill "$!" 2>/dev/null
}

case_check() {
	tap_case check
	R=$(new_root postfix 3.7.11-0+deb12u1 /usr/sbin/sendmail /usr/sbin/postfix /usr/bin/mailq)
	postfix_queue "$R" 3
	local before
	before=$(tap_tree "$R")
	migrate 0 "--check succeeds" --check
	tap_tree_is "$R" "$before" "--check wrote nothing"
	tap_json_is changed true "--check says it would change ROOT (as Ansible's check mode)"
	tap_json_is from.mta postfix "the MTA is Postfix"
	tap_json_is from.package postfix "from its package"
	tap_json_is from.version 3.7.11-0+deb12u1 "at its version"
	tap_json_is from.sendmail "(a file)" "/usr/sbin/sendmail is a file"
	tap_json_is from.sendmail_owner postfix "of the package postfix"
	tap_json_is queue.found 3 "the three queued messages are found"
	tap_json_is queue.mode carry "the queue is to be carried"
	local s
	for s in stop provision queue keep package link start; do
		tap_json_has steps.#.step "$s" "the steps include $s"
	done
	tap_json_has links.#.path /usr/lib/sendmail "the links include /usr/lib/sendmail"
	tap_json_has links.#.path /usr/bin/newaliases "the links include /usr/bin/newaliases"
	tap_ok "the provision's plan is there (plan.# > 0)" test "$(tap_json plan.#)" -gt 0
	tap_json_has plan.#.path /var/qmail/control/me "and names control/me among its files"
	migrate 0 "--check --queue drain succeeds" --check --queue drain
	tap_json_has steps.#.step drain "a drain is one of the steps"
	tap_json_has steps.#.what "Postfix delivers its queue for up to 300 s (its master from a copy of its configuration with the inet services off); what is left is carried" \
		"after the stop, for up to --drain-timeout (300 s), with no mail from the network"
	migrate 0 "--check --queue keep succeeds" --check --queue keep
	tap_json_is queue.left.# 3 "keep lists the three messages as left"
}

case_no_dpkg
case_no_mta
case_by_hand
case_unknown
case_from_other
case_locked
case_check
tap_done
