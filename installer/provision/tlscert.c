/*
 * tlscert.c - the certificate of qmail-smtpd's STARTTLS (the tls-smtpauth
 * option, [mail] tls_cert): qmail's control/servercert.pem holds the
 * private key and then the certificate (chain) in one PEM file, as the
 * patch's own `make cert` writes it. Either generated here with libcrypto
 * (an RSA 2048 or EC P-256 key and a self-signed X.509 certificate for
 * the mail host name) or made from the administrator's certificate and
 * key files on the host, both parsed and checked to belong together.
 * mailconf.c writes the result through the journal.
 */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "provision/provision.h"

/* The last libcrypto error as text (static buffer). */
static const char *ssl_why(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (!e)
		return "libcrypto gave no reason";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static EVP_PKEY *new_key(const char *type)
{
	if (strcmp(type, "ec") == 0)
		return EVP_EC_gen("P-256");
	return EVP_RSA_gen(2048);
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* The self-signed certificate of KEY for HOST, valid DAYS days from now. */
static X509 *self_signed(EVP_PKEY *key, const char *host, int days)
{
	X509 *x = X509_new();
	unsigned char serial[8];
	BIGNUM *bn = NULL;
	int ok = x && RAND_bytes(serial, sizeof(serial)) == 1;
	if (ok) {
		serial[0] &= 0x7f;	/* positive */
		bn = BN_bin2bn(serial, sizeof(serial), NULL);
		ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, 2);
	}
	BN_free(bn);
	X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
	ok = ok && X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					      (const unsigned char *)host, -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) && X509_set_pubkey(x, key);
	char *san = qi_xasprintf("DNS:%s", host);
	ok = ok && add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
	     add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") == 0 &&
	     add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") == 0 &&
	     add_ext(x, NID_subject_alt_name, san) == 0 && add_ext(x, NID_subject_key_identifier, "hash") == 0 &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	free(san);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The PEM text of KEY, then of the certificates in CERTS (malloc'd). */
static char *pem_text(EVP_PKEY *key, STACK_OF(X509) *certs)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ok = b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	for (int i = 0; ok && i < sk_X509_num(certs); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(certs, i));
	char *out = NULL;
	if (ok) {
		char *data;
		long n = BIO_get_mem_data(b, &data);
		out = qi_xmalloc((size_t)n + 1);
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		OPENSSL_cleanse(data, (size_t)n);	/* the private key */
	}
	BIO_free(b);
	return out;
}

int qi_tlscert_generate(qi_handle *h, const char *host, const char *type, int days, char **pem)
{
	*pem = NULL;
	EVP_PKEY *key = new_key(type);
	X509 *x = key ? self_signed(key, host, days) : NULL;
	STACK_OF(X509) *certs = sk_X509_new_null();
	if (x && certs && sk_X509_push(certs, x))
		*pem = pem_text(key, certs);
	else
		X509_free(x);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	if (!*pem)
		return qi_error(h, "generating the TLS certificate for %s (%s key) failed: %s", host, type,
				ssl_why());
	ERR_clear_error();
	qi_debug(h, "generated a %s key and a self-signed certificate for %s, valid %d days", type, host, days);
	return 0;
}

/* Every certificate of the PEM file PATH, in order. */
static STACK_OF(X509) *read_certs(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *x;
	while (b && certs && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(certs, x))
			X509_free(x);
	BIO_free(b);
	ERR_clear_error();	/* the end of the file */
	if (certs && sk_X509_num(certs) == 0) {
		sk_X509_free(certs);
		certs = NULL;
	}
	return certs;
}

int qi_tlscert_from_files(qi_handle *h, const char *cert, const char *key, char **pem)
{
	*pem = NULL;
	const char *kfile = key ? key : cert;
	STACK_OF(X509) *certs = read_certs(cert);
	if (!certs)
		return qi_error(h, "%s: no PEM certificate could be read from it ([mail] tls_cert): give the "
				"server's certificate (and its chain) in PEM", cert);
	BIO *b = BIO_new_file(kfile, "r");
	EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	int rc = 0;
	if (!pk)
		rc = qi_error(h, "%s: no unencrypted PEM private key could be read from it (%s): give the "
			      "certificate's key in [mail] tls_key (qmail-smtpd cannot ask for a passphrase)",
			      kfile, ssl_why());
	else if (X509_check_private_key(sk_X509_value(certs, 0), pk) != 1)
		rc = qi_error(h, "%s: the private key does not belong to the certificate in %s: give the "
			      "matching pair in [mail] tls_cert and tls_key", kfile, cert);
	else if (!(*pem = pem_text(pk, certs)))
		rc = qi_error(h, "%s: the certificate could not be written as PEM: %s", cert, ssl_why());
	ERR_clear_error();
	EVP_PKEY_free(pk);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}
