#!/bin/bash
# Scenario: qinstall fetch over ftp:// against a loopback FTP server
# (tests/lib/ftpd.py, pyftpdlib): the real ucspi-tcp-0.88 archive verified
# against its published pin; a wrong pin refused and the bytes moved aside;
# 550 moving on to the next origin at once; a transient 450 retried; a data
# connection dropped mid-file resumed with REST, by the retry and by the next
# run, never sending a byte twice; a server without REST; --offline.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/ftpd.sh"

T=$(tap_tmpdir)
mkdir -p "$T/srv/empty"
export QINSTALL_CACHE_DIR=$T/cache QINSTALL_FETCH_RETRY_DELAY=0.05
F=ucspi-tcp-0.88.tar.gz
PIN=4a0615cab74886f5b4f7e8fd32933a07b955536a3476d74ea087a3ea66a23e9c	# sources.md, = upstream
real=yes
if d=$(bash "$top_srcdir/tests/lib/debsrc.sh" ucspi-tcp 2>/dev/null); then
	cp "$d/ucspi-tcp_0.88.orig.tar.gz" "$T/srv/$F"
else
	tap_diag "Debian's archive cannot be reached: serving random bytes instead"
	head -c 53019 /dev/urandom >"$T/srv/$F"
	real=no
fi
SHA=$(sha256sum <"$T/srv/$F" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/srv/$F")
rc=0; ftpd_start "$T/srv" || rc=$?
[ "$rc" = 2 ] && tap_skip_all "no python3 here has pyftpdlib (Debian: python3-pyftpdlib)"
[ "$rc" = 0 ] || tap_skip_all "cannot start tests/lib/ftpd.py"
sumsent() { awk '{s+=$2} END {print s+0}'; }
n=0
fetch() { # CODE DESC URLPATH [extra options...]: fetch $FTPD_URL/URLPATH into a fresh distdir
	local code=$1 desc=$2; URLPATH=$3; shift 3
	n=$((n + 1)); DIST=$T/d$n
	tap_run "$code" "$desc" "$QINSTALL" --json fetch --distdir "$DIST" "$@" "$FTPD_URL$URLPATH#sha256=$SHA&size=$SIZE"
}
verified() { tap_is "$(sha256sum <"$DIST/$F" 2>/dev/null | cut -d' ' -f1)" "$SHA" "$1"; }

# The real archive, against the pin published for it.
if [ "$real" = yes ]; then
	tap_is "$SHA $SIZE" "$PIN 53019" "the served archive is ucspi-tcp-0.88 as published"
else
	tap_skip "the served archive is ucspi-tcp-0.88 as published" "Debian's archive cannot be reached"
fi
fetch 0 "ftp:// with the pin: fetched" "/$F"
verified "the file on disk holds the pinned bytes"
tap_is "$(tap_json origin) $(tap_json origin_url)" "url $FTPD_URL/$F" \
	"--json names the ftp URL as the origin"
tap_json_is downloaded "$SIZE" "--json: every byte downloaded once"
tap_is "$(ftpd_log_rests "/$F")" "0 $SIZE 226" "one RETR from byte 0, complete"
tap_run 0 "the second time it comes from the cache" "$QINSTALL" --json fetch --distdir "$DIST" "$FTPD_URL/$F#sha256=$SHA"
tap_is "$(tap_json origin) $(tap_json downloaded)" "cache 0" "verified in the cache, nothing downloaded"
tap_is "$(ftpd_log_rests "/$F" | wc -l)" 1 "and the server was not asked again"

# A wrong pin: refused with both hashes, the bytes moved aside.
n=$((n + 1)); DIST=$T/d$n
WRONG=$(printf 'not the archive' | sha256sum | cut -d' ' -f1)
tap_run 1 "a wrong pin is refused" "$QINSTALL" fetch --distdir "$DIST" "$FTPD_URL/$F#sha256=$WRONG"
tap_like "$TAP_STDERR" "SHA-256 mismatch: expected $WRONG, got $SHA" "the error shows both hashes"
tap_is "$(ls "$DIST" | grep -c "^$F\.bad-${SHA:0:12}\$")" 1 "the bytes are moved aside under their own hash"
tap_ok "and not put in place" test ! -e "$DIST/$F"

# 550 (no such file on the mirror): hard, the URL is used at once. A retry
# would wait QINSTALL_FETCH_RETRY_DELAY (3 s) first.
n=$((n + 1)); DIST=$T/d$n
start=$(date +%s.%N)
QINSTALL_FETCH_RETRY_DELAY=3 tap_run 0 "550 on the mirror: the URL is used at once" "$QINSTALL" --json fetch \
	--distdir "$DIST" --mirror "$FTPD_URL/empty" "$FTPD_URL/$F#sha256=$SHA&size=$SIZE"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
tap_ok "no retry, no back-off (took ${elapsed}s)" awk -v e="$elapsed" 'BEGIN {exit !(e < 2.5)}'
tap_is "$(ftpd_log_cmds "/empty/$F" | tr '\n' ' ')" "SIZE 550 " "the mirror was asked once (SIZE, answered 550), never again"
tap_json_is origin url "the file came from the URL"
verified "and holds the pinned bytes"
tap_like "$TAP_STDERR" "$FTPD_URL/empty/$F: .*(does not exist|550)" "the log names the mirror URL and the 550"

# 550 forced on an existing file, with no other origin: exit 1, asked once.
fetch 1 "550 with no other origin fails" "/status=550,times=0/$F"
tap_is "$(ftpd_log_cmds "$URLPATH" | tr '\n' ' ')" "SIZE 213 RETR 550 " "after one RETR only"
tap_unlike "$TAP_STDERR" "retrying" "and without a retry"
tap_like "$TAP_STDERR" "status=550,times=0/$F: .*\(FTP reply 550: no such file, or no access to it\)" \
	"the error names the URL and says what 550 means"

# 450 (file busy) is transient: retried, then the file arrives.
fetch 0 "450 twice, then the file: retried" "/status=450,times=2/$F"
tap_is "$(ftpd_log_rests "$URLPATH" | awk '{print $3}' | tr '\n' ' ')" "450 450 226 " "450, 450, then 226"
tap_like "$TAP_STDERR" "450.*retrying in" "the retry is logged"
verified "the file holds the pinned bytes"

# The data connection dropped mid-file: the retry resumes with REST.
fetch 0 "a data connection dropped mid-file is resumed" "/drop=20000/$F"
verified "the resumed file holds the pinned bytes"
rests=$(ftpd_log_rests "$URLPATH")
tap_is "$(sed -n 1p <<<"$rests")" "0 20000 426" "the first RETR broke after 20000 bytes"
tap_is "$(sed -n 2p <<<"$rests")" "20000 $((SIZE - 20000)) 226" "the retry sent REST 20000 and got the rest"
tap_is "$(sumsent <<<"$rests")" "$SIZE" "no byte was sent twice"
tap_json_is downloaded "$SIZE" "--json: downloaded counts each byte once"

# Dropped on every RETR until the attempts run out: the run fails, keeps
# its .part, and the next run resumes from it.
fetch 1 "drops on every RETR: the run gives up after five" "/drop=8000,times=0/$F"
tap_is "$(stat -c %s "$DIST/$F.part" 2>/dev/null)" 40000 "and keeps the 40000 bytes it got in $F.part"
tap_is "$(ftpd_log_rests "$URLPATH" | awk '{print $1}' | tr '\n' ' ')" "0 8000 16000 24000 32000 " \
	"each attempt resumed where the last one broke"
tap_run 0 "the next run resumes from the .part" "$QINSTALL" --json fetch --distdir "$DIST" "$FTPD_URL/$F#sha256=$SHA&size=$SIZE"
verified "the file holds the pinned bytes"
tap_is "$(ftpd_log_rests "/$F" | tail -1)" "40000 $((SIZE - 40000)) 226" "it sent REST 40000 and got only the rest"
tap_json_is downloaded "$((SIZE - 40000))" "--json: downloaded counts only the rest"

# A server that refuses REST: the .part is started again from byte 0.
n=$((n + 1)); DIST=$T/d$n
mkdir -p "$DIST"
head -c 20000 "$T/srv/$F" >"$DIST/$F.part"
tap_run 0 "a server that refuses REST gets a fresh start" "$QINSTALL" fetch --distdir "$DIST" \
	"$FTPD_URL/norest/$F#sha256=$SHA&size=$SIZE"
verified "and the file holds the pinned bytes"
tap_like "$TAP_STDERR" "does not resume downloads; starting again from byte 0" "the restart is logged"
tap_is "$(ftpd_log_rests "/norest/$F")" "0 $SIZE 226" "one RETR, from byte 0"

# --offline: ftp is a network origin, refused without asking the server.
before=$(wc -l <"$FTPD_LOG")
fetch 1 "--offline refuses ftp://" "/$F" --offline
tap_like "$TAP_STDERR" "$FTPD_URL/$F: skipped \(--offline\)" "the error says the URL was skipped for --offline"
tap_is "$(wc -l <"$FTPD_LOG")" "$before" "the server was not asked"
tap_done
