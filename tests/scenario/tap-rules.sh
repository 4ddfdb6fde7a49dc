#!/bin/bash
# Scenario: the rules of tests/lib/tap.sh themselves. Each rule passes on
# what it asks for and fails, saying what it got and wanted, on anything
# else: a rule that cannot fail would make every test using it worthless.
. "$top_srcdir/tests/lib/tap.sh"
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"

# verdict RULE ARGS...: the TAP lines RULE prints, run apart (in a
# subshell), so that its own result is not counted here.
verdict() { ("$@") 2>&1; }
passes() { local desc=$1 out; shift; out=$(verdict "$@"); tap_like "$out" '^ok [0-9]+ - ' "$desc"; }
fails() { # DESC DIAG_REGEX RULE ARGS...
	local desc=$1 diag=$2 out; shift 2
	out=$(verdict "$@")
	tap_like "$out" '^not ok [0-9]+ - ' "$desc"
	tap_like "$out" "$diag" "$desc: the failure says why"
}

T=$(tap_tmpdir)

tap_case "tap_json_is and tap_json_has"
TAP_STDOUT='{"changed": true, "run": null, "msg": "done", "runs": [{"id": 2}, {"id": 1}], "n": 3}'
passes "tap_json_is: a boolean" tap_json_is changed true "x"
passes "tap_json_is: null" tap_json_is run null "x"
passes "tap_json_is: a string, as text" tap_json_is msg done "x"
passes "tap_json_is: runs.# is a list's length" tap_json_is runs.# 2 "x"
passes "tap_json_is: runs.#.id lists a key of every element" tap_json_is runs.#.id "[2, 1]" "x"
passes "tap_json_is: runs.1.id indexes a list" tap_json_is runs.1.id 1 "x"
fails "tap_json_is: another value fails" '^# got: +true$' tap_json_is changed false "x"
fails "tap_json_is: a missing key fails, even against null" 'has no runs\.0\.state' tap_json_is runs.0.state null "x"
fails "tap_json_is: an index past the end fails" 'has no runs\.2' tap_json_is runs.2.id 2 "x"
passes "tap_json_has: an element of a list" tap_json_has runs.#.id 1 "x"
passes "tap_json_has: a value that is not a list" tap_json_has n 3 "x"
fails "tap_json_has: a value the list does not hold fails" '^# wanted: 3$' tap_json_has runs.#.id 3 "x"
TAP_STDOUT='not json'
fails "tap_json_is: output that is not JSON fails" 'not JSON' tap_json_is changed true "x"

tap_case "tap_like and tap_unlike"
passes "tap_like: a line of the text matches" tap_like $'a\nbc\nd' '^bc$' "x"
fails "tap_like: no line matches" '^# regex: x$' tap_like $'a\nb' 'x' "x"
passes "tap_like: a regex of two lines matches them in sequence" tap_like $'a\nbc\nd' $'bc\nd' "x"
fails "tap_like: a regex of two lines is not two patterns, either enough" '^# regex: bc$' \
	tap_like $'a\nbc\nd' $'bc\nzz' "x"
fails "tap_like: nor are its lines matched out of order" '^# regex: d$' tap_like $'a\nbc\nd' $'d\nbc' "x"
passes "tap_unlike: no line matches" tap_unlike $'a\nb' 'c' "x"
fails "tap_unlike: a line matches" 'text matched: \^b\$' tap_unlike $'a\nb' '^b$' "x"
passes "tap_unlike: two lines not in sequence" tap_unlike $'a\nb' $'b\na' "x"

tap_case "tap_mode_is, tap_owner_is, tap_type_is"
echo x >"$T/f"; chown 12:34 "$T/f"; chmod 2755 "$T/f"
mkdir "$T/d"; mkfifo "$T/p"; ln -s f "$T/l"
passes "tap_mode_is: 02755 as 2755" tap_mode_is "$T/f" 2755 "x"
passes "tap_mode_is: 02755 as 02755" tap_mode_is "$T/f" 02755 "x"
fails "tap_mode_is: another mode fails" '^# got: +2755$' tap_mode_is "$T/f" 0755 "x"
fails "tap_mode_is: a symlink is not followed" '^# got: +0777$' tap_mode_is "$T/l" 2755 "x"
fails "tap_mode_is: a missing path fails" '^# path: ' tap_mode_is "$T/none" 0644 "x"
passes "tap_owner_is: the numeric owner" tap_owner_is "$T/f" 12:34 "x"
fails "tap_owner_is: another owner fails" '^# got: +12:34$' tap_owner_is "$T/f" 0:0 "x"
passes "tap_type_is: file" tap_type_is "$T/f" file "x"
passes "tap_type_is: dir" tap_type_is "$T/d" dir "x"
passes "tap_type_is: fifo" tap_type_is "$T/p" fifo "x"
passes "tap_type_is: symlink (not followed)" tap_type_is "$T/l" symlink "x"
passes "tap_type_is: none" tap_type_is "$T/none" none "x"
fails "tap_type_is: another type fails" '^# got: +symlink$' tap_type_is "$T/l" file "x"

tap_case "tap_tree, tap_tree_is, tap_tree_same"
mkdir -p "$T/a/etc" "$T/a/var/lib/qinstall"; echo one >"$T/a/etc/motd"; echo j >"$T/a/var/lib/qinstall/j"
cp -a "$T/a" "$T/b"
before=$(tap_tree "$T/a")
tap_like "$before" '^/etc/motd file 0644 0 0 4 [0-9a-f]{64} -$' "tap_tree: a line per entry with type, mode, owner, size and hash"
passes "tap_tree_is: the same tree" tap_tree_is "$T/a" "$before" "x"
passes "tap_tree_same: a copy is the same" tap_tree_same "$T/a" "$T/b" "x"
echo two >"$T/a/etc/motd"
fails "tap_tree_is: a changed content fails" '^# \+/etc/motd file 0644 0 0 4 ' tap_tree_is "$T/a" "$before" "x"
fails "tap_tree_same: a changed content fails" '^# -/etc/motd ' tap_tree_same "$T/b" "$T/a" "x"
echo one >"$T/a/etc/motd"; echo k >"$T/a/var/lib/qinstall/j"
fails "tap_tree_is: a change below var/lib/qinstall counts" 'qinstall/j' tap_tree_is "$T/a" "$before" "x"
passes "tap_tree_is --exclude leaves it out" tap_tree_is --exclude var/lib/qinstall "$T/a" "$(tap_tree --exclude var/lib/qinstall "$T/b")" "x"
passes "TAP_TREE_EXCLUDE leaves it out" env TAP_TREE_EXCLUDE=var/lib/qinstall bash -c \
	'. "$top_srcdir/tests/lib/tap.sh"; tap_tree_same "$1" "$2" x' sh "$T/a" "$T/b"
chmod 600 "$T/a/etc/motd"
fails "tap_tree_same: a changed mode fails" '\+/etc/motd file 0600 ' tap_tree_same --exclude var/lib/qinstall "$T/b" "$T/a" "x"

tap_case "tap_setup"
out=$(verdict tap_setup true)
tap_is "$out" "" "tap_setup: a step that succeeds prints nothing and is no case"
out=$(verdict bash -c '. "$top_srcdir/tests/lib/tap.sh"; tap_case "the case"; tap_setup false || echo stopped; tap_done')
tap_like "$out" '^not ok 1 - setup of the case: false$' "tap_setup: a failing step is a failed case naming its case and command"
tap_like "$out" '^stopped$' "tap_setup: and returns non-zero, so the case can stop"
tap_like "$out" '^1\.\.1$' "tap_setup: the failed step is counted"
mkdir "$T/root"
out=$(verdict bash -c '. "$top_srcdir/tests/lib/tap.sh"; tap_case c; tap_setup_qinstall "$1" status frobnicate "apply /none"; echo "rc=$?"; tap_done' sh "$T/root")
tap_like "$out" "^not ok 1 - setup of c: .*qinstall -q --root $T/root frobnicate\$" "tap_setup_qinstall: runs each step on ROOT, and a failing one fails"
tap_like "$out" '^rc=1$' "tap_setup_qinstall: returns non-zero"
tap_unlike "$out" 'apply /none' "tap_setup_qinstall: stops at the first step that fails"
tap_done
