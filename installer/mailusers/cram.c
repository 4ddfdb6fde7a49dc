/*
 * cram.c - CRAM-MD5 (RFC 2195) for the mail password file: the stored
 * secret (the MD5 chaining states of HMAC-MD5 keyed with the password,
 * after its inner and outer pad blocks: the scheme Dovecot calls
 * CRAM-MD5), the tag that binds it to the entry's hash, and the check of
 * a client's response against it in constant time.
 *
 * The states are MD5's four 32-bit words after one 64-byte block. Only
 * libcrypto's low-level MD5 API can hand them out and take them back
 * (MD5_CTX's A..D): OpenSSL 3's EVP digests have no way to export or
 * import a context's chaining state (EVP_MD_CTX_copy works within one
 * process only) and EVP_MAC's HMAC takes only the key. That API is
 * deprecated in OpenSSL 3 but kept; this file alone asks for it, by
 * pinning the API level to 1.1.1, instead of carrying an MD5 of its own.
 */
#define OPENSSL_API_COMPAT 10101
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/md5.h>

#include "core/core.h"
#include "mailusers/pwfile.h"

#define BLOCK 64

static void put_state(unsigned char *out, const MD5_CTX *c)
{
	const MD5_LONG w[4] = { c->A, c->B, c->C, c->D };
	for (size_t i = 0; i < 4; i++)
		for (size_t b = 0; b < 4; b++)
			out[i * 4 + b] = (unsigned char)(w[i] >> (8 * b));
}

/* C continues from STATE, as if one 64-byte block had been hashed. */
static void resume(MD5_CTX *c, const unsigned char *state)
{
	MD5_LONG w[4];
	for (size_t i = 0; i < 4; i++)
		w[i] = (MD5_LONG)state[i * 4] | (MD5_LONG)state[i * 4 + 1] << 8 |
		       (MD5_LONG)state[i * 4 + 2] << 16 | (MD5_LONG)state[i * 4 + 3] << 24;
	MD5_Init(c);
	c->A = w[0];
	c->B = w[1];
	c->C = w[2];
	c->D = w[3];
	c->Nl = BLOCK * 8;
	c->Nh = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* N bytes from 2N hex digits; false on anything else. */
static bool unhex(const char *hex, unsigned char *out, size_t n)
{
	if (!qi_is_hex(hex, 2 * n))
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return true;
}

int qi_cram_secret(qi_handle *h, const char *password, char secret[QI_CRAM_SECRET_HEX + 1])
{
	unsigned char key[BLOCK] = { 0 }, pad[BLOCK], states[32];
	size_t len = strlen(password);
	MD5_CTX c;
	/* RFC 2104: a key longer than a block is replaced by its MD5. */
	if (len > BLOCK) {
		if (!MD5((const unsigned char *)password, len, key))
			return qi_error(h, "cannot compute MD5 (libcrypto) for the CRAM-MD5 secret");
	} else {
		memcpy(key, password, len);
	}
	/* Dovecot's order: the outer state (opad), then the inner (ipad). */
	static const unsigned char xors[2] = { 0x5c, 0x36 };
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < BLOCK; i++)
			pad[i] = key[i] ^ xors[k];
		if (MD5_Init(&c) != 1 || MD5_Update(&c, pad, BLOCK) != 1) {
			OPENSSL_cleanse(key, sizeof(key));
			OPENSSL_cleanse(pad, sizeof(pad));
			return qi_error(h, "cannot compute MD5 (libcrypto) for the CRAM-MD5 secret");
		}
		put_state(states + 16 * k, &c);
	}
	qi_to_hex(states, sizeof(states), secret);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(states, sizeof(states));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

bool qi_cram_verify(const char *secret, const char *challenge, size_t chlen, const char *response)
{
	unsigned char states[32], want[MD5_DIGEST_LENGTH], got[MD5_DIGEST_LENGTH];
	bool ok = false;
	MD5_CTX c;
	if (secret && unhex(secret, states, sizeof(states)) &&
	    unhex(response, got, sizeof(got))) {
		resume(&c, states + 16);
		MD5_Update(&c, challenge, chlen);
		MD5_Final(want, &c);
		resume(&c, states);
		MD5_Update(&c, want, sizeof(want));
		MD5_Final(want, &c);
		ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	}
	OPENSSL_cleanse(states, sizeof(states));
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(&c, sizeof(c));
	return ok;
}

void qi_cram_tag(const char *hash, char tag[QI_CRAM_TAG_HEX + 1])
{
	char hex[QI_SHA256_HEX + 1];
	qi_sha256_buf(hash, strlen(hash), hex);
	memcpy(tag, hex, QI_CRAM_TAG_HEX);
	tag[hex[0] ? QI_CRAM_TAG_HEX : 0] = '\0';
}
