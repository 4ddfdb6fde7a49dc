/*
 * provision.h - what the provisioning module's files share with one
 * another and with their unit tests and fuzz targets: the profile's
 * schema (profile_schema.c), its lists and origins (profile.c), component
 * recipes (build.c), the staged tree and its manifest (stage.c) and the
 * svscan unit (services.c), qmail's first configuration (mailconf.c) and
 * qmail's services under daemontools (qmailsvc.c).
 */
#ifndef QI_PROVISION_H
#define QI_PROVISION_H

#include "core/core.h"

/* ---- profile_schema.c: the sections, the keys, the validators ---- */

enum qi_vtype {
	QI_V_TEXT,	/* any one-line text */
	QI_V_NAME,	/* a profile name or path */
	QI_V_JOBS,	/* "auto" or 1..1024 */
	QI_V_INT,	/* integer in [min, max] */
	QI_V_BOOL,	/* yes/no, true/false, 1/0 */
	QI_V_ABSPATH,	/* absolute path without ".." */
	QI_V_RELPATH,	/* relative path without ".." */
	QI_V_ENUM,	/* one of ENUMS ("|"-separated) */
	QI_V_HEX64,
	QI_V_HEX128,
	QI_V_DOMAIN,	/* a DNS name with a dot (qi_domain_invalid) */
	QI_V_ADMIN,	/* a local user name or LOCAL@DOMAIN (qi_admin_invalid) */
	QI_V_URL,	/* scheme://... */
	QI_V_FILENAME,	/* one path component */
	QI_V_DEBIAN,	/* "PACKAGE VERSION" */
	QI_V_PATCH,	/* a file, or an URL#sha256=HEX */
	QI_V_PROGRAM,	/* "NAME [MODE]" */
	QI_V_WRITE,	/* "FILE CONTENT" */
	QI_V_TARGETS,	/* make targets, space separated */
	QI_V_SERIES,	/* a patch-series archive: FILE, URL#sha256=HEX or debian#sha256=HEX */
	QI_V_RULE,	/* a tcprules line ADDRESS:allow|deny[,VAR="VALUE"...] */
	QI_V_ADDRESS,	/* an address to listen on: 0, an IPv4 address, a host name */
	QI_V_COPY,	/* "COMPONENT:MEMBER [DEST]" */
	QI_V_OPTDEFAULT,	/* yes, no, or "A|B|...": on when any of those options is on */
	QI_V_OPTNAMES,	/* option names, space separated */
	QI_V_OPTREQUIRES,	/* words, each an option NAME or "A|B|..." (one of them) */
};

struct qi_keydef {
	const char *section;	/* the kind: "component" for [component NAME] */
	const char *key;
	enum qi_vtype type;
	bool list;
	const char *deflt;	/* NULL: no default */
	long min, max;		/* QI_V_INT */
	const char *enums;	/* QI_V_ENUM */
};

/* A kind of section: [NAME], or [NAME ARG] when NAMED. */
struct qi_section_def {
	const char *name;
	bool named;		/* [component NAME]: one section per ARG */
	bool vars;		/* ${KEY} finds its keys from any section */
};

/* Every kind, in the order `profile show` prints them; ends with a NULL
 * name. */
const struct qi_section_def *qi_profile_sections(void);
/* The kind named KIND, or NULL. */
const struct qi_section_def *qi_profile_section_def(const char *kind);
/* SECTION's kind: "component" for "component NAME", else SECTION. */
const char *qi_profile_section_kind(const char *section);
/* "profile, build, ..., component NAME" (malloc'd), for messages. */
char *qi_profile_known_sections(void);
/* The ARG of a named section: letters, digits, '-', '_', '.'. */
bool qi_profile_section_name_ok(const char *s);
/* All the keys, *N of them, grouped by kind. */
const struct qi_keydef *qi_profile_keys(size_t *n);
/* The key KEY of SECTION (a section or its kind), or NULL. */
const struct qi_keydef *qi_profile_key(const char *section, const char *key);
/* "cc, ld, ..." (malloc'd): the keys SECTION may have. */
char *qi_profile_known_keys(const char *section);
/* Why V is not a valid value for DEF (static text), or NULL when it is. */
const char *qi_profile_invalid(const struct qi_keydef *def, const char *v);
/* Why S is not a mail domain (the rule, static text), or NULL. */
const char *qi_domain_invalid(const char *s);
/* Why S is not a tcprules line (static text), or NULL; *RELAY_ALL (may be
 * NULL) says whether it lets everyone relay (allow with RELAYCLIENT for
 * no address, for "=" or for INFO@ alone). */
const char *qi_tcprule_invalid(const char *s, bool *relay_all);
/* Why S is not a mailbox for [mail] admin (static text), or NULL. */
const char *qi_admin_invalid(const char *s);
/* The first word of S (malloc'd; words are split at blanks) and, in
 * *REST, what follows the blanks after it: how "NAME MODE", "FILE
 * CONTENT" and "PACKAGE VERSION" split. */
char *qi_profile_first_word(const char *s, const char **rest);

/* A patch value "SPEC [strip=N] [fuzz=N] [glue=FILE] [base=COMPONENT]". */
struct qi_patch_spec {
	char *spec;		/* FILE, URL#PIN or COMPONENT:MEMBER */
	int strip, fuzz;	/* -1: the component's */
	char *glue;		/* the glue patch's file, or NULL */
	char *base;		/* the component whose tree it was made against, or NULL */
};
/* Why V is no such value (static text), or NULL and *PS filled
 * (malloc'd; free it with qi_patch_spec_free). */
const char *qi_patch_spec_parse(const char *v, struct qi_patch_spec *ps);
void qi_patch_spec_free(struct qi_patch_spec *ps);

/* ---- profile.c ---- */

/* "a, b, c": the options the profile declares (malloc'd). */
char *qi_profile_option_names(const struct qi_profile *p);

/* Parse a profile from memory; NAME is used in messages and to resolve
 * relative includes (its directory). Includes are followed as in a file. */
int qi_profile_parse_buffer(qi_handle *h, const char *name, const char *buf, size_t len,
			    struct qi_profile **out);
/* A list key's values in order (includes first, an empty value clears the
 * list so far), expanded; NULL-terminated, owned by the profile. */
const char *const *qi_profile_get_list(const struct qi_profile *p, const char *section,
				       const char *key);
/* "FILE:LINE" of the value in force ("default" for a built-in default,
 * "command line" for qi_profile_set); NULL when unset. */
const char *qi_profile_origin(const struct qi_profile *p, const char *section, const char *key);
/* "FILE:LINE" of the last value VALUE of list KEY, or NULL. */
const char *qi_profile_value_origin(const struct qi_profile *p, const char *section, const char *key,
				    const char *value);
/* Whether the list KEY is written at all (an empty value, clearing it, counts). */
bool qi_profile_list_set(const struct qi_profile *p, const char *section, const char *key);
/* The component names, in the order their sections first appear;
 * NULL-terminated, owned by the profile. */
const char *const *qi_profile_components(const struct qi_profile *p);
/* Whether the patch VALUE is COMPONENT:MEMBER, a file inside the source
 * archive of the profile's component COMPONENT (netqmail's
 * other-patches/...): then *COMPONENT and *MEMBER (malloc'd) say which. */
bool qi_profile_patch_member(const struct qi_profile *p, const char *value, char **component,
			     char **member);
/* Host path of a file named by VALUE of a list key (a patch): relative
 * paths are looked up beside the profile file that wrote the value, then
 * in the data directory. It must be a regular file (a patch of at most
 * QI_INPUT_MAX bytes), checked without blocking. Malloc'd; NULL + error
 * when it does not exist or is no such file. */
char *qi_profile_find_file(qi_handle *h, const struct qi_profile *p, const char *section,
			   const char *key, const char *value);
/* The same for the file NAME written inside VALUE (a patch's glue=FILE,
 * its SPEC before the attributes). */
char *qi_profile_find_named(qi_handle *h, const struct qi_profile *p, const char *section,
			    const char *key, const char *value, const char *name);

/* ---- build.c: component recipes for djb-style conf-* trees ---- */

struct qi_recipe_program {
	char *name;
	mode_t mode;
};

struct qi_recipe_patch {
	char *spec;		/* as written in the profile */
	char *path;		/* host path once found or fetched (NULL for an URL not yet fetched) */
	char *url;		/* an URL patch (pinned), or NULL */
	/* COMPONENT:MEMBER, a file inside another component's pinned source
	 * archive (netqmail's other-patches/): both NULL otherwise */
	char *component, *member;
	char hash[129];		/* SHA-256 of the content (an URL patch: its pinned hash) */
	/* patch = SPEC strip=N fuzz=N glue=FILE: -p and -F (the component's
	 * unless given), the glue patch (its file name, host path and
	 * SHA-256), or glue NULL */
	int strip, max_fuzz;
	char *glue, *glue_path;
	char glue_hash[65];
	/* base=COMPONENT: the install = none component whose tree the patch
	 * was made against (merged against it), its version and pin, and the
	 * host path of that tree's top once extracted; base NULL otherwise */
	char *base, *base_version, *base_dir;
	char base_pin[129];
	char sha256[65];	/* the file's own SHA-256 once it is read ("": not yet) */
};

/* copy = COMPONENT:MEMBER [DEST]: a file of another component's source
 * archive, copied into the tree before the patches. */
struct qi_recipe_copy {
	char *spec;		/* as written */
	char *component, *member;
	char *dest;		/* relative to the tree's top (default: MEMBER's base name) */
	char *path;		/* host path once the archive is unpacked */
	char hash[65];		/* for the build key: that archive's pin and the member */
	char sha256[65];	/* the file's own SHA-256 once copied ("": not yet) */
};

struct qi_recipe {
	char *name, *version;
	char *file;			/* distfile name */
	char **urls;			/* NULL-terminated */
	char *sha256, *sha512;		/* pins (NULL when absent) */
	int64_t size;
	char *debian_source, *debian_version;
	struct qi_source source;	/* points into the fields above */
	struct qi_recipe_patch *patches;
	size_t npatches;
	struct qi_recipe_copy *copies;
	size_t ncopies;
	bool merge;			/* merge = yes: a hunk that fails is merged three ways */
	bool install_none;		/* install = none: fetched and verified for others only */
	/* A quilt series inside an archive (Debian's debian.tar.*), applied
	 * before PATCHES: spec NULL when none; url set for an URL; from_debian
	 * for Debian's source package (hash then holds the pin). */
	struct qi_recipe_patch series_archive;
	bool series_from_debian;
	char *series_file;		/* the series file's path inside the archive */
	int strip, max_fuzz;
	char *dir;			/* where to build, relative to the tree's top */
	char **write_names, **write_values;	/* conf-* and other one-line files */
	size_t nwrite;
	char *cc, *ld;
	int jobs;
	char **targets;			/* make targets, NULL-terminated */
	struct qi_recipe_program *programs;
	size_t nprograms;
	char *bindir;			/* where the programs go, inside ROOT */
	bool install_make;		/* install = make: `make TARGET DESTDIR=STAGE` */
	char *install_target;
	/* install = hier: the tree's own `install` program, made from hier.c,
	 * writes HOME with hier.c's owners and modes; HOME_FILE (conf-qmail)
	 * holds the home compiled into the programs, HOME_AUTO (auto_qmail)
	 * is the source generated from it. The install and `instcheck` are
	 * linked again with the staging directory as their home. */
	bool install_hier;
	char *home, *home_file, *home_auto;
	/* accounts = yes: the build looks qmail's accounts up (netqmail's
	 * auto-uid): it sees IDS, the ids resolved in ROOT, in a private
	 * passwd and group, and they are part of the build key. */
	bool accounts;
	struct qi_account_ids ids;
	char key[65];			/* build cache key, see qi_recipe_key */
};

/* Resolve COMPONENT's recipe from the profile; the patches are found
 * (local) or noted (URL). Errors name the profile's file:line. */
int qi_recipe_from_profile(qi_handle *h, const struct qi_profile *p, const char *component,
			   struct qi_recipe *r);
void qi_recipe_free(struct qi_recipe *r);
/* The build cache key: SHA-256 of everything that changes the staged tree
 * (source pins, patch contents, strip, fuzz, conf files, compiler and
 * linker lines, targets, programs, install method). Not -j. */
int qi_recipe_key(qi_handle *h, struct qi_recipe *r);
/* Write the conf files into TREE/dir and run make -j in it; all output
 * goes to LOG. WORK is the build's work directory (TREE is below it),
 * where the private passwd and group of an accounts build are made. SB
 * (NULL: not isolated): make runs isolated in it, as its build user, TREE
 * having been given to that user (an accounts build must be isolated: it
 * sees its passwd and group through the mount namespace). On failure the
 * error quotes the log's last lines. */
int qi_recipe_build(qi_handle *h, const struct qi_recipe *r, const char *tree, const char *work,
		    const char *log, const struct qi_sandbox *sb);
/* Install the built programs into STAGE (STAGE/bindir/NAME, recipe mode),
 * run the tree's install target with DESTDIR=STAGE, or (install = hier)
 * its own install program into STAGE/home, then its instcheck, whose
 * every complaint is an error; isolated in SB (when not NULL) but as root
 * (keep_root). STAGE is below WORK. */
int qi_recipe_install(qi_handle *h, const struct qi_recipe *r, const char *tree,
		      const char *work, const char *stage, const char *log,
		      const struct qi_sandbox *sb);
/* mkdir -p of a host path in the work area (never ROOT: that is the
 * journal's). */
int qi_mkdirs_host(qi_handle *h, const char *path);
/* The last N lines of a file (malloc'd; "" when unreadable). */
char *qi_file_tail(const char *path, int n);
/* Run ARGV in DIR with stdout and stderr appended to LOG, isolated in SB
 * (NULL: not isolated); 0 when it exits 0. */
int qi_run_logged(qi_handle *h, const char *dir, const char *const *argv,
		  const char *const *env, const char *log, const struct qi_sandbox *sb);

/* ---- stage.c: the staged tree, its manifest, its commit into ROOT ---- */

/* One path of a staged tree: what it is, described as the journal
 * describes any object (a directory, a regular file with its size and
 * SHA-256, a FIFO, or a symlink with its target; mode with set-id and
 * sticky bits; the owner it gets in ROOT: root's, or the one the
 * component's install program gave it). */
struct qi_manifest_entry {
	char *path;		/* absolute inside ROOT: "/usr/local/bin/tcpserver" */
	struct qi_image img;
	bool owned;		/* a directory of the component's own (below its home):
				 * its mode and owner are made to match in ROOT too */
};

struct qi_manifest {
	struct qi_manifest_entry *e;
	size_t n;
};

/* Walk STAGE into a manifest sorted by path (parents first); the owners
 * are the stage's with KEEP_OWNERS, else root's. */
int qi_manifest_scan(qi_handle *h, const char *stage, bool keep_owners, struct qi_manifest *m);
int qi_manifest_save(qi_handle *h, const struct qi_manifest *m, const char *file);
int qi_manifest_load(qi_handle *h, const char *file, struct qi_manifest *m);
void qi_manifest_free(struct qi_manifest *m);
json_t *qi_manifest_to_json(const struct qi_manifest *m);

/* What committing the staged tree would do to one path of ROOT. */
enum qi_stage_action {
	QI_STAGE_SAME = 0,	/* ROOT already has it */
	QI_STAGE_CREATE,
	QI_STAGE_REPLACE,	/* different content, type or link target */
	QI_STAGE_MODE,		/* same content, other mode or owner */
};
const char *qi_stage_action_name(enum qi_stage_action a);
/* Compare one manifest entry with ROOT (reads only). A staged directory
 * where ROOT has a symlink that leads, inside ROOT, to a directory is the
 * same (it is installed through the link); a file or link where ROOT has
 * a symlink replaces the symlink. */
enum qi_stage_action qi_stage_compare(qi_handle *h, const struct qi_manifest_entry *e);
/* Before anything is written (reads only): every symlink in ROOT where M
 * has a directory must lead to a directory inside ROOT (not dangle, not
 * lead to a file, not loop, not climb out of ROOT with ".."), and no two
 * entries may land on one path through those links (bin/x and usr/bin/x
 * under a merged /usr) unless both are directories. -1 with a message
 * naming the link and what to mend. */
int qi_stage_check(qi_handle *h, const struct qi_manifest *m);
/* The same for DIR and each directory above it, before the manifest is
 * known (plan before the build: the recipe's bindir). */
int qi_stage_check_dir(qi_handle *h, const char *dir);
/* The target of the symlink PATH inside ROOT (malloc'd), or NULL; never
 * follows a link out of ROOT. */
char *qi_stage_readlink(qi_handle *h, const char *path);
/* Commit STAGE into ROOT through the journal, entry by entry, after
 * qi_stage_check; existing directories, and symlinks to directories where
 * the stage has a directory, are left as they are (the paths below are
 * written through the link, and so recorded: rollback finds them there).
 * *changed counts the paths changed. */
int qi_stage_commit(qi_handle *h, const char *stage, const struct qi_manifest *m,
		    size_t *changed);

/* ---- services.c: svscan started at boot by a systemd unit ---- */

struct qi_svscan_unit {
	char *unit_path;	/* /etc/systemd/system/NAME */
	char *wants_link;	/* /etc/systemd/system/multi-user.target.wants/NAME */
	char *service_dir;
	char *svc;		/* daemontools' svc, beside svscan */
	char *text;		/* the unit file */
};

/* The template DATADIR/payload/NAME ("systemd/svscan.service.in"),
 * malloc'd; NULL + error when it cannot be read. */
char *qi_payload_template(qi_handle *h, const char *name);
/* TEXT with every WHAT replaced by WITH (malloc'd). */
char *qi_template_replace(const char *text, const char *what, const char *with);
/* The unit for svscan installed at SVSCAN (a path inside ROOT), from the
 * template payload/systemd/svscan.service.in. */
int qi_svscan_unit_render(qi_handle *h, const struct qi_profile *p, const char *svscan,
			  struct qi_svscan_unit *u);
void qi_svscan_unit_free(struct qi_svscan_unit *u);
/* Write the service directory, the unit and its enable link through the
 * journal; start it only when ROOT is "/" and systemd runs. */
int qi_svscan_unit_commit(qi_handle *h, const struct qi_profile *p,
			  const struct qi_svscan_unit *u);
/* The same, started or not as START says instead of [services] start. */
int qi_svscan_unit_commit_start(qi_handle *h, const struct qi_profile *p,
				const struct qi_svscan_unit *u, bool start);
/* The changes that would be made, appended to PLAN (JSON array). */
int qi_svscan_unit_plan(qi_handle *h, const struct qi_svscan_unit *u, json_t *plan);

/* ---- qmailsvc.c: qmail's services under daemontools ([services] qmail) ---- */

struct qi_qmailsvc;

/* What the services are made from, worked out by provision. */
struct qi_qmailsvc_env {
	const struct qi_account_ids *ids;	/* qmaild, qmaill, nofiles */
	const char *domain;	/* the mail domain (qmail-popup's), or NULL: ROOT's control/me */
	/* the programs as installed in ROOT */
	const char *tcpserver, *softlimit, *multilog, *setuidgid;
	/* tcprules to compile the rules with (a host path), or NULL when it
	 * is not built yet (plan) */
	const char *tcprules;
	/* another MTA's rules, before the profile's, or NULL (qinstall.h) */
	const struct qi_mail_conversion *conv;
};

/* Before anything is fetched or built: an open relay among [services]
 * smtp_rule is a usage error unless allow_open_relay = yes. */
int qi_qmailsvc_check(qi_handle *h, const struct qi_profile *p);
/* Every service directory, run script, log directory, link, the rules
 * and their cdb (compiled into the work area), compared with ROOT; *OUT
 * is NULL when [services] qmail = no. Reads only. */
int qi_qmailsvc_prepare(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			struct qi_qmailsvc **out);
void qi_qmailsvc_free(struct qi_qmailsvc *s);
/* Whether committing would change anything (S may be NULL); the result
 * gets "qmail_services" when nothing is. */
int qi_qmailsvc_pending(qi_handle *h, struct qi_qmailsvc *s, bool *pending);
/* Write it all through the journal, the links last; starts nothing. */
int qi_qmailsvc_commit(qi_handle *h, struct qi_qmailsvc *s);
/* Append what would change to PLAN; reads only. */
int qi_qmailsvc_plan(qi_handle *h, struct qi_qmailsvc *s, json_t *plan);
/* "services" and "service_dir" into the provision record O. */
void qi_qmailsvc_record(const struct qi_qmailsvc *s, json_t *o);

/* ---- tlscert.c: qmail-smtpd's control/servercert.pem ([mail] tls_cert) ---- */

/* A new private key (TYPE "rsa": RSA 2048, "ec": EC P-256) and a
 * self-signed X.509 certificate for HOST (subject CN and subjectAltName
 * DNS:HOST, serverAuth and clientAuth), valid DAYS days from now, as PEM:
 * the key, then the certificate (malloc'd *PEM). */
int qi_tlscert_generate(qi_handle *h, const char *host, const char *type, int days, char **pem);
/* The same PEM from the host files CERT (the certificate, then its chain)
 * and KEY (an unencrypted private key; NULL: in CERT too), both parsed
 * with libcrypto; an error when either cannot be read or the key does not
 * belong to the certificate. */
int qi_tlscert_from_files(qi_handle *h, const char *cert, const char *key, char **pem);

/* ---- mailconf.c: qmail's first configuration ([mail] configure) ---- */

/* What the last provision installed (provision.c writes it, status and
 * mailconf.c read it). */
#define QI_PROVISION_RECORD "/var/lib/qinstall/provision.json"

struct qi_mailconf;

/* What [mail] asks for, worked out before anything is built: the domain
 * (--domain, [mail] domain or the host's FQDN), the admin and every file,
 * directory and link with its wanted content and owner. *OUT is NULL when
 * [mail] configure = no. IDS: qmail's account ids as provision resolved
 * them (qi_provision_prepare and plan resolve them once, for every step).
 * Usage errors for a bad domain or admin; an error for an rcpthosts that
 * the administrator left empty. Reads only. */
/* ROOT's provision record (QI_PROVISION_RECORD) parsed, or NULL when
 * there is none, it is not a regular file or it does not parse (reads
 * only; no error left). New reference. */
json_t *qi_provision_record_load(qi_handle *h);
int qi_mailconf_prepare(qi_handle *h, const struct qi_profile *p, const struct qi_account_ids *ids,
			const struct qi_mail_conversion *conv, struct qi_mailconf **out);
void qi_mailconf_free(struct qi_mailconf *mc);
/* The sendmail links that another MTA owns are the caller's to take over
 * (qinstall migrate's link step): left, and said so, without a warning. */
void qi_mailconf_takeover(struct qi_mailconf *mc);
/* Whether committing would change anything (MC may be NULL: false). When
 * nothing is, the result gets "mail" as qi_mailconf_commit gives it. */
int qi_mailconf_pending(qi_handle *h, struct qi_mailconf *mc, bool *pending);
/* Write it all through the journal, inside the run; the result gets
 * "mail". MC may be NULL (nothing to do). */
int qi_mailconf_commit(qi_handle *h, struct qi_mailconf *mc);
/* Append what would change to PLAN (provision's plan entries) and put
 * "mail" into the result; reads only. MC may be NULL. */
int qi_mailconf_plan(qi_handle *h, struct qi_mailconf *mc, json_t *plan);
/* The mail domain MC configures (NULL when MC is NULL). */
const char *qi_mailconf_domain(const struct qi_mailconf *mc);
/* "domain" and "admin" into the provision record O (nothing when MC is
 * NULL). */
void qi_mailconf_record(const struct qi_mailconf *mc, json_t *o);

#endif
