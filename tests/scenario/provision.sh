#!/bin/bash
# Scenario: `qinstall provision -p ucspi-daemontools` into a throwaway root
# with the sources served on loopback (--mirror): plan writes nothing; the
# installed tcprules, tcpserver, svscan and supervise work; a second run
# changes nothing; a second root comes from the build cache; rollback gives
# back the root exactly; the /command layout profile. Each case starts from
# a root of its own; they share the build cache that case_provision fills.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"

# The build cache every case shares: the first provision (case_provision)
# fills it; a case that damages a cache works on a copy of it.
CACHE=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$CACHE
T=$(tap_tmpdir)
TAP_TREE_EXCLUDE=var/lib/qinstall
tree() { tap_tree "$1"; }

# own_root: R is a new root with something of its own, which must survive
# untouched; before is its tree.
own_root() {
	R=$(tap_tmpdir)
	mkdir -p "$R/etc" "$R/usr/local/bin" "$R/var/lib"
	echo "hello" >"$R/etc/motd"
	printf '#!/bin/sh\necho mine\n' >"$R/usr/local/bin/mine"; chmod 755 "$R/usr/local/bin/mine"
	before=$(tree "$R")
}

# provisioned_root: own_root, then provision into it (from the build cache
# once case_provision has filled it); B is its bin directory.
provisioned_root() {
	own_root
	B=$R/usr/local/bin
	tap_setup_qinstall "$R" "provision -p ucspi-daemontools --mirror $HTTPD_URL"
}

# --- plan: lists, writes nothing ----------------------------------------
case_plan() {
	tap_case "plan on a fresh root"
	own_root
	local C0 plan_out
	C0=$(tap_tmpdir)
	tap_run 0 "plan on a fresh root succeeds" "$QINSTALL" --root "$R" --cache-dir "$C0" plan -p ucspi-daemontools
	tap_like "$TAP_STDOUT" 'create +/usr/local/bin/tcpserver +\(ucspi-tcp\)' "plan lists tcpserver to be created"
	tap_like "$TAP_STDOUT" 'create +/etc/systemd/system/svscan.service' "plan lists the svscan unit"
	tap_like "$TAP_STDOUT" 'fetch and verify the source' "plan says the sources must be fetched"
	tap_tree_is "$R" "$before" "plan left the root as it was"
	tap_is "$(find "$C0" -mindepth 1 | head -1)" "" "plan wrote nothing into the cache either"
	plan_out=$TAP_STDOUT
	tap_run 0 "provision --check" "$QINSTALL" --root "$R" --cache-dir "$C0" --check provision -p ucspi-daemontools
	tap_is "$TAP_STDOUT" "$plan_out" "provision --check says exactly what plan says"
	tap_tree_is "$R" "$before" "provision --check left the root as it was"
	tap_run 0 "plan --json --diff" "$QINSTALL" --root "$R" --cache-dir "$C0" --json --diff plan -p ucspi-daemontools
	tap_json_is changed true "plan reports changed: true (something would change)"
	tap_like "$(tap_json diff.after)" 'ExecStart=/usr/local/bin/svscan /etc/service' "--diff shows the unit's content"
}

# --- provision ------------------------------------------------------------
case_provision() {
	tap_case "provision from the loopback mirror, the build cache empty"
	own_root
	local log p
	tap_run 0 "provision from the loopback mirror" "$QINSTALL" --root "$R" --json provision \
		-p ucspi-daemontools --mirror "$HTTPD_URL"
	tap_json_is changed true "provision reports changed: true"
	tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "false false" "both components were built"
	tap_json_is components.0.origin mirror "the sources came from the mirror"
	log=$(tap_json build_logs.ucspi-tcp)
	tap_ok "the ucspi-tcp build log is kept ($log)" test -s "$log"
	tap_json_has components.0.patches.#.fuzz 0 "the patch report records each hunk"
	for p in tcpserver tcprules tcprulescheck tcpclient rblsmtpd svscan supervise svc svstat multilog; do
		tap_type_is "$R/usr/local/bin/$p" file "/usr/local/bin/$p is installed, a file"
		tap_ok "/usr/local/bin/$p is not empty" test -s "$R/usr/local/bin/$p"
		tap_mode_is "$R/usr/local/bin/$p" 0755 "/usr/local/bin/$p is installed 0755"
		tap_owner_is "$R/usr/local/bin/$p" 0:0 "/usr/local/bin/$p is installed root:root"
	done
	tap_is "$(cat "$R/usr/local/bin/mine")" "$(printf '#!/bin/sh\necho mine')" "the root's own file is untouched"
	tap_like "$(cat "$R/etc/systemd/system/svscan.service")" 'ExecStart=/usr/local/bin/svscan /etc/service' \
		"the svscan unit runs the installed svscan on /etc/service"
	tap_is "$(readlink "$R/etc/systemd/system/multi-user.target.wants/svscan.service")" \
		/etc/systemd/system/svscan.service "the unit is enabled by its wants link"
	tap_type_is "$R/etc/service" dir "the service directory exists"
	TAP_STDOUT=$(cat "$R/var/lib/qinstall/provision.json")
	tap_json_is components.0.build_log "$log" "provision.json records the build logs"
	tap_like "$(grep -c '' "$R/usr/local/bin/date@")" '^[0-9]+$' "date@ (a script) is installed"
	tap_like "$(cat "$R/usr/local/bin/date@")" '/usr/local/bin/tcpclient' "date@ calls tcpclient under conf-home"
}

# --- the installed programs work ----------------------------------------
case_programs() {
	tap_case "the installed programs work"
	provisioned_root || return
	local W port srv got i scan st svpid sups
	W=$(tap_tmpdir)
	printf '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n' >"$W/rules"
	tap_ok "tcprules compiles the rules into a cdb" sh -c "'$B/tcprules' '$W/rules.cdb' '$W/rules.tmp' <'$W/rules'"
	tap_ok "the cdb exists" test -s "$W/rules.cdb"
	tap_like "$(TCPREMOTEIP=127.0.0.1 "$B/tcprulescheck" "$W/rules.cdb" 2>&1)" \
		'set environment variable RELAYCLIENT=' "tcprulescheck finds RELAYCLIENT for 127.0.0.1"
	tap_like "$(TCPREMOTEIP=10.1.2.3 "$B/tcprulescheck" "$W/rules.cdb" 2>&1)" \
		'deny connection' "and denies another address"
	port=$("$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$W/prog" <<'EOF'
#!/bin/sh
echo "RELAYCLIENT=${RELAYCLIENT-unset} TCPREMOTEIP=$TCPREMOTEIP"
EOF
	chmod 755 "$W/prog"
	timeout 20 "$B/tcpserver" -x "$W/rules.cdb" -R -H 127.0.0.1 "$port" "$W/prog" 2>"$W/tcpserver.err" &
	srv=$!
	got=
	for i in $(seq 50); do
		got=$("$PYTHON3" - "$port" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
print(s.makefile().read().strip())
EOF
) && [ -n "$got" ] && break
		sleep 0.1
	done
	kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
	tap_is "$got" "RELAYCLIENT= TCPREMOTEIP=127.0.0.1" "tcpserver runs the program with RELAYCLIENT set by the rules"

	mkdir -p "$W/svc/hello"
	cat >"$W/svc/hello/run" <<EOF
#!/bin/sh
echo started >>"$W/ran"
exec sleep 30
EOF
	chmod 755 "$W/svc/hello/run"
	PATH=$B:$PATH "$B/svscan" "$W/svc" >/dev/null 2>&1 &
	scan=$!
	for i in $(seq 50); do [ -s "$W/ran" ] && break; sleep 0.1; done
	tap_is "$(cat "$W/ran" 2>/dev/null)" started "svscan started supervise, which ran the service"
	st=$("$B/svstat" "$W/svc/hello" 2>&1)
	tap_like "$st" ': up \(pid [0-9]+\)' "svstat reports the service up"
	svpid=$(printf '%s' "$st" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
	sups=$(pgrep -P "$scan")
	"$B/svc" -dx "$W/svc/hello" 2>/dev/null
	for i in $(seq 50); do [ -n "$svpid" ] && kill -0 "$svpid" 2>/dev/null || break; sleep 0.1; done
	tap_ok "svc -dx stopped the service" sh -c "[ -n '$svpid' ] && ! kill -0 '$svpid' 2>/dev/null"
	kill "$scan" $sups $svpid 2>/dev/null; wait "$scan" 2>/dev/null
}

# --- idempotence ------------------------------------------------------------
case_again() {
	tap_case "a second provision"
	provisioned_root || return
	local log
	tap_run 0 "a second provision succeeds" "$QINSTALL" --root "$R" --json provision -p ucspi-daemontools --mirror "$HTTPD_URL"
	tap_json_is changed false "a second provision changes nothing (changed: false)"
	tap_like "$(tap_json msg)" '^nothing to do' "and says so"
	tap_json_is components.0.cached true "it used the build cache"
	tap_run 0 "plan after provision" "$QINSTALL" --root "$R" --json plan -p ucspi-daemontools
	tap_is "$(tap_json changed) $(tap_json plan)" "false []" "plan after provision lists nothing"
	tap_run 0 "status --json after provision" "$QINSTALL" --root "$R" --json status
	tap_json_is runs.# 1 "the no-op provision recorded no run"
	tap_run 0 "status after provision" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" '^  ucspi-tcp +0\.88 .*build log /' "status names ucspi-tcp's build log"
	log=$(printf '%s\n' "$TAP_STDOUT" | sed -n 's/^  daemontools .*build log //p')
	tap_ok "status names daemontools' build log, which exists" test -s "$log"
}

# A changed file in ROOT is put back, and only it.
case_repair() {
	tap_case "a tampered program"
	provisioned_root || return
	echo "tampered" >"$B/tcpserver"
	tap_run 0 "plan sees a tampered program" "$QINSTALL" --root "$R" plan -p ucspi-daemontools
	tap_like "$TAP_STDOUT" 'replace +/usr/local/bin/tcpserver' "plan lists it for replacement"
	tap_unlike "$TAP_STDOUT" 'tcprules ' "and nothing else of ucspi-tcp"
	tap_run 0 "provision repairs it" "$QINSTALL" --root "$R" --json provision -p ucspi-daemontools --offline
	tap_json_is components.0.changed 1 "one path changed"
	tap_ok "tcpserver is a program again" sh -c "'$B/tcpserver' 2>&1 | grep -q usage"
	tap_run 0 "rollback of the repair" "$QINSTALL" --root "$R" rollback
	tap_is "$(cat "$B/tcpserver")" tampered "rollback of the repair gives back the tampered file"
}

# --- a second root, warm build cache ---------------------------------------------
case_second_root() {
	tap_case "a root from the warm build cache"
	provisioned_root || return
	local ref=$B R2
	R2=$(tap_tmpdir)
	mkdir -p "$R2/var/lib"
	tap_run 0 "provision into a second root" "$QINSTALL" --root "$R2" --json provision -p ucspi-daemontools --offline
	tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "true true" "the second root came from the build cache"
	tap_is "$(tree "$R2" | grep -c '/usr/local/bin/')" 34 "all 34 programs are in the second root"
	tap_is "$(cd "$R2/usr/local/bin" && sha256sum svscan)" "$(cd "$ref" && sha256sum svscan)" "the same svscan in both roots"
}

# The work directory of a killed provision is swept; a live one is not.
case_stale_work() {
	tap_case "stale work directories in the build cache"
	local C3
	C3=$(tap_tmpdir)/cache
	cp -a "$CACHE" "$C3"
	R=$(tap_tmpdir)
	mkdir -p "$R/var/lib"
	tap_setup_qinstall "$R" "--cache-dir $C3 provision -p ucspi-daemontools --offline" || return
	mkdir -p "$C3/work/ucspi-tcp-0.88-0000.999999999/src" "$C3/work/ucspi-tcp-0.88-0000.$$/src"
	tap_run 0 "provision with a stale work directory in the cache" "$QINSTALL" --root "$R" --cache-dir "$C3" provision -p ucspi-daemontools --offline
	tap_ok "the dead process's work directory is removed" test ! -e "$C3/work/ucspi-tcp-0.88-0000.999999999"
	tap_ok "a live process's work directory is kept" test -d "$C3/work/ucspi-tcp-0.88-0000.$$"
}

# A damaged build cache entry is never installed: it is built again.
case_damaged_cache() {
	tap_case "a damaged build cache entry"
	provisioned_root || return
	local ref=$B C4 R4
	C4=$(tap_tmpdir)/cache
	cp -a "$CACHE" "$C4"
	echo "garbage" >"$(ls -d "$C4"/builds/ucspi-tcp-0.88-*)/stage/usr/local/bin/tcprules"
	R4=$(tap_tmpdir)
	tap_run 0 "provision over a damaged cache entry" "$QINSTALL" --root "$R4" --cache-dir "$C4" --json provision -p ucspi-daemontools --offline
	tap_like "$TAP_STDERR" 'does not match its manifest at /usr/local/bin/tcprules' "it says the cache entry is damaged"
	tap_json_is components.0.cached false "and builds ucspi-tcp again"
	tap_is "$(cd "$R4/usr/local/bin" && sha256sum tcprules)" "$(cd "$ref" && sha256sum tcprules)" "the installed tcprules is the real one"
}

# --- rollback --------------------------------------------------------------------
case_rollback() {
	tap_case "rollback of a provision"
	provisioned_root || return
	tap_run 0 "rollback run 1, the provision" "$QINSTALL" --root "$R" rollback 1
	tap_tree_is "$R" "$before" "after rollback the root is identical to before (tree manifest)"
}

case_rollback_second_root() {
	tap_case "rollback of a provision into an empty root"
	local R2 before2
	R2=$(tap_tmpdir)
	mkdir -p "$R2/var/lib"
	before2=$(tree "$R2")
	tap_setup_qinstall "$R2" "provision -p ucspi-daemontools --offline" || return
	tap_run 0 "rollback of the second root" "$QINSTALL" --root "$R2" rollback
	tap_tree_is "$R2" "$before2" "the second root is as it was before"
}

# --- two provisions at once, cold cache ------------------------------------------------
case_concurrent() {
	tap_case "two provisions at once, sharing a cold cache"
	local C2 RA RB pa pb ra rb
	C2=$(tap_tmpdir); RA=$(tap_tmpdir); RB=$(tap_tmpdir)
	QINSTALL_CACHE_DIR=$C2 "$QINSTALL" -q --root "$RA" provision -p ucspi-daemontools --mirror "$HTTPD_URL" >"$T/a.out" 2>&1 &
	pa=$!
	QINSTALL_CACHE_DIR=$C2 "$QINSTALL" -q --root "$RB" provision -p ucspi-daemontools --mirror "$HTTPD_URL" >"$T/b.out" 2>&1 &
	pb=$!
	ra=0; wait "$pa" || ra=$?
	rb=0; wait "$pb" || rb=$?
	tap_is "$ra $rb" "0 0" "two provisions of the same profile at once, sharing a cold cache, both succeed"
	[ "$ra $rb" = "0 0" ] || tap_diag "$(cat "$T/a.out" "$T/b.out")"
	tap_is "$(tree "$RA" | grep -v '^/ ')" "$(tree "$RB" | grep -v '^/ ')" "and install identical trees"
	tap_is "$(ls "$C2/builds" | wc -l) $(ls "$C2/work" 2>/dev/null | wc -l)" "2 0" \
		"one build per component in the cache, no work directory left"
	tap_run 0 "plan after either is exact and empty" "$QINSTALL" --root "$RB" --cache-dir "$C2" --json plan -p ucspi-daemontools
	tap_json_is changed false "nothing left to change in the second root"
}

# --- the /command layout ----------------------------------------------------------
case_command_layout() {
	tap_case "the /command layout"
	local R3
	R3=$(tap_tmpdir)
	tap_run 0 "provision the /command layout" "$QINSTALL" --root "$R3" --json provision -p ucspi-daemontools-command --offline
	tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "true false" \
		"ucspi-tcp reused from the cache, daemontools rebuilt for its other home"
	tap_ok "svscan is in /command" test -x "$R3/command/svscan"
	tap_ok "tcpserver stays in /usr/local/bin" test -x "$R3/usr/local/bin/tcpserver"
	tap_like "$(cat "$R3/etc/systemd/system/svscan.service")" 'ExecStart=/command/svscan /service' "the unit runs /command/svscan on /service"
	tap_type_is "$R3/service" dir "/service exists"
}

case_plan
case_provision
case_programs
case_again
case_repair
case_second_root
case_stale_work
case_damaged_cache
case_rollback
case_rollback_second_root
case_concurrent
case_command_layout
tap_done
