#!/usr/bin/env python3
"""patch-mutate.py - derive differential test cases for the patch engine
from a real patch: change the tree it applies to so that its hunks need
an offset or fuzz, or its target is missing.

    patch-mutate.py TREE PATCH STRIP KIND [N]

KIND is one of
    offset N   insert N lines at the top of the first file the patch changes
    fuzz N     change the N leading context lines of the first hunk that has
               at least N of them (so the hunk needs fuzz N to apply)
    missing    remove the first file the patch changes
TREE is changed in place. Exit 0 when done, 3 when the patch offers no
place for this kind of change (the caller skips the case), 2 on bad use.
"""
import os
import re
import sys

HUNK = re.compile(rb'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@')


def strip_name(name, strip):
    name = name.split(b'\t')[0].strip()
    if name == b'/dev/null':
        return None
    parts = [p for p in name.split(b'/')]
    if strip > 0:
        if len(parts) <= strip:
            return None
        parts = parts[strip:]
    return b'/'.join(parts)


def files_and_hunks(patch, strip):
    """[(path, [(old_start, old_lines, [(type, text)])])] of the patch."""
    lines = patch.split(b'\n')
    out = []
    i = 0
    old = new = None
    while i < len(lines):
        line = lines[i].rstrip(b'\r')
        if line.startswith(b'--- '):
            old = strip_name(line[4:], strip)
        elif line.startswith(b'+++ '):
            new = strip_name(line[4:], strip)
        elif line.startswith(b'@@ -'):
            m = HUNK.match(line)
            if not m:
                i += 1
                continue
            start = int(m.group(1))
            nold = int(m.group(2)) if m.group(2) is not None else 1
            nnew = int(m.group(4)) if m.group(4) is not None else 1
            body = []
            i += 1
            o = n = 0
            while i < len(lines) and (o < nold or n < nnew):
                t = lines[i].rstrip(b'\r')
                c = t[:1] or b' '
                if c == b'\\':
                    i += 1
                    continue
                body.append((c, t[1:]))
                if c in (b' ', b'-'):
                    o += 1
                if c in (b' ', b'+'):
                    n += 1
                i += 1
            path = old if old is not None else new
            if path is not None:
                if not out or out[-1][0] != path:
                    out.append((path, []))
                out[-1][1].append((start, nold, body))
            continue
        i += 1
    return out


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    tree, patchfile, strip, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    with open(patchfile, 'rb') as f:
        files = files_and_hunks(f.read(), strip)
    files = [(p, h) for p, h in files if os.path.isfile(os.path.join(tree.encode(), p))]
    if not files:
        return 3
    if kind == 'missing':
        os.unlink(os.path.join(tree.encode(), files[0][0]))
        return 0
    if kind == 'offset':
        path = os.path.join(tree.encode(), files[0][0])
        with open(path, 'rb') as f:
            data = f.read()
        extra = b''.join(b'qinstall offset line %d\n' % k for k in range(n))
        with open(path, 'wb') as f:
            f.write(extra + data)
        return 0
    if kind == 'fuzz':
        for path, hunks in files:
            for start, nold, body in hunks:
                lead = 0
                for c, _ in body:
                    if c != b' ':
                        break
                    lead += 1
                trail = 0
                for c, _ in reversed(body):
                    if c != b' ':
                        break
                    trail += 1
                # GNU's fuzz ignores leading and trailing lines alike: a hunk
                # with equal context on both sides needs exactly fuzz N.
                if lead < n or trail < lead or start < 2:
                    continue
                full = os.path.join(tree.encode(), path)
                with open(full, 'rb') as f:
                    lines = f.read().split(b'\n')
                if start - 1 + n > len(lines):
                    continue
                for k in range(n):
                    lines[start - 1 + k] = lines[start - 1 + k] + b' /* qinstall fuzz */'
                with open(full, 'wb') as f:
                    f.write(b'\n'.join(lines))
                return 0
        return 3
    sys.stderr.write('patch-mutate.py: unknown kind %s\n' % kind)
    return 2


if __name__ == '__main__':
    sys.exit(main())
