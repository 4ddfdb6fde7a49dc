#!/bin/bash
# Scenario: `qinstall migrate` on throwaway roots whose dpkg database the
# test writes by hand (no dpkg runs, nothing is built): what the detection
# refuses and how it says so, and --check. A root with no package database,
# with no MTA, with an MTA no package installed (a /usr/sbin/sendmail of
# the administrator's), with an MTA qinstall does not know (nullmailer),
# --from naming another MTA than the installed one, a bad --queue, and a
# root whose dpkg lock a live process holds (exit 3): each refused with
# what to do, and nothing written. --check on a Postfix root with three
# queued messages lists every step (stop, provision, queue, keep,
# package, link, start) and the provision's plan of files, says what
# comes from where in its JSON, and writes nothing (the tree as it was).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migconf.sh"
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

# fake_postconf ROOT XFILE NFILE [RC]: a /usr/sbin/postconf in ROOT (with
# the host's dash as /bin/sh, and its libraries) that prints XFILE for
# -x, NFILE for -n, and exits RC (0); with RC not 0 it says, on stderr,
# what Postfix's says of a main.cf it cannot read.
fake_postconf() {
	local r=$1 lib
	mkdir -p "$r/bin" "$r/etc"
	cp /bin/dash "$r/bin/sh"
	for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
		mkdir -p "$r$(dirname "$lib")"
		cp "$lib" "$r$lib"
	done
	cp "$2" "$r/etc/postconf-x"
	cp "$3" "$r/etc/postconf-n"
	{
		printf '#!/bin/sh\n'
		if [ "${4:-0}" != 0 ]; then
			printf 'echo "postconf: fatal: /etc/postfix/main.cf, line 3: missing '"'='"' after attribute name: oops" >&2\n'
			printf 'exit %s\n' "$4"
		fi
		printf 'case "$3" in -n) f=/etc/postconf-n ;; *) f=/etc/postconf-x ;; esac\n'
		printf 'while IFS= read -r l; do printf "%%s\\n" "$l"; done <"$f"\n'
	} >"$r/usr/sbin/postconf"
	chmod 0755 "$r/usr/sbin/postconf"
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
	migrate 1 "a root with no package database is refused"
	tap_like "$(tap_json msg)" "no package database.*/var/lib/dpkg/status.*/var/lib/rpm.*qinstall provision" \
		"the message names the files looked for and what to do"
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
	# what postconf -x would say of a main.cf with these set (-n)
	local t
	t=$(tap_tmpdir)
	cat >"$t/x" <<'CONF'
myhostname = mail.example.org
mydomain = example.org
myorigin = /etc/mailname
mydestination = mail.example.org, localhost.example.org, localhost
relay_domains =
parent_domain_matches_subdomains = debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps
mynetworks = 127.0.0.0/8 10.1.2.0/24 192.168.0.0/20 [::1]/128
virtual_alias_domains =
virtual_alias_maps =
relayhost = [smtp.example.net]:587
transport_maps =
message_size_limit = 10240000
alias_maps = hash:/etc/aliases
recipient_delimiter = +
CONF
	cat >"$t/n" <<'CONF'
alias_maps = hash:/etc/aliases
message_size_limit = 10240000
mydestination = $myhostname, localhost.$mydomain, localhost
myhostname = mail.example.org
mynetworks = 127.0.0.0/8 10.1.2.0/24 192.168.0.0/20 [::1]/128
recipient_delimiter = +
relayhost = [smtp.example.net]:587
smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem
CONF
	fake_postconf "$R" "$t/x" "$t/n"
	echo mail.example.org >"$R/etc/mailname"
	printf 'postmaster: root\nsales: alice, bob@example.net\n' >"$R/etc/aliases"
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
	# the old configuration, converted (nothing written: the tree above)
	tap_json_has steps.#.step config "a step converts the old configuration"
	tap_json_is config.me mail.example.org "its host name is found"
	tap_json_is config.domain_from given "--domain example.org wins over it"
	tap_like "$TAP_STDOUT" "the domain given, example.org, is used, not the old MTA's host name mail.example.org" \
		"and the step says so"
	tap_is "$(migconf_file control/smtproutes)" ":smtp.example.net:587" "relayhost becomes smtproutes"
	tap_is "$(migconf_file control/databytes)" 10240000 "message_size_limit becomes databytes"
	tap_is "$(migconf_file tcp.smtp)" "$(printf '127.:allow,RELAYCLIENT=""\n10.1.2.:allow,RELAYCLIENT=""')" \
		"mynetworks' /8 and /24 become RELAYCLIENT rules"
	tap_is "$(migconf_file control/locals)" "$(printf 'localhost\nlocalhost.example.org\nmail.example.org')" \
		"mydestination becomes locals"
	tap_is "$(migconf_outcome mynetworks 192.168.0.0/20)" "not converted" \
		"a /20, which tcprules cannot match without widening it, is not converted"
	tap_is "$(migconf_outcome recipient_delimiter +)" warned "a '+' delimiter converts with a warning"
	tap_is "$(migconf_outcome smtpd_tls_cert_file snakeoil)" "not converted" "a TLS setting is listed as not converted"
	tap_is "$(migconf_file alias/.qmail-sales)" "$(printf '&alice\n&bob@example.net')" "an alias becomes ~alias/.qmail-sales"
	migrate 0 "--check --diff succeeds" --check --diff
	# the conversion is installed with qmail: the plan has its files
	tap_json_is config.applied true "the converted files are to be installed with qmail"
	local f
	for f in control/smtproutes control/databytes alias/.qmail-sales; do
		tap_json_has plan.#.path "/var/qmail/$f" "the plan installs $f"
	done
	tap_is "$(migconf_diff /var/qmail/control/rcpthosts)" \
		"$(printf 'example.org\nlocalhost\nlocalhost.example.org\nmail.example.org')" \
		"rcpthosts: the domain given first, then mydestination's"
	tap_is "$(migconf_diff /var/qmail/control/locals)" "$(migconf_diff /var/qmail/control/rcpthosts)" \
		"locals likewise"
	tap_is "$(migconf_diff /var/qmail/alias/.qmail-postmaster)" "&postmaster@example.net" \
		"postmaster is --admin's, not the old alias's"
	tap_is "$(migconf_diff /var/qmail/control/me)" "example.org" "control/me is the domain given"
	tap_is "$(migconf_diff /etc/tcp.smtp | grep -v '^# Written\|^# /etc')" \
		"$(printf '%s\n' "# From Postfix's configuration (qinstall migrate):" '127.:allow,RELAYCLIENT=""' \
			'10.1.2.:allow,RELAYCLIENT=""' '# From [services] smtp_rule:' '127.0.0.1:allow,RELAYCLIENT=""' ':allow')" \
		"/etc/tcp.smtp: mynetworks' rules before the profile's"
	for f in control/me control/defaultdomain control/plusdomain alias/.qmail-postmaster; do
		tap_json_has config.left_out.#.file "$f" "config.left_out names $f"
	done
	tap_like "$TAP_STDERR" "warning: config: postmaster was &root in the old /etc/aliases; qmail's is --admin postmaster@example.net" \
		"the old postmaster alias that --admin replaces is warned of"
	tap_like "$(tap_json diff.after)" "/var/backups/qinstall-migrate/converted/control/smtproutes" \
		"--diff shows the files the conversion would write"
	tap_tree_is "$R" "$before" "--check --diff wrote nothing"
	tap_run 0 "--check without --domain succeeds" "$Q" --root "$R" --json migrate --admin postmaster@example.net --check
	tap_json_is config.domain_from "old configuration" "without --domain the old MTA's host name is qmail's"
	tap_json_has plan.#.path /var/qmail/control/me "the plan writes control/me"
	tap_json_has config.left_out.#.file control/me "control/me is left to the domain"
	tap_unlike "$(tap_json config.left_out.#.file)" defaultdomain "but the old defaultdomain is installed (no --domain overrides it)"
	migrate 0 "--check --queue drain succeeds" --check --queue drain
	tap_json_has steps.#.step drain "a drain is one of the steps"
	tap_json_has steps.#.what "Postfix delivers its queue for up to 300 s (its master from a copy of its configuration with the inet services off); what is left is carried" \
		"after the stop, for up to --drain-timeout (300 s), with no mail from the network"
	migrate 0 "--check --queue keep succeeds" --check --queue keep
	tap_json_is queue.left.# 3 "keep lists the three messages as left"
	# [mail] configure = no: no control or alias file, but the relay rules
	printf '[profile]\ninclude = netqmail\n[mail]\nconfigure = no\n[services]\nsend = no\nsmtpd_auth = no\nsubmission = no\npop3 = no\n' >"$t/noconf.profile"
	migrate 0 "--check --diff with [mail] configure = no succeeds" --check --diff --profile "$t/noconf.profile"
	tap_json_is config.applied true "the conversion is still applied in part"
	tap_json_has config.left_out.#.file control/smtproutes "smtproutes is left out"
	tap_like "$(tap_json config.left_out.0.why)" "configure = no" "saying why"
	tap_unlike "$(tap_json config.left_out.#.file)" "tcp\.smtp" "the rules are not left out"
	tap_ok "/etc/tcp.smtp has mynetworks' rule" grep -qx '10.1.2.:allow,RELAYCLIENT=""' \
		<(migconf_diff /etc/tcp.smtp)
	tap_unlike "$(tap_json plan.#.path)" "/var/qmail/control" "and no control file is in the plan"
	tap_like "$(tap_json steps.#.what)" "its SMTP rules are installed first in the rules file" "the config step says so"
}

case_bad_maincf() {
	tap_case bad-main.cf
	R=$(new_root postfix 3.7.11-0+deb12u1 /usr/sbin/sendmail /usr/sbin/postfix)
	local t
	t=$(tap_tmpdir)
	: >"$t/x"
	: >"$t/n"
	fake_postconf "$R" "$t/x" "$t/n" 1
	local before
	before=$(tap_tree "$R")
	migrate 1 "a main.cf postconf cannot read stops the run"
	tap_like "$TAP_STDERR" "postconf: fatal: /etc/postfix/main.cf, line 3: missing '=' after attribute name" \
		"postconf's own message is shown"
	tap_like "$(tap_json msg)" "postconf.* failed \(exit 1\).*fix main.cf.*then migrate again" \
		"the message says what failed and what to do"
	tap_tree_is "$R" "$before" "nothing was written"
}

case_exim_by_hand() {
	tap_case exim-own-config
	R=$(new_root exim4-daemon-light 4.96-15+deb12u10 /usr/sbin/exim4 /usr/sbin/sendmail)
	mkdir -p "$R/etc/exim4"
	printf 'primary_hostname = mail.example.org\n' >"$R/etc/exim4/exim4.conf"
	mkfifo "$R/etc/aliases"
	migrate 0 "an Exim configured without Debian's update-exim4.conf.conf is taken over (--check)" --check
	tap_is "$(migconf_outcome /etc/aliases "")" "not converted" "a FIFO at /etc/aliases is not read (nor waited on)"
	tap_like "$TAP_STDERR" "warning: config: .*/etc/aliases is not converted: it could not be read .*FIFO" \
		"and a warning says why"
	tap_is "$(migconf_outcome configuration "$R")" "not converted" "its configuration is one item, not converted"
	tap_like "$TAP_STDERR" "warning: config: Exim's configuration in .* is not converted: .*update-exim4.conf.conf.*by hand" \
		"a warning says so, and why"
}

case_no_dpkg
case_no_mta
case_by_hand
case_unknown
case_from_other
case_locked
case_bad_maincf
case_exim_by_hand
case_check
tap_done
