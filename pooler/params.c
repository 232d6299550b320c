/*
 * params.c: owns the tracked-parameter table, the interned value strings (a chained hash table of
 * reference-counted strings; an entry is freed with its last reference) and the parser that spots
 * session-level SET/RESET of the parameters PostgreSQL does not report back.
 */
#include "params.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "sqlscan.h"

static const struct
{
	const char *name;
	bool		reported;
}			param_table[PARAM_COUNT] = {
	[PARAM_CLIENT_ENCODING] = {"client_encoding", true},
	[PARAM_DATESTYLE] = {"DateStyle", true},
	[PARAM_TIMEZONE] = {"TimeZone", true},
	[PARAM_INTERVALSTYLE] = {"IntervalStyle", true},
	[PARAM_STANDARD_CONFORMING_STRINGS] = {"standard_conforming_strings", true},
	[PARAM_APPLICATION_NAME] = {"application_name", true},
	[PARAM_SEARCH_PATH] = {"search_path", false},
};

typedef struct Interned
{
	struct Interned *next;
	uint32_t	hash;
	int			refs;
	char		text[];
} Interned;

/* track_extra_parameters: names of ids PARAM_COUNT ... (lower case) */
static char extra_names[PARAM_EXTRA_MAX][64];
static int	n_extra;

#define INTERN_BUCKETS 1024
static Interned *buckets[INTERN_BUCKETS];
static int	n_interned;

int
params_lookup(const char *name)
{
	for (int i = 0; i < PARAM_COUNT; i++)
		if (strcasecmp(param_table[i].name, name) == 0)
			return i;
	for (int i = 0; i < n_extra; i++)
		if (strcasecmp(extra_names[i], name) == 0)
			return PARAM_COUNT + i;
	return -1;
}

const char *
params_name(ParamId id)
{
	return (int) id >= PARAM_COUNT ? extra_names[id - PARAM_COUNT] : param_table[id].name;
}

bool
params_reported(ParamId id)
{
	return (int) id < PARAM_COUNT && param_table[id].reported;
}

int
params_count(void)
{
	return PARAM_COUNT + n_extra;
}

/* valid_param_name: letters, digits, '_' and at most one '.' (a custom parameter, myapp.tenant). */
static bool
valid_param_name(const char *name, size_t len)
{
	int			dots = 0;

	if (len == 0 || len >= sizeof(extra_names[0]) || !(isalpha((unsigned char) name[0]) || name[0] == '_'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '.')
		{
			if (++dots > 1 || i + 1 == len)
				return false;
		}
		else if (!isalnum((unsigned char) name[i]) && name[i] != '_')
			return false;
	return true;
}

bool
params_track_extras(const char *list, bool apply, char *err, size_t errlen)
{
	char		add[PARAM_EXTRA_MAX][64];
	int			n_add = 0;
	const char *p = list;

	while (*p)
	{
		const char *start;
		size_t		len;
		char		name[64];

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p && *p != ',' && !isspace((unsigned char) *p))
			p++;
		len = (size_t) (p - start);
		if (len == 0)
			continue;
		if (!valid_param_name(start, len))
			return snprintf(err, errlen, "track_extra_parameters: \"%.*s\" is not a parameter name",
							(int) len, start), false;
		for (size_t i = 0; i < len; i++)
			name[i] = (char) tolower((unsigned char) start[i]);
		name[len] = '\0';
		if (params_lookup(name) >= 0)
			continue;
		for (int i = 0; i < n_add; i++)
			if (strcmp(add[i], name) == 0)
				goto next;
		if (n_extra + n_add >= PARAM_EXTRA_MAX)
			return snprintf(err, errlen, "track_extra_parameters: at most %d parameters beyond the seven "
							"tracked ones (a removed name stays tracked until a restart)", PARAM_EXTRA_MAX), false;
		memcpy(add[n_add++], name, len + 1);
next:
		;
	}
	for (int i = 0; apply && i < n_add; i++)
		memcpy(extra_names[n_extra++], add[i], sizeof(add[i]));
	return true;
}

static uint32_t
hash_text(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t) *s) * 16777619u;
	return h;
}

const char *
params_intern(const char *value)
{
	uint32_t	h = hash_text(value);
	Interned  **bucket = &buckets[h % INTERN_BUCKETS];
	Interned   *it;
	size_t		len;

	for (it = *bucket; it; it = it->next)
		if (it->hash == h && strcmp(it->text, value) == 0)
		{
			it->refs++;
			return it->text;
		}
	len = strlen(value);
	it = malloc(sizeof(Interned) + len + 1);
	if (!it)
		return NULL;
	it->hash = h;
	it->refs = 1;
	memcpy(it->text, value, len + 1);
	it->next = *bucket;
	*bucket = it;
	n_interned++;
	return it->text;
}

void
params_unref(const char *interned)
{
	Interned   *it;
	Interned  **link;

	if (!interned)
		return;
	it = (Interned *) (interned - offsetof(Interned, text));
	if (--it->refs > 0)
		return;
	for (link = &buckets[it->hash % INTERN_BUCKETS]; *link; link = &(*link)->next)
		if (*link == it)
		{
			*link = it->next;
			break;
		}
	n_interned--;
	free(it);
}

void
params_set(ParamSet *set, ParamId id, const char *value)
{
	const char *old = set->values[id];

	if (old && value && strcmp(old, value) == 0)
		return;
	set->values[id] = value ? params_intern(value) : NULL;
	params_unref(old);
}

void
params_copy(ParamSet *dst, const ParamSet *src)
{
	for (int i = 0; i < PARAM_SLOTS; i++)
		params_set(dst, (ParamId) i, src->values[i]);
}

void
params_clear(ParamSet *set)
{
	for (int i = 0; i < PARAM_SLOTS; i++)
	{
		params_unref(set->values[i]);
		set->values[i] = NULL;
	}
}

int
params_build_sync(const ParamSet *client, const ParamSet *server, char *sql, size_t sqllen)
{
	size_t		len = 0;
	int			count = 0;

	sql[0] = '\0';
	for (int i = 0; i < params_count(); i++)
	{
		const char *want = client->values[i];
		const char *have = server->values[i];
		int			n;

		/* interned: equal strings are the same pointer */
		if (want == have)
			continue;
		if (!want)
		{
			/* the client never set it: only a value the client itself set elsewhere needs undoing */
			if (params_reported((ParamId) i))
				continue;
			n = snprintf(sql + len, sqllen - len, "RESET %s;", params_name((ParamId) i));
		}
		else if (i == PARAM_SEARCH_PATH)
			n = snprintf(sql + len, sqllen - len, "SET search_path TO %s;", want);
		else
		{
			char		literal[1100];

			if (!proto_quote_literal(want, literal, sizeof(literal)))
				return -1;
			n = snprintf(sql + len, sqllen - len, "SET %s = %s;", params_name((ParamId) i), literal);
		}
		if (n < 0 || (size_t) n >= sqllen - len)
			return -1;
		len += (size_t) n;
		count++;
	}
	return count;
}

/*
 * guc_list_to_sql: a search_path value as the server holds it ("$user", public, "My S") into the
 * syntax of SET search_path TO, every element double-quoted ("$user", "public", "My S"); unquoted
 * elements are folded to lower case as the server does. False when it does not parse or fit.
 */
static bool
guc_list_to_sql(const char *in, char *out, size_t outlen)
{
	size_t		n = 0;

#define PUT(c) do { if (n + 1 >= outlen) return false; out[n++] = (c); } while (0)
	for (;;)
	{
		while (isspace((unsigned char) *in))
			in++;
		if (*in == '\0')
			break;
		PUT('"');
		if (*in == '"')
		{
			for (in++;; in++)
			{
				if (*in == '\0')
					return false;
				if (*in == '"')
				{
					if (in[1] != '"')
						break;
					PUT('"');
					in++;
				}
				PUT(*in);
			}
			in++;
		}
		else
		{
			if (*in == ',')
				return false;
			for (; *in && *in != ',' && !isspace((unsigned char) *in); in++)
			{
				if (*in == '"')
					PUT('"');
				PUT((char) tolower((unsigned char) *in));
			}
		}
		PUT('"');
		while (isspace((unsigned char) *in))
			in++;
		if (*in == '\0')
			break;
		if (*in != ',')
			return false;
		in++;
		PUT(',');
		PUT(' ');
	}
#undef PUT
	out[n] = '\0';
	return n > 0;
}

/* ValueBuf: a growing output string with an overflow flag (every append checks the room). */
typedef struct ValueBuf
{
	char	   *out;
	size_t		cap;
	size_t		len;
	bool		full;
} ValueBuf;

static void
vb_put(ValueBuf *vb, char c)
{
	if (vb->len + 1 >= vb->cap)
		vb->full = true;
	else
		vb->out[vb->len++] = c;
}

/*
 * decode_string: the value of a string constant token (prefix and quotes included) as the server reads
 * it, into vb: '...' (with backslash escapes when standard_conforming_strings is off), E'...' (the
 * single-character, octal and hex escapes), $tag$...$tag$. False for what is not decoded here, so that
 * the caller does not track it: U&'', B'', X'', N'', \u escapes, continuation segments, a NUL byte.
 */
static bool
decode_string(const char *s, size_t len, bool standard_strings, ValueBuf *vb)
{
	const char *end = s + len;
	bool		escapes = !standard_strings;

	if (*s == '$')
	{
		const char *tag_end = memchr(s + 1, '$', len - 1);
		size_t		tag = (size_t) (tag_end - s) + 1;

		for (const char *c = s + tag; c < end - tag; c++)
			vb_put(vb, *c);
		return true;
	}
	if (*s == 'e' || *s == 'E')
	{
		escapes = true;
		s++;
	}
	if (*s != '\'')
		return false;
	for (s++; s < end; s++)
	{
		if (*s == '\'')
		{
			if (s + 1 < end && s[1] == '\'')
			{
				vb_put(vb, '\'');
				s++;
				continue;
			}
			return s + 1 == end;	/* anything after the closing quote: a continuation */
		}
		if (escapes && *s == '\\' && s + 1 < end)
		{
			static const char plain[] = "b\bf\fn\nr\rt\t";
			const char *hit;
			unsigned	code = 0;
			int			digits = 0;

			s++;
			if (*s >= '0' && *s <= '7')
			{
				for (; digits < 3 && s < end && *s >= '0' && *s <= '7'; digits++, s++)
					code = code * 8 + (unsigned) (*s - '0');
				s--;
			}
			else if (*s == 'x' && s + 1 < end && isxdigit((unsigned char) s[1]))
			{
				for (s++; digits < 2 && s < end && isxdigit((unsigned char) *s); digits++, s++)
					code = code * 16 + (unsigned) (isdigit((unsigned char) *s) ? *s - '0' : (tolower((unsigned char) *s) - 'a' + 10));
				s--;
			}
			else if (*s == 'u' || *s == 'U')
				return false;
			else if ((hit = strchr(plain, *s)) && ((hit - plain) % 2) == 0)
				code = (unsigned char) hit[1];
			else
				code = (unsigned char) *s;
			if (code == 0 || code > 255)
				return false;
			vb_put(vb, (char) code);
			continue;
		}
		vb_put(vb, *s);
	}
	return false;
}

/*
 * parse_set_list: the value list of SET search_path TO/=, read with sqlscan.c (PostgreSQL's
 * lexical rules: comments, E'' strings, dollar quotes, quoted names), into value as the pooler will send
 * it again: every element double-quoted ("a", "My S"), built from the parsed element, never copied from
 * the client's text. Unquoted names fold to lower case and names are cut to 63 bytes, as the server does;
 * DEFAULT alone is a reset (empty value). PARAMS_UNTRACKED for a list this does not read (a number, a
 * string form not decoded, an empty element) or one that does not fit: the caller tells the client.
 */
static int
parse_set_list(SqlScanner *sc, bool standard_strings, char *value, size_t valuelen)
{
	SqlToken	tok;
	ValueBuf	vb = {value, valuelen, 0, false};
	int			elements = 0;

	for (;;)
	{
		char		elem[1024];
		ValueBuf	eb = {elem, sizeof(elem), 0, false};

		sqlscan_next(sc, &tok);
		if (elements == 0 && sqlscan_is_word(&tok, "default"))
		{
			sqlscan_next(sc, &tok);
			if (tok.kind != SQLTOK_SEMI && tok.kind != SQLTOK_EOF)
				return PARAMS_UNTRACKED;
			value[0] = '\0';
			return PARAM_SEARCH_PATH;
		}
		if (tok.kind == SQLTOK_IDENT)
			for (size_t i = 0; i < tok.len; i++)
				vb_put(&eb, (char) tolower((unsigned char) tok.s[i]));
		else if (tok.kind == SQLTOK_QIDENT && !(tok.flags & SQLTOK_F_UNICODE))
		{
			for (size_t i = 0; i < tok.len; i++)
			{
				vb_put(&eb, tok.s[i]);
				if (tok.s[i] == '"')
					i++;		/* "" inside: one quote */
			}
		}
		else if (tok.kind != SQLTOK_STRING || !decode_string(tok.s, tok.len, standard_strings, &eb))
			return PARAMS_UNTRACKED;
		if (eb.full || eb.len == 0)
			return PARAMS_UNTRACKED;
		/* names are cut to 63 bytes as the server cuts them, never inside a UTF-8 sequence */
		if (tok.kind != SQLTOK_STRING && eb.len > 63)
			for (eb.len = 63; eb.len > 0 && ((unsigned char) elem[eb.len] & 0xC0) == 0x80;)
				eb.len--;
		if (elements++)
		{
			vb_put(&vb, ',');
			vb_put(&vb, ' ');
		}
		vb_put(&vb, '"');
		for (size_t i = 0; i < eb.len; i++)
		{
			if (elem[i] == '"')
				vb_put(&vb, '"');
			vb_put(&vb, elem[i]);
		}
		vb_put(&vb, '"');
		sqlscan_next(sc, &tok);
		if (tok.kind == SQLTOK_SEMI || tok.kind == SQLTOK_EOF)
			break;
		if (tok.kind != SQLTOK_COMMA)
			return PARAMS_UNTRACKED;
	}
	if (vb.full)
		return PARAMS_UNTRACKED;
	value[vb.len] = '\0';
	return PARAM_SEARCH_PATH;
}

/*
 * parse_set_config: after SELECT: "[pg_catalog.]set_config('search_path', 'value', false)" alone (a
 * trailing ';' allowed). The server holds value as an identifier list; it is rewritten into SET syntax.
 */
static int
parse_set_config(SqlScanner *sc, bool standard_strings, char *value, size_t valuelen)
{
	SqlToken	tok;
	char		name[32];
	char		raw[1024];
	ValueBuf	nb = {name, sizeof(name), 0, false};
	ValueBuf	rb = {raw, sizeof(raw), 0, false};

	sqlscan_next(sc, &tok);
	if (sqlscan_is_word(&tok, "pg_catalog"))
	{
		sqlscan_next(sc, &tok);
		if (tok.kind != SQLTOK_DOT)
			return -1;
		sqlscan_next(sc, &tok);
	}
	if (!sqlscan_is_word(&tok, "set_config") || (sqlscan_next(sc, &tok), tok.kind != SQLTOK_LPAREN))
		return -1;
	sqlscan_next(sc, &tok);
	if (tok.kind != SQLTOK_STRING || !decode_string(tok.s, tok.len, standard_strings, &nb) || nb.full)
		return -1;
	name[nb.len] = '\0';
	if (strcasecmp(name, "search_path") != 0 || (sqlscan_next(sc, &tok), tok.kind != SQLTOK_COMMA))
		return -1;
	sqlscan_next(sc, &tok);
	if (tok.kind != SQLTOK_STRING || !decode_string(tok.s, tok.len, standard_strings, &rb) || rb.full)
		return -1;
	raw[rb.len] = '\0';
	if ((sqlscan_next(sc, &tok), tok.kind != SQLTOK_COMMA) || (sqlscan_next(sc, &tok), !sqlscan_is_word(&tok, "false")) ||
		(sqlscan_next(sc, &tok), tok.kind != SQLTOK_RPAREN))
		return -1;					/* is_local true (or an expression): not a session setting */
	sqlscan_next(sc, &tok);
	if (tok.kind == SQLTOK_SEMI)
		sqlscan_next(sc, &tok);
	if (tok.kind != SQLTOK_EOF || memchr(raw, '\0', rb.len) || !guc_list_to_sql(raw, value, valuelen))
		return -1;
	return PARAM_SEARCH_PATH;
}

/* is_search_path: tok names search_path (unquoted in any case, or quoted in lower case). */
static bool
is_search_path(const SqlToken *tok)
{
	char		name[SQLSCAN_NAME_MAX + 1];

	return sqlscan_name(tok, name) == 11 && strcmp(name, "search_path") == 0;
}

int
params_parse_set(const char *query, bool standard_strings, char *value, size_t valuelen)
{
	SqlScanner	sc;
	SqlToken	tok;

	value[0] = '\0';
	sqlscan_init(&sc, query, strlen(query), standard_strings);
	sqlscan_next(&sc, &tok);
	if (sqlscan_is_word(&tok, "select"))
		return parse_set_config(&sc, standard_strings, value, valuelen);
	if (sqlscan_is_word(&tok, "discard"))
		return (sqlscan_next(&sc, &tok), sqlscan_is_word(&tok, "all")) ? PARAM_SEARCH_PATH : -1;
	if (sqlscan_is_word(&tok, "reset"))
		return (sqlscan_next(&sc, &tok), sqlscan_is_word(&tok, "all") || is_search_path(&tok)) ? PARAM_SEARCH_PATH : -1;
	if (!sqlscan_is_word(&tok, "set"))
		return -1;
	sqlscan_next(&sc, &tok);
	if (sqlscan_is_word(&tok, "local"))
		return -1;
	if (sqlscan_is_word(&tok, "session"))
	{
		sqlscan_next(&sc, &tok);
		if (sqlscan_is_word(&tok, "characteristics") || sqlscan_is_word(&tok, "authorization"))
			return -1;
	}
	if (!is_search_path(&tok))
		return -1;
	sqlscan_next(&sc, &tok);
	if (!sqlscan_is_op(&tok, "=") && !sqlscan_is_word(&tok, "to"))
		return -1;
	return parse_set_list(&sc, standard_strings, value, valuelen);
}

bool
params_search_path_sql(const char *value, char *out, size_t outlen)
{
	return guc_list_to_sql(value, out, outlen);
}

bool
params_standard_strings(const ParamSet *set)
{
	const char *scs = set->values[PARAM_STANDARD_CONFORMING_STRINGS];

	return !scs || strcasecmp(scs, "off") != 0;
}

int
params_interned_count(void)
{
	return n_interned;
}
