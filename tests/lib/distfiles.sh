# distfiles.sh - the qmail tree and the third-party qmail patches for the
# tests (after tap.sh). No package registry serves them, so the project's
# shared mirror folder holds them (../shared/distfiles beside the source
# tree, or $QI_DISTFILES); qinstall verifies each against its profile's
# pin, whatever served it. Nothing of that folder is copied into the tree.
#
#   distfiles_find FILE...   # sets DISTFILES to the folder that has every
#                            # FILE; returns 1 (after a diagnostic) when
#                            # there is none
#   distfiles_qmail          # the sources of the netqmail profile with its
#                            # default options ($DISTFILES_NETQMAIL) found
#                            # (DISTFILES), make and gcc there, or the
#                            # script skips saying which is missing
#   distfiles_mirror FILE... # distfiles_find, then serves the folder on
#                            # 127.0.0.1 (httpd.sh): DISTFILES_URL is the
#                            # --mirror; without the folder DISTFILES_URL is
#                            # empty and qinstall goes to the upstream URLs
#                            # (the caller skips when that fails too)
# What the netqmail profile fetches with its default options.
DISTFILES_NETQMAIL="netqmail-1.06.tar.gz qmail-103.patch qmail-date-localtime.patch
	qmail-smtpd-auth-0.31.tar.gz qregex-20060423.patch netqmail-1.05-validrcptto.cdb.patch
	ucspi-rss.diff ucspi-tcp-0.88.tar.gz daemontools-0.76.tar.gz"

distfiles_find() {
	local d f
	for d in "${QI_DISTFILES:-}" "$top_srcdir/../shared/distfiles" "$top_srcdir/../../shared/distfiles"; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		for f in "$@"; do
			[ -f "$d/$f" ] || continue 2
		done
		DISTFILES=$(cd "$d" && pwd)
		return 0
	done
	tap_diag "no distfiles folder with $* (set QI_DISTFILES, or put ../shared/distfiles beside the source tree)"
	return 1
}

distfiles_mirror() {
	DISTFILES_URL=
	distfiles_find "$@" || return 0
	httpd_start "$DISTFILES" || return 1
	DISTFILES_URL=$HTTPD_URL
}

distfiles_qmail() {
	command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build qmail"
	# shellcheck disable=SC2086
	distfiles_find $DISTFILES_NETQMAIL ||
		tap_skip_all "the qmail sources are not in a distfiles folder (QI_DISTFILES)"
}
