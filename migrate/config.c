/*
 * config.c - the old MTA's configuration read from ROOT for the
 * conversion (convert/convert.h): Postfix's through its own postconf
 * (chrooted into ROOT: the values its version and compatibility level
 * give, never assumed) and the files its maps name; Exim's Debian
 * update-exim4.conf.conf and /etc/exim4/virtual/DOMAIN; sendmail's
 * /etc/mail files; /etc/aliases and /etc/mailname for all three. Reads
 * only; each file must be a regular file of at most CONFIG_MAX bytes (one
 * that is not, or cannot be read, is an item not converted and a
 * warning). A
 * configuration the converter cannot use as a whole (an Exim without
 * Debian's update-exim4.conf.conf) is one item, not converted, and a
 * warning: the takeover goes on without it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/migrate.h"

#define CONFIG_MAX (16 << 20)
#define POSTCONF_TIMEOUT 120	/* seconds: postconf reads main.cf and its maps' names only */
#define EXIM_VIRTUAL "/etc/exim4/virtual"

struct inputs {
	struct cv_input *v;
	size_t n;
	char **skipped;		/* "PATH\tWHY" of each file that could not be read */
	size_t nskipped;
};

static void add_input(struct inputs *in, const char *name, char *text, size_t len)
{
	in->v = qi_xrealloc(in->v, (in->n + 1) * sizeof(*in->v));
	in->v[in->n++] = (struct cv_input){ .name = qi_xstrdup(name), .text = text, .len = len };
}

static bool have_input(const struct inputs *in, const char *name)
{
	for (size_t i = 0; i < in->n; i++)
		if (strcmp(in->v[i].name, name) == 0)
			return true;
	return false;
}

static void free_inputs(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free((char *)in->v[i].name);
		free((char *)in->v[i].text);
	}
	free(in->v);
	for (size_t i = 0; i < in->nskipped; i++)
		free(in->skipped[i]);
	free(in->skipped);
	*in = (struct inputs){ 0 };
}

/* PATH of ROOT as an input when it is there: a regular file of at most
 * CONFIG_MAX bytes (anything else is refused, saying what it is). */
static int read_input(qi_handle *h, struct inputs *in, const char *path)
{
	struct stat st;
	if (have_input(in, path))
		return 0;
	if (qi_root_lstat(h, path, &st) < 0) {
		qi_clear_error(h);
		return 0;
	}
	int fd = qi_root_open(h, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	char *text = NULL;
	size_t len = 0;
	char *name = qi_root_path(h, path);
	int rc = fd < 0 ? -1 : qi_input_read_fd(h, QI_ERR_FAILED, fd, "the old MTA's configuration", name,
						CONFIG_MAX, &text, &len);
	free(name);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		/* not converted, and said: the takeover goes on (the file is
		 * snapshotted with the rest, and the converter reports what
		 * it lacks) */
		in->skipped = qi_xrealloc(in->skipped, (in->nskipped + 1) * sizeof(*in->skipped));
		in->skipped[in->nskipped++] = qi_xasprintf("%s\t%s", path, qi_errmsg(h));
		qi_clear_error(h);
		return 0;
	}
	add_input(in, path, text, len);
	return 0;
}

/* postconf ARGS... chrooted into ROOT: its output as the input NAME.
 * What it says on stderr (a main.cf it cannot parse) is shown as it is.
 * Its output is bounded (CONFIG_MAX) and so is its time: a postconf that
 * hangs or prints without end is stopped and said. */
static int postconf(qi_handle *h, struct inputs *in, const char *name, const char *const *argv)
{
	struct qi_buf out = { 0 };
	struct qi_proc_spec spec = { .argv = argv, .search_path = qi_root_is_host(h),
				     .output = QI_PROC_CAPTURE, .capture = &out, .capture_max = CONFIG_MAX,
				     .timeout = POSTCONF_TIMEOUT,
				     .chroot = qi_root_is_host(h) ? NULL : qi_root(h),
				     .hint = "Postfix's own message is above: fix main.cf (or run with --from "
					     "and a working Postfix), then migrate again" };
	if (qi_proc_run(h, &spec, NULL) < 0) {
		qi_buf_free(&out);
		return -1;
	}
	add_input(in, name, out.data ? out.data : qi_xstrdup(""), out.len);
	return 0;
}

/* The source files of the maps in Postfix's VALUE (hash:/etc/postfix/
 * virtual, texthash:..., lmdb:...): the text Postfix's postmap read. */
static int postfix_maps(qi_handle *h, struct inputs *in, const char *value, size_t len)
{
	static const char *const types[] = { "hash:", "btree:", "lmdb:", "texthash:", "cdb:", "dbm:", "sdbm:",
					     "" };
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && !strchr(" \t\r\n,", value[i]))
			i++;
		for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
			size_t tl = strlen(types[t]);
			/* "" last: a bare /path, as the converter takes it too */
			if (i - start > tl && strncmp(value + start, types[t], tl) == 0 && value[start + tl] == '/') {
				char *path = qi_xasprintf("%.*s", (int)(i - start - tl), value + start + tl);
				int rc = read_input(h, in, path);
				free(path);
				if (rc < 0)
					return -1;
				break;
			}
		}
		i++;
	}
	return 0;
}

/* The value lines of NAME in postconf's output (NAME = VALUE, and the
 * continuation lines after it that start with a blank). */
static int postfix_map_files(qi_handle *h, struct inputs *in, const char *text, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *s = text, *end = text + len;
	while (s < end) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		e = e ? e : end;
		if ((size_t)(e - s) > nl && strncmp(s, name, nl) == 0 && strchr(" =", s[nl])) {
			const char *v = s + nl, *stop = e;
			while (stop < end && stop + 1 < end && (stop[1] == ' ' || stop[1] == '\t')) {
				const char *n = memchr(stop + 1, '\n', (size_t)(end - stop - 1));
				stop = n ? n : end;
			}
			return postfix_maps(h, in, v, (size_t)(stop - v));
		}
		s = e + 1;
	}
	return 0;
}

static int read_postfix(qi_handle *h, struct inputs *in)
{
	size_t n = 0;
	while (cv_postfix_names[n])
		n++;
	const char **argv = qi_xmalloc((n + 5) * sizeof(*argv));
	size_t k = 0;
	argv[k++] = "/usr/sbin/postconf";
	argv[k++] = "-c";
	argv[k++] = "/etc/postfix";
	argv[k++] = "-x";
	for (size_t i = 0; i < n; i++)
		argv[k++] = cv_postfix_names[i];
	argv[k] = NULL;
	const char *set[] = { "/usr/sbin/postconf", "-c", "/etc/postfix", "-n", NULL };
	int rc = postconf(h, in, "postconf", argv);
	free(argv);
	if (rc == 0)
		rc = postconf(h, in, "postconf -n", set);
	/* a copy: reading the maps' files grows IN */
	char *pc = rc == 0 ? qi_xasprintf("%.*s", (int)in->v[0].len, in->v[0].text) : NULL;
	static const char *const maps[] = { "virtual_alias_maps", "virtual_alias_domains", "transport_maps",
					    "alias_maps" };
	for (size_t i = 0; rc == 0 && i < sizeof(maps) / sizeof(*maps); i++)
		rc = postfix_map_files(h, in, pc, strlen(pc), maps[i]);
	free(pc);
	return rc;
}

/* Exim's /etc/exim4/virtual/DOMAIN files, when that directory is there. */
static int read_exim_virtual(qi_handle *h, struct inputs *in)
{
	struct stat st;
	if (qi_root_lstat(h, EXIM_VIRTUAL, &st) < 0 || !S_ISDIR(st.st_mode)) {
		qi_clear_error(h);
		return 0;
	}
	int fd = qi_root_open(h, EXIM_VIRTUAL, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		qi_clear_error(h);
		in->skipped = qi_xrealloc(in->skipped, (in->nskipped + 1) * sizeof(*in->skipped));
		in->skipped[in->nskipped++] = qi_xasprintf("%s\tit cannot be opened", EXIM_VIRTUAL);
		return 0;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot read %s%s", qi_root(h), EXIM_VIRTUAL);
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = qi_xasprintf("%s/%s", EXIM_VIRTUAL, de->d_name);
		rc = read_input(h, in, path);
		free(path);
	}
	closedir(d);
	return rc;
}

int mig_config_convert(qi_handle *h, const struct mta_def *def, struct cv_result *res)
{
	static const char *const exim[] = { "/etc/exim4/update-exim4.conf.conf", NULL };
	static const char *const sendmail[] = { "/etc/mail/local-host-names", "/etc/mail/relay-domains",
						"/etc/mail/access", "/etc/mail/virtusertable",
						"/etc/mail/mailertable", "/etc/mail/sendmail.mc", NULL };
	static const char *const all[] = { "/etc/aliases", "/etc/mailname", NULL };
	struct inputs in = { 0 };
	*res = (struct cv_result){ 0 };
	int rc = 0;
	if (def->kind == MTA_POSTFIX)
		rc = read_postfix(h, &in);
	const char *const *files = def->kind == MTA_EXIM ? exim : def->kind == MTA_SENDMAIL ? sendmail : NULL;
	for (size_t i = 0; rc == 0 && files && files[i]; i++)
		rc = read_input(h, &in, files[i]);
	if (rc == 0 && def->kind == MTA_EXIM)
		rc = read_exim_virtual(h, &in);
	for (size_t i = 0; rc == 0 && all[i]; i++)
		rc = read_input(h, &in, all[i]);
	if (rc == 0) {
		const struct cv_inputs cin = { .v = in.v, .n = in.n };
		const char *err = NULL;
		int crc = def->kind == MTA_POSTFIX ? cv_postfix(&cin, res, &err) :
			  def->kind == MTA_EXIM ? cv_exim(&cin, res, &err) : cv_sendmail(&cin, res, &err);
		if (crc < 0) {
			/* the takeover goes on: the configuration is snapshotted
			 * and comes back on rollback; what could not be read is
			 * said, as an item and a warning */
			cv_result_free(res);
			char *why = qi_xasprintf("%s; convert it by hand", err ? err : "unusable");
			cv_item_add(res, "configuration", qi_root(h), NULL, CV_NOT_CONVERTED, why);
			qi_warn(h, "config: %s's configuration in %s is not converted: %s", def->title, qi_root(h),
				why);
			free(why);
		}
		for (size_t i = 0; i < in.nskipped; i++) {
			char *tab = strchr(in.skipped[i], '\t');
			*tab = '\0';
			char *why = qi_xasprintf("it could not be read (%s): convert it by hand", tab + 1);
			cv_item_add(res, in.skipped[i], "", NULL, CV_NOT_CONVERTED, why);
			qi_warn(h, "config: %s%s is not converted: %s", qi_root_is_host(h) ? "" : qi_root(h),
				in.skipped[i], why);
			free(why);
		}
	}
	free_inputs(&in);
	return rc;
}

/* S as a JSON string: bytes that are not UTF-8 (a Latin-1 alias) as
 * \xNN, never a value jansson refuses (and so drops). */
static json_t *text(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	struct qi_buf b = { 0 };
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x80)
			qi_buf_add(&b, p, 1);
		else
			qi_buf_addf(&b, "\\x%02x", *p);
	j = json_string(b.data ? b.data : "");
	qi_buf_free(&b);
	return j;
}

json_t *mig_config_json(const struct cv_result *res)
{
	json_t *items = json_array(), *files = json_array();
	json_t *counts = json_pack("{s:i, s:i, s:i}", "converted", 0, "warned", 0, "not_converted", 0);
	static const char *const keys[] = { "converted", "warned", "not_converted" };
	for (size_t i = 0; i < res->nitems; i++) {
		const struct cv_item *it = &res->items[i];
		json_t *o = json_pack("{s:o, s:o, s:o, s:s, s:o}", "setting", text(it->setting), "before",
				      text(it->before), "after", text(it->after), "outcome",
				      cv_outcome_name(it->outcome), "why", it->why ? text(it->why) : json_null());
		json_array_append_new(items, o);
		const char *k = keys[it->outcome];
		json_object_set_new(counts, k, json_integer(json_integer_value(json_object_get(counts, k)) + 1));
	}
	for (size_t i = 0; i < res->nfiles; i++)
		json_array_append_new(files, json_pack("{s:o, s:o}", "name", text(res->files[i].name), "text",
						       text(res->files[i].text)));
	json_t *o = json_pack("{s:o, s:o, s:o}", "counts", counts, "items", items, "files", files);
	json_object_set_new(o, "me", res->me ? text(res->me) : json_null());
	json_object_set_new(o, "domain", res->domain ? text(res->domain) : json_null());
	return o;
}
