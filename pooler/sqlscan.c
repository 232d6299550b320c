/*
 * sqlscan.c: owns the lexical rules of SQL text (see sqlscan.h): what is whitespace, a comment, a
 * string constant, a dollar quote, an identifier, a number, an operator. It follows PostgreSQL 15's
 * scan.l closely enough that nothing hidden in a comment, a string or a quoted identifier is ever read
 * as syntax, and reports what it cannot scan as SQLTOK_ERROR rather than guessing:
 *  - block comments nest (/ * / * * / * / is one comment), -- runs to the end of the line;
 *  - '' strings take backslash escapes only with standard_conforming_strings off; E'' always does;
 *    N'' follows '', B'' and X'' never do; U&'' is an error with standard_conforming_strings off;
 *  - 'a' <whitespace with a newline> 'b' is one constant (the continuation rule), each segment scanned
 *    in the first one's mode;
 *  - $tag$ ... $tag$ with an identifier tag or none; $1 is a parameter;
 *  - an operator ends where a comment starts ("*--x" is "*" and a comment).
 *  - a ';' inside CREATE ... BEGIN ATOMIC ... END ends no statement (SQLTOK_BODY_SEMI).
 * Known simplification: a number directly followed by letters ("123abc", an error in PostgreSQL 15) is
 * a number and an identifier here; no statement boundary depends on it.
 *
 * Tests: test/unit/test_sqlscan.c; test/fuzz/fuzz_sqlscan.c holds the callers to its statement split.
 */
#include "sqlscan.h"

#include <string.h>

/* Character classes. */
#define CC_SPACE	0x01
#define CC_IDSTART	0x02
#define CC_IDCONT	0x04
#define CC_DIGIT	0x08
#define CC_OP		0x10

#define CC_ID (CC_IDSTART | CC_IDCONT)

static const unsigned char char_class[256] = {
	[' '] = CC_SPACE, ['\t'] = CC_SPACE, ['\n'] = CC_SPACE, ['\r'] = CC_SPACE, ['\f'] = CC_SPACE,
	['\v'] = CC_SPACE,
	['a' ... 'z'] = CC_ID, ['A' ... 'Z'] = CC_ID, ['_'] = CC_ID, [0x80 ... 0xFF] = CC_ID,
	['0' ... '9'] = CC_DIGIT | CC_IDCONT,
	['$'] = CC_IDCONT,
	['~'] = CC_OP, ['!'] = CC_OP, ['@'] = CC_OP, ['#'] = CC_OP, ['^'] = CC_OP, ['&'] = CC_OP,
	['|'] = CC_OP, ['`'] = CC_OP, ['?'] = CC_OP, ['+'] = CC_OP, ['-'] = CC_OP, ['*'] = CC_OP,
	['/'] = CC_OP, ['%'] = CC_OP, ['<'] = CC_OP, ['>'] = CC_OP, ['='] = CC_OP,
};

#define IS(c, cls) (char_class[(unsigned char) (c)] & (cls))

/*
 * single_char_token: the token of each character that is a whole token whatever follows it; SQLTOK_EOF
 * (0) for every other character. ':' and '.' are not here: the next character decides theirs.
 */
static const unsigned char single_char_token[256] = {
	[';'] = SQLTOK_SEMI,
	['('] = SQLTOK_LPAREN,
	[')'] = SQLTOK_RPAREN,
	['['] = SQLTOK_LBRACKET,
	[']'] = SQLTOK_RBRACKET,
	[','] = SQLTOK_COMMA,
};

/* skip_block_comment: p points at the opening slash-star; the byte after the matching close, or NULL. */
static const char *
skip_block_comment(const char *p, const char *end)
{
	int			depth = 0;

	while (p + 1 < end)
	{
		if (p[0] == '/' && p[1] == '*')
		{
			depth++;
			p += 2;
		}
		else if (p[0] == '*' && p[1] == '/')
		{
			p += 2;
			if (--depth == 0)
				return p;
		}
		else
			p++;
	}
	return NULL;
}

/* skip_line_comment: p points at "--"; the line end (or end) that closes it. */
static const char *
skip_line_comment(const char *p, const char *end)
{
	while (p < end && *p != '\n' && *p != '\r')
		p++;
	return p;
}

/* scan_quoted: p points just after the opening quote; returns the byte after the closing one or NULL. */
static const char *
scan_quoted(const char *p, const char *end, char quote, bool backslash_escapes)
{
	while (p < end)
	{
		if (backslash_escapes && *p == '\\')
		{
			p += 2;
			continue;
		}
		if (*p == quote)
		{
			if (p + 1 < end && p[1] == quote)
			{
				p += 2;
				continue;
			}
			return p + 1;
		}
		p++;
	}
	return NULL;
}

/*
 * scan_string: p points just after the opening quote of a string constant; returns the byte after
 * its end or NULL when unterminated. Follows PostgreSQL's continuation rule: 'a' <whitespace with a
 * newline, -- comments allowed> 'b' is one constant, and every segment is scanned in the first
 * segment's mode (an E'' string's continuations take backslash escapes too).
 */
static const char *
scan_string(const char *p, const char *end, bool backslash_escapes)
{
	for (;;)
	{
		const char *q = scan_quoted(p, end, '\'', backslash_escapes);
		bool		newline = false;

		if (!q)
			return NULL;
		p = q;
		/* horizontal whitespace and -- comments, then a newline, then any whitespace and comments */
		while (p < end)
		{
			if (*p == ' ' || *p == '\t' || *p == '\f' || (newline && IS(*p, CC_SPACE)))
				p++;
			else if (*p == '\n' || *p == '\r')
			{
				newline = true;
				p++;
			}
			else if (p + 1 < end && p[0] == '-' && p[1] == '-')
			{
				p = skip_line_comment(p, end);
				if (p >= end)
					break;
			}
			else
				break;
		}
		if (!newline || p >= end || *p != '\'')
			return q;
		p++;					/* a continuation segment */
	}
}

/* scan_dollar: p points at the '$' that opens $tag$; the byte after the closing $tag$, or NULL. */
static const char *
scan_dollar(const char *p, const char *end)
{
	const char *tag_end = p + 1;
	const char *q;
	size_t		delim_len;

	if (tag_end < end && IS(*tag_end, CC_IDSTART))
	{
		tag_end++;
		while (tag_end < end && IS(*tag_end, CC_IDCONT) && *tag_end != '$')
			tag_end++;
	}
	if (tag_end >= end || *tag_end != '$')
		return NULL;
	delim_len = (size_t) (tag_end - p + 1);
	for (q = tag_end + 1;;)
	{
		const char *d = memchr(q, '$', (size_t) (end - q));

		if (!d || (size_t) (end - d) < delim_len)
			return NULL;
		if (memcmp(d, p, delim_len) == 0)
			return d + delim_len;
		q = d + 1;
	}
}

/* scan_number: p points at a digit, or at '.' before one; the byte after the number. */
static const char *
scan_number(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && IS(*q, CC_DIGIT))
		q++;
	if (q < end && *q == '.' && !(q + 1 < end && q[1] == '.'))
	{
		q++;
		while (q < end && IS(*q, CC_DIGIT))
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E'))
	{
		const char *e = q + 1;

		if (e < end && (*e == '+' || *e == '-'))
			e++;
		if (e < end && IS(*e, CC_DIGIT))
		{
			q = e;
			while (q < end && IS(*q, CC_DIGIT))
				q++;
		}
	}
	return q;
}

/* scan_operator: p points at an operator character; the byte after the operator (it ends where a comment starts). */
static const char *
scan_operator(const char *p, const char *end, SqlToken *tok)
{
	const char *q = p + 1;

	while (q < end && IS(*q, CC_OP) &&
		   !(q + 1 < end && ((q[0] == '-' && q[1] == '-') || (q[0] == '/' && q[1] == '*'))))
		q++;
	tok->kind = SQLTOK_OP;
	return q;
}

/*
 * scan_prefixed: p points at an identifier start that may prefix a string (E'', B'', X'', N'', U&'',
 * U&""): sets tok and returns the byte after it, p itself when it prefixes nothing, or NULL on an error.
 */
static inline const char *
scan_prefixed(const SqlScanner *sc, const char *p, SqlToken *tok)
{
	const char *end = sc->end;
	const char *q;
	char		c = *p;

	if (p + 1 < end && p[1] == '\'')
	{
		tok->kind = SQLTOK_STRING;
		if (c == 'e' || c == 'E')
			return scan_string(p + 2, end, true);
		if (c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N')
			return scan_string(p + 2, end, (c == 'n' || c == 'N') && !sc->standard_strings);
	}
	if ((c == 'u' || c == 'U') && p + 2 < end && p[1] == '&' && (p[2] == '\'' || p[2] == '"'))
	{
		tok->flags |= SQLTOK_F_UNICODE;
		if (p[2] == '"')
		{
			q = scan_quoted(p + 3, end, '"', false);
			tok->kind = SQLTOK_QIDENT;
			tok->s = p + 3;
			tok->len = q ? (size_t) (q - p - 4) : 0;
			return q;
		}
		/* U&'' is only legal with standard_conforming_strings on; PostgreSQL errors otherwise */
		tok->kind = SQLTOK_STRING;
		return sc->standard_strings ? scan_string(p + 3, end, false) : NULL;
	}
	return p;
}

/* skip_blank: past whitespace and (unless kept) comments; sets *error on an unterminated comment. */
static inline const char *
skip_blank(const SqlScanner *sc, const char *p, bool *error)
{
	const char *end = sc->end;

	for (;;)
	{
		while (p < end && IS(*p, CC_SPACE))
			p++;
		if (sc->keep_comments || p + 1 >= end)
			return p;
		if (p[0] == '-' && p[1] == '-')
			p = skip_line_comment(p, end);
		else if (p[0] == '/' && p[1] == '*')
		{
			if (!(p = skip_block_comment(p, end)))
			{
				*error = true;
				return end;
			}
		}
		else
			return p;
	}
}

void
sqlscan_init(SqlScanner *sc, const char *sql, size_t len, bool standard_conforming_strings)
{
	sc->p = sql ? sql : "";
	sc->end = sc->p + (sql ? len : 0);
	sc->standard_strings = standard_conforming_strings;
	sc->keep_comments = false;
	sc->at_start = true;
	sc->in_create = false;
	sc->after_begin = false;
	sc->atomic_depth = 0;
}

/*
 * track_statement: the statement state after tok (not a comment). A CREATE statement's BEGIN ATOMIC
 * opens a body that only its END closes, CASE ... END nesting inside it (the rule sqlroute.c's classifier
 * followed before it moved here); its ';'s become SQLTOK_BODY_SEMI.
 */
static void
track_statement(SqlScanner *sc, SqlToken *tok)
{
	bool		begin = false;

	if (tok->kind == SQLTOK_SEMI)
	{
		if (sc->atomic_depth > 0)
			tok->kind = SQLTOK_BODY_SEMI;
		else
		{
			sc->at_start = true;
			sc->in_create = false;
			sc->after_begin = false;
			return;
		}
	}
	else if (tok->kind == SQLTOK_IDENT)
	{
		if (sc->at_start)
			sc->in_create = sqlscan_is_word(tok, "create");
		else if (sc->in_create)
		{
			if ((sc->after_begin && sqlscan_is_word(tok, "atomic")) ||
				(sc->atomic_depth > 0 && sqlscan_is_word(tok, "case")))
				sc->atomic_depth++;
			else if (sc->atomic_depth > 0 && sqlscan_is_word(tok, "end"))
				sc->atomic_depth--;
			begin = sqlscan_is_word(tok, "begin");
		}
	}
	sc->at_start = false;
	sc->after_begin = begin;
}

/*
 * sqlscan_next: one token. q is where the token ends; tok->s/len default to [p, q) and are set apart
 * only for the quoted identifiers (their inside).
 */
void
sqlscan_next(SqlScanner *sc, SqlToken *tok)
{
	const char *end = sc->end;
	bool		error = false;
	const char *p = skip_blank(sc, sc->p, &error);
	const char *q = NULL;

	tok->flags = 0;
	tok->s = p;
	tok->len = 0;
	if (error)
		goto error;
	if (p >= end)
	{
		tok->kind = SQLTOK_EOF;
		sc->p = p;
		return;
	}
	if (single_char_token[(unsigned char) *p] != SQLTOK_EOF)
	{
		tok->kind = (SqlTokenKind) single_char_token[(unsigned char) *p];
		q = p + 1;
	}
	else
		switch (*p)
		{
			case '-':
			case '/':
				if (p + 1 < end && p[1] == (*p == '-' ? '-' : '*'))
				{
					/* only with keep_comments: skip_blank took them otherwise */
					tok->kind = SQLTOK_COMMENT;
					q = p[0] == '-' ? skip_line_comment(p, end) : skip_block_comment(p, end);
				}
				else
					q = scan_operator(p, end, tok);
				break;
			case ':':
				tok->kind = p + 1 < end && p[1] == ':' ? SQLTOK_TYPECAST :
					p + 1 < end && p[1] == '=' ? SQLTOK_OP : SQLTOK_COLON;
				q = p + (tok->kind == SQLTOK_COLON ? 1 : 2);
				break;
			case '.':
				if (p + 1 < end && IS(p[1], CC_DIGIT))
				{
					tok->kind = SQLTOK_NUMBER;
					q = scan_number(p, end);
				}
				else
				{
					tok->kind = SQLTOK_DOT;
					q = p + 1;
				}
				break;
			case '\'':
				tok->kind = SQLTOK_STRING;
				q = scan_string(p + 1, end, !sc->standard_strings);
				break;
			case '"':
				q = scan_quoted(p + 1, end, '"', false);
				tok->kind = SQLTOK_QIDENT;
				tok->s = p + 1;
				tok->len = q ? (size_t) (q - p - 2) : 0;
				break;
			case '$':
				if (p + 1 < end && IS(p[1], CC_DIGIT))
				{
					tok->kind = SQLTOK_PARAM;
					for (q = p + 1; q < end && IS(*q, CC_DIGIT);)
						q++;
				}
				else
				{
					tok->kind = SQLTOK_STRING;
					q = scan_dollar(p, end);
				}
				break;
			default:
				if (IS(*p, CC_DIGIT))
				{
					tok->kind = SQLTOK_NUMBER;
					q = scan_number(p, end);
				}
				else if (IS(*p, CC_IDSTART))
				{
					q = scan_prefixed(sc, p, tok);
					if (q == p)
					{
						tok->kind = SQLTOK_IDENT;
						for (q = p + 1; q < end && IS(*q, CC_IDCONT);)
							q++;
					}
				}
				else if (IS(*p, CC_OP))
					q = scan_operator(p, end, tok);
				break;
		}
	if (!q)
		goto error;
	if (tok->kind == SQLTOK_QIDENT && tok->len == 0)
		goto error;				/* "" is a zero-length identifier, which PostgreSQL refuses */
	if (tok->kind != SQLTOK_QIDENT)
		tok->len = (size_t) (q - p);
	sc->p = q;
	if (tok->kind != SQLTOK_COMMENT)
		track_statement(sc, tok);
	return;

error:
	tok->kind = SQLTOK_ERROR;
	tok->flags = 0;
	tok->s = p;
	tok->len = 0;
	sc->p = end;
}

size_t
sqlscan_name(const SqlToken *tok, char *out)
{
	size_t		n = 0;				/* bytes of the whole name */
	size_t		kept = 0;

	if (tok->kind == SQLTOK_IDENT || tok->kind == SQLTOK_QIDENT)
		for (size_t i = 0; i < tok->len; i++, n++)
		{
			char		c = tok->s[i];

			if (tok->kind == SQLTOK_IDENT)
				c = (c >= 'A' && c <= 'Z') ? (char) (c + 32) : c;
			else if (c == '"')
				i++;			/* a doubled quote inside "..." */
			if (n <= SQLSCAN_NAME_MAX)
				out[kept++] = c;	/* one byte past the limit too: the cut looks at it */
		}
	/* a cut never splits a UTF-8 character (PostgreSQL's pg_mbcliplen): back off its leading bytes */
	if (n > SQLSCAN_NAME_MAX)
		for (kept = SQLSCAN_NAME_MAX; kept > 0 && ((unsigned char) out[kept] & 0xC0) == 0x80;)
			kept--;
	out[kept] = '\0';
	return n;
}

bool
sqlscan_is_word(const SqlToken *tok, const char *lower)
{
	if (tok->kind != SQLTOK_IDENT || strlen(lower) != tok->len)
		return false;
	for (size_t i = 0; i < tok->len; i++)
	{
		unsigned char c = (unsigned char) tok->s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != (unsigned char) lower[i])
			return false;
	}
	return true;
}

bool
sqlscan_is_op(const SqlToken *tok, const char *op)
{
	return tok->kind == SQLTOK_OP && tok->len == strlen(op) && memcmp(tok->s, op, tok->len) == 0;
}

bool
sqlscan_first_word(const char *sql, bool standard_conforming_strings, const char *lower)
{
	SqlScanner	sc;
	SqlToken	tok;

	sqlscan_init(&sc, sql, strlen(sql), standard_conforming_strings);
	do
		sqlscan_next(&sc, &tok);
	while (tok.kind == SQLTOK_SEMI);
	return sqlscan_is_word(&tok, lower);
}

int
sqlscan_next_statement(SqlScanner *sc, SqlToken *tokens, int max)
{
	SqlToken	tok;
	int			n = 0;

	for (;;)
	{
		sqlscan_next(sc, &tok);
		if (tok.kind == SQLTOK_ERROR)
			return -1;
		if (tok.kind == SQLTOK_EOF)
			return n;
		if (tok.kind == SQLTOK_SEMI)
		{
			if (n > 0)
				return n;
			continue;			/* an empty statement */
		}
		if (n < max)
			tokens[n] = tok;
		n++;
	}
}

int
sqlscan_statements(const char *sql, size_t len, bool standard_conforming_strings)
{
	SqlScanner	sc;
	int			statements = 0;
	int			n;

	sqlscan_init(&sc, sql, len, standard_conforming_strings);
	while ((n = sqlscan_next_statement(&sc, NULL, 0)) > 0)
		statements++;
	return n < 0 ? -1 : statements;
}
