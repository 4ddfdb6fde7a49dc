#!/bin/bash
# System: `qinstall migrate` from Exim (exim4-daemon-light) to qmail, then
# `qinstall rollback`, in a cached bookworm chroot with exim4 and bsd-mailx
# from apt and 20 deferred messages (tests/lib/mtachroot.sh); the cases
# are tests/lib/migrate-chroot.sh's. exim4's .deb is not in apt's cache:
# migrate must rebuild it from the installed files.
# After the rollback the tree is compared but for the paths
# migrate-chroot.sh lists (the journal; dpkg's logs, status-old, debconf's
# and apt's caches): the exim4-daemon-light reinstall by hand changed
# nothing else.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migrate-chroot.sh"

migrate_story exim4 exim
