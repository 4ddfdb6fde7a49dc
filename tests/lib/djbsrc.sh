# djbsrc.sh - the ucspi-tcp and daemontools source archives for the
# provisioning tests (after tap.sh): Debian's orig tarballs (byte-identical
# to upstream's) fetched with tests/lib/debsrc.sh, laid out under their
# upstream names in a directory that tests serve on 127.0.0.1 as --mirror.
#
#   djbsrc_mirror DIR    # fills DIR; returns 1 (after a diagnostic) when the
#                        # archive cannot be reached: the caller skips then
djbsrc_mirror() {
	local dir=$1 pkg d
	mkdir -p "$dir"
	for pkg in ucspi-tcp:0.88 daemontools:0.76; do
		d=$(bash "$top_srcdir/tests/lib/debsrc.sh" "${pkg%%:*}" 2>/dev/null) || {
			tap_diag "debsrc: cannot get ${pkg%%:*} from Debian's archive"
			return 1
		}
		cp "$d/${pkg%%:*}_${pkg#*:}.orig.tar.gz" "$dir/${pkg%%:*}-${pkg#*:}.tar.gz" || return 1
	done
}
