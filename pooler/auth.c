/*
 * auth.c: owns the auth_file (loading, lookup, wiping) and the md5 method in both roles; the choice of a
 * client's method from auth_type and its secret. See auth.h for the rules; SCRAM is in scram.c.
 *
 * auth_file format (PgBouncer's userlist.txt): one user per line, `"user" "secret"`, each field in double
 * quotes, a doubled quote ("") standing for one quote inside; anything after the second field (PgBouncer's
 * old third column) is ignored; lines starting with ';' or '#' and blank lines are skipped.
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "scram.h"

static bool
fail(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/*
 * parse_quoted: reads a "..." field at *p into a fresh string, turning "" into ". Advances *p past the
 * closing quote. NULL with why set when there is no well-formed field.
 */
static char *
parse_quoted(const char **p, const char **why)
{
	const char *s = *p;
	char	   *out;
	size_t		n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '"')
	{
		*why = "expected a field in double quotes";
		return NULL;
	}
	out = malloc(strlen(s) + 1);
	if (!out)
	{
		*why = "out of memory";
		return NULL;
	}
	for (s++;; s++)
	{
		if (*s == '\0' || *s == '\n' || *s == '\r')
		{
			free(out);
			*why = "a quoted field is not closed (write \"\" for a quote inside a field)";
			return NULL;
		}
		if (*s == '"')
		{
			if (s[1] != '"')
				break;
			s++;
		}
		out[n++] = *s;
	}
	out[n] = '\0';
	*p = s + 1;
	return out;
}

static void
entry_free(AuthEntry *entry)
{
	if (entry->cache)
	{
		OPENSSL_cleanse(entry->cache, sizeof(*entry->cache));
		free(entry->cache);
	}
	free(entry->user);
	if (entry->secret)
	{
		OPENSSL_cleanse(entry->secret, strlen(entry->secret));
		free(entry->secret);
	}
	OPENSSL_cleanse(entry, sizeof(*entry));
}

static int
entry_compare(const void *a, const void *b)
{
	return strcmp(((const AuthEntry *) a)->user, ((const AuthEntry *) b)->user);
}

static bool
is_md5_secret(const char *secret)
{
	return strncmp(secret, "md5", 3) == 0 && strlen(secret) == AUTH_MD5_LEN &&
		strspn(secret + 3, "0123456789abcdef") == 32;
}

AuthSecretKind
auth_secret_kind(const char *secret)
{
	ScramSecret scram;
	char		why[AUTH_ERR_MAX];

	if (secret[0] == '\0')
		return AUTH_SECRET_EMPTY;
	if (is_md5_secret(secret))
		return AUTH_SECRET_MD5;
	if (scram_parse_secret(secret, &scram, why, sizeof(why)))
		return AUTH_SECRET_SCRAM;
	return AUTH_SECRET_PLAIN;
}

/* parse_line: fills *entry from one non-comment line; false with why. */
static bool
parse_line(const char *line, AuthEntry *entry, char *why, size_t whylen)
{
	const char *p = line;
	const char *what = NULL;

	memset(entry, 0, sizeof(*entry));
	if (!(entry->user = parse_quoted(&p, &what)) || !(entry->secret = parse_quoted(&p, &what)))
		return fail(why, whylen, "%s", what);
	if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		return fail(why, whylen, "expected a space after the quoted secret");
	if (entry->user[0] == '\0')
		return fail(why, whylen, "the user name is empty");
	if (strncmp(entry->secret, "SCRAM-SHA-256$", 14) == 0)
	{
		ScramSecret scram;
		char		reason[AUTH_ERR_MAX];

		/* A password that merely looks like a verifier would be a trap: say so instead of guessing. */
		if (!scram_parse_secret(entry->secret, &scram, reason, sizeof(reason)))
			return fail(why, whylen, "the SCRAM secret of user \"%s\" is malformed: %s", entry->user, reason);
		entry->scram = scram;
		OPENSSL_cleanse(&scram, sizeof(scram));
	}
	entry->kind = auth_secret_kind(entry->secret);
	if (entry->kind == AUTH_SECRET_PLAIN && !(entry->cache = calloc(1, sizeof(ScramCache))))
		return fail(why, whylen, "out of memory");
	return true;
}

bool
authfile_load(const char *path, AuthFile *out, char *err, size_t errlen)
{
	FILE	   *f;
	struct stat st;
	char	   *line = NULL;
	size_t		linecap = 0;
	int			lineno = 0;
	int			capacity = 0;
	bool		ok = true;
	int			fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);	/* a FIFO must not block us */

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return fail(err, errlen, "%s: cannot open the auth_file: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return fail(err, errlen, "%s: the auth_file is not a regular file", path);
	}
	if (st.st_mode & (S_IWOTH | S_IWGRP))
	{
		close(fd);
		return fail(err, errlen, "%s: the auth_file may be written by others than its owner (mode %04o); "
					"run chmod 600 on it", path, (unsigned) (st.st_mode & 07777));
	}
	/* readable by its group or others: loaded (PgBouncer's own setups write it so), the caller warns */
	if (st.st_mode & (S_IRGRP | S_IROTH))
		out->readable_mode = (unsigned) (st.st_mode & 07777);
	if (!(f = fdopen(fd, "r")))
	{
		close(fd);
		return fail(err, errlen, "%s: cannot read the auth_file: %s", path, strerror(errno));
	}
	while (ok && getline(&line, &linecap, f) != -1)
	{
		const char *p = line;
		AuthEntry	entry;
		char		why[AUTH_ERR_MAX];

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '\r' || *p == ';' || *p == '#')
			continue;
		if (!parse_line(p, &entry, why, sizeof(why)))
		{
			entry_free(&entry);
			ok = fail(err, errlen, "%s:%d: %s", path, lineno, why);
			break;
		}
		entry.line = lineno;
		if (out->n_entries == capacity)
		{
			int			newcap = capacity ? capacity * 2 : 16;
			AuthEntry  *grown = realloc(out->entries, sizeof(AuthEntry) * newcap);

			if (!grown)
			{
				entry_free(&entry);
				ok = fail(err, errlen, "%s:%d: out of memory", path, lineno);
				break;
			}
			out->entries = grown;
			capacity = newcap;
		}
		out->entries[out->n_entries++] = entry;
	}
	if (ok && ferror(f))
		ok = fail(err, errlen, "%s: cannot read the auth_file: %s", path, strerror(errno));
	if (line)
	{
		OPENSSL_cleanse(line, linecap);
		free(line);
	}
	fclose(f);
	if (ok && out->n_entries > 1)
	{
		qsort(out->entries, out->n_entries, sizeof(AuthEntry), entry_compare);
		for (int i = 1; i < out->n_entries && ok; i++)
			if (strcmp(out->entries[i - 1].user, out->entries[i].user) == 0)
			{
				const AuthEntry *a = &out->entries[i - 1],
						   *b = &out->entries[i];

				ok = fail(err, errlen, "%s:%d: user \"%s\" is already listed on line %d; keep one line per user",
						  path, a->line > b->line ? a->line : b->line, a->user,
						  a->line < b->line ? a->line : b->line);
			}
	}
	if (!ok)
		authfile_free(out);
	return ok;
}

const AuthEntry *
authfile_lookup(const AuthFile *file, const char *user)
{
	AuthEntry	key = {.user = (char *) user};

	if (!file || file->n_entries == 0)
		return NULL;
	return bsearch(&key, file->entries, file->n_entries, sizeof(AuthEntry), entry_compare);
}

void
authfile_free(AuthFile *file)
{
	for (int i = 0; i < file->n_entries; i++)
		entry_free(&file->entries[i]);
	free(file->entries);
	memset(file, 0, sizeof(*file));
}

AuthMethod
auth_client_method(AuthType type, const AuthFile *file, const char *user, const AuthEntry **entry,
				   char *err, size_t errlen)
{
	return auth_method_for_entry(type, file != NULL, authfile_lookup(file, user), user, entry, err, errlen);
}

/* where: where an entry came from, for messages ("auth_file line 3" or "auth_query"). */
static const char *
where(const AuthEntry *found, char *buf, size_t buflen)
{
	if (found->line > 0)
		snprintf(buf, buflen, "auth_file line %d", found->line);
	else
		snprintf(buf, buflen, "found by auth_query");
	return buf;
}

AuthMethod
auth_method_for_entry(AuthType type, bool have_users, const AuthEntry *found, const char *user,
					  const AuthEntry **entry, char *err, size_t errlen)
{
	char		origin[64];

	err[0] = '\0';
	*entry = found;
	if (type == AUTH_TRUST)
	{
		if (have_users && !found)
		{
			fail(err, errlen, "user \"%s\" is not in the auth_file", user);
			return AUTH_METHOD_REFUSE;
		}
		return AUTH_METHOD_TRUST;
	}
	if (!found)
		fail(err, errlen, "user \"%s\" is not in the auth_file", user);
	else if (found->kind == AUTH_SECRET_EMPTY)
		fail(err, errlen, "user \"%s\" has an empty secret (%s)", user, where(found, origin, sizeof(origin)));
	else if (type == AUTH_SCRAM && found->kind == AUTH_SECRET_MD5)
		fail(err, errlen, "user \"%s\" has an md5 secret (%s), which cannot serve "
			 "SCRAM-SHA-256: store a plain or SCRAM secret, or use auth_type = md5", user,
			 where(found, origin, sizeof(origin)));
	if (err[0])
		*entry = NULL;
	if (type == AUTH_PLAIN)
		return AUTH_METHOD_PLAIN;
	if (type == AUTH_MD5 && !(found && found->kind == AUTH_SECRET_SCRAM))
		return AUTH_METHOD_MD5;
	return AUTH_METHOD_SCRAM;
}

bool
auth_entry_make(const char *user, const char *secret, AuthEntry *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!(out->user = strdup(user)) || !(out->secret = strdup(secret)))
	{
		entry_free(out);
		return fail(err, errlen, "out of memory");
	}
	out->kind = auth_secret_kind(secret);
	if (out->kind == AUTH_SECRET_SCRAM && !scram_parse_secret(secret, &out->scram, err, errlen))
	{
		entry_free(out);
		return false;
	}
	if (out->kind == AUTH_SECRET_PLAIN && !(out->cache = calloc(1, sizeof(ScramCache))))
	{
		entry_free(out);
		return fail(err, errlen, "out of memory");
	}
	return true;
}

void
auth_entry_free(AuthEntry *entry)
{
	entry_free(entry);
}

AuthResult
auth_plain_verify(const AuthEntry *entry, const char *user, const char *password)
{
	bool		match = false;

	if (!entry || entry->kind == AUTH_SECRET_EMPTY || password[0] == '\0')
		return AUTH_FAILED;
	if (entry->kind == AUTH_SECRET_PLAIN)
	{
		size_t		len = strlen(entry->secret);

		match = strlen(password) == len && CRYPTO_memcmp(entry->secret, password, len) == 0;
	}
	else if (entry->kind == AUTH_SECRET_MD5)
	{
		char		hashed[AUTH_MD5_LEN + 1];

		auth_md5_hash(user, password, hashed);
		match = CRYPTO_memcmp(hashed, entry->secret, AUTH_MD5_LEN) == 0;
		OPENSSL_cleanse(hashed, sizeof(hashed));
	}
	else if (entry->kind == AUTH_SECRET_SCRAM)
	{
		ScramSecret derived;

		scram_derive_secret(password, entry->scram.salt, entry->scram.salt_len, entry->scram.iterations,
							&derived);
		match = CRYPTO_memcmp(derived.stored_key, entry->scram.stored_key, SCRAM_KEY_LEN) == 0 &&
			CRYPTO_memcmp(derived.server_key, entry->scram.server_key, SCRAM_KEY_LEN) == 0;
		OPENSSL_cleanse(&derived, sizeof(derived));
	}
	return match ? AUTH_OK : AUTH_FAILED;
}

static void
md5_hex(const void *a, size_t alen, const void *b, size_t blen, char out[AUTH_MD5_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t		digest[16];
	unsigned	dlen = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
		!EVP_DigestUpdate(ctx, b, blen) || !EVP_DigestFinal_ex(ctx, digest, &dlen) || dlen != 16)
	{
		/* Only when OpenSSL cannot do MD5 at all (FIPS mode): a value no response can match. */
		memset(out, '!', AUTH_MD5_LEN);
		out[AUTH_MD5_LEN] = '\0';
		EVP_MD_CTX_free(ctx);
		return;
	}
	EVP_MD_CTX_free(ctx);
	memcpy(out, "md5", 3);
	for (int i = 0; i < 16; i++)
	{
		out[3 + 2 * i] = hex[digest[i] >> 4];
		out[4 + 2 * i] = hex[digest[i] & 15];
	}
	out[AUTH_MD5_LEN] = '\0';
}

bool
auth_md5_salt(uint8_t salt[4])
{
	return RAND_bytes(salt, 4) == 1;
}

void
auth_md5_hash(const char *user, const char *password, char out[AUTH_MD5_LEN + 1])
{
	md5_hex(password, strlen(password), user, strlen(user), out);
}

void
auth_md5_client_response(const char *user, const char *secret, const uint8_t salt[4],
						 char out[AUTH_MD5_LEN + 1])
{
	char		inner[AUTH_MD5_LEN + 1];

	if (is_md5_secret(secret))
		memcpy(inner, secret, sizeof(inner));
	else
		auth_md5_hash(user, secret, inner);
	md5_hex(inner + 3, 32, salt, 4, out);
	OPENSSL_cleanse(inner, sizeof(inner));
}

AuthResult
auth_md5_verify(const AuthEntry *entry, const char *user, const uint8_t salt[4], const char *client_response)
{
	char		expected[AUTH_MD5_LEN + 1];
	bool		match;

	if (entry && entry->kind == AUTH_SECRET_SCRAM)
		return AUTH_UNUSABLE;
	if (!entry || entry->kind == AUTH_SECRET_EMPTY || strlen(client_response) != AUTH_MD5_LEN)
		return AUTH_FAILED;
	auth_md5_client_response(user, entry->secret, salt, expected);
	match = CRYPTO_memcmp(expected, client_response, AUTH_MD5_LEN) == 0;
	OPENSSL_cleanse(expected, sizeof(expected));
	return match ? AUTH_OK : AUTH_FAILED;
}

/* the salt key file's text: the key in hex, then a newline */
#define SALT_KEY_HEX ((size_t) 2 * AUTH_SALT_KEY_LEN)

/*
 * salt_key_create: a new random key at path, written to a file of its own (mkstemp: O_EXCL, mode 600)
 * and then linked into place, so that a pooler starting at the same moment finds no file or a whole
 * one, never a part. 1 = created; 0 = path appeared meanwhile (read it); -1 = cannot (err says why).
 */
static int
salt_key_create(const char *path, uint8_t key[AUTH_SALT_KEY_LEN], char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	char		text[SALT_KEY_HEX + 1];
	char		tmp[4096];
	int			fd;
	int			saved;
	bool		ok;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int) sizeof(tmp))
		return fail(err, errlen, "%s: path too long", path), -1;
	if (RAND_bytes(key, AUTH_SALT_KEY_LEN) != 1)
		return fail(err, errlen, "no random bytes for the salt key"), -1;
	for (size_t i = 0; i < AUTH_SALT_KEY_LEN; i++)
	{
		text[2 * i] = hex[key[i] >> 4];
		text[2 * i + 1] = hex[key[i] & 15];
	}
	text[SALT_KEY_HEX] = '\n';
	if ((fd = mkstemp(tmp)) < 0)
	{
		OPENSSL_cleanse(text, sizeof(text));
		return fail(err, errlen, "%s: cannot create the salt key file: %s", path, strerror(errno)), -1;
	}
	ok = write(fd, text, sizeof(text)) == (ssize_t) sizeof(text) && fsync(fd) == 0;
	OPENSSL_cleanse(text, sizeof(text));
	ok = close(fd) == 0 && ok;
	saved = errno;
	if (ok && link(tmp, path) == 0)
	{
		unlink(tmp);
		return 1;
	}
	if (ok)
		saved = errno;
	unlink(tmp);
	if (ok && saved == EEXIST)
		return 0;
	return fail(err, errlen, "%s: cannot write the salt key file: %s", path, strerror(saved)), -1;
}

/* salt_key_read: the key in the open file fd (closed here): 1, or -1 with err saying what to do. */
static int
salt_key_read(int fd, const char *path, uint8_t key[AUTH_SALT_KEY_LEN], char *err, size_t errlen)
{
	struct stat st;
	char		text[SALT_KEY_HEX + 2] = {0};
	ssize_t		n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXO | S_IRWXG)))
	{
		close(fd);
		return fail(err, errlen, "%s: the salt key file must be a regular file only its owner can read "
					"(run chmod 600 on it)", path), -1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < (ssize_t) SALT_KEY_HEX || strspn(text, "0123456789abcdefABCDEF") != SALT_KEY_HEX ||
		(n > (ssize_t) SALT_KEY_HEX && text[SALT_KEY_HEX] != '\n'))
	{
		OPENSSL_cleanse(text, sizeof(text));
		return fail(err, errlen, "%s: the salt key file must hold 64 hex digits; remove it and the pooler "
					"writes a new one", path), -1;
	}
	for (size_t i = 0; i < AUTH_SALT_KEY_LEN; i++)
	{
		char		pair[3] = {text[2 * i], text[2 * i + 1], 0};

		key[i] = (uint8_t) strtoul(pair, NULL, 16);
	}
	OPENSSL_cleanse(text, sizeof(text));
	return 1;
}

int
auth_salt_key_load(const char *path, uint8_t key[AUTH_SALT_KEY_LEN], bool *created, char *err, size_t errlen)
{
	*created = false;
	for (int attempt = 0; attempt < 2; attempt++)
	{
		int			fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
		int			rc;

		if (fd >= 0)
			return salt_key_read(fd, path, key, err, errlen);
		if (errno != ENOENT)
			return fail(err, errlen, "%s: cannot open the salt key file: %s", path, strerror(errno)), -1;
		rc = salt_key_create(path, key, err, errlen);
		if (rc != 0)
		{
			*created = rc == 1;
			return rc == 1 ? 1 : 0;
		}
		/* another pooler wrote it meanwhile: read that one */
	}
	return fail(err, errlen, "%s: the salt key file keeps appearing and vanishing", path), 0;
}
