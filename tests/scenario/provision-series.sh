#!/bin/bash
# Scenario: a patch series taken from inside an archive — Debian's
# debian.tar.xz with its quilt series — instead of the project's own
# patches: by pinned URL (served on loopback), by local file, and from the
# Debian source package itself (debian#sha256=...); a wrong pin and a
# missing series file stop before ROOT is touched.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
ucspi_deb=$(bash "$top_srcdir/tests/lib/debsrc.sh" ucspi-tcp)/ucspi-tcp_0.88-7.debian.tar.xz
dt_deb=$(bash "$top_srcdir/tests/lib/debsrc.sh" daemontools)/daemontools_0.76-8.1.debian.tar.xz
[ -f "$ucspi_deb" ] && [ -f "$dt_deb" ] || tap_skip_all "Debian's debian.tar.xz of ucspi-tcp or daemontools is missing"
cp "$ucspi_deb" "$M/"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
ucspi_sha=$(sha256sum <"$ucspi_deb" | cut -c1-64)
P=$(tap_tmpdir)
untouched() { [ -z "$(find "$1" -mindepth 1 | head -1)" ]; }

cat >"$P/debian.profile" <<EOF
[profile]
include = ucspi-daemontools
[component ucspi-tcp]
patch =
series_archive = $HTTPD_URL/ucspi-tcp_0.88-7.debian.tar.xz#sha256=$ucspi_sha
[component daemontools]
patch =
series_archive = $dt_deb
EOF
R=$(tap_tmpdir)
tap_run 0 "plan with Debian's series" "$QINSTALL" --root "$R" plan -p "$P/debian.profile"
tap_like "$TAP_STDOUT" 'ucspi-tcp: take the patch series from an archive' "plan lists the series step"
tap_run 0 "provision with Debian's series (URL and file)" "$QINSTALL" --root "$R" --json provision \
	-p "$P/debian.profile" --mirror "$HTTPD_URL"
tap_like "$TAP_STDERR" 'ucspi-tcp: 5 patches from the series' "all five patches of ucspi-tcp's series were read"
tap_like "$TAP_STDERR" 'daemontools: 3 patches from the series' "all three of daemontools' series were read"
tap_like "$(tap_json components.0.patches.#.patch)" '0004-respect-DESTDIR-variable\.patch' "the patch report names Debian's patches"
tap_is "$(grep -c 'rbl.maps.vix.com' "$R/usr/local/bin/rblsmtpd")" 0 \
	"Debian's rblsmtpd patch is in (no default rbl.maps.vix.com)"
tap_ok "the Debian-patched tcpserver runs" sh -c "'$R/usr/local/bin/tcpserver' 2>&1 | grep -q usage"
R0=$(tap_tmpdir)
tap_run 0 "provision with the project's own patches" "$QINSTALL" --root "$R0" provision -p ucspi-daemontools --mirror "$HTTPD_URL"
tap_is "$(grep -c 'rbl.maps.vix.com' "$R0/usr/local/bin/rblsmtpd")" 1 "which keep upstream's default RBL"

# The same series from the Debian source package itself: same pin, same build.
cat >"$P/from-debian.profile" <<EOF
[profile]
include = ucspi-tcp
[component ucspi-tcp]
patch =
series_archive = debian#sha256=$ucspi_sha
EOF
R2=$(tap_tmpdir)
tap_run 0 "series_archive = debian#sha256=... (same pin)" "$QINSTALL" --root "$R2" --json provision -p "$P/from-debian.profile"
tap_is "$(tap_json components.0.cached)" true "the same pinned series by another origin reuses the build"

# A wrong pin of the Debian series: refused, ROOT untouched.
cat >"$P/bad-pin.profile" <<EOF
[profile]
include = ucspi-tcp
[component ucspi-tcp]
patch =
series_archive = debian#sha256=$(printf '%064d' 0)
EOF
R3=$(tap_tmpdir)
tap_run 1 "a wrong pin of Debian's series fails" "$QINSTALL" --root "$R3" provision -p "$P/bad-pin.profile"
tap_like "$TAP_STDERR" "the profile pins 0{64} \(refusing its patches\)" "and gives both hashes"
tap_ok "a wrong pin of Debian's series: ROOT is untouched" untouched "$R3"

# A series file that is not in the archive.
cat >"$P/no-series.profile" <<EOF
[profile]
include = ucspi-tcp
[component ucspi-tcp]
patch =
series_archive = $ucspi_deb
series = debian/patches/nope
EOF
R3=$(tap_tmpdir)
tap_run 1 "a missing series file fails" "$QINSTALL" --root "$R3" provision -p "$P/no-series.profile"
tap_like "$TAP_STDERR" "has no readable debian/patches/nope" "and names it"
tap_ok "a missing series file: ROOT is untouched" untouched "$R3"

# debian#... without a Debian origin is a profile error.
cat >"$P/no-origin.profile" <<EOF
[component solo]
version = 1
url = https://example.invalid/solo-1.tar.gz
sha256 = $ucspi_sha
program = solo
series_archive = debian#sha256=$ucspi_sha
EOF
R3=$(tap_tmpdir)
tap_run 2 "series_archive = debian#... without 'debian' is a usage error" "$QINSTALL" --root "$R3" plan -p "$P/no-origin.profile"
tap_like "$TAP_STDERR" "no-origin.profile:6: series_archive = debian#... needs 'debian = PACKAGE VERSION'" "and says what is missing"
tap_done
