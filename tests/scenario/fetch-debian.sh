#!/bin/bash
# Scenario: Debian's source archive as the second origin, end to end: a
# source whose only URL is dead arrives through `apt-get source` run by
# qinstall with a private apt configuration (in a temporary cache dir),
# verified against the same pins as upstream's archive.
. "$top_srcdir/tests/lib/tap.sh"

T=$(tap_tmpdir)
UCSPI=4a0615cab74886f5b4f7e8fd32933a07b955536a3476d74ea087a3ea66a23e9c
DAEMON=a55535012b2be7a52dcd9eccabb9a198b13be50d0384143bd3b32b8710df4c1f
command -v apt-get >/dev/null || tap_skip_all "apt-get is not installed"
# The same archive, reached the same way by the test helper: when it cannot
# be reached, the origin cannot be tested here.
QI_DEBSRC_CACHE=$T/probe bash "$top_srcdir/tests/lib/debsrc.sh" ucspi-tcp >/dev/null 2>&1 ||
	tap_skip_all "Debian's source archive cannot be reached from this machine"
export QINSTALL_CACHE_DIR=$T/cache
apt_before=$(md5sum /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | md5sum)

tap_run 0 "a dead URL with debian= arrives through apt" "$QINSTALL" --json fetch \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI&size=53019&debian=ucspi-tcp/1:0.88-7"
tap_json_is origin debian "--json: origin is debian"
tap_json_is origin_url "ucspi-tcp=1:0.88-7" "--json: the package and version used"
tap_is "$(sha256sum <"$T/cache/distfiles/ucspi-tcp-0.88.tar.gz" | cut -d' ' -f1)" "$UCSPI" \
	"the orig tarball is in place under the upstream name, with upstream's bytes"
tap_is "$(ls -A "$T/cache/distfiles")" "ucspi-tcp-0.88.tar.gz" "no work directory or .part is left"
tap_ok "the private apt configuration lives in the cache dir" test -s "$T/cache/apt/sources.list"
tap_like "$(cat "$T/cache/apt/sources.list")" "^deb-src " "it holds deb-src lines derived from the machine's"
tap_is "$(md5sum /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | md5sum)" "$apt_before" \
	"the machine's apt sources are unchanged"
tap_like "$TAP_STDERR" "127.0.0.1:1/.*\(trying the next origin\)" "the dead URL is reported before moving on"

tap_run 0 "daemontools through the same private configuration, with --extract" "$QINSTALL" --json fetch \
	--extract "$T/x" "http://127.0.0.1:1/daemontools-0.76.tar.gz#sha256=$DAEMON&debian=daemontools/1:0.76-8.1"
tap_ok "the tree is extracted" test -f "$T/x/admin/daemontools-0.76/package/install"

QINSTALL_CACHE_DIR=$T/new/cache tap_run 0 "with --distdir elsewhere, the private apt directory is made under a new cache dir" \
	"$QINSTALL" fetch --distdir "$T/d0" \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI&debian=ucspi-tcp/1:0.88-7"
tap_ok "the file is in the distdir" test -f "$T/d0/ucspi-tcp-0.88.tar.gz"

tap_run 1 "pins that Debian's file does not match are refused" "$QINSTALL" fetch --distdir "$T/d2" \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$DAEMON&debian=ucspi-tcp/1:0.88-7"
tap_like "$TAP_STDERR" "expected $DAEMON, got $UCSPI" "with both hashes"
tap_ok "and Debian's file is moved aside" test -f "$T/d2/ucspi-tcp-0.88.tar.gz.bad-${UCSPI:0:12}"

tap_run 1 "a version Debian does not have fails" "$QINSTALL" fetch --distdir "$T/d3" \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI&debian=ucspi-tcp/9:9.99-1"
tap_like "$TAP_STDERR" "apt-get source ucspi-tcp=9:9.99-1" "the error names the package and version"
tap_is "$(ls -A "$T/d3" | grep -c '^\.debian-')" 0 "the work directory is removed"
tap_run 1 "--offline never asks apt" "$QINSTALL" fetch --offline --distdir "$T/d4" \
	"http://127.0.0.1:1/ucspi-tcp-0.88.tar.gz#sha256=$UCSPI&debian=ucspi-tcp/1:0.88-7"
tap_like "$TAP_STDERR" "Debian source ucspi-tcp: skipped \(--offline\)" "and says so"
tap_done
