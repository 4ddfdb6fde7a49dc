#!/bin/bash
# debsrc.sh - fetch a Debian source package for the tests, the way qinstall's
# Debian origin does: `apt-get source --download-only` through a private apt
# configuration derived from this machine's own apt sources (same URIs, type
# deb-src), so it works where the machine has no deb-src entries and changes
# none of its configuration.
#
#   tests/lib/debsrc.sh PACKAGE [SUITE]   # prints the directory holding
#                                         # PACKAGE_*.dsc, .orig.tar.*, .debian.tar.*
# SUITE defaults to the machine's own release (its first "Suites:" word);
# another release (bullseye) uses the same archive URI. Downloads are cached in
# $QI_DEBSRC_CACHE (default: $QI_TEST_CACHE/debsrc-cache, as tap.sh sets it:
# outside the clone, so a fresh clone reuses it; else ./debsrc-cache).
# Exit 77 (automake's "skip") when the archive cannot be reached.
set -euo pipefail
pkg=${1:?usage: debsrc.sh PACKAGE [SUITE]}
cache=${QI_DEBSRC_CACHE:-${QI_TEST_CACHE:-${top_builddir:-.}}/debsrc-cache}
mkdir -p "$cache"
# One writer at a time (several test runs may share the cache).
exec 9>"$cache/.lock"
flock 9

# The machine's archive URIs and suites, from deb822 and one-line sources.
sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN{RS=""; FS="\n"}
		     { u=""; s=""; k="";
		       for (i=1;i<=NF;i++) {
		         if ($i ~ /^URIs:/) { u=$i; sub(/^URIs:[ \t]*/,"",u) }
		         if ($i ~ /^Suites:/) { s=$i; sub(/^Suites:[ \t]*/,"",s) }
		         if ($i ~ /^Signed-By:/) { k=$i; sub(/^Signed-By:[ \t]*/,"",k) } }
		       if (u != "" && s != "") { n = split(s, a, /[ \t]+/); for (j = 1; j <= n; j++) print u, a[j], k } }' "$f"
	done
	[ -f /etc/apt/sources.list ] && awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i+1), "" }' /etc/apt/sources.list
	return 0
}
mapfile -t lines < <(sources)
[ ${#lines[@]} -gt 0 ] || { echo "debsrc: no apt sources configured on this machine" >&2; exit 77; }
default_suite=$(printf '%s\n' "${lines[0]}" | awk '{print $2}')
suite=${2:-$default_suite}

dir=$cache/$suite/$pkg
if compgen -G "$dir/*.dsc" >/dev/null; then echo "$dir"; exit 0; fi

apt=$cache/apt-$suite
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dir"
: >"$apt/sources.list"
for l in "${lines[@]}"; do
	read -r uri s key <<<"$l"
	case $s in
	"$default_suite") s=$suite ;;              # the release itself, or the one asked for
	"$default_suite"-updates) [ "$suite" = "$default_suite" ] || continue ;;
	*) continue ;;                              # security etc.: not needed for sources
	esac
	opt=""
	[ -n "$key" ] && opt="[signed-by=$key] "
	echo "deb-src ${opt}$uri $s main" >>"$apt/sources.list"
done
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::Cache::Archives=$apt/archives"
	-o "Dir::State::Status=/dev/null" -o "APT::Sandbox::User=root" -o "Acquire::Retries=3"
	-o "Acquire::Check-Valid-Until=false")
if ! compgen -G "$apt/lists/*Sources*" >/dev/null; then
	apt-get "${aptopts[@]}" -qq update >&2 || { echo "debsrc: apt-get update failed for $suite" >&2; exit 77; }
fi
( cd "$dir" && apt-get "${aptopts[@]}" -qq source --download-only "$pkg" >&2 ) ||
	{ echo "debsrc: apt-get source $pkg ($suite) failed" >&2; rm -rf "$dir"; exit 77; }
echo "$dir"
