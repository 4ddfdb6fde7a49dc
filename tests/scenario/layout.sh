#!/bin/bash
# Scenario: the house rules of the source tree (HACKING.md, "Layout"):
# the front end includes only the library's API, each module includes only
# its own header, core's and the API (and the modules it is said to build
# on), every module folder has its fragment, and child processes are
# started only by core/process.c.
. "$top_srcdir/tests/lib/tap.sh"
cd "$top_srcdir" || exit 1

# Project headers ("...") a file includes, one per line.
includes() { sed -n 's/^#include "\([^"]*\)".*/\1/p' "$@" | sort -u; }

bad=$(includes cli/*.c cli/*.h | grep -vx 'config.h\|cli.h\|qinstall.h' || true)
tap_is "$bad" "" "cli/ includes only qinstall.h, cli.h and config.h"

# MODULE: the other modules' headers it may include.
declare -A may=(
	[core]=""
	[journal]=""
	[sources]=""
	[patch]=""
	[accounts]=""
	[mailusers]="accounts/passwd.h"
	[provision]="sources/sources.h patch/patch.h accounts/passwd.h journal/journal.h"
	[smoke]="accounts/passwd.h"
)
for d in installer/*/; do
	m=$(basename "$d")
	tap_ok "installer/$m has its fragment $m.am" test -f "$d$m.am"
	[ -n "${may[$m]+set}" ] || { tap_is "$m" "a module listed here" "installer/$m is a known module"; continue; }
	allowed=$(printf '%s\n' config.h qinstall.h core/core.h ${may[$m]} | sort -u)
	got=$(includes "$d"*.c "$d"*.h | grep -v "^$m/" | comm -23 - <(printf '%s\n' "$allowed") || true)
	tap_is "$got" "" "installer/$m includes only its own headers, core's and the API${may[$m]:+ (and ${may[$m]})}"
done
# migrate/ (the takeover) speaks the library's API and core's child
# processes, nothing else of installer/.
bad=$(includes migrate/*.c migrate/*.h | grep -vx 'config.h\|qinstall.h\|core/core.h\|convert/convert.h' |
	grep -v '^migrate/' || true)
tap_is "$bad" "" "migrate/ includes only qinstall.h, core/core.h, convert/convert.h and its own header"
# convert/ (the configuration conversion) is pure: its own headers only
# (convert.h, the API, and util.h, its internal helpers).
bad=$(includes convert/*.c convert/*.h | grep -vx 'config.h\|convert/convert.h\|convert/util.h' || true)
tap_is "$bad" "" "convert/ includes only its own headers (convert.h, util.h)"
tap_ok "convert has its fragment convert.am" test -f convert/convert.am
tap_ok "migrate has its fragment migrate.am" test -f migrate/migrate.am
# Programs are started in one place (core/process.c), under one set of rules.
bad=$(grep -lE '\b(fork|vfork|posix_spawnp?|exec[lv]p?e?|popen|system)\(' installer/*/*.c cli/*.c migrate/*.c convert/*.c |
	grep -vx 'installer/core/process.c' || true)
tap_is "$bad" "" "only installer/core/process.c starts child processes"
bad=$(find installer -maxdepth 1 -name '*.c' | sort)
tap_is "$bad" "" "no source file outside a module folder"
tap_done
