#!/bin/bash
# Scenario: qinstall fetch with the real ucspi-tcp-0.88 and daemontools-0.76
# archives (Debian's orig tarballs, byte-identical to upstream, obtained at
# test time) served over loopback HTTP: fetch, verify, cache, mirror,
# offline, extract, JSON, usage errors; nothing written into ROOT.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"

UCSPI=4a0615cab74886f5b4f7e8fd32933a07b955536a3476d74ea087a3ea66a23e9c
DAEMON=a55535012b2be7a52dcd9eccabb9a198b13be50d0384143bd3b32b8710df4c1f
T=$(tap_tmpdir)
mkdir -p "$T/srv" "$T/root"
export QINSTALL_CACHE_DIR=$T/cache QINSTALL_FETCH_RETRY_DELAY=0.05
for pkg in ucspi-tcp:0.88 daemontools:0.76; do
	name=${pkg%%:*} ver=${pkg#*:}
	d=$(bash "$top_srcdir/tests/lib/debsrc.sh" "$name") ||
		tap_skip_all "Debian's source archive cannot be reached for $name"
	cp "$d/${name}_$ver.orig.tar.gz" "$T/srv/$name-$ver.tar.gz"
done
httpd_start "$T/srv" || tap_skip_all "cannot start tests/lib/httpd.py"
U=$HTTPD_URL/ucspi-tcp-0.88.tar.gz
D=$T/dist

tap_run 0 "fetch ucspi-tcp over HTTP with its pinned SHA-256 and size" \
	"$QINSTALL" --root "$T/root" fetch --distdir "$D" "$U#sha256=$UCSPI&size=53019"
tap_is "$TAP_STDOUT" "$D/ucspi-tcp-0.88.tar.gz" "prints the path of the verified file"
tap_is "$(sha256sum <"$D/ucspi-tcp-0.88.tar.gz" | cut -d' ' -f1)" "$UCSPI" "the file holds the pinned bytes"
tap_is "$(ls "$D")" "ucspi-tcp-0.88.tar.gz" "no .part or other file is left in the distdir"
tap_is "$(find "$T/root" -mindepth 1 | wc -l)" 0 "nothing is written into ROOT"
tap_like "$TAP_STDERR" "fetched ucspi-tcp-0.88.tar.gz: .* from $HTTPD_URL" "one line on stderr when it is done"

tap_run 0 "fetching again answers from the cache" \
	"$QINSTALL" --json fetch --distdir "$D" "$U#sha256=$UCSPI&size=53019"
tap_json_is origin cache "--json: origin is the cache"
tap_json_is downloaded 0 "--json: nothing downloaded"
tap_json_is changed false "--json: nothing changed"
tap_is "$(httpd_log_ranges /ucspi-tcp-0.88.tar.gz | wc -l)" 1 "the server saw one request in all"

# Both hashes pinned, default distdir under --cache-dir, --json keys.
SHA512=$(sha512sum <"$T/srv/daemontools-0.76.tar.gz" | cut -d' ' -f1)
tap_run 0 "fetch daemontools with SHA-256 and SHA-512 pinned" \
	"$QINSTALL" --json fetch "$HTTPD_URL/daemontools-0.76.tar.gz#sha512=$SHA512&sha256=$DAEMON&size=36975"
tap_json_is path "$T/cache/distfiles/daemontools-0.76.tar.gz" "--json: path in CACHE_DIR/distfiles"
tap_json_is sha256 "$DAEMON" "--json: sha256"
tap_json_is sha512 "$SHA512" "--json: sha512"
tap_json_is size 36975 "--json: size"
tap_json_is origin url "--json: origin is the URL"
tap_json_is origin_url "$HTTPD_URL/daemontools-0.76.tar.gz" "--json: origin_url"
tap_json_is downloaded 36975 "--json: bytes downloaded"
tap_json_is changed true "--json: changed"

# --extract: the real trees, their top directories found.
tap_run 0 "fetch --extract ucspi-tcp" "$QINSTALL" fetch --distdir "$D" --extract "$T/x1" "$U#sha256=$UCSPI"
tap_is "$(tail -1 <<<"$TAP_STDOUT")" "$T/x1/ucspi-tcp-0.88" "prints the top directory"
tap_ok "tcpserver.c is there" test -f "$T/x1/ucspi-tcp-0.88/tcpserver.c"
tap_mode_is "$T/x1" 0700 "the extraction directory is private (0700)"
tap_is "$(find "$T/x1" -perm /6000 | wc -l)" 0 "no set-id file in the tree"
tap_run 0 "fetch --extract daemontools" "$QINSTALL" --json fetch --extract "$T/x2" \
	"$HTTPD_URL/daemontools-0.76.tar.gz#sha256=$DAEMON"
tap_json_is topdir "$T/x2/admin" "daemontools' top directory is admin/"
tap_ok "package/install is there" test -f "$T/x2/admin/daemontools-0.76/package/install"
tap_run 1 "--extract into an existing directory is refused" \
	"$QINSTALL" fetch --distdir "$D" --extract "$T/x1" "$U#sha256=$UCSPI"
tap_like "$TAP_STDERR" "exists already" "the error says the directory exists"
tap_ok "and the existing tree is untouched" test -f "$T/x1/ucspi-tcp-0.88/tcpserver.c"

# A wrong pin: refused with both hashes, the bytes moved aside.
WRONG=$(printf '%064d' 0)
tap_run 1 "a wrong pin is refused" "$QINSTALL" fetch --distdir "$T/d2" "$U#sha256=$WRONG"
tap_like "$TAP_STDERR" "expected $WRONG, got $UCSPI" "the error gives the expected and the actual hash"
tap_ok "the mismatching bytes are moved aside" test -f "$T/d2/ucspi-tcp-0.88.tar.gz.bad-${UCSPI:0:12}"
tap_ok "and never put in place" test ! -e "$T/d2/ucspi-tcp-0.88.tar.gz"

# --mirror first; a dead URL does not matter then.
tap_run 0 "--mirror is tried first" "$QINSTALL" --json fetch --distdir "$T/d3" --mirror "$HTTPD_URL/" \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI"
tap_json_is origin mirror "--json: origin is the mirror"
tap_json_is origin_url "$HTTPD_URL/ucspi-tcp-0.88.tar.gz" "the mirror URL is BASE/FILE"

# --offline: only the cache and file: URLs.
tap_run 1 "--offline does not use HTTP" "$QINSTALL" fetch --offline --distdir "$T/d4" "$U#sha256=$UCSPI"
tap_like "$TAP_STDERR" "skipped \(--offline\)" "the error says why"
tap_run 0 "--offline uses the cache" "$QINSTALL" fetch --offline --distdir "$D" "$U#sha256=$UCSPI"
tap_run 0 "--offline uses a file: URL" "$QINSTALL" fetch --offline --distdir "$T/d4" \
	"file://$T/srv/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI"

# Progress: a bar on a terminal, one plain line otherwise.
if command -v script >/dev/null; then
	out=$(script -qec "'$QINSTALL' fetch --distdir '$T/d6' '$HTTPD_URL/trickle=20000/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI&size=53019'" /dev/null)
	tap_like "$out" "ucspi-tcp-0.88.tar.gz +\[#{20}\] +100% +51\.8 KiB" "on a terminal, a progress bar reaching 100%"
	tap_is "$(tr -cd '\r' <<<"$out" | wc -c | awk '{print ($1 > 1)}')" 1 "redrawn in place"
else
	tap_skip "on a terminal, a progress bar" "script(1) is not installed (util-linux)"
	tap_skip "redrawn in place" "script(1) is not installed (util-linux)"
fi
tap_run 0 "not on a terminal" "$QINSTALL" fetch --distdir "$T/d7" "$U#sha256=$UCSPI"
tap_is "$(tr -cd '\r' <<<"$TAP_STDERR" | wc -c)" 0 "no bar: no carriage return on stderr"

# --check writes nothing.
tap_run 0 "--check says what it would do" "$QINSTALL" --check fetch --distdir "$T/d5" "$U#sha256=$UCSPI"
tap_like "$TAP_STDOUT" "would fetch" "and says it would fetch"
tap_ok "--check created nothing" test ! -e "$T/d5"

# Usage errors.
tap_run 2 "no pin is a usage error" "$QINSTALL" fetch "$U"
tap_like "$TAP_STDERR" "never uses unverified bytes" "the error says why a pin is needed"
tap_run 2 "no operand is a usage error" "$QINSTALL" fetch
tap_run 2 "a malformed hash is a usage error" "$QINSTALL" fetch "$U#sha256=xyz"
tap_done
