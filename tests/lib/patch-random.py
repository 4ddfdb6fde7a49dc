#!/usr/bin/env python3
"""patch-random.py - random differential cases for the patch engine.

    patch-random.py DIR COUNT SEED [unified|context]

Writes COUNT cases under DIR, each DIR/N/tree (the files to patch),
DIR/N/p.diff (a unified diff made by diff(1), or with "context" a context
diff: diff -c or diff -C N) and DIR/N/opts (patch(1)
options, one line). Files are short and drawn from a small alphabet so that
lines repeat and placement is ambiguous; the tree is then edited away from
the diff's old side (lines inserted, removed or changed, the last newline
dropped) so that hunks need offsets or fuzz, fail, or look reversed.
The same SEED gives the same cases.
"""
import os
import random
import subprocess
import sys

WORDS = ['a', 'b', 'c', 'x', 'y', '{', '}', 'int i;', 'return 0;', '']


def text(rng, n):
    return [rng.choice(WORDS) + '\n' for _ in range(n)]


def edit(rng, lines, edits):
    lines = list(lines)
    for _ in range(edits):
        op = rng.random()
        i = rng.randrange(len(lines) + 1)
        if op < 0.4 or not lines:
            lines.insert(i, rng.choice(WORDS) + ' new\n')
        elif op < 0.7:
            del lines[min(i, len(lines) - 1)]
        else:
            lines[min(i, len(lines) - 1)] = rng.choice(WORDS) + ' changed\n'
    return lines


def write(path, lines, drop_newline=False):
    data = ''.join(lines)
    if drop_newline and data.endswith('\n'):
        data = data[:-1]
    with open(path, 'w') as f:
        f.write(data)


def main():
    out, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fmt = sys.argv[4] if len(sys.argv) > 4 else 'unified'
    rng = random.Random(seed)
    for n in range(count):
        case = os.path.join(out, str(n))
        tree = os.path.join(case, 'tree')
        os.makedirs(tree)
        old = text(rng, rng.randrange(1, 40))
        new = edit(rng, old, rng.randrange(1, 6))
        nonl_old = rng.random() < 0.15
        nonl_new = rng.random() < 0.15
        write(os.path.join(case, 'old'), old, nonl_old)
        write(os.path.join(case, 'new'), new, nonl_new)
        ctx = rng.choice([0, 1, 2, 3, 3, 3, 5])
        if fmt == 'context':
            style = ['-c'] if ctx == 3 and rng.random() < 0.5 else ['-C%d' % ctx]
        else:
            style = ['-U%d' % ctx]
        diff = subprocess.run(['diff'] + style + ['--label', 'a/f', '--label', 'b/f',
                               os.path.join(case, 'old'), os.path.join(case, 'new')],
                              stdout=subprocess.PIPE).stdout
        with open(os.path.join(case, 'p.diff'), 'wb') as f:
            f.write(diff)
        kind = rng.random()
        if kind < 0.15:
            target, nonl = new, nonl_new          # already applied
        elif kind < 0.25:
            target, nonl = old, nonl_old          # exactly the old side
        else:
            target, nonl = edit(rng, old, rng.randrange(1, 5)), rng.random() < 0.1
        write(os.path.join(tree, 'f'), target, nonl)
        opts = ['-p1']
        r = rng.random()
        if r < 0.1:
            opts.append('-N')
        elif r < 0.2:
            opts.append('-R')
        elif r < 0.3:
            opts.append('-t')
        elif r < 0.35:
            opts.append('-f')
        if rng.random() < 0.3:
            opts.append('-F%d' % rng.choice([0, 1, 3]))
        with open(os.path.join(case, 'opts'), 'w') as f:
            f.write(' '.join(opts) + '\n')


if __name__ == '__main__':
    main()
