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
tap_done
