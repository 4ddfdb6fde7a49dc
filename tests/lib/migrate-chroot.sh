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
#   config    (--check --diff, the MTA's configuration given a relay host, a
#             network that relays, an alias, for Postfix a size limit and
#             virtual aliases too) the qmail files the conversion gives:
#             smtproutes, a RELAYCLIENT rule, ~alias/.qmail-sales, databytes,
#             virtualdomains and the virtual domain's .qmail files; the
#             diff shows them; nothing is written
#   migrate   queue.found and queue.carried 20, qmail's queue holds the 20
#             messages (sender, recipients, a hash of the body alike), the
#             MTA's package removed (its configuration files kept), the
#             stand-in qinstall-mta installed, bsd-mailx still installed,
#             `dpkg --audit` silent, `apt-get check` passes,
#             /usr/sbin/sendmail is qmail's (and no warning said that the
#             old MTA owns it: that is the run's to take); qmail started in a private
#             network namespace delivers a message sent with bsd-mailx's
#             `mail` to admin's Maildir. For Postfix, whose configuration
#             is config's here too (its maps made with postmap and
#             newaliases): the converted files are installed (smtproutes,
#             databytes, virtualdomains, rcpthosts, the rule in
#             /etc/tcp.smtp, ~alias/.qmail-sales as alias's), a provision
#             --check after it would not take them back, and with qmail up
#             mail to the old alias sales, to the virtual alias
#             info@virt.example and to its catch-all reaches admin's
#             Maildir; 10.1.2.5 (in mynetworks) may relay, 10.9.9.9 not
#   rollback  the MTA's package installed again at its old version, its
#             configuration as it says it (mta_config) as before, the 20
#             messages back in its queue, qinstall-mta gone, the installed
#             packages as before, the tree as before by manifest but for
#             the paths below
#   drain     (--queue drain, on a copy of a second chroot whose 20
#             messages have no line over 998 bytes, which Exim would bounce
#             and Postfix fold) the next hop answers (a host on a veth
#             link: a DNS server and an SMTP server there: dnssrv.py,
#             mailsrv.py) but defers every recipient at nowhere.test: the
#             MTA delivers each other recipient during the drain (what the
#             server got: sender, recipient, body hash), and what is left
#             (the nowhere.test recipients only) is carried; the rollback
#             puts those back
#   return    after a carry, qmail runs with smtproutes sending example.net
#             to an SMTP server: it delivers those recipients of the carried
#             messages, and a message is sent with qmail's sendmail to a
#             domain it cannot reach; the rollback puts back as they were
#             the messages qmail delivered nothing of, lists those it
#             delivered whole, and gives the old MTA, with their envelopes,
#             the others (only their recipients still to do) and the new
#             message: its queue then holds exactly that
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
. "$top_srcdir/tests/lib/migconf.sh"

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
	[ -n "${MIGRATE_WHILE_UP:-}" ] && "$MIGRATE_WHILE_UP" "$dir"
	in_ns chroot "$dir" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	sleep 1
	netns_stop
	[ -n "$f" ] || tap_diag "mail: $(cat "$W/mailx.log")" "$(tail -5 "$dir"/var/log/qmail/current 2>/dev/null)"
	MIGRATE_MAILED=$f
}

# _migrate_smtp SOURCE RCPT [SUBJECT]: one SMTP session in the namespace
# from SOURCE (an address of the namespace's) to qmail-smtpd on SOURCE:25.
# With SUBJECT a message is sent ("accepted" or the refusal); without, the
# session ends after RCPT (its code: nothing is queued).
_migrate_smtp() {
	in_ns "$PYTHON3" - "$@" <<'PY'
import smtplib, sys
src, rcpt = sys.argv[1], sys.argv[2]
subject = sys.argv[3] if len(sys.argv) > 3 else None
try:
    s = smtplib.SMTP(src, 25, source_address=(src, 0), timeout=20)
    if subject is None:
        s.ehlo(); s.mail("tester@example.com")
        print(s.rcpt(rcpt)[0])
        s.rset()
    else:
        s.sendmail("tester@example.com", [rcpt], "From: tester@example.com\r\nTo: %s\r\nSubject: %s\r\n\r\nconverted\r\n" % (rcpt, subject))
        print("accepted")
    s.quit()
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except Exception as e:
    print("error", e)
PY
}

# _migrate_maildir_has DIR SUBJECT: the file in admin's Maildir with that
# Subject (waits up to 20 s), or nothing.
_migrate_maildir_has() {
	local i f=
	for i in $(seq 100); do
		f=$(grep -l "^Subject: $2\$" "$1"/home/admin/Maildir/new/* "$1"/home/admin/Maildir/cur/* 2>/dev/null | head -1)
		[ -n "$f" ] && break
		sleep 0.2
	done
	printf '%s' "$f"
}

# _migrate_converted DIR (MIGRATE_WHILE_UP of case_migrate, Postfix's):
# with qmail up, mail to the old local alias and to the old virtual alias
# domain (a named alias and its catch-all) reaches admin's Maildir; a
# client in mynetworks' 10.1.2.0/24 may relay, one elsewhere (10.9.9.9)
# may not.
_migrate_converted() {
	local dir=$1 s
	in_ns ip addr add 10.1.2.5/32 dev lo && in_ns ip addr add 10.9.9.9/32 dev lo
	tap_ok "qmail-smtpd listens" wait_port 25
	for s in "sales@$MTA_DOMAIN to-sales" "info@virt.example to-virtual" "anyone@virt.example to-catchall"; do
		set -- $s
		tap_is "$(_migrate_smtp 127.0.0.1 "$1" "$2")" accepted "a message to $1 is accepted"
	done
	tap_ok "the old alias sales delivers to admin's Maildir" test -n "$(_migrate_maildir_has "$dir" to-sales)"
	tap_ok "the old virtual alias info@virt.example delivers to admin's Maildir" \
		test -n "$(_migrate_maildir_has "$dir" to-virtual)"
	tap_ok "and the virtual domain's catch-all too" test -n "$(_migrate_maildir_has "$dir" to-catchall)"
	tap_is "$(_migrate_smtp 10.1.2.5 someone@example.net)" 250 "a client in mynetworks (10.1.2.5) may relay (RCPT 250)"
	tap_is "$(_migrate_smtp 10.9.9.9 someone@example.net)" 553 "a client elsewhere (10.9.9.9) may not (553)"
}

# _migrate_config_set DIR: the MTA's configuration in DIR given a relay
# host, a network that may relay, a size limit (Postfix), virtual
# aliases (Postfix) and an alias, each as the MTA's own tools or files
# take it.
_migrate_config_set() {
	local c=$1
	case $MIGRATE_MTA in
	postfix)
		chroot "$c" postconf -e "mynetworks=127.0.0.0/8 10.1.2.0/24" "relayhost=[smtp.example.net]:587" \
			"message_size_limit=10240000" "virtual_alias_domains=virt.example" \
			"virtual_alias_maps=hash:/etc/postfix/virtual" &&
			printf 'info@virt.example admin\n@virt.example admin@mail.example.org\n' \
				>"$c/etc/postfix/virtual" ;;
	exim4)
		sed -i -e "s|^dc_relay_nets=.*|dc_relay_nets='10.1.2.0/24'|" \
			-e "s|^dc_smarthost=.*|dc_smarthost='smtp.example.net::587'|" \
			-e "s|^dc_eximconfig_configtype=.*|dc_eximconfig_configtype='smarthost'|" \
			"$c/etc/exim4/update-exim4.conf.conf" ;;
	sendmail)
		printf 'Connect:10.1.2\tRELAY\n' >>"$c/etc/mail/access" &&
			printf "define(\`SMART_HOST', \`[smtp.example.net]')dnl\n" >>"$c/etc/mail/sendmail.mc" ;;
	esac && printf 'sales: admin\n' >>"$c/etc/aliases"
}

case_config() {
	tap_case "the configuration of $MIGRATE_NAME, converted (--check --diff)"
	local c before relay
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$MIGRATE_QUEUED" "$c" || return
	tap_setup _migrate_config_set "$c" || return
	before=$(TAP_TREE_EXCLUDE='' tap_tree "$c")
	tap_run 0 "migrate --check --diff" _migrate_run "$c" --check --diff
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_json_is config.me "$MTA_DOMAIN" "the old MTA's host name is found ($MTA_DOMAIN)"
	relay=":smtp.example.net:587"
	[ "$MIGRATE_MTA" = sendmail ] && relay=":smtp.example.net"
	tap_is "$(migconf_file control/smtproutes)" "$relay" "the relay host becomes smtproutes $relay"
	tap_like "$(migconf_file tcp.smtp)" '^10\.1\.2\.:allow,RELAYCLIENT=""$' \
		"the network that may relay becomes a RELAYCLIENT rule"
	tap_is "$(migconf_file alias/.qmail-sales)" "&admin" "the alias sales becomes ~alias/.qmail-sales"
	if [ "$MIGRATE_MTA" = postfix ]; then
		tap_is "$(migconf_file control/databytes)" 10240000 "message_size_limit becomes databytes"
		tap_like "$(migconf_file control/virtualdomains)" '^virt\.example:alias-virt\.example$' \
			"the virtual alias domain becomes a virtualdomains line"
		tap_is "$(migconf_file alias/.qmail-virt:example-info)" "&admin@$MTA_DOMAIN" \
			"a virtual alias becomes its .qmail file (a bare name qualified with myorigin)"
		tap_is "$(migconf_file alias/.qmail-virt:example-default)" "&admin@$MTA_DOMAIN" \
			"the domain's catch-all becomes its -default file"
	fi
	tap_like "$(tap_json diff.after)" "/var/backups/qinstall-migrate/converted/control/smtproutes" \
		"--diff shows the files it would write"
	TAP_TREE_EXCLUDE='' tap_tree_is "$c" "$before" "and nothing is written"
}

case_migrate() {
	tap_case "migrate from $MIGRATE_NAME, then rollback"
	local c before conf installed version
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$MIGRATE_QUEUED" "$c" || return
	# Postfix's is the story of the issue: its configuration is converted
	# and installed, then proved by mail (its maps made as postmap and
	# newaliases make them, so that its reinstall has nothing to redo)
	[ "$MIGRATE_MTA" = postfix ] && { tap_setup _migrate_config_set "$c" &&
		tap_setup chroot "$c" postmap /etc/postfix/virtual && tap_setup chroot "$c" newaliases || return; }
	before=$(tap_tree "$c")
	conf=$(mta_config "$c" "$MIGRATE_MTA")
	installed=$(_migrate_installed "$c")
	version=$(chroot "$c" dpkg-query -W -f '${Version}' "$MIGRATE_PKG")

	tap_run 0 "migrate --profile netqmail from $MIGRATE_NAME" _migrate_run "$c"
	# a failed run: the rest would only repeat it
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_unlike "$TAP_STDERR" "owned by another MTA.*left as it is" \
		"no warning that the old MTA owns the sendmail links: taking them is the run's own link step"
	tap_ok "the converted configuration is there for review (converted/REPORT)" \
		test -s "$c/var/backups/qinstall-migrate/converted/REPORT"
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
	if [ "$MIGRATE_MTA" = postfix ]; then
		tap_is "$(cat "$c/var/qmail/control/smtproutes")" ":smtp.example.net:587" \
			"relayhost is installed as control/smtproutes"
		tap_is "$(cat "$c/var/qmail/control/databytes")" 10240000 "message_size_limit as control/databytes"
		tap_like "$(cat "$c/var/qmail/control/virtualdomains")" '^virt\.example:alias-virt\.example$' \
			"the virtual alias domain as control/virtualdomains"
		tap_is "$(head -1 "$c/var/qmail/control/rcpthosts")" "$MTA_DOMAIN" "rcpthosts: the domain first"
		tap_is "$(grep -cx "$MTA_DOMAIN" "$c/var/qmail/control/rcpthosts")" 1 \
			"once (mydestination's $MTA_DOMAIN is not repeated)"
		tap_ok "and the virtual domain among the rest" grep -qx 'virt\.example' "$c/var/qmail/control/rcpthosts"
		tap_is "$(grep -v '^#' "$c/etc/tcp.smtp")" "$(printf '%s\n' '127.:allow,RELAYCLIENT=""' \
			'10.1.2.:allow,RELAYCLIENT=""' '127.0.0.1:allow,RELAYCLIENT=""' ':allow')" \
			"/etc/tcp.smtp: mynetworks' rules, then the profile's"
		tap_is "$(chroot "$c" stat -c '%U:%G %a' /var/qmail/alias/.qmail-sales)" "alias:nofiles 644" \
			"~alias/.qmail-sales is alias's, as qmail's alias files are"
		tap_run 0 "provision --check after the migrate" "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" \
			--json provision --profile netqmail --domain "$MTA_DOMAIN" --admin admin --mirror "file://$DISTFILES" --check
		tap_unlike "$(tap_json plan.#.path)" 'smtproutes|virtualdomains|tcp\.smtp"|qmail-sales|rcpthosts' \
			"a later provision keeps the converted files (its provision record has them)"
		tap_run 0 "provision --check --diff for another domain" "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" \
			--json provision --profile netqmail --domain mail.other.test --admin admin --mirror "file://$DISTFILES" \
			--check --diff
		tap_is "$(migconf_diff /var/qmail/control/defaultdomain)" other.test \
			"there the old configuration's defaultdomain gives way to the new domain's"
		tap_unlike "$(tap_json plan.#.path)" 'smtproutes|virtualdomains|tcp\.smtp"|qmail-sales' \
			"and the other converted files stay"
	fi
	MIGRATE_WHILE_UP=
	[ "$MIGRATE_MTA" = postfix ] && MIGRATE_WHILE_UP=_migrate_converted
	_migrate_mail "$c" "migrate-$MIGRATE_MTA"
	MIGRATE_WHILE_UP=
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

# _migrate_filter REF KEEP|DROP DOMAIN: REF's lines with only the
# recipients at DOMAIN (KEEP) or only the others (DROP); a line left with
# none goes.
_migrate_filter() {
	printf '%s\n' "$1" | awk -F '\t' -v mode="$2" -v dom="@$3" 'BEGIN { OFS = "\t" }
	NF == 3 { n = split($2, r, ","); out = ""
		for (i = 1; i <= n; i++) {
			at = substr(r[i], length(r[i]) - length(dom) + 1) == dom
			if ((mode == "KEEP") == at) out = out (out == "" ? "" : ",") r[i]
		}
		if (out != "") print $1, out, $3 }' | LC_ALL=C sort
}
# _migrate_pairs REF [DOMAIN]: one line per recipient not at DOMAIN:
# SENDER<TAB>RECIPIENT<TAB>HASH, sorted (as mailsrv.py's FILE.env).
_migrate_pairs() {
	printf '%s\n' "$1" | awk -F '\t' -v dom="@${2:-none.invalid}" 'BEGIN { OFS = "\t" }
	NF == 3 { n = split($2, r, ",")
		for (i = 1; i <= n; i++)
			if (substr(r[i], length(r[i]) - length(dom) + 1) != dom) print $1, r[i], $3 }' | LC_ALL=C sort
}

# _migrate_hop: the unreachable next hop becomes another host (after
# netns_start): a peer namespace on a veth link (192.0.2.2 here, the hop
# $MTA_HOP there: not an address of the MTA's own, which would be a loop
# to it), a DNS server there that gives every recipient's domain an MX
# there, an SMTP server there on port 25 that defers nowhere.test (its
# FILE.env: $W/hop.env).
_migrate_hop() {
	local d mx=()
	netns_peer 192.0.2.2 "$MTA_HOP" || return 1
	for d in $MTA_FAR_DOMAINS sub.example.net example.org; do mx+=(--mx "$d=1@$MTA_HOP"); done
	rm -f "$W/dns.ready" "$W/hop" "$W/hop.env"
	in_peer "$PYTHON3" "$top_srcdir/tests/lib/dnssrv.py" --listen "$MTA_HOP" --ready "$W/dns.ready" \
		"${mx[@]}" >"$W/dns.log" 2>&1 &
	in_peer "$PYTHON3" "$top_srcdir/tests/lib/mailsrv.py" --maildir "$W/hop.maildir" --port-file "$W/hop" \
		--listen "$MTA_HOP" --smtp-port 25 --open-relay --defer-domain nowhere.test >"$W/hop.log" 2>&1 &
	local i
	for i in $(seq 100); do [ -f "$W/dns.ready" ] && [ -f "$W/hop" ] && return 0; sleep 0.1; done
	tap_diag "the next hop's servers do not start" "$(tail -3 "$W/dns.log" "$W/hop.log")"
	return 1
}

case_drain() {
	tap_case "migrate --queue drain from $MIGRATE_NAME"
	local c ref left
	c=$(tap_tmpdir)/root
	mta_chroot "$c" "$MIGRATE_MTA" && mta_queue "$c" "$MIGRATE_MTA" 20 short || { tap_setup false; return; }
	ref=$(mta_queue_ref "$c" "$MIGRATE_MTA")
	tap_is "$(printf '%s\n' "$ref" | grep -c .)" 20 "20 messages (no line over 998 bytes) in its queue" || return
	netns_start && _migrate_hop || { tap_setup false; netns_stop; return; }
	tap_run 0 "migrate --queue drain --drain-timeout 20 (in the namespace)" \
		in_ns "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" --json migrate --profile netqmail \
		--domain "$MTA_DOMAIN" --admin admin --mirror "file://$DISTFILES" --queue drain --drain-timeout 20
	netns_stop
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_json_has steps.#.step drain "the drain is one of its steps"
	left=$(_migrate_filter "$ref" KEEP nowhere.test)
	tap_is "$(LC_ALL=C sort "$W/hop.env" 2>/dev/null)" "$(_migrate_pairs "$ref" nowhere.test)" \
		"the next hop got every recipient but those at nowhere.test, each once, with its sender and body"
	tap_json_is queue.carried "$(printf '%s\n' "$left" | grep -c .)" \
		"queue.carried: the messages with a recipient at nowhere.test"
	tap_is "$(qmail_queue_ref "$c")" "$left" \
		"qmail's queue holds what the drain left: those messages, their nowhere.test recipients only"
	tap_run 0 "rollback" "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback
	tap_is "$(mta_queue_ref "$c" "$MIGRATE_MTA")" "$left" "the rollback puts what was carried back in its queue"
	tap_is "$(_migrate_status "$c" "$MIGRATE_PKG")" "install ok installed" "$MIGRATE_PKG is installed again"
}

case_return() {
	tap_case "rollback gives $MIGRATE_NAME what qmail had not delivered"
	local c i port want kept some partial whole
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$MIGRATE_QUEUED" "$c" || return
	tap_run 0 "migrate" _migrate_run "$c"
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	netns_start || { tap_setup false; return; }
	rm -f "$W/r" "$W/r.env"
	in_ns "$PYTHON3" "$top_srcdir/tests/lib/mailsrv.py" --maildir "$W/r.maildir" --port-file "$W/r" \
		--open-relay >"$W/r.log" 2>&1 &
	for i in $(seq 100); do [ -f "$W/r" ] && break; sleep 0.1; done
	port=$(cut -d' ' -f1 "$W/r")
	echo "example.net:127.0.0.1:$port" >"$c/var/qmail/control/smtproutes"
	in_ns setsid chroot "$c" /usr/local/bin/svscan /etc/service </dev/null >"$W/svscan.log" 2>&1 &
	for i in $(seq 100); do _mta_running qmail-send && break; sleep 0.2; done
	printf 'From: admin@%s\nSubject: sent while qmail ran\n\nto a domain qmail cannot reach\n' "$MTA_DOMAIN" \
		>"$W/new.msg"
	_mta_in "$c" /var/qmail/bin/sendmail -f "admin@$MTA_DOMAIN" new@far.example <"$W/new.msg"
	want=$(_migrate_pairs "$(_migrate_filter "$MIGRATE_REF" KEEP example.net)")
	for i in $(seq 150); do
		[ "$(LC_ALL=C sort "$W/r.env" 2>/dev/null)" = "$want" ] && break
		sleep 0.2
	done
	in_ns chroot "$c" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	for i in $(seq 50); do _mta_running qmail-send || break; sleep 0.2; done
	netns_stop
	rm -f "$c/var/qmail/control/smtproutes"
	tap_is "$(LC_ALL=C sort "$W/r.env" 2>/dev/null)" "$want" \
		"qmail delivered the carried messages' example.net recipients"
	tap_run 0 "rollback" "$QINSTALL" --root "$c" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback
	# of the 20: none at example.net (returned as they were), some (the
	# rest given again), all (delivered whole)
	kept=$(printf '%s\n' "$MIGRATE_REF" | grep -vc '@example\.net')
	some=$(_migrate_filter "$MIGRATE_REF" DROP example.net | grep -c .)
	partial=$((some - kept)) whole=$((20 - some))
	tap_json_is queue_returned.returned "$kept" \
		"queue_returned.returned: the messages qmail delivered nothing of ($kept)"
	tap_json_is queue_returned.reinjected.# $((partial + 1)) \
		"queue_returned.reinjected: those it delivered in part ($partial) and the new one"
	tap_json_is queue_returned.delivered.# "$whole" \
		"queue_returned.delivered: those it delivered to every recipient ($whole)"
	tap_is "$(mta_queue_ref "$c" "$MIGRATE_MTA")" \
		"$( { _migrate_filter "$MIGRATE_REF" DROP example.net; _mta_line "admin@$MTA_DOMAIN" new@far.example message <"$W/new.msg"; } | LC_ALL=C sort)" \
		"$MIGRATE_NAME's queue holds every recipient qmail had not delivered, each once, with its sender and body"
	tap_is "$(find "$c/var/spool/qinstall-carried/returning" -mindepth 1 2>/dev/null)" "" \
		"nothing is left waiting to be given back"
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
	case_config
	case_migrate
	case_drain
	case_return
	tap_done
}
