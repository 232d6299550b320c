/*
 * jsonread.c: owns the pooler's JSON reader (see jsonread.h). A pull parser over a byte range: the
 * caller drives it with what it expects, so there is no tree and no allocation. Strict RFC 8259
 * grammar (no comments, no trailing commas, no NaN); the first error is kept with its byte offset and
 * makes every later call fail, so a caller may check once at the end of a block of reads.
 */
#include "jsonread.h"

#include <stdio.h>
#include <string.h>

void
jsonread_init(JsonReader *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->start = r->p = text;
	r->end = text + len;
}

bool
jsonread_fail(JsonReader *r, const char *message)
{
	if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "%s at byte %ld", message, (long) (r->p - r->start));
	return false;
}

static void
skip_space(JsonReader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* literal: consumes word (true, false, null) when it is next. */
static bool
literal(JsonReader *r, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return jsonread_fail(r, "invalid literal");
	r->p += n;
	return true;
}

JsonType
jsonread_peek(JsonReader *r)
{
	if (r->error[0])
		return JSON_NONE;
	skip_space(r);
	if (r->p >= r->end)
		return JSON_NONE;
	switch (*r->p)
	{
		case '{':
			return JSON_OBJECT;
		case '[':
			return JSON_ARRAY;
		case '"':
			return JSON_STRING;
		case 't':
			return JSON_TRUE;
		case 'f':
			return JSON_FALSE;
		case 'n':
			return JSON_NULL;
		default:
			return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ? JSON_NUMBER : JSON_NONE;
	}
}

static bool
begin(JsonReader *r, char open)
{
	if (r->error[0])
		return false;
	skip_space(r);
	if (r->p >= r->end || *r->p != open)
		return jsonread_fail(r, open == '{' ? "expected an object" : "expected an array");
	if (r->depth >= JSONREAD_MAX_DEPTH)
		return jsonread_fail(r, "nested too deeply");
	r->p++;
	r->depth++;
	r->first = true;
	return true;
}

bool
jsonread_begin_object(JsonReader *r)
{
	return begin(r, '{');
}

bool
jsonread_begin_array(JsonReader *r)
{
	return begin(r, '[');
}

/* next_member: the separator before the next member or item: 1 = one follows, 0 = close consumed. */
static int
next_member(JsonReader *r, char close)
{
	if (r->error[0])
		return -1;
	skip_space(r);
	if (r->p >= r->end)
		return jsonread_fail(r, "unexpected end of input"), -1;
	if (*r->p == close && r->first)
	{
		r->p++;
		r->depth--;
		r->first = false;
		return 0;
	}
	if (!r->first)
	{
		if (*r->p == close)
		{
			r->p++;
			r->depth--;
			return 0;
		}
		if (*r->p != ',')
			return jsonread_fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'"), -1;
		r->p++;
		skip_space(r);
	}
	r->first = false;
	return 1;
}

/* hex4: four hex digits at r->p into *out. */
static bool
hex4(JsonReader *r, unsigned *out)
{
	*out = 0;
	if (r->end - r->p < 4)
		return jsonread_fail(r, "short \\u escape");
	for (int i = 0; i < 4; i++)
	{
		char		c = *r->p++;

		*out <<= 4;
		if (c >= '0' && c <= '9')
			*out |= (unsigned) (c - '0');
		else if (c >= 'a' && c <= 'f')
			*out |= (unsigned) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*out |= (unsigned) (c - 'A' + 10);
		else
			return jsonread_fail(r, "bad hex digit in a \\u escape");
	}
	return true;
}

/* put: appends byte c to out (NULL = skipping); false when it does not fit. */
static bool
put(JsonReader *r, char *out, size_t outlen, size_t *n, char c)
{
	if (!out)
		return true;
	if (*n + 1 >= outlen)
		return jsonread_fail(r, "string too long");
	out[(*n)++] = c;
	return true;
}

/* put_code: code point cp as UTF-8. */
static bool
put_code(JsonReader *r, char *out, size_t outlen, size_t *n, unsigned cp)
{
	if (cp < 0x80)
		return put(r, out, outlen, n, (char) cp);
	if (cp < 0x800)
		return put(r, out, outlen, n, (char) (0xC0 | (cp >> 6))) &&
			put(r, out, outlen, n, (char) (0x80 | (cp & 0x3F)));
	if (cp < 0x10000)
		return put(r, out, outlen, n, (char) (0xE0 | (cp >> 12))) &&
			put(r, out, outlen, n, (char) (0x80 | ((cp >> 6) & 0x3F))) &&
			put(r, out, outlen, n, (char) (0x80 | (cp & 0x3F)));
	return put(r, out, outlen, n, (char) (0xF0 | (cp >> 18))) &&
		put(r, out, outlen, n, (char) (0x80 | ((cp >> 12) & 0x3F))) &&
		put(r, out, outlen, n, (char) (0x80 | ((cp >> 6) & 0x3F))) &&
		put(r, out, outlen, n, (char) (0x80 | (cp & 0x3F)));
}

/* escape: the escape after a backslash. */
static bool
escape(JsonReader *r, char *out, size_t outlen, size_t *n)
{
	unsigned	cp;
	unsigned	low;
	const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";

	if (r->p >= r->end)
		return jsonread_fail(r, "unterminated string");
	for (const char *s = simple; *s; s += 2)
		if (*r->p == s[0])
		{
			r->p++;
			return put(r, out, outlen, n, s[1]);
		}
	if (*r->p++ != 'u')
		return jsonread_fail(r, "invalid escape in a string");
	if (!hex4(r, &cp))
		return false;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return jsonread_fail(r, "lone low surrogate in a string");
	if (cp >= 0xD800 && cp <= 0xDBFF)
	{
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return jsonread_fail(r, "lone high surrogate in a string");
		r->p += 2;
		if (!hex4(r, &low))
			return false;
		if (low < 0xDC00 || low > 0xDFFF)
			return jsonread_fail(r, "high surrogate without its low surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}
	if (cp == 0)
		return jsonread_fail(r, "NUL in a string");
	return put_code(r, out, outlen, n, cp);
}

/* read_string: a string at r->p into out (NULL = skip it). */
static bool
read_string(JsonReader *r, char *out, size_t outlen)
{
	size_t		n = 0;

	if (r->error[0])
		return false;
	skip_space(r);
	if (r->p >= r->end || *r->p != '"')
		return jsonread_fail(r, "expected a string");
	r->p++;
	for (;;)
	{
		unsigned char c;

		if (r->p >= r->end)
			return jsonread_fail(r, "unterminated string");
		c = (unsigned char) *r->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return jsonread_fail(r, "control character in a string");
		if (c == '\\')
		{
			r->p++;
			if (!escape(r, out, outlen, &n))
				return false;
			continue;
		}
		if (!put(r, out, outlen, &n, (char) c))
			return false;
		r->p++;
	}
	r->p++;
	if (out)
		out[n] = '\0';
	return true;
}

bool
jsonread_string(JsonReader *r, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return jsonread_fail(r, "no room for a string");
	return read_string(r, out, outlen);
}

int
jsonread_next_key(JsonReader *r, char *key, size_t keylen)
{
	int			more = next_member(r, '}');

	if (more != 1)
		return more;
	if (!jsonread_string(r, key, keylen))
		return -1;
	skip_space(r);
	if (r->p >= r->end || *r->p != ':')
		return jsonread_fail(r, "expected ':' after a key"), -1;
	r->p++;
	return 1;
}

int
jsonread_next_item(JsonReader *r)
{
	return next_member(r, ']');
}

/*
 * scan_number: the extent of a JSON number at r->p; *integral says whether it has no fraction and no
 * exponent. Leaves r->p after it.
 */
static bool
scan_number(JsonReader *r, bool *integral)
{
	*integral = true;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return jsonread_fail(r, "expected a number");
	if (*r->p == '0')
		r->p++;
	else
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	if (r->p < r->end && *r->p == '.')
	{
		*integral = false;
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return jsonread_fail(r, "expected digits after '.'");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
	{
		*integral = false;
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return jsonread_fail(r, "expected digits in an exponent");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	return true;
}

bool
jsonread_int64(JsonReader *r, int64_t *out)
{
	const char *digits;
	bool		integral;
	bool		negative;
	uint64_t	value = 0;
	uint64_t	limit;

	if (r->error[0])
		return false;
	skip_space(r);
	digits = r->p;
	if (!scan_number(r, &integral))
		return false;
	if (!integral)
		return jsonread_fail(r, "expected a whole number");
	negative = *digits == '-';
	limit = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (const char *d = digits + negative; d < r->p; d++)
	{
		unsigned	digit = (unsigned) (*d - '0');

		if (value > (limit - digit) / 10)
			return jsonread_fail(r, "number out of range");
		value = value * 10 + digit;
	}
	*out = negative ? (int64_t) (0 - value) : (int64_t) value;
	return true;
}

bool
jsonread_bool(JsonReader *r, bool *out)
{
	switch (jsonread_peek(r))
	{
		case JSON_TRUE:
			*out = true;
			return literal(r, "true");
		case JSON_FALSE:
			*out = false;
			return literal(r, "false");
		default:
			return jsonread_fail(r, "expected true or false");
	}
}

bool
jsonread_skip(JsonReader *r)
{
	bool		integral;
	int			more;

	switch (jsonread_peek(r))
	{
		case JSON_OBJECT:
			if (!jsonread_begin_object(r))
				return false;
			while ((more = next_member(r, '}')) == 1)
			{
				if (!read_string(r, NULL, 0))
					return false;
				skip_space(r);
				if (r->p >= r->end || *r->p != ':')
					return jsonread_fail(r, "expected ':' after a key");
				r->p++;
				if (!jsonread_skip(r))
					return false;
				r->first = false;
			}
			return more == 0;
		case JSON_ARRAY:
			if (!jsonread_begin_array(r))
				return false;
			while ((more = next_member(r, ']')) == 1)
			{
				if (!jsonread_skip(r))
					return false;
				r->first = false;
			}
			return more == 0;
		case JSON_STRING:
			return read_string(r, NULL, 0);
		case JSON_NUMBER:
			return scan_number(r, &integral);
		case JSON_TRUE:
			return literal(r, "true");
		case JSON_FALSE:
			return literal(r, "false");
		case JSON_NULL:
			return literal(r, "null");
		default:
			return jsonread_fail(r, r->p >= r->end ? "unexpected end of input" : "expected a value");
	}
}

bool
jsonread_finish(JsonReader *r)
{
	if (r->error[0])
		return false;
	skip_space(r);
	if (r->p != r->end)
		return jsonread_fail(r, "trailing bytes after the document");
	return true;
}
