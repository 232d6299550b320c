/*
 * sqlscan.h: the pooler's one SQL scanner (sqlscan.c). Every module that reads SQL text a client sent
 * (sqlroute.c's classifier and statement walkers, params.c's SET search_path, prepared.c's DEALLOCATE,
 * notify.c's lone LISTEN, client.c's DISCARD) takes its tokens from here, so that one place decides what
 * is a comment, a string, a dollar quote or a quoted identifier, the way PostgreSQL 15's scan.l does.
 *
 * The scanner is pure: no allocation, no global state; a SqlScanner is a cursor over text the caller
 * keeps alive. It also decides where statements end: at a ';' outside the body of a CREATE FUNCTION or
 * PROCEDURE ... BEGIN ATOMIC ... END (whose ';'s are SQLTOK_BODY_SEMI), as PostgreSQL's grammar does. Text PostgreSQL would reject (an unterminated quote or comment, a byte that starts no
 * token, U&'' with standard_conforming_strings off) yields SQLTOK_ERROR, and SQLTOK_EOF for ever after:
 * callers treat such text as something they do not understand.
 */
#ifndef FAREGATE_SQLSCAN_H
#define FAREGATE_SQLSCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum SqlTokenKind
{
	SQLTOK_EOF,					/* end of the text */
	SQLTOK_ERROR,				/* text PostgreSQL would reject here; s = where, len = 0 */
	SQLTOK_SEMI,				/* ';' that ends a statement */
	SQLTOK_BODY_SEMI,			/* ';' inside a CREATE ... BEGIN ATOMIC ... END body: ends no statement */
	SQLTOK_IDENT,				/* unquoted identifier or keyword, as written (fold with sqlscan_name) */
	SQLTOK_QIDENT,				/* "quoted identifier" or U&"..."; s/len = between the quotes, "" kept */
	SQLTOK_STRING,				/* any string constant ('', E'', B'', X'', N'', U&'', $tag$..$tag$),
								 * prefix, quotes and continuation segments included */
	SQLTOK_NUMBER,				/* 42, 4.2, .5, 1e-3 */
	SQLTOK_PARAM,				/* $1 */
	SQLTOK_OP,					/* an operator (also := and =>) */
	SQLTOK_LPAREN,
	SQLTOK_RPAREN,
	SQLTOK_LBRACKET,
	SQLTOK_RBRACKET,
	SQLTOK_COMMA,
	SQLTOK_DOT,
	SQLTOK_TYPECAST,			/* '::' */
	SQLTOK_COLON,				/* ':' (array slices) */
	SQLTOK_COMMENT				/* -- ... or nested / * ... * /, only with keep_comments; s/len = all of it */
} SqlTokenKind;

/* SqlToken.flags */
#define SQLTOK_F_UNICODE	0x01	/* U&'...' or U&"...": its escapes (and UESCAPE) are not undone here */

typedef struct SqlToken
{
	SqlTokenKind kind;
	unsigned char flags;		/* SQLTOK_F_* */
	const char *s;
	size_t		len;
} SqlToken;

/* A cursor over len bytes of SQL text; fill it with sqlscan_init. */
typedef struct SqlScanner
{
	const char *p;				/* the next byte to scan */
	const char *end;
	bool		standard_strings;	/* standard_conforming_strings: '\' is plain in '' and N'' */
	bool		keep_comments;	/* return comments as SQLTOK_COMMENT instead of skipping them */
	/* statement state, for the ';'s of BEGIN ATOMIC bodies (sqlscan_next keeps it) */
	bool		at_start;		/* the next token is the first of a statement */
	bool		in_create;		/* the statement starts with CREATE */
	bool		after_begin;	/* the last token was the word BEGIN */
	int			atomic_depth;	/* open BEGIN ATOMIC (and CASE inside one) waiting for END */
} SqlScanner;

/* The longest name PostgreSQL keeps (NAMEDATALEN - 1); longer ones are cut to it. */
#define SQLSCAN_NAME_MAX 63

/*
 * sqlscan_init: a scanner over the len bytes at sql (need not be NUL-terminated; NULL with len 0 is the
 * empty text) under standard_conforming_strings; comments are skipped (set keep_comments to see them).
 */
void		sqlscan_init(SqlScanner *sc, const char *sql, size_t len, bool standard_conforming_strings);

/* sqlscan_next: the next token into *tok (whitespace is never a token). */
void		sqlscan_next(SqlScanner *sc, SqlToken *tok);

/*
 * sqlscan_name: an SQLTOK_IDENT or SQLTOK_QIDENT as PostgreSQL names it (unquoted: ASCII down-cased;
 * quoted: "" undone) into out (SQLSCAN_NAME_MAX + 1 bytes), cut to SQLSCAN_NAME_MAX bytes on a UTF-8
 * character boundary as the server cuts it. Returns the length before any cut (so > SQLSCAN_NAME_MAX
 * says it was cut); 0 and "" for any other token.
 */
size_t		sqlscan_name(const SqlToken *tok, char *out);

/* sqlscan_is_word: tok is the unquoted word lower (given in lower case), ASCII case ignored. */
bool		sqlscan_is_word(const SqlToken *tok, const char *lower);

/* sqlscan_is_op: tok is the operator op exactly. */
bool		sqlscan_is_op(const SqlToken *tok, const char *op);

/* sqlscan_ends_statement: tok ends a statement (';', the end, or an error). */
static inline bool
sqlscan_ends_statement(const SqlToken *tok)
{
	return tok->kind == SQLTOK_SEMI || tok->kind == SQLTOK_EOF || tok->kind == SQLTOK_ERROR;
}

/*
 * sqlscan_first_word: the first token of the first statement of sql (NUL-terminated) is the unquoted
 * word lower; leading comments and empty statements (';') are skipped.
 */
bool		sqlscan_first_word(const char *sql, bool standard_conforming_strings, const char *lower);

/*
 * sqlscan_next_statement: steps sc over the next non-empty statement (through its ';' or the end),
 * copying its first max tokens into tokens. Returns how many tokens it has (may exceed max; only max
 * are stored), 0 when no statement is left, -1 when the text cannot be scanned. The statement walk
 * every reader that goes statement by statement shares (sqlscan_statements, sqlroute_listen_statements).
 */
int			sqlscan_next_statement(SqlScanner *sc, SqlToken *tokens, int max);

/*
 * sqlscan_statements: how many non-empty statements the len bytes at sql hold (SQLTOK_SEMI splits them,
 * comments alone make none), -1 when the text cannot be scanned. The reference the fuzz target holds callers to.
 */
int			sqlscan_statements(const char *sql, size_t len, bool standard_conforming_strings);

#endif
