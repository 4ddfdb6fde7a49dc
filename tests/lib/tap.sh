# tap.sh - a small TAP producer for the shell scenario and system tests.
# Source it, make assertions, end with tap_done. Every assertion is one
# test case counted by the harness.
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   T=$(tap_tmpdir)                      # removed when the script exits
#   tap_run 0 "status on an empty root" "$QINSTALL" --root "$T" status
#   tap_is "$(cat "$T/x")" "hello" "the file holds hello"
#   tap_done

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

# tap_like TEXT REGEX DESC (extended regex, grep -E)
tap_like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _tap_result ok "$3"
	else _tap_result "not ok" "$3"; tap_diag "text:  $(printf '%s' "$1" | head -c 2000)" "regex: $2"; fi
}

# tap_unlike TEXT REGEX DESC
tap_unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _tap_result "not ok" "$3"; tap_diag "text matched: $2"
	else _tap_result ok "$3"; fi
}

# tap_json KEY.PATH: a value of the JSON object in $TAP_STDOUT (the last
# tap_run's output); list indexes are numbers ("components.0.name").
# Objects, lists, booleans and null print as JSON, the rest as text.
tap_json() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}

# tap_skip_all REASON: the whole script is skipped (counted as a skip).
tap_skip_all() { printf '1..0 # SKIP %s\n' "$1"; exit 0; }

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
