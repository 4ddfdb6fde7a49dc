#!/bin/bash
# Scenario: the command line itself (help, version, usage errors).
. "$top_srcdir/tests/lib/tap.sh"

tap_run 0 "--version exits 0" "$QINSTALL" --version
tap_like "$TAP_STDOUT" '^qinstall [0-9]+\.[0-9]+' "--version prints the version"
tap_run 0 "--help exits 0" "$QINSTALL" --help
tap_like "$TAP_STDOUT" 'Usage: qinstall \[OPTIONS\] COMMAND' "--help shows the synopsis"
tap_like "$TAP_STDOUT" '--root DIR' "--help lists --root"
tap_run 2 "no command is a usage error" "$QINSTALL"
tap_run 2 "an unknown command is a usage error" "$QINSTALL" frobnicate
tap_like "$TAP_STDERR" "unknown command 'frobnicate'" "the error names the unknown command"
tap_run 2 "an unknown global option is a usage error" "$QINSTALL" --frob
for cmd in $("$QINSTALL" --help | awk '/^Commands:/{c=1; next} /^$/{c=0} c {print $1}'); do
	tap_run 0 "$cmd --help exits 0" "$QINSTALL" "$cmd" --help
	tap_is "$(printf '%s\n' "$TAP_STDOUT" | grep -c '^Usage:')" 1 "$cmd --help has one usage line"
	tap_like "$TAP_STDOUT" "^Usage: qinstall $cmd " "$cmd --help names the command"
	tap_like "$TAP_STDOUT" "--root" "$cmd --help lists the global options too"
done
tap_run 2 "a bad option after the command is a usage error" "$QINSTALL" status --frob
tap_like "$TAP_STDERR" "status --frob" "the error names the command and the option"
tap_done
