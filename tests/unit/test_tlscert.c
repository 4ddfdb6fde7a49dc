/* Unit tests for installer/provision/tlscert.c: qmail-smtpd's
 * servercert.pem, generated (RSA and EC) or made from the host's files,
 * parsed back with libcrypto. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "provision/provision.h"
#include "unit.h"

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

/* The generated PEM: the key, then a certificate of that key, self-signed,
 * for HOST (CN and subjectAltName), valid DAYS days. */
static void check_generated(const char *type, int pkey_id)
{
	qi_handle *h = qi_new();
	char *pem = NULL;
	assert_int_equal(qi_tlscert_generate(h, "mail.example.org", type, 30, &pem), 0);
	assert_true(strstr(pem, "-----BEGIN PRIVATE KEY-----") < strstr(pem, "-----BEGIN CERTIFICATE-----"));
	EVP_PKEY *k = pem_key(pem);
	X509 *x = pem_cert(pem);
	assert_non_null(k);
	assert_non_null(x);
	assert_int_equal(EVP_PKEY_get_base_id(k), pkey_id);
	assert_int_equal(X509_check_private_key(x, k), 1);
	char cn[256];
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "mail.example.org");
	assert_int_equal(X509_check_host(x, "mail.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	int day, sec;
	assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(day, 30);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	free(pem);
	qi_free(h);
}

/* An RSA key (what the 2007 patch loaded) and an EC one (0011 loads any). */
static void test_generate_rsa(void **state)
{
	(void)state;
	check_generated("rsa", EVP_PKEY_RSA);
}

static void test_generate_ec(void **state)
{
	(void)state;
	check_generated("ec", EVP_PKEY_EC);
}

/* Two runs never give the same key. */
static void test_generate_fresh(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *a = NULL, *b = NULL;
	assert_int_equal(qi_tlscert_generate(h, "a.example.org", "ec", 1, &a), 0);
	assert_int_equal(qi_tlscert_generate(h, "a.example.org", "ec", 1, &b), 0);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	qi_free(h);
}

/* The administrator's files: certificate and key apart, or in one file;
 * the PEM made of them holds the same key and certificate. */
static void test_from_files(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *dir = ut_tmpdir("tlscert"), *pem = NULL, *out = NULL;
	assert_int_equal(qi_tlscert_generate(h, "mx.example.net", "rsa", 10, &pem), 0);
	char *cert = strstr(pem, "-----BEGIN CERTIFICATE-----");
	ut_write(dir, "cert.pem", cert, 0644);
	*cert = '\0';
	ut_write(dir, "key.pem", pem, 0600);
	*cert = '-';
	ut_write(dir, "both.pem", pem, 0600);
	char *cf = ut_path(dir, "cert.pem"), *kf = ut_path(dir, "key.pem"), *bf = ut_path(dir, "both.pem");
	assert_int_equal(qi_tlscert_from_files(h, cf, kf, &out), 0);
	X509 *x0 = pem_cert(pem), *x1 = pem_cert(out);
	assert_int_equal(X509_cmp(x0, x1), 0);
	EVP_PKEY *k0 = pem_key(pem), *k1 = pem_key(out);
	assert_int_equal(EVP_PKEY_eq(k0, k1), 1);
	free(out);
	assert_int_equal(qi_tlscert_from_files(h, bf, NULL, &out), 0);
	free(out);
	/* no key at all in the certificate file */
	assert_int_equal(qi_tlscert_from_files(h, cf, NULL, &out), -1);
	assert_non_null(strstr(qi_errmsg(h), "no unencrypted PEM private key"));
	assert_null(out);
	X509_free(x0);
	X509_free(x1);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
	free(cf);
	free(kf);
	free(bf);
	free(pem);
	ut_tmpdir_remove(dir);
	qi_free(h);
}

/* A key of another certificate, a missing file: errors naming the file. */
static void test_from_files_mismatch(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *dir = ut_tmpdir("tlscert"), *a = NULL, *b = NULL, *out = NULL;
	assert_int_equal(qi_tlscert_generate(h, "a.example.org", "ec", 10, &a), 0);
	assert_int_equal(qi_tlscert_generate(h, "b.example.org", "ec", 10, &b), 0);
	ut_write(dir, "a.pem", strstr(a, "-----BEGIN CERTIFICATE-----"), 0644);
	*strstr(b, "-----BEGIN CERTIFICATE-----") = '\0';
	ut_write(dir, "b.key", b, 0600);
	char *cf = ut_path(dir, "a.pem"), *kf = ut_path(dir, "b.key"), *none = ut_path(dir, "none.pem");
	assert_int_equal(qi_tlscert_from_files(h, cf, kf, &out), -1);
	assert_non_null(strstr(qi_errmsg(h), "does not belong to the certificate"));
	assert_int_equal(qi_tlscert_from_files(h, none, NULL, &out), -1);
	assert_non_null(strstr(qi_errmsg(h), "none.pem: no PEM certificate"));
	free(cf);
	free(kf);
	free(none);
	free(a);
	free(b);
	ut_tmpdir_remove(dir);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_rsa),
		cmocka_unit_test(test_generate_ec),
		cmocka_unit_test(test_generate_fresh),
		cmocka_unit_test(test_from_files),
		cmocka_unit_test(test_from_files_mismatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
