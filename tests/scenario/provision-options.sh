#!/bin/bash
# Scenario: a small made-up profile with options ([option NAME]) and
# conditional sections ([component hello if greet]), provisioned from two
# tiny generated source archives (file: URLs): the patch lines in file
# order across plain and conditional sections, a patch's own strip= and
# fuzz=, copy = COMPONENT:MEMBER from an install = none component, --with
# and --without, a conflict, a requires, an unknown option (on the
# command line and in a condition), the provenance file's content and its
# removal by rollback.
. "$top_srcdir/tests/lib/tap.sh"

command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed"
command -v python3 >/dev/null || tap_skip_all "python3 is needed to read the provenance file"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
S=$(tap_tmpdir)	# the sources
P=$(tap_tmpdir)	# the profile and its patches

mkdir -p "$S/hello-1.0" "$S/extras-1.0"
cat >"$S/hello-1.0/hello.c" <<'EOF'
#include <stdio.h>
#ifndef GREETING
#define GREETING "hello"
#endif
int main(void)
{
	puts("start");
	puts(GREETING);
	puts("end");
	return 0;
}
EOF
printf 'hello: hello.c\n\tgcc -o hello hello.c\n' >"$S/hello-1.0/Makefile"
printf '#define GREETING "greetings"\n' >"$S/extras-1.0/greet.h"
# loud.patch: written for -p0, taken from extras' archive
cat >"$S/extras-1.0/loud.patch" <<'EOF'
--- hello.c
+++ hello.c
@@ -9,3 +9,3 @@
 	puts("end");
-	return 0;
+	return 3;
 }
EOF
tar -C "$S" -czf "$S/hello-1.0.tar.gz" hello-1.0
tar -C "$S" -czf "$S/extras-1.0.tar.gz" extras-1.0
hello_sha=$(sha256sum <"$S/hello-1.0.tar.gz" | cut -c1-64)
extras_sha=$(sha256sum <"$S/extras-1.0.tar.gz" | cut -c1-64)
greet_sha=$(sha256sum <"$S/extras-1.0/greet.h" | cut -c1-64)

# mark-a.patch makes the file marks, mark-b.patch adds to it: they apply
# only in this order, with whatever comes between them.
cat >"$P/mark-a.patch" <<'EOF'
--- /dev/null
+++ b/marks
@@ -0,0 +1 @@
+a
EOF
cat >"$P/mark-b.patch" <<'EOF'
--- a/marks
+++ b/marks
@@ -1 +1,2 @@
 a
+b
EOF
# greet.patch: -p2, and its second hunk's first context line differs
# (fuzz 1 needed).
cat >"$P/greet.patch" <<'EOF'
--- x/y/hello.c
+++ x/y/hello.c
@@ -1,3 +1,4 @@
 #include <stdio.h>
+#include "greet.h"
 #ifndef GREETING
 #define GREETING "hello"
@@ -6,6 +7,7 @@
 { /* not quite the tree's line */
 	puts("start");
 	puts(GREETING);
+	puts("greeted");
 	puts("end");
 	return 0;
 }
EOF
printf -- '--- a/hello.c\n+++ b/hello.c\n' >"$P/greet-glue.patch"
glue_sha=$(sha256sum <"$P/greet-glue.patch" | cut -c1-64)

cat >"$P/opts.profile" <<EOF
[profile]
description = options, conditional sections, copies

[build]
isolate = no

[option greet]
description = the greeting from extras' greet.h
default = yes
[option loud]
description = exit 3
default = no
[option quiet]
conflicts = loud
[option fancy]
default = no
requires = greet|loud

[component extras]
version = 1.0
url = file://$S/extras-1.0.tar.gz
sha256 = $extras_sha
install = none

[component hello]
version = 1.0
url = file://$S/hello-1.0.tar.gz
sha256 = $hello_sha
program = hello
patch = mark-a.patch

[component hello if greet]
copy = extras:extras-1.0/greet.h
patch = greet.patch strip=2 fuzz=1 glue=greet-glue.patch

[component hello if loud !quiet]
patch = extras:extras-1.0/loud.patch strip=0

[component hello]
patch = mark-b.patch
EOF
PROV=/usr/local/share/doc/qinstall/opts.provenance.json
untouched() { [ -z "$(find "$1" -mindepth 1 | head -1)" ]; }
# prov EXPR: the Python expression EXPR over the provenance file j of $R
prov() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$R$PROV" "$1"; }

case_plan() {
	tap_case "plan lists the options and says extras is not installed"
	R=$(tap_tmpdir)
	tap_run 0 "plan" "$QINSTALL" --root "$R" plan -p "$P/opts.profile" --with loud
	tap_like "$TAP_STDOUT" 'option +greet +on +\(default\)' "greet is on by default"
	tap_like "$TAP_STDOUT" 'option +loud +on +\(command line\)' "loud is on from the command line"
	tap_like "$TAP_STDOUT" 'extras: fetch and verify the source \(install = none' "extras is only fetched"
	tap_like "$TAP_STDOUT" "create +$PROV +\\(provenance\\)" "the provenance file is planned"
	tap_run 0 "plan --json" "$QINSTALL" --root "$R" --json plan -p "$P/opts.profile" --without greet
	tap_json_is options.#.name '["greet", "loud", "quiet", "fancy"]' "the options in the order declared"
	tap_json_is options.0.state off "--without greet: off"
	tap_json_is options.0.origin "command line" "and says where from"
	tap_ok "plan wrote nothing" untouched "$R"
	tap_run 0 "profile show" "$QINSTALL" --root "$R" --json profile show "$P/opts.profile"
	tap_json_is profile.options.3.requires '["greet|loud"]' "profile show lists what an option requires"
	tap_json_is profile.components '["extras", "hello"]' "the components"
}

case_default() {
	tap_case "provision with the defaults: greet's copy and patch, not loud's"
	R=$(tap_tmpdir)
	tap_run 0 "provision" "$QINSTALL" --root "$R" --json provision -p "$P/opts.profile"
	tap_json_has components.#.install none "extras is install = none"
	tap_is "$("$R/usr/local/bin/hello" | tr '\n' ' ')" "start greetings greeted end " \
		"greet.h was copied in and greet.patch applied (strip=2, fuzz=1)"
	tap_ok "hello exits 0 (loud.patch is not applied)" "$R/usr/local/bin/hello"
	tap_is "$(prov '[p["patch"] for p in j["components"][1]["patches"]]')" \
		"['mark-a.patch', 'greet.patch', 'mark-b.patch']" "the patches in file order, without loud's"
	tap_is "$(prov '[(o["name"], o["state"]) for o in j["options"]]')" \
		"[('greet', 'on'), ('loud', 'off'), ('quiet', 'off'), ('fancy', 'off')]" "the options' states"
	tap_is "$(prov 'j["components"][0]["install"], j["components"][0]["source"]["sha256"]')" \
		"('none', '$extras_sha')" "extras: install none, its source's pin"
	tap_is "$(prov '[(c["member"], c["dest"], c["sha256"]) for c in j["components"][1]["copies"]]')" \
		"[('extras-1.0/greet.h', 'greet.h', '$greet_sha')]" "the copy with its hash"
	local g='j["components"][1]["patches"][1]'
	tap_is "$(prov "$g[\"strip\"], $g[\"fuzz\"], $g[\"glue\"], $g[\"glue_sha256\"]")" \
		"(2, 1, 'greet-glue.patch', '$glue_sha')" "greet.patch's own strip, fuzz and glue"
	tap_is "$(prov "[(k['file'], k['hunk'], k['fuzz']) for k in $g['hunks']]")" \
		"[('hello.c', 1, 0), ('hello.c', 2, 1)]" "each hunk's record, the second with fuzz 1"
	tap_is "$(prov "$g['sha256']")" "$(sha256sum <"$P/greet.patch" | cut -c1-64)" "the patch's own hash"
	tap_is "$(prov 'j["components"][1]["cc"], j["components"][1]["make"]')" "('gcc -O2', ['hello'])" \
		"the compiler line and the make targets"
	tap_run 0 "verify" "$QINSTALL" --root "$R" verify
	tap_run 0 "status" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'extras +1\.0 +install = none' "status says extras was not installed"
	tap_like "$TAP_STDOUT" 'patch greet\.patch: 2 hunks, 1 clean: hello\.c #2 fuzz 1' "status counts the hunks and shows the one that did not apply as written"
	tap_run 0 "provision again" "$QINSTALL" --root "$R" --json provision -p "$P/opts.profile"
	tap_json_is changed false "a second provision changes nothing (the provenance file included)"
	tap_run 0 "rollback" "$QINSTALL" --root "$R" rollback
	tap_type_is "$R$PROV" none "rollback removed the provenance file"
	tap_type_is "$R/usr/local/share/doc/qinstall" none "and the directories it made for it"
}

case_with_loud() {
	tap_case "--with loud: the conditional patch between the plain ones"
	R=$(tap_tmpdir)
	tap_run 0 "provision --with loud" "$QINSTALL" --root "$R" provision -p "$P/opts.profile" --with loud
	tap_run 3 "hello exits 3 (loud.patch from extras' archive, strip=0)" "$R/usr/local/bin/hello"
	tap_is "$(prov '[p["patch"] for p in j["components"][1]["patches"]]')" \
		"['mark-a.patch', 'greet.patch', 'extras:extras-1.0/loud.patch', 'mark-b.patch']" \
		"loud's patch in its place in the file's order"
	tap_is "$(prov 'j["components"][1]["patches"][2]["strip"]')" 0 "with its own strip"
	tap_is "$(prov '[o["origin"] for o in j["options"] if o["name"] == "loud"][0]')" "command line" \
		"the provenance says loud came from the command line"
}

case_without_greet() {
	tap_case "--without greet: no copy, no greet.patch"
	R=$(tap_tmpdir)
	tap_run 0 "provision --without greet" "$QINSTALL" --root "$R" provision -p "$P/opts.profile" --without greet
	tap_is "$("$R/usr/local/bin/hello" | tr '\n' ' ')" "start hello end " "the pristine greeting"
	tap_is "$(prov 'j["components"][1]["copies"]')" "[]" "no copies"
}

case_errors() {
	tap_case "a conflict, a requires, unknown options: usage errors, ROOT untouched"
	R=$(tap_tmpdir)
	tap_run 2 "--with quiet --with loud" "$QINSTALL" --root "$R" provision -p "$P/opts.profile" --with quiet --with loud
	tap_like "$TAP_STDERR" 'options quiet and loud conflict.*quiet: command line; loud: command line' \
		"the conflict names both options"
	tap_run 2 "--with fancy --without greet" "$QINSTALL" --root "$R" plan -p "$P/opts.profile" --with fancy --without greet
	tap_like "$TAP_STDERR" 'option fancy .*requires one of greet\|loud' "an unmet requires names what is needed"
	tap_run 2 "--with nosuch" "$QINSTALL" --root "$R" provision -p "$P/opts.profile" --with nosuch
	tap_like "$TAP_STDERR" "no option 'nosuch' \\(its options: greet, loud, quiet, fancy\\)" "lists the profile's options"
	sed 's/^\[component hello if loud !quiet\]/[component hello if loud !silent]/' "$P/opts.profile" >"$P/bad.profile"
	line=$(grep -n 'if loud !silent' "$P/bad.profile" | cut -d: -f1)
	tap_run 2 "an unknown option in a condition" "$QINSTALL" --root "$R" plan -p "$P/bad.profile"
	tap_like "$TAP_STDERR" "bad.profile:$line: the condition names the option 'silent'" "names FILE:LINE"
	tap_ok "ROOT is untouched" untouched "$R"
}

case_plan
case_default
case_with_loud
case_without_greet
case_errors
tap_done
