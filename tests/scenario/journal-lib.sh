# journal-lib.sh - shared setup of the journal's scenario tests: a small
# root with its own passwd/group, and helpers. Sourced after tap.sh.
manifest=$top_builddir/tests/lib/treemanifest
[ "$(id -u)" = 0 ] || tap_skip_all "the journal's scenarios set owners and need root"

# make_root DIR: a root with accounts, a file of each type, and var/lib.
make_root() {
	local r=$1
	mkdir -p "$r/etc" "$r/var/lib" "$r/srv/empty"
	printf 'root:x:0:0::/root:/bin/sh\nqmaild:x:601:601::/var/qmail:/bin/false\nalias:x:600:601::/var/qmail/alias:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnofiles:x:600:\nqmail:x:601:\n' >"$r/etc/group"
	echo "old motd" >"$r/etc/motd"
	ln -s motd "$r/etc/motd.link"
	mkfifo -m 640 "$r/srv/fifo"
}

# tree DIR: its manifest without the journal's own directory.
tree() { "$manifest" --exclude var/lib/qinstall "$1"; }
