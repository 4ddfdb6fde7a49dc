/*
 * digest.c - the library's one implementation of SHA-256 and SHA-512:
 * libcrypto's EVP interface, streaming, so that a download is hashed while
 * it arrives and a cached file is hashed again before every use; the small
 * SHA-256 helpers built on it (a buffer, a descriptor) for the images of
 * paths and the journal's store; and the comparison with a source's pins.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "core/core.h"

#define READ_CHUNK (256 * 1024)

/* A new context for MD in *SLOT; -1 when libcrypto fails (no message). */
static int md_start(void **slot, const EVP_MD *md)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, md, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	*slot = c;
	return 0;
}

static int start(qi_handle *h, void **slot, const EVP_MD *md)
{
	if (md_start(slot, md) < 0)
		return qi_error(h, "cannot start %s hashing (libcrypto)", EVP_MD_get0_name(md));
	return 0;
}

int qi_digest_init(qi_handle *h, struct qi_digest *d, bool sha256, bool sha512)
{
	memset(d, 0, sizeof(*d));
	if (!sha256 && !sha512)
		return qi_error(h, "no hash asked for (this is a bug)");
	if (sha256 && start(h, &d->sha256, EVP_sha256()) < 0)
		return -1;
	if (sha512 && start(h, &d->sha512, EVP_sha512()) < 0) {
		qi_digest_free(d);
		return -1;
	}
	return 0;
}

int qi_digest_feed(struct qi_digest *d, const void *data, size_t len)
{
	if ((d->sha256 && EVP_DigestUpdate(d->sha256, data, len) != 1) ||
	    (d->sha512 && EVP_DigestUpdate(d->sha512, data, len) != 1))
		return -1;
	d->bytes += (int64_t)len;
	return 0;
}

int qi_digest_update(qi_handle *h, struct qi_digest *d, const void *data, size_t len)
{
	if (qi_digest_feed(d, data, len) < 0)
		return qi_error(h, "hashing failed (libcrypto)");
	return 0;
}

void qi_to_hex(const unsigned char *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* Finish a copy of the context, so that the running one may go on; -1
 * when libcrypto fails (no message). */
static int finish(void *ctx, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	int ok = copy && EVP_MD_CTX_copy_ex(copy, ctx) == 1 && EVP_DigestFinal_ex(copy, md, &n) == 1;
	EVP_MD_CTX_free(copy);
	if (!ok)
		return -1;
	qi_to_hex(md, n, hex);
	return 0;
}

int qi_digest_final(qi_handle *h, struct qi_digest *d,
		    char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1])
{
	if (hex256)
		hex256[0] = '\0';
	if (hex512)
		hex512[0] = '\0';
	if ((d->sha256 && hex256 && finish(d->sha256, hex256) < 0) ||
	    (d->sha512 && hex512 && finish(d->sha512, hex512) < 0))
		return qi_error(h, "hashing failed (libcrypto)");
	return 0;
}

int qi_digest_reset(qi_handle *h, struct qi_digest *d)
{
	if ((d->sha256 && EVP_DigestInit_ex(d->sha256, EVP_sha256(), NULL) != 1) ||
	    (d->sha512 && EVP_DigestInit_ex(d->sha512, EVP_sha512(), NULL) != 1))
		return qi_error(h, "cannot restart hashing (libcrypto)");
	d->bytes = 0;
	return 0;
}

void qi_digest_free(struct qi_digest *d)
{
	EVP_MD_CTX_free(d->sha256);
	EVP_MD_CTX_free(d->sha512);
	d->sha256 = d->sha512 = NULL;
}

/* Feed everything read from FD: 0, -1 when reading failed (errno set),
 * -2 when libcrypto did. No message. */
static int feed_fd(struct qi_digest *d, int fd)
{
	char *buf = qi_xmalloc(READ_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -1;
		else if (n > 0 && qi_digest_feed(d, buf, (size_t)n) < 0)
			rc = -2;
		if (n <= 0 || rc < 0)
			break;
	}
	int e = errno;
	free(buf);
	errno = e;
	return rc;
}

int qi_digest_fd(qi_handle *h, struct qi_digest *d, int fd, const char *name)
{
	int rc = feed_fd(d, fd);
	if (rc == -1)
		return qi_error_errno(h, "cannot read %s", name);
	if (rc < 0)
		return qi_error(h, "hashing failed (libcrypto)");
	return 0;
}

int qi_digest_file(qi_handle *h, const char *path, bool sha256, bool sha512,
		   char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1],
		   int64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return qi_error_errno(h, "cannot open %s", path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct qi_digest d;
	int rc = qi_digest_init(h, &d, sha256, sha512);
	if (rc == 0)
		rc = qi_digest_fd(h, &d, fd, path);
	if (rc == 0)
		rc = qi_digest_final(h, &d, hex256, hex512);
	if (rc == 0 && size)
		*size = d.bytes;
	qi_digest_free(&d);
	close(fd);
	return rc;
}

/* A SHA-256 context without a handle: the helpers below report by errno. */
static int sha256_start(struct qi_digest *d)
{
	memset(d, 0, sizeof(*d));
	if (md_start(&d->sha256, EVP_sha256()) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void qi_sha256_buf(const void *data, size_t len, char hex[QI_SHA256_HEX + 1])
{
	struct qi_digest d;
	hex[0] = '\0';
	if (sha256_start(&d) == 0 && (qi_digest_feed(&d, data, len) < 0 || finish(d.sha256, hex) < 0))
		hex[0] = '\0';
	qi_digest_free(&d);
}

int qi_sha256_fd(int fd, char hex[QI_SHA256_HEX + 1], int64_t *size)
{
	struct qi_digest d;
	if (sha256_start(&d) < 0)
		return -1;
	int rc = feed_fd(&d, fd);
	if (rc == 0 && finish(d.sha256, hex) < 0)
		rc = -2;
	if (rc == -2)
		errno = EIO;
	if (rc == 0 && size)
		*size = d.bytes;
	int e = errno;
	qi_digest_free(&d);
	errno = e;
	return rc < 0 ? -1 : 0;
}

bool qi_is_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

int qi_digest_check(qi_handle *h, const struct qi_source *src, const char *label,
		    const char *hex256, const char *hex512, int64_t size)
{
	if (src->size >= 0 && size != src->size)
		return qi_error(h, "%s: size mismatch: expected %lld bytes, got %lld "
				"(sha256 %s); the file is not the pinned one",
				label, (long long)src->size, (long long)size,
				hex256 && *hex256 ? hex256 : "not computed");
	if (src->sha256 && strcasecmp(src->sha256, hex256 ? hex256 : "") != 0)
		return qi_error(h, "%s: SHA-256 mismatch: expected %s, got %s; "
				"the file is not the pinned one", label, src->sha256,
				hex256 && *hex256 ? hex256 : "not computed");
	if (src->sha512 && strcasecmp(src->sha512, hex512 ? hex512 : "") != 0)
		return qi_error(h, "%s: SHA-512 mismatch: expected %s, got %s; "
				"the file is not the pinned one", label, src->sha512,
				hex512 && *hex512 ? hex512 : "not computed");
	return 0;
}

int qi_verify_pins(qi_handle *h, const char *path, const struct qi_source *src)
{
	char hex256[QI_SHA256_HEX + 1], hex512[QI_SHA512_HEX + 1];
	int64_t size;
	struct stat st;
	if (!src->sha256 && !src->sha512)
		return qi_error(h, "%s: no SHA-256 or SHA-512 pinned; refusing to use unverified bytes",
				src->file ? src->file : path);
	if (lstat(path, &st) < 0)
		return qi_error_errno(h, "cannot verify %s", path);
	if (!S_ISREG(st.st_mode))
		return qi_error(h, "cannot verify %s: not a regular file", path);
	/* A wrong size is known without reading the file. */
	if (src->size >= 0 && st.st_size != src->size)
		return qi_error(h, "%s: size mismatch: expected %lld bytes, got %lld; "
				"the file is not the pinned one", path,
				(long long)src->size, (long long)st.st_size);
	if (qi_digest_file(h, path, true, src->sha512 != NULL, hex256, hex512, &size) < 0)
		return -1;
	return qi_digest_check(h, src, path, hex256, hex512, size);
}
