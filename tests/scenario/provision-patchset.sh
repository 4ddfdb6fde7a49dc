#!/bin/bash
# Scenario: the netqmail profile's patch set as its services and
# validrcptto see it, on throwaway roots from the shared distfiles folder:
# with smtp-auth (the default) qmail-smtpd's run script passes
# qmail-smtpd-auth's three arguments (the domain, the setgid
# checkpassword-smtp --check-only, /bin/true), the program is 02510
# qmaild:shadow and the password file 0640 root:shadow; submission adds the
# qmail-submission service on port 587 with SUBMISSION set and no relay
# rules; validrcptto writes control/validrcptto.cdb (read back here the
# way qmail-smtpd's cdb_seek reads it) and `mailuser add` rebuilds it;
# --without smtp-auth gives the plain qmail-smtpd and no submission.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

export QINSTALL_CACHE_DIR=$(tap_tmpdir)
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail"
command -v python3 >/dev/null || tap_skip_all "python3 reads the cdb back"
distfiles_mirror $DISTFILES_NETQMAIL || tap_skip_all "cannot start the loopback HTTP server"
MIRROR=(${DISTFILES_URL:+--mirror "$DISTFILES_URL"})
ARGS=(--domain mail.example.org --admin admin "${MIRROR[@]}")
SUP=/var/qmail/supervise

# cdb_has CDB KEY: whether KEY is in CDB (cdb_seek's hash and probe).
cdb_has() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(); k = sys.argv[2].encode()
h = 5381
for c in k: h = ((h << 5) + h ^ c) & 0xffffffff
pos, n = struct.unpack_from('<II', d, (h & 255) * 8)
for i in range(n):
    sh, sp = struct.unpack_from('<II', d, pos + ((h >> 8) + i) % n * 8)
    if not sp: break
    kl, = struct.unpack_from('<I', d, sp)
    if sh == h and d[sp + 8:sp + 8 + kl] == k: sys.exit(0)
sys.exit(1)
PY
}

new_root() {
	R=$(tap_tmpdir)
	qmail_root "$R"
	grep -q '^shadow:' "$R/etc/group" || echo 'shadow:x:42:' >>"$R/etc/group"
}

case_default() {
	tap_case "the default set: smtp-auth, submission, validrcptto"
	new_root
	if ! "$QINSTALL" --root "$R" --json provision "${ARGS[@]}" >"$R.out" 2>&1; then
		grep -q "cannot fetch\|could not\|resolve" "$R.out" && [ -z "$DISTFILES_URL" ] &&
			tap_skip_all "the sources are neither in a distfiles folder nor reachable upstream"
	fi
	tap_run 0 "provision netqmail (a second time: nothing to do)" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	local s shadow
	shadow=$(awk -F: '$1 == "shadow" { print $3 }' "$R/etc/group")
	s=$(cat "$R$SUP/qmail-smtpd/run")
	tap_like "$s" '/var/qmail/bin/qmail-smtpd mail.example.org \\' "smtpd: qmail-smtpd-auth's hostname"
	tap_like "$s" '/usr/local/libexec/qinstall/checkpassword-smtp --check-only /bin/true 2>&1' \
		"smtpd: the checkpassword program and /bin/true"
	tap_like "$s" '-x /etc/tcp.smtp.cdb' "smtpd: the relay rules"
	s=$(cat "$R$SUP/qmail-submission/run")
	tap_like "$s" 'SUBMISSION=1' "submission: SUBMISSION set"
	tap_like "$s" ' 0 587 /var/qmail/bin/qmail-smtpd mail.example.org' "submission: port 587"
	tap_unlike "$s" 'tcp.smtp' "submission: no relay rules"
	tap_ok "submission: run is an sh script" sh -n "$R$SUP/qmail-submission/run"
	tap_is "$(readlink "$R/etc/service/qmail-submission")" "$SUP/qmail-submission" "submission: linked into /etc/service"
	tap_mode_is "$R/usr/local/libexec/qinstall/checkpassword-smtp" 2510 "checkpassword-smtp is setgid, for its owner alone"
	tap_owner_is "$R/usr/local/libexec/qinstall/checkpassword-smtp" "$(awk -F: '$1 == "qmaild" { print $3 }' "$R/etc/passwd"):$shadow" \
		"qmaild:shadow"
	tap_mode_is "$R/var/qmail/users/poppasswd" 0640 "the password file is 0640"
	tap_owner_is "$R/var/qmail/users/poppasswd" "0:$shadow" "root:shadow"
	local cdb=$R/var/qmail/control/validrcptto.cdb
	tap_ok "validrcptto.cdb has postmaster" cdb_has "$cdb" postmaster@mail.example.org
	tap_ok "and nobody unknown" bash -c "$(declare -f cdb_has); ! cdb_has '$cdb' nobody@mail.example.org"
	# qmail-getpw delivers to admin (uid 1000, a home of its own): so
	# does validrcptto; root and daemon (below 1000) are not there
	tap_ok "validrcptto.cdb has the system user admin" cdb_has "$cdb" admin@mail.example.org
	tap_ok "with admin-default" cdb_has "$cdb" admin-default@mail.example.org
	tap_ok "but not daemon" bash -c "$(declare -f cdb_has); ! cdb_has '$cdb' daemon@mail.example.org"
	printf 'pw-of-carol\n' | "$QINSTALL" --root "$R" -q mailuser add --owner admin carol >/dev/null 2>&1
	tap_ok "mailuser add: carol is in the cdb" cdb_has "$cdb" carol@mail.example.org
	tap_ok "with carol-default" cdb_has "$cdb" carol-default@mail.example.org
	tap_mode_is "$R/var/qmail/users/poppasswd" 0640 "the password file stays 0640"
	tap_run 0 "mailuser validrcptto rebuilds it by hand" "$QINSTALL" --root "$R" mailuser validrcptto
}

case_without_auth() {
	tap_case "--without smtp-auth"
	new_root
	tap_run 0 "provision --without smtp-auth" "$QINSTALL" --root "$R" provision --without smtp-auth "${ARGS[@]}"
	tap_like "$(cat "$R$SUP/qmail-smtpd/run")" '25 /var/qmail/bin/qmail-smtpd 2>&1' "smtpd without AUTH arguments"
	tap_ok "no submission service" test ! -e "$R$SUP/qmail-submission"
	tap_ok "no checkpassword-smtp" test ! -e "$R/usr/local/libexec/qinstall/checkpassword-smtp"
}

case_default
case_without_auth
tap_done
