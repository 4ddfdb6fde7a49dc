# users-fixture.sh - throwaway system roots for the `qinstall users` tests.
# Sourced after tests/lib/tap.sh.

# alice_root DIR: the smallest root a mail configuration needs: root and
# alice (1000, with a home), Debian's shadow group (the SMTP AUTH
# checkpassword's), shadow and gshadow 0600, a nologin shell, /var/lib.
alice_root() {
	local r=$1
	mkdir -p "$r/etc" "$r/usr/sbin" "$r/var/lib" "$r/home/alice"
	printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nshadow:x:42:\nalice:x:1000:\n' >"$r/etc/group"
	printf 'root:*:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
	printf 'root:*::\nalice:*::\n' >"$r/etc/gshadow"
	printf '#!/bin/sh\nexit 1\n' >"$r/usr/sbin/nologin"
	chmod 0755 "$r/usr/sbin/nologin"
	chmod 0600 "$r/etc/shadow" "$r/etc/gshadow"
	chown 1000:1000 "$r/home/alice"
}

# make_root DIR: a small Debian-like root: passwd, group, shadow (0640
# root:42), gshadow, a nologin shell and /var.
make_root() {
	local r=$1
	mkdir -p "$r/etc" "$r/usr/sbin" "$r/bin" "$r/var/lib"
	cat >"$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
	cat >"$r/etc/group" <<'G'
root:x:0:
daemon:x:1:
shadow:x:42:
nogroup:x:65534:
G
	cat >"$r/etc/shadow" <<'S'
root:$y$j9T$abcdefghijklmnopqrstu.$0123456789012345678901234567890123456789012:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
S
	cat >"$r/etc/gshadow" <<'GS'
root:*::
daemon:*::
shadow:*::
nogroup:*::
GS
	chmod 0644 "$r/etc/passwd" "$r/etc/group"
	chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
	chown 0:42 "$r/etc/shadow" "$r/etc/gshadow"
	printf '#!/bin/sh\necho "This account is currently not available."\nexit 1\n' >"$r/usr/sbin/nologin"
	chmod 0755 "$r/usr/sbin/nologin"
}

# qmail_root DIR: make_root, and a user admin (uid 1000) with a home, who
# gets postmaster's mail in the qmail provisioning tests.
qmail_root() {
	make_root "$1"
	echo "admin:x:1000:1000:Admin:/home/admin:/bin/sh" >>"$1/etc/passwd"
	echo "admin:x:1000:" >>"$1/etc/group"
	mkdir -p "$1/home/admin"
	chown 1000:1000 "$1/home/admin"
}

# etc_sums DIR: sha256 of every file under DIR/etc, with mode and owner.
etc_sums() {
	(cd "$1/etc" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum &&
		find . -printf '%p %y %m %U:%G\n' | sort)
}

# new_root [STEP]...: a case's starting state. R is a new root (make_root)
# and before its etc_sums; then each STEP, a qinstall command line
# ("users --ids auto"), is run on it (tap_setup_qinstall, tap.sh).
new_root() {
	R=$(tap_tmpdir)
	make_root "$R"
	before=$(etc_sums "$R")
	tap_setup_qinstall "$R" "$@"
}

# dead_pid: a pid that is surely dead: a child that has exited and been reaped.
dead_pid() { sh -c 'exit 0' & local p=$!; wait "$p"; echo "$p"; }
# write_lock FILE PID: a lock the way shadow-utils writes it: the pid, then a NUL.
write_lock() { printf '%s\0' "$2" >"$1"; }
# hold_lock FILE [SECONDS]: a live process holds the lock FILE; holder is its pid.
hold_lock() {
	sleep "${2:-60}" &
	holder=$!
	write_lock "$1" "$holder"
}
