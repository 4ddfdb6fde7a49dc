#!/bin/bash
# Scenario: the contract of qinstall(8). With --json, standard output is
# exactly one JSON object for every command and every outcome, usage errors
# found before any command runs included; "changed" says whether ROOT
# differs from before (a failed run that undid itself changed nothing), and
# a run that failed before it changed anything is not recorded. Then the
# small promises: the passwd lock on a read-only /etc names the file it
# could not make, --lock-wait takes only 0..3600, a full file system is said
# as such with the file, fetch --extract takes an empty directory, and
# every man page renders without warnings at 60 columns with the version of
# configure in its .TH line.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
PY=${PYTHON3:-python3}
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
W=$(tap_tmpdir)

# one_json: why $TAP_STDOUT is not exactly one JSON object with the
# contract's keys ("" when it is).
one_json() {
	printf '%s' "$TAP_STDOUT" | "$PY" -c '
import json, sys
text = sys.stdin.read()
try:
    o = json.loads(text)
except ValueError as e:
    sys.exit("not exactly one JSON object (%s): %r" % (e, text[:300]))
if not isinstance(o, dict):
    sys.exit("not an object")
missing = [k for k in ("changed", "failed", "msg", "run", "warnings") if k not in o]
if missing:
    sys.exit("missing keys %s" % missing)
' 2>&1
}

# contract CODE CHANGED FAILED DESC CMD...: CMD exits CODE and prints one
# JSON object whose changed and failed are CHANGED and FAILED. Two cases.
contract() {
	local code=$1 changed=$2 failed=$3 desc=$4
	shift 4
	tap_run "$code" "$desc: exit $code" "$@"
	local why
	why=$(one_json)
	if [ -z "$why" ] && [ "$(tap_json changed) $(tap_json failed)" != "$changed $failed" ]; then
		why="changed/failed are $(tap_json changed)/$(tap_json failed), wanted $changed/$failed"
	fi
	if [ -z "$why" ]; then
		_tap_result ok "$desc: one JSON object, changed $changed, failed $failed"
	else
		_tap_result "not ok" "$desc: one JSON object, changed $changed, failed $failed"
		tap_diag "$why" "stderr: $(printf '%s' "$TAP_STDERR" | tail -3)"
	fi
}

Q=$QINSTALL
R=$(tap_tmpdir)

# --- usage errors, before any command runs -------------------------------------
contract 2 false true "no command" "$Q" --json
contract 2 false true "an unknown command" "$Q" --json frobnicate
tap_like "$(tap_json msg)" "unknown command 'frobnicate'" "msg names the unknown command"
contract 2 false true "an unknown option before the command" "$Q" --json --frob status
contract 2 false true "an unknown option after the command" "$Q" status --json --frob
tap_like "$(tap_json msg)" 'status --frob' "msg names the command and the option"
contract 2 false true "an unknown option before --json" "$Q" --frob --json status
contract 2 false true "a missing option value" "$Q" --json --root "$R" status --root
contract 2 false true "a global option without its value" "$Q" --json --root
contract 2 false true "a bad numeric value" "$Q" --json patch -p x
for cmd in provision plan profile users fetch patch apply rollback status verify; do
	contract 2 false true "$cmd with an unknown option" "$Q" --json --root "$R" "$cmd" --no-such-option
done
tap_run 0 "--help stays text under --json" "$Q" --json --help
tap_like "$TAP_STDOUT" '^Usage: qinstall' "--help prints its text"
tap_run 0 "--version stays text under --json" "$Q" --json --version
tap_like "$TAP_STDOUT" '^qinstall [0-9]' "--version prints its text"

# --- every command, a few outcomes -----------------------------------------------
# status
contract 0 false false "status on an empty root" "$Q" --json --root "$R" status
contract 2 false true "status with an operand" "$Q" --json --root "$R" status extra
contract 1 false true "status on a root that does not exist" "$Q" --json --root "$W/none" status
# verify
contract 0 false false "verify on an empty root" "$Q" --json --root "$R" verify
contract 2 false true "verify with an operand" "$Q" --json --root "$R" verify extra
# apply, rollback, verify's drift
printf 'hello\n' >"$W/hello"
printf 'mkdir /a 0755 0:0\nfile /a/hello 0644 0:0 %s\n' "$W/hello" >"$W/ops"
contract 0 true false "apply" "$Q" --json --root "$R" apply "$W/ops"
tap_is "$(tap_json run)" 1 "apply: run is the new run's number"
contract 0 false false "apply again (nothing to change)" "$Q" --json --root "$R" apply "$W/ops"
tap_is "$(tap_json run)" null "apply again: no run recorded"
mkdir -p "$W/empty-check"
contract 0 true false "apply --check on an empty root" "$Q" --json --check --root "$W/empty-check" apply "$W/ops"
contract 2 false true "apply without FILE" "$Q" --json --root "$R" apply
printf 'frobnicate /x\n' >"$W/badops"
contract 2 false true "apply of a bad line" "$Q" --json --root "$R" apply "$W/badops"
echo changed >"$R/a/hello"
contract 5 false true "verify finds drift" "$Q" --json --root "$R" verify
printf 'hello\n' >"$R/a/hello"
contract 0 false false "verify after the drift is undone" "$Q" --json --root "$R" verify
contract 0 true false "rollback" "$Q" --json --root "$R" rollback
contract 0 false false "rollback with nothing left" "$Q" --json --root "$R" rollback
contract 2 false true "rollback of a bad RUN" "$Q" --json --root "$R" rollback x
contract 2 false true "rollback of a RUN that is not there" "$Q" --json --root "$R" rollback 99
# profile
contract 0 false false "profile list" "$Q" --json profile list
contract 0 false false "profile show" "$Q" --json profile show ucspi-tcp
contract 2 false true "profile show of a missing file" "$Q" --json profile show "$W/none.profile"
contract 2 false true "profile with a bad action" "$Q" --json profile frob
# plan, provision (what needs no download)
P=$(tap_tmpdir)
contract 0 true false "plan" "$Q" --json --root "$P" plan -p ucspi-tcp
contract 1 false true "plan without --profile (netqmail) in a root with no passwd" "$Q" --json --root "$P" plan
contract 1 false true "provision without --profile (netqmail) in a root with no passwd" "$Q" --json --root "$P" provision
contract 2 false true "provision with a missing profile" "$Q" --json --root "$P" provision -p "$W/none.profile"
contract 1 false true "provision --offline without the sources" "$Q" --json --root "$P" provision -p ucspi-tcp --offline
tap_is "$(find "$P" -mindepth 1 | head -1)" "" "the failed provision left ROOT empty"
# users
U=$(tap_tmpdir)
make_root "$U"
contract 0 true false "users" "$Q" --json --root "$U" users
contract 0 false false "users again" "$Q" --json --root "$U" users
tap_is "$(tap_json run)" null "users again: no run"
C=$(tap_tmpdir)
make_root "$C"
echo 'postfix:x:601:1002::/var/spool/postfix:/usr/sbin/nologin' >>"$C/etc/passwd"
contract 1 false true "users with a conflict" "$Q" --json --root "$C" users
contract 2 false true "users with an operand" "$Q" --json --root "$U" users extra
# fetch
mkdir -p "$W/src/pkg-1"
printf 'one\n' >"$W/src/pkg-1/a"
tar -C "$W/src" -czf "$W/pkg-1.tar.gz" pkg-1
SUM=$(sha256sum "$W/pkg-1.tar.gz" | cut -d' ' -f1)
D=$W/dist
contract 0 true false "fetch" "$Q" --json fetch --offline --distdir "$D" "$W/pkg-1.tar.gz#sha256=$SUM"
contract 0 false false "fetch again (from the cache)" "$Q" --json fetch --offline --distdir "$D" "$W/pkg-1.tar.gz#sha256=$SUM"
contract 1 false true "fetch with a wrong pin" "$Q" --json fetch --offline --distdir "$W/d2" "$W/pkg-1.tar.gz#sha256=$(printf '%064d' 0)"
contract 2 false true "fetch of a bad spec" "$Q" --json fetch --offline --distdir "$D" "$W/pkg-1.tar.gz#sha256=xyz"
contract 2 false true "fetch without a URL" "$Q" --json fetch
# patch
T=$W/ptree
mkdir -p "$T"
printf 'a\nb\nc\n' >"$T/f"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n' >"$W/good.diff"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-q\n+Q\n c\n' >"$W/bad.diff"
contract 0 true false "patch" "$Q" --json patch -d "$T" -p1 -i "$W/good.diff"
contract 1 false true "patch with a failing hunk" "$Q" --json patch -d "$T" -p1 --atomic -i "$W/bad.diff"
contract 1 true true "patch with a failing hunk (its .rej written)" "$Q" --json patch -d "$T" -p1 -i "$W/bad.diff"
contract 2 false true "patch with an operand" "$Q" --json patch -d "$T" x
contract 2 false true "patch of garbage" "$Q" --json patch -d "$T" -i "$W/hello"

# --- a failed run that undid itself changed nothing ---------------------------------
if unshare -m true 2>/dev/null; then
	# apply: /a is made, then /ro/b fails (a read-only mount), and /a is undone.
	A=$(tap_tmpdir)
	mkdir -p "$A/ro"
	printf 'mkdir /a 0755 0:0\nfile /a/x 0644 0:0 %s\nfile /ro/b 0644 0:0 %s\n' "$W/hello" "$W/hello" >"$W/ro.ops"
	contract 1 false true "apply that fails half way, undone" unshare -m bash -c \
		'mount --bind "$1/ro" "$1/ro" && mount -o remount,bind,ro "$1/ro" && exec "$2" --json --root "$1" apply "$3"' \
		_ "$A" "$Q" "$W/ro.ops"
	tap_like "$(tap_json msg)" "$A/ro/b" "the message names the file that could not be made"
	tap_ok "/a was undone" test ! -e "$A/a"
	tap_run 0 "status after the undone apply" "$Q" --json --root "$A" status
	tap_is "$(tap_json runs.0.state)" rolled-back "the undone run is recorded as rolled back (it made changes)"

	# users on a read-only /etc: the lock cannot be made; nothing changed,
	# no run recorded, and the message names ROOT/etc/passwd.PID.
	E=$(tap_tmpdir)
	make_root "$E"
	contract 1 false true "users on a read-only /etc" unshare -m bash -c \
		'mount --bind "$1/etc" "$1/etc" && mount -o remount,bind,ro "$1/etc" && exec "$2" --json --root "$1" users' \
		_ "$E" "$Q"
	tap_like "$(tap_json msg)" "cannot create $E/etc/passwd\\.[0-9]+: Read-only file system" \
		"the lock error names ROOT/etc/passwd.PID and why"
	tap_is "$(tap_json run)" null "the failed run is not recorded (run null)"
	tap_run 0 "status after it" "$Q" --json --root "$E" status
	tap_is "$(tap_json runs)" "[]" "status lists no run"
	tap_is "$(ls "$E/etc" | grep -c -E '\.lock$|\.[0-9]+$')" 0 "no lock file is left"

	# A full file system: said as such, with the file.
	F=$(tap_tmpdir)
	head -c 2000000 /dev/urandom >"$W/big"
	printf 'file /big 0644 0:0 %s\n' "$W/big" >"$W/big.ops"
	printf 'file /old 0644 0:0 %s\n' "$W/hello" >"$W/old.ops"
	mkdir -p "$W/bigsrc/bigpkg"
	cp "$W/big" "$W/bigsrc/bigpkg/big"
	tar -C "$W/bigsrc" -czf "$W/bigpkg.tar.gz" bigpkg
	BIGSUM=$(sha256sum "$W/bigpkg.tar.gz" | cut -d' ' -f1)
	cat >"$W/full.sh" <<'SCRIPT'
set -u
F=$1 Q=$2 W=$3 BIGSUM=$4
mount -t tmpfs -o size=1m tmpfs "$F" || exit 99
"$Q" --root "$F" apply "$W/big.ops" 2>"$W/full1.err"; echo "apply1=$?"
head -c 700000 /dev/urandom >"$F/old"
"$Q" --root "$F" apply "$W/old.ops" 2>"$W/full2.err"; echo "apply2=$?"
"$Q" --root "$F" status
rm -f "$F/old"
"$Q" fetch --offline --distdir "$W/dist" --extract "$F/x" "$W/bigpkg.tar.gz#sha256=$BIGSUM" \
	>/dev/null 2>"$W/full4.err"; echo "extract=$?"
ls -A "$F" | grep -q '^x$' && echo "extract left x"
umount "$F"
mount -t tmpfs -o size=64k tmpfs "$F" || exit 99
"$Q" --root "$F" apply "$W/big.ops" 2>"$W/full3.err"; echo "apply3=$?"
SCRIPT
	out=$(unshare -m bash "$W/full.sh" "$F" "$Q" "$W" "$BIGSUM" 2>&1)
	if printf '%s' "$out" | grep -q '^99$\|mount:'; then
		tap_skip "a full file system" "cannot mount a tmpfs here"
	else
		tap_like "$out" "apply1=1" "a file larger than the free space fails"
		tap_like "$(cat "$W/full1.err")" "cannot make regular $F/big: No space left on device \\(the file system is full" \
			"the error names the file and says the file system is full"
		tap_like "$out" "apply2=1" "no room for the before-image fails"
		tap_like "$(cat "$W/full2.err")" "$F/old: cannot save a before-image.*the file system is full" \
			"the error names the file whose before-image did not fit, and says why"
		tap_unlike "$out" "apply $W/old.ops" "the run that failed before it changed anything is not recorded"
		tap_unlike "$out" "unfinished" "no run is left unfinished"
		tap_like "$(cat "$W/full3.err")" "state\\.db.*the file system is full" \
			"with no room for the journal, the error names state.db and says the file system is full"
		tap_like "$out" "extract=1" "fetch --extract onto a full disk fails (no file is left short)"
		tap_like "$(cat "$W/full4.err")" "cannot write entry 'bigpkg/big' to $F/x/bigpkg/big: .*the file system is full" \
			"the error names the file and says the file system is full"
		tap_unlike "$out" "extract left x" "and the half-extracted directory is removed"
	fi

	# provision: staged files go in, then one cannot (a read-only mount over
	# it), and the run is undone: changed false.
	. "$top_srcdir/tests/lib/httpd.sh"
	. "$top_srcdir/tests/lib/djbsrc.sh"
	M=$(tap_tmpdir)
	if ! command -v make >/dev/null || ! command -v gcc >/dev/null; then
		tap_skip "a provision that fails half way" "make and gcc are needed to build ucspi-tcp"
	elif ! djbsrc_mirror "$M" || ! httpd_start "$M"; then
		tap_skip "a provision that fails half way" "Debian's source archive or the loopback server is not available"
	else
		V=$(tap_tmpdir)
		mkdir -p "$V/usr/local/bin"
		echo old >"$V/usr/local/bin/tcpcat"
		echo old >"$W/tcpcat"
		contract 1 false true "provision that fails half way, undone" unshare -m bash -c \
			'mount --bind "$4" "$1/usr/local/bin/tcpcat" && exec "$2" --json --root "$1" provision -p ucspi-tcp --mirror "$3"' \
			_ "$V" "$Q" "$HTTPD_URL" "$W/tcpcat"
		tap_like "$(tap_json msg)" "tcpcat" "the message names the file that could not be replaced"
		tap_is "$(find "$V" -mindepth 1 -not -path "$V/var*" | sort | tr '\n' ' ')" \
			"$V/usr $V/usr/local $V/usr/local/bin $V/usr/local/bin/tcpcat " \
			"the programs that went in were undone"
	fi
else
	tap_skip "failed runs that undo themselves, a read-only /etc, a full disk" "unshare -m is not available (needs root)"
fi

# --- --lock-wait takes 0..3600 seconds -------------------------------------------
L=$(tap_tmpdir)
make_root "$L"
for v in -1 x 1.5 3601 ''; do
	contract 2 false true "--lock-wait '$v' is a usage error" "$Q" --json --root "$L" users --lock-wait "$v"
done
tap_like "$(tap_json msg)" "lock-wait" "the message names --lock-wait"
tap_is "$(ls "$L/var/lib" | wc -l)" 0 "and nothing was started"
contract 0 true false "--lock-wait 0 is fine" "$Q" --json --root "$L" users --lock-wait 0

# --- fetch --extract into an empty directory ---------------------------------------
X=$(mktemp -d "$W/x.XXXXXX")
chmod 0750 "$X"
contract 0 true false "--extract into an empty directory (mktemp -d)" "$Q" --json fetch --offline --distdir "$D" \
	--extract "$X" "$W/pkg-1.tar.gz#sha256=$SUM"
tap_is "$(tap_json topdir)" "$X/pkg-1" "the top directory is inside it"
tap_is "$(cat "$X/pkg-1/a") $(stat -c %a "$X")" "one 750" "the files are there and the directory keeps its mode"
contract 1 false true "--extract into a directory that is not empty" "$Q" --json fetch --offline --distdir "$D" \
	--extract "$X" "$W/pkg-1.tar.gz#sha256=$SUM"
tap_like "$(tap_json msg)" "exists already and is not empty" "the message says it is not empty"
tap_ok "and what was there is untouched" test -f "$X/pkg-1/a"
ln -s "$X" "$W/xlink"
tap_run 1 "--extract through a symlink is refused" "$Q" fetch --offline --distdir "$D" --extract "$W/xlink" \
	"$W/pkg-1.tar.gz#sha256=$SUM"
tap_like "$TAP_STDERR" "is a symbolic link" "the message says why"
"$PY" - "$W/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("pkg/ok", "../evil"):
        data = b"x\n"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
E2=$(mktemp -d "$W/e.XXXXXX")
tap_run 1 "a hostile archive into an empty directory fails" "$Q" fetch --offline --distdir "$D" --extract "$E2" \
	"$W/evil.tar#sha256=$(sha256sum "$W/evil.tar" | cut -d' ' -f1)"
tap_is "$(test -d "$E2" && ls -A "$E2" | wc -l)" 0 "the directory is kept, and emptied"
tap_ok "nothing escaped" test ! -e "$W/evil"

# --- the man pages: no groff warnings at 60 columns, the version of configure ------
version=$("$Q" --version | sed 's/^qinstall //')
pages=$(ls "$top_srcdir"/doc/*.[0-9])
if command -v groff >/dev/null; then
	for page in $pages; do
		warn=$(groff -t -man -Tutf8 -ww -rLL=60n -z "$page" 2>&1)
		if command -v man >/dev/null; then
			warn=$warn$(MANWIDTH=60 man --warnings -l "$page" 2>&1 >/dev/null)
		fi
		tap_is "$warn" "" "$(basename "$page") renders without warnings at 60 columns"
	done
else
	tap_skip "the man pages render without warnings" "groff is not installed (groff-base)"
fi
for page in $pages; do
	th=$(grep -m1 '^\.TH ' "$page" | "$PY" -c 'import shlex, sys; f = shlex.split(sys.stdin.read()); print(f[4] if len(f) > 4 else "")')
	tap_is "$th" "qinstall $version" "$(basename "$page"): .TH names qinstall $version (AC_INIT's version)"
done
tap_done
