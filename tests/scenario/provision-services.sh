#!/bin/bash
# Scenario: qmail's services under daemontools ([services] qmail = yes of
# the netqmail profile), provisioned into throwaway roots from the shared
# distfiles folder: qmail-send, qmail-smtpd and qmail-pop3d as Life with
# qmail lays them out (/var/qmail/supervise/NAME with run and log/run,
# linked into /etc/service), their run scripts with the root's numeric
# ids, softlimit's memory and the ports; the log directories qmaill's; the
# SMTP relay rules in /etc/tcp.smtp and the cdb compiled from them, asked
# with the installed tcprulescheck; a second run changes nothing; plan
# lists every file; an open relay and a rule tcprules cannot read are
# usage errors with the root untouched; pop3 = no makes no pop3 service;
# a network added in the profile; control/concurrencyincoming; rollback
# gives the root back.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail"
distfiles_mirror $DISTFILES_NETQMAIL ||
	tap_skip_all "cannot start the loopback HTTP server"
MIRROR=(${DISTFILES_URL:+--mirror "$DISTFILES_URL"})
PLAN_ARGS=(--domain mail.example.org --admin admin)
ARGS=("${PLAN_ARGS[@]}" "${MIRROR[@]}")

export QINSTALL_CACHE_DIR=$(tap_tmpdir)
TAP_TREE_EXCLUDE=var/lib/qinstall
SUP=/var/qmail/supervise

# qmail_root (users-fixture.sh): a root with a user admin.
new_root() {
	R=$(tap_tmpdir)
	qmail_root "$R"
	before=$(tap_tree "$R")
}
WARM=$(tap_tmpdir)
qmail_root "$WARM"
if ! "$QINSTALL" -q --root "$WARM" provision "${ARGS[@]}" >"$WARM.out" 2>&1; then
	if [ -z "$DISTFILES_URL" ] && grep -q "cannot fetch\|could not\|resolve" "$WARM.out"; then
		tap_skip_all "the qmail sources are neither in a distfiles folder nor reachable upstream"
	fi
fi

id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$R/etc/$1"; }
# rules_check IP: what the root's tcprulescheck says of the root's cdb.
rules_check() { TCPREMOTEIP=$1 "$R/usr/local/bin/tcprulescheck" "$R/etc/tcp.smtp.cdb" 2>&1; }

case_services() {
	tap_case "the services of the netqmail profile"
	new_root
	tap_run 0 "provision netqmail" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is qmail_services.services.#.name '["qmail-send", "qmail-smtpd", "qmail-pop3d"]' "three services"
	local qmaild nofiles qmaill s
	qmaild=$(id_of passwd qmaild) nofiles=$(id_of group nofiles) qmaill=$(id_of passwd qmaill)
	tap_ok "the root has qmaild, qmaill and nofiles" test -n "$qmaild" -a -n "$nofiles" -a -n "$qmaill"

	s=$(cat "$R$SUP/qmail-smtpd/run")
	tap_like "$s" 'exec /usr/local/bin/softlimit -m 12000000 ' "smtpd runs under softlimit -m 12000000"
	tap_like "$s" "/usr/local/bin/tcpserver -v -R -l 0 -x /etc/tcp.smtp.cdb -c 20 " "tcpserver with the rules' cdb and -c 20"
	tap_like "$s" "-u $qmaild -g $nofiles 0 25 /var/qmail/bin/qmail-smtpd 2>&1" "as qmaild:nofiles by number, on 0 port 25"
	tap_like "$s" 'CVE-2005-1513' "its comment says why the memory is limited"
	s=$(cat "$R$SUP/qmail-send/run")
	tap_like "$s" 'exec /var/qmail/rc 2>&1' "send runs /var/qmail/rc"
	tap_like "$(cat "$R/var/qmail/rc")" 'qmail-start "\$\(cat /var/qmail/control/defaultdelivery\)"' \
		"which starts qmail-start with control/defaultdelivery"
	tap_is "$(cat "$R/var/qmail/control/defaultdelivery")" "./Maildir/" "the default delivery is ./Maildir/"
	s=$(cat "$R$SUP/qmail-pop3d/run")
	tap_like "$s" "tcpserver -v -R -H -l 0 0 110 /var/qmail/bin/qmail-popup mail.example.org" "pop3d listens on 110 with the domain"
	tap_like "$s" "/usr/local/bin/qinstall-checkpassword /var/qmail/bin/qmail-pop3d Maildir 2>&1" "with checkpassword and qmail-pop3d on Maildir"
	for s in qmail-send qmail-smtpd qmail-pop3d; do
		tap_mode_is "$R$SUP/$s" 1755 "$s: its directory is sticky 01755"
		tap_mode_is "$R$SUP/$s/run" 0755 "$s: run is 0755"
		tap_mode_is "$R$SUP/$s/log/run" 0755 "$s: log/run is 0755"
		tap_ok "$s: run and log/run are sh scripts" sh -n "$R$SUP/$s/run" "$R$SUP/$s/log/run"
		tap_like "$(cat "$R$SUP/$s/log/run")" "exec /usr/local/bin/setuidgid qmaill /usr/local/bin/multilog t /var/log/qmail/$s 2>&1" \
			"$s: multilog as qmaill into /var/log/qmail/$s"
		tap_type_is "$R/var/log/qmail/$s" dir "$s: its log directory is there"
		tap_owner_is "$R/var/log/qmail/$s" "$qmaill:$nofiles" "$s: and qmaill's"
		tap_is "$(readlink "$R/etc/service/$s")" "$SUP/$s" "$s: linked as /etc/service/$s"
	done

	tap_is "$(grep -v '^#' "$R/etc/tcp.smtp")" "$(printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow')" \
		"tcp.smtp holds the guide's two rules"
	tap_like "$(rules_check 127.0.0.1)" 'set environment variable RELAYCLIENT=' "127.0.0.1 may relay"
	s=$(rules_check 10.1.2.3)
	tap_like "$s" 'allow connection' "10.1.2.3 may connect"
	tap_unlike "$s" 'RELAYCLIENT' "but not relay"

	tap_run 0 "status" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'services +qmail-send qmail-smtpd qmail-pop3d \(in /etc/service\)' "status lists the services"
	tap_run 0 "provision again" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is changed false "a second provision changes nothing"
	local none
	none=$(tap_tmpdir)/none
	tap_run 0 "plan with an empty cache" "$QINSTALL" --root "$R" --cache-dir "$none" --json plan "${PLAN_ARGS[@]}"
	tap_unlike "$(tap_json plan.#.path)" 'tcp\.smtp' "the rules, compiled by the root's tcprules, are the same: not in the plan"
	tap_type_is "$none" none "and no cache was made for them"

	echo 7 >"$R/var/qmail/control/concurrencyincoming"
	tap_run 0 "provision with a control/concurrencyincoming of 7" "$QINSTALL" --root "$R" --json provision "${ARGS[@]}"
	tap_json_is changed true "it changed the run script"
	tap_like "$(cat "$R$SUP/qmail-smtpd/run")" ' -c 7 ' "tcpserver gets -c 7"

	rm "$R/var/qmail/control/concurrencyincoming"
	tap_run 0 "rollback every run" "$QINSTALL" --root "$R" rollback 1
	tap_tree_is "$R" "$before" "the root is as it was: services, logs, links, rules and cdb gone"
}

case_plan() {
	tap_case "plan lists the services"
	new_root
	tap_run 0 "plan" "$QINSTALL" --root "$R" --json plan "${PLAN_ARGS[@]}"
	local f
	for f in "$SUP/qmail-send/run" "$SUP/qmail-send/log/run" "$SUP/qmail-smtpd/run" "$SUP/qmail-smtpd/log/run" \
		"$SUP/qmail-pop3d/run" "$SUP/qmail-pop3d/log/run" /var/log/qmail/qmail-smtpd /etc/service/qmail-smtpd \
		/etc/service/qmail-send /etc/service/qmail-pop3d /etc/tcp.smtp /etc/tcp.smtp.cdb; do
		tap_json_has plan.#.path "$f" "the plan lists $f"
	done
	tap_tree_is "$R" "$before" "plan writes nothing"
}

case_refused() {
	tap_case "an open relay and a bad rule are refused"
	new_root
	local P
	P=$(tap_tmpdir)/open.profile
	printf '[profile]\ninclude = netqmail\n[services]\nsmtp_rule = :allow,RELAYCLIENT=""\n' >"$P"
	tap_run 2 "a rule letting everyone relay" "$QINSTALL" --root "$R" provision -p "$P" "${ARGS[@]}"
	tap_like "$TAP_STDERR" "open\.profile:4: smtp_rule = :allow,RELAYCLIENT=\"\" sets RELAYCLIENT for every client" \
		"the error names the profile's line and the rule"
	tap_like "$TAP_STDERR" 'open relay.*allow_open_relay = yes' "and says why and what would allow it"
	tap_tree_is "$R" "$before" "the root is untouched"
	printf '[profile]\ninclude = netqmail\n[services]\nsmtp_rule = =:allow,RELAYCLIENT=""\n' >"$P"
	tap_run 2 "=, every host with a name, is everyone too" "$QINSTALL" --root "$R" plan -p "$P" "${PLAN_ARGS[@]}"
	printf '[profile]\ninclude = netqmail\n[services]\nsmtp_rule = :allow,RELAYCLIENT=""\nallow_open_relay = yes\n' >"$P"
	tap_run 0 "allowed with allow_open_relay = yes" "$QINSTALL" --root "$R" plan -p "$P" "${PLAN_ARGS[@]}"

	printf '[profile]\ninclude = netqmail\n[services]\nsmtp_rule = 10.0.0.1:permit\n' >"$P"
	tap_run 2 "a rule tcprules cannot read" "$QINSTALL" --root "$R" provision -p "$P" "${ARGS[@]}"
	tap_like "$TAP_STDERR" "open\.profile:4: bad value for 'smtp_rule'.*ADDRESS:allow or ADDRESS:deny" \
		"the error names the profile's line and the syntax"
	printf '[profile]\ninclude = netqmail\n[services]\nsmtp_rule = 10.0.0.1:allow,RELAYCLIENT="x\n' >"$P"
	tap_run 2 "a value without its closing quote" "$QINSTALL" --root "$R" provision -p "$P" "${ARGS[@]}"
	tap_tree_is "$R" "$before" "the root is still untouched"
}

case_options() {
	tap_case "pop3 = no, another port, another network"
	new_root
	local P
	P=$(tap_tmpdir)/lan.profile
	printf '[profile]\ninclude = netqmail\n[services]\npop3 = no\nsmtpd_port = 2525\nsmtpd_address = 127.0.0.1\nsmtpd_memory = 30000000\nsmtp_rule = 192.168.1.:allow,RELAYCLIENT=""\n' >"$P"
	tap_run 0 "provision with the profile" "$QINSTALL" --root "$R" --json provision -p "$P" "${ARGS[@]}"
	tap_type_is "$R$SUP/qmail-pop3d" none "no pop3 service directory"
	tap_type_is "$R/etc/service/qmail-pop3d" none "no pop3 link"
	tap_type_is "$R/var/log/qmail/qmail-pop3d" none "no pop3 log"
	tap_like "$(cat "$R$SUP/qmail-smtpd/run")" ' 127\.0\.0\.1 2525 /var/qmail/bin/qmail-smtpd' "smtpd listens on 127.0.0.1 port 2525"
	tap_like "$(cat "$R$SUP/qmail-smtpd/run")" 'softlimit -m 30000000 ' "with the profile's memory limit"
	tap_like "$(rules_check 192.168.1.20)" 'RELAYCLIENT=' "the added network may relay"
	tap_like "$(rules_check 127.0.0.1)" 'RELAYCLIENT=' "localhost still may"
	tap_unlike "$(rules_check 10.1.2.3)" 'RELAYCLIENT' "others may not"
	tap_run 0 "rollback" "$QINSTALL" --root "$R" rollback 1
	tap_tree_is "$R" "$before" "the root is as it was"
}

case_services
case_plan
case_refused
case_options
tap_done
