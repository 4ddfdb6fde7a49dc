# httpd.sh - start tests/lib/httpd.py for a scenario test (after tap.sh).
#
#   httpd_start DIR [--tls CERT KEY]
#                        # serves DIR; sets HTTPD_URL (http://127.0.0.1:PORT,
#                        # https:// with --tls) and HTTPD_LOG; the server stops
#                        # when the script exits (one server per script)
#   httpd_log_ranges PATH  # "range start sent status" of each request for PATH,
#                          # in the order the requests arrived
: "${PYTHON3:=python3}"

httpd_start() {
	local dir=$1 state scheme=http
	shift
	[ "${1:-}" = --tls ] && scheme=https
	state=$(tap_tmpdir)
	HTTPD_LOG=$state/log
	: >"$HTTPD_LOG"
	"$PYTHON3" "$top_srcdir/tests/lib/httpd.py" --root "$dir" --port-file "$state/port" \
		--log "$HTTPD_LOG" "$@" >/dev/null 2>"$state/stderr" &
	HTTPD_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$state/port" ] && break
		sleep 0.05
	done
	[ -s "$state/port" ] || return 1
	HTTPD_URL=$scheme://127.0.0.1:$(cat "$state/port")
	trap '_httpd_stop; _tap_cleanup' EXIT
}

_httpd_stop() {
	[ -n "${HTTPD_PID:-}" ] && kill "$HTTPD_PID" 2>/dev/null && wait "$HTTPD_PID" 2>/dev/null
	HTTPD_PID=
	return 0
}

httpd_log_ranges() {
	"$PYTHON3" - "$HTTPD_LOG" "$1" <<'PY'
import json, sys, time
# Wait (up to 5 s) until every request that began has ended: a request the
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
    if e["path"] == sys.argv[2]:
        print(e["range"] or "-", e["start"], e["sent"], e["status"])
PY
}
