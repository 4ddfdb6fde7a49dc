/*
 * provision.c - the pipeline: profile -> fetch -> verify -> extract ->
 * patch -> build -> stage (all in the work area, cached by content) ->
 * commit into ROOT through the journal -> services -> qmail's first
 * configuration (mailconf.c).
 *
 * The work area (qi_cache_dir):
 *   distfiles/                       verified source archives (qi_fetch)
 *   builds/NAME-VERSION-KEY/         a finished build: stage/, manifest.json,
 *                                    patches.json; KEY is qi_recipe_key
 *   logs/NAME-VERSION-KEY.log        the build log, kept after success or failure
 *   work/NAME-VERSION-KEY.PID/       a build in progress, removed when done: mode
 *                                    0711, root's; src/ (the unpacked tree) is the
 *                                    build user's, the build's only writable place
 *                                    is this directory ([build] isolate)
 * A finished build appears by one rename, so a crash never leaves a half
 * build in builds/. Provisioning the same recipe again, into any ROOT,
 * skips fetch, patch and build.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/patch.h"
#include "journal/journal.h"
#include "provision/provision.h"
#include "sources/sources.h"


struct component {
	struct qi_recipe r;
	char *id;		/* NAME-VERSION-KEY16 */
	char *build_dir;	/* CACHE/builds/ID */
	char *stage;		/* build_dir/stage */
	char *log;		/* CACHE/logs/ID.log */
	struct qi_manifest m;
	bool cached;
	const char *origin;	/* where the source came from, or "build cache" */
	json_t *patch_report;
	json_t *provenance;	/* its part of the provenance file (provenance.json of its build) */
};

struct qi_provision {
	const struct qi_profile *p;
	struct component *c;
	size_t n;
	/* A component built for qmail's accounts (accounts = yes): they are
	 * resolved in ROOT before the build, their ids built in, and made in
	 * the same run as the files. */
	bool accounts;
	struct qi_accounts_spec spec;
	struct qi_account_ids ids;
	bool accounts_pending;
	struct qi_mailconf *mail;	/* [mail] configure (mailconf.c), or NULL */
	struct qi_qmailsvc *svc;	/* [services] qmail (qmailsvc.c), or NULL */
	/* Another MTA's configuration laid over [mail] configure's files:
	 * the options' (a migrate), else the one ROOT's provision record
	 * keeps (CONV_OWN, its strings CONV_REC's), so that a later provision
	 * does not take back what a migrate converted; or NULL. */
	const struct qi_mail_conversion *conv;
	struct qi_mail_conversion conv_own;
	json_t *conv_rec;
	char **conv_decoded;	/* CONV_OWN's strings that were hex there */
	size_t nconv_decoded;
	/* How components are built, settled before the first one is: the
	 * build user in SB, or not isolated ([build] isolate = no). */
	bool build_ready, isolated;
	struct qi_sandbox sb;
};

static void components_free(struct qi_provision *pv)
{
	for (size_t i = 0; i < pv->n; i++) {
		struct component *c = &pv->c[i];
		qi_recipe_free(&c->r);
		free(c->id);
		free(c->build_dir);
		free(c->stage);
		free(c->log);
		qi_manifest_free(&c->m);
		json_decref(c->patch_report);
		json_decref(c->provenance);
	}
	free(pv->c);
	pv->c = NULL;
	pv->n = 0;
	qi_mailconf_free(pv->mail);
	pv->mail = NULL;
	qi_qmailsvc_free(pv->svc);
	pv->svc = NULL;
	free((void *)pv->conv_own.names);
	free((void *)pv->conv_own.texts);
	free((void *)pv->conv_own.rules);
	pv->conv_own = (struct qi_mail_conversion){ 0 };
	for (size_t i = 0; i < pv->nconv_decoded; i++)
		free(pv->conv_decoded[i]);
	free(pv->conv_decoded);
	pv->conv_decoded = NULL;
	pv->nconv_decoded = 0;
	json_decref(pv->conv_rec);
	pv->conv_rec = NULL;
	pv->conv = NULL;
}

static bool conversion_empty(const struct qi_mail_conversion *c)
{
	return !c || (c->n == 0 && (!c->rules || !c->rules[0]));
}

/* What bytes_json made of a string: its text, or the bytes of its hex
 * decoded (a string PV keeps, freed with the record); NULL when V is
 * neither. */
static const char *bytes_value(struct qi_provision *pv, json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	const char *hex = json_string_value(json_object_get(v, "hex"));
	size_t len = hex ? strlen(hex) : 0;
	if (!hex || len % 2)
		return NULL;
	char *s = qi_xmalloc(len / 2 + 1);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned int byte;
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1 || byte == 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)byte;
	}
	s[len / 2] = '\0';
	pv->conv_decoded = qi_xrealloc(pv->conv_decoded, (pv->nconv_decoded + 1) * sizeof(*pv->conv_decoded));
	pv->conv_decoded[pv->nconv_decoded++] = s;
	return s;
}

/* PV->conv: OPT's, else the record's ("conversion": {origin, files:
 * [{name, text}], rules: [...]}, written by record_text). A record that
 * does not parse has none (qi_provision_status says so). */
static void recall_conversion(qi_handle *h, struct qi_provision *pv, const struct qi_provision_options *opt)
{
	if (opt && !conversion_empty(opt->conversion)) {
		pv->conv = opt->conversion;
		return;
	}
	json_t *rec = qi_provision_record_load(h);
	json_t *c = json_object_get(rec, "conversion"), *files = json_object_get(c, "files"),
	       *rules = json_object_get(c, "rules");
	size_t nf = json_array_size(files), nr = json_array_size(rules), n = 0, i;
	if (!json_is_object(c) || nf + nr == 0) {
		json_decref(rec);
		return;
	}
	const char **names = qi_xmalloc((nf + 1) * sizeof(*names)), **texts = qi_xmalloc((nf + 1) * sizeof(*texts));
	const char **lines = qi_xmalloc((nr + 1) * sizeof(*lines));
	json_t *f;
	json_array_foreach(files, i, f) {
		const char *name = bytes_value(pv, json_object_get(f, "name"));
		const char *t = bytes_value(pv, json_object_get(f, "text"));
		if (name && t) {
			names[n] = name;
			texts[n++] = t;
		}
	}
	size_t m = 0;
	json_array_foreach(rules, i, f)
		if ((lines[m] = bytes_value(pv, f)))
			m++;
	lines[m] = NULL;
	pv->conv_rec = rec;
	const char *origin = bytes_value(pv, json_object_get(c, "origin"));
	pv->conv_own = (struct qi_mail_conversion){ .names = names, .texts = texts, .n = n,
						    .rules = m ? lines : NULL,
						    .origin = origin && *origin ? origin : NULL,
						    .domain = bytes_value(pv, json_object_get(c, "domain")) };
	if (!m)
		free(lines);
	pv->conv = &pv->conv_own;
}

/* S as JSON: a string, or {"hex": ...} when it is not UTF-8 (an alias
 * of Latin-1 bytes), so that the record keeps every byte. */
static json_t *bytes_json(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	struct qi_buf b = { 0 };
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		qi_buf_addf(&b, "%02x", *p);
	v = json_pack("{s:s}", "hex", b.data ? b.data : "");
	qi_buf_free(&b);
	return v;
}

/* "conversion" into the record O: what recall_conversion reads back. */
static void record_conversion(const struct qi_provision *pv, json_t *o)
{
	const struct qi_mail_conversion *c = pv->conv;
	if (conversion_empty(c) || (!pv->mail && !pv->svc))
		return;
	json_t *files = json_array(), *rules = json_array();
	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(files, json_pack("{s:o, s:o}", "name", bytes_json(c->names[i]), "text",
						       bytes_json(c->texts[i])));
	for (const char *const *r = c->rules; r && *r; r++)
		json_array_append_new(rules, bytes_json(*r));
	json_t *rec = json_pack("{s:o, s:o, s:o, s:o}", "origin", c->origin ? bytes_json(c->origin) : json_null(),
				"domain", c->domain ? bytes_json(c->domain) : json_null(), "files", files, "rules", rules);
	json_object_set_new(o, "conversion", rec);
}

void qi_provision_free(struct qi_provision *pv)
{
	if (!pv)
		return;
	components_free(pv);
	free(pv);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---- the journal's own state is no profile's (journal.h) ---- */

/* A path of the profile that would put something into the journal's own
 * state, refused before anything is fetched or built. OWN_DIR: qinstall
 * makes that directory itself, with a mode and owner of its own, so /var
 * and /var/lib are refused too. */
static int refuse_state_setting(qi_handle *h, const struct qi_profile *p, const char *section,
				const char *key, bool own_dir)
{
	const char *v = qi_profile_get(p, section, key);
	char *clean = v ? qi_path_normalise(v, 0) : NULL;
	enum qi_state_part part = clean ? qi_state_part(clean) : QI_STATE_OUTSIDE;
	free(clean);
	if (part == QI_STATE_OUTSIDE || (part == QI_STATE_ABOVE && !own_dir))
		return 0;
	const char *origin = qi_profile_origin(p, section, key);
	bool deflt = !origin || strcmp(origin, "default") == 0;
	return qi_error_kind(h, QI_ERR_USAGE, "%s: [%s] %s = %s%s is %s, which no run may change "
			     "(qinstall's journal could no longer undo its runs): choose another path",
			     deflt ? qi_profile_file(p) : origin, section, key, v, deflt ? " (its default)" : "",
			     qi_state_part_name(part));
}

static int refuse_state_settings(qi_handle *h, const struct qi_profile *p)
{
	if (qi_profile_check_options(h, p) < 0)
		return -1;
	if (refuse_state_setting(h, p, "accounts", "qmail_home", true) < 0 ||
	    refuse_state_setting(h, p, "profile", "provenance", false) < 0)
		return -1;
	if (qi_profile_bool(p, "services", "qmail") &&
	    (refuse_state_setting(h, p, "services", "supervise_dir", true) < 0 ||
	     refuse_state_setting(h, p, "services", "log_dir", true) < 0 ||
	     refuse_state_setting(h, p, "services", "smtp_rules", false) < 0 ||
	     refuse_state_setting(h, p, "services", "service_dir", true) < 0 || qi_qmailsvc_check(h, p) < 0))
		return -1;
	return qi_profile_bool(p, "services", "svscan") ?
		refuse_state_setting(h, p, "services", "service_dir", true) : 0;
}

/* A staged tree that reaches into the journal's own state, refused before
 * the run (the change functions would refuse it half-way). Directories
 * /var and /var/lib are left as they are in ROOT (stage.c). */
static int refuse_state_manifest(qi_handle *h, const struct component *c)
{
	for (size_t i = 0; i < c->m.n; i++) {
		const struct qi_manifest_entry *e = &c->m.e[i];
		char *clean = qi_path_normalise(e->path, 0);
		enum qi_state_part part = clean ? qi_state_part(clean) : QI_STATE_OUTSIDE;
		free(clean);
		if (part == QI_STATE_OUTSIDE || (part == QI_STATE_ABOVE && e->img.type == QI_FT_DIR))
			continue;
		return qi_error(h, "component %s: its staged tree holds %s (%s), which no run may change "
				"(qinstall's journal could no longer undo its runs): make it install elsewhere "
				"(its build log: %s)", c->r.name, e->path, qi_state_part_name(part), c->log);
	}
	return 0;
}

/* Resolve the recipe and where its build lives in the cache. */
static int component_init(qi_handle *h, const struct qi_provision *pv, const char *name,
			  struct component *c)
{
	const struct qi_profile *p = pv->p;
	memset(c, 0, sizeof(*c));
	if (qi_recipe_from_profile(h, p, name, &c->r) < 0)
		return -1;
	if (c->r.accounts)
		c->r.ids = pv->ids;
	char *sec = qi_xasprintf("component %s", name);
	int rc = refuse_state_setting(h, p, sec, "bindir", false);
	free(sec);
	if (rc < 0)
		return -1;
	if (qi_recipe_key(h, &c->r) < 0)
		return -1;
	c->id = qi_xasprintf("%s-%s-%.16s", c->r.name, c->r.version, c->r.key);
	for (char *s = c->id; *s; s++)
		if (*s == '/' || *s == ':')
			*s = '_';
	c->build_dir = qi_xasprintf("%s/builds/%s", qi_cache_dir(h), c->id);
	c->stage = qi_xasprintf("%s/stage", c->build_dir);
	c->log = qi_xasprintf("%s/logs/%s.log", qi_cache_dir(h), c->id);
	return 0;
}

static bool component_cached(qi_handle *h, const struct component *c)
{
	char *mf = qi_xasprintf("%s/manifest.json", c->build_dir);
	char *pf = qi_xasprintf("%s/provenance.json", c->build_dir);
	/* a build from before the provenance file is built again, to have one */
	bool ok = exists(mf) && exists(c->stage) && exists(pf);
	free(mf);
	free(pf);
	return ok;
}

/* qmail's ids as the profile's [accounts] resolve in ROOT (read-only), for
 * the configuration and the services when no component is built for them
 * (no accounts are made then); warns when `qinstall users` has still to
 * make them. */
static int resolve_ids_only(qi_handle *h, const struct qi_profile *p, struct qi_account_ids *ids)
{
	struct qi_accounts_spec spec;
	bool pending = false;
	if (qi_profile_accounts_spec(h, p, &spec) < 0 || qi_accounts_resolve(h, &spec, ids, &pending) < 0)
		return qi_error_prefix(h, "qmail's accounts (for ~alias)");
	/* provision's result is not the accounts command's */
	static const char *const keys[] = { "ids", "accounts", "homes", "shell" };
	for (int i = 0; i < 4; i++)
		json_object_del(qi_result(h), keys[i]);
	if (pending)
		qi_warn(h, "qmail's accounts in %s are not all what the profile says: `qinstall users` makes "
			"them (~alias's files get the profile's ids)", qi_root(h));
	return 0;
}

/* qmail's accounts, when a component is built for them (accounts = yes):
 * resolved in ROOT, read-only, before anything is fetched or built, so
 * that an id clash stops the run before ROOT or the cache is touched;
 * their ids are built in and part of the build key. Without such a
 * component the ids are resolved all the same (not made) when the
 * configuration or the services need them: once, for both. */
static int resolve_accounts(qi_handle *h, struct qi_provision *pv)
{
	const char *const *names = qi_profile_components(pv->p);
	for (size_t i = 0; names[i]; i++) {
		char *sec = qi_xasprintf("component %s", names[i]);
		pv->accounts |= qi_profile_bool(pv->p, sec, "accounts");
		free(sec);
	}
	if (!pv->accounts)
		return qi_profile_bool(pv->p, "mail", "configure") || qi_profile_bool(pv->p, "services", "qmail") ?
			resolve_ids_only(h, pv->p, &pv->ids) : 0;
	if (qi_profile_accounts_spec(h, pv->p, &pv->spec) < 0 ||
	    qi_accounts_resolve(h, &pv->spec, &pv->ids, &pv->accounts_pending) < 0)
		return qi_error_prefix(h, "qmail's accounts in %s (nothing was built or written)", qi_root(h));
	return 0;
}

/* In the run, before the files: the accounts, with the ids the build has
 * built in (they cannot have moved since: the journal's lock is held). */
static int ensure_accounts(qi_handle *h, struct qi_provision *pv)
{
	if (!pv->accounts)
		return 0;
	struct qi_account_ids now;
	if (qi_accounts_ensure(h, &pv->spec, &now) < 0)
		return qi_error_prefix(h, "qmail's accounts");
	if (memcmp(&now, &pv->ids, sizeof(now)) != 0)
		return qi_error(h, "qmail's accounts in %s changed while the build ran, and the build has "
				"the old ids built in: provision again", qi_root(h));
	return 0;
}

/* The directories at or below an install = hier component's home are its
 * own: their owners and modes are hier.c's, enforced in ROOT too. */
static void mark_owned(struct component *c)
{
	if (!c->r.install_hier)
		return;
	size_t n = strlen(c->r.home);
	for (size_t i = 0; i < c->m.n; i++) {
		const char *path = c->m.e[i].path;
		c->m.e[i].owned = c->m.e[i].img.type == QI_FT_DIR && strncmp(path, c->r.home, n) == 0 &&
				  (path[n] == '\0' || path[n] == '/');
	}
}

/* After the commit, every path of an install = hier component is in ROOT
 * what its own install program made it in the stage (whose instcheck
 * passed): type, content, owner, group and mode; the equivalent of
 * running instcheck against ROOT. Else the run is rolled back. */
static int check_installed(qi_handle *h, const struct component *c)
{
	if (!c->r.install_hier)
		return 0;
	struct qi_buf b = { 0 };
	size_t bad = 0;
	for (size_t i = 0; i < c->m.n; i++)
		if (qi_stage_compare(h, &c->m.e[i]) != QI_STAGE_SAME && ++bad <= 10)
			qi_buf_addf(&b, "\n  %s", c->m.e[i].path);
	int rc = 0;
	if (bad)
		rc = qi_error(h, "component %s: after the commit, %zu path%s in %s %s not what its install "
			      "program made %s (hier.c's type, owner, group and mode):%s%s\nthe run is rolled back",
			      c->r.name, bad, bad == 1 ? "" : "s", qi_root(h), bad == 1 ? "is" : "are",
			      bad == 1 ? "it" : "them", b.data, bad > 10 ? "\n  ..." : "");
	qi_buf_free(&b);
	return rc;
}

/* The patch report of a cached build (patches.json beside its stage). */
static json_t *load_patch_report(const struct component *c)
{
	char *file = qi_xasprintf("%s/patches.json", c->build_dir);
	json_t *j = json_load_file(file, 0, NULL);
	free(file);
	if (!json_is_array(j)) {
		json_decref(j);
		return json_array();
	}
	return j;
}

/* A file inside another component's source archive (COMPONENT:MEMBER of
 * a patch or a copy; SPEC the value that names it, WHAT its key): that
 * archive fetched and verified as for its own build, unpacked into
 * WORK/from-COMPONENT, *PATH the member there. */
static int member_file(qi_handle *h, const struct qi_profile *p, const char *component,
		       const char *member_name, const char *what, const char *spec,
		       const struct qi_fetch_options *fo, const char *work, char **path)
{
	struct qi_recipe other;
	char *archive = NULL, *dest = qi_xasprintf("%s/from-%s", work, component);
	char *member = qi_path_normalise(member_name, QI_PATH_RELATIVE);
	struct stat st;
	int rc = member ? 0 : qi_error_kind(h, QI_ERR_USAGE, "%s %s: '%s' is not a relative path inside "
					   "the archive (no \"..\")", what, spec, member_name);
	if (rc == 0 && (rc = qi_recipe_from_profile(h, p, component, &other)) == 0) {
		rc = qi_fetch(h, &other.source, fo, &archive);
		qi_recipe_free(&other);
	}
	if (rc == 0 && !exists(dest))
		rc = qi_extract(h, archive, dest, NULL);
	if (rc == 0) {
		free(*path);
		*path = qi_xasprintf("%s/%s", dest, member);
		if (lstat(*path, &st) < 0 || !S_ISREG(st.st_mode))
			rc = qi_error(h, "the source archive of component %s has no file %s (check the path in "
				      "'%s = %s')", component, member_name, what, spec);
	}
	free(member);
	free(archive);
	free(dest);
	return rc < 0 ? qi_error_prefix(h, "%s %s", what, spec) : 0;
}

/* The tree a patch was made against (base=COMPONENT): that component's
 * archive fetched and verified as for its own build, unpacked into
 * WORK/base-COMPONENT; PT->base_dir its top. Another patch of the
 * component with the same base shares its tree. */
static int base_tree(qi_handle *h, const struct qi_profile *p, struct component *c, struct qi_recipe_patch *pt,
		     const struct qi_fetch_options *fo, const char *work)
{
	for (struct qi_recipe_patch *q = c->r.patches; q < pt; q++)
		if (q->base && q->base_dir && strcmp(q->base, pt->base) == 0) {
			pt->base_dir = qi_xstrdup(q->base_dir);
			return 0;
		}
	struct qi_recipe other;
	char *archive = NULL, *dest = qi_xasprintf("%s/base-%s", work, pt->base);
	int rc = qi_recipe_from_profile(h, p, pt->base, &other);
	if (rc == 0) {
		rc = qi_fetch(h, &other.source, fo, &archive);
		qi_recipe_free(&other);
	}
	if (rc == 0)
		rc = qi_extract(h, archive, dest, &pt->base_dir);
	free(archive);
	free(dest);
	return rc < 0 ? qi_error_prefix(h, "patch %s: its base %s", pt->spec, pt->base) : 0;
}

/* The SHA-256 of the host file PATH into HEX. */
static int file_sha256(qi_handle *h, const char *path, char *hex)
{
	char hex512[QI_SHA512_HEX + 1];
	return qi_digest_file(h, path, true, false, hex, hex512, NULL);
}

static int fetch_patches(qi_handle *h, const struct qi_profile *p, struct component *c,
			 const struct qi_fetch_options *fo, const char *work)
{
	for (size_t i = 0; i < c->r.npatches; i++) {
		struct qi_recipe_patch *pt = &c->r.patches[i];
		if (pt->base && base_tree(h, p, c, pt, fo, work) < 0)
			return -1;
		if (pt->component) {
			if (member_file(h, p, pt->component, pt->member, "patch", pt->spec, fo, work,
					&pt->path) < 0)
				return -1;
			continue;
		}
		if (!pt->url)
			continue;
		struct qi_fetch_spec fs;
		if (qi_fetch_spec_parse(h, pt->url, &fs) < 0)
			return -1;
		char *path = NULL;
		int rc = qi_fetch(h, &fs.source, fo, &path);
		qi_fetch_spec_free(&fs);
		if (rc < 0)
			return qi_error_prefix(h, "patch %s", pt->url);
		free(pt->path);
		pt->path = path;
	}
	for (size_t i = 0; i < c->r.npatches; i++) {
		struct qi_recipe_patch *pt = &c->r.patches[i];
		if (file_sha256(h, pt->path, pt->sha256) < 0)
			return qi_error_prefix(h, "patch %s", pt->spec);
	}
	return 0;
}

/* DEST (relative) under TOP: each directory above it must be in the tree
 * already, a directory and not a link; DEST itself must not exist. */
static int copy_into_tree(qi_handle *h, const struct qi_recipe_copy *cp, const char *top,
			  const char *component)
{
	char *dest = qi_path_normalise(cp->dest, QI_PATH_RELATIVE);
	if (!dest)
		return qi_error_kind(h, QI_ERR_USAGE, "copy = %s: '%s' is not a relative path in the tree",
				     cp->spec, cp->dest);
	char *full = qi_xasprintf("%s/%s", top, dest);
	struct stat st;
	int rc = 0;
	for (char *s = full + strlen(top) + 1; rc == 0 && (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (lstat(full, &st) < 0 || !S_ISDIR(st.st_mode))
			rc = qi_error(h, "copy = %s: %s is not a directory of the tree of component %s "
				      "(DEST goes into an existing directory)", cp->spec, full, component);
		*s = '/';
	}
	if (rc == 0 && lstat(full, &st) == 0)
		rc = qi_error(h, "copy = %s: component %s's tree already has %s: name another DEST "
			      "(copy = COMPONENT:MEMBER DEST), or patch the file instead", cp->spec,
			      component, dest);
	char *data = NULL;
	size_t len = 0;
	if (rc == 0)
		rc = qi_input_read(h, QI_ERR_FAILED, cp->path, "file to copy", QI_INPUT_MAX, &data, &len);
	int fd = rc == 0 ? open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
	if (rc == 0 && (fd < 0 || qi_write_all(fd, data, len) < 0))
		rc = qi_error_errno(h, "copy = %s: cannot write %s", cp->spec, full);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = qi_error_errno(h, "copy = %s: cannot write %s", cp->spec, full);
	free(data);
	free(full);
	free(dest);
	return rc;
}

/* The copies (copy = COMPONENT:MEMBER [DEST]) into the tree at TOP,
 * before the patches. */
static int apply_copies(qi_handle *h, const struct qi_profile *p, struct component *c,
			const struct qi_fetch_options *fo, const char *work, const char *top)
{
	for (size_t i = 0; i < c->r.ncopies; i++) {
		struct qi_recipe_copy *cp = &c->r.copies[i];
		if (member_file(h, p, cp->component, cp->member, "copy", cp->spec, fo, work, &cp->path) < 0 ||
		    file_sha256(h, cp->path, cp->sha256) < 0 || copy_into_tree(h, cp, top, c->r.name) < 0)
			return qi_error_prefix(h, "component %s", c->r.name);
		qi_info(h, "%s: copied %s from %s's archive as %s", c->r.name, cp->member, cp->component,
			cp->dest);
	}
	return 0;
}

struct strv {
	char **v;
	size_t n;
};

static char *own(struct strv *l, char *s)
{
	l->v = qi_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
	return s;
}

static void strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Debian's debian.tar.* of the component's Debian source package, fetched
 * with apt into WORK/debian-src and checked against its pin. */
static int debian_series_archive(qi_handle *h, const struct qi_recipe *r, const char *work, char **out)
{
	*out = NULL;
	char *dir = qi_xasprintf("%s/debian-src", work), *orig = NULL;
	int rc = qi_mkdirs_host(h, dir);
	if (rc == 0)
		rc = qi_debian_fetch_orig(h, &r->source, dir, &orig);
	free(orig);
	DIR *d = rc == 0 ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".debian.tar.")) {
			*out = qi_xasprintf("%s/%s", dir, de->d_name);
			break;
		}
	if (d)
		closedir(d);
	if (rc == 0 && !*out)
		rc = qi_error(h, "Debian's source package %s %s has no debian.tar.* to take the series from",
			      r->debian_source, r->debian_version);
	if (rc == 0) {
		const char *pin = r->series_archive.hash;
		bool is512 = strlen(pin) == 128;
		char hex256[QI_SHA256_HEX + 1], hex512[QI_SHA512_HEX + 1];
		rc = qi_digest_file(h, *out, !is512, is512, hex256, hex512, NULL);
		if (rc == 0 && strcmp(is512 ? hex512 : hex256, pin) != 0)
			rc = qi_error(h, "%s: %s is %s, but the profile pins %s (refusing its patches)", *out,
				      is512 ? "SHA-512" : "SHA-256", is512 ? hex512 : hex256, pin);
	}
	free(dir);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The quilt series file FILE of R's series archive, parsed. */
static int read_series(qi_handle *h, const struct qi_recipe *r, const char *file, struct qi_series *list)
{
	if (access(file, F_OK) < 0)
		return qi_error_errno(h, "component %s: the series archive %s has no readable %s (check 'series')",
				      r->name, r->series_archive.spec, r->series_file);
	char *text;
	size_t len;
	int rc = qi_input_read(h, QI_ERR_FAILED, file, "series file", QI_SERIES_MAX, &text, &len);
	if (rc == 0) {
		rc = qi_series_parse(h, r->series_file, text, len, list);
		free(text);
	}
	if (rc < 0)
		return qi_error_prefix(h, "component %s: series archive %s", r->name, r->series_archive.spec);
	return 0;
}

/* R's series archive, fetched (an URL, Debian's source package) or
 * found (a file), unpacked into WORK/series: *DEST, kept in OWNED. */
static int unpack_series_archive(qi_handle *h, const struct qi_recipe *r,
				 const struct qi_fetch_options *fo, const char *work,
				 struct strv *owned, char **dest)
{
	char *archive = NULL;
	int rc = 0;
	if (r->series_archive.url) {
		struct qi_fetch_spec fs;
		rc = qi_fetch_spec_parse(h, r->series_archive.url, &fs);
		if (rc == 0) {
			rc = qi_fetch(h, &fs.source, fo, &archive);
			qi_fetch_spec_free(&fs);
		}
	} else if (r->series_from_debian) {
		rc = debian_series_archive(h, r, work, &archive);
	} else {
		archive = qi_xstrdup(r->series_archive.path);
	}
	if (archive)
		own(owned, archive);
	*dest = own(owned, qi_xasprintf("%s/series", work));
	if (rc == 0)
		rc = qi_input_check(h, QI_ERR_FAILED, archive, "series archive", 0);
	if (rc == 0)
		rc = qi_extract(h, archive, *dest, NULL);
	if (rc < 0)
		return qi_error_prefix(h, "component %s: series archive %s", r->name, r->series_archive.spec);
	return 0;
}

/* The quilt series inside the component's series archive (its patches
 * are relative to the series file), then the component's own patches.
 * Strings are kept alive in OWNED. */
static int full_series(qi_handle *h, struct component *c, const struct qi_fetch_options *fo,
		       const char *work, struct qi_series_patch **out, size_t *n, struct strv *owned)
{
	struct qi_recipe *r = &c->r;
	struct qi_series list = { 0 };
	char *dest, *dir = NULL;
	if (r->series_archive.spec) {
		if (unpack_series_archive(h, r, fo, work, owned, &dest) < 0)
			return -1;
		char *file = own(owned, qi_xasprintf("%s/%s", dest, r->series_file));
		dir = own(owned, qi_xstrdup(file));
		*strrchr(dir, '/') = '\0';
		if (read_series(h, r, file, &list) < 0)
			return -1;
		qi_info(h, "%s: %zu patches from the series in %s", r->name, list.n, r->series_archive.spec);
	}
	struct qi_series_patch *s = qi_xmalloc((list.n + r->npatches + 1) * sizeof(*s));
	size_t k = 0;
	for (size_t i = 0; i < list.n; i++)
		s[k++] = (struct qi_series_patch){ .path = own(owned, qi_xasprintf("%s/%s", dir, list.e[i].name)),
						   .strip = list.e[i].strip, .max_fuzz = r->max_fuzz,
						   .label = own(owned, qi_xstrdup(list.e[i].name)) };
	for (size_t i = 0; i < r->npatches; i++)
		s[k++] = (struct qi_series_patch){ .path = r->patches[i].path, .strip = r->patches[i].strip,
						   .max_fuzz = r->patches[i].max_fuzz, .label = r->patches[i].spec,
						   .glue = r->patches[i].glue_path,
						   .base_dir = r->patches[i].base_dir };
	qi_series_free(&list);
	*out = s;
	*n = k;
	return 0;
}

/* ---- the provenance file ([profile] provenance) ---- */

static const char *install_name(const struct qi_recipe *r)
{
	return r->install_hier ? "hier" : r->install_make ? "make" : r->install_none ? "none" : "programs";
}

/* The source archive: file, URLs, pin, Debian's source package. */
static json_t *source_json(const struct qi_recipe *r)
{
	json_t *urls = json_array();
	for (size_t i = 0; r->urls[i]; i++)
		json_array_append_new(urls, json_string(r->urls[i]));
	json_t *o = json_pack("{s:s, s:o}", "file", r->file, "urls", urls);
	if (r->sha256)
		json_object_set_new(o, "sha256", json_string(r->sha256));
	if (r->sha512)
		json_object_set_new(o, "sha512", json_string(r->sha512));
	if (r->debian_source)
		json_object_set_new(o, "debian", json_sprintf("%s %s", r->debian_source, r->debian_version));
	return o;
}

/* The records of REPORT that are SP's hunks, without the patch's name
 * (the host path of a work directory: the patch is named above them). */
static json_t *hunks_of(json_t *report, const struct qi_series_patch *sp)
{
	json_t *hunks = json_array(), *hk;
	size_t i;
	json_array_foreach(report, i, hk) {
		const char *patch = json_string_value(json_object_get(hk, "patch"));
		if (!patch || (strcmp(patch, sp->path) != 0 && (!sp->label || strcmp(patch, sp->label) != 0)))
			continue;
		json_t *copy = json_deep_copy(hk);
		json_object_del(copy, "patch");
		json_array_append_new(hunks, copy);
	}
	return hunks;
}

/* C's part of the provenance file, without what its build adds. */
static json_t *provenance_base(const struct component *c)
{
	const struct qi_recipe *r = &c->r;
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "name", r->name, "version", r->version, "install",
			      install_name(r), "source", source_json(r));
	if (r->install_none) {
		json_object_set_new(o, "note", json_string("fetched and verified for the patches and copies "
							   "of other components; nothing built or installed"));
		return o;
	}
	json_t *targets = json_array();
	for (size_t i = 0; r->targets[i]; i++)
		json_array_append_new(targets, json_string(r->targets[i]));
	json_object_set_new(o, "cc", json_string(r->cc));
	json_object_set_new(o, "ld", json_string(r->ld));
	json_object_set_new(o, "make", targets);
	json_object_set_new(o, "merge", json_boolean(r->merge));
	json_object_set_new(o, "build_key", json_string(r->key));
	return o;
}

/* C's part of the provenance file once built: its copies and each patch
 * of the series (N of them; its own patches are the last) with its hunks
 * as REPORT records them. */
static int provenance_built(qi_handle *h, struct component *c, const struct qi_series_patch *series,
			    size_t n, json_t *report)
{
	const struct qi_recipe *r = &c->r;
	json_t *o = provenance_base(c), *copies = json_array(), *patches = json_array();
	json_object_set_new(o, "copies", copies);
	json_object_set_new(o, "patches", patches);
	c->provenance = o;
	for (size_t i = 0; i < r->ncopies; i++)
		json_array_append_new(copies, json_pack("{s:s, s:s, s:s, s:s}", "from", r->copies[i].component,
							"member", r->copies[i].member, "dest", r->copies[i].dest,
							"sha256", r->copies[i].sha256));
	for (size_t i = 0; i < n; i++) {
		const struct qi_series_patch *sp = &series[i];
		const struct qi_recipe_patch *pt = i + r->npatches >= n ? &r->patches[i + r->npatches - n] : NULL;
		char hex[QI_SHA256_HEX + 1];
		if (pt)
			snprintf(hex, sizeof(hex), "%s", pt->sha256);
		else if (file_sha256(h, sp->path, hex) < 0)
			return -1;
		json_t *e = json_pack("{s:s, s:s, s:i, s:i}", "patch", sp->label ? sp->label : sp->path,
				      "sha256", hex, "strip", (json_int_t)sp->strip, "fuzz", (json_int_t)sp->max_fuzz);
		if (pt && pt->glue) {
			json_object_set_new(e, "glue", json_string(pt->glue));
			json_object_set_new(e, "glue_sha256", json_string(pt->glue_hash));
		}
		if (pt && pt->base)
			json_object_set_new(e, "base", json_pack("{s:s, s:s, s:s}", "component", pt->base, "version",
								 pt->base_version, strlen(pt->base_pin) == 128 ?
								 "sha512" : "sha256", pt->base_pin));
		json_object_set_new(e, "hunks", hunks_of(report, sp));
		json_array_append_new(patches, e);
	}
	return 0;
}

/* The provenance file: the profile, its options, each component. */
static char *provenance_text(const struct qi_provision *pv)
{
	json_t *opts = json_array(), *comps = json_array(), *v;
	json_t *all = qi_profile_options_json(pv->p);
	size_t i;
	json_array_foreach(all, i, v)
		json_array_append_new(opts, json_pack("{s:O, s:O, s:O}", "name", json_object_get(v, "name"),
						      "state", json_object_get(v, "state"), "origin",
						      json_object_get(v, "origin")));
	json_decref(all);
	for (i = 0; i < pv->n; i++)
		json_array_append(comps, pv->c[i].provenance);
	json_t *o = json_pack("{s:s, s:o, s:o}", "profile", qi_profile_file(pv->p), "options", opts,
			      "components", comps);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *t = qi_xasprintf("%s\n", s);
	free(s);
	return t;
}

static const char *provenance_path(const struct qi_provision *pv)
{
	return qi_profile_get(pv->p, "profile", "provenance");
}

/* The cached build's provenance.json (beside its stage). */
static json_t *load_provenance(const struct component *c)
{
	char *file = qi_xasprintf("%s/provenance.json", c->build_dir);
	json_t *j = json_load_file(file, 0, NULL);
	free(file);
	return j;
}

/* The cached stage must still be what its manifest says: a damaged or
 * edited cache entry is never installed. */
static int stage_matches(qi_handle *h, const struct component *c)
{
	struct qi_manifest now;
	if (qi_manifest_scan(h, c->stage, c->r.install_hier, &now) < 0)
		return -1;
	int rc = 0;
	if (now.n != c->m.n)
		rc = qi_error(h, "the build cache entry %s has %zu paths, its manifest %zu", c->build_dir, now.n,
			      c->m.n);
	for (size_t i = 0; rc == 0 && i < now.n; i++) {
		const struct qi_manifest_entry *a = &now.e[i], *b = &c->m.e[i];
		if (strcmp(a->path, b->path) != 0 || a->img.type != b->img.type || a->img.mode != b->img.mode ||
		    a->img.uid != b->img.uid || a->img.gid != b->img.gid ||
		    (a->img.type == QI_FT_REG && strcmp(a->img.hash, b->img.hash) != 0) ||
		    (a->img.type == QI_FT_LNK && strcmp(a->img.target, b->img.target) != 0))
			rc = qi_error(h, "the build cache entry %s does not match its manifest at %s", c->build_dir,
				      b->path);
	}
	qi_manifest_free(&now);
	return rc;
}

/* Another provision published the same build while this one built it:
 * use theirs (its manifest describes its stage), after checking it. */
static int adopt_published(qi_handle *h, struct component *c)
{
	qi_manifest_free(&c->m);
	char *mf = qi_xasprintf("%s/manifest.json", c->build_dir);
	int rc = qi_manifest_load(h, mf, &c->m);
	free(mf);
	if (rc == 0)
		rc = stage_matches(h, c);
	if (rc == 0)
		qi_debug(h, "%s: another provision published the same build first; using it", c->id);
	return rc;
}

/* Before the first build of the run: the build user, or the warning
 * that builds are not isolated. */
static int build_isolation(qi_handle *h, struct qi_provision *pv)
{
	if (pv->build_ready)
		return 0;
	pv->isolated = qi_profile_bool(pv->p, "build", "isolate");
	const char *origin = qi_profile_origin(pv->p, "build", "user");
	if (pv->isolated && qi_sandbox_user(h, qi_profile_get(pv->p, "build", "user"), &pv->sb.uid,
					    &pv->sb.gid) < 0)
		return strcmp(origin, "default") == 0 ? -1 : qi_error_prefix(h, "%s", origin);
	if (!pv->isolated)
		qi_warn(h, "builds are not isolated (%s: isolate = no): make runs as root, with the network, and may write anywhere",
			qi_profile_origin(pv->p, "build", "isolate"));
	pv->build_ready = true;
	return 0;
}

/* Make WORK's unpacked tree SRC the build user's, WORK enterable (mode
 * 0711, root's still); *SB: WORK the only writable place. */
static int isolate_work(qi_handle *h, const struct qi_provision *pv, const char *work,
			const char *src, struct qi_sandbox *sb)
{
	*sb = pv->sb;
	sb->writable = work;
	if (chmod(work, 0711) < 0)
		return qi_error_errno(h, "cannot set the mode of %s", work);
	return qi_sandbox_chown_tree(h, src, sb->uid, sb->gid);
}

/* The records of the hunks merged against a patch's own base (outcome
 * merged, rule or glue) say which: "base": COMPONENT. */
static void mark_bases(const struct qi_recipe *r, json_t *report)
{
	size_t i;
	json_t *hk;
	json_array_foreach(report, i, hk) {
		const char *patch = json_string_value(json_object_get(hk, "patch"));
		const char *outcome = json_string_value(json_object_get(hk, "outcome"));
		if (!patch || !outcome || (strcmp(outcome, "merged") && strcmp(outcome, "rule") &&
					   strcmp(outcome, "glue")))
			continue;
		for (size_t k = 0; k < r->npatches; k++)
			if (r->patches[k].base && strcmp(r->patches[k].spec, patch) == 0)
				json_object_set_new(hk, "base", json_string(r->patches[k].base));
	}
}

/* Fetch, extract, patch, build and stage one component into the cache. */
static int build_component(qi_handle *h, struct qi_provision *pv, struct component *c,
			   const struct qi_provision_options *opt)
{
	struct qi_sandbox sb;
	struct qi_fetch_options fo = { .mirror = opt ? opt->mirror : NULL, .offline = opt && opt->offline };
	const char *cache = qi_cache_dir(h);
	char *logs = qi_xasprintf("%s/logs", cache), *builds = qi_xasprintf("%s/builds", cache);
	char *work = qi_xasprintf("%s/work/%s.%ld", cache, c->id, (long)getpid());
	char *archive = NULL, *top = NULL, *src = NULL, *stage = NULL, *tmp = NULL;
	struct qi_fetch_report report = { 0 };
	int rc = -1;
	if (qi_mkdirs_host(h, logs) < 0 || qi_mkdirs_host(h, builds) < 0)
		goto out;
	if (exists(work) && qi_remove_tree(h, work) < 0)
		goto out;
	if (qi_mkdirs_host(h, work) < 0)
		goto out;
	if (qi_fetch_report(h, &c->r.source, &fo, &archive, &report) < 0) {
		qi_error_prefix(h, "component %s", c->r.name);
		goto out;
	}
	c->origin = report.origin;
	if (fetch_patches(h, pv->p, c, &fo, work) < 0)
		goto out;
	src = qi_xasprintf("%s/src", work);
	if (qi_extract(h, archive, src, &top) < 0) {
		qi_error_prefix(h, "component %s", c->r.name);
		goto out;
	}
	if (apply_copies(h, pv->p, c, &fo, work, top) < 0)
		goto out;
	struct qi_series_patch *series = NULL;
	size_t nseries = 0;
	struct strv owned = { 0 };
	json_t *preport = NULL;
	struct qi_series_options so = { .merge = c->r.merge };
	rc = full_series(h, c, &fo, work, &series, &nseries, &owned);
	if (rc == 0)
		rc = qi_patch_series(h, top, series, nseries, &so, &preport);
	c->patch_report = preport ? preport : json_array();
	mark_bases(&c->r, c->patch_report);
	if (rc == 0)
		rc = provenance_built(h, c, series, nseries, c->patch_report);
	free(series);
	strv_free(&owned);
	if (rc < 0) {
		qi_error_prefix(h, "component %s: patch series (nothing was built)", c->r.name);
		goto out;
	}
	rc = -1;
	unlink(c->log);
	if (pv->isolated && isolate_work(h, pv, work, src, &sb) < 0)
		goto out;
	if (qi_recipe_build(h, &c->r, top, work, c->log, pv->isolated ? &sb : NULL) < 0) {
		qi_error_prefix(h, "component %s", c->r.name);
		goto out;
	}
	stage = qi_xasprintf("%s/stage", work);
	if (qi_mkdirs_host(h, stage) < 0 ||
	    qi_recipe_install(h, &c->r, top, work, stage, c->log, pv->isolated ? &sb : NULL) < 0)
		goto out;
	if (qi_manifest_scan(h, stage, c->r.install_hier, &c->m) < 0)
		goto out;
	mark_owned(c);
	/* Publish: stage and manifest into builds/ID in one rename. */
	tmp = qi_xasprintf("%s/publish", work);
	char *tstage = qi_xasprintf("%s/stage", tmp), *tman = qi_xasprintf("%s/manifest.json", tmp);
	char *tpatch = qi_xasprintf("%s/patches.json", tmp);
	char *tprov = qi_xasprintf("%s/provenance.json", tmp);
	if (mkdir(tmp, 0755) < 0 || rename(stage, tstage) < 0) {
		rc = qi_error_errno(h, "cannot move the staged tree into %s", tmp);
	} else if (qi_manifest_save(h, &c->m, tman) == 0) {
		if (json_dump_file(c->patch_report, tpatch, JSON_INDENT(1)) < 0)
			qi_warn(h, "cannot record the patch report in %s", tpatch);
		if (json_dump_file(c->provenance, tprov, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
			rc = qi_error_errno(h, "cannot record the provenance in %s", tprov);
		else if (qi_fsync_dir_path(tmp) < 0)
			rc = qi_error_errno(h, "cannot sync %s", tmp);
		else if (rename(tmp, c->build_dir) == 0)
			rc = 0;
		else if (errno == EEXIST || errno == ENOTEMPTY)
			rc = adopt_published(h, c); /* another run published this build first */
		else
			rc = qi_error_errno(h, "cannot publish the build into %s", c->build_dir);
	}
	free(tstage);
	free(tman);
	free(tpatch);
	free(tprov);
out:
	if (exists(work)) {
		/* Keep the first error: a failed cleanup only warns. */
		char saved[sizeof(h->errmsg)];
		enum qi_errkind kind = qi_errkind(h);
		memcpy(saved, h->errmsg, sizeof(saved));
		if (qi_remove_tree(h, work) < 0)
			qi_warn(h, "cannot remove the work directory %s: %s", work, qi_errmsg(h));
		memcpy(h->errmsg, saved, sizeof(saved));
		h->errkind = kind;
	}
	qi_fetch_report_free(&report);
	free(archive);
	free(top);
	free(src);
	free(stage);
	free(tmp);
	free(work);
	free(logs);
	free(builds);
	return rc;
}


/* Work directories left by a provision that was killed (NAME.PID with no
 * such process any more) are removed; those of live runs are left alone. */
static void sweep_stale_work(qi_handle *h)
{
	char *dir = qi_xasprintf("%s/work", qi_cache_dir(h));
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		char *end;
		long pid = dot ? strtol(dot + 1, &end, 10) : 0;
		if (!dot || pid <= 0 || *end || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char *path = qi_xasprintf("%s/%s", dir, de->d_name);
		qi_debug(h, "removing %s, left by process %ld", path, pid);
		if (qi_remove_tree(h, path) < 0) {
			qi_warn(h, "%s", qi_errmsg(h));
			qi_clear_error(h);
		}
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

static int prepare_services(qi_handle *h, struct qi_provision *pv);

/* An install = none component: its source fetched and verified (others'
 * patches and copies unpack it from there); nothing built. */
static int fetch_only(qi_handle *h, struct component *c, const struct qi_provision_options *opt)
{
	struct qi_fetch_options fo = { .mirror = opt ? opt->mirror : NULL, .offline = opt && opt->offline };
	struct qi_fetch_report report = { 0 };
	char *archive = NULL;
	int rc = qi_fetch_report(h, &c->r.source, &fo, &archive, &report);
	c->origin = report.origin;
	qi_fetch_report_free(&report);
	free(archive);
	if (rc < 0)
		return qi_error_prefix(h, "component %s", c->r.name);
	c->provenance = provenance_base(c);
	c->patch_report = json_array();
	qi_info(h, "%s-%s: fetched and verified (install = none: for other components' patches and copies)",
		c->r.name, c->r.version);
	return 0;
}

int qi_provision_prepare(qi_handle *h, const struct qi_profile *p,
			 const struct qi_provision_options *opt, struct qi_provision **out)
{
	*out = NULL;
	struct qi_provision *pv = calloc(1, sizeof(*pv));
	if (!pv)
		abort();
	pv->p = p;
	recall_conversion(h, pv, opt);
	if (refuse_state_settings(h, p) < 0 || resolve_accounts(h, pv) < 0 ||
	    qi_mailconf_prepare(h, p, &pv->ids, pv->conv, &pv->mail) < 0) {
		qi_provision_free(pv);
		return -1;
	}
	if (opt && opt->takeover)
		qi_mailconf_takeover(pv->mail);
	sweep_stale_work(h);
	const char *const *names = qi_profile_components(p);
	size_t n = 0;
	while (names[n])
		n++;
	if (n == 0) {
		qi_provision_free(pv);
		return qi_error_kind(h, QI_ERR_USAGE, "profile %s has no [component NAME] to provision",
				     qi_profile_file(p));
	}
	pv->c = calloc(n, sizeof(*pv->c));
	if (!pv->c)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct component *c = &pv->c[i];
		pv->n = i + 1;
		if (component_init(h, pv, names[i], c) < 0)
			goto fail;
		if (c->r.install_none) {
			if (fetch_only(h, c, opt) < 0)
				goto fail;
			continue;
		}
		if (!(opt && opt->rebuild) && component_cached(h, c)) {
			char *mf = qi_xasprintf("%s/manifest.json", c->build_dir);
			int rc = qi_manifest_load(h, mf, &c->m);
			free(mf);
			if (rc == 0 && stage_matches(h, c) < 0) {
				qi_warn(h, "%s; building it again", qi_errmsg(h));
				qi_clear_error(h);
				qi_manifest_free(&c->m);
				char *old = qi_xasprintf("%s.bad.%ld", c->build_dir, (long)getpid());
				if (rename(c->build_dir, old) == 0)
					qi_remove_tree(h, old);
				free(old);
			} else if (rc == 0) {
				c->cached = true;
				c->origin = "build cache";
				c->patch_report = load_patch_report(c);
				c->provenance = load_provenance(c);
				qi_info(h, "%s-%s: from the build cache (%s)", c->r.name, c->r.version, c->id);
				continue;
			}
			qi_warn(h, "%s; building again", qi_errmsg(h));
			qi_clear_error(h);
		}
		if (opt && opt->rebuild && exists(c->build_dir)) {
			/* Replaced at publish time; move the old one aside first. */
			char *old = qi_xasprintf("%s.old.%ld", c->build_dir, (long)getpid());
			if (rename(c->build_dir, old) == 0)
				qi_remove_tree(h, old);
			free(old);
		}
		if (build_isolation(h, pv) < 0 || build_component(h, pv, c, opt) < 0)
			goto fail;
	}
	for (size_t i = 0; i < pv->n; i++)
		if (refuse_state_manifest(h, &pv->c[i]) < 0)
			goto fail;
	if (prepare_services(h, pv) < 0)
		goto fail;
	json_object_set_new(qi_result(h), "options", qi_profile_options_json(p));
	*out = pv;
	return 0;
fail:
	qi_provision_free(pv);
	return -1;
}

/* The installed path of PROGRAM among the components, or NULL. */
static char *find_program(const struct qi_provision *pv, const char *program)
{
	for (size_t i = 0; i < pv->n; i++)
		for (size_t k = 0; k < pv->c[i].r.nprograms; k++)
			if (strcmp(pv->c[i].r.programs[k].name, program) == 0)
				return qi_xasprintf("%s/%s", pv->c[i].r.bindir, program);
	return NULL;
}

/* The host path of tcprules to compile the SMTP rules with: the staged
 * build's, byte for byte the program this run installs into ROOT (run
 * from the build cache, so that no link inside ROOT can lead it to a
 * host's program); before the build (a plan), the one installed in ROOT
 * when its host path stays inside ROOT; else NULL. */
static char *tcprules_to_run(qi_handle *h, const struct qi_provision *pv)
{
	for (size_t i = 0; i < pv->n; i++) {
		const struct component *c = &pv->c[i];
		for (size_t k = 0; k < c->r.nprograms; k++) {
			if (strcmp(c->r.programs[k].name, "tcprules") != 0)
				continue;
			char *path = qi_xasprintf("%s/tcprules", c->r.bindir);
			if (c->m.n) {
				char *run = qi_xasprintf("%s%s", c->stage, path);
				free(path);
				return run;
			}
			char *host = qi_root_path(h, path), *real = realpath(host, NULL);
			char *top = realpath(qi_root(h), NULL);
			size_t n = top ? strlen(top) : 0;
			bool inside = real && top && strncmp(real, top, n) == 0 && (real[n] == '/' || n == 1) &&
				      access(real, X_OK) == 0;
			free(path);
			free(host);
			free(top);
			if (!inside)
				free(real);
			return inside ? real : NULL;
		}
	}
	return NULL;
}

/* qmail's services: the programs they run found among the components,
 * qmail's ids, the mail domain, the rules compiled. */
static int prepare_services(qi_handle *h, struct qi_provision *pv)
{
	if (!qi_profile_bool(pv->p, "services", "qmail"))
		return 0;
	static const char *const names[] = { "tcpserver", "softlimit", "multilog", "setuidgid", "tcprules" };
	char *prog[5] = { 0 };
	int rc = 0;
	for (int i = 0; i < 5 && rc == 0; i++)
		if (!(prog[i] = find_program(pv, names[i])))
			rc = qi_error_kind(h, QI_ERR_USAGE, "%s: [services] qmail = yes, but no component installs "
					   "%s (include ucspi-daemontools)", qi_profile_origin(pv->p, "services",
					   "qmail"), names[i]);
	char *tcprules = rc == 0 ? tcprules_to_run(h, pv) : NULL;
	struct qi_qmailsvc_env env = { .ids = &pv->ids, .domain = qi_mailconf_domain(pv->mail), .tcpserver = prog[0],
				       .softlimit = prog[1], .multilog = prog[2], .setuidgid = prog[3],
				       .tcprules = tcprules, .conv = pv->conv };
	if (rc == 0)
		rc = qi_qmailsvc_prepare(h, pv->p, &env, &pv->svc);
	free(tcprules);
	for (int i = 0; i < 5; i++)
		free(prog[i]);
	return rc;
}

static int svscan_unit(qi_handle *h, const struct qi_profile *p, const struct qi_provision *pv,
		       struct qi_svscan_unit *u)
{
	char *svscan = find_program(pv, "svscan");
	if (!svscan)
		return qi_error_kind(h, QI_ERR_USAGE,
				     "%s: [services] svscan = yes, but no component installs a program named svscan",
				     qi_profile_origin(p, "services", "svscan"));
	int rc = qi_svscan_unit_render(h, p, svscan, u);
	free(svscan);
	return rc;
}

/* The record of what was provisioned, for status and for people:
 * deterministic, so an unchanged provision leaves it unchanged. */
static char *record_text(const struct qi_provision *pv)
{
	json_t *comps = json_array();
	for (size_t i = 0; i < pv->n; i++) {
		const struct component *c = &pv->c[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "name", c->r.name, "version",
				      c->r.version, "build", c->id, "build_key", c->r.key, "build_log", c->log,
				      "files", (json_int_t)c->m.n);
		if (c->r.install_none)
			json_object_set_new(o, "install", json_string("none"));
		if (c->patch_report)
			json_object_set(o, "patches", c->patch_report);
		json_array_append_new(comps, o);
	}
	json_t *o = json_pack("{s:s, s:o}", "profile", qi_profile_file(pv->p), "components", comps);
	if (pv->accounts) {
		json_t *ids = json_object();
		for (int a = 0; a < QI_ACCT_COUNT; a++)
			json_object_set_new(ids, qi_account_defs[a].name, json_integer(pv->ids.id[a]));
		json_object_set_new(o, "ids", ids);
	}
	qi_mailconf_record(pv->mail, o);
	qi_qmailsvc_record(pv->svc, o);
	record_conversion(pv, o);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *t = qi_xasprintf("%s\n", s);
	free(s);
	return t;
}

static json_t *component_json(const struct component *c, size_t changed)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:i, s:i, s:s}", "name", c->r.name, "version",
			      c->r.version, "build", c->id, "cached", c->cached, "origin",
			      c->origin ? c->origin : "", "build_log", c->log, "files", (json_int_t)c->m.n,
			      "changed", (json_int_t)changed, "install", install_name(&c->r));
	if (c->patch_report)
		json_object_set(o, "patches", c->patch_report);
	return o;
}

static void add_build_logs(qi_handle *h, const struct qi_provision *pv)
{
	json_t *logs = json_object();
	for (size_t i = 0; i < pv->n; i++)
		json_object_set_new(logs, pv->c[i].r.name, json_string(pv->c[i].log));
	json_object_set_new(qi_result(h), "build_logs", logs);
}

/* The symlinks in ROOT where C's stage has directories (the recipe's
 * bindir when C is not BUILT yet): see qi_stage_check. */
static int check_links(qi_handle *h, const struct component *c, bool built)
{
	int rc = built ? qi_stage_check(h, &c->m) : qi_stage_check_dir(h, c->r.bindir);
	return rc < 0 ? qi_error_prefix(h, "component %s", c->r.name) : 0;
}

/* The provenance file into ROOT through the journal (its directories
 * too: a rollback removes what it made). */
static int write_provenance(qi_handle *h, const struct qi_provision *pv)
{
	const char *path = provenance_path(pv);
	char *text = provenance_text(pv), *dir = qi_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	struct stat st;
	int rc = !*dir || qi_root_lstat(h, dir, &st) == 0 ? 0 : qi_mkdir_p(h, dir, 0755, (uid_t)-1, (gid_t)-1);
	if (rc == 0)
		rc = qi_write_file(h, path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1);
	json_object_set_new(qi_result(h), "provenance", json_string(path));
	free(dir);
	free(text);
	return rc < 0 ? qi_error_prefix(h, "the provenance file %s", path) : 0;
}

/* Whether ROOT's file PATH is not TEXT (reads only). */
static bool root_file_differs(qi_handle *h, const char *path, const char *text)
{
	char *old = NULL;
	size_t len;
	bool differs = qi_root_read(h, path, &old, &len) < 0 || strcmp(old, text) != 0;
	qi_clear_error(h);
	free(old);
	return differs;
}

int qi_provision_start(qi_handle *h, struct qi_provision *pv, bool start)
{
	if (!qi_profile_bool(pv->p, "services", "svscan"))
		return 0;
	struct qi_svscan_unit u;
	if (svscan_unit(h, pv->p, pv, &u) < 0)
		return -1;
	int rc = qi_svscan_unit_commit_start(h, pv->p, &u, start);
	qi_svscan_unit_free(&u);
	return rc;
}

int qi_provision_commit(qi_handle *h, struct qi_provision *pv)
{
	json_t *comps = json_array();
	json_object_set_new(qi_result(h), "components", comps);
	size_t total = 0;
	/* Every component's links checked before the first one is written. */
	for (size_t i = 0; i < pv->n; i++)
		if (check_links(h, &pv->c[i], true) < 0)
			return -1;
	if (ensure_accounts(h, pv) < 0)
		return -1;
	for (size_t i = 0; i < pv->n; i++) {
		struct component *c = &pv->c[i];
		size_t changed = 0;
		if (c->r.install_none) {
			json_array_append_new(comps, component_json(c, 0));
			continue;
		}
		if (qi_stage_commit(h, c->stage, &c->m, &changed) < 0)
			return qi_error_prefix(h, "component %s", c->r.name);
		if (check_installed(h, c) < 0)
			return -1;
		total += changed;
		json_array_append_new(comps, component_json(c, changed));
		qi_info(h, "%s-%s: %zu of %zu paths changed", c->r.name, c->r.version, changed, c->m.n);
	}
	if (qi_profile_bool(pv->p, "services", "svscan")) {
		struct qi_svscan_unit u;
		if (svscan_unit(h, pv->p, pv, &u) < 0)
			return -1;
		int rc = qi_svscan_unit_commit(h, pv->p, &u);
		json_object_set_new(qi_result(h), "service_unit", json_string(u.unit_path));
		qi_svscan_unit_free(&u);
		if (rc < 0)
			return rc;
	}
	if (qi_mailconf_commit(h, pv->mail) < 0 || qi_qmailsvc_commit(h, pv->svc) < 0)
		return -1;
	/* [mail] validrcptto: control/validrcptto.local from valid_rcpt, and
	 * the cdb from what ROOT delivers to, after the alias files */
	if (qi_profile_bool(pv->p, "mail", "validrcptto")) {
		const char *home = qi_profile_get(pv->p, "accounts", "qmail_home");
		char *pw = qi_xasprintf("%s/users/poppasswd", home);
		static const char *const none[] = { NULL };
		const char *const *local = qi_profile_list_set(pv->p, "mail", "valid_rcpt") ?
			qi_profile_get_list(pv->p, "mail", "valid_rcpt") : none;
		int vr = qi_validrcptto_update(h, home, pw, local, false);
		free(pw);
		if (vr < 0)
			return -1;
	}
	char *rec = record_text(pv);
	/* the state directory is the journal's: made by the run (planned here
	 * only in --check, when it is missing), never changed */
	struct stat st;
	int rc = qi_root_lstat(h, QI_STATE_DIR, &st) == 0 ? 0 :
		qi_mkdir_p(h, QI_STATE_DIR, QI_STATE_DIR_MODE, (uid_t)-1, (gid_t)-1);
	if (rc == 0)
		rc = qi_write_file(h, QI_PROVISION_RECORD, rec, strlen(rec), 0644, (uid_t)-1, (gid_t)-1);
	free(rec);
	if (rc < 0)
		return qi_error_prefix(h, "provision record");
	if (write_provenance(h, pv) < 0)
		return -1;
	add_build_logs(h, pv);
	json_object_set_new(qi_result(h), "paths_changed", json_integer((json_int_t)total));
	return 0;
}

int qi_provision_pending(qi_handle *h, struct qi_provision *pv, bool *pending)
{
	*pending = pv->accounts_pending;
	for (size_t i = 0; i < pv->n; i++)
		if (check_links(h, &pv->c[i], true) < 0)
			return -1;
	for (size_t i = 0; i < pv->n && !*pending; i++)
		for (size_t k = 0; k < pv->c[i].m.n && !*pending; k++)
			*pending = qi_stage_compare(h, &pv->c[i].m.e[k]) != QI_STAGE_SAME;
	if (!*pending && qi_profile_bool(pv->p, "services", "svscan")) {
		struct qi_svscan_unit u;
		if (svscan_unit(h, pv->p, pv, &u) < 0)
			return -1;
		json_t *scratch = json_array();
		bool diff = qi_diff_wanted(h);
		qi_set_diff_wanted(h, false);
		int rc = qi_svscan_unit_plan(h, &u, scratch);
		qi_set_diff_wanted(h, diff);
		*pending = json_array_size(scratch) > 0;
		json_decref(scratch);
		qi_svscan_unit_free(&u);
		if (rc < 0)
			return -1;
	}
	if (!*pending && qi_mailconf_pending(h, pv->mail, pending) < 0)
		return -1;
	if (!*pending && qi_qmailsvc_pending(h, pv->svc, pending) < 0)
		return -1;
	if (!*pending) {
		char *rec = record_text(pv), *prov = provenance_text(pv);
		*pending = root_file_differs(h, QI_PROVISION_RECORD, rec) ||
			   root_file_differs(h, provenance_path(pv), prov);
		free(rec);
		free(prov);
	}
	if (!*pending) {
		json_t *comps = json_array();
		for (size_t i = 0; i < pv->n; i++)
			json_array_append_new(comps, component_json(&pv->c[i], 0));
		json_object_set_new(qi_result(h), "components", comps);
		add_build_logs(h, pv);
		json_object_set_new(qi_result(h), "paths_changed", json_integer(0));
	}
	return 0;
}

int qi_provision_status(qi_handle *h)
{
	char *text = NULL;
	size_t len;
	struct stat st;
	if (qi_root_lstat(h, QI_PROVISION_RECORD, &st) < 0)
		return 0;
	if (qi_root_read(h, QI_PROVISION_RECORD, &text, &len) < 0)
		return qi_error_prefix(h, "provision record");
	json_error_t err;
	json_t *rec = json_loadb(text, len, 0, &err);
	free(text);
	if (!rec) {
		qi_warn(h, "%s%s is not valid JSON (%s): provision again to rewrite it", qi_root(h), QI_PROVISION_RECORD,
			err.text);
		return 0;
	}
	json_object_set_new(qi_result(h), "provisioned", rec);
	return 0;
}

/* ---- plan: read-only ---- */

static void plan_add(json_t *plan, const char *path, const char *action, const char *component,
		     const char *note)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "path", path, "action", action, "component", component);
	if (note)
		json_object_set_new(o, "note", json_string(note));
	json_array_append_new(plan, o);
}

static char *describe_root_file(qi_handle *h, const char *path)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0)
		return NULL;
	return qi_xasprintf("(%s, %lld bytes, mode %04o)\n", S_ISREG(st.st_mode) ? "file" : "not a file",
			    (long long)st.st_size, (unsigned)(st.st_mode & 07777));
}

static void plan_manifest(qi_handle *h, const struct component *c, json_t *plan)
{
	for (size_t i = 0; i < c->m.n; i++) {
		const struct qi_manifest_entry *e = &c->m.e[i];
		enum qi_stage_action a = qi_stage_compare(h, e);
		if (a == QI_STAGE_SAME)
			continue;
		plan_add(plan, e->path, qi_stage_action_name(a), c->r.name, NULL);
		if (e->img.type == QI_FT_REG) {
			char *before = a == QI_STAGE_CREATE ? NULL : describe_root_file(h, e->path);
			char *after = qi_xasprintf("(built file, %lld bytes, mode %04o, sha256 %s)\n",
						   (long long)e->img.size, (unsigned)e->img.mode, e->img.hash);
			qi_diff_add(h, e->path, before, after);
			free(before);
			free(after);
		}
	}
}

/* The accounts qi_accounts_resolve found missing or incomplete (its
 * result's "accounts"), as plan entries of their own kind. */
static void plan_accounts(qi_handle *h, json_t *plan)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(qi_result(h), "accounts"), i, a) {
		const char *act = json_string_value(json_object_get(a, "action"));
		if (!act || strcmp(act, "present") == 0)
			continue;
		const char *type = json_string_value(json_object_get(a, "type"));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "path",
				      strcmp(type, "group") == 0 ? "/etc/group" : "/etc/passwd", "action", act,
				      "component", "accounts", "account", json_string_value(json_object_get(a, "name")),
				      "type", type, "id", json_object_get(a, "id"));
		json_array_append_new(plan, o);
	}
}

/* Without a cached build the recipe still says which paths it installs. */
static void plan_recipe(qi_handle *h, const struct component *c, json_t *plan)
{
	struct stat st;
	if (c->r.install_hier) {
		bool present = qi_root_lstat(h, c->r.home, &st) == 0;
		plan_add(plan, c->r.home, present ? "replace" : "create", c->r.name,
			 "its own install program (hier.c) makes this tree: each path is listed once it is built");
		return;
	}
	char *dir = qi_xstrdup(c->r.bindir);
	for (char *s = dir + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char ch = *s;
			*s = '\0';
			if (qi_root_lstat(h, dir, &st) < 0)
				plan_add(plan, dir, "create", c->r.name, NULL);
			*s = ch;
			if (!ch)
				break;
		}
	}
	free(dir);
	for (size_t i = 0; i < c->r.nprograms; i++) {
		char *path = qi_xasprintf("%s/%s", c->r.bindir, c->r.programs[i].name);
		bool present = qi_root_lstat(h, path, &st) == 0;
		plan_add(plan, path, present ? "replace" : "create", c->r.name,
			 present ? "not built yet: whether it differs is known after the build" : NULL);
		char *before = present ? describe_root_file(h, path) : NULL;
		char *after = qi_xasprintf("(to be built, mode %04o)\n", (unsigned)c->r.programs[i].mode);
		qi_diff_add(h, path, before, after);
		free(before);
		free(after);
		free(path);
	}
}

/* The step that fetches or verifies C's source; NOTE (or NULL) added. */
static void plan_source_step(qi_handle *h, const struct component *c, json_t *steps, const char *note)
{
	char *dist = qi_distfile_path(h, NULL, c->r.file);
	json_t *o = json_pack("{s:s, s:s, s:s}", "component", c->r.name, "step",
			      exists(dist) ? "verify the cached source" : "fetch and verify the source", "file",
			      c->r.file);
	if (note)
		json_object_set_new(o, "note", json_string(note));
	json_array_append_new(steps, o);
	free(dist);
}

/* A file provision writes for COMPONENT at PATH (the record, the
 * provenance file): TEXT (freed here) when every build is cached, else
 * NULL: then only that it will be written, when anything else is. */
static void plan_file(qi_handle *h, json_t *plan, const char *path, const char *component, char *text)
{
	struct stat st;
	bool present = qi_root_lstat(h, path, &st) == 0;
	char *old = NULL;
	size_t len;
	bool same = text && present && qi_root_read(h, path, &old, &len) == 0 && strcmp(old, text) == 0;
	qi_clear_error(h);
	if (!same && (text || json_array_size(plan) > 0)) {
		plan_add(plan, path, present ? "replace" : "create", component, NULL);
		if (text)
			qi_diff_add(h, path, old, text);
	}
	free(text);
	free(old);
}

int qi_provision_plan(qi_handle *h, const struct qi_profile *p,
		      const struct qi_provision_options *opt)
{
	json_t *plan = json_array(), *steps = json_array();
	json_object_set_new(qi_result(h), "plan", plan);
	json_object_set_new(qi_result(h), "steps", steps);
	struct qi_provision pv = { .p = p };
	recall_conversion(h, &pv, opt);
	const char *const *names = qi_profile_components(p);
	size_t n = 0;
	while (names[n])
		n++;
	pv.c = calloc(n ? n : 1, sizeof(*pv.c));
	if (!pv.c)
		abort();
	int rc = refuse_state_settings(h, p);
	if (rc == 0)
		rc = resolve_accounts(h, &pv);
	if (rc == 0 && pv.accounts)
		plan_accounts(h, plan);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct component *c = &pv.c[i];
		pv.n = i + 1;
		if ((rc = component_init(h, &pv, names[i], c)) < 0)
			break;
		if (c->r.install_none) {
			c->provenance = provenance_base(c);
			plan_source_step(h, c, steps, "install = none: nothing built or installed; its files are "
					 "for other components' patches and copies");
			continue;
		}
		if (!(opt && opt->rebuild) && component_cached(h, c)) {
			char *mf = qi_xasprintf("%s/manifest.json", c->build_dir);
			rc = qi_manifest_load(h, mf, &c->m);
			free(mf);
			if (rc == 0)
				rc = refuse_state_manifest(h, c);
			if (rc < 0 || (rc = check_links(h, c, true)) < 0)
				break;
			c->patch_report = load_patch_report(c);
			c->provenance = load_provenance(c);
			json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "component", c->r.name, "step",
							       "use the build cache", "build", c->id));
			plan_manifest(h, c, plan);
		} else {
			plan_source_step(h, c, steps, NULL);
			if (c->r.series_archive.spec)
				json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:s}", "component", c->r.name,
								       "step", "take the patch series from an archive",
								       "archive", c->r.series_archive.spec, "series",
								       c->r.series_file));
			json_array_append_new(steps, json_pack("{s:s, s:s, s:i}", "component", c->r.name, "step",
							       "patch, build and stage", "patches",
							       (json_int_t)c->r.npatches));
			if ((rc = check_links(h, c, false)) < 0)
				break;
			plan_recipe(h, c, plan);
		}
	}
	if (rc == 0 && qi_profile_bool(p, "services", "svscan")) {
		struct qi_svscan_unit u;
		rc = svscan_unit(h, p, &pv, &u);
		if (rc == 0) {
			rc = qi_svscan_unit_plan(h, &u, plan);
			qi_svscan_unit_free(&u);
		}
	}
	if (rc == 0 && (rc = qi_mailconf_prepare(h, p, &pv.ids, pv.conv, &pv.mail)) == 0) {
		if (opt && opt->takeover)
			qi_mailconf_takeover(pv.mail);
		rc = qi_mailconf_plan(h, pv.mail, plan);
	}
	if (rc == 0 && (rc = prepare_services(h, &pv)) == 0)
		rc = qi_qmailsvc_plan(h, pv.svc, plan);
	if (rc == 0) {
		bool all_cached = true;
		for (size_t i = 0; i < pv.n; i++)
			all_cached &= pv.c[i].m.n > 0 || pv.c[i].r.install_none;
		plan_file(h, plan, QI_PROVISION_RECORD, "provision", all_cached ? record_text(&pv) : NULL);
		plan_file(h, plan, provenance_path(&pv), "provenance", all_cached ? provenance_text(&pv) : NULL);
	}
	json_object_set_new(qi_result(h), "options", qi_profile_options_json(p));
	if (rc == 0 && json_array_size(plan) > 0)
		qi_set_changed(h);
	components_free(&pv);
	return rc;
}
