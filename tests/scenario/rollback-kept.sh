#!/bin/bash
# Scenario: rollback never deletes data that qinstall did not write. What
# was put into directories a run made (mail in a Maildir, a queue's
# messages: files, directories, symlinks, FIFOs), and a file a run wrote
# that was edited since, are moved (never copied) into
# ROOT/var/lib/qinstall/kept/run-N-.../PATH before anything is undone,
# with their content, mode and owner; the rollback gives back the root as
# it was, says each subtree it kept and where; --check lists them and
# moves nothing; a rollback killed while it keeps things aside, run again,
# loses nothing; verify does not call kept/ drift; status names it.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

L=$(tap_tmpdir)
echo one >"$L/one"; echo two >"$L/two"
# run 1: a mail tree of directories and a file of qinstall's
printf 'mkdir /srv/mail 0755 0:0\nmkdir /srv/mail/box 0750 qmaild:qmail\nfile /srv/mail/box/README 0644 0:0 %s\nfile /etc/motd 0644 0:0 %s\n' \
	"$L/one" "$L/one" >"$L/1.list"
# run 2: a log directory below run 1's, and a file made new
printf 'mkdir /srv/mail/log 0700 qmaild:qmail\nfile /srv/mail/log/config 0600 0:0 %s\nfile /srv/made 0644 0:0 %s\n' \
	"$L/two" "$L/two" >"$L/2.list"
# run 3: a file into a directory put by hand into run 1's
printf 'file /srv/mail/box/tmp/qi 0644 0:0 %s\n' "$L/two" >"$L/3.list"
# run 4: /etc/motd again
printf 'file /etc/motd 0644 0:0 %s\n' "$L/two" >"$L/4.list"
K=var/lib/qinstall/kept

# deliver ROOT: what no run wrote, into run 1's directories.
deliver() {
	mkdir -p "$1/srv/mail/box/new" "$1/srv/mail/box/cur/sub"
	echo "a message" >"$1/srv/mail/box/new/msg"
	chown 601:601 "$1/srv/mail/box/new/msg"; chmod 0600 "$1/srv/mail/box/new/msg"
	echo "read" >"$1/srv/mail/box/cur/sub/old"
	echo "another" >"$1/srv/mail/box/cur/two"
	ln -s /etc/passwd "$1/srv/mail/box/link"
	mkfifo -m 0620 "$1/srv/mail/box/trigger"
}

# the one kept/run-N-* directory of ROOT, or what is there instead.
kept_dir() { local d=("$1/$K"/run-"$2"-*); [ "${#d[@]}" = 1 ] && [ -d "${d[0]}" ] && echo "${d[0]}"; }

case_kept() {
	tap_case "what was put into a run's directories is kept aside"
	new_root "apply $L/1.list" || return
	deliver "$R"
	local want; want=$(tap_tree "$R/srv/mail/box" | grep -v -e '^/ ' -e '^/README ')
	tap_run 0 "rollback succeeds" "$QINSTALL" --root "$R" rollback
	tap_tree_is "$R" "$t0" "the root is as before run 1"
	tap_type_is "$R/srv/mail" none "the run's directories are gone"
	local kd; kd=$(kept_dir "$R" 1)
	tap_like "$kd" "/$K/run-1-[0-9]{8}T[0-9]{6}Z$" "one kept/run-1-YYYYMMDDTHHMMSSZ directory"
	tap_is "$(cat "$kd/srv/mail/box/new/msg" 2>&1)" "a message" "the message is kept with its content"
	tap_mode_is "$kd/srv/mail/box/new/msg" 0600 "and its mode"
	tap_owner_is "$kd/srv/mail/box/new/msg" 601:601 "and its owner"
	tap_is "$(tap_tree "$kd/srv/mail/box" | grep -v '^/ ')" "$want" \
		"every file, directory, symlink and FIFO put there is kept, as it was"
	tap_like "$TAP_STDERR" "warning: kept /srv/mail/box/new aside \(a directory with 1 file, qinstall did not write it\): it is now $kd/srv/mail/box/new" \
		"a warning names each subtree, its file count and where it is"
	tap_like "$TAP_STDERR" "warning: kept /srv/mail/box/cur aside \(a directory with 2 files" "one warning per subtree"
	tap_like "$TAP_STDERR" "warning: kept /srv/mail/box/trigger aside \(a FIFO" "the FIFO is named"
	tap_is "$(grep -c 'warning: kept' <<<"$TAP_STDERR")" 4 "no warning per file"
	tap_like "$(tail -n 1 <<<"$TAP_STDOUT")" "^kept what qinstall did not write in $kd: qinstall never removes it" \
		"the last line says where the kept data is and that qinstall never removes it"
	tap_run 0 "a second rollback has nothing to do" "$QINSTALL" --root "$R" rollback
	tap_ok "and leaves kept/ alone" test -f "$kd/srv/mail/box/new/msg"
}

case_json() {
	tap_case "the result lists what is kept"
	new_root "apply $L/1.list" || return
	deliver "$R"
	tap_run 0 "rollback --json" "$QINSTALL" --root "$R" --json rollback
	local kd; kd=$(kept_dir "$R" 1)
	kd=/${kd#"$R"/}
	tap_json_has kept.#.path /srv/mail/box/new "kept lists the directory put there"
	tap_json_has kept.#.kept_at "$kd/srv/mail/box/new" "with where it is now"
	tap_json_has kept.#.path /srv/mail/box/link "and the symlink"
	tap_json_is kept.# 4 "and nothing that qinstall wrote"
	tap_json_is kept_dir "$kd" "kept_dir names the directory"
	tap_json_has warnings "kept /srv/mail/box/link aside (a symlink, qinstall did not write it): it is now $R$kd/srv/mail/box/link" \
		"the warnings are in the JSON too"
}

case_check() {
	tap_case "--check lists what would be kept and moves nothing"
	new_root "apply $L/1.list" || return
	deliver "$R"
	local pre; pre=$(tap_tree "$R")
	tap_run 0 "rollback --check" "$QINSTALL" --root "$R" --check --json rollback
	tap_json_has kept.#.path /srv/mail/box/new "--check lists the directory"
	tap_json_has kept.#.path /srv/mail/box/trigger "and the FIFO"
	tap_like "$(tap_json kept.0.kept_at)" "^/$K/run-1-[0-9]{8}T[0-9]{6}Z/srv/mail/box/" "and where each would go"
	tap_tree_is "$R" "$pre" "nothing was moved"
	tap_type_is "$R/$K" none "no kept/ was made"
	tap_run 0 "rollback --check, for a human" "$QINSTALL" --root "$R" --check rollback
	tap_like "$TAP_STDOUT" "would keep aside: /srv/mail/box/new \(as /$K/run-1-" "it lists each subtree"
	tap_like "$(tail -n 1 <<<"$TAP_STDOUT")" "^would keep what qinstall did not write in $R/$K/run-1-" "and says where"
}

case_edited() {
	tap_case "a file a run wrote and that was edited since is kept aside"
	new_root "apply $L/1.list" "apply $L/2.list" || return
	echo "edited by hand" >"$R/etc/motd"
	echo "made, then edited" >"$R/srv/made"
	chmod 0640 "$R/srv/mail/log/config"	# its content is qinstall's: given back, not kept
	tap_run 0 "rollback 1" "$QINSTALL" --root "$R" --json rollback 1
	tap_tree_is "$R" "$t0" "the root is as before run 1: the edited file has its old content back"
	local kd; kd=$(kept_dir "$R" 1)
	tap_is "$(cat "$kd/etc/motd" 2>&1)" "edited by hand" "the edited content is kept aside"
	tap_is "$(cat "$kd/srv/made" 2>&1)" "made, then edited" "so is the edited content of a file the run made"
	tap_json_is kept.# 2 "only the edited files are kept"
	tap_json_has kept.#.why "not what qinstall left there" "the result says why"
	tap_type_is "$kd/srv/mail" none "a file whose content is still qinstall's is not kept"
}

case_edited_between() {
	tap_case "a file edited between two runs that wrote it is kept aside"
	new_root "apply $L/1.list" || return
	echo "edited between the runs" >"$R/etc/motd"
	tap_setup_qinstall "$R" "apply $L/4.list" || return
	tap_run 0 "rollback 1" "$QINSTALL" --root "$R" --json rollback 1
	tap_tree_is "$R" "$t0" "the root is as before run 1"
	tap_is "$(cat "$(kept_dir "$R" 1)/etc/motd" 2>&1)" "edited between the runs" \
		"the content run 2 found and run 1 did not write is kept aside"
	tap_json_is kept.# 1 "and only that"
}

case_symlink_out() {
	tap_case "a symlink out of the root is kept aside, never followed"
	new_root "apply $L/1.list" || return
	local out; out=$(tap_tmpdir)
	echo "outside" >"$out/file"
	mv "$R/srv/mail/box" "$out/box"
	ln -s "$out" "$R/srv/mail/box"
	local pre; pre=$(tap_tree "$out")
	tap_run 0 "rollback" "$QINSTALL" --root "$R" rollback
	tap_tree_is "$out" "$pre" "nothing outside the root was moved or removed"
	tap_tree_is "$R" "$t0" "the root is as before run 1"
	tap_type_is "$(kept_dir "$R" 1)/srv/mail/box" symlink "the symlink itself is kept aside"
}

# A mount point to keep aside cannot be moved: refused, nothing changed.
case_mount_point() {
	tap_case "what cannot be moved (a mount point) refuses the rollback"
	if ! unshare -m true 2>/dev/null; then
		tap_skip "a mount point" "needs unshare -m"
		return
	fi
	new_root "apply $L/1.list" || return
	mkdir "$R/srv/mail/box/new"
	local pre; pre=$(tap_tree "$R")
	tap_run 1 "rollback refuses" unshare -m sh -c 'mount -t tmpfs none "$1/srv/mail/box/new" &&
		echo mail >"$1/srv/mail/box/new/msg" && exec "$2" --root "$1" rollback' sh "$R" "$QINSTALL"
	tap_like "$TAP_STDERR" "cannot roll back: .*/srv/mail/box/new must be kept aside .* is a mount point.*; nothing was changed" \
		"it says what and why, and that nothing was changed"
	tap_tree_is "$R" "$pre" "nothing was changed"
	tap_run 0 "status" "$QINSTALL" --root "$R" --json status
	tap_json_is runs.0.state done "the run is as it was"
}

# What stands on another file system than the journal is kept aside on
# its own, at the top of it (ROOT/srv here), since a rename cannot cross.
case_other_fs() {
	tap_case "what is on another file system is kept aside on that one"
	if ! unshare -m true 2>/dev/null; then
		tap_skip "another file system" "needs unshare -m"
		return
	fi
	local r; r=$(tap_tmpdir)/root
	make_root "$r"
	cat >"$r.sh" <<-'EOF'
	R=$1 Q=$2 L=$3
	mount -t tmpfs none "$R/srv" || exit 3
	mkfifo -m 640 "$R/srv/fifo"; mkdir "$R/srv/empty"
	"$Q" -q --root "$R" apply "$L/1.list" >/dev/null || exit 4
	mkdir "$R/srv/mail/box/new"; echo mail >"$R/srv/mail/box/new/msg"
	"$Q" --root "$R" --json rollback >"$R.json" 2>"$R.err"; echo "rollback $?"
	cat "$R"/srv/.qinstall-kept/run-1-*/srv/mail/box/new/msg
	ls -A "$R/srv"
	EOF
	tap_run 0 "in a namespace, /srv a file system of its own" unshare -m sh "$r.sh" "$r" "$QINSTALL" "$L"
	tap_is "$TAP_STDOUT" "$(printf 'rollback 0\nmail\n.qinstall-kept\nempty\nfifo')" \
		"the rollback succeeds and the message is kept in ROOT/srv/.qinstall-kept/run-1-.../srv/..."
	TAP_STDOUT=$(cat "$r.json")
	tap_like "$(tap_json kept.0.kept_at)" "^/srv/.qinstall-kept/run-1-[0-9T]+Z/srv/mail/box/new$" "kept_at says so"
	tap_like "$(tap_json kept_dirs.0)" "^/srv/.qinstall-kept/run-1-" "and kept_dirs"
}

case_two_runs() {
	tap_case "runs rolled back at once"
	new_root "apply $L/1.list" || return
	mkdir "$R/srv/mail/box/tmp"; echo "between the runs" >"$R/srv/mail/box/tmp/1"
	tap_setup_qinstall "$R" "apply $L/2.list" "apply $L/3.list" || return
	echo "log line" >"$R/srv/mail/log/current"
	mkdir "$R/srv/mail/log/old"; echo "older" >"$R/srv/mail/log/old/s1"
	tap_run 0 "rollback --check 1" "$QINSTALL" --root "$R" --check --json rollback 1
	tap_json_has kept.#.path /srv/mail/box/tmp "--check: the directory put there by hand would be kept whole"
	tap_run 0 "rollback 1 undoes every run" "$QINSTALL" --root "$R" --json rollback 1
	tap_json_is rolled_back "[3, 2, 1]" "the runs are rolled back"
	tap_json_has kept.#.path /srv/mail/box/tmp "the directory put there by hand is kept whole"
	tap_tree_is "$R" "$t0" "the root is as before run 1"
	local kd; kd=$(kept_dir "$R" 1)
	tap_ok "one kept directory, named after the oldest run" test -n "$kd"
	tap_is "$(cat "$kd/srv/mail/log/current" "$kd/srv/mail/log/old/s1" "$kd/srv/mail/box/tmp/1" 2>&1)" \
		"$(printf 'log line\nolder\nbetween the runs')" "what was put into either run's directories is kept"
	tap_type_is "$kd/srv/mail/box/tmp/qi" none "but not what run 3 wrote into it"
	tap_run 0 "verify" "$QINSTALL" --root "$R" verify
}

case_verify() {
	tap_case "verify does not report kept/; status names it"
	new_root "apply $L/1.list" "apply $L/2.list" || return
	echo "log line" >"$R/srv/mail/log/current"
	tap_setup_qinstall "$R" rollback || return
	tap_ok "run 2's log was kept" test -f "$(kept_dir "$R" 2)/srv/mail/log/current"
	tap_run 0 "verify with run 1 in place and kept/ there" "$QINSTALL" --root "$R" --json verify
	tap_json_is drift "[]" "no drift"
	local kd; kd=$(kept_dir "$R" 2)
	tap_run 0 "status" "$QINSTALL" --root "$R" --json status
	tap_json_is kept "[\"/${kd#"$R"/}\"]" "status lists the directory kept aside"
	tap_run 0 "status, for a human" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" "Kept aside by a rollback \(qinstall never removes it\): $kd" "and names it"
}

# A rollback killed at each mutating call while it keeps things aside and
# undoes, then run again: the root as before the run, and every byte kept.
case_crash() {
	tap_case "a rollback killed while it keeps things aside"
	local shim=$top_builddir/tests/lib/crashshim.so n m bad= total want kd rc rrc
	if [ ! -f "$shim" ] || ldd "$QINSTALL" | grep -q libasan; then
		tap_skip "killed rollbacks complete" "needs the crash shim in a build without sanitizers"
		return
	fi
	new_root "apply $L/1.list" || return
	deliver "$R"
	local base=$R.base
	cp -a "$R" "$base"
	rm -f "$R.count"
	LD_PRELOAD=$shim QI_CRASH_COUNT=$R.count "$QINSTALL" -q --root "$R" rollback >/dev/null 2>&1
	total=$(cat "$R.count" 2>/dev/null || echo 0)
	want=$(tap_tree "$(kept_dir "$R" 1)")
	tap_like "$want" "/srv/mail/box/new/msg file 0600 601 601" "the undisturbed rollback keeps the message"
	for m in $(seq 1 "$total"); do
		rm -rf "$R"; cp -a "$base" "$R"
		rc=0; rrc=0
		{ LD_PRELOAD=$shim QI_CRASH_AT=$m "$QINSTALL" -q --root "$R" rollback >/dev/null 2>&1 || rc=$?; } 2>/dev/null
		"$QINSTALL" -q --root "$R" rollback >/dev/null 2>"$R.err" || rrc=$?
		kd=$(kept_dir "$R" 1)
		if [ "$rc" != 137 ] || [ "$rrc" != 0 ] || [ "$(tap_tree "$R")" != "$t0" ] ||
		   [ -z "$kd" ] || [ "$(tap_tree "$kd")" != "$want" ]; then
			bad="$bad $m"
			tap_diag "kill at $m of $total: exit $rc, then $rrc: $(cat "$R.err")"
		fi
	done
	tap_like "$total" '^[1-9][0-9]*$' "the shim counted the rollback's calls ($total)"
	tap_is "$bad" "" "at every kill point, the second rollback completes: nothing lost, the tree as before"
}

case_kept
case_json
case_check
case_edited
case_edited_between
case_symlink_out
case_mount_point
case_other_fs
case_two_runs
case_verify
case_crash
tap_done
