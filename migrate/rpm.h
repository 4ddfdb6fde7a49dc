/*
 * rpm.h - ROOT's rpm database for `qinstall migrate` on Red Hat systems
 * (rpm.c): the installed packages, what requires and provides a
 * capability, the files of a package and the owner of a path, the old
 * MTA's .rpm kept for an offline rollback (the dnf/yum package cache, or
 * rebuilt from the rpmdb and the installed files), `rpm -e --nodeps` and
 * the reinstall. The rpm counterpart of dpkg.c (migrate.h).
 *
 * Every call runs `rpm [--root ROOT] --dbpath DBPATH ...`: DBPATH is the
 * database found inside ROOT (rpm_root_db), always given, as Debian's rpm
 * defaults to ~/.rpmdb.
 */
#ifndef QI_MIGRATE_RPM_H
#define QI_MIGRATE_RPM_H

#include "qinstall.h"
#include "core/core.h"

struct rpm_pkg {
	char *name, *epoch;	/* epoch NULL when none */
	char *version, *release, *arch;
	char *nevra;		/* name-[epoch:]version-release.arch */
	char *sha1header;	/* the header's digest: a cached .rpm is this very package */
};
struct rpm_db {
	struct rpm_pkg *v;
	size_t n;
	char *dbpath;		/* inside ROOT: /var/lib/rpm or /usr/lib/sysimage/rpm */
};

/* The --qf rpm_db_load asks for: one package a line, six fields
 * separated by tabs, rpm's "(none)" for an absent one. */
#define RPM_QA_FORMAT "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SHA1HEADER}\\n"

/* Whether ROOT has an rpm database: 1 and *dbpath (malloc'd, inside ROOT;
 * /usr/lib/sysimage/rpm before /var/lib/rpm), 0 (and NULL) when neither
 * holds one, -1 on an error. */
int rpm_root_db(qi_handle *h, char **dbpath);
/* The pure parser of RPM_QA_FORMAT's output: NAME EPOCH VERSION RELEASE
 * ARCH SHA1HEADER, tab-separated; EPOCH "(none)" is none; an empty line
 * is skipped; a line with another count of fields, an empty field, or a
 * NUL byte is an error naming its line. DB->dbpath is left NULL. */
int rpm_qa_parse(qi_handle *h, const char *text, size_t len, struct rpm_db *db);
/* rpm -qa of ROOT (an error saying so when ROOT has no rpm database). */
int rpm_db_load(qi_handle *h, struct rpm_db *db);
void rpm_db_free(struct rpm_db *db);
const struct rpm_pkg *rpm_find(const struct rpm_db *db, const char *name);
/* Names of installed packages that require any of CAPS (rpm -q
 * --whatrequires each; "no package requires" is not an error), without
 * duplicates, without those among the NEXCEPT EXCEPT (may be NULL). */
int rpm_whatrequires(qi_handle *h, const char *const *caps, size_t ncaps, const char *const *except,
		     size_t nexcept, char ***names, size_t *n);
/* Which packages provide CAP (rpm -q --whatprovides): "smtpdaemon", "MTA". */
int rpm_whatprovides(qi_handle *h, const char *cap, char ***names, size_t *n);
/* The paths P installed (rpm -ql). */
int rpm_pkg_files(qi_handle *h, const struct rpm_pkg *p, char ***files, size_t *n);
/* Which package owns PATH inside ROOT (rpm -qf); *owner NULL when none. */
int rpm_owner(qi_handle *h, const char *path, char **owner);
/* A .rpm of P in WORKDIR (a host directory) so that rollback can
 * reinstall it offline: from ROOT's package cache
 * (/var/cache/dnf/ * /packages, /var/cache/yum/ * /packages, NEVRA.rpm
 * whose SHA1HEADER is the installed one's), or else rebuilt with rpmbuild
 * from the header (a spec of its tags, dependencies, scriptlets and every
 * file with its mode, owner, group and %config/%dir/%ghost flags) and the
 * files as they are in ROOT now. *rpmfile malloc'd; *how "package cache"
 * or "rebuilt" (static); a rebuild leaves its spec and rpmbuild's log in
 * WORKDIR/rpmbuild-NAME. */
int rpm_keep(qi_handle *h, const struct rpm_pkg *p, const char *workdir, char **rpmfile,
	     const char **how);
/* rpm -e --nodeps NAMES in ROOT, then a check that each is gone. */
int rpm_erase_nodeps(qi_handle *h, const char *const *names, size_t n);
/* rpm -i --nodeps --replacepkgs FILES (host paths) in ROOT, then a check
 * that each is installed. */
int rpm_install(qi_handle *h, const char *const *files, size_t n);
/* A list from the functions above freed. */
void rpm_names_free(char **names, size_t n);

#endif /* QI_MIGRATE_RPM_H */
