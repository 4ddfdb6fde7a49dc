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

# Every tree of these tests leaves out the journal's own directory: tree
# DIR prints one, tap_tree_is (tap.sh) compares one.
TAP_TREE_EXCLUDE=var/lib/qinstall
tree() { "$manifest" --exclude "$TAP_TREE_EXCLUDE" "$1"; }

# new_root [STEP]...: a case's starting state. R is a new root (make_root)
# and t0 its tree; then each STEP, a qinstall command line ("apply LIST",
# "rollback 1"), is run on it (tap_setup_qinstall, tap.sh).
new_root() {
	R=$(tap_tmpdir)/root
	make_root "$R"
	t0=$(tree "$R")
	tap_setup_qinstall "$R" "$@"
}
