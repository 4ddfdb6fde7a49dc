# netns.sh - a private network and PID namespace for the system tests that
# run servers (after tap.sh): a holder process is pid 1 of a new PID
# namespace in a new network namespace with only loopback (up); whatever
# runs there dies with it.
#
#   netns_require        # skips the script unless unshare, nsenter, ip
#                        # and pgrep are there
#   netns_start          # sets NS (the holder's pid); returns 1 on failure
#   in_ns CMD...         # runs CMD in the namespace
#   netns_peer ADDR PEER # a second namespace (PEER_NS), another host: a
#                        # veth link to it, ADDR/24 on this side, PEER/24
#                        # on its side (after netns_start)
#   in_peer CMD...       # runs CMD in the peer's namespace
#   netns_stop           # kills the holders and so everything in them
#   wait_port PORT [ADDR]  # until something listens on ADDR (127.0.0.1):PORT
#                          # in the namespace (15 s)
# netns_start sets the EXIT trap to stop the namespace before the cleanup.
: "${PYTHON3:=python3}"
NS= PEER_NS=
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
netns_peer() {
	unshare -n -p -f --kill-child sleep 3600 &
	local u=$! i
	for i in $(seq 50); do PEER_NS=$(pgrep -P "$u" sleep) && break; sleep 0.1; done
	[ -n "$PEER_NS" ] || return 1
	nsenter -t "$PEER_NS" -n ip link set lo up &&
		nsenter -t "$NS" -n ip link add name qi-near type veth peer name qi-far netns "$PEER_NS" &&
		in_ns ip addr add "$1/24" dev qi-near && in_ns ip link set qi-near up &&
		in_peer ip addr add "$2/24" dev qi-far && in_peer ip link set qi-far up
}
in_peer() { nsenter -t "$PEER_NS" -n -p "$@"; }
netns_stop() {
	[ -n "$PEER_NS" ] && kill -KILL "$PEER_NS" 2>/dev/null
	[ -n "$NS" ] && kill -KILL "$NS" 2>/dev/null
	NS= PEER_NS=
	sleep 0.5
}

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
