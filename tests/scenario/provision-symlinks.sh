#!/bin/bash
# Scenario: provision keeps the system's symlinks. A staged directory whose
# place in ROOT is a symlink to a directory is installed through the link,
# the link resolved inside ROOT: a merged /usr (bin -> usr/bin, sbin ->
# usr/sbin, lib -> usr/lib), /usr/local/bin -> /opt/bin (absolute, meaning
# ROOT/opt/bin) and /usr/local/sbin -> ../../srv/sbin (relative). The
# links stay links and the programs land behind them; plan agrees; a second
# provision is changed: false; verify is clean; rollback gives back the
# identical tree. A link that dangles or leads out of ROOT is refused with
# ROOT untouched, by provision and by plan.
#
# The component is a tiny source tree of shell scripts made here (make and
# DESTDIR, no compiler), read as a local file: no network.
. "$top_srcdir/tests/lib/tap.sh"

manifest=$top_builddir/tests/lib/treemanifest
[ -x "$manifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
command -v make >/dev/null || tap_skip_all "make is needed to build the test component"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
tree() { "$manifest" --exclude var/lib/qinstall "$1"; }
whole() { "$manifest" "$1"; }

# --- the component: tiny-1.0.tar.gz ------------------------------------------
S=$(tap_tmpdir)
mkdir "$S/tiny-1.0"
cat >"$S/tiny-1.0/Makefile" <<'EOF'
PROGS = tiny-true tiny-echo
all: $(PROGS)
$(PROGS):
	printf '#!/bin/sh\necho %s "$$@"\n' $@ >$@
	chmod 755 $@
install: all
	mkdir -p $(DESTDIR)/bin $(DESTDIR)/sbin $(DESTDIR)/lib/tiny \
		$(DESTDIR)/usr/local/bin $(DESTDIR)/usr/local/sbin
	cp tiny-true tiny-echo $(DESTDIR)/bin/
	cp tiny-true $(DESTDIR)/sbin/tiny-admin
	echo 'data' >$(DESTDIR)/lib/tiny/data
	chmod 644 $(DESTDIR)/lib/tiny/data
	cp tiny-echo $(DESTDIR)/usr/local/bin/tiny-local
	cp tiny-true $(DESTDIR)/usr/local/sbin/tiny-localadm
	ln -s tiny-echo $(DESTDIR)/bin/tiny-hi
EOF
tar -C "$S" -czf "$S/tiny-1.0.tar.gz" tiny-1.0
sha=$(sha256sum <"$S/tiny-1.0.tar.gz" | cut -c1-64)
cat >"$S/tiny.profile" <<EOF
[component tiny]
version = 1.0
url = file://$S/tiny-1.0.tar.gz
sha256 = $sha
make = all
install = make
bindir = /bin
program = tiny-true
program = tiny-echo
EOF
P=$S/tiny.profile

# A merged-/usr root with programs of its own behind the links.
merged_root() {
	local r=$1
	mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/opt/bin" "$r/srv/sbin" "$r/usr/local" "$r/var/lib"
	ln -s usr/bin "$r/bin"
	ln -s usr/sbin "$r/sbin"
	ln -s usr/lib "$r/lib"
	ln -s /opt/bin "$r/usr/local/bin"
	ln -s ../../srv/sbin "$r/usr/local/sbin"
	printf '#!/bin/sh\necho system ls\n' >"$r/usr/bin/ls"; chmod 755 "$r/usr/bin/ls"
	printf '#!/bin/sh\necho system init\n' >"$r/usr/sbin/init"; chmod 755 "$r/usr/sbin/init"
	echo 'libc' >"$r/usr/lib/libc.so.6"
	printf '#!/bin/sh\necho mine\n' >"$r/opt/bin/mine"; chmod 755 "$r/opt/bin/mine"
}

R=$(tap_tmpdir)
merged_root "$R"
before=$(tree "$R")

# --- plan before the build: the links are not to be replaced -----------------
tap_run 0 "plan on a merged-/usr root" "$QINSTALL" --root "$R" plan -p "$P"
tap_unlike "$TAP_STDOUT" '(create|replace) +/bin  ' "plan does not replace the /bin link"
tap_like "$TAP_STDOUT" 'create +/bin/tiny-true' "plan lists /bin/tiny-true to be created"

# --- provision --------------------------------------------------------------
tap_run 0 "provision into the merged-/usr root" "$QINSTALL" --root "$R" --json provision -p "$P"
tap_is "$(tap_json changed)" true "provision reports changed: true"
for l in "bin usr/bin" "sbin usr/sbin" "lib usr/lib" "usr/local/bin /opt/bin" "usr/local/sbin ../../srv/sbin"; do
	set -- $l
	tap_is "$(stat -c %F "$R/$1") $(readlink "$R/$1")" "symbolic link $2" "/$1 is still the link to $2"
done
tap_is "$(stat -c '%a %u:%g %F' "$R/usr/bin/tiny-true")" "755 0:0 regular file" "tiny-true is in /usr/bin, 0755 root:root"
tap_is "$("$R/usr/bin/tiny-echo" hi)" "tiny-echo hi" "tiny-echo is in /usr/bin and runs"
tap_is "$(readlink "$R/usr/bin/tiny-hi")" tiny-echo "the staged link tiny-hi is in /usr/bin"
tap_ok "tiny-admin is in /usr/sbin" test -x "$R/usr/sbin/tiny-admin"
tap_is "$(cat "$R/usr/lib/tiny/data" 2>/dev/null)" data "the staged directory lib/tiny is made behind /lib, in /usr/lib"
tap_ok "tiny-local is in /opt/bin (the absolute link, inside ROOT)" test -x "$R/opt/bin/tiny-local"
tap_ok "tiny-localadm is in /srv/sbin (the relative link)" test -x "$R/srv/sbin/tiny-localadm"
tap_is "$("$R/usr/bin/ls")" "system ls" "the system's /usr/bin/ls is still there"
tap_is "$("$R/usr/sbin/init")" "system init" "the system's /usr/sbin/init is still there"
tap_is "$(cat "$R/usr/lib/libc.so.6")" libc "the system's /usr/lib/libc.so.6 is still there"
tap_is "$("$R/opt/bin/mine")" mine "the root's own /opt/bin/mine is still there"
tap_is "$(tree "$R" | grep -c '^/usr/bin/tiny-')" 3 "three staged names in /usr/bin"
after=$(tree "$R")

# --- nothing left to do, nothing drifted --------------------------------------
tap_run 0 "plan after provision" "$QINSTALL" --root "$R" --json plan -p "$P"
tap_is "$(tap_json changed) $(tap_json plan)" "false []" "plan after provision lists nothing"
tap_run 0 "a second provision" "$QINSTALL" --root "$R" --json provision -p "$P"
tap_is "$(tap_json changed)" false "a second provision changes nothing (changed: false)"
tap_is "$(tree "$R")" "$after" "and leaves the tree as the first left it"
tap_run 0 "verify after provision through the links" "$QINSTALL" --root "$R" --json verify
tap_is "$(tap_json drift)" "[]" "verify finds no drift"

# A program removed behind a link is seen and put back through it.
rm "$R/opt/bin/tiny-local"
tap_run 0 "plan sees a program missing behind a link" "$QINSTALL" --root "$R" plan -p "$P"
tap_like "$TAP_STDOUT" 'create +/usr/local/bin/tiny-local' "plan lists it"
tap_unlike "$TAP_STDOUT" ' /usr/local/bin  ' "and not the link"
tap_run 0 "provision repairs it" "$QINSTALL" --root "$R" --json provision -p "$P"
tap_is "$(tap_json components.0.changed)" 1 "one path changed"
tap_is "$(tree "$R")" "$after" "the tree is as the first provision left it"
tap_run 0 "rollback of the repair" "$QINSTALL" --root "$R" rollback
tap_ok "rollback of the repair removes the program again" test ! -e "$R/opt/bin/tiny-local"
tap_is "$(readlink "$R/usr/local/bin")" /opt/bin "and keeps the link"

# --- rollback -----------------------------------------------------------------
tap_run 0 "rollback of the provision" "$QINSTALL" --root "$R" rollback 1
tap_is "$(tree "$R")" "$before" "after rollback the tree is identical to before (links kept, files gone)"

# Over files of its own behind the link: rollback restores them.
R2=$(tap_tmpdir)
merged_root "$R2"
echo 'old true' >"$R2/usr/bin/tiny-true"
before2=$(tree "$R2")
tap_run 0 "plan from the build cache on a merged-/usr root" "$QINSTALL" --root "$R2" plan -p "$P"
tap_like "$TAP_STDOUT" 'replace +/bin/tiny-true +\(tiny\)' "plan lists the older tiny-true behind /bin for replacement"
tap_like "$TAP_STDOUT" 'create +/lib/tiny +\(tiny\)' "and lib/tiny to be made behind /lib"
tap_unlike "$TAP_STDOUT" ' (/bin|/sbin|/lib|/usr/local/bin|/usr/local/sbin)  ' "and none of the links"
tap_run 0 "provision over an older tiny-true behind /bin (from the cache)" "$QINSTALL" --root "$R2" --json provision -p "$P"
tap_is "$(tap_json components.0.cached)" true "the build came from the cache"
tap_is "$("$R2/usr/bin/tiny-true")" tiny-true "the new tiny-true replaced the old one behind /bin"
tap_is "$(readlink "$R2/bin")" usr/bin "/bin is still a link"
tap_run 0 "rollback" "$QINSTALL" --root "$R2" rollback
tap_is "$(tree "$R2")" "$before2" "rollback gives back the old tiny-true and the link"

# --- refused: a dangling link, a link out of ROOT, a link to a file ----------
# refused DESC REGEX: plan and provision fail with REGEX on stderr, ROOT
# (all of it, var/lib/qinstall too) untouched.
refused() {
	local desc=$1 re=$2 b
	b=$(whole "$R3")
	tap_run 1 "$desc: plan fails" "$QINSTALL" --root "$R3" plan -p "$P"
	tap_like "$TAP_STDERR" "$re" "$desc: plan says why"
	tap_run 1 "$desc: provision fails" "$QINSTALL" --root "$R3" provision -p "$P"
	tap_like "$TAP_STDERR" "$re" "$desc: provision says why"
	tap_is "$(whole "$R3")" "$b" "$desc: nothing was written"
	tap_ok "$desc: no journal was begun" test ! -e "$R3/var/lib/qinstall"
}
R3=$(tap_tmpdir)
merged_root "$R3"
rm -r "$R3/opt/bin"
refused "a dangling /usr/local/bin -> /opt/bin" \
	"/usr/local/bin is a symlink to /opt/bin, which does not exist in .* \(an absolute target is read inside it\): create .*/opt/bin, or make "
tap_ok "the link's target was not made" test ! -e "$R3/opt/bin"
rm "$R3/usr/local/bin"
ln -s ../../../../../../opt/bin "$R3/usr/local/bin"
mkdir "$R3/opt/bin"
refused "a link whose .. leads out of ROOT" \
	"/usr/local/bin is a symlink to ../../../../../../opt/bin, which leads out of "
rm "$R3/usr/local/bin"
echo 'a file' >"$R3/opt/bin/mine"
ln -s /opt/bin/mine "$R3/usr/local/bin"
refused "a link to a file where a directory is staged" \
	"/usr/local/bin is a symlink to /opt/bin/mine, which is a regular file, not a directory"
rm "$R3/usr/local/bin"
ln -s /opt/bin "$R3/usr/local/bin"
rm "$R3/lib"
ln -s lib "$R3/lib"
refused "a link loop" "/lib is a symlink to lib, which cannot be followed"
rm "$R3/lib"
ln -s usr/lib "$R3/lib"
# Before the build plan knows only the recipe's bindir: its links too.
mv "$R3/usr/bin" "$R3/usr/bin.away"
b=$(whole "$R3")
tap_run 1 "a dangling /bin, nothing built yet: plan fails" \
	env QINSTALL_CACHE_DIR="$(tap_tmpdir)" "$QINSTALL" --root "$R3" plan -p "$P"
tap_like "$TAP_STDERR" "component tiny: .*/bin is a symlink to usr/bin, which does not exist in .*: create .*/usr/bin, or make " \
	"a dangling /bin, nothing built yet: plan says why"
tap_is "$(whole "$R3")" "$b" "a dangling /bin, nothing built yet: nothing was written"
mv "$R3/usr/bin.away" "$R3/usr/bin"
tap_run 0 "with the links mended the provision succeeds" "$QINSTALL" --root "$R3" provision -p "$P"
tap_ok "tiny-local is in /opt/bin" test -x "$R3/opt/bin/tiny-local"
tap_done
