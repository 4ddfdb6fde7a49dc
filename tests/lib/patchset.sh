# patchset.sh - the netqmail patch set for tests/scenario/patch-merge.sh and
# tests/bench/patchset.sh, from the shared distfiles folder (DISTFILES, set
# by distfiles_find): the pristine tree, the series and validrcptto's glue.
#
#   patchset_prepare W   # W/pristine: netqmail-1.06 with base64.c/.h of
#                        # qmail-smtpd-auth-0.31 (its auth.patch, a context
#                        # diff, applied as it is: -p0 -F1);
#                        # W/validrcptto-glue.patch; PATCHSET (qinstall patch
#                        # options of 103, date-localtime, auth, qregex), VRT
#                        # (validrcptto's), AUTH (auth.patch). 1 on failure.
#   record FILE HUNK KEY # a field of a hunk's record in tap_run's JSON
PATCHSET_FILES="netqmail-1.06.tar.gz qmail-103.patch qmail-date-localtime.patch qmail-smtpd-auth-0.31.tar.gz
	qregex-20060423.patch netqmail-1.05-validrcptto.cdb.patch"

patchset_prepare() {
	local W=$1 D=$DISTFILES
	tar xzf "$D/netqmail-1.06.tar.gz" -C "$W" && tar xzf "$D/qmail-smtpd-auth-0.31.tar.gz" -C "$W" &&
		cp "$W/qmail-smtpd-auth-0.31/base64.c" "$W/qmail-smtpd-auth-0.31/base64.h" "$W/netqmail-1.06/" &&
		mv "$W/netqmail-1.06" "$W/pristine" || return 1
	AUTH=$W/qmail-smtpd-auth-0.31/auth.patch
	PATCHSET=("-p1 -i $D/qmail-103.patch" "-p1 -i $D/qmail-date-localtime.patch" "-p0 -F1 -i $AUTH"
		"-p3 -i $D/qregex-20060423.patch")
	VRT="-p1 -i $D/netqmail-1.05-validrcptto.cdb.patch"
	# The glue validrcptto needs after qregex: qregex dropped the
	# badmailfrom constmap that validrcptto keeps (the union has it
	# again): remove it.
	cat >"$W/validrcptto-glue.patch" <<'GLUE'
--- a/qmail-smtpd.c
+++ b/qmail-smtpd.c
@@ -1,4 +1,2 @@
   if (env_get("LOGREGEX")) logregex = 1;
-  if (bmfok)
-    if (!constmap_init(&mapbmf,bmf.s,bmf.len,0)) die_nomem();
 
GLUE
}

# record FILE HUNK KEY: a field of the record of FILE's hunk HUNK in the
# last tap_run's JSON ("-" when absent).
record() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
d = json.load(sys.stdin)
for r in d["hunks"]:
    if r["file"] == sys.argv[1] and r["hunk"] == int(sys.argv[2]):
        print(r.get(sys.argv[3], "-")); break
else:
    print("none")' "$1" "$2" "$3"
}
