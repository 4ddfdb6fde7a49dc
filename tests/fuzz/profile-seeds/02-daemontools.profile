# daemontools 0.76: svscan, supervise, multilog and friends (D. J. Bernstein).
# Built from src/ directly, without package/install (which writes /command
# and /service on the host). See qinstall-profile(5).

[profile]
description = daemontools 0.76 and its svscan unit (included by ucspi-daemontools)

[component daemontools]
version = 0.76
url = https://cr.yp.to/daemontools/daemontools-${version}.tar.gz
sha256 = a55535012b2be7a52dcd9eccabb9a198b13be50d0384143bd3b32b8710df4c1f
size = 36975
debian = daemontools 1:0.76-8.1
# glibc defines errno as a macro: the old `extern int errno` must go.
patch = payload/daemontools/0001-errno.patch
strip = 1
fuzz = 0
# The archive's top directory is admin/; the sources are in src/.
dir = daemontools-${version}/src
# svscanboot's paths come from `home` (package/compile writes it).
write = home ${prefix}
bindir = ${prefix}/bin
# package/commands, all mode 0755.
program = svscan 0755
program = svscanboot 0755
program = supervise 0755
program = svc 0755
program = svok 0755
program = svstat 0755
program = fghack 0755
program = pgrphack 0755
program = readproctitle 0755
program = multilog 0755
program = tai64n 0755
program = tai64nlocal 0755
program = softlimit 0755
program = setuidgid 0755
program = envuidgid 0755
program = envdir 0755
program = setlock 0755

[services]
# svscan watches service_dir; a systemd unit starts it at boot.
svscan = yes
service_dir = /etc/service
