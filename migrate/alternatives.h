/*
 * alternatives.h - chkconfig's (Red Hat's) alternatives state files,
 * /var/lib/alternatives/NAME, read, edited and written back byte for
 * byte, and a chain of symbolic links followed inside ROOT
 * (alternatives.c). The alternatives program has no --root, so on a ROOT
 * that is not / qinstall edits its state itself, through the journal.
 *
 * The file, as alternatives writes it (no trailing empty line):
 *
 *   auto | manual
 *   MASTER-LINK                  /usr/sbin/sendmail
 *   SLAVE-NAME                   mta-mailq        } one pair per slave,
 *   SLAVE-LINK                   /usr/bin/mailq   } in the group's order
 *   (empty line)
 *   CHOICE-PATH                  /usr/sbin/sendmail.postfix } one block
 *   [@FAMILY@]PRIORITY[ INIT]    60 postfix                 } per choice,
 *   SLAVE-TARGET | (empty)       one line per slave         } in order
 */
#ifndef QI_MIGRATE_ALTERNATIVES_H
#define QI_MIGRATE_ALTERNATIVES_H

#include <stdbool.h>
#include <stddef.h>

#include "qinstall.h"

#define ALT_STATE_DIR "/var/lib/alternatives"
#define ALT_LINK_DIR "/etc/alternatives"
#define ALT_STATE_MAX ((size_t)1 << 20)

struct alt_slave {
	char *name;		/* "mta-mailq" */
	char *link;		/* "/usr/bin/mailq" */
};
struct alt_choice {
	char *path;		/* "/usr/sbin/sendmail.postfix" */
	long priority;
	char *family;		/* or NULL */
	char *initscript;	/* or NULL */
	char **targets;		/* one per slave of the group, in its order; NULL
				 * where this choice lacks that slave */
};
struct alt_group {
	char *name;		/* "mta" */
	bool manual;
	char *link;		/* the master link, "/usr/sbin/sendmail" */
	struct alt_slave *slaves;
	size_t nslaves;
	struct alt_choice *choices;
	size_t nchoices;
	bool trailing_blank;	/* the text ended in an empty line (Debian's
				 * layout); alt_format writes it back so */
};

/* The pure parser (fuzzed) of NAME's state file TEXT. An error names NAME,
 * the line and what was wanted there: a NUL byte, a mode that is neither
 * auto nor manual, a relative path, a priority that is not a number, a
 * choice cut short, a slave name or choice path given twice. */
int alt_parse(qi_handle *h, const char *name, const char *text, size_t len, struct alt_group *g);
/* The text alternatives writes for G (malloc'd, its length in *LEN):
 * alt_format(alt_parse(T)) is T for every file alternatives writes. */
char *alt_format(const struct alt_group *g, size_t *len);
void alt_group_free(struct alt_group *g);

/* Add the choice PATH (or replace the one of that path) with priority
 * PRIORITY, INITSCRIPT (may be NULL) and N slaves: NAMES, their LINKS and
 * this choice's TARGETS, as chkconfig's alternatives --install does: a
 * new choice goes last; a slave the group lacks joins its header (with its
 * link), every other choice lacking it; a slave the group has keeps its
 * link (a different one is an error); the header is then sorted by link
 * path, and a replaced choice drops the slaves no choice has any more. */
int alt_add_choice(qi_handle *h, struct alt_group *g, const char *path, long priority, const char *initscript,
		   const char *const *names, const char *const *links, const char *const *targets, size_t n);
/* Remove the choice PATH (nothing when there is none) as alternatives
 * --remove does: the last choice takes its place, every slave stays in
 * the header. The mode is the caller's. */
void alt_remove_choice(struct alt_group *g, const char *path);
/* The choice of highest priority (the first of them on a tie, as
 * alternatives picks), or NULL when there is none. */
const struct alt_choice *alt_best(const struct alt_group *g);
const struct alt_choice *alt_find(const struct alt_group *g, const char *path);
/* The slave NAME's index in G, or -1. */
long alt_slave_index(const struct alt_group *g, const char *name);

/* G made ROOT's state of its group, through the journal (so that a
 * rollback puts back the very bytes and links there were): the state file
 * ALT_STATE_DIR/NAME written (alternatives' NAME.new is not needed: the
 * journal's write is atomic), and the links of the choice CURRENT (a path
 * of G's choices; NULL: the best, as in auto mode) made as alternatives
 * makes them: the master link and each slave link -> ALT_LINK_DIR/NAME
 * (or the slave's name) -> the choice's target; a slave the choice lacks
 * has both its links removed. What stands at a link path must be a
 * symbolic link (or nothing): a real file there is refused before
 * anything is written. Every link is read back after. */
int alt_store(qi_handle *h, const struct alt_group *g, const char *current);

/* ROOT/var/lib/alternatives/NAME: 1 when there is none (G zeroed), 0 read
 * and parsed, -1 refused: not a regular file (a symbolic link is not
 * followed), over ALT_STATE_MAX, or a NAME.new beside it (alternatives
 * was interrupted while it wrote the state). */
int alt_load(qi_handle *h, const char *name, struct alt_group *g);

/* The chain of symbolic links from PATH inside ROOT: each path it passes
 * (absolute, inside ROOT; PATH first) into *HOPS, the last one what is
 * not a link (or is missing). A relative target is taken from its link's
 * directory, an absolute one from ROOT (never the host's /). A loop, or
 * more than ALT_CHAIN_MAX links, is an error naming where it loops. */
#define ALT_CHAIN_MAX 40
int alt_chain(qi_handle *h, const char *path, char ***hops, size_t *n);
void alt_chain_free(char **hops, size_t n);

#endif /* QI_MIGRATE_ALTERNATIVES_H */
