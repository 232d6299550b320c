/*
 * test_sqlscan.c: sqlscan.c, the pooler's one SQL scanner: every token kind, comments (nested, --, kept
 * or skipped), every string form under standard_conforming_strings on and off, continuation segments,
 * dollar quotes with tags, quoted and U& identifiers, numbers, parameters, operators that end where a
 * comment starts, what PostgreSQL rejects, name folding and cutting, and the statement split.
 */
#include <stdio.h>
#include <string.h>

#include "sqlscan.h"
#include "tap.h"

/* kind_tag: a short tag per token kind for the expected strings below. */
static const char *
kind_tag(SqlTokenKind kind)
{
	static const char *const tags[] = {
		[SQLTOK_EOF] = "eof", [SQLTOK_ERROR] = "ERR", [SQLTOK_SEMI] = ";", [SQLTOK_BODY_SEMI] = "b;", [SQLTOK_IDENT] = "id",
		[SQLTOK_QIDENT] = "qid", [SQLTOK_STRING] = "str", [SQLTOK_NUMBER] = "num", [SQLTOK_PARAM] = "par",
		[SQLTOK_OP] = "op", [SQLTOK_LPAREN] = "(", [SQLTOK_RPAREN] = ")", [SQLTOK_LBRACKET] = "[",
		[SQLTOK_RBRACKET] = "]", [SQLTOK_COMMA] = ",", [SQLTOK_DOT] = ".", [SQLTOK_TYPECAST] = "::",
		[SQLTOK_COLON] = ":", [SQLTOK_COMMENT] = "com",
	};

	return tags[kind];
}

/* tokens: the text's tokens as "tag<text>" joined by spaces ("U" after the tag for SQLTOK_F_UNICODE). */
static const char *
tokens(const char *sql, bool scs, bool keep_comments)
{
	static char out[1024];
	SqlScanner	sc;
	SqlToken	tok;
	size_t		n = 0;

	out[0] = '\0';
	sqlscan_init(&sc, sql, strlen(sql), scs);
	sc.keep_comments = keep_comments;
	for (int i = 0; i < 64; i++)
	{
		sqlscan_next(&sc, &tok);
		if (tok.kind == SQLTOK_EOF)
			break;
		n += (size_t) snprintf(out + n, sizeof(out) - n, "%s%s%s<%.*s>", n ? " " : "", kind_tag(tok.kind),
							   (tok.flags & SQLTOK_F_UNICODE) ? "U" : "", (int) tok.len, tok.s);
		if (tok.kind == SQLTOK_ERROR)
		{
			sqlscan_next(&sc, &tok);
			if (tok.kind != SQLTOK_EOF)
				n += (size_t) snprintf(out + n, sizeof(out) - n, " (not EOF after the error)");
			break;
		}
	}
	return out;
}

static void
test_kinds(void)
{
	tap_is_str(tokens("SELECT a.b, \"X\"\"y\" FROM t;", true, false),
			   "id<SELECT> id<a> .<.> id<b> ,<,> qid<X\"\"y> id<FROM> id<t> ;<;>", "words, names, punctuation");
	tap_is_str(tokens("x::int[1:2] := $1 => $12", true, false),
			   "id<x> ::<::> id<int> [<[> num<1> :<:> num<2> ]<]> op<:=> par<$1> op<=>> par<$12>",
			   "casts, slices, parameters, := and =>");
	tap_is_str(tokens("1 4.2 .5 1e-3 1.e5 2E+x 1..2", true, false),
			   "num<1> num<4.2> num<.5> num<1e-3> num<1.e5> num<2> id<E> op<+> id<x> num<1> .<.> num<.2>",
			   "numbers (an exponent needs a digit; 1..2 is 1, a dot and .2 as in scan.l)");
	tap_is_str(tokens("a+-b <> c*--x\nd /*c*/ e|/*y*/f", true, false),
			   "id<a> op<+-> id<b> op<<>> id<c> op<*> id<d> id<e> op<|> id<f>",
			   "an operator ends where a comment starts");
	tap_is_str(tokens("a$b _x é1", true, false), "id<a$b> id<_x> id<é1>", "identifier characters ($, _, non-ASCII)");
	tap_is_str(tokens("", true, false), "", "empty text");
	tap_is_str(tokens(" \t\r\n\f\v", true, false), "", "only whitespace");
}

static void
test_comments(void)
{
	tap_is_str(tokens("/* a /* nested */ still */ x -- line\ny", true, false), "id<x> id<y>",
			   "nested block comments and -- skipped");
	tap_is_str(tokens("/* a /* nested */ still */ x -- line\ny", true, true),
			   "com</* a /* nested */ still */> id<x> com<-- line> id<y>", "kept: whole comments as tokens");
	tap_is_str(tokens("x /* a */ */", true, false), "id<x> op<*/>", "a stray close is an operator");
	tap_is_str(tokens("x /* a /* b */", true, false), "id<x> ERR<>", "unclosed nesting: error");
	tap_is_str(tokens("x /* a /* b */", true, true), "id<x> ERR<>", "unclosed nesting, kept: error");
	tap_is_str(tokens("x -- no newline", true, false), "id<x>", "-- to the end");
	tap_is_str(tokens("x --a\r;", true, false), "id<x> ;<;>", "-- ends at a carriage return");
	tap_is_str(tokens("'a' -- c\n'b'", true, false), "str<'a' -- c\n'b'>", "a -- comment inside a continuation");
}

static void
test_strings(void)
{
	tap_is_str(tokens("'it''s' 'a\\' x", true, false), "str<'it''s'> str<'a\\'> id<x>", "scs on: backslash plain");
	tap_is_str(tokens("'a\\' x'", false, false), "str<'a\\' x'>", "scs off: backslash escapes the quote");
	tap_is_str(tokens("E'a\\'b' e'\\\\'", true, false), "str<E'a\\'b'> str<e'\\\\'>", "E'' always escapes");
	tap_is_str(tokens("N'a\\' x'", false, false), "str<N'a\\' x'>", "N'' follows '' (scs off)");
	tap_is_str(tokens("N'a\\' x", true, false), "str<N'a\\'> id<x>", "N'' follows '' (scs on)");
	tap_is_str(tokens("B'01' X'1F' b'1\\' x", false, false), "str<B'01'> str<X'1F'> str<b'1\\'> id<x>",
			   "B'' and X'' never escape");
	tap_is_str(tokens("U&'d\\0061t' UESCAPE '!'", true, false), "strU<U&'d\\0061t'> id<UESCAPE> str<'!'>",
			   "U&'' with scs on");
	tap_is_str(tokens("U&'x'", false, false), "ERR<>", "U&'' with scs off: error");
	tap_is_str(tokens("u&\"d\\0061\" U&\"\"", true, false), "qidU<d\\0061> ERR<>", "U&\"\" identifier; empty one an error");
	tap_is_str(tokens("'a'\n  'b' 'c'", true, false), "str<'a'\n  'b'> str<'c'>",
			   "continuation needs a newline between the segments");
	tap_is_str(tokens("E'a'\n'\\''", true, false), "str<E'a'\n'\\''>", "continuations keep the first mode");
	tap_is_str(tokens("'abc", true, false), "ERR<>", "unterminated string");
	tap_is_str(tokens("E'abc\\'", true, false), "ERR<>", "unterminated E'' (the quote is escaped)");
	tap_is_str(tokens("\"abc", true, false), "ERR<>", "unterminated quoted identifier");
	tap_is_str(tokens("\"\"", true, false), "ERR<>", "zero-length identifier");
	tap_is_str(tokens("e'x' ex'y'", true, false), "str<e'x'> id<ex> str<'y'>", "only one-letter prefixes");
}

static void
test_dollar(void)
{
	tap_is_str(tokens("$$a ' \" -- $$ $tag$ $$ $tag2$ $tag$ x", true, false), "str<$$a ' \" -- $$> str<$tag$ $$ $tag2$ $tag$> id<x>",
			   "dollar quotes: quotes and comments inside, other tags inside");
	tap_is_str(tokens("$a$b$c", true, false), "ERR<>", "unterminated dollar quote");
	tap_is_str(tokens("$1a $ x", true, false), "par<$1> id<a> ERR<>", "a lone $ is an error");
	tap_is_str(tokens("$_x1$ y $_x1$", true, false), "str<$_x1$ y $_x1$>", "tag with _ and digits");
	tap_is_str(tokens("a$$b$$", true, false), "id<a$$b$$>", "$ inside an identifier is no quote");
}

static void
test_errors(void)
{
	tap_is_str(tokens("SELECT 1 \\ 2", true, false), "id<SELECT> num<1> ERR<>", "a backslash starts no token");
	{
		static const char nul[] = "SELECT \0 1";
		SqlScanner	sc;
		SqlToken	tok;

		sqlscan_init(&sc, nul, sizeof(nul) - 1, true);
		sqlscan_next(&sc, &tok);
		sqlscan_next(&sc, &tok);
		tap_is_long(tok.kind, SQLTOK_ERROR, "a NUL byte inside the text: error");
	}
	{
		SqlScanner	sc;
		SqlToken	tok;

		sqlscan_init(&sc, "'abc' x", 4, true);
		sqlscan_next(&sc, &tok);
		tap_is_long(tok.kind, SQLTOK_ERROR, "bytes after len are not read (the quote closes past it)");
		sqlscan_init(&sc, NULL, 0, true);
		sqlscan_next(&sc, &tok);
		tap_is_long(tok.kind, SQLTOK_EOF, "NULL text of length 0: EOF");
	}
}

static const char *
name_of(const char *sql, size_t *full)
{
	static char out[SQLSCAN_NAME_MAX + 1];
	SqlScanner	sc;
	SqlToken	tok;

	sqlscan_init(&sc, sql, strlen(sql), true);
	sqlscan_next(&sc, &tok);
	*full = sqlscan_name(&tok, out);
	return out;
}

static void
test_names(void)
{
	char		sql[200];
	size_t		full;

	tap_is_str(name_of("MyTable", &full), "mytable", "unquoted: ASCII down-cased");
	tap_is_str(name_of("ÉtÉ", &full), "ÉtÉ", "non-ASCII bytes kept as they are");
	tap_is_str(name_of("\"My\"\"T\"", &full), "My\"T", "quoted: case kept, \"\" undone");
	tap_is_long((long) full, 4, "its length");
	tap_is_str(name_of("'str'", &full), "", "a string is no name");
	memset(sql, 'a', 70);
	sql[70] = '\0';
	tap_is_long((long) strlen(name_of(sql, &full)), 63, "cut to 63 bytes");
	tap_is_long((long) full, 70, "the length before the cut");
	/* 62 ASCII bytes then a 2-byte character: the cut may not split it */
	memset(sql, 'b', 62);
	strcpy(sql + 62, "éz");
	tap_is_long((long) strlen(name_of(sql, &full)), 62, "a cut never splits a UTF-8 character");
	memset(sql, 'b', 61);
	strcpy(sql + 61, "éz");
	tap_is_long((long) strlen(name_of(sql, &full)), 63, "a character that fits is kept");
}

static void
test_helpers(void)
{
	SqlScanner	sc;
	SqlToken	tok;

	sqlscan_init(&sc, "Select \"select\" =", 17, true);
	sqlscan_next(&sc, &tok);
	tap_ok(sqlscan_is_word(&tok, "select") && !sqlscan_is_word(&tok, "selec"), "is_word: case ignored, whole word");
	sqlscan_next(&sc, &tok);
	tap_ok(!sqlscan_is_word(&tok, "select"), "is_word: a quoted name is no word");
	sqlscan_next(&sc, &tok);
	tap_ok(sqlscan_is_op(&tok, "=") && !sqlscan_is_op(&tok, "=="), "is_op");
	tap_ok(sqlscan_first_word(" ; /* c */ ;DISCARD ALL", true, "discard"), "first_word past comments and ';'");
	tap_ok(!sqlscan_first_word("'DISCARD'", true, "discard"), "first_word: not in a string");
	tap_ok(!sqlscan_first_word("/* DISCARD */ SELECT", true, "discard"), "first_word: not in a comment");
	tap_is_long(sqlscan_statements("", 0, true), 0, "statements: none");
	tap_is_long(sqlscan_statements(";; -- c\n/* d */;", 16, true), 0, "statements: comments and ';' only");
	tap_is_long(sqlscan_statements("a; b;c", 6, true), 3, "statements: three");
	tap_is_long(sqlscan_statements("SELECT ';'; $$;$$; \";\"", 22, true), 3, "statements: ';' inside quotes");
	tap_is_long(sqlscan_statements("SELECT 'a\\'; b'", 15, false), 1, "statements: scs off");
	{
		static const char atomic[] = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true "
			"THEN 1 END; SELECT 2; END; SELECT 3; BEGIN; SELECT 4";

		tap_is_long(sqlscan_statements(atomic, strlen(atomic), true), 4,
					"statements: a BEGIN ATOMIC body's ';'s (CASE ... END inside) end none");
		tap_is_str(tokens("create procedure p() begin atomic; end;", true, false),
				   "id<create> id<procedure> id<p> (<(> )<)> id<begin> id<atomic> b;<;> id<end> ;<;>",
				   "a body ';' is SQLTOK_BODY_SEMI");
		tap_is_str(tokens("SELECT begin atomic; x", true, false), "id<SELECT> id<begin> id<atomic> ;<;> id<x>",
				   "BEGIN ATOMIC outside CREATE: ';' ends the statement");
	}
	tap_is_long(sqlscan_statements("SELECT 'a\\'; b'", 15, true), -1, "statements: scs on, unterminated");
}

int
main(void)
{
	test_kinds();
	test_comments();
	test_strings();
	test_dollar();
	test_errors();
	test_names();
	test_helpers();
	return tap_done();
}
