#!/bin/bash
# Scenario: every component build is isolated ([build] isolate, the
# default). make runs as the build user ([build] user, nobody), in a mount
# namespace where only the build's work directory is writable, without
# network; `make install` runs isolated too, as root. A Makefile that
# writes outside its tree (/tmp, the ROOT given to provision, the cache
# directory above its work directory) or reaches the network (a TCP server
# of this test on 127.0.0.1, the resolver) fails the build, the error
# quoting the build log, and nothing is created. A build that writes
# `id -u` into its tree stages the build user's uid. `isolate = no`
# builds as before, as root, with one warning per run, from the same cache
# entry (the cache key does not change). Without CAP_SYS_ADMIN the error
# names the setting that builds without isolation.
#
# The components are tiny Makefiles made here (make and shell, no
# compiler), read as local files.
. "$top_srcdir/tests/lib/tap.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "isolated builds need root"
command -v make >/dev/null || tap_skip_all "make is needed to build the test components"
NOBODY=$(id -u nobody 2>/dev/null) || tap_skip_all "the host has no nobody account"
CACHE=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$CACHE
S=$(tap_tmpdir)

# component NAME [BUILD-LINE...]: the tar.gz of NAME-1.0 whose Makefile is
# read from stdin, and its profile $S/NAME.profile (with the [build] lines
# given) in P. Its install target installs what its build made.
component() {
	local name=$1; shift
	mkdir -p "$S/$name-1.0"
	cat >"$S/$name-1.0/Makefile"
	tar -C "$S" -czf "$S/$name-1.0.tar.gz" "$name-1.0"
	P=$S/$name.profile
	{
		if [ $# -gt 0 ]; then echo "[build]"; printf '%s\n' "$@"; fi
		cat <<EOF
[component $name]
version = 1.0
url = file://$S/$name-1.0.tar.gz
sha256 = $(sha256sum <"$S/$name-1.0.tar.gz" | cut -c1-64)
make = all
install = make
bindir = /usr/local/bin
EOF
	} >"$P"
}

# --- writing outside the tree fails the build ---------------------------------
# escape NAME WHERE: a build that writes a file WHERE (tmp, root, cache:
# the cache directory, work: the directory that holds the work directory)
# fails, the error quoting the log that says why, and the file is not
# there.
escape() {
	local name=$1 where=$2 R path
	tap_case "a build that writes outside its tree ($where)"
	R=$(tap_tmpdir)
	case $where in
	tmp) path=/tmp/qi-escape-$$-$name ;;
	root) path=$R/escaped ;;
	cache) path=$CACHE/escaped ;;
	work) path=$CACHE/work/escaped ;;
	esac
	component "$name" < <(printf 'all:\n\techo escaped >%s\n' "$path")
	tap_run 1 "the build that writes $path fails" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "build failed: .make -j[0-9]+ all. failed" "the error says the build failed"
	tap_like "$TAP_STDERR" "last lines of $CACHE/logs/$name-1.0-[0-9a-f]+\\.log:" "the error quotes the build log"
	tap_like "$TAP_STDERR" "$path: (Read-only file system|Permission denied)" \
		"the quoted log says the write was refused"
	tap_type_is "$path" none "nothing was created at $path"
	rm -f "$path"	# what an unisolated build leaves (/tmp is the host's)
	tap_is "$(find "$R" -mindepth 1 | head -1)" "" "the root is untouched"
}
escape escape-tmp tmp
escape escape-root root
escape escape-cache cache
escape escape-work work

# The install step is isolated too, though as root: it may write its
# DESTDIR, not the ROOT.
case_install_escape() {
	tap_case "an install step that writes into the ROOT"
	local R
	R=$(tap_tmpdir)
	component install-escape < <(printf 'all:\n\techo built >built\ninstall:\n\tmkdir -p $(DESTDIR)/usr/local/bin\n\tcp built $(DESTDIR)/usr/local/bin/built\n\techo escaped >%s/escaped\n' "$R")
	tap_run 1 "the install that writes into the ROOT fails" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "build failed: .make install DESTDIR=.* failed" "the error says the install failed"
	tap_like "$TAP_STDERR" "$R/escaped: Read-only file system" "the quoted log says the ROOT is read-only"
	tap_is "$(find "$R" -mindepth 1 | head -1)" "" "the root is untouched"
}
case_install_escape

# --- no network -----------------------------------------------------------------
# A TCP server of the test's own on 127.0.0.1 (what a build would reach
# without isolation): it writes down any connection it gets.
case_network() {
	tap_case "a build that connects to a TCP server on 127.0.0.1"
	command -v python3 >/dev/null || { tap_skip "the loopback TCP case" "python3 is needed for the loopback server"; return; }
	local R T port pid
	R=$(tap_tmpdir)
	T=$(tap_tmpdir)
	python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
s.settimeout(60)
try:
    c, _ = s.accept()
    open(sys.argv[1], "w").write("connected\n")
except socket.timeout:
    pass
' "$T/connected" >"$T/port" &
	pid=$!
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	port=$(cat "$T/port")
	tap_like "$port" '^[0-9]+$' "the loopback server listens" || { kill "$pid"; return; }
	component network-tcp < <(printf 'all:\n\tpython3 -c %s\n' \
		"'import socket; socket.create_connection((\"127.0.0.1\", $port), 5); print(\"reached\")'")
	tap_run 1 "the build that connects to 127.0.0.1:$port fails" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "last lines of $CACHE/logs/network-tcp-1.0-" "the error quotes the build log"
	tap_like "$TAP_STDERR" "Network is unreachable" "which says the network cannot be reached"
	tap_unlike "$TAP_STDERR" "reached$" "the build never got through"
	tap_type_is "$T/connected" none "the server got no connection"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
case_network

case_resolver() {
	tap_case "a build that looks a name up"
	local R name= n
	# A name the host resolves: one of its own apt archives' (never written here).
	for n in $(grep -rhoE '(https?|ftp)://[^/ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		sed -E 's#^[a-z]+://##; s#:.*##' | sort -u); do
		getent hosts "$n" >/dev/null && { name=$n; break; }
	done
	[ -n "$name" ] || { tap_skip "the resolver case" "the host resolves none of its apt archives' names"; return; }
	R=$(tap_tmpdir)
	component network-dns < <(printf 'all:\n\tgetent hosts %s\n' "$name")
	tap_run 1 "the build that resolves $name fails" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "build failed: .make -j[0-9]+ all. failed" "the error says the build failed"
}
case_resolver

# --- the build user --------------------------------------------------------------
# whoami_component NAME [BUILD-LINE...]: a build that writes `id -u` and
# its TMPDIR into its tree, and at install `id -u` again, and installs
# them into /usr/local/share/whoami.
whoami_component() {
	component "$@" < <(printf '%s\n' 'all:' \
		'	id -u >build-uid' \
		'	echo "$$TMPDIR" >build-tmpdir' \
		'	touch "$$TMPDIR/used"' \
		'install:' \
		'	mkdir -p $(DESTDIR)/usr/local/share/whoami' \
		'	cp build-uid build-tmpdir $(DESTDIR)/usr/local/share/whoami/' \
		'	id -u >$(DESTDIR)/usr/local/share/whoami/install-uid')
}

case_build_user() {
	tap_case "make runs as the build user, make install as root"
	local R
	R=$(tap_tmpdir)
	whoami_component whoami
	tap_run 0 "provision of a build that records its uid" "$QINSTALL" --root "$R" --json provision -p "$P"
	tap_is "$(cat "$R/usr/local/share/whoami/build-uid")" "$NOBODY" "make ran as nobody (uid $NOBODY)"
	tap_is "$(cat "$R/usr/local/share/whoami/install-uid")" 0 "make install ran as root"
	tap_like "$(cat "$R/usr/local/share/whoami/build-tmpdir")" "^$CACHE/work/whoami-1.0-[0-9a-f]+\\.[0-9]+/\\.tmp$" \
		"TMPDIR is the work directory's .tmp"
	tap_is "$(tap_json warnings.#)" 0 "no warning"
}
case_build_user

case_other_user() {
	tap_case "[build] user names the build user"
	local R
	R=$(tap_tmpdir)
	whoami_component whoami-root "user = root"
	tap_run 1 "root as the build user is refused" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "$P:[0-9]+: the build user 'root' has uid 0" "the error names the profile's line and root"
	whoami_component whoami-unknown "user = qi-no-such-user"
	tap_run 1 "an unknown build user is refused" "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "the build user 'qi-no-such-user' is not in the host's passwd" "the error names the user"
	tap_is "$(find "$R" -mindepth 1 | head -1)" "" "the root is untouched"
}
case_other_user

# --- isolate = no --------------------------------------------------------------
case_not_isolated() {
	tap_case "isolate = no builds as root, with one warning"
	local R C2
	R=$(tap_tmpdir)
	C2=$(tap_tmpdir)
	whoami_component whoami-open "isolate = no"
	# A second component, so that the run builds twice.
	sed -e 's/^\[component whoami-open\]/[component second]/' -e 's/^bindir = .*/bindir = \/opt\/bin/' \
		"$P" | grep -v -e '^\[build\]' -e '^isolate' >"$S/second.part"
	cat "$S/second.part" >>"$P"
	tap_run 0 "provision with isolate = no" "$QINSTALL" --root "$R" --cache-dir "$C2" --json provision -p "$P"
	tap_is "$(cat "$R/usr/local/share/whoami/build-uid")" 0 "make ran as root"
	tap_is "$(tap_json components.#.cached)" "[false, false]" "both components were built"
	tap_is "$(tap_json warnings.#)" 1 "one warning for the run's two builds"
	tap_like "$(tap_json warnings.0)" "^builds are not isolated \\($P:[0-9]+: isolate = no\\)" \
		"the warning says builds are not isolated, and where that was set"
	# The cache key is the same: the isolated build of the same recipe is
	# taken from the cache the unisolated one filled.
	sed -i '/^isolate = no$/d' "$P"
	R=$(tap_tmpdir)
	tap_run 0 "the isolated provision of the same recipe" "$QINSTALL" --root "$R" --cache-dir "$C2" --json provision -p "$P"
	tap_is "$(tap_json components.#.cached)" "[true, true]" "they come from the build cache: isolation is not in the key"
	tap_is "$(tap_json warnings)" "[]" "and no warning: nothing was built"
}
case_not_isolated

# --- without CAP_SYS_ADMIN (a container) ---------------------------------------
case_no_cap() {
	tap_case "without CAP_SYS_ADMIN the error names the way out"
	command -v setpriv >/dev/null || { tap_skip "the case without CAP_SYS_ADMIN" "setpriv is needed to drop CAP_SYS_ADMIN"; return; }
	local R
	R=$(tap_tmpdir)
	whoami_component whoami-nocap
	tap_run 1 "an isolated build without CAP_SYS_ADMIN fails" \
		setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "cannot isolate the build: unshare\\(2\\): Operation not permitted" "the error says what failed"
	tap_like "$TAP_STDERR" "set 'isolate = no' in the profile's \\[build\\] section" "the error names the setting"
	tap_is "$(find "$R" -mindepth 1 | head -1)" "" "the root is untouched"
	whoami_component whoami-nocap "isolate = no"
	tap_run 0 "with isolate = no it builds" \
		setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$QINSTALL" --root "$R" provision -p "$P"
	tap_like "$TAP_STDERR" "builds are not isolated" "with the warning"
}
case_no_cap

tap_done
