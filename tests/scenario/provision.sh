#!/bin/bash
# Scenario: `qinstall provision -p ucspi-daemontools` into a throwaway root
# with the sources served on loopback (--mirror): plan writes nothing; the
# installed tcprules, tcpserver, svscan and supervise work; a second run
# changes nothing; a second root comes from the build cache; rollback gives
# back the root exactly; the /command layout profile.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

manifest=$top_builddir/tests/lib/treemanifest
[ -x "$manifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"

CACHE=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$CACHE
T=$(tap_tmpdir)
R=$(tap_tmpdir)
# A root with something of its own, which must survive untouched.
mkdir -p "$R/etc" "$R/usr/local/bin" "$R/var/lib"
echo "hello" >"$R/etc/motd"
printf '#!/bin/sh\necho mine\n' >"$R/usr/local/bin/mine"; chmod 755 "$R/usr/local/bin/mine"
tree() { "$manifest" --exclude var/lib/qinstall "$1"; }
before=$(tree "$R")

# --- plan: lists, writes nothing ----------------------------------------
tap_run 0 "plan on a fresh root succeeds" "$QINSTALL" --root "$R" plan -p ucspi-daemontools
tap_like "$TAP_STDOUT" 'create +/usr/local/bin/tcpserver +\(ucspi-tcp\)' "plan lists tcpserver to be created"
tap_like "$TAP_STDOUT" 'create +/etc/systemd/system/svscan.service' "plan lists the svscan unit"
tap_like "$TAP_STDOUT" 'fetch and verify the source' "plan says the sources must be fetched"
tap_is "$(tree "$R")" "$before" "plan left the root as it was"
tap_is "$(find "$CACHE" -mindepth 1 | head -1)" "" "plan wrote nothing into the cache either"
plan_out=$TAP_STDOUT
tap_run 0 "provision --check" "$QINSTALL" --root "$R" --check provision -p ucspi-daemontools
tap_is "$TAP_STDOUT" "$plan_out" "provision --check says exactly what plan says"
tap_is "$(tree "$R")" "$before" "provision --check left the root as it was"
tap_run 0 "plan --json --diff" "$QINSTALL" --root "$R" --json --diff plan -p ucspi-daemontools
tap_is "$(tap_json changed)" true "plan reports changed: true (something would change)"
tap_like "$(tap_json diff.after)" 'ExecStart=/usr/local/bin/svscan /etc/service' "--diff shows the unit's content"

# --- provision ------------------------------------------------------------
tap_run 0 "provision from the loopback mirror" "$QINSTALL" --root "$R" --json provision \
	-p ucspi-daemontools --mirror "$HTTPD_URL"
tap_is "$(tap_json changed)" true "provision reports changed: true"
tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "false false" "both components were built"
tap_is "$(tap_json components.0.origin)" mirror "the sources came from the mirror"
log=$(tap_json build_logs.ucspi-tcp)
tap_ok "the ucspi-tcp build log is kept ($log)" test -s "$log"
tap_like "$(tap_json components.0.patches)" '"fuzz": 0' "the patch report records each hunk"
for p in tcpserver tcprules tcprulescheck tcpclient rblsmtpd svscan supervise svc svstat multilog; do
	m=$(stat -c '%a %u:%g %F' "$R/usr/local/bin/$p" 2>/dev/null)
	tap_is "$m" "755 0:0 regular file" "/usr/local/bin/$p is installed 0755 root:root"
done
tap_is "$(cat "$R/usr/local/bin/mine")" "$(printf '#!/bin/sh\necho mine')" "the root's own file is untouched"
tap_like "$(cat "$R/etc/systemd/system/svscan.service")" 'ExecStart=/usr/local/bin/svscan /etc/service' \
	"the svscan unit runs the installed svscan on /etc/service"
tap_is "$(readlink "$R/etc/systemd/system/multi-user.target.wants/svscan.service")" \
	/etc/systemd/system/svscan.service "the unit is enabled by its wants link"
tap_ok "the service directory exists" test -d "$R/etc/service"
tap_like "$(cat "$R/var/lib/qinstall/provision.json")" '"build_log"' "provision.json records the build logs"
tap_like "$(grep -c '' "$R/usr/local/bin/date@")" '^[0-9]+$' "date@ (a script) is installed"
tap_like "$(cat "$R/usr/local/bin/date@")" '/usr/local/bin/tcpclient' "date@ calls tcpclient under conf-home"

# --- the installed programs work ----------------------------------------
B=$R/usr/local/bin
printf '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n' >"$T/rules"
tap_ok "tcprules compiles the rules into a cdb" sh -c "'$B/tcprules' '$T/rules.cdb' '$T/rules.tmp' <'$T/rules'"
tap_ok "the cdb exists" test -s "$T/rules.cdb"
tap_like "$(TCPREMOTEIP=127.0.0.1 "$B/tcprulescheck" "$T/rules.cdb" 2>&1)" \
	'set environment variable RELAYCLIENT=' "tcprulescheck finds RELAYCLIENT for 127.0.0.1"
tap_like "$(TCPREMOTEIP=10.1.2.3 "$B/tcprulescheck" "$T/rules.cdb" 2>&1)" \
	'deny connection' "and denies another address"
port=$("$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/prog" <<'EOF'
#!/bin/sh
echo "RELAYCLIENT=${RELAYCLIENT-unset} TCPREMOTEIP=$TCPREMOTEIP"
EOF
chmod 755 "$T/prog"
timeout 20 "$B/tcpserver" -x "$T/rules.cdb" -R -H 127.0.0.1 "$port" "$T/prog" 2>"$T/tcpserver.err" &
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

mkdir -p "$T/svc/hello"
cat >"$T/svc/hello/run" <<EOF
#!/bin/sh
echo started >>"$T/ran"
exec sleep 30
EOF
chmod 755 "$T/svc/hello/run"
PATH=$B:$PATH "$B/svscan" "$T/svc" >/dev/null 2>&1 &
scan=$!
for i in $(seq 50); do [ -s "$T/ran" ] && break; sleep 0.1; done
tap_is "$(cat "$T/ran" 2>/dev/null)" started "svscan started supervise, which ran the service"
st=$("$B/svstat" "$T/svc/hello" 2>&1)
tap_like "$st" ': up \(pid [0-9]+\)' "svstat reports the service up"
svpid=$(printf '%s' "$st" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
sups=$(pgrep -P "$scan")
"$B/svc" -dx "$T/svc/hello" 2>/dev/null
for i in $(seq 50); do [ -n "$svpid" ] && kill -0 "$svpid" 2>/dev/null || break; sleep 0.1; done
tap_ok "svc -dx stopped the service" sh -c "[ -n '$svpid' ] && ! kill -0 '$svpid' 2>/dev/null"
kill "$scan" $sups $svpid 2>/dev/null; wait "$scan" 2>/dev/null

# --- idempotence ------------------------------------------------------------
tap_run 0 "a second provision succeeds" "$QINSTALL" --root "$R" --json provision -p ucspi-daemontools --mirror "$HTTPD_URL"
tap_is "$(tap_json changed)" false "a second provision changes nothing (changed: false)"
tap_like "$(tap_json msg)" '^nothing to do' "and says so"
tap_is "$(tap_json components.0.cached)" true "it used the build cache"
tap_run 0 "plan after provision" "$QINSTALL" --root "$R" --json plan -p ucspi-daemontools
tap_is "$(tap_json changed) $(tap_json plan)" "false []" "plan after provision lists nothing"
runs=$("$QINSTALL" --root "$R" --json status | "$PYTHON3" -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
tap_is "$runs" 1 "the no-op provision recorded no run"
tap_run 0 "status after provision" "$QINSTALL" --root "$R" status
tap_like "$TAP_STDOUT" '^  ucspi-tcp +0\.88 .*build log /' "status names ucspi-tcp's build log"
log=$(printf '%s\n' "$TAP_STDOUT" | sed -n 's/^  daemontools .*build log //p')
tap_ok "status names daemontools' build log, which exists" test -s "$log"

# A changed file in ROOT is put back, and only it.
echo "tampered" >"$B/tcpserver"
tap_run 0 "plan sees a tampered program" "$QINSTALL" --root "$R" plan -p ucspi-daemontools
tap_like "$TAP_STDOUT" 'replace +/usr/local/bin/tcpserver' "plan lists it for replacement"
tap_unlike "$TAP_STDOUT" 'tcprules ' "and nothing else of ucspi-tcp"
tap_run 0 "provision repairs it" "$QINSTALL" --root "$R" --json provision -p ucspi-daemontools --offline
tap_is "$(tap_json components.0.changed)" 1 "one path changed"
tap_ok "tcpserver is a program again" sh -c "'$B/tcpserver' 2>&1 | grep -q usage"
tap_run 0 "rollback of the repair" "$QINSTALL" --root "$R" rollback
tap_is "$(cat "$B/tcpserver")" tampered "rollback of the repair gives back the tampered file"

# --- a second root, warm build cache ---------------------------------------------
R2=$(tap_tmpdir)
mkdir -p "$R2/var/lib"
before2=$(tree "$R2")
tap_run 0 "provision into a second root" "$QINSTALL" --root "$R2" --json provision -p ucspi-daemontools --offline
tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "true true" "the second root came from the build cache"
tap_is "$(tree "$R2" | grep -c '/usr/local/bin/')" 34 "all 34 programs are in the second root"
tap_is "$(cd "$R2/usr/local/bin" && sha256sum svscan)" "$(cd "$B" && sha256sum svscan)" "the same svscan in both roots"

# The work directory of a killed provision is swept; a live one is not.
mkdir -p "$CACHE/work/ucspi-tcp-0.88-0000.999999999/src" "$CACHE/work/ucspi-tcp-0.88-0000.$$/src"
tap_run 0 "provision with a stale work directory in the cache" "$QINSTALL" --root "$R2" provision -p ucspi-daemontools --offline
tap_ok "the dead process's work directory is removed" test ! -e "$CACHE/work/ucspi-tcp-0.88-0000.999999999"
tap_ok "a live process's work directory is kept" test -d "$CACHE/work/ucspi-tcp-0.88-0000.$$"
rm -rf "$CACHE/work/ucspi-tcp-0.88-0000.$$"

# A damaged build cache entry is never installed: it is built again.
echo "garbage" >"$(ls -d "$CACHE"/builds/ucspi-tcp-0.88-*)/stage/usr/local/bin/tcprules"
R4=$(tap_tmpdir)
tap_run 0 "provision over a damaged cache entry" "$QINSTALL" --root "$R4" --json provision -p ucspi-daemontools --offline
tap_like "$TAP_STDERR" 'does not match its manifest at /usr/local/bin/tcprules' "it says the cache entry is damaged"
tap_is "$(tap_json components.0.cached)" false "and builds ucspi-tcp again"
tap_is "$(cd "$R4/usr/local/bin" && sha256sum tcprules)" "$(cd "$B" && sha256sum tcprules)" "the installed tcprules is the real one"

# --- rollback --------------------------------------------------------------------
tap_run 0 "rollback run 1, the provision" "$QINSTALL" --root "$R" rollback 1
tap_is "$(tree "$R")" "$before" "after rollback the root is identical to before (tree manifest)"
tap_run 0 "rollback of the second root" "$QINSTALL" --root "$R2" rollback
tap_is "$(tree "$R2")" "$before2" "the second root is as it was before"

# --- two provisions at once, cold cache ------------------------------------------------
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
tap_is "$(tap_json changed)" false "nothing left to change in the second root"

# --- the /command layout ----------------------------------------------------------
R3=$(tap_tmpdir)
tap_run 0 "provision the /command layout" "$QINSTALL" --root "$R3" --json provision -p ucspi-daemontools-command --offline
tap_is "$(tap_json components.0.cached) $(tap_json components.1.cached)" "true false" \
	"ucspi-tcp reused from the cache, daemontools rebuilt for its other home"
tap_ok "svscan is in /command" test -x "$R3/command/svscan"
tap_ok "tcpserver stays in /usr/local/bin" test -x "$R3/usr/local/bin/tcpserver"
tap_like "$(cat "$R3/etc/systemd/system/svscan.service")" 'ExecStart=/command/svscan /service' "the unit runs /command/svscan on /service"
tap_ok "/service exists" test -d "$R3/service"
tap_done
