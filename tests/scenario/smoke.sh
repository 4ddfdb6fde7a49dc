#!/bin/bash
# Scenario: `qinstall smoke` against the test's own loopback SMTP/POP3
# server (tests/lib/mailsrv.py, answering as qmail does) and a throwaway
# root with a provision record and the admin's Maildir. All six checks
# pass and the test message is removed afterwards; a stopped server fails
# the greeting (exit 1); an open relay fails relay-refused; a server that
# never delivers fails delivered after --timeout; a wrong POP3 password
# fails pop3; --json gives one "checks" array; --host without --root
# skips the Maildir check, saying why.
. "$top_srcdir/tests/lib/tap.sh"
PY=${PYTHON3:-python3}
Q=$QINSTALL
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

if ! "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null; then
	tap_skip_all "cannot bind to 127.0.0.2 (the second loopback address the relay checks send from)"
fi

SERVERS=()
trap 'for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done; _tap_cleanup' EXIT

# new_root: a root provisioned for example.org with the local admin
# "admin", its Maildir empty.
new_root() {
	local r
	r=$(tap_tmpdir)
	mkdir -p "$r/var/lib/qinstall" "$r/etc" "$r/home/admin/Maildir/new" "$r/home/admin/Maildir/cur" \
		"$r/home/admin/Maildir/tmp"
	printf '{"profile": "netqmail", "domain": "example.org", "admin": "admin"}\n' \
		>"$r/var/lib/qinstall/provision.json"
	printf 'root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n' >"$r/etc/passwd"
	printf '%s\n' "$r"
}

# serve ROOT [MAILSRV OPTIONS]: start the server on ROOT's admin Maildir;
# sets SMTP and POP3 (the ports) and SRV (its pid).
serve() {
	local root=$1 state i
	shift
	state=$(tap_tmpdir)
	"$PY" "$top_srcdir/tests/lib/mailsrv.py" --maildir "$root/home/admin/Maildir" \
		--port-file "$state/ports" --domain example.org --pop3-user admin --pop3-pass secret "$@" \
		>/dev/null 2>"$state/stderr" &
	SRV=$!
	SERVERS+=("$SRV")
	for i in $(seq 100); do
		[ -s "$state/ports" ] && break
		sleep 0.05
	done
	read -r SMTP POP3 <"$state/ports" || return 1
	MAILLOG=$state/ports.log
}

# start CASE [MAILSRV OPTIONS]: a case on a new root ($R) with its server.
start() {
	tap_case "$1"
	shift
	R=$(new_root)
	tap_setup serve "$R" "$@"
}

# smoke ROOT CODE DESC ARGS...: qinstall smoke on ROOT against the server,
# the password "secret" on stdin unless $PASS says otherwise.
smoke() {
	local root=$1 code=$2 desc=$3
	shift 3
	tap_run "$code" "$desc" "$Q" --root "$root" smoke --port "$SMTP" --pop3-port "$POP3" "$@" \
		<<<"${PASS:-secret}"
}

case_all_pass() {
	start "all checks pass" --relay 127.0.0.1 || return
	smoke "$R" 0 "a server that behaves: exit 0" --pop3-user admin --timeout 10
	local c
	for c in greeting accepted delivered relay-refused relay-allowed pop3; do
		tap_like "$TAP_STDOUT" "(^|$(printf '\n'))ok +$c " "$c: ok"
	done
	tap_like "$TAP_STDOUT" "127\\.0\\.0\\.1:$SMTP greets: 220 example\\.org" "the greeting names host, port and answer"
	tap_like "$TAP_STDOUT" "refused: 553 sorry, that domain isn't in my list of allowed rcpthosts" \
		"relay-refused says qmail's 553"
	tap_like "$TAP_STDOUT" "Maildir/new/[^ ]+, removed" "delivered names the file and says it was removed"
	tap_is "$(find "$R/home/admin/Maildir" -type f | wc -l)" 0 "the test message was removed afterwards"
	tap_like "$(cat "$MAILLOG")" "RCPT TO:<admin@example\\.org>" "the message went to the admin at the record's domain"
	tap_unlike "$(grep -A1 'qinstall-smoke.invalid' "$MAILLOG")" "DATA" "no DATA after the foreign RCPT"
	tap_like "$(cat "$MAILLOG")" "smtp 127\\.0\\.0\\.2 RCPT TO:<smoke-test@[^>]*\\.invalid>" \
		"the refused RCPT came from 127.0.0.2"
	tap_like "$(grep -c '^smtp queued' "$MAILLOG")" "^1$" "one message only was queued (the test message)"
	tap_is "$(find "$R" -newer "$R/etc/passwd" -type f | grep -v Maildir)" "" "nothing else was written to ROOT"
	kill "$SRV"
}

case_stopped() {
	start "the server stops" --relay 127.0.0.1 || return
	kill "$SRV"; wait "$SRV" 2>/dev/null
	smoke "$R" 1 "no server: exit 1 (a check failed)"
	tap_like "$TAP_STDOUT" "FAIL greeting +127\\.0\\.0\\.1:$SMTP: no 220 greeting" "the greeting check fails, naming host and port"
	tap_like "$TAP_STDERR" "smoke checks failed on 127\\.0\\.0\\.1:$SMTP" "the error says checks failed"
}

case_open_relay() {
	start "an open relay" --open-relay || return
	smoke "$R" 1 "an open relay: exit 1"
	tap_like "$TAP_STDOUT" "FAIL relay-refused .*from 127\\.0\\.0\\.2: .*answered 250 ok, wanted 553" \
		"relay-refused fails, saying what was answered"
	tap_like "$TAP_STDOUT" "ok +relay-allowed" "relay-allowed still passes"
	tap_unlike "$(grep -A1 'qinstall-smoke.invalid' "$MAILLOG")" "DATA" "the accepted foreign RCPT got no DATA"
	kill "$SRV"
}

case_no_delivery() {
	start "a server that never delivers" --relay 127.0.0.1 --no-deliver || return
	local t0=$SECONDS
	smoke "$R" 1 "never delivered: exit 1" --timeout 2
	tap_like "$TAP_STDOUT" "FAIL delivered .*is not in $R/home/admin/Maildir/new or cur after 2 s" \
		"delivered fails after --timeout 2"
	tap_ok "it waited about 2 s, not 30" test $((SECONDS - t0)) -lt 15
	kill "$SRV"
}

case_bad_password() {
	start "a wrong POP3 password" --relay 127.0.0.1 || return
	PASS=wrong smoke "$R" 1 "a wrong password: exit 1" --pop3-user admin
	tap_like "$TAP_STDOUT" "FAIL pop3 +127\\.0\\.0\\.1:$POP3: login as admin failed: -ERR authorization failed" \
		"pop3 fails with the server's answer"
	tap_unlike "$TAP_STDOUT$TAP_STDERR" "wrong" "the password is never printed"
	smoke "$R" 0 "without --pop3-user the POP3 check is skipped"
	tap_like "$TAP_STDOUT" "skip pop3 +skipped: no --pop3-user given" "and says why"
	tap_like "$TAP_STDOUT" "5 smoke checks passed on 127\\.0\\.0\\.1:$SMTP \\(1 skipped\\)" "the summary counts the skipped check"
	kill "$SRV"
}

case_json() {
	start "--json" --relay 127.0.0.1 || return
	smoke "$R" 0 "--json: exit 0" --json --pop3-user admin
	tap_json_is checks.#.name '["greeting", "accepted", "delivered", "relay-refused", "relay-allowed", "pop3"]' \
		"checks names the six checks in order"
	tap_json_is checks.#.ok '[true, true, true, true, true, true]' "each ok"
	tap_json_is failed false "failed false"
	tap_like "$(tap_json checks.3.detail)" "553" "a check's detail says what was answered"
	kill "$SRV"; wait "$SRV" 2>/dev/null
	smoke "$R" 1 "--json with the server gone: exit 1" --json
	tap_json_is checks.0.ok false "the greeting's ok is false"
	tap_json_is failed true "failed true"
}

case_host_alone() {
	start "--host without --root" --relay 127.0.0.1 || return
	tap_run 0 "--host alone: exit 0" "$Q" smoke --host 127.0.0.1 --port "$SMTP" --to admin@example.org </dev/null
	tap_like "$TAP_STDOUT" "skip delivered +skipped: --host 127\\.0\\.0\\.1 without --root: no local root to look into" \
		"the Maildir check is skipped, saying why"
	tap_run 2 "--host alone without --to is a usage error" "$Q" smoke --host 127.0.0.1 --port "$SMTP" </dev/null
	tap_like "$TAP_STDERR" "give --to ADDRESS" "and says to give --to"
	smoke "$R" 0 "--to another mailbox: exit 0" --to other@example.org
	tap_like "$TAP_STDOUT" "skip delivered +skipped: --to other@example\\.org is not the admin's mailbox" \
		"the Maildir check is skipped for another mailbox, saying why"
	kill "$SRV"
}

case_usage() {
	tap_case "usage"
	R=$(new_root)
	tap_run 2 "--pop3-user with nothing on stdin" "$Q" --root "$R" smoke --pop3-user admin </dev/null
	tap_like "$TAP_STDERR" "reads the password from standard input" "says where the password comes from"
	tap_run 2 "--port 70000" "$Q" --root "$R" smoke --port 70000
	tap_run 2 "--json smoke with an unknown option" "$Q" --json --root "$R" smoke --no-such-option
	tap_json_is failed true "one JSON object, failed true"
	tap_run 2 "a root with no record and no --to" "$Q" --root "$(tap_tmpdir)" smoke
	tap_like "$TAP_STDERR" "provision.json has no mail domain" "says the record has no domain"
}

case_all_pass
case_stopped
case_open_relay
case_no_delivery
case_bad_password
case_json
case_host_alone
case_usage
tap_done
