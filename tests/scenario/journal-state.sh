#!/bin/bash
# Scenario: the journal's own state. ROOT/var/lib/qinstall and what it
# holds are reached without following any symlink, and refused when they
# are not what they must be; no apply line (nor a path that reaches them
# through a symlink) may change them or the directories above; an empty,
# truncated or foreign state.db is a damaged journal for every command,
# never "no runs". Each refusal leaves ROOT exactly as it was (its whole
# manifest, the journal included) and writes nothing outside ROOT.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
S=var/lib/qinstall
echo "payload" >"$T/p"
printf 'file /etc/motd 0644 0:0 %s\n' "$T/p" >"$T/motd.list"
printf 'file /etc/new 0644 0:0 %s\n' "$T/p" >"$T/new.list"

# full DIR: the manifest of everything in DIR, the journal included.
full() { "$manifest" "$1"; }

# journaled DIR: a root with one run in its journal.
journaled() {
	make_root "$1"
	"$QINSTALL" --root "$1" apply "$T/motd.list" >/dev/null 2>&1
}

# outside: what lies outside every root, where the symlinks below point.
O=$T/outside
mkdir -p "$O/var/lib/qinstall/store" "$O/lib" "$O/qinstall"
echo "not a journal" >"$O/target"
: >"$O/empty"

# refused ROOT CODE REGEX DESC CMD...: CMD exits CODE and says REGEX, and
# neither ROOT nor the outside changed.
refused() {
	local r=$1 code=$2 re=$3 desc=$4; shift 4
	local before outside
	before=$(full "$r"); outside=$(full "$O")
	tap_run "$code" "$desc: exit $code" timeout 30 "$@"
	tap_like "$TAP_STDERR$TAP_STDOUT" "$re" "$desc: the message says why"
	tap_is "$(full "$r")" "$before" "$desc: nothing in ROOT changed"
	tap_is "$(full "$O")" "$outside" "$desc: nothing outside ROOT changed"
}

# ---- a symlink at each component of the state directory ----

# on the way: var, var/lib, var/lib/qinstall, each a symlink to a real
# directory inside ROOT (followed today, it moves the journal there) and
# one out of ROOT.
for c in var var/lib $S; do
	for where in inside outside; do
		R=$T/link-$(echo "$c" | tr / -)-$where
		make_root "$R"
		rm -rf "${R:?}/$c"
		if [ $where = inside ]; then
			mkdir -p "$R/real/$c"
			[ "$c" = var ] && mkdir -p "$R/real/var/lib"
			ln -s "/real/$c" "$R/$c"
		else
			ln -s "$O/$(basename "$c")" "$R/$c"
		fi
		refused "$R" 1 "$R/$c is a symlink to .*, not a directory.*never follows a symlink" \
			"apply with $c a symlink ($where)" "$QINSTALL" --root "$R" apply "$T/motd.list"
		refused "$R" 1 "$R/$c is a symlink" "status with $c a symlink ($where)" \
			"$QINSTALL" --root "$R" status
	done
done

# in it: state.db (to a file out of ROOT, or to none there yet), its
# -wal and -shm, the store, the lock.
for c in state.db state.db-wal state.db-shm store lock; do
	for to in target missing; do
		R=$T/link-$c-$to
		journaled "$R"
		rm -rf "${R:?}/$S/$c"
		if [ $c = store ]; then ln -s "$O/var/lib/qinstall/store" "$R/$S/$c"
		else ln -s "$O/$to" "$R/$S/$c"; fi
		refused "$R" 1 "$R/$S/$c is a symlink to $O/.*, not a (regular file|directory)" \
			"apply with $c a symlink to $to" "$QINSTALL" --root "$R" apply "$T/new.list"
		tap_ok "apply with $c a symlink to $to: nothing made out of ROOT" test ! -e "$O/missing"
		refused "$R" 1 "$R/$S/$c is a symlink" "status with $c a symlink to $to" \
			"$QINSTALL" --root "$R" status
		refused "$R" 1 "$R/$S/$c is a symlink" "rollback with $c a symlink to $to" \
			"$QINSTALL" --root "$R" rollback
		[ $c = store ] && break
	done
done

# A FIFO or a directory where a file must be; a file where the store goes.
for kind in fifo dir; do
	for c in state.db state.db-wal lock; do
		R=$T/$kind-$c
		journaled "$R"
		rm -f "$R/$S/$c"
		if [ $kind = fifo ]; then mkfifo "$R/$S/$c"; want="a FIFO"
		else mkdir "$R/$S/$c"; want="a directory"; fi
		refused "$R" 1 "$R/$S/$c is $want, not a regular file" "status with $c $want" \
			"$QINSTALL" --root "$R" status
		refused "$R" 1 "$R/$S/$c is $want, not a regular file" "apply with $c $want" \
			"$QINSTALL" --root "$R" apply "$T/new.list"
	done
done
R=$T/file-store
journaled "$R"
rm -rf "$R/$S/store"; echo x >"$R/$S/store"
refused "$R" 1 "$R/$S/store is a regular file, not a directory" "apply with the store a file" \
	"$QINSTALL" --root "$R" apply "$T/new.list"

# A root with no state directory at all is still simply "no runs".
R=$T/none
make_root "$R"
tap_run 0 "status without a state directory" "$QINSTALL" --root "$R" status
tap_like "$TAP_STDOUT" "no runs" "status says there are no runs"
tap_ok "status made no state directory" test ! -e "$R/var/lib/qinstall"

# ---- apply lines that would change the journal's state ----

R=$T/lines
journaled "$R"
n=0
# lines: one per operation on the state, on what is in it and above it
while read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" | sed "s|SRC|$T/p|" >"$T/l$n.list"
	refused "$R" 2 "^qinstall: error: $T/l$n.list:1: .*(inside the journal's state directory|the journal's state directory|a directory above the journal's state directory|a record qinstall keeps in its state directory)" \
		"apply '$line'" "$QINSTALL" --root "$R" apply "$T/l$n.list"
done <<'EOF'
file /var/lib/qinstall/state.db 0644 0:0 SRC
file /var/lib/qinstall/lock 0644 0:0 SRC
file /var/lib/qinstall/state.db-wal 0644 0:0 SRC
file /var/lib/qinstall/provision.json 0644 0:0 SRC
file /var/lib/qinstall/new 0644 0:0 SRC
symlink /var/lib/qinstall/state.db /etc/motd
fifo /var/lib/qinstall/store 0644 0:0
mkdir /var/lib/qinstall/store/x 0755 0:0
chmod /var/lib/qinstall/state.db 0600
chown /var/lib/qinstall/store 600:600
remove /var/lib/qinstall/lock
rename /var/lib/qinstall/state.db /etc/stolen
rename /etc/motd /var/lib/qinstall/state.db
chmod /var/lib/qinstall 0700
chown /var/lib/qinstall 600:600
remove /var/lib/qinstall
rename /var/lib/qinstall /srv/moved
mkdir /var/lib/qinstall 0700 0:0
chmod /var/lib 0700
chown /var/lib 600:600
remove /var/lib
rename /var/lib /var/lib2
rename /etc/motd /var/lib
symlink /var/lib /srv
file /var/lib 0644 0:0 SRC
fifo /var/lib 0644 0:0
mkdir /var/lib 0700 0:0
chmod /var 0700
chown /var 600:0
remove /var
rename /var /var2
rename /srv /var
symlink /var /srv
file /var 0644 0:0 SRC
fifo /var 0644 0:0
mkdir /var 0711 0:0
EOF
tap_run 0 "rollback still undoes the first run" "$QINSTALL" --root "$R" rollback
tap_is "$(cat "$R/etc/motd")" "old motd" "the first run's change was undone"

# What stays allowed: files inside /var and /var/lib, and a mkdir of
# /var or /var/lib that says what they are.
R=$T/allowed
journaled "$R"
printf 'mkdir /var 0755 0:0\nmkdir /var/lib 0755 0:0\nfile /var/lib/other 0644 0:0 %s\nmkdir /var/qmail 0755 0:0\n' "$T/p" >"$T/ok.list"
tap_run 0 "apply may make files inside /var and /var/lib" "$QINSTALL" --root "$R" apply "$T/ok.list"
tap_is "$(cat "$R/var/lib/other")" "payload" "the file inside /var/lib was made"
tap_ok "/var/qmail was made" test -d "$R/var/qmail"

# A path that reaches the state through a symlink inside ROOT is refused
# when the change is planned; the run is forgotten, not recorded.
R=$T/alias
journaled "$R"
ln -s var/lib "$R/data"
ln -s / "$R/top"
status_before=$("$QINSTALL" --root "$R" status)
for line in "file /data/qinstall/state.db 0644 0:0 $T/p" "file /data/qinstall/store/x 0644 0:0 $T/p" \
	"chmod /top/var 0700" "rename /top/var/lib /var/lib2" "rename /etc/motd /top/var/lib/qinstall/lock"; do
	printf '%s\n' "$line" >"$T/alias.list"
	before=$(tree "$R")
	tap_run 2 "apply '$line' (through a symlink)" "$QINSTALL" --root "$R" apply "$T/alias.list"
	tap_like "$TAP_STDERR" "alias.list:1: refusing to .*: it is \(through a symlink or a mount\)" \
		"'$line': the message says it reaches the journal"
	tap_is "$(tree "$R")" "$before" "'$line': nothing changed"
	tap_is "$("$QINSTALL" --root "$R" status)" "$status_before" "'$line': no run was recorded"
done

# The same through a bind mount of the state directory (a private mount
# namespace).
if unshare -m true 2>/dev/null; then
	mkdir -p "$R/mnt"
	printf 'file /mnt/state.db 0644 0:0 %s\n' "$T/p" >"$T/mount.list"
	before=$(tree "$R")
	rc=0
	unshare -m sh -c 'mount --bind "$1/var/lib/qinstall" "$1/mnt" && exec "$2" --root "$1" apply "$3"' \
		sh "$R" "$QINSTALL" "$T/mount.list" >"$T/out" 2>"$T/err" || rc=$?
	tap_is "$rc" 2 "apply through a bind mount of the state directory is refused"
	tap_like "$(cat "$T/err")" "mount.list:1: refusing to write $R/mnt/state.db: it is \(through a symlink or a mount\) inside" \
		"the message says it reaches the journal"
	tap_is "$(tree "$R")" "$before" "through a bind mount: nothing changed"
	tap_is "$("$QINSTALL" --root "$R" status)" "$status_before" "through a bind mount: no run was recorded"
else
	tap_skip "apply through a bind mount of the state directory" "unshare -m is not allowed here"
fi

# ---- profiles and staged trees ----

# A component built from a local archive whose install puts a file into
# the state directory; and profile paths that point there.
if command -v make >/dev/null; then
	mkdir -p "$T/evil/evil-1"
	# shellcheck disable=SC2016
	printf 'all:\n\ttrue\ninstall:\n\tmkdir -p $(DESTDIR)/var/lib/qinstall\n\techo x >$(DESTDIR)/var/lib/qinstall/evil\n' \
		>"$T/evil/evil-1/Makefile"
	tar -C "$T/evil" -czf "$T/evil-1.tar.gz" evil-1
	cat >"$T/evil.profile" <<-EOF
	[component evil]
	version = 1
	url = file://$T/evil-1.tar.gz
	sha256 = $(sha256sum <"$T/evil-1.tar.gz" | cut -d' ' -f1)
	make = all
	install = make
	EOF
	export QINSTALL_CACHE_DIR=$T/cache
	R=$T/staged
	journaled "$R"
	for cmd in provision plan; do
		refused "$R" 1 "component evil: its staged tree holds /var/lib/qinstall \(the journal's state directory\)" \
			"$cmd of a staged tree that reaches into the state" "$QINSTALL" --root "$R" $cmd -p "$T/evil.profile" --offline
	done
	tap_ok "the staged file did not reach the state directory" test ! -e "$R/$S/evil"
	# profile paths, each refused before anything is built
	for setting in "accounts|qmail_home|/var/lib/qinstall" "accounts|qmail_home|/var/lib" \
		"services|service_dir|/var/lib/qinstall/service" "component evil|bindir|/var/lib/qinstall/bin"; do
		IFS='|' read -r section key value <<<"$setting"
		{ cat "$T/evil.profile"; printf '[%s]\n%s = %s\n' "$section" "$key" "$value"
		  [ "$section" = services ] && printf 'svscan = yes\n'; } >"$T/path.profile"
		line=$(grep -n "^$key = " "$T/path.profile" | cut -d: -f1)
		refused "$R" 2 "path.profile:$line: \[$section\] $key = $value is" "provision with $key = $value" \
			"$QINSTALL" --root "$R" provision -p "$T/path.profile" --offline
	done
else
	tap_skip "provision of a staged tree that reaches into the state" "make is not installed"
fi

# ---- a damaged state.db ----

# damage KIND DIR: a journaled root whose state.db is empty, truncated,
# garbage, or an SQLite database that is not qinstall's.
damage() {
	local r=$2 db=$2/$S/state.db
	journaled "$r"
	"$QINSTALL" --root "$r" apply "$T/new.list" >/dev/null 2>&1
	rm -f "$db-wal" "$db-shm"
	case $1 in
	empty) : >"$db" ;;
	truncated) truncate -s 100 "$db" ;;
	halved) truncate -s $(($(stat -c %s "$db") / 2)) "$db" ;;
	garbage) head -c 16384 /dev/urandom >"$db" ;;
	foreign) rm -f "$db"; "$PYTHON3" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$db" ;;
	esac
}
# SQLite may make its -wal and -shm beside a state.db it reads, and a
# writer writes its pid into the lock before it opens state.db: those
# aside, ROOT stays as it was, state.db included.
kept() { "$manifest" --exclude $S/lock --exclude $S/state.db-wal --exclude $S/state.db-shm "$1"; }
# every_command ROOT REGEX WHAT: each command that reads the journal
# refuses (verify reports it) and changes nothing.
every_command() {
	local r=$1 re=$2 what=$3 cmd code before label
	for cmd in status rollback "--check rollback" "apply $T/new.list" verify; do
		code=1 label=${cmd%% /*}
		[ "$cmd" = verify ] && code=5
		before=$(kept "$r")
		# shellcheck disable=SC2086
		tap_run $code "$label with $what: exit $code" timeout 30 "$QINSTALL" --root "$r" $cmd
		tap_like "$TAP_STDERR$TAP_STDOUT" "$re" "$label with $what: says why"
		tap_is "$(kept "$r")" "$before" "$label with $what: nothing in ROOT changed"
	done
}
damaged="journal $T/[a-z]+/$S/state.db: .*the journal is damaged.*restore state.db from a backup.*never be rolled back, move $T/[a-z]+/$S away"
for kind in empty truncated halved garbage foreign; do
	R=$T/$kind
	damage $kind "$R"
	every_command "$R" "$damaged" "a $kind state.db"
done

# A lost state.db, its store or its -wal left, is no "no runs" either.
for left in store wal; do
	R=$T/lost-$left
	journaled "$R"
	rm -f "$R/$S/state.db" "$R/$S/state.db-shm" "$R/$S/state.db-wal"
	if [ $left = wal ]; then
		rm -f "$R/$S/store/"*
		head -c 4096 /dev/urandom >"$R/$S/state.db-wal"
	fi
	every_command "$R" "state.db is missing but (its store still holds before-images|state.db-wal still holds its last changes).*move $R/$S away" \
		"a lost state.db ($left left)"
done
tap_done
