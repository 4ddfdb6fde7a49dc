# checkpassword 0.90 (D. J. Bernstein): the checkpassword program for
# qmail-popup with system users (their /etc/shadow passwords), beside
# netqmail. qinstall-checkpassword(8) is the project's own, for the mail
# users of qinstall-mailuser(8) too. See qinstall-profile(5).
#
# Not tested here beyond `qinstall profile show checkpassword`: its
# archive is in no package registry and not in the shared distfiles, so
# no test can fetch and build it.

[profile]
include = netqmail
description = netqmail 1.06 with checkpassword 0.90 in /usr/local/bin

[component checkpassword]
version = 0.90
url = https://cr.yp.to/checkpwd/checkpassword-${version}.tar.gz
sha512 = 301d574c9f2c4c7fef6afb98818f424a43f644e456c6268234e73da898710b0f4b6797a80d240c270c5319398574349bedf6a2c9757e432f293f85ec8c01f51f
size = 15631
# glibc defines errno as a macro: netqmail ships the fix in its archive.
patch = netqmail:netqmail-1.06/other-patches/checkpassword-0.90.errno.patch
strip = 1
fuzz = 0
bindir = /usr/local/bin
program = checkpassword 0755
