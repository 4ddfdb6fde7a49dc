#!/bin/bash
# Scenario: qinstall fetch against a server that misbehaves on demand
# (tests/lib/httpd.py): a dropped connection resumed without downloading a
# byte twice, 503 with Retry-After, 5xx to the end, 404, Range ignored, a
# trickle below the low-speed limit, wrong bytes, redirects (never to a local
# file), a body larger than the pinned size. The file served is the real
# ucspi-tcp-0.88 archive when Debian's archive can be reached, else random
# bytes of a similar size (the behaviours are the same).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"

T=$(tap_tmpdir)
mkdir -p "$T/srv"
export QINSTALL_CACHE_DIR=$T/cache QINSTALL_FETCH_RETRY_DELAY=0.05
F=ucspi-tcp-0.88.tar.gz
if d=$(bash "$top_srcdir/tests/lib/debsrc.sh" ucspi-tcp 2>/dev/null); then
	cp "$d/ucspi-tcp_0.88.orig.tar.gz" "$T/srv/$F"
else
	tap_diag "Debian's archive cannot be reached: serving random bytes instead"
	head -c 53019 /dev/urandom >"$T/srv/$F"
fi
SHA=$(sha256sum <"$T/srv/$F" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/srv/$F")
httpd_start "$T/srv" || tap_skip_all "cannot start tests/lib/httpd.py"
n=0
fetch() { # CODE DESC MODES [extra options...]: fetch $HTTPD_URL/MODES/$F into a fresh distdir
	local code=$1 desc=$2 modes=$3; shift 3
	n=$((n + 1)); DIST=$T/d$n; URLPATH=/$modes/$F
	tap_run "$code" "$desc" "$QINSTALL" --json fetch --distdir "$DIST" "$@" "$HTTPD_URL$URLPATH#sha256=$SHA&size=$SIZE"
}
verified() { tap_is "$(sha256sum <"$DIST/$F" 2>/dev/null | cut -d' ' -f1)" "$SHA" "$1"; }

# Dropped connection: the retry resumes at the byte where it broke.
fetch 0 "a connection dropped mid-body is resumed" "drop=20000"
verified "the resumed file holds the pinned bytes"
ranges=$(httpd_log_ranges "$URLPATH")
tap_is "$(wc -l <<<"$ranges")" 2 "two requests: the first and one resume"
tap_is "$(sed -n 1p <<<"$ranges")" "- 0 20000 200" "the first request sent 20000 bytes before the drop"
tap_is "$(sed -n 2p <<<"$ranges")" "bytes=20000- 20000 $((SIZE - 20000)) 206" "the resume asked for byte 20000 on"
tap_is "$(awk '{s+=$3} END {print s}' <<<"$ranges")" "$SIZE" "no byte was sent twice"
tap_json_is downloaded "$SIZE" "--json: downloaded counts each byte once"

# Drops on every request: each retry resumes and adds to the file.
fetch 0 "drops on every request still get there by resuming" "drop=15000,times=0"
verified "the file assembled from four pieces holds the pinned bytes"
tap_is "$(httpd_log_ranges "$URLPATH" | awk '{s+=$3} END {print s}')" "$SIZE" "still no byte sent twice"

# 503 with Retry-After: honoured.
start=$(date +%s.%N)
fetch 0 "503 with Retry-After is retried" "status=503,retryafter=1,times=2"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
verified "and the file arrives"
tap_is "$(httpd_log_ranges "$URLPATH" | awk '{print $4}' | tr '\n' ' ')" "503 503 200 " "503, 503, then 200"
tap_ok "Retry-After: 1 was honoured twice (took ${elapsed}s)" awk -v e="$elapsed" 'BEGIN {exit !(e >= 2)}'
tap_like "$TAP_STDERR" "HTTP 503; retrying in 1.0s \(attempt 2 of 5\) as the server asked" "the retry is logged with its wait"

# Retry-After beyond the cap is capped.
start=$(date +%s.%N)
QINSTALL_FETCH_RETRY_MAX=0.5 fetch 0 "a Retry-After beyond the cap is capped" "status=429,retryafter=3600"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
tap_ok "waited the cap, not an hour (took ${elapsed}s)" awk -v e="$elapsed" 'BEGIN {exit !(e < 10)}'
tap_like "$TAP_STDERR" "as the server asked, capped" "the log says the wait was capped"

# 500 on every request: five attempts, then failure; the error body never kept.
fetch 1 "500 on every request fails after the retries" "status=500,times=0"
tap_is "$(httpd_log_ranges "$URLPATH" | wc -l)" 5 "five attempts in all"
tap_like "$TAP_STDERR" "  $HTTPD_URL$URLPATH: HTTP 500 \(gave up after 5 attempts\)" "the error says why, and that it gave up"
tap_is "$(grep -rl 'error page' "$DIST" 2>/dev/null | wc -l)" 0 "the error body was never kept"
tap_ok "no file in place" test ! -e "$DIST/$F"

# 404: a hard failure, no retry; the next origin is tried at once.
n=$((n + 1)); DIST=$T/d$n
tap_run 0 "404 on the mirror: the URL is used at once" "$QINSTALL" --json fetch --distdir "$DIST" \
	--mirror "$HTTPD_URL/status=404,times=0" "$HTTPD_URL/$F#sha256=$SHA"
tap_is "$(httpd_log_ranges "/status=404,times=0/$F" | wc -l)" 1 "the 404 was asked once only"
tap_json_is origin url "the file came from the URL"

# A server that ignores Range: start again from zero.
n=$((n + 1)); DIST=$T/d$n
mkdir -p "$DIST"
head -c 20000 "$T/srv/$F" >"$DIST/$F.part"
URLPATH=/norange/$F
tap_run 0 "a server that ignores Range gets a fresh start" "$QINSTALL" fetch --distdir "$DIST" "$HTTPD_URL$URLPATH#sha256=$SHA"
verified "and the file holds the pinned bytes"
tap_like "$TAP_STDERR" "does not resume downloads; starting again from byte 0" "the restart is logged"
tap_is "$(httpd_log_ranges "$URLPATH" | awk '{print $1, $4}' | tr '\n' ' ')" "bytes=20000- 200 - 200 " \
	"asked for byte 20000, got 200, asked again from zero"

# Trickle below the low-speed limit: a time-out, then a resume.
export QINSTALL_FETCH_LOW_SPEED_TIME=1
fetch 0 "a trickle below the low-speed limit times out and resumes" "trickle=40"
unset QINSTALL_FETCH_LOW_SPEED_TIME
verified "and the file holds the pinned bytes"
ranges=$(httpd_log_ranges "$URLPATH")
first=$(sed -n 1p <<<"$ranges" | awk '{print $3}') second=$(sed -n 2p <<<"$ranges" | awk '{print $1}')
tap_ok "the second request resumed where the trickle stopped ($second after $first bytes sent)" \
	test "${second#bytes=}" != "$second" -a "${second#bytes=}" != "0-"
tap_like "$TAP_STDERR" "Operation too slow|timed out|Timeout" "the time-out is logged"

# Wrong bytes: refused, moved aside.
fetch 1 "wrong bytes are refused" "wrong,times=0"
tap_like "$TAP_STDERR" "SHA-256 mismatch: expected $SHA, got [0-9a-f]{64}" "both hashes in the error"
tap_is "$(ls "$DIST" | grep -c '\.bad-')" 1 "the bytes are moved aside"
tap_ok "and not put in place" test ! -e "$DIST/$F"

# Redirects: followed to HTTP, never to a local file.
fetch 0 "a redirect is followed" "redirect"
verified "the redirected file holds the pinned bytes"
fetch 1 "a redirect to a file: URL is refused" "tofile"
tap_like "$TAP_STDERR" "[Pp]rotocol|not allowed|disabled" "the error says the protocol is not allowed"

# Larger than pinned: cut off, whatever the hash.
n=$((n + 1)); DIST=$T/d$n
tap_run 1 "a body larger than the pinned size is cut off" "$QINSTALL" fetch --distdir "$DIST" \
	"$HTTPD_URL/$F#sha256=$SHA&size=1000"
tap_like "$TAP_STDERR" "more than the pinned 1000 bytes" "the error names the pinned size"

# Two qinstall fetching the same file at once: the second waits for the
# first (the .part is locked), then takes the file from the cache.
n=$((n + 1)); DIST=$T/d$n
"$QINSTALL" fetch --distdir "$DIST" "$HTTPD_URL/trickle=2000/$F#sha256=$SHA&size=$SIZE" >/dev/null 2>&1 &
first=$!
for _ in $(seq 100); do [ -e "$DIST/$F.part" ] && break; sleep 0.05; done
tap_run 0 "a second qinstall fetching the same file at the same time succeeds" \
	"$QINSTALL" --json fetch --distdir "$DIST" "$HTTPD_URL/$F#sha256=$SHA&size=$SIZE"
tap_like "$TAP_STDERR" "waiting for another qinstall that is downloading $F" "it waited for the first"
tap_is "$(tap_json origin) $(tap_json downloaded)" "cache 0" \
	"then took the file from the cache, downloading nothing"
rc=0; wait "$first" || rc=$?
tap_is "$rc" 0 "the first qinstall succeeded too"
verified "the file holds the pinned bytes"

# A qinstall killed mid-download leaves its .part; the next run hashes it
# and asks only for the rest.
n=$((n + 1)); DIST=$T/d$n
"$QINSTALL" fetch --distdir "$DIST" "$HTTPD_URL/trickle=2000,times=0/$F#sha256=$SHA&size=$SIZE" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 200); do [ "$(stat -c %s "$DIST/$F.part" 2>/dev/null || echo 0)" -gt 10000 ] && break; sleep 0.05; done
kill -9 "$victim"; wait "$victim" 2>/dev/null
have=$(stat -c %s "$DIST/$F.part" 2>/dev/null || echo 0)
tap_ok "the killed run left $have bytes in $F.part" test "$have" -gt 0 -a "$have" -lt "$SIZE"
URLPATH=/times=1/$F
tap_run 0 "the next run resumes from the .part" "$QINSTALL" --json fetch --distdir "$DIST" "$HTTPD_URL$URLPATH#sha256=$SHA&size=$SIZE"
verified "the resumed file holds the pinned bytes"
tap_is "$(httpd_log_ranges "$URLPATH" | awk '{print $1}')" "bytes=$have-" "it asked only for the bytes after those on disk"
tap_json_is downloaded "$((SIZE - have))" "--json: downloaded counts only the rest"

# Refused connection: a hard failure, at once.
start=$(date +%s)
QINSTALL_FETCH_RETRY_DELAY=5 tap_run 1 "a refused connection fails" "$QINSTALL" fetch --distdir "$T/dz" \
	"http://127.0.0.1:1/$F#sha256=$SHA"
tap_ok "without retries (no 5 s wait)" test $(($(date +%s) - start)) -lt 4
tap_like "$TAP_STDERR" "127.0.0.1:1/$F: .*(refused|connect)" "the error names the URL and the refusal"
# A name that does not resolve (.invalid never does): a hard failure too.
tap_run 1 "a host name that does not resolve fails" "$QINSTALL" fetch --distdir "$T/dy" \
	"http://qinstall-test.invalid/$F#sha256=$SHA"
tap_like "$TAP_STDERR" "qinstall-test.invalid/$F: .*resolve" "the error says the name does not resolve"
tap_unlike "$TAP_STDERR" "retrying" "and it was not retried"
tap_done
