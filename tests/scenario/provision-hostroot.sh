#!/bin/bash
# Scenario: provision with ROOT "/" — the only case where svscan's unit is
# started — inside a private mount namespace whose /etc, /usr/local,
# /var/lib and /run are throwaway copies, with a stand-in systemctl that
# only logs what it is asked. The unit is written, systemd is reloaded and
# the unit started; rollback stops it and removes everything. The host's
# real / is never written: every path qinstall touches is on a tmpfs of the
# namespace, and the test checks the mounts before it starts.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root for a mount namespace"
command -v unshare >/dev/null || tap_skip_all "needs unshare(1)"
unshare -m true 2>/dev/null || tap_skip_all "cannot make a mount namespace here"
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
T=$(tap_tmpdir)

# Warm the build cache in a throwaway root (no namespace needed).
W=$(tap_tmpdir)
tap_run 0 "warm the build cache" "$QINSTALL" -q --root "$W" provision -p ucspi-daemontools --mirror "$HTTPD_URL"

mkdir -p "$T/bin"
cat >"$T/bin/systemctl" <<EOF
#!/bin/sh
# A stand-in: logs each request; "start" and "stop" keep a state file that
# "is-active" answers from (exit 3: inactive, as systemctl says).
echo "systemctl \$*" >>"$T/systemctl.log"
case "\$1" in
start) touch "$T/active" ;;
stop) rm -f "$T/active" ;;
is-active) [ -e "$T/active" ] || exit 3 ;;
esac
exit 0
EOF
chmod 755 "$T/bin/systemctl"

# Everything below runs in the namespace; its output is TAP-free text
# that the assertions read afterwards.
cat >"$T/inside.sh" <<'EOF'
set -eu
T=$1 QI=$2
mkdir -p "$T/etc" "$T/varlib"
mount -t tmpfs tmpfs "$T/etc"; cp -a /etc/. "$T/etc/"; mount --bind "$T/etc" /etc
mount -t tmpfs tmpfs /usr/local
mount -t tmpfs tmpfs /var/lib
mount -t tmpfs tmpfs /run; mkdir -p /run/systemd/system
for m in /etc /usr/local /var/lib /run; do
	mountpoint -q "$m" || { echo "MOUNT-FAILED $m"; exit 3; }
done
echo "mounts ok"
export PATH=$T/bin:$PATH
rc=0; "$QI" --root / --json provision -p ucspi-daemontools --offline >"$T/provision.json" 2>"$T/provision.err" || rc=$?
echo "provision exit $rc"
[ -f /etc/systemd/system/svscan.service ] && echo "unit present"
[ "$(readlink /etc/systemd/system/multi-user.target.wants/svscan.service)" = /etc/systemd/system/svscan.service ] && echo "unit enabled"
[ -x /usr/local/bin/svscan ] && echo "svscan installed"
cp "$T/systemctl.log" "$T/systemctl.first"
# A repair run while svscan runs: it must not start it, nor stop it when undone.
echo tampered >/usr/local/bin/tcpserver
rc=0; "$QI" --root / provision -p ucspi-daemontools --offline >/dev/null 2>&1 || rc=$?
echo "repair exit $rc"
rc=0; "$QI" --root / rollback >/dev/null 2>&1 || rc=$?
echo "repair rollback exit $rc"
[ -e "$T/active" ] && echo "still active after the repair's rollback"
cp "$T/systemctl.log" "$T/systemctl.repair"
rc=0; "$QI" --root / rollback >"$T/rollback.out" 2>&1 || rc=$?
echo "rollback exit $rc"
[ -e /etc/systemd/system/svscan.service ] || echo "unit gone"
[ -e /usr/local/bin/svscan ] || echo "svscan gone"
EOF
host_state() { ls -ld /etc/service /etc/systemd/system/svscan.service /usr/local/bin/svscan /var/lib/qinstall 2>&1; }
host_before=$(host_state)
out=$(unshare -m --propagation private bash "$T/inside.sh" "$T" "$QINSTALL" 2>&1) || true
tap_like "$out" 'mounts ok' "the namespace has throwaway /etc, /usr/local, /var/lib and /run"
case $out in *"mounts ok"*) ;; *) tap_diag "$out"; tap_done; exit ;; esac
tap_like "$out" 'provision exit 0' "provision --root / succeeds in the namespace"
tap_like "$out" 'unit present' "the svscan unit is written"
tap_like "$out" 'unit enabled' "and enabled"
tap_like "$out" 'svscan installed' "svscan is installed in /usr/local/bin"
first=$(cat "$T/systemctl.first" 2>/dev/null)
tap_is "$first" "systemctl daemon-reload
systemctl is-active --quiet svscan.service
systemctl start svscan.service" "provision reloads systemd, then starts the unit (ROOT is /)"
tap_like "$out" 'repair exit 0' "a repair provision while svscan runs succeeds"
tap_is "$(diff "$T/systemctl.first" "$T/systemctl.repair" | grep '^>' | grep -c 'start\|stop')" 0 \
	"the repair neither starts svscan nor, rolled back, stops it"
tap_like "$out" 'still active after the repair' "svscan is still running after the repair's rollback"
log=$(cat "$T/systemctl.log" 2>/dev/null)
TAP_STDOUT=$(cat "$T/provision.json")	# the output of provision in the namespace
tap_json_has changes.#.op external "the start is journaled as an external change"
tap_like "$out" 'rollback exit 0' "rollback succeeds"
tap_like "$log" 'systemctl stop svscan.service' "rollback stops the unit"
tap_like "$out" 'unit gone' "rollback removes the unit"
tap_like "$out" 'svscan gone' "rollback removes svscan"
tap_is "$(diff "$T/systemctl.repair" "$T/systemctl.log" | sed -n 's/^> //p')" "systemctl stop svscan.service
systemctl daemon-reload" "rollback stops the unit, then reloads systemd once the unit is gone"
tap_is "$(host_state)" "$host_before" "the host's own /etc, /usr/local and /var/lib are as they were"
tap_done
