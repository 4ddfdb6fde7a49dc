# patch-compare.sh - differential cases for the patch engine: the same patch
# applied by GNU patch (the oracle, $GNU_PATCH) and by `qinstall patch` to
# two copies of one tree. Source it after tap.sh.
#
#   patch_case DESC TREE PATCHFILE [OPTIONS...]
#
# One TAP case: it passes when both exit with the same status, print the
# same report (every line on stdout: "patching file", "Hunk #...", the
# reversed-patch texts, "N out of M hunks FAILED -- saving rejects ..."),
# and leave byte-identical trees (contents, .rej and .orig files, types and
# modes). Neither program has a terminal to ask on: both take the default
# answers. When PATCH_TALLY names a file, "same" or "differ" is appended to
# it for each case (tests/bench/patch.sh sums them).
: "${GNU_PATCH:=patch}"

_patch_manifest() { # DIR: every path with its type and mode, sorted
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m\n' | LC_ALL=C sort)
}

patch_case() {
	local desc=$1 tree=$2 pf=$3
	shift 3
	local w
	w=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-patchcase.XXXXXX")
	cp -a "$tree" "$w/gnu"
	cp -a "$tree" "$w/qi"
	local g=0 q=0
	(cd "$w/gnu" && "$GNU_PATCH" "$@" -i "$pf" </dev/null >"$w/gnu.out" 2>"$w/gnu.err") || g=$?
	(cd "$w/qi" && "$QINSTALL" patch "$@" -i "$pf" </dev/null >"$w/qi.out" 2>"$w/qi.err") || q=$?
	local why=""
	[ "$g" = "$q" ] || why="exit status: GNU patch $g, qinstall $q"
	if [ -z "$why" ] && ! cmp -s "$w/gnu.out" "$w/qi.out"; then
		why="report differs: $(diff "$w/gnu.out" "$w/qi.out" | head -12)"
	fi
	if [ -z "$why" ] && [ "$(_patch_manifest "$w/gnu")" != "$(_patch_manifest "$w/qi")" ]; then
		why="trees differ in paths, types or modes: $(diff <(_patch_manifest "$w/gnu") <(_patch_manifest "$w/qi") | head -12)"
	fi
	if [ -z "$why" ] && ! diff -r --no-dereference "$w/gnu" "$w/qi" >"$w/tree.diff" 2>&1; then
		why="trees differ in content: $(head -20 "$w/tree.diff")"
	fi
	if [ -z "$why" ]; then
		_tap_result ok "$desc"
		[ -n "${PATCH_TALLY:-}" ] && echo same >>"$PATCH_TALLY"
	else
		_tap_result "not ok" "$desc"
		tap_diag "options: $*" "$why" "GNU stderr: $(head -3 "$w/gnu.err")" "qinstall stderr: $(head -3 "$w/qi.err")"
		[ -n "${PATCH_TALLY:-}" ] && echo differ >>"$PATCH_TALLY"
	fi
	rm -rf "$w"
	return 0
}

# patch_unpack_debian PKG DEST: the orig tree of Debian source PKG in DEST/orig
# and its debian/ directory in DEST/debian. Returns 77 when the archive
# cannot be reached.
patch_unpack_debian() {
	local pkg=$1 dest=$2 suite=${3:-} src
	src=$(bash "$top_srcdir/tests/lib/debsrc.sh" "$pkg" $suite) || return 77
	mkdir -p "$dest/orig" "$dest/debian"
	local orig
	orig=$(ls "$src"/*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -1)
	[ -n "$orig" ] || return 77
	tar -xf "$orig" -C "$dest/orig" --strip-components=1 || return 1
	local deb
	deb=$(ls "$src"/*.debian.tar.* 2>/dev/null | head -1)
	if [ -n "$deb" ]; then
		tar -xf "$deb" -C "$dest" || return 1
	fi
	return 0
}
