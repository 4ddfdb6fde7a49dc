# ftpd.sh - start tests/lib/ftpd.py for a scenario test (after tap.sh), as
# httpd.sh does for httpd.py.
#
#   ftpd_start DIR       # serves DIR; sets FTPD_URL (ftp://127.0.0.1:PORT)
#                        # and FTPD_LOG; the server stops when the script
#                        # exits (one server per script). Returns 2 when no
#                        # python3 here has pyftpdlib (Debian: python3-pyftpdlib)
#   ftpd_log_rests PATH  # "rest sent status" of each RETR of PATH, in the
#                        # order they arrived
#   ftpd_log_cmds PATH   # "CMD status" of each SIZE and RETR of PATH
: "${PYTHON3:=python3}"

# The python3 that has pyftpdlib: $PYTHON3, else the distribution's own
# (a python3 earlier in PATH, such as a pyenv one, does not see Debian's
# python3-pyftpdlib).
_ftpd_python() {
	local py
	for py in "$PYTHON3" /usr/bin/python3; do
		"$py" -c 'import pyftpdlib' 2>/dev/null && { printf '%s\n' "$py"; return 0; }
	done
	return 1
}

ftpd_start() {
	local dir=$1 state py
	py=$(_ftpd_python) || return 2
	FTPD_PYTHON=$py
	state=$(tap_tmpdir)
	FTPD_LOG=$state/log
	: >"$FTPD_LOG"
	"$py" "$top_srcdir/tests/lib/ftpd.py" --root "$dir" --port-file "$state/port" \
		--log "$FTPD_LOG" >/dev/null 2>"$state/stderr" &
	FTPD_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$state/port" ] && break
		sleep 0.05
	done
	[ -s "$state/port" ] || return 1
	FTPD_URL=ftp://127.0.0.1:$(cat "$state/port")
	trap '_ftpd_stop; _tap_cleanup' EXIT
}

_ftpd_stop() {
	[ -n "${FTPD_PID:-}" ] && kill "$FTPD_PID" 2>/dev/null && wait "$FTPD_PID" 2>/dev/null
	FTPD_PID=
	return 0
}

ftpd_log_rests() { _ftpd_log "$1" rests; }
ftpd_log_cmds() { _ftpd_log "$1" cmds; }

_ftpd_log() {
	"$FTPD_PYTHON" - "$FTPD_LOG" "$1" "$2" <<'PY'
import json, sys, time
# Wait (up to 5 s) until every RETR that began has ended: a transfer the
# client gave up on may still be ending on the server's side.
for _ in range(100):
    lines = [json.loads(l) for l in open(sys.argv[1])]
    begun = {e["seq"] for e in lines if e.get("begin")}
    ended = {e["seq"] for e in lines if not e.get("begin")}
    if begun <= ended:
        break
    time.sleep(0.05)
entries = sorted((e for e in lines if not e.get("begin")), key=lambda e: e["seq"])
for e in entries:
    if e["path"] != sys.argv[2]:
        continue
    if sys.argv[3] == "cmds":
        print(e["cmd"], e["status"])
    elif e["cmd"] == "RETR":
        print(e["rest"], e["sent"], e["status"])
PY
}
