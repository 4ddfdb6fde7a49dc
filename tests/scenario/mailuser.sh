#!/bin/bash
# Scenario: `qinstall mailuser` against throwaway roots (make_root, then
# `qinstall users`, a vmail owner and control/me): add makes the hash, the
# Maildir and qmail's assign and cdb; passwd, del (the mailbox kept, or
# removed with --remove-mailbox), list and import; rollback gives every
# byte back; bad input changes nothing. Then the installed
# qinstall-checkpassword run the way qmail-popup runs it, and users/cdb
# against qmail-newu's own (when the shared distfiles have netqmail).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
export TAP_TREE_EXCLUDE=var/lib/qinstall
Q=$QINSTALL

# mail_root: R, a root with qmail's accounts, the user vmail (1001) with
# its home, a system user carol (1005), and control/me; BEFORE its tree.
mail_root() {
	R=$(tap_tmpdir)
	make_root "$R"
	tap_setup_qinstall "$R" users || return
	echo 'vmail:x:1001:1001::/home/vmail:/usr/sbin/nologin' >>"$R/etc/passwd"
	echo 'carol:x:1005:1005::/home/carol:/bin/sh' >>"$R/etc/passwd"
	echo 'lowu:x:999:999::/home/lowu:/bin/sh' >>"$R/etc/passwd"
	echo 'nohome:x:1006:1006::/home/nohome:/bin/sh' >>"$R/etc/passwd"
	printf 'vmail:x:1001:\ncarol:x:1005:\n' >>"$R/etc/group"
	printf 'vmail:!:19000::::::\ncarol:$6$salt$hash:19000::::::\n' >>"$R/etc/shadow"
	mkdir -p "$R/home/vmail" "$R/home/carol" "$R/home/lowu" "$R/var/qmail/control"
	chown 1001:1001 "$R/home/vmail"
	chown 1005:1005 "$R/home/carol"
	echo example.org >"$R/var/qmail/control/me"
	BEFORE=$(tap_tree "$R")
}

# add NAME PASSWORD [OPTION...]: mailuser add, the password on stdin.
add() {
	local name=$1 pw=$2
	shift 2
	printf '%s\n' "$pw" | "$Q" -q --root "$R" mailuser add "$@" "$name"
}

case_add() {
	tap_case "add"
	mail_root || return
	tap_run 0 "mailuser add alice (password on stdin)" sh -c \
		"printf 'Secret-1\n' | \"\$0\" --json --root \"\$1\" mailuser add alice" "$Q" "$R"
	tap_json_is changed true "it changed ROOT"
	tap_json_is maildir /home/vmail/alice/Maildir "the result names the Maildir"
	tap_json_has addresses alice@example.org "qmail delivers alice@example.org"
	tap_json_has addresses alice-EXT@example.org "and alice-EXT@example.org"
	local P=$R/var/qmail/users/poppasswd
	tap_like "$(cat "$P")" '^alice:\$y\$[^:]+:vmail:/home/vmail/alice$' "one poppasswd line with a yescrypt hash"
	tap_mode_is "$P" 0600 "the password file is 0600"
	tap_owner_is "$P" 0:0 "and root's"
	tap_unlike "$(grep -r Secret-1 "$R" 2>/dev/null)" . "the password itself is nowhere in ROOT"
	local d
	for d in Maildir Maildir/tmp Maildir/new Maildir/cur; do
		tap_mode_is "$R/home/vmail/alice/$d" 0700 "$d is 0700"
		tap_owner_is "$R/home/vmail/alice/$d" 1001:1001 "$d belongs to vmail"
	done
	tap_is "$(cat "$R/home/vmail/alice/.qmail")" "./Maildir/" ".qmail delivers to the Maildir"
	tap_is "$(cat "$R/home/vmail/alice/.qmail-default")" "./Maildir/" "so does .qmail-default (alice-EXT)"
	tap_is "$(cat "$R/var/qmail/users/assign")" "=alice:vmail:1001:1001:/home/vmail/alice:::
+alice-:vmail:1001:1001:/home/vmail/alice:-::
." "users/assign has alice and alice-"
	tap_ok "users/cdb is compiled" test -s "$R/var/qmail/users/cdb"
	tap_run 0 "list" "$Q" --json --root "$R" mailuser list
	tap_json_is users.#.name '["alice"]' "list shows alice"
	tap_json_is users.0.password yescrypt "with a yescrypt password"
	tap_run 0 "list, as text" "$Q" --root "$R" mailuser list
	tap_like "$TAP_STDOUT" 'alice +yescrypt +vmail +/home/vmail/alice' "the text lists alice"
	tap_run 0 "rollback" "$Q" --root "$R" rollback
	tap_tree_is "$R" "$BEFORE" "rollback gives ROOT back as it was"
}

case_add_keeps_lines() {
	tap_case "add keeps the other lines of the files"
	mail_root || return
	mkdir -p "$R/var/qmail/users"
	printf '# mine\nbob:$6$x$y:vmail:/home/vmail/bob\r\nodd line\n' >"$R/var/qmail/users/poppasswd"
	chmod 600 "$R/var/qmail/users/poppasswd"
	printf '=other:u:7:7:/o:::\n.\n' >"$R/var/qmail/users/assign"
	add alice pw || { tap_is fail ok "add"; return; }
	tap_is "$(head -3 "$R/var/qmail/users/poppasswd" | od -c | md5sum)" \
		"$(printf '# mine\nbob:$6$x$y:vmail:/home/vmail/bob\r\nodd line\n' | od -c | md5sum)" \
		"every byte of the other lines is kept"
	tap_is "$(head -1 "$R/var/qmail/users/assign")" "=other:u:7:7:/o:::" "assign keeps its own line"
}

case_passwd_and_popup() {
	tap_case "passwd, and checkpassword the way qmail-popup runs it"
	mail_root || return
	add alice old-pw || { tap_is fail ok "add"; return; }
	local T
	T=$(tap_tmpdir)
	if ! make -s -C "$top_builddir" install-binPROGRAMS DESTDIR="$T" >"$T/install.log" 2>&1; then
		tap_skip "the installed program" "make install-binPROGRAMS failed: $(tail -1 "$T/install.log")"
		return
	fi
	chmod 755 "$T"
	local CP
	CP=$(find "$T" -name qinstall-checkpassword -type f)
	tap_ok "make install puts qinstall-checkpassword into \$(bindir)" test -x "$CP"
	printf '#!/bin/sh\necho "$USER $HOME $(id -u) $(pwd)"\n' >"$T/next"
	chmod 755 "$T/next"
	# popup LOGIN PASSWORD: the login on descriptor 3 as qmail-popup
	# writes it, in a mount namespace where ROOT's /home is /home.
	popup() {
		printf '%s\0%s\0<123.456@example.org>\0' "$1" "$2" >"$T/in"
		unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/home" /home &&
			exec "$2" "$3" 3<"$4"' sh "$R" "$CP" "$T/next" "$T/in"
	}
	export QINSTALL_POPPASSWD=$R/var/qmail/users/poppasswd QINSTALL_CHECKPASSWORD_ETC=$R/etc
	export QINSTALL_CHECKPASSWORD_DELAY_MS=0
	tap_run 0 "alice logs in with her yescrypt password" popup alice old-pw
	tap_is "$TAP_STDOUT" "alice /home/vmail/alice 1001 /home/vmail/alice" \
		"the next program runs as vmail with USER and HOME, in HOME"
	tap_run 0 "mailuser passwd alice" sh -c "printf 'new-pw\n' | \"\$0\" --root \"\$1\" mailuser passwd alice" "$Q" "$R"
	tap_run 1 "the old password is refused" popup alice old-pw
	tap_is "$TAP_STDOUT" "" "and nothing ran"
	tap_run 0 "the new one works" popup alice new-pw
	tap_run 1 "an unknown user is refused" popup nosuch new-pw
	# yescrypt needs about 16 MiB: under a tighter memory limit (as a
	# service's softlimit -m) the check is a temporary failure, never
	# "wrong password".
	if ldd "$CP" 2>/dev/null | grep -q libasan; then
		tap_skip "a memory limit is temporary trouble" "a sanitizer build cannot run under a small address-space limit"
	else
		printf '%s\0%s\0<123.456@example.org>\0' alice new-pw >"$T/in"
		tap_run 111 "under a 12 MB memory limit the right password is temporary trouble (111)" \
			unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/home" /home &&
				exec prlimit --as=12000000 "$2" "$3" 3<"$4"' sh "$R" "$CP" "$T/next" "$T/in"
		tap_like "$TAP_STDERR" 'out of memory checking the password of alice' "and it says why"
		# softlimit -m sets the soft limit only: the program raises its
		# own for the hash, and the next one runs under the 12 MB again.
		tap_run 0 "under a soft 12 MB limit (softlimit's) the right password works" \
			unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1/home" /home &&
				exec prlimit --as=12000000:unlimited "$2" sh -c "ulimit -v; exec \"\$0\"" "$3" 3<"$4"' \
				sh "$R" "$CP" "$T/next" "$T/in"
		tap_like "$TAP_STDOUT" '^11718' "and the next program runs under the soft limit again (11718 KiB)"
	fi
	tap_run 0 "rollback of passwd" "$Q" --root "$R" rollback
	tap_run 0 "the old password works again" popup alice old-pw
	unset QINSTALL_POPPASSWD QINSTALL_CHECKPASSWORD_ETC QINSTALL_CHECKPASSWORD_DELAY_MS
}

case_del() {
	tap_case "del keeps the mailbox; --remove-mailbox removes it, rollback gives it back"
	mail_root || return
	add alice pw && add bob pw || { tap_is fail ok "add"; return; }
	echo 'a message' >"$R/home/vmail/alice/Maildir/new/1.msg"
	tap_run 0 "del alice" "$Q" --root "$R" mailuser del alice
	tap_like "$TAP_STDOUT" 'mailbox stays at /home/vmail/alice/Maildir' "it says where the mailbox is"
	tap_unlike "$(cat "$R/var/qmail/users/poppasswd")" '^alice:' "alice is out of the password file"
	tap_unlike "$(cat "$R/var/qmail/users/assign")" 'alice' "and out of assign"
	tap_like "$(cat "$R/var/qmail/users/assign")" '^=bob:' "bob stays"
	tap_is "$(cat "$R/home/vmail/alice/Maildir/new/1.msg")" "a message" "the mail is kept"
	tap_run 0 "del bob --remove-mailbox" "$Q" --root "$R" mailuser del --remove-mailbox bob
	tap_type_is "$R/home/vmail/bob" none "bob's mail home is gone"
	local mid
	mid=$(tap_tree "$R")
	tap_run 0 "rollback of the second del" "$Q" --root "$R" rollback
	tap_type_is "$R/home/vmail/bob/Maildir/new" dir "bob's Maildir is back"
	tap_like "$(cat "$R/var/qmail/users/poppasswd")" '^bob:' "and bob's line"
	tap_run 2 "del of an unknown user" "$Q" --root "$R" mailuser del nosuch
	tap_like "$TAP_STDERR" 'nosuch is not a mail user' "the error says so"
	tap_run 2 "passwd of an unknown user" sh -c "echo x | \"\$0\" --root \"\$1\" mailuser passwd alice" "$Q" "$R"
	tap_like "$TAP_STDERR" 'alice is not a mail user' "passwd says so"
}

case_import() {
	tap_case "import"
	mail_root || return
	tap_run 0 "import" "$Q" --json --root "$R" mailuser import
	tap_json_is imported '["carol"]' "carol (uid 1005, a home) is imported"
	tap_json_has skipped.#.name nohome "nohome (no home directory) is skipped"
	tap_json_has skipped.#.name vmail "vmail (a locked password) is skipped"
	tap_is "$(grep -c lowu "$R/var/qmail/users/poppasswd")" 0 "lowu (uid 999) is not imported"
	tap_is "$(cat "$R/var/qmail/users/poppasswd")" "carol:system:carol:/home/carol" \
		"carol's entry takes her system password"
	tap_owner_is "$R/home/carol/Maildir/new" 1005:1005 "carol gets a Maildir of her own"
	tap_run 0 "import again" "$Q" --json --root "$R" mailuser import
	tap_json_is changed false "changes nothing"
	tap_run 2 "passwd of an imported user" sh -c "echo x | \"\$0\" --root \"\$1\" mailuser passwd carol" "$Q" "$R"
	tap_like "$TAP_STDERR" 'passwd\(1\)' "says to use passwd(1)"
	tap_run 0 "rollback" "$Q" --root "$R" rollback
	tap_tree_is "$R" "$BEFORE" "rollback undoes the import"
}

case_bad_input() {
	tap_case "bad input changes nothing"
	mail_root || return
	local name
	for name in 'a/b' 'a:b' "$(printf 'a\nb')" 'Alice'; do
		tap_run 2 "add of '$name' is refused" sh -c "echo pw | \"\$0\" --root \"\$1\" mailuser add \"\$2\"" "$Q" "$R" "$name"
		tap_like "$TAP_STDERR" "is refused: it (holds|starts)" "the error names the rule"
	done
	tap_run 2 "an empty password" sh -c "printf '\n' | \"\$0\" --root \"\$1\" mailuser add alice" "$Q" "$R"
	tap_run 2 "an owner that is not there" sh -c "echo pw | \"\$0\" --root \"\$1\" mailuser add --owner nosuch alice" "$Q" "$R"
	tap_like "$TAP_STDERR" 'no user nosuch' "the error names the owner"
	tap_run 2 "an owner below the minimum uid" sh -c "echo pw | \"\$0\" --root \"\$1\" mailuser add --owner daemon alice" "$Q" "$R"
	tap_like "$TAP_STDERR" 'below 1000' "the error says why"
	mkdir -p "$R/var/qmail/users/poppasswd"
	tap_run 2 "a password file that is a directory" sh -c "echo pw | \"\$0\" --root \"\$1\" mailuser add alice" "$Q" "$R"
	tap_like "$TAP_STDERR" 'is a directory, not a regular file' "the error says what it is"
	rmdir "$R/var/qmail/users/poppasswd" "$R/var/qmail/users"
	tap_tree_is "$R" "$BEFORE" "nothing was changed"
	tap_run 2 "an unknown action" "$Q" --json --root "$R" mailuser frob
	tap_json_is failed true "--json says it failed"
	tap_run 2 "an unknown option" "$Q" --json --root "$R" mailuser list --no-such-option
	tap_json_is changed false "--json says nothing changed"
	tap_run 2 "add without NAME" "$Q" --root "$R" mailuser add
	rm "$R/var/qmail/control/me"
	tap_run 2 "add without control/me" sh -c "echo pw | \"\$0\" --root \"\$1\" mailuser add alice" "$Q" "$R"
	tap_like "$TAP_STDERR" 'control/me' "the error names control/me"
	tap_run 0 "status: no run was recorded" "$Q" --json --root "$R" status
	tap_json_is runs.# 1 "only the users run"
}

case_newu() {
	tap_case "users/cdb is qmail-newu's"
	distfiles_find netqmail-1.06.tar.gz || { tap_skip "users/cdb against qmail-newu" "no netqmail-1.06.tar.gz in the shared distfiles"; return; }
	mail_root || return
	add alice pw && add bob pw || { tap_is fail ok "add"; return; }
	local W
	W=$(tap_tmpdir)
	tar -C "$W" -xzf "$DISTFILES/netqmail-1.06.tar.gz"
	mkdir -p "$W/home/users"
	echo "$W/home" >"$W/netqmail-1.06/conf-qmail"
	if ! make -s -C "$W/netqmail-1.06" qmail-newu >"$W/build.log" 2>&1; then
		tap_skip "users/cdb against qmail-newu" "qmail-newu did not build: $(tail -1 "$W/build.log")"
		return
	fi
	cp "$R/var/qmail/users/assign" "$W/home/users/assign"
	tap_ok "qmail-newu compiles the same assign" "$W/netqmail-1.06/qmail-newu"
	tap_ok "into the same bytes" cmp "$W/home/users/cdb" "$R/var/qmail/users/cdb"
}

# checkpassword 0.90's profile: its archive is in no registry and not in
# the shared distfiles, so that it loads is all that is tested.
case_checkpassword_profile() {
	tap_case "the checkpassword profile loads"
	tap_run 0 "profile show checkpassword" "$Q" --json profile show checkpassword
	tap_json_has profile.sections.#.name "component checkpassword" "it has the checkpassword component"
	tap_json_has profile.sections.#.name "component netqmail" "and includes netqmail"
	tap_run 0 "profile show checkpassword, as text" "$Q" profile show checkpassword
	tap_like "$TAP_STDOUT" 'patch = netqmail:netqmail-1.06/other-patches/checkpassword-0.90.errno.patch' \
		"the errno patch comes from inside netqmail's archive"
	tap_like "$TAP_STDOUT" 'program = checkpassword 0755' "checkpassword is installed 0755"
}

case_add
case_add_keeps_lines
case_passwd_and_popup
case_del
case_import
case_bad_input
case_newu
case_checkpassword_profile
tap_done
