#!/bin/bash
# Scenario: bad input stops provision before ROOT is touched, and the
# message says exactly why: a wrong pinned hash, a missing patch file, a
# patch that does not apply, a build that fails, an unknown profile key,
# a profile that does not exist.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
P=$(tap_tmpdir)
# Profiles of the user's own, each starting from the shipped ucspi-tcp one.
profile() { # NAME, then the body on stdin
	{ printf '[profile]\ninclude = ucspi-tcp\n'; cat; } >"$P/$1.profile"
}

# untouched ROOT: true when ROOT has nothing in it at all.
untouched() { [ -z "$(find "$1" -mindepth 1 | head -1)" ]; }

# provision_fails NAME CODE REGEX DESC: provision with profile NAME into a
# fresh root exits CODE, says REGEX on stderr and leaves the root empty.
provision_fails() {
	local name=$1 code=$2 re=$3 desc=$4 r
	r=$(tap_tmpdir)
	tap_run "$code" "$desc: provision fails" "$QINSTALL" --root "$r" provision -p "$P/$name.profile" --mirror "$HTTPD_URL"
	tap_like "$TAP_STDERR" "$re" "$desc: the message says why"
	tap_ok "$desc: ROOT is untouched" untouched "$r"
}

profile wrong-hash <<'EOF'
[component ucspi-tcp]
sha256 = 1111111111111111111111111111111111111111111111111111111111111111
EOF
provision_fails wrong-hash 1 'ucspi-tcp-0.88.tar.gz.*(SHA-256|sha256)' "a wrong pinned hash"
tap_like "$TAP_STDERR" '1111111111111111111111111111111111111111111111111111111111111111' \
	"a wrong pinned hash: the message gives the pinned value"

profile wrong-size <<'EOF'
[component ucspi-tcp]
size = 53018
EOF
provision_fails wrong-size 1 'ucspi-tcp-0.88.tar.gz.*(size|bytes)' "a wrong pinned size"

profile missing-patch <<'EOF'
[component ucspi-tcp]
patch = payload/no-such.patch
EOF
provision_fails missing-patch 1 "missing-patch.profile:4: patch 'payload/no-such.patch' of \[component ucspi-tcp\]: no such file" \
	"a missing patch file"

cat >"$P/stale.patch" <<'EOF'
--- a/error.h
+++ b/error.h
@@ -1,7 +1,7 @@
 #ifndef ERROR_H
 #define ERROR_H
 
-extern int errno_of_another_era;
+#include <errno.h>
 
 extern int error_intr;
 extern int error_nomem;
EOF
profile bad-patch <<'EOF'
[component ucspi-tcp]
patch =
patch = stale.patch
EOF
provision_fails bad-patch 1 'stale.patch.*error.h.*[Hh]unk #?1' "a patch that does not apply"
tap_like "$TAP_STDERR" 'nothing was built' "a patch that does not apply: it stops before the build"

profile bad-build <<'EOF'
[build]
cc = gcc -O2 -include qinstall-no-such-header.h
EOF
provision_fails bad-build 1 'build failed' "a build that fails"
tap_like "$TAP_STDERR" 'qinstall-no-such-header.h: No such file' "a build that fails: the log's last lines are shown"
tap_like "$TAP_STDERR" 'the whole log is /.*/logs/ucspi-tcp-0.88-[0-9a-f]+\.log' "a build that fails: it says where the log is"
log=$(printf '%s\n' "$TAP_STDERR" | sed -n 's/.*the whole log is \([^;]*\);.*/\1/p' | head -1)
tap_ok "a build that fails: the log is kept" test -s "$log"
tap_is "$(ls "$QINSTALL_CACHE_DIR/work" 2>/dev/null)" "" "a build that fails: its work directory is cleaned up"
tap_is "$(ls "$QINSTALL_CACHE_DIR/builds" | grep -c 'ucspi-tcp')" 0 "a build that fails: nothing enters the build cache"

profile unknown-key <<'EOF'
[build]
colour = blue
EOF
provision_fails unknown-key 2 "unknown-key.profile:4: unknown key 'colour' in \[build\]" "a profile with an unknown key"

profile bad-value <<'EOF'
[component ucspi-tcp]
fuzz = 9
EOF
provision_fails bad-value 2 "bad-value.profile:4: bad value for 'fuzz' in \[component ucspi-tcp\]: '9'" "a profile with a bad value"

r=$(tap_tmpdir)
tap_run 2 "an unknown shipped profile is a usage error" "$QINSTALL" --root "$r" provision -p no-such-profile
tap_like "$TAP_STDERR" "no profile named 'no-such-profile'" "and names it"
tap_run 1 "provision without --profile is netqmail's, refused in a root without accounts files" \
	"$QINSTALL" --root "$r" provision
tap_like "$TAP_STDERR" "qmail's accounts in .*etc/passwd does not exist" "and says what is missing"
tap_run 2 "plan with a bad --domain is a usage error" "$QINSTALL" --root "$r" plan -p ucspi-daemontools --domain 'a b'
tap_like "$TAP_STDERR" "command line: bad value for 'domain' in \\[mail\\]" "and names the command line as the origin"
tap_ok "ROOT is still untouched" untouched "$r"

# --offline without the source in the cache: a clear refusal.
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
r=$(tap_tmpdir)
tap_run 1 "--offline with an empty cache fails" "$QINSTALL" --root "$r" provision -p ucspi-daemontools --offline
tap_like "$TAP_STDERR" 'ucspi-tcp' "and names the component"
tap_ok "--offline with an empty cache: ROOT is untouched" untouched "$r"
tap_done
