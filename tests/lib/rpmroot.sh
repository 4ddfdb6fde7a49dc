# rpmroot.sh - throwaway roots with an rpm database, as Red Hat ships its
# MTAs: small "postfix", "sendmail" and "mailx" packages built with
# rpmbuild (cached), installed with rpm --root, and chkconfig's
# alternatives group "mta" written as alternatives(8) writes it.
#
#   rpmroot_build_pkgs OUTDIR    the three .rpm files into OUTDIR (from the cache)
#   rpmroot_make ROOT [postfix|sendmail|both]
#                                ROOT initdb'd, the MTA(s) and mailx installed,
#                                the alternatives; RPMROOT_CACHE=yes also puts
#                                postfix's .rpm in ROOT's dnf package cache
#
# Debian's rpm keeps its database in ~/.rpmdb (%_dbpath): every call here
# passes --dbpath /var/lib/rpm, the path inside ROOT a RHEL root has.
# Sourced by bash; needs rpm and rpmbuild (package rpm).

RPMROOT_DBPATH=/var/lib/rpm

# The spec of one package: NAME VERSION RELEASE PROVIDES REQUIRES SUFFIX.
_rpmroot_spec() {
	local name=$1 version=$2 release=$3 provides=$4 requires=$5
	cat <<SPEC
Name: $name
Version: $version
Release: $release
Summary: $name, a stand-in as Red Hat ships it (qinstall's tests)
License: IPL-1.0
Group: System Environment/Daemons
BuildArch: noarch
SPEC
	[ -n "$provides" ] && echo "Provides: $provides"
	[ -n "$requires" ] && echo "Requires: $requires"
	cat <<'SPEC'

%description
A package for qinstall's tests: a few files at the paths the real one has.

%prep
%build
SPEC
	echo '%install'
	case $name in
	postfix|sendmail)
		local s=$name
		cat <<SPEC
mkdir -p %{buildroot}/usr/sbin %{buildroot}/usr/bin %{buildroot}/usr/lib %{buildroot}/etc/pam.d %{buildroot}/etc/$s %{buildroot}/usr/lib/systemd/system
printf '#!/bin/sh\necho $s sendmail\n' > %{buildroot}/usr/sbin/sendmail.$s
printf '#!/bin/sh\necho $s mailq\n' > %{buildroot}/usr/bin/mailq.$s
printf '#!/bin/sh\necho $s newaliases\n' > %{buildroot}/usr/bin/newaliases.$s
printf '#!/bin/sh\necho $s rmail\n' > %{buildroot}/usr/bin/rmail.$s
ln -s ../sbin/sendmail.$s %{buildroot}/usr/lib/sendmail.$s
printf 'auth include password-auth\n' > %{buildroot}/etc/pam.d/smtp.$s
printf '[Unit]\nDescription=$s\n' > %{buildroot}/usr/lib/systemd/system/$s.service
SPEC
		if [ "$s" = postfix ]; then
			echo "printf 'myhostname = mail.example.org\\n' > %{buildroot}/etc/postfix/main.cf"
		else
			echo "printf 'O QueueDirectory=/var/spool/mqueue\\n' > %{buildroot}/etc/sendmail/sendmail.cf"
		fi
		cat <<SPEC

%files
%defattr(-,root,root,-)
%attr(0755,root,root) /usr/sbin/sendmail.$s
%attr(0755,root,root) /usr/bin/mailq.$s
%attr(0755,root,root) /usr/bin/newaliases.$s
%attr(0755,root,root) /usr/bin/rmail.$s
/usr/lib/sendmail.$s
%config(noreplace) /etc/pam.d/smtp.$s
%dir /etc/$s
SPEC
		if [ "$s" = postfix ]; then
			echo '%config(noreplace) %attr(0644,root,root) /etc/postfix/main.cf'
		else
			echo '%config(noreplace) %attr(0644,root,root) /etc/sendmail/sendmail.cf'
		fi
		echo "%attr(0644,root,root) /usr/lib/systemd/system/$s.service"
		;;
	mailx)
		cat <<'SPEC'
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\necho mailx\n' > %{buildroot}/usr/bin/mailx

%post -p <lua>
-- a scriptlet that needs no shell in ROOT (the rebuilt package keeps it)
local mailx = "/usr/bin/mailx"

%files
%attr(0755,root,root) /usr/bin/mailx
SPEC
		;;
	esac
}

# The spec of the package NAME.
_rpmroot_spec_of() {
	case $1 in
	postfix) _rpmroot_spec postfix 3.5.25 1.el9 'MTA smtpdaemon server(smtp)' '' ;;
	sendmail) _rpmroot_spec sendmail 8.16.1 1.el9 'MTA smtpdaemon' '' ;;
	mailx) _rpmroot_spec mailx 12.5 29.el9 '' 'smtpdaemon' ;;
	esac
}

# All three: what the cache's name hashes.
_rpmroot_specs() {
	local p
	for p in postfix sendmail mailx; do _rpmroot_spec_of "$p"; done
}

# rpmroot_build_pkgs OUTDIR: postfix, sendmail and mailx .rpm files into
# OUTDIR, built once into $QI_TEST_CACHE/rpm-pkgs-HASH.
rpmroot_build_pkgs() {
	local out=$1 cache=${QI_TEST_CACHE:-/var/cache/qinstall-tests}
	local hash key top p
	hash=$(_rpmroot_specs | sha256sum | cut -c1-16)
	key=rpm-pkgs-$hash
	mkdir -p "$cache" "$out" || return
	if declare -F tap_cache_lock >/dev/null; then
		QI_TEST_CACHE=$cache tap_cache_lock "$key"
	else
		exec 8>"$cache/$key.lock" && flock 8
	fi
	if [ ! -e "$cache/$key/done" ]; then
		rm -rf "$cache/$key" "$cache/$key.tmp"
		mkdir -p "$cache/$key.tmp" || return
		top=$(mktemp -d "${TMPDIR:-/tmp}/rpmroot-build.XXXXXX") || return
		for p in postfix sendmail mailx; do
			_rpmroot_spec_of "$p" >"$top/$p.spec"
			# Nothing of the host: the tree, the database and the
			# build's post-processing are the temporary directory's.
			HOME=$top rpmbuild -bb --quiet \
				--define "_topdir $top" --define "_dbpath $top/rpmdb" \
				--define "_tmppath $top/tmp" --define '__os_install_post %{nil}' \
				--define 'debug_package %{nil}' --define '_build_id_links none' \
				--define '_binary_payload w9.gzdio' \
				"$top/$p.spec" >"$top/$p.log" 2>&1 || {
				echo "rpmroot: rpmbuild of $p failed:" >&2
				cat "$top/$p.log" >&2
				rm -rf "$top"
				exec 8>&-
				return 1
			}
		done
		find "$top/RPMS" -name '*.rpm' -exec cp {} "$cache/$key.tmp/" \;
		rm -rf "$top"
		touch "$cache/$key.tmp/done"
		mv "$cache/$key.tmp" "$cache/$key"
	fi
	exec 8>&-
	cp "$cache/$key"/*.rpm "$out/"
}

# One alternatives choice's lines: its path, its priority with the
# --initscript the RHEL spec gives ("60 postfix"), its followers' targets.
_rpmroot_alt_choice() {
	local s=$1 prio=$2
	printf '%s\n%s %s\n' "/usr/sbin/sendmail.$s" "$prio" "$s"
	printf '%s\n' "/usr/bin/mailq.$s" "/usr/bin/newaliases.$s" "/etc/pam.d/smtp.$s" \
		"/usr/bin/rmail.$s" "/usr/lib/sendmail.$s"
}

# The alternatives group mta as chkconfig's alternatives(8) writes it:
# /var/lib/alternatives/mta (mode, master link, follower name/link pairs,
# an empty line, then each choice in the order installed: its path, its
# priority and init script, one target a follower; no trailing empty
# line; chkconfig's writeState) and the links in /etc/alternatives.
# CHOSEN: the choice the links point at (the highest priority: auto).
_rpmroot_alternatives() {
	local root=$1 chosen=$2; shift 2
	mkdir -p "$root/var/lib/alternatives" "$root/etc/alternatives" || return
	{
		printf 'auto\n/usr/sbin/sendmail\n'
		printf '%s\n%s\n' mta-mailq /usr/bin/mailq mta-newaliases /usr/bin/newaliases \
			mta-pam /etc/pam.d/smtp mta-rmail /usr/bin/rmail mta-sendmail /usr/lib/sendmail
		printf '\n'
		local c
		for c in "$@"; do
			_rpmroot_alt_choice "${c%:*}" "${c#*:}"
		done
	} >"$root/var/lib/alternatives/mta"
	ln -sfn "/usr/sbin/sendmail.$chosen" "$root/etc/alternatives/mta"
	ln -sfn "/usr/bin/mailq.$chosen" "$root/etc/alternatives/mta-mailq"
	ln -sfn "/usr/bin/newaliases.$chosen" "$root/etc/alternatives/mta-newaliases"
	ln -sfn "/etc/pam.d/smtp.$chosen" "$root/etc/alternatives/mta-pam"
	ln -sfn "/usr/bin/rmail.$chosen" "$root/etc/alternatives/mta-rmail"
	ln -sfn "/usr/lib/sendmail.$chosen" "$root/etc/alternatives/mta-sendmail"
	mkdir -p "$root/usr/sbin" "$root/usr/bin" "$root/usr/lib" "$root/etc/pam.d"
	ln -sfn /etc/alternatives/mta "$root/usr/sbin/sendmail"
	ln -sfn /etc/alternatives/mta-mailq "$root/usr/bin/mailq"
	ln -sfn /etc/alternatives/mta-newaliases "$root/usr/bin/newaliases"
	ln -sfn /etc/alternatives/mta-pam "$root/etc/pam.d/smtp"
	ln -sfn /etc/alternatives/mta-rmail "$root/usr/bin/rmail"
	ln -sfn /etc/alternatives/mta-sendmail "$root/usr/lib/sendmail"
}

# rpmroot_make ROOT [postfix|sendmail|both]: see the header.
rpmroot_make() {
	local root=$1 mta=${2:-postfix} pkgs
	pkgs=$(mktemp -d "${TMPDIR:-/tmp}/rpmroot-pkgs.XXXXXX") || return
	rpmroot_build_pkgs "$pkgs" || { rm -rf "$pkgs"; return 1; }
	mkdir -p "$root" || return
	rpm --root "$root" --dbpath "$RPMROOT_DBPATH" --initdb || { rm -rf "$pkgs"; return 1; }
	local files=()
	case $mta in
	postfix) files=("$pkgs"/postfix-*.rpm) ;;
	sendmail) files=("$pkgs"/sendmail-*.rpm) ;;
	both) files=("$pkgs"/postfix-*.rpm "$pkgs"/sendmail-*.rpm) ;;
	*) echo "rpmroot_make: no MTA $mta" >&2; rm -rf "$pkgs"; return 2 ;;
	esac
	files+=("$pkgs"/mailx-*.rpm)
	# --nodeps: ROOT has no base packages (no /bin/sh, no glibc); the
	# packages have no scriptlets, so ROOT needs no shell.
	rpm --root "$root" --dbpath "$RPMROOT_DBPATH" -i --nodeps --quiet "${files[@]}" || {
		rm -rf "$pkgs"; return 1; }
	case $mta in
	postfix) _rpmroot_alternatives "$root" postfix postfix:60 ;;
	sendmail) _rpmroot_alternatives "$root" sendmail sendmail:90 ;;
	both) _rpmroot_alternatives "$root" sendmail postfix:60 sendmail:90 ;;
	esac
	if [ "${RPMROOT_CACHE:-}" = yes ]; then
		mkdir -p "$root/var/cache/dnf/baseos-044cae74d71fe9ea/packages" &&
			cp "$pkgs"/postfix-*.rpm "$root/var/cache/dnf/baseos-044cae74d71fe9ea/packages/"
	fi
	rm -rf "$pkgs"
}
