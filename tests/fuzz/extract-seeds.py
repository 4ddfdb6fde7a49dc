#!/usr/bin/env python3
"""Write the seed corpus of fuzz_extract.c into DIR: small archives, good
and hostile, in the formats and compressions a source tarball comes in.
Generated at test time (never committed: they are binary)."""
import io
import os
import sys
import tarfile
import zipfile


def tar_bytes(entries, mode="w", fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o644)
            ti.linkname = e.get("link", "")
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tree = [{"name": "pkg-1.0/", "type": tarfile.DIRTYPE, "mode": 0o755},
            {"name": "pkg-1.0/README", "data": b"hello\n"},
            {"name": "pkg-1.0/src/main.c", "data": b"int main(void) { return 0; }\n"},
            {"name": "pkg-1.0/link", "type": tarfile.SYMTYPE, "link": "src/main.c"},
            {"name": "pkg-1.0/hard", "type": tarfile.LNKTYPE, "link": "pkg-1.0/README"}]
    seeds = {
        "good.tar": tar_bytes(tree),
        "good.tar.gz": tar_bytes(tree, "w:gz"),
        "good.tar.bz2": tar_bytes(tree, "w:bz2"),
        "good.tar.xz": tar_bytes(tree, "w:xz"),
        "pax.tar": tar_bytes(tree, fmt=tarfile.PAX_FORMAT),
        "dotdot.tar": tar_bytes([{"name": "a/../../evil", "data": b"x"}]),
        "absolute.tar": tar_bytes([{"name": "/tmp/evil", "data": b"x"}]),
        "symlink-out.tar": tar_bytes([{"name": "l", "type": tarfile.SYMTYPE, "link": "../.."},
                                      {"name": "l/evil", "data": b"x"}]),
        "symlink-chain.tar": tar_bytes([{"name": "d/up", "type": tarfile.SYMTYPE, "link": ".."},
                                        {"name": "z", "type": tarfile.SYMTYPE, "link": "d/up/.."}]),
        "hardlink-out.tar": tar_bytes([{"name": "p", "type": tarfile.LNKTYPE, "link": "/etc/passwd"}]),
        "device.tar": tar_bytes([{"name": "null", "type": tarfile.CHRTYPE}]),
        "setid.tar": tar_bytes([{"name": "s", "data": b"x", "mode": 0o6755}]),
    }
    seeds["truncated.tar.gz"] = seeds["good.tar.gz"][: len(seeds["good.tar.gz"]) // 2]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/README", "hello\n")
        z.writestr("../evil", "x")
    seeds["mixed.zip"] = zbuf.getvalue()
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
