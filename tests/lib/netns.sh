# netns.sh - a private network and PID namespace for the system tests that
# run servers (after tap.sh): a holder process is pid 1 of a new PID
# namespace in a new network namespace with only loopback (up); whatever
# runs there dies with it.
#
#   netns_require        # skips the script unless unshare, nsenter, ip
#                        # and pgrep are there
#   netns_start          # sets NS (the holder's pid); returns 1 on failure
#   in_ns CMD...         # runs CMD in the namespace
#   netns_stop           # kills the holder and so everything in it
#   wait_port PORT [ADDR]  # until something listens on ADDR (127.0.0.1):PORT
#                          # in the namespace (15 s)
# netns_start sets the EXIT trap to stop the namespace before the cleanup.
: "${PYTHON3:=python3}"
NS=
netns_require() {
	local t
	for t in unshare nsenter ip pgrep; do
		command -v "$t" >/dev/null || tap_skip_all "$t is needed for the private network and PID namespace"
	done
}

netns_start() {
	unshare -n -p -f --kill-child sleep 3600 &
	local u=$! i
	for i in $(seq 50); do NS=$(pgrep -P "$u" sleep) && break; sleep 0.1; done
	[ -n "$NS" ] || return 1
	trap 'netns_stop; _tap_cleanup' EXIT
	nsenter -t "$NS" -n ip link set lo up
}
in_ns() { nsenter -t "$NS" -n -p "$@"; }
netns_stop() { [ -n "$NS" ] && kill -KILL "$NS" 2>/dev/null; NS=; sleep 0.5; }

wait_port() {
	in_ns "$PYTHON3" - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys, time
for _ in range(150):
    try:
        socket.create_connection((sys.argv[2], int(sys.argv[1])), 1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}
