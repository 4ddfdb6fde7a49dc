#!/bin/bash
# Scenario: every file qinstall reads as input — a profile and its
# includes, a profile's patches, a series archive, its series file and the
# patches it lists, an operation list and its file sources, ROOT's passwd
# and group — is opened without blocking and must be a regular file of
# bounded size. A FIFO, /dev/zero, a directory, a symlink to /dev/zero and
# an oversize file are each refused at once, before any run starts: exit 1
# or 2, a message naming the file and saying what is wrong, the root
# unchanged and no lock left held. Every command runs under `timeout 20`,
# so a regression that blocks or spins fails instead of hanging the suite.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
manifest=$top_builddir/tests/lib/treemanifest
[ -x "$manifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
T=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$T/cache
B=$T/bad
mkdir "$B" "$T/root"
mkfifo "$B/fifo"
mkdir "$B/dir"
ln -s /dev/zero "$B/zero-link"
truncate -s $(((1 << 20) + 1)) "$B/big-1m"
truncate -s $(((64 << 20) + 1)) "$B/big-64m"

# bad KIND: the bad input of KIND (fifo, zero, dir, link, 1m, 64m), and
# what_re KIND: what the message says about it.
bad() {
	case $1 in
	fifo) echo "$B/fifo" ;; zero) echo /dev/zero ;; dir) echo "$B/dir" ;;
	link) echo "$B/zero-link" ;; 1m) echo "$B/big-1m" ;; 64m) echo "$B/big-64m" ;;
	esac
}
what_re() {
	case $1 in
	fifo) echo "is a FIFO, not a regular file" ;; dir) echo "is a directory, not a regular file" ;;
	zero | link) echo "is a character device, not a regular file" ;;
	1m) echo "is larger than 1 MiB" ;; 64m) echo "is larger than 64 MiB" ;;
	esac
}

# refused ROOT REGEX DESC CMD...: CMD ends within 20 s with exit 1 or 2,
# says REGEX on stderr, leaves ROOT as it was and holds no lock after.
refused() {
	local root=$1 re=$2 desc=$3 before rc=0
	shift 3
	before=$("$manifest" "$root")
	timeout 20 "$@" >"$T/out" 2>"$T/err" || rc=$?
	tap_like "exit $rc" '^exit [12]$' "$desc: refused at once (exit 1 or 2)"
	tap_like "$(cat "$T/err")" "$re" "$desc: the message names the file and says why"
	tap_is "$("$manifest" "$root")" "$before" "$desc: the root is unchanged"
	tap_run 0 "$desc: no lock is left held" timeout 20 "$QINSTALL" --root "$root" status
}

# --- profiles and includes ----------------------------------------------
R=$T/root
for k in fifo zero dir link 1m; do
	f=$(bad $k)
	refused "$R" "the profile $f $(what_re $k)" "profile show, a profile that is $k" \
		"$QINSTALL" --root "$R" profile show "$f"
	printf '[profile]\ninclude = %s\n' "$f" >"$T/inc-$k.profile"
	refused "$R" "inc-$k.profile:2: the profile $f $(what_re $k)" "provision, an include that is $k" \
		"$QINSTALL" --root "$R" provision -p "$T/inc-$k.profile"
done
# Includes nest at most 16 deep, and one profile reads at most 256 files.
for i in $(seq 0 19); do printf '[profile]\ninclude = deep%d\n' $((i + 1)) >"$T/deep$i.profile"; done
printf '[profile]\n' >"$T/deep20.profile"
refused "$R" "includes nest deeper than 16 profiles" "includes 20 deep" \
	"$QINSTALL" --root "$R" profile show "$T/deep0.profile"
printf '[profile]\n' >"$T/leaf.profile"
{ printf '[profile]\n'; for i in $(seq 300); do echo 'include = leaf'; done; } >"$T/wide.profile"
refused "$R" "more than 256 profile files to read" "one profile included 300 times" \
	"$QINSTALL" --root "$R" profile show "$T/wide.profile"
tap_run 0 "a profile included a few times is fine" timeout 20 "$QINSTALL" profile show "$T/deep10.profile"

# --- a component's patches and series ----------------------------------------
# A tiny source: nothing is built, as every case stops before the build.
mkdir -p "$T/src/hello-1"
echo 'int main(void) { return 0; }' >"$T/src/hello-1/hello.c"
tar -C "$T/src" -czf "$T/hello-1.tar.gz" hello-1
sha=$(sha256sum <"$T/hello-1.tar.gz" | cut -c1-64)
component() { # NAME, then more keys on stdin
	{ printf '[component hello]\nversion = 1\nurl = file://%s/hello-1.tar.gz\nsha256 = %s\nprogram = hello\n' \
		"$T" "$sha"; cat; } >"$T/$1.profile"
}
for k in fifo zero dir link 64m; do
	f=$(bad $k)
	component patch-$k <<<"patch = $f"
	refused "$R" "patch-$k.profile:6: patch '$f' of \[component hello\]: the patch $f $(what_re $k)" \
		"provision, a patch that is $k" "$QINSTALL" --root "$R" provision -p "$T/patch-$k.profile"
done
for k in fifo zero dir link; do
	f=$(bad $k)
	component archive-$k <<<"series_archive = $f"
	refused "$R" "the series archive $f $(what_re $k)" "provision, a series archive that is $k" \
		"$QINSTALL" --root "$R" provision -p "$T/archive-$k.profile"
done

# Series archives whose series file, or a patch it lists, is too big or a
# directory (the extractor itself refuses FIFOs, devices and symlinks that
# leave the tree).
mkdir -p "$T/s-big/debian/patches" "$T/s-dir/debian/patches/series" "$T/p-big/debian/patches" \
	"$T/p-dir/debian/patches/sub"
yes '# a comment line of a series file' | head -c $(((1 << 20) + 1)) >"$T/s-big/debian/patches/series"
echo big.patch >"$T/p-big/debian/patches/series"
truncate -s $(((64 << 20) + 1)) "$T/p-big/debian/patches/big.patch"
echo sub >"$T/p-dir/debian/patches/series"
for a in s-big s-dir p-big p-dir; do tar -C "$T/$a" -czf "$T/$a.tar.gz" debian; done
series_case() { # ARCHIVE REGEX DESC: provision with series archive T/ARCHIVE.tar.gz is refused
	component "series-$1" <<<"series_archive = $T/$1.tar.gz"
	refused "$R" "$2" "provision, $3" "$QINSTALL" --root "$R" provision -p "$T/series-$1.profile"
}
series_case s-big "the series file .*debian/patches/series is larger than 1 MiB" "a series file over 1 MiB"
series_case s-dir "the series file .*debian/patches/series is a directory, not a regular file" \
	"a series file that is a directory"
series_case p-big "the patch .*debian/patches/big.patch is larger than 64 MiB" "a series' patch over 64 MiB"
series_case p-dir "the patch .*debian/patches/sub is a directory, not a regular file" \
	"a series' patch that is a directory"

# --- apply: the list and its sources ----------------------------------------
for k in dir link 64m; do
	f=$(bad $k)
	refused "$R" "the operation list $f $(what_re $k)" "apply, a list that is $k" \
		"$QINSTALL" --root "$R" apply "$f"
done
for k in fifo zero dir link; do
	f=$(bad $k)
	printf 'mkdir /before 0755 0:0\nfile /x 0644 0:0 %s\n' "$f" >"$T/src-$k.list"
	refused "$R" "src-$k.list:2: the source $f $(what_re $k)" "apply, a file source that is $k" \
		"$QINSTALL" --root "$R" apply "$T/src-$k.list"
done
tap_ok "nothing of those lists was made" test ! -e "$R/before" -a ! -e "$R/x"

# --- ROOT's passwd and group ------------------------------------------------
# put_bad ROOT FILE KIND: ROOT/etc/FILE becomes an input of KIND.
put_bad() {
	local f=$1/etc/$2
	rm -rf "$f"
	case $3 in
	fifo) mkfifo "$f" ;; dir) mkdir "$f" ;; link) ln -s /dev/zero "$f" ;;
	zero) mknod "$f" c 1 5 ;; 64m) truncate -s $(((64 << 20) + 1)) "$f" ;;
	esac
}
in_root_re() { # KIND: what users says about a ROOT file of KIND
	case $1 in
	fifo) echo "is a FIFO, not a regular file" ;; dir) echo "is a directory, not a regular file" ;;
	zero) echo "is a character device, not a regular file" ;; link) echo "is a symbolic link, not a regular file" ;;
	64m) echo "is larger than 64 MiB" ;;
	esac
}
can_mknod=true
mknod "$T/probe" c 1 5 2>/dev/null || can_mknod=false
printf 'mkdir /made 0755 root:root\n' >"$T/owners.list"
for file in passwd group; do
	for k in fifo zero dir link 64m; do
		if [ $k = zero ] && ! $can_mknod; then
			tap_skip "users, ROOT/etc/$file a device" "mknod is not allowed here"
			continue
		fi
		U=$(tap_tmpdir)
		make_root "$U"
		put_bad "$U" $file $k
		refused "$U" "$U/etc/$file $(in_root_re $k)" "users, ROOT/etc/$file that is $k" \
			"$QINSTALL" --root "$U" users
		[ $k = link ] && continue	# apply resolves names through in-root links
		refused "$U" "$U/etc/$file $(in_root_re $k)" "apply with owner names, ROOT/etc/$file that is $k" \
			"$QINSTALL" --root "$U" apply "$T/owners.list"
	done
done
tap_done
