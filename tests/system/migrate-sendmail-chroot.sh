#!/bin/bash
# System: `qinstall migrate` from sendmail (sendmail-bin, with the sendmail
# package that depends on it) to qmail, then `qinstall rollback`, in a
# cached bookworm chroot with sendmail and bsd-mailx from apt and 20
# deferred messages (tests/lib/mtachroot.sh); the cases are
# tests/lib/migrate-chroot.sh's. sendmail's .deb is not in apt's cache:
# migrate must rebuild it.
# After the rollback the tree is compared but for the paths
# migrate-chroot.sh lists, and these, which sendmail-bin's postinst
# remakes on a reinstall (found by reinstalling it by hand):
#   etc/mail/sendmail.cf, submit.cf   regenerated, with a new "built on"
#                                     stamp (mta_config compares them
#                                     without it), and their .old copies
#   etc/mail/databases, etc/mail/Makefile, etc/cron.d/sendmail
#                                     regenerated with a date in them
#   etc/mail/access.db, etc/mail/aliases.db   rebuilt (Berkeley DB files)
#   run/sendmail                      its run-time directories, made
#   var/spool/mqueue                  its queue files given to smmta (the
#                                     MTA had written them as root); what
#                                     they hold is compared by
#                                     mta_queue_ref
MIGRATE_CHANGED_MTA="etc/mail/sendmail.cf etc/mail/submit.cf etc/mail/sendmail.cf.old
	etc/mail/submit.cf.old etc/mail/databases etc/mail/Makefile etc/cron.d/sendmail
	etc/mail/access.db etc/mail/aliases.db run/sendmail var/spool/mqueue"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migrate-chroot.sh"

migrate_story sendmail sendmail
