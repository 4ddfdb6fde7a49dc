# tap.sh - a small TAP producer for the shell scenario and system tests.
# Source it, make assertions, end with tap_done. Every assertion is one
# test case counted by the harness.
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   T=$(tap_tmpdir)                      # removed when the script exits
#   tap_run 0 "status on an empty root" "$QINSTALL" --root "$T" status
#   tap_is "$(cat "$T/x")" "hello" "the file holds hello"
#   tap_done
#
# Rules, each one assertion about one thing (like pactest's rules), that
# print what they got and wanted when they fail:
#
#   tap_json_is changed true "apply reports changed"    # the last tap_run's JSON
#   tap_json_has changes.#.path /etc/motd "it lists /etc/motd"
#   tap_mode_is "$R/etc/motd" 0644 "motd is 0644"
#   tap_owner_is "$R/etc/motd" 0:601 "motd is root:qmail"
#   tap_type_is "$R/srv/fifo" fifo "the fifo is made"
#   before=$(tap_tree "$R"); ...; tap_tree_is "$R" "$before" "rollback restores the tree"
#
# A script is a list of cases. Each case builds its own starting state
# (a fresh tap_tmpdir root), so that one failure does not cascade; steps of
# that setup go through tap_setup, which is silent unless the step fails:
#
#   case_rollback() {
#   	tap_case "rollback undoes a run"
#   	R=$(tap_tmpdir); make_root "$R"; before=$(tap_tree "$R")
#   	tap_setup "$QINSTALL" -q --root "$R" apply "$L/1.list" || return
#   	tap_run 0 "rollback" "$QINSTALL" --root "$R" rollback
#   	tap_tree_is "$R" "$before" "the tree is as before"
#   }

: "${QINSTALL:?QINSTALL must name the qinstall binary (make check sets it)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# Heavy fixtures (Debian source packages, debootstrap chroots) are cached
# outside the clone, so that a fresh clone (CI) reuses them: in
# $QI_TEST_CACHE, by default /var/cache/qinstall-tests when that can be
# written (root), else the build directory. Each entry's name says what it
# holds; writers take tap_cache_lock first.
if [ -z "${QI_TEST_CACHE:-}" ]; then
	if mkdir -p /var/cache/qinstall-tests 2>/dev/null && [ -w /var/cache/qinstall-tests ]; then
		QI_TEST_CACHE=/var/cache/qinstall-tests
	else
		QI_TEST_CACHE=${top_builddir:-.}
	fi
fi
export QI_TEST_CACHE
_tap_n=0
_tap_failed=0
_tap_tmps=

_tap_result() { # ok|not ok, description
	_tap_n=$((_tap_n + 1))
	printf '%s %d - %s\n' "$1" "$_tap_n" "$2"
	[ "$1" = ok ] || _tap_failed=$((_tap_failed + 1))
}

tap_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# tap_ok DESC CMD...: passes when CMD exits 0.
tap_ok() {
	local desc=$1; shift
	if "$@" >"$_tap_out" 2>&1; then _tap_result ok "$desc"
	else _tap_result "not ok" "$desc"; tap_diag "command: $*" "$(tail -20 "$_tap_out")"; fi
}

# tap_run CODE DESC CMD...: passes when CMD exits with CODE. Its stdout is
# kept in $TAP_STDOUT and stderr in $TAP_STDERR for later assertions.
tap_run() {
	local want=$1 desc=$2; shift 2
	local rc=0
	"$@" >"$_tap_out" 2>"$_tap_err" || rc=$?
	TAP_STDOUT=$(cat "$_tap_out"); TAP_STDERR=$(cat "$_tap_err")
	if [ "$rc" = "$want" ]; then _tap_result ok "$desc"
	else _tap_result "not ok" "$desc"
		tap_diag "command: $*" "exit $rc, wanted $want" "stdout: $(tail -10 "$_tap_out")" "stderr: $(tail -10 "$_tap_err")"; fi
}

# tap_is GOT WANT DESC
tap_is() {
	if [ "$1" = "$2" ]; then _tap_result ok "$3"
	else _tap_result "not ok" "$3"; tap_diag "got:    $1" "wanted: $2"; fi
}

# _tap_match TEXT REGEX: grep -E's match (some line of TEXT matches), or,
# when REGEX holds a newline (which grep would take as a list of patterns,
# any one of them enough), the whole of TEXT against the whole of REGEX
# (bash's =~: '^' and '$' are TEXT's ends then).
_tap_match() {
	case $2 in
	*$'\n'*) [[ $1 =~ $2 ]] ;;
	*) printf '%s\n' "$1" | grep -Eq -- "$2" ;;
	esac
}

# tap_like TEXT REGEX DESC (extended regex, grep -E; see _tap_match)
tap_like() {
	if _tap_match "$1" "$2"; then _tap_result ok "$3"
	else _tap_result "not ok" "$3"; tap_diag "text:  $(printf '%s' "$1" | head -c 2000)" "regex: $2"; fi
}

# tap_unlike TEXT REGEX DESC
tap_unlike() {
	if _tap_match "$1" "$2"; then _tap_result "not ok" "$3"; tap_diag "text matched: $2"
	else _tap_result ok "$3"; fi
}

# tap_json KEY.PATH: a value of the JSON object in $TAP_STDOUT (the last
# tap_run's output). List indexes are numbers ("components.0.name"); "#"
# is a list's length ("runs.#"), or, followed by more keys, the list of
# that value of each element ("runs.#.id" is [2, 1]). Objects, lists,
# booleans and null print as JSON, the rest as text. A key that is not
# there, or output that is not JSON, is an error (exit 1, on stderr).
tap_json() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError as e:
    sys.exit("tap_json: the output is not JSON (%s)" % e)
def get(v, keys, seen):
    for i, k in enumerate(keys):
        where = ".".join(seen + keys[:i + 1])
        if k == "#" and isinstance(v, list):
            rest = keys[i + 1:]
            return [get(x, rest, seen + keys[:i + 1]) for x in v] if rest else len(v)
        if isinstance(v, list) and k.isdigit() and int(k) < len(v):
            v = v[int(k)]
        elif isinstance(v, dict) and k in v:
            v = v[k]
        else:
            raise KeyError(where)
    return v
try:
    v = get(v, sys.argv[1].split("."), [])
except KeyError as e:
    sys.exit("tap_json: the output has no %s" % e.args[0])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}

# _tap_json_rule KEY.PATH DESC TEST: a case on the value at KEY.PATH in
# the last tap_run's JSON; TEST is a command given that value, then the
# wanted one.
_tap_json_rule() {
	local key=$1 want=$2 desc=$3 test=$4 got rc=0
	got=$(tap_json "$key" 2>"$_tap_state/json.err") || rc=$?
	if [ "$rc" = 0 ] && "$test" "$got" "$want"; then _tap_result ok "$desc"
	else _tap_result "not ok" "$desc"
		tap_diag "key:    $key" "got:    $got" "wanted: $want"
		[ "$rc" = 0 ] || tap_diag "$(cat "$_tap_state/json.err")" "output: $(printf '%s' "$TAP_STDOUT" | head -c 2000)"
	fi
}
_tap_equal() { [ "$1" = "$2" ]; }
_tap_has() { [ "$1" = "$2" ] || printf '%s' "$1" | "${PYTHON3:-python3}" -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if isinstance(v, list) and any(
    (json.dumps(x) if isinstance(x, (dict, list, bool)) or x is None else str(x)) == sys.argv[1]
    for x in v) else 1)' "$2"; }

# tap_json_is KEY.PATH VALUE DESC: the value at KEY.PATH (as tap_json
# prints it) is VALUE: tap_json_is changed true, tap_json_is runs.#.id "[2, 1]".
tap_json_is() { _tap_json_rule "$1" "$2" "$3" _tap_equal; }

# tap_json_has KEY.PATH VALUE DESC: the value at KEY.PATH is VALUE or a
# list holding VALUE: tap_json_has changes.#.path /etc/motd.
tap_json_has() { _tap_json_rule "$1" "$2" "$3" _tap_has; }

# _tap_is_at PATH GOT WANT DESC: tap_is, naming PATH when it fails.
_tap_is_at() {
	if [ "$2" = "$3" ]; then _tap_result ok "$4"
	else _tap_result "not ok" "$4"; tap_diag "path:   $1" "got:    $2" "wanted: $3"; fi
}

# tap_mode_is PATH MODE DESC: PATH (not followed if a symlink) has the
# permission bits MODE, in octal (0644, 2755).
tap_mode_is() {
	local got
	got=$(stat -c %a -- "$1" 2>&1) && got=$(printf '%04o' "$((8#$got))")
	_tap_is_at "$1" "$got" "$(printf '%04o' "$((8#$2))")" "$3"
}

# tap_owner_is PATH UID:GID DESC: PATH (not followed) has that numeric owner.
tap_owner_is() { _tap_is_at "$1" "$(stat -c %u:%g -- "$1" 2>&1)" "$2" "$3"; }

# tap_type_is PATH TYPE DESC: PATH (not followed) is a file, dir,
# symlink, fifo, socket, chr or blk; "none" when nothing is there.
tap_type_is() { _tap_is_at "$1" "$(_tap_type "$1")" "$2" "$3"; }
_tap_type() {
	if [ -L "$1" ]; then echo symlink
	elif [ -p "$1" ]; then echo fifo
	elif [ -S "$1" ]; then echo socket
	elif [ -d "$1" ]; then echo dir
	elif [ -f "$1" ]; then echo file
	elif [ -c "$1" ]; then echo chr
	elif [ -b "$1" ]; then echo blk
	else echo none; fi
}

# tap_tree [--exclude RELPATH]... DIR: the manifest of DIR made by
# tests/lib/treemanifest: one sorted line per entry, "PATH TYPE MODE UID
# GID SIZE SHA256 TARGET", every path relative to DIR ("/" for DIR
# itself), times left out. RELPATH (e.g. var/lib/qinstall) and what is
# below it are left out, as are the RELPATHs in $TAP_TREE_EXCLUDE.
tap_tree() {
	local x=() r
	while [ "$1" = --exclude ]; do x+=(--exclude "$2"); shift 2; done
	for r in ${TAP_TREE_EXCLUDE:-}; do x+=(--exclude "$r"); done
	"${top_builddir:-.}/tests/lib/treemanifest" "${x[@]}" "$1"
}

# tap_tree_is [--exclude RELPATH]... DIR MANIFEST DESC: DIR's manifest is
# MANIFEST (an earlier tap_tree); a failure shows the lines that differ.
tap_tree_is() {
	local x=()
	while [ "$1" = --exclude ]; do x+=(--exclude "$2"); shift 2; done
	local got
	got=$(tap_tree "${x[@]}" "$1" 2>&1)
	_tap_trees "$got" "$2" "$3" "tree:   $1"
}

# tap_tree_same [--exclude RELPATH]... DIR_A DIR_B DESC: the two trees are
# alike in every path, type, mode, owner, size, content and link target.
tap_tree_same() {
	local x=()
	while [ "$1" = --exclude ]; do x+=(--exclude "$2"); shift 2; done
	local a b
	a=$(tap_tree "${x[@]}" "$1" 2>&1); b=$(tap_tree "${x[@]}" "$2" 2>&1)
	_tap_trees "$b" "$a" "$3" "trees:  $1 (-) and $2 (+)"
}

_tap_trees() { # GOT WANT DESC WHAT
	if [ "$1" = "$2" ]; then _tap_result ok "$3"
	else _tap_result "not ok" "$3"
		tap_diag "$4" "-wanted +got:" \
			"$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$1") | sed -n 's/^< /-/p; s/^> /+/p' | head -40)"
	fi
}

# tap_case NAME: a case begins; its name goes to the log and is named by a
# failing tap_setup.
tap_case() { _tap_case=$1; printf '# case: %s\n' "$1"; }

# tap_setup CMD...: one step of a case's setup. Silent when CMD exits 0;
# otherwise a failed test case naming the case and CMD, and a non-zero
# return so that the case stops there: tap_setup CMD... || return
tap_setup() {
	local rc=0
	"$@" >"$_tap_out" 2>&1 || rc=$?
	[ "$rc" = 0 ] && return 0
	_tap_result "not ok" "setup of ${_tap_case:-the script}: $*"
	tap_diag "exit $rc" "$(tail -20 "$_tap_out")"
	return 1
}

# tap_setup_qinstall ROOT STEP...: setup steps on ROOT, each a qinstall
# command line ("users --ids auto", "rollback 1", "apply LIST") run
# quietly through tap_setup; it stops at the first that fails.
tap_setup_qinstall() {
	local root=$1 step cmd
	shift
	for step in "$@"; do
		read -ra cmd <<<"$step"
		tap_setup "$QINSTALL" -q --root "$root" "${cmd[@]}" || return
	done
}

# tap_skip_all REASON: the whole script is skipped (counted as a skip).
tap_skip_all() { printf '1..0 # SKIP %s\n' "$1"; exit 0; }

# tap_heavy: a heavy system test (a chroot, minutes of work) calls this
# first; it is skipped when QI_TEST_HEAVY=no (tools/quickstart runs heavy
# tests once, in the plain pass, not again in the sanitizer build).
tap_heavy() {
	[ "${QI_TEST_HEAVY:-yes}" != no ] ||
		tap_skip_all "a heavy system test: it runs once, in the plain build's pass"
}

# tap_skip DESC REASON: one case skipped.
tap_skip() { _tap_n=$((_tap_n + 1)); printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"; }

# tap_tmpdir: a fresh directory removed when the script exits.
tap_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-test.XXXXXX")
	printf '%s\n' "$d" >>"$_tap_tmplist"
	printf '%s\n' "$d"
}

# tap_cache_lock NAME: hold an exclusive lock on $QI_TEST_CACHE/NAME.lock
# until the script exits (two test runs filling one cache entry at once).
tap_cache_lock() {
	exec 8>"$QI_TEST_CACHE/$1.lock"
	flock 8
}

tap_done() { printf '1..%d\n' "$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

_tap_state=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-tap.XXXXXX")
_tap_out=$_tap_state/out
_tap_err=$_tap_state/err
_tap_tmplist=$_tap_state/tmps
: >"$_tap_tmplist"
_tap_cleanup() {
	while read -r d; do
		# Mounts made by a test are undone before its files go.
		grep -q " $d" /proc/self/mounts 2>/dev/null &&
			awk -v d="$d" '$2 ~ "^"d {print $2}' /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null
		chattr -R -i "$d" 2>/dev/null
		rm -rf "$d"
	done <"$_tap_tmplist"
	rm -rf "$_tap_state"
}
trap _tap_cleanup EXIT
