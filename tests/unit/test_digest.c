/* Unit tests for digest.c: SHA-256/512 streaming, files, the SHA-256
 * helpers, pins. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/sources.h"

#define ABC256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC512 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define EMPTY256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *write_temp(const char *data, size_t len)
{
	char *path = strdup("/tmp/qinstall-test-digest.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(qi_write_all(fd, data, len), 0);
	close(fd);
	return path;
}

/* The FIPS 180 test vectors come out of both hashes. */
static void test_known_vectors(void **state)
{
	qi_handle *h = qi_new();
	struct qi_digest d;
	char h256[65], h512[129];
	assert_int_equal(qi_digest_init(h, &d, true, true), 0);
	assert_int_equal(qi_digest_update(h, &d, "abc", 3), 0);
	assert_int_equal(qi_digest_final(h, &d, h256, h512), 0);
	assert_string_equal(h256, ABC256);
	assert_string_equal(h512, ABC512);
	assert_int_equal(d.bytes, 3);
	qi_digest_free(&d);
	qi_free(h);
}

/* Feeding in pieces gives the same hash as in one piece; finishing does
 * not stop the running hash; reset starts from zero bytes. */
static void test_streaming_and_reset(void **state)
{
	qi_handle *h = qi_new();
	struct qi_digest d;
	char h256[65], h512[129];
	assert_int_equal(qi_digest_init(h, &d, true, false), 0);
	qi_digest_update(h, &d, "a", 1);
	assert_int_equal(qi_digest_final(h, &d, h256, h512), 0);
	assert_string_equal(h512, "");	/* not asked for */
	qi_digest_update(h, &d, "b", 1);
	qi_digest_update(h, &d, "c", 1);
	assert_int_equal(qi_digest_final(h, &d, h256, NULL), 0);
	assert_string_equal(h256, ABC256);
	assert_int_equal(qi_digest_reset(h, &d), 0);
	assert_int_equal(d.bytes, 0);
	assert_int_equal(qi_digest_final(h, &d, h256, NULL), 0);
	assert_string_equal(h256, EMPTY256);
	qi_digest_free(&d);
	/* Asking for no hash at all is refused. */
	assert_int_equal(qi_digest_init(h, &d, false, false), -1);
	qi_free(h);
}

/* A file larger than the read chunk hashes like the same bytes in memory. */
static void test_file(void **state)
{
	qi_handle *h = qi_new();
	size_t n = 1000 * 1000 + 7;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 31 + 7);
	char *path = write_temp(data, n);
	struct qi_digest d;
	char want[65], got[65], got512[129];
	int64_t size = 0;
	qi_digest_init(h, &d, true, false);
	qi_digest_update(h, &d, data, n);
	qi_digest_final(h, &d, want, NULL);
	qi_digest_free(&d);
	assert_int_equal(qi_digest_file(h, path, true, true, got, got512, &size), 0);
	assert_string_equal(got, want);
	assert_int_equal(size, (int64_t)n);
	assert_int_equal(strlen(got512), 128);
	unlink(path);
	/* A missing file is an error naming it. */
	assert_int_equal(qi_digest_file(h, path, true, false, got, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), path));
	free(path);
	free(data);
	qi_free(h);
}

/* The handle-less SHA-256 helpers are the same hash: of a buffer, and of
 * what a descriptor has from its offset (with the bytes read). */
static void test_sha256_helpers(void **state)
{
	char hex[65];
	qi_sha256_buf("abc", 3, hex);
	assert_string_equal(hex, ABC256);
	qi_sha256_buf("", 0, hex);
	assert_string_equal(hex, EMPTY256);
	char *path = write_temp("xxabc", 5);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
	int64_t size = 0;
	assert_int_equal(qi_sha256_fd(fd, hex, &size), 0);
	assert_string_equal(hex, ABC256);
	assert_int_equal(size, 3);
	close(fd);
	assert_int_equal(qi_sha256_fd(fd, hex, NULL), -1);	/* closed: errno, no crash */
	assert_int_equal(errno, EBADF);
	unlink(path);
	free(path);
}

/* qi_verify_pins accepts the pinned bytes (upper-case pins too) and
 * refuses others with the expected and the actual hash in the message. */
static void test_verify_file(void **state)
{
	qi_handle *h = qi_new();
	char *path = write_temp("abc", 3);
	struct qi_source src = { .file = "abc", .sha256 = ABC256, .size = 3 };
	assert_int_equal(qi_verify_pins(h, path, &src), 0);
	src.sha512 = ABC512;
	assert_int_equal(qi_verify_pins(h, path, &src), 0);
	char upper[65];
	for (int i = 0; i < 65; i++)
		upper[i] = (char)(ABC256[i] >= 'a' && ABC256[i] <= 'f' ? ABC256[i] - 32 : ABC256[i]);
	src.sha256 = upper;
	assert_int_equal(qi_verify_pins(h, path, &src), 0);

	src.sha256 = EMPTY256;
	assert_int_equal(qi_verify_pins(h, path, &src), -1);
	assert_non_null(strstr(qi_errmsg(h), "SHA-256 mismatch"));
	assert_non_null(strstr(qi_errmsg(h), "expected " EMPTY256));
	assert_non_null(strstr(qi_errmsg(h), "got " ABC256));

	src.sha256 = NULL;
	src.sha512 = ABC256 ABC256;	/* wrong */
	assert_int_equal(qi_verify_pins(h, path, &src), -1);
	assert_non_null(strstr(qi_errmsg(h), "SHA-512 mismatch"));
	assert_non_null(strstr(qi_errmsg(h), "got " ABC512));

	src.sha512 = ABC512;
	src.size = 4;
	assert_int_equal(qi_verify_pins(h, path, &src), -1);
	assert_non_null(strstr(qi_errmsg(h), "size mismatch: expected 4 bytes, got 3"));

	src.size = -1;	/* size not pinned: only the hash counts */
	assert_int_equal(qi_verify_pins(h, path, &src), 0);

	src.sha512 = NULL;	/* no hash at all: never "verified" */
	assert_int_equal(qi_verify_pins(h, path, &src), -1);
	assert_non_null(strstr(qi_errmsg(h), "no SHA-256 or SHA-512 pinned"));
	unlink(path);
	free(path);
	qi_free(h);
}

/* A symlink is not verified (nor followed): the cache holds plain files. */
static void test_verify_refuses_symlink(void **state)
{
	qi_handle *h = qi_new();
	char *path = write_temp("abc", 3);
	char *link = qi_xasprintf("%s.link", path);
	assert_int_equal(symlink(path, link), 0);
	struct qi_source src = { .file = "abc", .sha256 = ABC256, .size = 3 };
	assert_int_equal(qi_verify_pins(h, link, &src), -1);
	assert_non_null(strstr(qi_errmsg(h), "not a regular file"));
	unlink(link);
	unlink(path);
	free(link);
	free(path);
	qi_free(h);
}

/* qi_is_hex wants exactly LEN hex digits. */
static void test_is_hex(void **state)
{
	assert_true(qi_is_hex(ABC256, 64));
	assert_false(qi_is_hex(ABC256, 63));
	assert_false(qi_is_hex("zz", 2));
	assert_false(qi_is_hex(NULL, 0));
	assert_true(qi_is_hex("0aF9", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_streaming_and_reset),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_sha256_helpers),
		cmocka_unit_test(test_verify_file),
		cmocka_unit_test(test_verify_refuses_symlink),
		cmocka_unit_test(test_is_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
