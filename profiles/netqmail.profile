# qmail as netqmail 1.06 (qmail-1.03 with the community's fixes), with
# ucspi-tcp 0.88 and daemontools 0.76: the seed guide's server, built with
# the profile's account ids, installed with hier.c's owners and modes by
# qmail's own install program, checked by its instcheck. The default of
# `qinstall provision`. See qinstall-profile(5).

[profile]
include = ucspi-daemontools
description = netqmail 1.06 in /var/qmail, with ucspi-tcp 0.88 and daemontools 0.76

[accounts]
# The seed guide's ids: nofiles 600, qmail 601, alias..qmails 600-606.
ids = pinned
qmail_home = /var/qmail

[mail]
# The seed guide's config-fast, done once and idempotently: control/me,
# defaultdomain, plusdomain, locals, rcpthosts (from --domain, or the
# host's FQDN), ~alias/.qmail-{postmaster,mailer-daemon,root} to the
# admin (--admin USER|ADDRESS: qmail never delivers to root), rc with
# ./Maildir/ as default delivery, and the sendmail links when no other MTA
# owns them.
configure = yes

[component netqmail]
version = 1.06
url = http://www.qmail.org/netqmail-${version}.tar.gz
url = http://netqmail.org/netqmail-${version}.tar.gz
sha256 = 8e7d98d15211fc9f9c28109e942e2268f42a6672d68df92a42f2afa90ff00532
size = 260941
# DNS replies over 512 bytes (netqmail-1.06 does not have it).
patch = http://www.ckdhr.com/ckd/qmail-103.patch#sha256=4cad53c7a6628a600c74c36bfee327db5052ca24c222d4013e4dfcd7f427653d
# The 64-bit integer overflows of CVE-2005-1513, -1514 and -1515 (the
# project's own patch; see qinstall-profile(5), SHIPPED PATCHES).
patch = payload/qmail/0001-cve-2005-1513-1514-1515.patch
strip = 1
fuzz = 0
make = it man
# qmail's own install program (hier.c) writes /var/qmail with its owners
# and modes; conf-qmail holds the home compiled into the programs.
install = hier
home = ${qmail_home}
home_file = conf-qmail
home_auto = auto_qmail
# auto-uid and auto-gid compile the accounts' ids in: the build sees the
# profile's accounts, and the ids are part of the build key.
accounts = yes
write = conf-split 23

[services]
# qmail-send, qmail-smtpd and qmail-pop3d under daemontools, as Life with
# qmail lays them out: ${qmail_home}/supervise/NAME (run, log/run), linked
# into /etc/service, logs by multilog as qmaill in /var/log/qmail/NAME.
# Nothing is started: svscan picks them up once it runs.
qmail = yes
send = yes
smtpd = yes
pop3 = yes
# qmail-smtpd runs under `softlimit -m`: with the memory bounded, the
# 64-bit integer overflows of the CVE-2005-1513 class (a huge SMTP line
# or command) cannot grow a buffer far enough to be exploited, whatever
# patch is missing. 12 MB is ample for qmail-smtpd on a 64-bit system.
smtpd_memory = 12000000
# qmail-popup's checkpassword verifies yescrypt hashes, which need about
# 16 MiB of their own: the POP3 service gets more room.
pop3_memory = 64000000
# The relay rules (/etc/tcp.smtp, compiled into /etc/tcp.smtp.cdb):
# localhost may relay, everyone else may deliver to this host's domains.
# Add a network that may relay with one more line, e.g.
#   smtp_rule = 192.168.1.:allow,RELAYCLIENT=""
# in a profile that includes this one, then provision again.
smtp_rule = 127.0.0.1:allow,RELAYCLIENT=""
smtp_rule = :allow
