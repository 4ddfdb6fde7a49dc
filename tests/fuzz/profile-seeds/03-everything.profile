[profile]
description = every section and key
[build]
cc = gcc -O2 -std=gnu17
ld = gcc -s
jobs = 4
prefix = /opt/djb
[accounts]
ids = auto
auto_min = 2000
auto_max = 2100
nofiles = 2108
qmail = 2107
alias = 7790
qmaild = 7791
qmaill = 7792
qmailp = 7793
qmailq = 7794
qmailr = 7795
qmails = 7796
qmail_home = /var/qmail
[mail]
domain = mail.example.org
[services]
svscan = yes
service_dir = /service
unit = svscan.service
start = no
[component netqmail]
version = 1.06
file = netqmail-1.06.tar.gz
url = http://www.qmail.org/netqmail-${version}.tar.gz
url = https://mirror.invalid/netqmail-${version}.tar.gz
sha256 = 8e7d98d15211fc9f9c28109e942e2268f42a6672d68df92a42f2afa90ff00532
sha512 = 301d574c9f2c4c7fef6afb98818f424a43f644e456c6268234e73da898710b0f4b6797a80d240c270c5319398574349bedf6a2c9757e432f293f85ec8c01f51f
size = 260941
patch = https://patches.invalid/qmail-smtpd-auth.patch#sha256=0000000000000000000000000000000000000000000000000000000000000000
strip = 1
fuzz = 2
dir = .
write = conf-qmail ${qmail_home}
write = conf-split 23
make = it man
install = make
install_target = setup check
program = qmail-send 0711
bindir = ${qmail_home}/bin
