#!/bin/bash
# Scenario: hostile archives, generated here with Python's tarfile, through
# `qinstall fetch --offline --extract`: each is refused (set-id bits are
# dropped instead), the extraction directory is removed, and nothing is
# written outside it (a sentinel directory stays empty, /etc/passwd intact).
. "$top_srcdir/tests/lib/tap.sh"

T=$(tap_tmpdir)
mkdir -p "$T/h" "$T/sentinel" "$T/work"
export QINSTALL_CACHE_DIR=$T/cache
"$PYTHON3" - "$T/h" "$T/sentinel" <<'PY' || tap_skip_all "cannot generate the archives with Python's tarfile"
import gzip, io, os, sys, tarfile
out, sentinel = sys.argv[1], sys.argv[2]

def tar(name, entries, mode="w"):
    with tarfile.open(os.path.join(out, name), mode, format=tarfile.GNU_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o644)
            ti.linkname = e.get("link", "")
            data = e.get("data", b"")
            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)

ok = {"name": "pkg/README", "data": b"fine\n"}
tar("dotdot.tar.gz", [ok, {"name": "pkg/../../sentinel/evil", "data": b"evil\n"}], "w:gz")
tar("absolute.tar", [ok, {"name": sentinel + "/abs", "data": b"evil\n"}])
tar("symlink-out.tar", [ok, {"name": "pkg/out", "type": tarfile.SYMTYPE, "link": sentinel},
                        {"name": "pkg/out/evil", "data": b"evil\n"}])
tar("symlink-rel.tar", [ok, {"name": "pkg/up", "type": tarfile.SYMTYPE, "link": "../../../sentinel"},
                        {"name": "pkg/up/evil", "data": b"evil\n"}])
tar("hardlink.tar", [ok, {"name": "pkg/passwd", "type": tarfile.LNKTYPE, "link": "/etc/passwd"}])
tar("device.tar", [ok, {"name": "pkg/null", "type": tarfile.CHRTYPE, "mode": 0o666, "dev": (1, 3)}])
tar("fifo.tar", [ok, {"name": "pkg/fifo", "type": tarfile.FIFOTYPE}])
tar("setid.tar", [{"name": "pkg/suid", "data": b"#!/bin/sh\n", "mode": 0o4755},
                  {"name": "pkg/sgid", "data": b"x", "mode": 0o2755}])
# A header that declares 2 TiB, followed by a little data and the end.
ti = tarfile.TarInfo("pkg/huge"); ti.size = 2 << 40
with open(os.path.join(out, "huge.tar"), "wb") as f:
    f.write(ti.tobuf(format=tarfile.GNU_FORMAT)); f.write(b"\0" * 10240)
# A valid .tar.gz of several files, cut in the middle.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    for i in range(8):
        data = os.urandom(20000)
        ti = tarfile.TarInfo("pkg/file%d" % i); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
raw = buf.getvalue()
open(os.path.join(out, "truncated.tar.gz"), "wb").write(raw[: len(raw) // 2])
PY
passwd_before=$(sha256sum /etc/passwd)

extract() { # NAME CODE DESC
	local sha
	sha=$(sha256sum <"$T/h/$1" | cut -d' ' -f1)
	rm -rf "$T/work/x"
	tap_run "$2" "$3" "$QINSTALL" fetch --offline --distdir "$T/dist" --extract "$T/work/x" \
		"file://$T/h/$1#sha256=$sha"
}
nothing_outside() { # DESC
	tap_is "$(find "$T/sentinel" "$T/work" -mindepth 1 | wc -l)" 0 "$1: nothing outside the work directory, no directory left"
}

extract dotdot.tar.gz 1 "../ escapes are refused"
tap_like "$TAP_STDERR" "'pkg/../../sentinel/evil': '..' in the path" "the error names the entry and why"
nothing_outside "../"
extract absolute.tar 1 "absolute names are refused"
tap_like "$TAP_STDERR" "absolute path" "the error says absolute path"
nothing_outside "absolute"
extract symlink-out.tar 1 "a symlink out of the tree, then a file through it, is refused"
tap_like "$TAP_STDERR" "'pkg/out' is a symlink to '$T/sentinel', outside the tree" "the error names the link"
nothing_outside "symlink out"
extract symlink-rel.tar 1 "a relative symlink climbing out is refused"
nothing_outside "relative symlink"
extract hardlink.tar 1 "a hardlink to /etc/passwd is refused"
tap_like "$TAP_STDERR" "hardlink to '/etc/passwd'" "the error names the target"
tap_is "$(sha256sum /etc/passwd)" "$passwd_before" "/etc/passwd is unchanged"
nothing_outside "hardlink"
extract device.tar 1 "a device node is refused"
tap_like "$TAP_STDERR" "'pkg/null' is a character device" "the error says what it is"
nothing_outside "device"
extract fifo.tar 1 "a FIFO is refused"
nothing_outside "FIFO"
extract huge.tar 1 "a declared size of 2 TiB is refused"
tap_like "$TAP_STDERR" "'pkg/huge' declares 2199023255552 bytes, beyond the limit" "the error gives the size and the limit"
nothing_outside "huge"
extract truncated.tar.gz 1 "a truncated .tar.gz is an error"
tap_like "$TAP_STDERR" "truncated.tar.gz: broken (in|after) entry 'pkg/file[0-9]'" "the error names the entry where it broke"
nothing_outside "truncated"
extract setid.tar 0 "set-id files are extracted without their set-id bits"
tap_mode_is "$T/work/x/pkg/suid" 0755 "mode 4755 became 0755"
tap_mode_is "$T/work/x/pkg/sgid" 0755 "mode 2755 became 0755"
tap_is "$(ls -A "$T/sentinel")" "" "the sentinel directory is still empty"
tap_done
