# qmail as netqmail 1.06 (qmail-1.03 with the community's fixes), with
# ucspi-tcp 0.88 and daemontools 0.76: the seed guide's server, built with
# the profile's account ids, installed with hier.c's owners and modes by
# qmail's own install program, checked by its instcheck. The default of
# `qinstall provision`. See qinstall-profile(5).

[profile]
include = ucspi-daemontools
description = netqmail 1.06 in /var/qmail, with ucspi-tcp 0.88 and daemontools 0.76
# What was built, from which sources and patches, and how each hunk went
# (clean, offset, fuzz, merged, rule, glue), beside the documentation.
provenance = ${qmail_home}/doc/PROVENANCE.json

# ---- the patch set: one switch each (--with NAME, --without NAME) ----

[option oversize-dns]
description = qmail-103: DNS replies over 512 bytes (large MX sets), which qmail-1.03 cannot read
default = yes

[option date-localtime]
description = Date: and Received: headers in the local time zone instead of -0000 (GMT)
default = yes

[option smtp-auth]
description = qmail-smtpd-auth 0.31: AUTH LOGIN, PLAIN and CRAM-MD5 through a checkpassword program; an authenticated session may relay
default = yes

[option tls-smtpauth]
description = netqmail-1.05-tls-smtpauth: STARTTLS and AUTH in one patch, instead of smtp-auth
default = no
conflicts = smtp-auth

[option qregex]
description = qregex-20060423: regular expressions in control/badmailfrom, plus control/badmailto and control/badhelo
default = yes

[option validrcptto]
description = validrcptto.cdb: unknown local recipients refused at RCPT time, from control/validrcptto.cdb (the mail users, the alias files and [mail] valid_rcpt)
default = yes

[option moreipme]
description = moreipme 0.6: control/moreipme (more addresses that are this host) and control/notipme
default = no

[option submission]
description = the project's submission patch and a service on port 587: with SUBMISSION set, no RCPT before AUTH
default = smtp-auth|tls-smtpauth
requires = smtp-auth|tls-smtpauth

[option a_record]
description = rblsmtpd (ucspi-tcp) with A-record RBLs (ucspi-rss); when off, rblsmtpd without its default RBL (nodefaultrbl)
default = yes

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
# The 64-bit integer overflows of CVE-2005-1513, -1514 and -1515 (the
# project's own patch; see qinstall-profile(5), SHIPPED PATCHES). Always
# first; the options' patches follow in the sections below, in series
# order: 103, date-localtime, smtp-auth or tls-smtpauth, qregex,
# validrcptto, moreipme, submission. A hunk that no longer applies after
# the patches before it is merged three ways (merge = yes).
patch = payload/qmail/0001-cve-2005-1513-1514-1515.patch
strip = 1
merge = yes
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


# qmail-smtpd-auth 0.31: fetched and verified only for its files
# (base64.c, base64.h, auth.patch), which netqmail's tree takes.
[component qmail-smtpd-auth if smtp-auth]
version = 0.31
url = http://members.elysium.pl/brush/qmail-smtpd-auth/dist/qmail-smtpd-auth-${version}.tar.gz
sha256 = 1b439fa7e128de13fa80b86883f61a39d17b87b7e8916b6a0eab065bbe49b938
size = 8798
install = none

# qmail 1.03 as its author released it: the tree moreipme was made
# against, which its merge takes base and theirs from (base=qmail-1.03).
[component qmail-1.03 if moreipme]
version = 1.03
url = https://cr.yp.to/software/qmail-${version}.tar.gz
sha256 = 21ed6c562cbb55092a66197c35c8222b84115d1acab0854fdb1ad1f301626f88
size = 220668
install = none

# The options' patches to netqmail, in series order (fuzz 0 but where a
# patch needs more: the merge does the rest).
[component netqmail if oversize-dns]
# DNS replies over 512 bytes (netqmail-1.06 does not have it).
patch = http://www.ckdhr.com/ckd/qmail-103.patch#sha256=4cad53c7a6628a600c74c36bfee327db5052ca24c222d4013e4dfcd7f427653d

[component netqmail if date-localtime]
patch = ftp://ftp.nlc.net.au/pub/unix/mail/qmail/qmail-date-localtime.patch#sha256=852aee7577edf8814c2429f82740da2a7e0b0b23516e10c4f3f7e845a47be2d5

[component netqmail if smtp-auth]
# auth.patch was made against qmail-1.03 (-p0); two hunks need fuzz 1.
copy = qmail-smtpd-auth:qmail-smtpd-auth-0.31/base64.c
copy = qmail-smtpd-auth:qmail-smtpd-auth-0.31/base64.h
copy = qmail-smtpd-auth:qmail-smtpd-auth-0.31/README.auth
patch = qmail-smtpd-auth:qmail-smtpd-auth-0.31/auth.patch strip=0 fuzz=1

[component netqmail if tls-smtpauth]
# STARTTLS and AUTH in one patch (paths ./FILE: strip 0); its Makefile
# hunk for token822.o merges after the cve patch. 0011 makes it build on
# OpenSSL 3; -DTLS turns it on (this conf-cc replaces [build] cc's).
patch = http://shupp.org/patches/netqmail-1.05-tls-smtpauth-20070417.patch#sha256=573de07d57ac6941a42dda645079213cf36fcbb7f3a8c254b8447709e5e5cd60 strip=0
patch = payload/qmail/0011-tls-smtpauth-openssl3.patch
write = conf-cc gcc -O2 -DTLS=20070408

[component netqmail if qregex !tls-smtpauth]
# Its paths have three leading directories.
patch = http://www.arda.homeunix.net/store/qmail/qregex-20060423.patch#sha256=3d127783e18521698250a4a0cda260b387aa5d79476557ca7b1621c38ab8a903 strip=3

[component netqmail if qregex tls-smtpauth]
# After tls-smtpauth: three true conflicts in qmail-smtpd.c (err_bmf and
# bmfcheck's flagbarf, which qregex replaced), settled by the glue.
patch = http://www.arda.homeunix.net/store/qmail/qregex-20060423.patch#sha256=3d127783e18521698250a4a0cda260b387aa5d79476557ca7b1621c38ab8a903 strip=3 glue=payload/qmail/0012-tls-smtpauth-qregex-glue.patch

[component netqmail if validrcptto qregex !tls-smtpauth]
# After qregex, setup() of qmail-smtpd.c is a true conflict (qregex
# deleted the badmailfrom constmap that validrcptto kept): the glue
# settles it (see the glue patch's header).
patch = http://qmail.jms1.net/patches/netqmail-1.05-validrcptto.cdb.patch#sha256=eece8f50ebd97eadd0e85b25a25aa17155132a806e45c0eb983eee23a5d845be glue=payload/qmail/0002-validrcptto-after-qregex-glue.patch

[component netqmail if validrcptto qregex tls-smtpauth]
# The same conflict in setup() after tls-smtpauth and qregex.
patch = http://qmail.jms1.net/patches/netqmail-1.05-validrcptto.cdb.patch#sha256=eece8f50ebd97eadd0e85b25a25aa17155132a806e45c0eb983eee23a5d845be glue=payload/qmail/0013-tls-smtpauth-validrcptto-glue.patch

[component netqmail if validrcptto !qregex]
patch = http://qmail.jms1.net/patches/netqmail-1.05-validrcptto.cdb.patch#sha256=eece8f50ebd97eadd0e85b25a25aa17155132a806e45c0eb983eee23a5d845be

[component netqmail if validrcptto]
# validrcptto asks the environment for RELAYCLIENT; this makes it ask
# qmail-smtpd, so that an authenticated client may relay.
patch = payload/qmail/0003-validrcptto-relayclient.patch

[component netqmail if moreipme]
# Made against qmail-1.03; netqmail already took its 0.0.0.0 part, so
# ipme.c's hunk 2 fails even on the pristine tree: merged against
# qmail-1.03's files instead (base=), the glue settles ipme_init().
patch = http://www.suspectclass.com/~sgifford/qmail/qmail-1.03-moreipme-0.6.patch#sha256=edeb619c2263946f57d8a96f3c5d312fa89646d67dc75520c3946b14525e2039 base=qmail-1.03 glue=payload/qmail/0008-moreipme-glue.patch
# The declarations its code in ipme.c and ipmeprint.c lacks.
patch = payload/qmail/0009-moreipme-declarations.patch

[component netqmail if submission smtp-auth]
# The project's own, last: with SUBMISSION set, RCPT before AUTH is
# refused with 530 (qmail-smtpd-auth's notion of authenticated).
patch = payload/qmail/0004-submission.patch

[component netqmail if submission tls-smtpauth]
# The same on tls-smtpauth's notion of authenticated.
patch = payload/qmail/0014-tls-smtpauth-submission.patch

# The declarations auth.patch's and validrcptto's code lacks (implicit
# declarations: warnings of gcc 12, errors of gcc 14), last.
[component netqmail if smtp-auth]
patch = payload/qmail/0005-smtpd-auth-declarations.patch
# auth.patch made the client's socket qmail-smtpd's stderr for good:
# log lines after AUTH went to the client. This keeps stderr the log.
patch = payload/qmail/0007-smtpd-auth-stderr.patch

[component netqmail if tls-smtpauth]
patch = payload/qmail/0015-tls-smtpauth-declarations.patch

[component netqmail if validrcptto]
patch = payload/qmail/0006-validrcptto-declarations.patch

# rblsmtpd: A-record RBLs, or (off) no default RBL.
[component ucspi-tcp if a_record]
patch = http://www.qmail.org/ucspi-rss.diff#sha256=5101354eb86d8e11edefd7b83df4e9c274a55b845f4cb2ce36dda912aced56f4

[component ucspi-tcp if !a_record]
patch = netqmail:netqmail-1.06/other-patches/ucspi-tcp-0.88.nodefaultrbl.patch

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

[services if smtp-auth]
# qmail-smtpd gets qmail-smtpd-auth's three arguments: the host name
# (of the CRAM-MD5 challenge), the checkpassword program, and /bin/true,
# which it runs when the password is right. qmail-smtpd runs as qmaild,
# so the program is a setgid copy of qinstall-checkpassword that reads
# the password file 0640 root:shadow and drops the group before it runs
# /bin/true (qinstall-checkpassword(8)).
smtpd_auth = yes

[services if tls-smtpauth]
# qmail-smtpd CHECKPASSWORD TRUE (tls-smtpauth takes no host name);
# STARTTLS is offered once control/servercert.pem is there.
smtpd_tls = yes

[services if submission]
# The message submission service on port 587: its own supervise
# directory and log (qmail-submission), SUBMISSION set (no RCPT before
# AUTH), and no relay rules: nobody relays there without AUTH.
submission = yes

[mail if tls-smtpauth]
# control/servercert.pem (key and certificate, qmaild:qmail 0640) and
# control/clientcert.pem linked to it: generated once for the mail domain
# (RSA 2048, self-signed), or the host path of a PEM certificate with
# tls_key naming its key. See qinstall-profile(5).
tls_cert = generate

[mail if validrcptto]
# control/validrcptto.cdb from the mail users, the alias files and
# valid_rcpt (addresses, @domain for a whole domain), rebuilt by
# `qinstall mailuser` and `qinstall mailuser validrcptto`. E.g.:
#   valid_rcpt = sales@example.org
validrcptto = yes
