# ucspi-tcp 0.88: tcpserver, tcprules and friends (D. J. Bernstein).
# Pinned to the upstream archive; Debian's byte-identical orig tarball is
# the second origin. See qinstall-profile(5).

[profile]
description = ucspi-tcp 0.88 alone (included by ucspi-daemontools)

[component ucspi-tcp]
version = 0.88
url = https://cr.yp.to/ucspi-tcp/ucspi-tcp-${version}.tar.gz
sha256 = 4a0615cab74886f5b4f7e8fd32933a07b955536a3476d74ea087a3ea66a23e9c
size = 53019
debian = ucspi-tcp 1:0.88-7
# glibc defines errno as a macro: the old `extern int errno` must go.
patch = payload/ucspi-tcp/0001-errno.patch
strip = 1
fuzz = 0
# conf-home is compiled into the helper scripts (who@, date@, ...).
write = conf-home ${prefix}
bindir = ${prefix}/bin
# The programs hier.c installs, with its modes.
program = tcpserver 0755
program = tcprules 0755
program = tcprulescheck 0755
program = argv0 0755
program = recordio 0755
program = tcpclient 0755
program = who@ 0755
program = date@ 0755
program = finger@ 0755
program = http@ 0755
program = tcpcat 0755
program = mconnect 0755
program = mconnect-io 0755
program = addcr 0755
program = delcr 0755
program = fixcrio 0755
program = rblsmtpd 0755
