#!/bin/bash
# Scenario: `qinstall patch` against GNU patch on hand-made cases, one rule
# each: missing newlines, CRLF, git headers (new, deleted, renamed, copied
# files, mode changes, header-only patches), dangerous names, symlinks,
# reversed and already-applied patches, anchoring at the start and end,
# -p, Index: headers, malformed input. Then what only qinstall does:
# --atomic, --json, -d, standard input.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/patch-compare.sh"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"

W=$(tap_tmpdir)
lines() { seq "$1" "$2" | sed 's/^/line /'; }
# newcase NAME: an empty tree $T and a patch file $P for one case.
newcase() { T=$W/$1/tree; P=$W/$1/p.diff; rm -rf "$W/$1"; mkdir -p "$T"; }
# mkdiff OLD NEW LABEL: a unified diff of two files, headers a/LABEL b/LABEL.
mkdiff() { diff -u --label "a/$3" --label "b/$3" "$1" "$2"; true; }

# 1. A plain change; then the same with the file grown above it (offset).
newcase plain; lines 1 30 >"$T/f"; lines 1 30 | sed 's/line 15/LINE 15/' >"$W/plain/new"
mkdiff "$T/f" "$W/plain/new" f >"$P"
patch_case "a plain change applies" "$T" "$P" -p1
patch_case "without -p the base name is used" "$T" "$P"
patch_case "-p0 keeps a/ and finds nothing" "$T" "$P" -p0
patch_case "-p0 -f skips the missing file" "$T" "$P" -p0 -f
patch_case "-p2 has too few slashes" "$T" "$P" -p2 -t
{ lines 100 104; cat "$T/f"; } >"$T/g" && mv "$T/g" "$T/f"
patch_case "an offset of 5 lines is reported and a .orig kept" "$T" "$P" -p1

# 2. Several hunks, the second one failing: .rej and .orig.
newcase reject; lines 1 60 >"$T/f"
lines 1 60 | sed 's/line 5$/LINE 5/; s/line 30$/LINE 30/; s/line 55$/LINE 55/' >"$W/reject/new"
mkdiff "$T/f" "$W/reject/new" f >"$P"
sed -i 's/^line 29$/changed 29/; s/^line 31$/changed 31/; s/^line 28$/changed 28/; s/^line 32$/changed 32/' "$T/f"
patch_case "a failing middle hunk goes to f.rej, the others apply" "$T" "$P" -p1
patch_case "--dry-run says checking and writes nothing" "$T" "$P" -p1 --dry-run
patch_case "-F3 places the hunk with fuzz 3" "$T" "$P" -p1 -F3
patch_case "-s prints only the failures" "$T" "$P" -p1 -s

# 3. Missing newlines at the end, on either side.
newcase nonl; printf 'a\nb\nc' >"$T/f"; printf 'a\nb\nC\n' >"$W/nonl/new"
mkdiff "$T/f" "$W/nonl/new" f >"$P"
patch_case "a newline added at the end of the file" "$T" "$P" -p1
newcase nonl2; printf 'a\nb\nc\n' >"$T/f"; printf 'a\nB\nc' >"$W/nonl2/new"
mkdiff "$T/f" "$W/nonl2/new" f >"$P"
patch_case "the newline at the end removed" "$T" "$P" -p1
newcase nonl3; printf 'a\nb\nc' >"$T/f"; printf 'A\nb\nc' >"$W/nonl3/new"
mkdiff "$T/f" "$W/nonl3/new" f >"$P"
patch_case "no newline on either side" "$T" "$P" -p1
printf 'a\nb\nc\n' >"$T/f"
patch_case "a file with the newline does not match a patch without it" "$T" "$P" -p1

# 4. CRLF: a CRLF patch on LF files, and a LF patch on CRLF files.
newcase crlf; lines 1 10 >"$T/f"; lines 1 10 | sed 's/line 4/LINE 4/' >"$W/crlf/new"
mkdiff "$T/f" "$W/crlf/new" f | sed 's/$/\r/' >"$P"
patch_case "a CRLF patch applies to LF files (CRs stripped)" "$T" "$P" -p1
newcase crlf2; lines 1 10 >"$W/crlf2/old"; lines 1 10 | sed 's/line 4/LINE 4/' >"$W/crlf2/new"
mkdiff "$W/crlf2/old" "$W/crlf2/new" f >"$P"; sed 's/$/\r/' "$W/crlf2/old" >"$T/f"
patch_case "a LF patch on a CRLF file fails with (different line endings)" "$T" "$P" -p1

# 5. git headers.
newcase gitnew
printf 'diff --git a/sub/new b/sub/new\nnew file mode 100755\nindex 0000000..e69de29\n--- /dev/null\n+++ b/sub/new\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+echo hi\n' >"$P"
patch_case "git: a new executable file in a new directory" "$T" "$P" -p1
newcase gitdel; mkdir -p "$T/d/e"; printf 'x\ny\n' >"$T/d/e/old"
printf 'diff --git a/d/e/old b/d/e/old\ndeleted file mode 100644\nindex 1234567..0000000\n--- a/d/e/old\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n' >"$P"
patch_case "git: a deleted file, its empty directories removed" "$T" "$P" -p1
newcase gitrename; lines 1 10 >"$T/from"
printf 'diff --git a/from b/to\nsimilarity index 90%%\nrename from from\nrename to to\nindex 1111111..2222222 100644\n--- a/from\n+++ b/to\n@@ -3,3 +3,3 @@\n line 3\n-line 4\n+LINE 4\n line 5\n' >"$P"
patch_case "git: a rename with a change" "$T" "$P" -p1
newcase gitrename2; lines 1 3 >"$T/from"
printf 'diff --git a/from b/to\nsimilarity index 100%%\nrename from from\nrename to to\n' >"$P"
patch_case "git: a pure rename (headers only)" "$T" "$P" -p1
newcase gitcopy; lines 1 10 >"$T/src"
printf 'diff --git a/src b/dst\nsimilarity index 90%%\ncopy from src\ncopy to dst\nindex 1111111..2222222 100644\n--- a/src\n+++ b/dst\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\n' >"$P"
patch_case "git: a copy with a change" "$T" "$P" -p1
newcase gitmode; lines 1 3 >"$T/script"; chmod 644 "$T/script"
printf 'diff --git a/script b/script\nold mode 100644\nnew mode 100755\n' >"$P"
patch_case "git: a mode change alone" "$T" "$P" -p1
newcase gitmulti; lines 1 5 >"$T/a"; lines 1 5 >"$T/b"
printf 'diff --git a/a b/a\nold mode 100644\nnew mode 100600\ndiff --git a/b b/b\nindex 1111111..2222222 100644\n--- a/b\n+++ b/b\n@@ -1,2 +1,2 @@\n-line 1\n+LINE 1\n line 2\n' >"$P"
chmod 644 "$T/a" "$T/b"
patch_case "git: a header-only patch followed by a change" "$T" "$P" -p1

newcase gitempty; printf '' >"$T/empty-old"
printf 'diff --git a/empty-new b/empty-new\nnew file mode 100644\nindex 0000000..e69de29\ndiff --git a/empty-old b/empty-old\ndeleted file mode 100644\nindex e69de29..0000000\n' >"$P"
patch_case "git: an empty file created and another deleted (headers only)" "$T" "$P" -p1
patch_case "git: the same, reversed" "$T" "$P" -p1 -R

newcase gitqueue; lines 1 10 >"$T/a"
printf 'diff --git a/a b/a\nindex 1111111..2222222 100644\n--- a/a\n+++ b/a\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\ndiff --git a/a b/b\nsimilarity index 90%%\ncopy from a\ncopy to b\nindex 1111111..3333333 100644\n--- a/a\n+++ b/b\n@@ -8,3 +8,3 @@\n line 8\n-line 9\n+NINE\n line 10\n' >"$P"
patch_case "git: a copy reads the file as it was before the patch" "$T" "$P" -p1
printf 'diff --git a/a b/a\nindex 1111111..2222222 100644\n--- a/a\n+++ b/a\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\ndiff --git a/a b/a\nindex 2222222..4444444 100644\n--- a/a\n+++ b/a\n@@ -1,3 +1,3 @@\n-LINE 1\n+FIRST\n line 2\n line 3\n--- a/a\n+++ b/a\n@@ -2,3 +2,3 @@\n line 2\n-line 3\n+THREE\n line 4\n' >"$P"
patch_case "git: concatenated git patches of one file, then a plain diff" "$T" "$P" -p1

# 6. Names that are refused, and symlinks that are not followed.
newcase danger; lines 1 3 >"$T/f"
printf -- '--- /etc/qinstall-test-absolute\n+++ /etc/qinstall-test-absolute\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n' >"$P"
patch_case "an absolute name is ignored as dangerous" "$T" "$P" -p0 -f
printf -- '--- a/../escape\n+++ b/../escape\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n' >"$P"
lines 1 3 >"$W/danger/escape"
patch_case "a name with .. is ignored as dangerous" "$T" "$P" -p1 -f
tap_is "$(cat "$W/danger/escape")" "$(lines 1 3)" "the file outside the tree is untouched"
newcase link; lines 1 3 >"$W/link/target"; ln -s ../target "$T/f"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n' >"$P"
patch_case "a symlink is not followed: refused, rejects saved" "$T" "$P" -p1
tap_is "$(cat "$W/link/target")" "$(lines 1 3)" "the symlink's target is untouched"
newcase linkdir; mkdir "$W/linkdir/outside"; lines 1 3 >"$W/linkdir/outside/f"; ln -s ../outside "$T/d"
printf -- '--- a/d/f\n+++ b/d/f\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n' >"$P"
(cd "$T" && "$QINSTALL" patch -p1 -f -i "$P" >/dev/null 2>&1)
tap_is "$(cat "$W/linkdir/outside/f")" "$(lines 1 3)" "a symlinked directory is not followed out of the tree"

# 7. Reversed and already-applied patches; creating and deleting.
newcase rev; lines 1 20 >"$T/f"; lines 1 20 | sed 's/line 9/LINE 9/' >"$W/rev/new"
mkdiff "$T/f" "$W/rev/new" f >"$P"
patch_case "-R on a patch not applied: Unreversed patch detected" "$T" "$P" -p1 -R
patch_case "-R -t on a patch not applied: Ignoring -R" "$T" "$P" -p1 -R -t
cp "$W/rev/new" "$T/f"
patch_case "an applied patch: Reversed (or previously applied) patch detected" "$T" "$P" -p1
patch_case "an applied patch with -N is skipped" "$T" "$P" -p1 -N
patch_case "an applied patch with -t is reversed" "$T" "$P" -p1 -t
newcase create; lines 1 3 >"$T/f"
printf -- '--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+new 1\n+new 2\n' >"$P"
patch_case "creating a file that exists: would create ... already exists" "$T" "$P" -p1
patch_case "creating a file that exists, -N" "$T" "$P" -p1 -N
rm "$T/f"
patch_case "creating a file" "$T" "$P" -p1
newcase delete
printf -- '--- a/gone\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n' >"$P"
patch_case "deleting a file that does not exist" "$T" "$P" -p1
printf 'x\ny\nz\n' >"$T/gone"
patch_case "deleting a file whose content differs: Not deleting" "$T" "$P" -p1

# 8. Anchoring: a hunk with less leading context only matches at the start.
newcase anchor; printf 'a\nb\nc\nd\n' >"$T/f"; printf 'x\na\nb\nc\nd\n' >>"$T/f"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n+top\n a\n b\n c\n' >"$P"
patch_case "a hunk without leading context is anchored to the start" "$T" "$P" -p1
printf -- '--- a/f\n+++ b/f\n@@ -7,3 +7,4 @@\n b\n c\n d\n+end\n' >"$P"
patch_case "a hunk without trailing context is anchored to the end" "$T" "$P" -p1
printf 'x\na\nb\nc\nd\ny\n' >"$T/f"
patch_case "... and fails when the end does not match" "$T" "$P" -p1

# 9. Index: headers, one file patched twice, names with spaces, several files.
newcase index; lines 1 5 >"$T/f"
printf 'Index: f\n===================================================================\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\n' >"$P"
patch_case "an Index: line alone names the file" "$T" "$P"
newcase twice; lines 1 10 >"$T/f"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\n--- a/f\n+++ b/f\n@@ -8,3 +8,3 @@\n line 8\n-line 9\n+LINE 9\n line 10\n' >"$P"
patch_case "one file patched twice by one patch" "$T" "$P" -p1
newcase space; lines 1 3 >"$T/a b"
printf -- '--- a/a b\t2020-01-01 00:00:00.000000000 +0000\n+++ b/a b\t2020-01-01 00:00:00.000000000 +0000\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n' >"$P"
patch_case "a name with a space is quoted in the messages" "$T" "$P" -p1

# 10. Malformed and empty input.
newcase bad; lines 1 5 >"$T/f"; lines 1 5 >"$T/g"
printf -- '--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\n--- a/g\n+++ b/g\n@@ -1,3 +1,3 @@\n-line 1\n?what\n' >"$P"
patch_case "a malformed hunk: exit 2 after the files before it" "$T" "$P" -p1
printf 'just some text\nno diff here\n' >"$P"
patch_case "only garbage: exit 2" "$T" "$P" -p1
: >"$P"
patch_case "an empty patch does nothing" "$T" "$P" -p1

# 11. What only qinstall does.
newcase atomic; lines 1 60 >"$T/f"; lines 1 30 >"$T/g"
lines 1 60 | sed 's/line 5$/LINE 5/; s/line 55$/LINE 55/' >"$W/atomic/newf"
lines 1 30 | sed 's/line 10$/LINE 10/' >"$W/atomic/newg"
{ mkdiff "$T/f" "$W/atomic/newf" f; mkdiff "$T/g" "$W/atomic/newg" g; } >"$P"
sed -i 's/^line 7$/other 7/; s/^line 8$/other 8/; s/^line 9$/other 9/' "$T/g"
cp -a "$T" "$W/atomic/before"
tap_run 1 "--atomic: a failing hunk fails the whole patch" sh -c "cd '$T' && '$QINSTALL' patch --atomic -p1 -i '$P'"
tap_like "$TAP_STDOUT" "Hunk #1 FAILED at 7" "--atomic still reports each hunk"
tap_tree_same "$W/atomic/before" "$T" "--atomic: no file changed, no .rej, no .orig"
tap_like "$TAP_STDERR" "no file was changed" "--atomic says nothing was changed"
tap_run 1 "--json reports the hunks" sh -c "cd '$T' && '$QINSTALL' --json patch --atomic -p1 -i '$P'"
tap_json_is hunks.2.near_line 7 "--json gives the closest place of a failed hunk"
tap_json_is hunks.2.near_differ 3 "--json says how many of its old lines differed there"
tap_json_is status 1 "--json gives patch(1)'s status"
tap_run 0 "the patch on standard input, -d DIR" sh -c "'$QINSTALL' patch -d '$W/atomic/before' -p1 -F3 <'$P'"
tap_like "$TAP_STDOUT" "Hunk #1 succeeded at 7 with fuzz 3" "-F3 lets the hunk apply, from stdin in DIR"
rm -rf "$W/atomic/snap"; cp -a "$T" "$W/atomic/snap"
tap_run 0 "the global --check is a dry run" sh -c "cd '$T' && '$QINSTALL' --check patch -p1 -F3 -i '$P'"
tap_like "$TAP_STDOUT" "checking file g" "--check says checking, as --dry-run"
tap_tree_same "$W/atomic/snap" "$T" "--check changed nothing"
tap_run 0 "qinstall patch --help" "$QINSTALL" patch --help
tap_like "$TAP_STDOUT" "--atomic" "--help lists --atomic"
tap_like "$TAP_STDOUT" "GNU patch 2.7.6" "--help says whose rules it follows"
tap_run 2 "a file operand is refused with a usage error" "$QINSTALL" patch somefile
tap_run 2 "an unreadable -i is exit 2" "$QINSTALL" patch -i "$W/none.diff"
tap_done
