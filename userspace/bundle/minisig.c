// SPDX-License-Identifier: MIT
#include "bundle/minisig.h"
#include "bundle/util.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define COMMENT_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define KDF_SCRYPT     "Sc"
#define KDF_NONE       "\0\0"
#define CHK_BLAKE2B    "B2"
#define KEY_FILE_MAX   4096

/* The binary layouts minisign writes, byte for byte. */
struct pubkey_bin {
	unsigned char alg[2];
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
};

struct keynum_sk {
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char chk[crypto_generichash_BYTES];
};

struct seckey_bin {
	unsigned char alg[2];
	unsigned char kdf[2];
	unsigned char chk_alg[2];
	unsigned char salt[crypto_pwhash_scryptsalsa208sha256_SALTBYTES];
	unsigned char opslimit[8];
	unsigned char memlimit[8];
	struct keynum_sk keynum;
};

struct sig_bin {
	unsigned char alg[2];
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char sig[crypto_sign_BYTES];
};

_Static_assert(sizeof(struct pubkey_bin) == 42, "minisign public key layout");
_Static_assert(sizeof(struct seckey_bin) == 158, "minisign secret key layout");
_Static_assert(sizeof(struct sig_bin) == 74, "minisign signature layout");

/* ------------------------------------------------------------------ small helpers */

static uint64_t le64_load(const unsigned char b[8])
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void le64_store(unsigned char b[8], uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		b[i] = (unsigned char)v;
}

void minisig_key_id_hex(const unsigned char id[MINISIG_KEYID_BYTES], char out[MINISIG_KEYID_HEX])
{
	snprintf(out, MINISIG_KEYID_HEX, "%016" PRIX64, le64_load(id));
}

int minisig_key_id_parse(const char *hex, unsigned char id[MINISIG_KEYID_BYTES])
{
	uint64_t v = 0;

	if (strlen(hex) != 16)
		return -1;
	for (int i = 0; i < 16; i++) {
		int c = hex[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	le64_store(id, v);
	return 0;
}

/* One line of text: its start and length without "\n" or "\r\n"; advances *p. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return -1;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*line = *p;
	*len = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	return 0;
}

/* Exactly want bytes of standard, padded base64 (minisign's variant). */
static int b64_exact(const char *s, size_t slen, void *out, size_t want)
{
	const char *end;
	size_t n;

	if (sodium_base642bin(out, want, s, slen, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	return n == want && end == s + slen ? 0 : -1;
}

/* Finds the base64 line of a key file: the line after "untrusted comment: ...", or the text
 * itself when it is a bare base64 line. */
static int key_line(const char *text, size_t len, const char **line, size_t *llen)
{
	const char *p = text, *end = text + len;

	if (next_line(&p, end, line, llen))
		return -1;
	if (*llen >= strlen(COMMENT_PREFIX) && !memcmp(*line, COMMENT_PREFIX, strlen(COMMENT_PREFIX)))
		return next_line(&p, end, line, llen);
	return 0;
}

/* ------------------------------------------------------------------ public keys */

void minisig_keygen(struct minisig_pubkey *pk, struct minisig_seckey *sk)
{
	if (sodium_init() < 0)
		abort();   /* no usable random source: nothing safe to return */
	crypto_sign_keypair(pk->pk, sk->sk);
	randombytes_buf(pk->key_id, sizeof(pk->key_id));
	memcpy(sk->key_id, pk->key_id, sizeof(pk->key_id));
}

void minisig_seckey_pubkey(const struct minisig_seckey *sk, struct minisig_pubkey *pk)
{
	memcpy(pk->key_id, sk->key_id, sizeof(pk->key_id));
	crypto_sign_ed25519_sk_to_pk(pk->pk, sk->sk);
}

int minisig_pubkey_parse(const char *text, size_t len, struct minisig_pubkey *pk, char *err,
			 size_t errlen)
{
	struct pubkey_bin bin;
	const char *line;
	size_t llen;

	if (key_line(text, len, &line, &llen) || b64_exact(line, llen, &bin, sizeof(bin)))
		return err_set(err, errlen, "not a minisign public key");
	if (memcmp(bin.alg, "Ed", 2))
		return err_set(err, errlen, "unsupported public key algorithm");
	memcpy(pk->key_id, bin.key_id, sizeof(pk->key_id));
	memcpy(pk->pk, bin.pk, sizeof(pk->pk));
	return 0;
}

int minisig_pubkey_load(const char *path, struct minisig_pubkey *pk, char *err, size_t errlen)
{
	size_t len;
	char *text = (char *)util_read_file(path, KEY_FILE_MAX, &len, err, errlen);
	char why[128];
	int rc;

	if (!text)
		return -1;
	rc = minisig_pubkey_parse(text, len, pk, why, sizeof(why));
	free(text);
	if (rc)
		return err_set(err, errlen, "%s: %s", path, why);
	return 0;
}

void minisig_pubkey_base64(const struct minisig_pubkey *pk, char out[MINISIG_PUBKEY_B64])
{
	struct pubkey_bin bin;

	memcpy(bin.alg, "Ed", 2);
	memcpy(bin.key_id, pk->key_id, sizeof(bin.key_id));
	memcpy(bin.pk, pk->pk, sizeof(bin.pk));
	sodium_bin2base64(out, MINISIG_PUBKEY_B64, (const unsigned char *)&bin, sizeof(bin),
			  sodium_base64_VARIANT_ORIGINAL);
}

char *minisig_pubkey_format(const struct minisig_pubkey *pk)
{
	char id[MINISIG_KEYID_HEX], b64[MINISIG_PUBKEY_B64], *out;

	minisig_key_id_hex(pk->key_id, id);
	minisig_pubkey_base64(pk, b64);
	if (asprintf(&out, COMMENT_PREFIX "minisign public key %s\n%s\n", id, b64) < 0)
		return NULL;
	return out;
}

/* ------------------------------------------------------------------ secret keys */

static void seckey_chk(const struct seckey_bin *b, unsigned char chk[crypto_generichash_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	crypto_generichash_update(&st, b->alg, sizeof(b->alg));
	crypto_generichash_update(&st, b->keynum.key_id, sizeof(b->keynum.key_id));
	crypto_generichash_update(&st, b->keynum.sk, sizeof(b->keynum.sk));
	crypto_generichash_final(&st, chk, crypto_generichash_BYTES);
}

/* The key stream minisign XORs over the key id, secret key and checksum. The high-level
 * scrypt call is minisign's own: it turns the stored limits into N, r, p and runs _ll. */
static int seckey_xor(struct seckey_bin *b, const char *password, char *err, size_t errlen)
{
	unsigned char stream[sizeof(struct keynum_sk)];
	unsigned char *k = (unsigned char *)&b->keynum;

	if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof(stream), password, strlen(password),
					       b->salt, le64_load(b->opslimit),
					       (size_t)le64_load(b->memlimit)))
		return err_set(err, errlen, "scrypt failed (limits too high for this machine?)");
	for (size_t i = 0; i < sizeof(stream); i++)
		k[i] ^= stream[i];
	sodium_memzero(stream, sizeof(stream));
	return 0;
}

static int seckey_decode(const char *text, size_t len, struct seckey_bin *b)
{
	const char *line;
	size_t llen;

	if (key_line(text, len, &line, &llen) || b64_exact(line, llen, b, sizeof(*b)))
		return -1;
	if (memcmp(b->alg, "Ed", 2) || memcmp(b->chk_alg, CHK_BLAKE2B, 2))
		return -1;
	if (memcmp(b->kdf, KDF_SCRYPT, 2) && memcmp(b->kdf, KDF_NONE, 2))
		return -1;
	return 0;
}

int minisig_seckey_encrypted(const char *text, size_t len)
{
	struct seckey_bin b;
	int rc = -1;

	if (!seckey_decode(text, len, &b))
		rc = !memcmp(b.kdf, KDF_SCRYPT, 2);
	sodium_memzero(&b, sizeof(b));
	return rc;
}

/* The public half stored in the secret key must be the one its seed makes. */
static int seckey_consistent(const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
	int ok;

	crypto_sign_seed_keypair(pk, sk2, sk);
	ok = !sodium_memcmp(sk2, sk, sizeof(sk2));
	sodium_memzero(sk2, sizeof(sk2));
	return ok;
}

static int seckey_open(struct seckey_bin *b, const char *password, char *err, size_t errlen)
{
	unsigned char chk[crypto_generichash_BYTES];

	if (!memcmp(b->kdf, KDF_NONE, 2))
		return 0;   /* minisign -W leaves the checksum zero: the seed check below serves */
	if (!password)
		return err_set(err, errlen, "the secret key is encrypted and no password was given");
	if (seckey_xor(b, password, err, errlen))
		return -1;
	seckey_chk(b, chk);
	if (sodium_memcmp(chk, b->keynum.chk, sizeof(chk)))
		return err_set(err, errlen, "wrong password for that secret key");
	return 0;
}

int minisig_seckey_parse(const char *text, size_t len, const char *password,
			 struct minisig_seckey *sk, char *err, size_t errlen)
{
	struct seckey_bin b;
	int rc = -1;

	if (seckey_decode(text, len, &b))
		err_set(err, errlen, "not a minisign secret key");
	else if (!seckey_open(&b, password, err, errlen)) {
		if (!seckey_consistent(b.keynum.sk)) {
			err_set(err, errlen, "damaged secret key (its public half does not match)");
		} else {
			memcpy(sk->key_id, b.keynum.key_id, sizeof(sk->key_id));
			memcpy(sk->sk, b.keynum.sk, sizeof(sk->sk));
			rc = 0;
		}
	}
	sodium_memzero(&b, sizeof(b));
	return rc;
}

int minisig_password(const char *prompt, char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = getenv("EDGETRACK_KEY_PASSWORD");
	struct termios old = { 0 }, quiet;
	FILE *tty;
	bool echo_off, ok;

	if (env) {
		if (strlen(env) >= cap)
			return err_set(err, errlen, "EDGETRACK_KEY_PASSWORD is too long");
		memcpy(out, env, strlen(env) + 1);
		return 0;
	}
	tty = fopen("/dev/tty", "r+");
	if (!tty)
		return err_set(err, errlen, "the key is encrypted: set EDGETRACK_KEY_PASSWORD or "
				  "run on a terminal");
	fputs(prompt, tty);
	fflush(tty);
	echo_off = !tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	ok = fgets(out, (int)cap, tty) != NULL;
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	if (!ok)
		return err_set(err, errlen, "no password read");
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int minisig_seckey_load(const char *path, struct minisig_seckey *sk, char *err, size_t errlen)
{
	char password[MINISIG_PASSWORD_MAX], why[256], *text;
	size_t len;
	int enc, rc = -1;

	text = (char *)util_read_file(path, KEY_FILE_MAX, &len, err, errlen);
	if (!text)
		return -1;
	enc = minisig_seckey_encrypted(text, len);
	if (enc < 0)
		err_set(err, errlen, "%s: not a minisign secret key", path);
	else if (enc && minisig_password("Password: ", password, sizeof(password), err, errlen))
		;
	else if (minisig_seckey_parse(text, len, enc ? password : NULL, sk, why, sizeof(why)))
		err_set(err, errlen, "%s: %s", path, why);
	else
		rc = 0;
	sodium_memzero(password, sizeof(password));
	sodium_memzero(text, len);
	free(text);
	return rc;
}

char *minisig_seckey_format(const struct minisig_seckey *sk, const char *password,
			    unsigned long long opslimit, size_t memlimit, char *err, size_t errlen)
{
	char b64[sodium_base64_ENCODED_LEN(sizeof(struct seckey_bin),
					    sodium_base64_VARIANT_ORIGINAL)];
	struct seckey_bin b = { .alg = "Ed", .chk_alg = CHK_BLAKE2B };
	char *out = NULL;

	memcpy(b.kdf, password ? KDF_SCRYPT : KDF_NONE, 2);
	memcpy(b.keynum.key_id, sk->key_id, sizeof(sk->key_id));
	memcpy(b.keynum.sk, sk->sk, sizeof(sk->sk));
	seckey_chk(&b, b.keynum.chk);
	if (password) {
		randombytes_buf(b.salt, sizeof(b.salt));
		le64_store(b.opslimit, opslimit);
		le64_store(b.memlimit, memlimit);
		if (seckey_xor(&b, password, err, errlen))
			goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)&b, sizeof(b),
			  sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&out, COMMENT_PREFIX "minisign %ssecret key\n%s\n",
		     password ? "encrypted " : "", b64) < 0) {
		out = NULL;
		err_set(err, errlen, "out of memory");
	}
out:
	sodium_memzero(&b, sizeof(b));
	sodium_memzero(b64, sizeof(b64));
	return out;
}

/* ------------------------------------------------------------------ signatures */

/* What the first signature covers: the message, or its BLAKE2b-512 for "ED". */
static const unsigned char *signed_bytes(enum minisig_alg alg, const void *msg, size_t len,
					 unsigned char hash[crypto_generichash_BYTES_MAX],
					 size_t *out_len)
{
	if (alg == MINISIG_PURE) {
		*out_len = len;
		return msg;
	}
	crypto_generichash(hash, crypto_generichash_BYTES_MAX, msg, len, NULL, 0);
	*out_len = crypto_generichash_BYTES_MAX;
	return hash;
}

/* sig || trusted comment: what the global signature covers. */
static unsigned char *global_message(const unsigned char sig[crypto_sign_BYTES],
				     const char *comment, size_t *len)
{
	size_t clen = strlen(comment);
	unsigned char *m = malloc(crypto_sign_BYTES + clen);

	if (!m)
		return NULL;
	memcpy(m, sig, crypto_sign_BYTES);
	memcpy(m + crypto_sign_BYTES, comment, clen);
	*len = crypto_sign_BYTES + clen;
	return m;
}

char *minisig_sign(const struct minisig_seckey *sk, const void *msg, size_t len,
		   enum minisig_alg alg, const char *file_name, const char *trusted_comment,
		   char *err, size_t errlen)
{
	unsigned char hash[crypto_generichash_BYTES_MAX], global[crypto_sign_BYTES], *gm;
	char sig64[128], glob64[128], deflt[512], *out;
	struct sig_bin s;
	const unsigned char *m;
	size_t mlen, gmlen;

	if (!trusted_comment) {
		snprintf(deflt, sizeof(deflt), "timestamp:%lld\tfile:%s%s", (long long)time(NULL),
			 file_name ? file_name : "-", alg == MINISIG_PREHASHED ? "\thashed" : "");
		trusted_comment = deflt;
	}
	if (strlen(trusted_comment) >= MINISIG_TRUSTED_MAX - strlen(TRUSTED_PREFIX) ||
	    strpbrk(trusted_comment, "\r\n")) {
		err_set(err, errlen, "trusted comment too long or not one line");
		return NULL;
	}
	memcpy(s.alg, alg == MINISIG_PURE ? "Ed" : "ED", 2);
	memcpy(s.key_id, sk->key_id, sizeof(s.key_id));
	m = signed_bytes(alg, msg, len, hash, &mlen);
	crypto_sign_detached(s.sig, NULL, m, mlen, sk->sk);
	gm = global_message(s.sig, trusted_comment, &gmlen);
	if (!gm) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	crypto_sign_detached(global, NULL, gm, gmlen, sk->sk);
	free(gm);
	sodium_bin2base64(sig64, sizeof(sig64), (const unsigned char *)&s, sizeof(s),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(glob64, sizeof(glob64), global, sizeof(global),
			  sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&out, COMMENT_PREFIX "signature from minisign secret key\n%s\n"
		     TRUSTED_PREFIX "%s\n%s\n", sig64, trusted_comment, glob64) < 0) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	return out;
}

int minisig_parse(const char *text, size_t len, struct minisig *s, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *l[4];
	size_t ll[4], plen = strlen(TRUSTED_PREFIX);
	struct sig_bin b;

	for (int i = 0; i < 4; i++)
		if (next_line(&p, end, &l[i], &ll[i]))
			return err_set(err, errlen, "signature truncated (%d of 4 lines)", i);
	if (p != end)
		return err_set(err, errlen, "signature has trailing data");
	if (ll[0] < strlen(COMMENT_PREFIX) || memcmp(l[0], COMMENT_PREFIX, strlen(COMMENT_PREFIX)))
		return err_set(err, errlen, "signature does not start with \"" COMMENT_PREFIX "\"");
	if (b64_exact(l[1], ll[1], &b, sizeof(b)))
		return err_set(err, errlen, "signature line is not a minisign signature");
	if (!memcmp(b.alg, "Ed", 2))
		s->alg = MINISIG_PURE;
	else if (!memcmp(b.alg, "ED", 2))
		s->alg = MINISIG_PREHASHED;
	else
		return err_set(err, errlen, "unsupported signature algorithm");
	if (ll[2] < plen || memcmp(l[2], TRUSTED_PREFIX, plen) || ll[2] - plen >= sizeof(s->trusted_comment))
		return err_set(err, errlen, "bad trusted comment line");
	if (memchr(l[2] + plen, '\0', ll[2] - plen))
		return err_set(err, errlen, "trusted comment holds a NUL byte");
	if (b64_exact(l[3], ll[3], s->global_sig, sizeof(s->global_sig)))
		return err_set(err, errlen, "global signature line is not base64 of 64 bytes");
	memcpy(s->trusted_comment, l[2] + plen, ll[2] - plen);
	s->trusted_comment[ll[2] - plen] = '\0';
	memcpy(s->key_id, b.key_id, sizeof(s->key_id));
	memcpy(s->sig, b.sig, sizeof(s->sig));
	return 0;
}

int minisig_verify(const struct minisig *s, const struct minisig_pubkey *pk, const void *msg,
		   size_t len, char *err, size_t errlen)
{
	unsigned char hash[crypto_generichash_BYTES_MAX], *gm;
	char a[MINISIG_KEYID_HEX], b[MINISIG_KEYID_HEX];
	const unsigned char *m;
	size_t mlen, gmlen;
	int bad;

	if (memcmp(s->key_id, pk->key_id, sizeof(s->key_id))) {
		minisig_key_id_hex(s->key_id, a);
		minisig_key_id_hex(pk->key_id, b);
		return err_set(err, errlen, "signed by key %s, not by key %s", a, b);
	}
	m = signed_bytes(s->alg, msg, len, hash, &mlen);
	if (crypto_sign_verify_detached(s->sig, m, mlen, pk->pk))
		return err_set(err, errlen, "bad signature");
	gm = global_message(s->sig, s->trusted_comment, &gmlen);
	if (!gm)
		return err_set(err, errlen, "out of memory");
	bad = crypto_sign_verify_detached(s->global_sig, gm, gmlen, pk->pk);
	free(gm);
	if (bad)
		return err_set(err, errlen, "bad signature on the trusted comment");
	return 0;
}
