#!/bin/bash
# System: `qinstall migrate` from Postfix to qmail, then `qinstall
# rollback`, in a cached bookworm chroot with postfix and bsd-mailx from
# apt and 20 deferred messages (tests/lib/mtachroot.sh); the cases are
# tests/lib/migrate-chroot.sh's. postfix's .deb is in apt's cache.
# After the rollback the tree is compared but for the paths
# migrate-chroot.sh lists (the journal; dpkg's logs, status-old, debconf's
# and apt's caches): the postfix reinstall by hand changed nothing else
# (not main.cf, not aliases.db, not the queue).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migrate-chroot.sh"

migrate_story postfix postfix
