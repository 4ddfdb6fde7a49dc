#!/bin/bash
# Scenario: CRAM-MD5 for SMTP AUTH. `qinstall mailuser add --cram-md5`
# on a throwaway root stores a CRAM-MD5 secret on a "#cram-md5:" line
# after the user's entry; the built qinstall-checkpassword, given on
# descriptor 3 what qmail-smtpd-auth 0.31 writes (CRAM-MD5:
# login\0challenge\0response\0; LOGIN and PLAIN: login\0password\0\0),
# lets the user in by CRAM-MD5 (RFC 2195's example) and by password;
# passwd keeps, adds or drops the secret; a changed hash makes it stale;
# rollback gives every byte back.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
export TAP_TREE_EXCLUDE=var/lib/qinstall
Q=$QINSTALL
CP=$QINSTALL_CHECKPASSWORD
CHALLENGE='<1896.697170952@postoffice.reston.mci.net>'
DIGEST=b913a602c7eda7a495b4e6e7334d3890	# RFC 2195: tim, tanstaaftanstaaf

# cram_root: R, a root with qmail's accounts, vmail (1001) and its home,
# control/me; P its password file; T a directory for the next program.
cram_root() {
	R=$(tap_tmpdir)
	make_root "$R"
	tap_setup_qinstall "$R" users || return
	echo 'vmail:x:1001:1001::/home/vmail:/usr/sbin/nologin' >>"$R/etc/passwd"
	echo 'vmail:x:1001:' >>"$R/etc/group"
	echo 'vmail:!:19000::::::' >>"$R/etc/shadow"
	mkdir -p "$R/home/vmail" "$R/var/qmail/control"
	chown 1001:1001 "$R/home/vmail"
	echo example.org >"$R/var/qmail/control/me"
	P=$R/var/qmail/users/poppasswd
	T=$(tap_tmpdir)
	chmod 755 "$T"
	printf '#!/bin/sh\necho "$USER $HOME $(id -u)"\n' >"$T/next"
	chmod 755 "$T/next"
	export QINSTALL_POPPASSWD=$P QINSTALL_CHECKPASSWORD_ETC=$R/etc
	export QINSTALL_CHECKPASSWORD_DELAY_MS=0
}

# mu PASSWORD ARGS...: qinstall mailuser ARGS, the password on stdin.
mu() {
	local pw=$1
	shift
	printf '%s\n' "$pw" | "$Q" -q --root "$R" mailuser "$@"
}

# auth FIELD1 FIELD2 FIELD3: the checkpassword program with
# FIELD1\0FIELD2\0FIELD3\0 on descriptor 3, as qmail-smtpd-auth runs it,
# in a mount namespace where ROOT's /home is /home.
auth() {
	printf '%s\0%s\0%s\0' "$1" "$2" "$3" >"$T/in"
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/home" /home &&
		exec "$2" "$3" 3<"$4"' sh "$R" "$CP" "$T/next" "$T/in"
}

case_add_cram() {
	tap_case "add --cram-md5: CRAM-MD5 (RFC 2195's example), PLAIN and LOGIN"
	cram_root || return
	local before
	before=$(tap_tree "$R")
	tap_run 0 "mailuser add --cram-md5 tim" sh -c \
		"printf 'tanstaaftanstaaf\n' | \"\$0\" --json --root \"\$1\" mailuser add --cram-md5 tim" "$Q" "$R"
	tap_json_is cram_md5 true "the result says tim has a CRAM-MD5 secret"
	tap_like "$(sed -n 1p "$P")" '^tim:\$y\$[^:]+:vmail:/home/vmail/tim$' "the entry is the four-field yescrypt line"
	tap_like "$(sed -n 2p "$P")" '^#cram-md5:tim:[0-9a-f]{16}:[0-9a-f]{64}$' "the line after it holds the tag and the secret"
	tap_is "$(wc -l <"$P")" 2 "and nothing else"
	tap_unlike "$(grep -r tanstaaftanstaaf "$R" 2>/dev/null)" . "the password itself is nowhere in ROOT"
	tap_mode_is "$P" 0600 "the password file stays 0600"
	tap_run 0 "CRAM-MD5 with RFC 2195's response" auth tim "$CHALLENGE" "$DIGEST"
	tap_is "$TAP_STDOUT" "tim /home/vmail/tim 1001" "the next program runs as vmail for tim"
	tap_run 0 "the response in upper case hex too" auth tim "$CHALLENGE" "${DIGEST^^}"
	tap_run 1 "a wrong digest is refused" auth tim "$CHALLENGE" b913a602c7eda7a495b4e6e7334d3891
	tap_is "$TAP_STDOUT$TAP_STDERR" "" "silently, and nothing ran"
	tap_run 1 "the right digest for another challenge is refused" auth tim "<1.2@example.org>" "$DIGEST"
	tap_run 1 "a response of 31 hex digits is refused" auth tim "$CHALLENGE" "${DIGEST%?}"
	tap_run 1 "an unknown user by CRAM-MD5 is refused" auth nosuch "$CHALLENGE" "$DIGEST"
	tap_run 0 "PLAIN and LOGIN (login\\0password\\0\\0) still work" auth tim tanstaaftanstaaf ""
	tap_run 1 "a wrong password is refused" auth tim tanstaaf ""
	tap_run 0 "qmail-popup's input still works" auth tim tanstaaftanstaaf "<123.456@example.org>"
	tap_run 0 "list" "$Q" --json --root "$R" mailuser list
	tap_json_is users.0.cram_md5 true "list says tim has CRAM-MD5"
	tap_run 0 "list, as text" "$Q" --root "$R" mailuser list
	tap_like "$TAP_STDOUT" 'tim +yescrypt +vmail +/home/vmail/tim +\+CRAM-MD5' "the text says so"
	tap_run 0 "rollback" "$Q" --root "$R" rollback
	tap_tree_is "$R" "$before" "the tree is as before"
}

case_passwd() {
	tap_case "without --cram-md5 no secret; passwd adds, keeps and drops it"
	cram_root || return
	tap_setup mu tanstaaftanstaaf add tim || return
	tap_is "$(grep -c '^#cram-md5:' "$P")" 0 "add without --cram-md5 stores no secret"
	tap_run 1 "CRAM-MD5 is refused for a user without a secret" auth tim "$CHALLENGE" "$DIGEST"
	tap_is "$TAP_STDOUT$TAP_STDERR" "" "cleanly: nothing said, nothing ran"
	tap_run 0 "PLAIN works" auth tim tanstaaftanstaaf ""
	tap_run 0 "mailuser passwd --cram-md5 tim" mu tanstaaftanstaaf passwd --cram-md5 tim
	tap_run 0 "now CRAM-MD5 works" auth tim "$CHALLENGE" "$DIGEST"
	tap_run 0 "mailuser passwd tim (a new password, no option)" mu new-secret passwd tim
	tap_is "$(grep -c '^#cram-md5:tim:' "$P")" 1 "passwd keeps the user's secret, made again"
	tap_run 1 "the old password's response is refused" auth tim "$CHALLENGE" "$DIGEST"
	local d
	d=$(printf '%s' "$CHALLENGE" | openssl dgst -md5 -hmac new-secret -r | cut -d' ' -f1)
	tap_run 0 "the new password's response works" auth tim "$CHALLENGE" "$d"
	tap_run 0 "mailuser passwd --no-cram-md5 tim" mu new-secret passwd --no-cram-md5 tim
	tap_is "$(grep -c '^#cram-md5:' "$P")" 0 "the secret is gone"
	tap_run 1 "CRAM-MD5 is refused again" auth tim "$CHALLENGE" "$d"
	tap_run 0 "the password still works" auth tim new-secret ""
}

case_stale() {
	tap_case "a secret whose entry's hash changed is stale; del takes it away"
	cram_root || return
	tap_setup mu tanstaaftanstaaf add --cram-md5 tim || return
	tap_setup mu other-pw add --cram-md5 ann || return
	# What a tool that knows nothing of the line does: lock tim in place.
	sed -i 's/^tim:/tim:!/' "$P"
	tap_like "$(sed -n 1p "$P")" '^tim:!\$y\$' "tim's hash is locked by hand"
	tap_run 1 "CRAM-MD5 is refused with the stale secret" auth tim "$CHALLENGE" "$DIGEST"
	# A hash copied from another user: a tag of another hash never matches.
	local annhash
	annhash=$(sed -n 's/^ann:\([^:]*\):.*/\1/p' "$P")
	sed -i "1s/^tim:[^:]*:/tim:$(printf '%s' "$annhash" | sed 's/[\/&]/\\&/g'):/" "$P"
	local d
	d=$(printf '%s' "$CHALLENGE" | openssl dgst -md5 -hmac other-pw -r | cut -d' ' -f1)
	tap_run 0 "tim's password is ann's now" auth tim other-pw ""
	tap_run 1 "but neither tim's old secret" auth tim "$CHALLENGE" "$DIGEST"
	tap_run 1 "nor ann's answers for tim" auth tim "$CHALLENGE" "$d"
	tap_run 0 "ann's CRAM-MD5 works" auth ann "$CHALLENGE" "$d"
	tap_run 0 "mailuser del ann" "$Q" -q --root "$R" mailuser del ann
	tap_is "$(grep -c ':ann:\|^ann:' "$P")" 0 "del removes ann's entry and her secret's line"
}

case_usage() {
	tap_case "the options are refused where they mean nothing"
	cram_root || return
	tap_setup mu pw1 add tim || return
	local before
	before=$(tap_tree "$R")
	tap_run 2 "--cram-md5 with --no-cram-md5" sh -c "printf 'x\n' | \"\$0\" --root \"\$1\" mailuser passwd --cram-md5 --no-cram-md5 tim" "$Q" "$R"
	tap_like "$TAP_STDERR" 'contradict' "it says they contradict"
	tap_run 2 "--cram-md5 with del" "$Q" --root "$R" mailuser del --cram-md5 tim
	tap_run 2 "--no-cram-md5 with add" sh -c "printf 'x\n' | \"\$0\" --root \"\$1\" mailuser add --no-cram-md5 bob" "$Q" "$R"
	tap_tree_is "$R" "$before" "nothing changed"
}

case_add_cram
case_passwd
case_stale
case_usage
tap_done
