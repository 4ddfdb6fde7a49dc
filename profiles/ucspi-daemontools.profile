# ucspi-tcp and daemontools, the base of a qmail server: programs in
# /usr/local/bin, services in /etc/service, svscan started by systemd.
# For daemontools' own /command + /service layout use
# ucspi-daemontools-command. See qinstall-profile(5).

[profile]
include = ucspi-tcp
include = daemontools
description = ucspi-tcp 0.88 and daemontools 0.76 in /usr/local/bin, svscan on /etc/service

[build]
cc = gcc -O2
ld = gcc -s
jobs = auto
prefix = /usr/local
