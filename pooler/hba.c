/*
 * hba.c: owns the parsing and matching of auth_hba_file and auth_ident_file (see hba.h for the subset).
 *
 * Both files are read in two steps: lines are cut into fields of comma-separated tokens (tokenize_line:
 * quotes, "" inside quotes, comments, continuation lines), then each line's fields are read as a rule or
 * a map entry. A token remembers whether any part of it was quoted, because a quoted keyword is a name.
 * Whitespace around a comma does not end a list ("a , b" unquoted is two names), as PgBouncer reads it.
 */
#include "hba.h"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_FIELDS 32
#define MAX_INCLUDE_DEPTH 4

typedef struct Token
{
	char	   *text;
	bool		quoted;
} Token;

typedef struct Field
{
	Token	   *tokens;
	int			n;
} Field;

typedef struct Fields
{
	Field		field[MAX_FIELDS];
	int			n;
} Fields;

static void
fields_free(Fields *f)
{
	for (int i = 0; i < f->n; i++)
	{
		for (int j = 0; j < f->field[i].n; j++)
			free(f->field[i].tokens[j].text);
		free(f->field[i].tokens);
	}
	memset(f, 0, sizeof(*f));
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* read_token: one token at *p (bare characters and "quoted" parts); NULL with why on an open quote. */
static char *
read_token(const char **p, bool *quoted, const char **why)
{
	const char *s = *p;
	char	   *out = malloc(strlen(s) + 1);
	size_t		n = 0;

	*quoted = false;
	if (!out)
	{
		*why = "out of memory";
		return NULL;
	}
	while (*s && !is_blank(*s) && *s != ',' && *s != '#')
	{
		if (*s != '"')
		{
			out[n++] = *s++;
			continue;
		}
		*quoted = true;
		for (s++;; s++)
		{
			if (*s == '\0')
			{
				free(out);
				*why = "a quoted name is not closed (write \"\" for a quote inside quotes)";
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
		s++;
	}
	out[n] = '\0';
	*p = s;
	return out;
}

/* tokenize_line: cuts one logical line into fields; false with why. */
static bool
tokenize_line(const char *line, Fields *out, const char **why)
{
	const char *p = line;

	memset(out, 0, sizeof(*out));
	for (;;)
	{
		Field	   *field;

		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			return true;
		if (out->n == MAX_FIELDS)
		{
			*why = "too many fields";
			return false;
		}
		field = &out->field[out->n++];
		for (;;)
		{
			Token		token;
			Token	   *grown;

			if (*p == ',')
			{
				*why = "an empty name in a comma-separated list";
				return false;
			}
			if (!(token.text = read_token(&p, &token.quoted, why)))
				return false;
			grown = realloc(field->tokens, sizeof(Token) * (field->n + 1));
			if (!grown)
			{
				free(token.text);
				*why = "out of memory";
				return false;
			}
			field->tokens = grown;
			field->tokens[field->n++] = token;
			while (is_blank(*p))
				p++;
			if (*p != ',')
				break;
			p++;
			while (is_blank(*p))
				p++;
			if (*p == '\0' || *p == '#')
			{
				*why = "a comma-separated list ends with a comma";
				return false;
			}
		}
	}
}

static char *
read_file(const char *path, char *err, size_t errlen, const char *what)
{
	FILE	   *f = fopen(path, "r");
	char	   *buf = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		got;

	if (!f)
	{
		snprintf(err, errlen, "%s: cannot open the %s: %s", path, what, strerror(errno));
		return NULL;
	}
	do
	{
		if (cap - len < 4097)
		{
			char	   *grown = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!grown)
			{
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return NULL;
			}
			buf = grown;
		}
		got = fread(buf + len, 1, 4096, f);
		len += got;
	} while (got > 0);
	if (ferror(f))
	{
		free(buf);
		fclose(f);
		snprintf(err, errlen, "%s: cannot read the %s", path, what);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * next_line: the next logical line of text from *pos (continuation lines joined) into a fresh string;
 * *lineno gets its first physical line. NULL at the end.
 */
static char *
next_line(const char **pos, int *lineno, int *next_lineno)
{
	const char *s = *pos;
	char	   *out;
	size_t		n = 0;

	if (*s == '\0')
		return NULL;
	out = malloc(strlen(s) + 1);
	if (!out)
		return NULL;
	*lineno = *next_lineno;
	for (;;)
	{
		const char *end = strchr(s, '\n');
		size_t		len = end ? (size_t) (end - s) : strlen(s);
		bool		cont;

		(*next_lineno)++;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		cont = len > 0 && s[len - 1] == '\\';
		memcpy(out + n, s, cont ? len - 1 : len);
		n += cont ? len - 1 : len;
		s = end ? end + 1 : s + strlen(s);
		if (!cont || *s == '\0')
			break;
		out[n++] = ' ';
	}
	out[n] = '\0';
	*pos = s;
	return out;
}

static bool
names_add(HbaNames *names, const char *name)
{
	char	  **grown = realloc(names->names, sizeof(char *) * (names->n + 1));

	if (!grown)
		return false;
	names->names = grown;
	if (!(names->names[names->n] = strdup(name)))
		return false;
	names->n++;
	return true;
}

static void
names_free(HbaNames *names)
{
	for (int i = 0; i < names->n; i++)
		free(names->names[i]);
	free(names->names);
	memset(names, 0, sizeof(*names));
}

/* include_path: name (of @name) resolved against the directory of the file that names it. */
static void
include_path(const char *base, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(base, '/');

	if (name[0] == '/' || !slash)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%.*s/%s", (int) (slash - base), base, name);
}

static bool read_names(const Field *field, bool database, const char *path, int line, int depth,
					   HbaNames *out, char *err, size_t errlen);

/* include_names: every token of the @file at file (comments and line ends ignored) into out. */
static bool
include_names(const char *path, int line, const char *file, bool database, int depth, HbaNames *out,
			  char *err, size_t errlen)
{
	char		why_buf[HBA_ERR_MAX];
	char	   *text;
	const char *pos;
	char	   *lt;
	int			ln = 0;
	int			next = 1;
	bool		ok = true;

	if (depth >= MAX_INCLUDE_DEPTH)
		return config_file_error(err, errlen, path, line, "@%s: @ files nested too deep", file);
	if (!(text = read_file(file, why_buf, sizeof(why_buf), "@ file")))
		return config_file_error(err, errlen, path, line, "%s", why_buf);
	pos = text;
	while (ok && (lt = next_line(&pos, &ln, &next)))
	{
		Fields		fields;
		const char *why = NULL;

		if (!tokenize_line(lt, &fields, &why))
			ok = config_file_error(err, errlen, file, ln, "%s", why);
		for (int i = 0; ok && i < fields.n; i++)
			ok = read_names(&fields.field[i], database, file, ln, depth + 1, out, err, errlen);
		fields_free(&fields);
		free(lt);
	}
	free(text);
	return ok;
}

/* read_names: a database or user field into out (keywords, names, @files). */
static bool
read_names(const Field *field, bool database, const char *path, int line, int depth, HbaNames *out,
		   char *err, size_t errlen)
{
	for (int i = 0; i < field->n; i++)
	{
		const Token *t = &field->tokens[i];

		if (t->quoted)
		{
			if (!names_add(out, t->text))
				return config_file_error(err, errlen, path, line, "out of memory");
			continue;
		}
		if (strcmp(t->text, "all") == 0)
			out->all = true;
		else if (database && strcmp(t->text, "sameuser") == 0)
			out->sameuser = true;
		else if (database && strcmp(t->text, "replication") == 0)
			out->replication = true;
		else if (database && (strcmp(t->text, "samerole") == 0 || strcmp(t->text, "samegroup") == 0))
			return config_file_error(err, errlen, path, line, "%s is not supported by the pooler (PgBouncer neither): list the "
						"databases", t->text);
		else if (!database && t->text[0] == '+')
			return config_file_error(err, errlen, path, line, "group membership (%s) is not supported by the pooler (PgBouncer "
						"neither): list the users, or put them in an @file", t->text);
		else if (t->text[0] == '/')
			return config_file_error(err, errlen, path, line, "regular expressions (%s) are not supported by the pooler: list "
						"the names", t->text);
		else if (t->text[0] == '@')
		{
			char		file[4096];

			if (t->text[1] == '\0')
				return config_file_error(err, errlen, path, line, "@ without a file name");
			include_path(path, t->text + 1, file, sizeof(file));
			if (!include_names(path, line, file, database, depth, out, err, errlen))
				return false;
		}
		else if (!names_add(out, t->text))
			return config_file_error(err, errlen, path, line, "out of memory");
	}
	return true;
}

/* single_word: the field is one unquoted token (a keyword position); NULL otherwise. */
static const char *
single_word(const Field *field)
{
	return field->n == 1 && !field->tokens[0].quoted ? field->tokens[0].text : NULL;
}

static bool
parse_address(const char *text, int *family, uint8_t addr[16], int *bits)
{
	char		buf[128];
	char	   *slash;

	*bits = -1;
	if (snprintf(buf, sizeof(buf), "%s", text) >= (int) sizeof(buf))
		return false;
	if ((slash = strchr(buf, '/')))
	{
		char	   *end;
		long		v;

		*slash = '\0';
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || v < 0 || v > 128)
			return false;
		*bits = (int) v;
	}
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*family = AF_INET6;
	else
		return false;
	return *bits <= (*family == AF_INET ? 32 : 128);
}

static void
mask_from_bits(int bits, uint8_t mask[16])
{
	memset(mask, 0, 16);
	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8)
		mask[i] = bits >= 8 ? 0xff : (uint8_t) (0xff << (8 - bits));
}

static const struct
{
	const char *name;
	HbaMethod	method;
}			methods[] = {
	{"trust", HBA_TRUST}, {"reject", HBA_REJECT}, {"md5", HBA_MD5}, {"scram-sha-256", HBA_SCRAM},
	{"password", HBA_PASSWORD}, {"cert", HBA_CERT}, {"peer", HBA_PEER}
};

const char *
hba_method_name(HbaMethod method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method)
			return methods[i].name;
	return "?";
}

static void
rule_free(HbaRule *rule)
{
	names_free(&rule->databases);
	names_free(&rule->users);
	free(rule->map);
	memset(rule, 0, sizeof(*rule));
}

/* parse_rule: one tokenized line into *rule; false with err. */
static bool
parse_rule(const Fields *f, const char *path, int line, HbaRule *rule, char *err, size_t errlen)
{
	const char *word = single_word(&f->field[0]);
	bool		found;
	int			i;

	memset(rule, 0, sizeof(*rule));
	rule->line = line;
	if (!word)
		return config_file_error(err, errlen, path, line, "expected local, host, hostssl or hostnossl");
	if (strcmp(word, "local") == 0)
		rule->type = HBA_LOCAL;
	else if (strcmp(word, "host") == 0)
		rule->type = HBA_HOST;
	else if (strcmp(word, "hostssl") == 0)
		rule->type = HBA_HOSTSSL;
	else if (strcmp(word, "hostnossl") == 0)
		rule->type = HBA_HOSTNOSSL;
	else
		return config_file_error(err, errlen, path, line, "\"%s\" is not supported by the pooler: the record types are local, "
					"host, hostssl and hostnossl", word);
	if (f->n < (rule->type == HBA_LOCAL ? 4 : 5))
		return config_file_error(err, errlen, path, line, "too few fields: write %s DATABASE USER%s METHOD [OPTIONS]", word,
					rule->type == HBA_LOCAL ? "" : " ADDRESS");
	if (!read_names(&f->field[1], true, path, line, 0, &rule->databases, err, errlen) ||
		!read_names(&f->field[2], false, path, line, 0, &rule->users, err, errlen))
		return false;
	i = 3;
	if (rule->type == HBA_LOCAL)
		rule->addr_all = true;
	else
	{
		const char *addr = single_word(&f->field[i++]);
		int			bits;

		if (!addr)
			return config_file_error(err, errlen, path, line, "expected one address");
		if (strcmp(addr, "all") == 0)
			rule->addr_all = true;
		else if (strcmp(addr, "samehost") == 0 || strcmp(addr, "samenet") == 0)
			return config_file_error(err, errlen, path, line, "%s is not supported by the pooler (PgBouncer neither): write the "
						"addresses", addr);
		else if (!parse_address(addr, &rule->family, rule->addr, &bits))
			return config_file_error(err, errlen, path, line, "invalid address \"%s\" (host names are not supported: write an "
						"IPv4 or IPv6 address with /bits, or all)", addr);
		else if (bits >= 0)
			mask_from_bits(bits, rule->mask);
		else
		{
			const char *mask = i < f->n ? single_word(&f->field[i]) : NULL;
			int			mask_family;
			int			mask_bits;

			i++;
			if (!mask || !parse_address(mask, &mask_family, rule->mask, &mask_bits) || mask_bits >= 0 ||
				mask_family != rule->family)
				return config_file_error(err, errlen, path, line, "address \"%s\" needs /bits or a netmask of the same family "
							"in the next field", addr);
		}
	}
	if (i >= f->n)
		return config_file_error(err, errlen, path, line, "missing the authentication method");
	word = single_word(&f->field[i++]);
	found = false;
	for (size_t m = 0; word && !found && m < sizeof(methods) / sizeof(methods[0]); m++)
		if (strcmp(word, methods[m].name) == 0)
		{
			rule->method = methods[m].method;
			found = true;
		}
	if (!found)
		return config_file_error(err, errlen, path, line, "authentication method \"%s\" is not supported by the pooler (it "
					"knows trust, reject, md5, scram-sha-256, password, cert and peer)",
					f->field[i - 1].tokens[0].text);
	if (rule->method == HBA_PEER && rule->type != HBA_LOCAL)
		return config_file_error(err, errlen, path, line, "peer authentication is only supported on local lines");
	for (; i < f->n; i++)
	{
		const char *opt = f->field[i].tokens[0].text;

		if (f->field[i].n != 1 || strncmp(opt, "map=", 4) != 0 || opt[4] == '\0')
			return config_file_error(err, errlen, path, line, "option \"%s\" is not supported by the pooler (only map=NAME, "
						"for cert and peer)", opt);
		if (rule->method != HBA_CERT && rule->method != HBA_PEER)
			return config_file_error(err, errlen, path, line, "map= works only with cert and peer");
		free(rule->map);
		if (!(rule->map = strdup(opt + 4)))
			return config_file_error(err, errlen, path, line, "out of memory");
	}
	return true;
}

bool
hba_parse(const char *text, const char *path, HbaRules *out, char *err, size_t errlen)
{
	const char *pos = text;
	char	   *lt;
	int			line = 0;
	int			next = 1;
	int			cap = 0;

	memset(out, 0, sizeof(*out));
	while ((lt = next_line(&pos, &line, &next)))
	{
		Fields		fields;
		const char *why = NULL;
		HbaRule		rule;
		bool		ok;

		ok = tokenize_line(lt, &fields, &why);
		free(lt);
		if (!ok)
		{
			fields_free(&fields);
			hba_free(out);
			return config_file_error(err, errlen, path, line, "%s", why);
		}
		if (fields.n == 0)
			continue;
		ok = parse_rule(&fields, path, line, &rule, err, errlen);
		fields_free(&fields);
		if (ok && out->n == cap)
		{
			HbaRule    *grown = realloc(out->rules, sizeof(HbaRule) * (cap = cap ? cap * 2 : 16));

			if (!grown)
				ok = config_file_error(err, errlen, path, line, "out of memory");
			else
				out->rules = grown;
		}
		if (!ok)
		{
			rule_free(&rule);
			hba_free(out);
			return false;
		}
		out->rules[out->n++] = rule;
	}
	return true;
}

bool
hba_load(const char *path, HbaRules *out, char *err, size_t errlen)
{
	char	   *text = read_file(path, err, errlen, "auth_hba_file");
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (!text)
		return false;
	ok = hba_parse(text, path, out, err, errlen);
	free(text);
	return ok;
}

void
hba_free(HbaRules *rules)
{
	for (int i = 0; i < rules->n; i++)
		rule_free(&rules->rules[i]);
	free(rules->rules);
	memset(rules, 0, sizeof(*rules));
}

static bool
names_match(const HbaNames *names, const char *name)
{
	if (names->all)
		return true;
	for (int i = 0; i < names->n; i++)
		if (strcmp(names->names[i], name) == 0)
			return true;
	return false;
}

static bool
database_match(const HbaNames *names, const HbaLogin *login)
{
	/* as PostgreSQL: a replication connection matches only the keyword replication */
	if (login->replication)
		return names->replication;
	if (names->sameuser && strcmp(login->database, login->user) == 0)
		return true;
	return names_match(names, login->database);
}

static bool
address_match(const HbaRule *rule, const char *text)
{
	uint8_t		client[16] = {0};
	uint8_t		rule_addr[16];
	int			family;

	if (rule->addr_all)
		return true;
	if (inet_pton(AF_INET, text, client) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, text, client) == 1)
		family = AF_INET6;
	else
		return false;
	memcpy(rule_addr, rule->addr, 16);
	if (family == AF_INET6 && rule->family == AF_INET &&
		memcmp(client, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
	{
		/* an IPv4 client on an IPv6 socket (::ffff:a.b.c.d) meets IPv4 rules as itself */
		memmove(client, client + 12, 4);
		memset(client + 4, 0, 12);
		family = AF_INET;
	}
	if (family != rule->family)
		return false;
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
		if ((client[i] & rule->mask[i]) != (rule_addr[i] & rule->mask[i]))
			return false;
	return true;
}

const HbaRule *
hba_match(const HbaRules *rules, const HbaLogin *login)
{
	for (int i = 0; i < rules->n; i++)
	{
		const HbaRule *rule = &rules->rules[i];

		if (login->unix_socket != (rule->type == HBA_LOCAL))
			continue;
		if ((rule->type == HBA_HOSTSSL && !login->tls) || (rule->type == HBA_HOSTNOSSL && login->tls))
			continue;
		if (!database_match(&rule->databases, login) || !names_match(&rule->users, login->user))
			continue;
		if (!login->unix_socket && !address_match(rule, login->addr))
			continue;
		return rule;
	}
	return NULL;
}

static void
ident_entry_free(IdentEntry *e)
{
	free(e->map);
	free(e->system_user);
	free(e->db_user);
}

bool
ident_parse(const char *text, const char *path, IdentMap *out, char *err, size_t errlen)
{
	const char *pos = text;
	char	   *lt;
	int			line = 0;
	int			next = 1;
	bool		ok = true;

	memset(out, 0, sizeof(*out));
	while (ok && (lt = next_line(&pos, &line, &next)))
	{
		Fields		f;
		const char *why = NULL;
		IdentEntry	e = {0};
		IdentEntry *grown;

		ok = tokenize_line(lt, &f, &why);
		free(lt);
		if (!ok)
			config_file_error(err, errlen, path, line, "%s", why);
		else if (f.n == 0)
			;
		else if (f.n != 3 || f.field[0].n != 1 || f.field[1].n != 1 || f.field[2].n != 1)
			ok = config_file_error(err, errlen, path, line, "expected MAPNAME SYSTEM-USERNAME DATABASE-USERNAME");
		else if (!f.field[1].tokens[0].quoted && f.field[1].tokens[0].text[0] == '/')
			ok = config_file_error(err, errlen, path, line, "regular expressions are not supported by the pooler (PgBouncer "
					  "neither): write the system user name");
		else if (!f.field[2].tokens[0].quoted && f.field[2].tokens[0].text[0] == '+')
			ok = config_file_error(err, errlen, path, line, "group membership is not supported by the pooler (PgBouncer "
					  "neither): write the database user name, or all");
		else
		{
			const Token *db = &f.field[2].tokens[0];

			e.map = strdup(f.field[0].tokens[0].text);
			e.system_user = strdup(f.field[1].tokens[0].text);
			e.db_user = !db->quoted && strcmp(db->text, "all") == 0 ? NULL : strdup(db->text);
			grown = realloc(out->entries, sizeof(IdentEntry) * (out->n + 1));
			if (!e.map || !e.system_user || (!e.db_user && (db->quoted || strcmp(db->text, "all") != 0)) ||
				!grown)
			{
				ident_entry_free(&e);
				if (grown)
					out->entries = grown;
				ok = config_file_error(err, errlen, path, line, "out of memory");
			}
			else
			{
				out->entries = grown;
				out->entries[out->n++] = e;
			}
		}
		fields_free(&f);
	}
	if (!ok)
		ident_free(out);
	return ok;
}

bool
ident_load(const char *path, IdentMap *out, char *err, size_t errlen)
{
	char	   *text = read_file(path, err, errlen, "auth_ident_file");
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (!text)
		return false;
	ok = ident_parse(text, path, out, err, errlen);
	free(text);
	return ok;
}

bool
ident_match(const IdentMap *map, const char *map_name, const char *system_user, const char *db_user)
{
	for (int i = 0; i < map->n; i++)
	{
		const IdentEntry *e = &map->entries[i];

		if (strcmp(e->map, map_name) == 0 && strcmp(e->system_user, system_user) == 0 &&
			(!e->db_user || strcmp(e->db_user, db_user) == 0))
			return true;
	}
	return false;
}

void
ident_free(IdentMap *map)
{
	for (int i = 0; i < map->n; i++)
		ident_entry_free(&map->entries[i]);
	free(map->entries);
	memset(map, 0, sizeof(*map));
}
