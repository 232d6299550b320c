/*
 * sqlroute.c: owns read/write classification of SQL text (sqlroute_classify) and the function volatility
 * table it consults (RouteVolatility). docs/routing.md states the rules for users; this file is their
 * implementation.
 *
 * Three layers:
 *  - a lexer that follows PostgreSQL's lexical rules (scan.l) closely enough that nothing hidden in a
 *    comment, a string ('', E'', U&'', B'', X'', N''), a dollar quote or a quoted identifier is ever
 *    read as a keyword, and that anything it cannot scan is reported as an error;
 *  - a statement layer that splits the text on ';' and decides each statement's verdict from its
 *    leading keywords (SELECT/VALUES/TABLE/WITH, SHOW, EXPLAIN, COPY ... TO STDOUT, DECLARE, SET,
 *    BEGIN/COMMIT ..., everything else a write);
 *  - a query scanner for the statements that may be reads: it looks at every token at every nesting
 *    level for data-modifying keywords, row locks, SELECT INTO and function calls, and asks the
 *    volatility table about each call.
 *
 * Invariant: the classifier errs towards ROUTE_WRITE. Every rule that lets a statement go to a replica
 * must be provably right; a rule that is merely usually right sends it to the primary. The classifier
 * never allocates and keeps no state between calls (its lookup tables are built once, under
 * pthread_once); only building a RouteVolatility allocates.
 *
 * Tests: test/unit/test_sqlroute.c with the corpus test/unit/route_corpus.txt; test/fuzz/fuzz_route.c;
 * test/integration/50_routing_replica_oracle.py runs the corpus's reads on a real hot standby.
 */
#include "sqlroute.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlscan.h"

/* ------------------------------------------------------------------------------------------------
 * Keywords
 * ------------------------------------------------------------------------------------------------ */

/* PostgreSQL's keyword categories (src/include/parser/kwlist.h); 0 = not a keyword we know. */
enum
{
	KC_NONE = 0,
	KC_UNRESERVED,				/* may name a function */
	KC_COL_NAME,				/* may not name a function: "name(" is SQL syntax (a type, COALESCE ...) */
	KC_TYPE_FUNC,				/* may name a function (left, right ...) */
	KC_RESERVED					/* may not name a function */
};

/* Keyword ids: only the keywords the rules look at, plus all reserved and col-name ones. */
enum
{
	K_NONE = 0,
	K_ABORT, K_ALL, K_ANALYSE, K_ANALYZE, K_AND, K_ANY, K_ARRAY, K_AS, K_ASC, K_ASYMMETRIC, K_ATOMIC,
	K_AUTHORIZATION, K_BEGIN, K_BETWEEN, K_BIGINT, K_BINARY, K_BIT, K_BOOLEAN, K_BOTH, K_BY, K_CASE,
	K_CAST, K_CHAR, K_CHARACTER, K_CHARACTERISTICS, K_CHECK, K_CLOSE, K_COALESCE, K_COLLATE,
	K_COLLATION, K_COLUMN, K_COMMIT, K_CONCURRENTLY, K_CONSTRAINT, K_CONSTRAINTS, K_COPY, K_CREATE,
	K_CROSS, K_CUBE, K_CURRENT_CATALOG, K_CURRENT_DATE, K_CURRENT_ROLE, K_CURRENT_SCHEMA,
	K_CURRENT_TIME, K_CURRENT_TIMESTAMP, K_CURRENT_USER, K_DEC, K_DECIMAL, K_DECLARE, K_DEFAULT,
	K_DEFERRABLE, K_DELETE, K_DESC, K_DISTINCT, K_DO, K_ELSE, K_END, K_EXCEPT, K_EXISTS, K_EXPLAIN,
	K_EXTRACT, K_FALSE, K_FETCH, K_FILTER, K_FIRST, K_FLOAT, K_FOR, K_FOREIGN, K_FREEZE, K_FROM,
	K_FULL, K_GLOBAL, K_GRANT, K_GREATEST, K_GROUP, K_GROUPING, K_HAVING, K_HOLD, K_ILIKE, K_IN,
	K_INITIALLY, K_INNER, K_INOUT, K_INSERT, K_INT, K_INTEGER, K_INTERSECT, K_INTERVAL, K_INTO, K_IS,
	K_ISNULL, K_ISOLATION, K_JOIN, K_KEY, K_LATERAL, K_LEADING, K_LEAST, K_LEFT, K_LEVEL, K_LIKE,
	K_LIMIT, K_LISTEN, K_LOCAL, K_LOCALTIME, K_LOCALTIMESTAMP, K_MATERIALIZED, K_MERGE, K_MOVE,
	K_NATIONAL, K_NATURAL, K_NCHAR, K_NEXT, K_NO, K_NONE_KW, K_NORMALIZE, K_NOT, K_NOTNULL, K_NULL,
	K_NULLIF, K_NUMERIC, K_OFF, K_OFFSET, K_ON, K_ONLY, K_OPERATOR, K_OR, K_ORDER, K_OUT, K_OUTER,
	K_OVER, K_OVERLAPS, K_OVERLAY, K_PARTITION, K_PLACING, K_POSITION, K_PRECISION, K_PREPARE,
	K_PREPARED, K_PRIMARY, K_READ, K_REAL, K_RECURSIVE, K_REFERENCES, K_RELEASE, K_REPEATABLE,
	K_RESET, K_RETURNING, K_RIGHT, K_ROLLBACK, K_ROLLUP, K_ROW, K_SAVEPOINT, K_SELECT, K_SERIALIZABLE,
	K_SESSION, K_SESSION_USER, K_SET, K_SETOF, K_SETS, K_SHARE, K_SHOW, K_SIMILAR, K_SMALLINT,
	K_SNAPSHOT, K_SOME, K_START, K_STDOUT, K_SUBSTRING, K_SYMMETRIC, K_TABLE, K_TABLESAMPLE, K_TEMP,
	K_TEMPORARY, K_THEN, K_TIME, K_TIMESTAMP, K_TO, K_TRAILING, K_TRANSACTION, K_TREAT, K_TRIM,
	K_TRUE, K_UNION, K_UNIQUE, K_UNLISTEN, K_UPDATE, K_USER, K_USING, K_VALUES, K_VARCHAR, K_VARIADIC,
	K_VARYING, K_VERBOSE, K_WHEN, K_WHERE, K_WINDOW, K_WITH, K_WORK, K_WRITE, K_XMLATTRIBUTES,
	K_XMLCONCAT, K_XMLELEMENT, K_XMLEXISTS, K_XMLFOREST, K_XMLNAMESPACES, K_XMLPARSE, K_XMLPI,
	K_XMLROOT, K_XMLSERIALIZE, K_XMLTABLE
};

typedef struct Keyword
{
	const char *name;
	unsigned short id;
	unsigned char category;
} Keyword;

/* Sorted by name (sqlroute_selftest checks it). */
static const Keyword keywords[] = {
	{"abort", K_ABORT, KC_UNRESERVED},
	{"all", K_ALL, KC_RESERVED},
	{"analyse", K_ANALYSE, KC_RESERVED},
	{"analyze", K_ANALYZE, KC_RESERVED},
	{"and", K_AND, KC_RESERVED},
	{"any", K_ANY, KC_RESERVED},
	{"array", K_ARRAY, KC_RESERVED},
	{"as", K_AS, KC_RESERVED},
	{"asc", K_ASC, KC_RESERVED},
	{"asymmetric", K_ASYMMETRIC, KC_RESERVED},
	{"atomic", K_ATOMIC, KC_UNRESERVED},
	{"authorization", K_AUTHORIZATION, KC_TYPE_FUNC},
	{"begin", K_BEGIN, KC_UNRESERVED},
	{"between", K_BETWEEN, KC_COL_NAME},
	{"bigint", K_BIGINT, KC_COL_NAME},
	{"binary", K_BINARY, KC_TYPE_FUNC},
	{"bit", K_BIT, KC_COL_NAME},
	{"boolean", K_BOOLEAN, KC_COL_NAME},
	{"both", K_BOTH, KC_RESERVED},
	{"by", K_BY, KC_UNRESERVED},
	{"case", K_CASE, KC_RESERVED},
	{"cast", K_CAST, KC_RESERVED},
	{"char", K_CHAR, KC_COL_NAME},
	{"character", K_CHARACTER, KC_COL_NAME},
	{"characteristics", K_CHARACTERISTICS, KC_UNRESERVED},
	{"check", K_CHECK, KC_RESERVED},
	{"close", K_CLOSE, KC_UNRESERVED},
	{"coalesce", K_COALESCE, KC_COL_NAME},
	{"collate", K_COLLATE, KC_RESERVED},
	{"collation", K_COLLATION, KC_TYPE_FUNC},
	{"column", K_COLUMN, KC_RESERVED},
	{"commit", K_COMMIT, KC_UNRESERVED},
	{"concurrently", K_CONCURRENTLY, KC_TYPE_FUNC},
	{"constraint", K_CONSTRAINT, KC_RESERVED},
	{"constraints", K_CONSTRAINTS, KC_UNRESERVED},
	{"copy", K_COPY, KC_UNRESERVED},
	{"create", K_CREATE, KC_RESERVED},
	{"cross", K_CROSS, KC_TYPE_FUNC},
	{"cube", K_CUBE, KC_UNRESERVED},
	{"current_catalog", K_CURRENT_CATALOG, KC_RESERVED},
	{"current_date", K_CURRENT_DATE, KC_RESERVED},
	{"current_role", K_CURRENT_ROLE, KC_RESERVED},
	{"current_schema", K_CURRENT_SCHEMA, KC_TYPE_FUNC},
	{"current_time", K_CURRENT_TIME, KC_RESERVED},
	{"current_timestamp", K_CURRENT_TIMESTAMP, KC_RESERVED},
	{"current_user", K_CURRENT_USER, KC_RESERVED},
	{"dec", K_DEC, KC_COL_NAME},
	{"decimal", K_DECIMAL, KC_COL_NAME},
	{"declare", K_DECLARE, KC_UNRESERVED},
	{"default", K_DEFAULT, KC_RESERVED},
	{"deferrable", K_DEFERRABLE, KC_RESERVED},
	{"delete", K_DELETE, KC_UNRESERVED},
	{"desc", K_DESC, KC_RESERVED},
	{"distinct", K_DISTINCT, KC_RESERVED},
	{"do", K_DO, KC_RESERVED},
	{"else", K_ELSE, KC_RESERVED},
	{"end", K_END, KC_RESERVED},
	{"except", K_EXCEPT, KC_RESERVED},
	{"exists", K_EXISTS, KC_COL_NAME},
	{"explain", K_EXPLAIN, KC_UNRESERVED},
	{"extract", K_EXTRACT, KC_COL_NAME},
	{"false", K_FALSE, KC_RESERVED},
	{"fetch", K_FETCH, KC_RESERVED},
	{"filter", K_FILTER, KC_UNRESERVED},
	{"first", K_FIRST, KC_UNRESERVED},
	{"float", K_FLOAT, KC_COL_NAME},
	{"for", K_FOR, KC_RESERVED},
	{"foreign", K_FOREIGN, KC_RESERVED},
	{"freeze", K_FREEZE, KC_TYPE_FUNC},
	{"from", K_FROM, KC_RESERVED},
	{"full", K_FULL, KC_TYPE_FUNC},
	{"global", K_GLOBAL, KC_UNRESERVED},
	{"grant", K_GRANT, KC_RESERVED},
	{"greatest", K_GREATEST, KC_COL_NAME},
	{"group", K_GROUP, KC_RESERVED},
	{"grouping", K_GROUPING, KC_COL_NAME},
	{"having", K_HAVING, KC_RESERVED},
	{"hold", K_HOLD, KC_UNRESERVED},
	{"ilike", K_ILIKE, KC_TYPE_FUNC},
	{"in", K_IN, KC_RESERVED},
	{"initially", K_INITIALLY, KC_RESERVED},
	{"inner", K_INNER, KC_TYPE_FUNC},
	{"inout", K_INOUT, KC_COL_NAME},
	{"insert", K_INSERT, KC_UNRESERVED},
	{"int", K_INT, KC_COL_NAME},
	{"integer", K_INTEGER, KC_COL_NAME},
	{"intersect", K_INTERSECT, KC_RESERVED},
	{"interval", K_INTERVAL, KC_COL_NAME},
	{"into", K_INTO, KC_RESERVED},
	{"is", K_IS, KC_TYPE_FUNC},
	{"isnull", K_ISNULL, KC_TYPE_FUNC},
	{"isolation", K_ISOLATION, KC_UNRESERVED},
	{"join", K_JOIN, KC_TYPE_FUNC},
	{"key", K_KEY, KC_UNRESERVED},
	{"lateral", K_LATERAL, KC_RESERVED},
	{"leading", K_LEADING, KC_RESERVED},
	{"least", K_LEAST, KC_COL_NAME},
	{"left", K_LEFT, KC_TYPE_FUNC},
	{"level", K_LEVEL, KC_UNRESERVED},
	{"like", K_LIKE, KC_TYPE_FUNC},
	{"limit", K_LIMIT, KC_RESERVED},
	{"listen", K_LISTEN, KC_UNRESERVED},
	{"local", K_LOCAL, KC_UNRESERVED},
	{"localtime", K_LOCALTIME, KC_RESERVED},
	{"localtimestamp", K_LOCALTIMESTAMP, KC_RESERVED},
	{"materialized", K_MATERIALIZED, KC_UNRESERVED},
	{"merge", K_MERGE, KC_UNRESERVED},
	{"move", K_MOVE, KC_UNRESERVED},
	{"national", K_NATIONAL, KC_COL_NAME},
	{"natural", K_NATURAL, KC_TYPE_FUNC},
	{"nchar", K_NCHAR, KC_COL_NAME},
	{"next", K_NEXT, KC_UNRESERVED},
	{"no", K_NO, KC_UNRESERVED},
	{"none", K_NONE_KW, KC_COL_NAME},
	{"normalize", K_NORMALIZE, KC_COL_NAME},
	{"not", K_NOT, KC_RESERVED},
	{"notnull", K_NOTNULL, KC_TYPE_FUNC},
	{"null", K_NULL, KC_RESERVED},
	{"nullif", K_NULLIF, KC_COL_NAME},
	{"numeric", K_NUMERIC, KC_COL_NAME},
	{"off", K_OFF, KC_NONE},
	{"offset", K_OFFSET, KC_RESERVED},
	{"on", K_ON, KC_RESERVED},
	{"only", K_ONLY, KC_RESERVED},
	{"operator", K_OPERATOR, KC_UNRESERVED},
	{"or", K_OR, KC_RESERVED},
	{"order", K_ORDER, KC_RESERVED},
	{"out", K_OUT, KC_COL_NAME},
	{"outer", K_OUTER, KC_TYPE_FUNC},
	{"over", K_OVER, KC_UNRESERVED},
	{"overlaps", K_OVERLAPS, KC_TYPE_FUNC},
	{"overlay", K_OVERLAY, KC_COL_NAME},
	{"partition", K_PARTITION, KC_UNRESERVED},
	{"placing", K_PLACING, KC_RESERVED},
	{"position", K_POSITION, KC_COL_NAME},
	{"precision", K_PRECISION, KC_COL_NAME},
	{"prepare", K_PREPARE, KC_UNRESERVED},
	{"prepared", K_PREPARED, KC_UNRESERVED},
	{"primary", K_PRIMARY, KC_RESERVED},
	{"read", K_READ, KC_UNRESERVED},
	{"real", K_REAL, KC_COL_NAME},
	{"recursive", K_RECURSIVE, KC_UNRESERVED},
	{"references", K_REFERENCES, KC_RESERVED},
	{"release", K_RELEASE, KC_UNRESERVED},
	{"repeatable", K_REPEATABLE, KC_UNRESERVED},
	{"reset", K_RESET, KC_UNRESERVED},
	{"returning", K_RETURNING, KC_RESERVED},
	{"right", K_RIGHT, KC_TYPE_FUNC},
	{"rollback", K_ROLLBACK, KC_UNRESERVED},
	{"rollup", K_ROLLUP, KC_UNRESERVED},
	{"row", K_ROW, KC_COL_NAME},
	{"savepoint", K_SAVEPOINT, KC_UNRESERVED},
	{"select", K_SELECT, KC_RESERVED},
	{"serializable", K_SERIALIZABLE, KC_UNRESERVED},
	{"session", K_SESSION, KC_UNRESERVED},
	{"session_user", K_SESSION_USER, KC_RESERVED},
	{"set", K_SET, KC_UNRESERVED},
	{"setof", K_SETOF, KC_COL_NAME},
	{"sets", K_SETS, KC_UNRESERVED},
	{"share", K_SHARE, KC_UNRESERVED},
	{"show", K_SHOW, KC_UNRESERVED},
	{"similar", K_SIMILAR, KC_TYPE_FUNC},
	{"smallint", K_SMALLINT, KC_COL_NAME},
	{"snapshot", K_SNAPSHOT, KC_UNRESERVED},
	{"some", K_SOME, KC_RESERVED},
	{"start", K_START, KC_UNRESERVED},
	{"stdout", K_STDOUT, KC_UNRESERVED},
	{"substring", K_SUBSTRING, KC_COL_NAME},
	{"symmetric", K_SYMMETRIC, KC_RESERVED},
	{"table", K_TABLE, KC_RESERVED},
	{"tablesample", K_TABLESAMPLE, KC_TYPE_FUNC},
	{"temp", K_TEMP, KC_UNRESERVED},
	{"temporary", K_TEMPORARY, KC_UNRESERVED},
	{"then", K_THEN, KC_RESERVED},
	{"time", K_TIME, KC_COL_NAME},
	{"timestamp", K_TIMESTAMP, KC_COL_NAME},
	{"to", K_TO, KC_RESERVED},
	{"trailing", K_TRAILING, KC_RESERVED},
	{"transaction", K_TRANSACTION, KC_UNRESERVED},
	{"treat", K_TREAT, KC_COL_NAME},
	{"trim", K_TRIM, KC_COL_NAME},
	{"true", K_TRUE, KC_RESERVED},
	{"union", K_UNION, KC_RESERVED},
	{"unique", K_UNIQUE, KC_RESERVED},
	{"unlisten", K_UNLISTEN, KC_UNRESERVED},
	{"update", K_UPDATE, KC_UNRESERVED},
	{"user", K_USER, KC_RESERVED},
	{"using", K_USING, KC_RESERVED},
	{"values", K_VALUES, KC_COL_NAME},
	{"varchar", K_VARCHAR, KC_COL_NAME},
	{"variadic", K_VARIADIC, KC_RESERVED},
	{"varying", K_VARYING, KC_UNRESERVED},
	{"verbose", K_VERBOSE, KC_TYPE_FUNC},
	{"when", K_WHEN, KC_RESERVED},
	{"where", K_WHERE, KC_RESERVED},
	{"window", K_WINDOW, KC_RESERVED},
	{"with", K_WITH, KC_RESERVED},
	{"work", K_WORK, KC_UNRESERVED},
	{"write", K_WRITE, KC_UNRESERVED},
	{"xmlattributes", K_XMLATTRIBUTES, KC_COL_NAME},
	{"xmlconcat", K_XMLCONCAT, KC_COL_NAME},
	{"xmlelement", K_XMLELEMENT, KC_COL_NAME},
	{"xmlexists", K_XMLEXISTS, KC_COL_NAME},
	{"xmlforest", K_XMLFOREST, KC_COL_NAME},
	{"xmlnamespaces", K_XMLNAMESPACES, KC_COL_NAME},
	{"xmlparse", K_XMLPARSE, KC_COL_NAME},
	{"xmlpi", K_XMLPI, KC_COL_NAME},
	{"xmlroot", K_XMLROOT, KC_COL_NAME},
	{"xmlserialize", K_XMLSERIALIZE, KC_COL_NAME},
	{"xmltable", K_XMLTABLE, KC_COL_NAME},
};

#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))
#define N_KEYWORDS_MAX 256
#define KEYWORD_MAX_LEN 20

/*
 * Volatile functions in pg_catalog that write nothing and run on a hot standby: their results change
 * (so they are volatile) but calling them is a read. Anything that takes a lock, changes session or
 * sequence state, or assigns a transaction id stays out of this list.
 */
static const char *const volatile_read_safe[] = {
	"clock_timestamp", "gen_random_uuid", "pg_database_size", "pg_get_wal_replay_pause_state",
	"pg_indexes_size", "pg_is_in_recovery", "pg_is_wal_replay_paused", "pg_last_wal_receive_lsn",
	"pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_relation_size", "pg_sleep",
	"pg_sleep_for", "pg_sleep_until", "pg_table_size", "pg_tablespace_size", "pg_total_relation_size",
	"random", "timeofday", NULL
};

/* Stable functions in pg_catalog that a hot standby refuses (they assign a transaction id). */
static const char *const stable_standby_unsafe[] = {
	"pg_current_xact_id", "txid_current", NULL
};

/* ------------------------------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------------------------------ */

/*
 * The tokens come from sqlscan.c (the pooler's one SQL scanner); an identifier also carries the
 * keyword it is, looked up here, since which words are keywords is the classifier's business.
 */
typedef struct Token
{
	SqlTokenKind type;
	unsigned short kw;			/* K_* for SQLTOK_IDENT, else K_NONE */
	unsigned char kwcat;		/* KC_* for SQLTOK_IDENT */
	const char *s;
	size_t		len;
} Token;

/*
 * Lookup tables built once (sqlroute_init): keywords and the special function lists, hashed, so that a
 * token costs one hash probe rather than a binary search of string comparisons.
 */
#define KW_SLOTS 1024			/* power of two, > 4 x keywords */
#define SPECIAL_SLOTS 128		/* power of two, > 4 x special functions */
static unsigned short kw_slot[KW_SLOTS];	/* index + 1 into keywords[], 0 = empty */
static unsigned char kw_len[N_KEYWORDS_MAX];
static unsigned char special_slot[SPECIAL_SLOTS];	/* SPECIAL_* of special_name[i] */
static const char *special_name[SPECIAL_SLOTS];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

enum
{
	SPECIAL_NONE = 0,
	SPECIAL_READ_SAFE,			/* volatile_read_safe[] */
	SPECIAL_STANDBY_UNSAFE		/* stable_standby_unsafe[] */
};

/* lower_hash: FNV-1a of the ASCII-lower-cased bytes. */
static inline uint32_t
lower_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static void
special_add(const char *const *list, unsigned char kind)
{
	for (; *list; list++)
	{
		uint32_t	i = lower_hash(*list, strlen(*list)) & (SPECIAL_SLOTS - 1);

		while (special_name[i])
			i = (i + 1) & (SPECIAL_SLOTS - 1);
		special_name[i] = *list;
		special_slot[i] = kind;
	}
}

/* special_kind: SPECIAL_* of a function name as looked up (exact bytes), SPECIAL_NONE if none. */
static unsigned char
special_kind(const char *name, size_t len)
{
	for (uint32_t i = lower_hash(name, len) & (SPECIAL_SLOTS - 1); special_name[i];
		 i = (i + 1) & (SPECIAL_SLOTS - 1))
		if (strlen(special_name[i]) == len && memcmp(special_name[i], name, len) == 0)
			return special_slot[i];
	return SPECIAL_NONE;
}

/* sqlroute_init: the keyword and special-function hash tables; run once (pthread_once). */
static void
sqlroute_init(void)
{
	for (size_t k = 0; k < N_KEYWORDS; k++)
	{
		size_t		len = strlen(keywords[k].name);
		uint32_t	i = lower_hash(keywords[k].name, len) & (KW_SLOTS - 1);

		kw_len[k] = (unsigned char) len;
		while (kw_slot[i])
			i = (i + 1) & (KW_SLOTS - 1);
		kw_slot[i] = (unsigned short) (k + 1);
	}
	special_add(volatile_read_safe, SPECIAL_READ_SAFE);
	special_add(stable_standby_unsafe, SPECIAL_STANDBY_UNSAFE);
}

/*
 * ascii_lower_equal: lower (all lower case) equals the first len bytes of s, ignoring ASCII case only
 * (as PostgreSQL's keyword lookup does; strncasecmp would follow the locale, e.g. Turkish dotless i).
 */
static bool
ascii_lower_equal(const char *lower, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != (unsigned char) lower[i])
			return false;
	}
	return true;
}

/* lookup_keyword: fills tok->kw/kwcat for an unquoted identifier. */
static void
lookup_keyword(Token *tok)
{
	tok->kw = K_NONE;
	tok->kwcat = KC_NONE;
	if (tok->len > KEYWORD_MAX_LEN)
		return;
	for (uint32_t i = lower_hash(tok->s, tok->len) & (KW_SLOTS - 1); kw_slot[i]; i = (i + 1) & (KW_SLOTS - 1))
	{
		size_t		k = kw_slot[i] - 1;

		if (kw_len[k] == tok->len && ascii_lower_equal(keywords[k].name, tok->s, tok->len))
		{
			tok->kw = keywords[k].id;
			tok->kwcat = keywords[k].category;
			return;
		}
	}
}

/* lex_next: the next token from sqlscan, with its keyword when it is an identifier. */
static void
lex_next(SqlScanner *lx, Token *tok)
{
	SqlToken	t;

	sqlscan_next(lx, &t);
	tok->type = t.kind;
	tok->s = t.s;
	tok->len = t.len;
	tok->kw = K_NONE;
	tok->kwcat = KC_NONE;
	if (t.kind == SQLTOK_IDENT)
		lookup_keyword(tok);
}

/* ------------------------------------------------------------------------------------------------
 * Volatility table
 * ------------------------------------------------------------------------------------------------ */

/* Key spaces: a function merged over schemas, a schema-qualified function, an operator (same two). */
enum
{
	VK_FUNC_ANY = 0,
	VK_FUNC,
	VK_OP_ANY,
	VK_OP
};

typedef struct VolEntry
{
	uint32_t	hash;			/* 0 = empty slot */
	unsigned char kind;			/* VK_* */
	char		vol;			/* 'i', 's', 'v' */
	unsigned char schema_len;
	unsigned char name_len;
	uint32_t	offset;			/* schema then name in strings[] */
} VolEntry;

struct RouteVolatility
{
	VolEntry   *entries;
	size_t		capacity;		/* power of two */
	size_t		used;
	size_t		functions;		/* VK_FUNC entries */
	size_t		volatile_operators; /* VK_OP_ANY entries: 0 lets the scanner skip operator lookups */
	char	   *strings;
	size_t		strings_used;
	size_t		strings_cap;
};

#define NAME_MAX_BYTES 63		/* PostgreSQL truncates identifiers to NAMEDATALEN - 1 */

static uint32_t
vol_hash(unsigned char kind, const char *schema, size_t schema_len, const char *name, size_t name_len)
{
	uint32_t	h = 2166136261u ^ kind;

	for (size_t i = 0; i < schema_len; i++)
		h = (h ^ (unsigned char) schema[i]) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (size_t i = 0; i < name_len; i++)
		h = (h ^ (unsigned char) name[i]) * 16777619u;
	return h ? h : 1;
}

static char
vol_merge(char a, char b)
{
	static const char order[] = "isv";
	const char *pa = a ? strchr(order, a) : NULL;
	const char *pb = b ? strchr(order, b) : NULL;

	if (!pa)
		return b;
	if (!pb)
		return a;
	return pa > pb ? a : b;
}

RouteVolatility *
sqlroute_volatility_create(void)
{
	RouteVolatility *vt = calloc(1, sizeof(RouteVolatility));

	if (!vt)
		return NULL;
	vt->capacity = 1024;
	vt->entries = calloc(vt->capacity, sizeof(VolEntry));
	vt->strings_cap = 16384;
	vt->strings = malloc(vt->strings_cap);
	if (!vt->entries || !vt->strings)
	{
		sqlroute_volatility_free(vt);
		return NULL;
	}
	return vt;
}

void
sqlroute_volatility_free(RouteVolatility *vt)
{
	if (!vt)
		return;
	free(vt->entries);
	free(vt->strings);
	free(vt);
}

size_t
sqlroute_volatility_count(const RouteVolatility *vt)
{
	return vt ? vt->functions : 0;
}

static VolEntry *
vol_find(const RouteVolatility *vt, unsigned char kind, uint32_t h, const char *schema,
		 size_t schema_len, const char *name, size_t name_len)
{
	size_t		mask = vt->capacity - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask)
	{
		VolEntry   *e = &vt->entries[i];

		if (e->hash == 0)
			return e;
		if (e->hash == h && e->kind == kind && e->schema_len == schema_len && e->name_len == name_len &&
			memcmp(vt->strings + e->offset, schema, schema_len) == 0 &&
			memcmp(vt->strings + e->offset + schema_len, name, name_len) == 0)
			return e;
	}
}

static bool
vol_grow(RouteVolatility *vt)
{
	size_t		new_cap = vt->capacity * 2;
	VolEntry   *fresh = calloc(new_cap, sizeof(VolEntry));

	if (!fresh)
		return false;
	for (size_t i = 0; i < vt->capacity; i++)
	{
		VolEntry   *e = &vt->entries[i];

		if (e->hash)
		{
			size_t		j = e->hash & (new_cap - 1);

			while (fresh[j].hash)
				j = (j + 1) & (new_cap - 1);
			fresh[j] = *e;
		}
	}
	free(vt->entries);
	vt->entries = fresh;
	vt->capacity = new_cap;
	return true;
}

static bool
vol_put(RouteVolatility *vt, unsigned char kind, const char *schema, size_t schema_len,
		const char *name, size_t name_len, char vol)
{
	uint32_t	h;
	VolEntry   *e;

	if (schema_len > NAME_MAX_BYTES)
		schema_len = NAME_MAX_BYTES;
	if (name_len > NAME_MAX_BYTES)
		name_len = NAME_MAX_BYTES;
	if ((vt->used + 1) * 2 > vt->capacity && !vol_grow(vt))
		return false;
	h = vol_hash(kind, schema, schema_len, name, name_len);
	e = vol_find(vt, kind, h, schema, schema_len, name, name_len);
	if (e->hash)
	{
		e->vol = vol_merge(e->vol, vol);
		return true;
	}
	if (vt->strings_used + schema_len + name_len > vt->strings_cap)
	{
		size_t		new_cap = vt->strings_cap * 2 + schema_len + name_len;
		char	   *s = realloc(vt->strings, new_cap);

		if (!s)
			return false;
		vt->strings = s;
		vt->strings_cap = new_cap;
	}
	memcpy(vt->strings + vt->strings_used, schema, schema_len);
	memcpy(vt->strings + vt->strings_used + schema_len, name, name_len);
	e->hash = h;
	e->kind = kind;
	e->vol = vol;
	e->schema_len = (unsigned char) schema_len;
	e->name_len = (unsigned char) name_len;
	e->offset = (uint32_t) vt->strings_used;
	vt->strings_used += schema_len + name_len;
	vt->used++;
	if (kind == VK_FUNC)
		vt->functions++;
	if (kind == VK_OP_ANY)
		vt->volatile_operators++;
	return true;
}

static char
normalize_vol(char vol)
{
	return (vol == 'i' || vol == 's') ? vol : 'v';
}

bool
sqlroute_volatility_add(RouteVolatility *vt, const char *schema, const char *name, char vol)
{
	vol = normalize_vol(vol);
	if (!schema)
		schema = "";
	return vol_put(vt, VK_FUNC, schema, strlen(schema), name, strlen(name), vol) &&
		vol_put(vt, VK_FUNC_ANY, "", 0, name, strlen(name), vol);
}

bool
sqlroute_volatility_add_operator(RouteVolatility *vt, const char *schema, const char *name, char vol)
{
	vol = normalize_vol(vol);
	if (vol != 'v')
		return true;			/* only volatile operators change a verdict */
	if (!schema)
		schema = "";
	return vol_put(vt, VK_OP, schema, strlen(schema), name, strlen(name), vol) &&
		vol_put(vt, VK_OP_ANY, "", 0, name, strlen(name), vol);
}

static char
vol_lookup(const RouteVolatility *vt, unsigned char kind, const char *schema, size_t schema_len,
		   const char *name, size_t name_len)
{
	VolEntry   *e;

	if (!vt)
		return 0;
	if (schema_len > NAME_MAX_BYTES)
		schema_len = NAME_MAX_BYTES;
	if (name_len > NAME_MAX_BYTES)
		name_len = NAME_MAX_BYTES;
	e = vol_find(vt, kind, vol_hash(kind, schema, schema_len, name, name_len), schema, schema_len,
				 name, name_len);
	return e->hash ? e->vol : 0;
}

char
sqlroute_volatility_lookup(const RouteVolatility *vt, const char *schema, size_t schema_len,
						const char *name, size_t name_len)
{
	if (!schema || schema_len == 0)
		return vol_lookup(vt, VK_FUNC_ANY, "", 0, name, name_len);
	return vol_lookup(vt, VK_FUNC, schema, schema_len, name, name_len);
}

/* ------------------------------------------------------------------------------------------------
 * Classifier
 * ------------------------------------------------------------------------------------------------ */

/* Verdicts, ordered: the text's verdict is the highest of its statements' findings. */
enum
{
	V_NEUTRAL = 0,				/* transaction control, empty: runs anywhere */
	V_SESSION,					/* session SET/RESET */
	V_READ,						/* provably read-only */
	V_WRITE_SOFT,				/* not provably read-only only because of a function call or plain BEGIN:
								 * the faregate:replica hint may override it */
	V_WRITE						/* a write by its syntax, or unparsable: always the primary */
};

#define MAX_DEPTH 64

typedef struct Classifier
{
	SqlScanner	lx;
	const RouteContext *ctx;
	Token		peeked;
	bool		has_peeked;
	int			verdict;
	uint32_t	flags;
	int			statements;
	const char *reason;
	char		object[64];
	bool		done;			/* SQLTOK_EOF or SQLTOK_ERROR seen */
	struct SessionScan *watch;	/* the session-state facts of the same tokens (ROUTE_F_SESSION_STATE) */
} Classifier;

/*
 * SessionScan: one walk over the statements of a text for sqlroute_session_statements, or (cl set) the
 * session-state facts of the classifier's own tokens: sqlroute_classify's ROUTE_F_SESSION_STATE comes from
 * the same token walk, not from a second scan of the text.
 */
typedef struct SessionScan
{
	SqlScanner	lx;				/* sqlroute_session_statements: its own lexer */
	Classifier *cl;				/* sqlroute_classify: tokens come from its walk (next_token) instead */
	Token		tok;			/* the current token */
	RouteSessionOp *ops;
	int			max;
	int			found;
	/* ss_watch's state: the two tokens before the current one, and set_config's arguments so far */
	Token		prev;
	Token		prev2;
	int			set_config_arg;	/* 0 = not in set_config(...); 1..5 = the argument token expected */
	char		set_config_name[64];
	char		set_config_value[256];
} SessionScan;

#define CLASSIFIER_WATCH_OPS 4	/* facts one token can add (ss_watch, ss_set): at most 2 */

static void ss_watch(SessionScan *ss, const Token *tok);
static void ss_set(SessionScan *ss);
static void ss_next(SessionScan *ss);
static bool ss_end(const SessionScan *ss);

/*
 * session_facts: the facts ss found since the last call, as ROUTE_F_SESSION_STATE: state the pooler
 * cannot carry (session.c's note_op with nothing noted: a SET ctx->set_kept does not keep, SET ROLE /
 * SESSION AUTHORIZATION, a session advisory lock, a WITH HOLD cursor, a temporary table).
 */
static void
session_facts(Classifier *cl, SessionScan *ss)
{
	for (int i = 0; i < ss->found && i < ss->max; i++)
	{
		const RouteSessionOp *op = &ss->ops[i];

		switch (op->kind)
		{
			case RS_SET:
				if (!cl->ctx->set_kept || !cl->ctx->set_kept(op->name, op->value_plain))
					cl->flags |= ROUTE_F_SESSION_STATE;
				break;
			case RS_ROLE:
			case RS_LOCK:
			case RS_HOLD_CURSOR:
			case RS_TEMP:
				cl->flags |= ROUTE_F_SESSION_STATE;
				break;
			default:
				break;
		}
	}
	ss->found = 0;
}

/* watch_token: one token of the classifier's walk, shown to its session-state watch. */
static void
watch_token(Classifier *cl, const Token *tok)
{
	SessionScan *ss = cl->watch;

	ss_watch(ss, tok);
	if (tok->type == SQLTOK_SEMI || tok->type == SQLTOK_EOF || tok->type == SQLTOK_ERROR)
	{
		memset(&ss->prev, 0, sizeof(ss->prev));
		memset(&ss->prev2, 0, sizeof(ss->prev2));
		ss->set_config_arg = 0;
	}
	if (ss->found)
		session_facts(cl, ss);
}

static void
next_token(Classifier *cl, Token *tok)
{
	if (cl->has_peeked)
	{
		*tok = cl->peeked;
		cl->has_peeked = false;
	}
	else
		lex_next(&cl->lx, tok);
	if (tok->type == SQLTOK_EOF || tok->type == SQLTOK_ERROR)
		cl->done = true;
	watch_token(cl, tok);
}

static const Token *
peek_token(Classifier *cl)
{
	if (!cl->has_peeked)
	{
		lex_next(&cl->lx, &cl->peeked);
		cl->has_peeked = true;
	}
	return &cl->peeked;
}

/* note: records a finding; the first finding of the highest verdict names the reason. */
static void
note(Classifier *cl, int verdict, const char *reason, const char *obj, size_t obj_len)
{
	if (verdict <= cl->verdict)
		return;
	cl->verdict = verdict;
	cl->reason = reason;
	if (obj_len >= sizeof(cl->object))
		obj_len = sizeof(cl->object) - 1;
	if (obj)
		memcpy(cl->object, obj, obj_len);
	cl->object[obj ? obj_len : 0] = '\0';
}

static void
note_unparsable(Classifier *cl)
{
	cl->flags |= ROUTE_F_UNPARSABLE;
	note(cl, V_WRITE, "the text cannot be parsed", NULL, 0);
}

/* ends_statement: a token that ends the statement (consumed). */
static bool
ends_statement(Classifier *cl, const Token *tok)
{
	if (tok->type == SQLTOK_ERROR)
		note_unparsable(cl);
	return tok->type == SQLTOK_SEMI || tok->type == SQLTOK_EOF || tok->type == SQLTOK_ERROR;
}

/* skip_statement: consumes the rest of the statement (through ';' or to the end). */
static void
skip_statement(Classifier *cl)
{
	Token		tok;

	do
		next_token(cl, &tok);
	while (!ends_statement(cl, &tok));
}

static bool
is_kw(const Token *tok, int kw)
{
	return tok->type == SQLTOK_IDENT && tok->kw == kw;
}

/* token_is: the token's text is exactly text. */
static bool
token_is(const Token *tok, const char *text)
{
	return tok->len == strlen(text) && memcmp(tok->s, text, tok->len) == 0;
}

/* is_name: a token that can be (part of) a name. */
static bool
is_name(const Token *tok)
{
	return tok->type == SQLTOK_IDENT || tok->type == SQLTOK_QIDENT;
}

/* operand_end: a token after which "keyword (" is an operator or join, not a call. */
static bool
operand_end(const Token *tok)
{
	switch (tok->type)
	{
		case SQLTOK_RPAREN:
		case SQLTOK_RBRACKET:
		case SQLTOK_STRING:
		case SQLTOK_NUMBER:
		case SQLTOK_PARAM:
		case SQLTOK_QIDENT:
			return true;
		case SQLTOK_IDENT:
			return tok->kwcat != KC_RESERVED;
		default:
			return false;
	}
}

/*
 * name_text: the identifier as PostgreSQL would look it up (sqlscan_name: down-cased unless quoted, ""
 * undone, cut to 63 bytes) into buf (NAME_MAX_BYTES + 1); its length.
 */
static size_t
name_text(const Token *tok, char *buf)
{
	SqlToken	t = {tok->type, 0, tok->s, tok->len};

	sqlscan_name(&t, buf);
	return strlen(buf);
}

/*
 * check_call: at "(" right after a name. hist[0] is the name, hist[1..3] the tokens before it;
 * after_distinct_on = the ")" before the name closed DISTINCT ON (...). Decides whether this is a
 * function call and, if so, whether the function may run on a replica.
 */
static void
check_call(Classifier *cl, const Token *hist, bool after_distinct_on)
{
	const Token *name = &hist[0];
	const Token *schema = NULL;
	const Token *pre;
	char		name_buf[NAME_MAX_BYTES + 1];
	char		schema_buf[NAME_MAX_BYTES + 1];
	size_t		name_len;
	size_t		schema_len = 0;
	char		vol;

	if (hist[1].type == SQLTOK_DOT && is_name(&hist[2]))
	{
		schema = &hist[2];
		pre = &hist[3];
		if (pre->type == SQLTOK_DOT)
		{
			note(cl, V_WRITE_SOFT, "function name with a database qualifier", name->s, name->len);
			return;
		}
	}
	else
		pre = &hist[1];

	if (!schema && name->type == SQLTOK_IDENT)
	{
		/* reserved and col-name keywords cannot name a function: "kw (" is syntax */
		if (name->kwcat == KC_RESERVED || name->kwcat == KC_COL_NAME)
			return;
		switch (name->kw)
		{
			case K_VARYING:		/* character varying(10), bit varying(5) */
				if (is_kw(pre, K_CHARACTER) || is_kw(pre, K_CHAR) || is_kw(pre, K_BIT) ||
					is_kw(pre, K_NCHAR))
					return;
				break;
			case K_FILTER:		/* agg(x) FILTER (WHERE ...) */
			case K_OVER:		/* f(x) OVER (...) */
			case K_REPEATABLE:	/* TABLESAMPLE m(10) REPEATABLE (seed) */
				if (pre->type == SQLTOK_RPAREN)
					return;
				break;
			case K_LIKE:		/* x LIKE (...), a JOIN (...), (a, b) OVERLAPS (c, d) ... */
			case K_ILIKE:
			case K_SIMILAR:
			case K_IS:
			case K_ISNULL:
			case K_NOTNULL:
			case K_JOIN:
			case K_OVERLAPS:
			case K_OPERATOR:
				if (operand_end(pre))
					return;
				break;
			case K_BY:			/* ORDER BY (...), GROUP BY (...), PARTITION BY (...) */
				if (is_kw(pre, K_ORDER) || is_kw(pre, K_GROUP) || is_kw(pre, K_PARTITION))
					return;
				break;
			case K_ROLLUP:		/* GROUP BY ROLLUP (...) */
			case K_CUBE:
				if (is_kw(pre, K_BY) && is_kw(&hist[2], K_GROUP))
					return;
				break;
			case K_SETS:		/* GROUPING SETS (...) */
				if (is_kw(pre, K_GROUPING))
					return;
				break;
			case K_FIRST:		/* FETCH FIRST (n) ROWS ONLY */
			case K_NEXT:
				if (is_kw(pre, K_FETCH))
					return;
				break;
			default:
				break;
		}
	}
	/* x::numeric(10,2), CAST(x AS varchar(5)), f() AS t(a, b): a type modifier or column aliases */
	if (pre->type == SQLTOK_TYPECAST || is_kw(pre, K_AS))
		return;
	/*
	 * ") name (": in PostgreSQL's grammar an expression can directly follow a closing parenthesis only
	 * after DISTINCT ON (...); everywhere else this is a FROM item's alias with its column list:
	 * generate_series(1, 3) g(i), (SELECT ...) s(a, b), (VALUES ...) v(a)
	 */
	if (!schema && pre->type == SQLTOK_RPAREN && !after_distinct_on)
		return;
	/* TABLESAMPLE system (10): a sampling method, run as part of the scan */
	if (is_kw(pre, K_TABLESAMPLE))
		return;

	name_len = name_text(name, name_buf);
	if (schema)
		schema_len = name_text(schema, schema_buf);
	if (!schema || strcmp(schema_buf, "pg_catalog") == 0)
	{
		unsigned char special = special_kind(name_buf, name_len);

		if (special == SPECIAL_READ_SAFE)
			return;
		if (special == SPECIAL_STANDBY_UNSAFE)
		{
			note(cl, V_WRITE, "function assigns a transaction id", name_buf, name_len);
			return;
		}
	}
	vol = sqlroute_volatility_lookup(cl->ctx->volatility, schema ? schema_buf : NULL, schema_len,
								  name_buf, name_len);
	if (vol == 0)
		note(cl, V_WRITE_SOFT, "unknown function (not in the volatility table)", name_buf, name_len);
	else if (vol == 'v')
		note(cl, V_WRITE_SOFT, "volatile function", name_buf, name_len);
}

/*
 * check_attribute: t.f may call f(t) ("attribute notation", used when t has no column f). Only a
 * volatile f matters; an unknown name is a column.
 */
static void
check_attribute(Classifier *cl, const Token *name)
{
	char		name_buf[NAME_MAX_BYTES + 1];
	size_t		name_len;

	if (!cl->ctx->volatility)
		return;
	name_len = name_text(name, name_buf);
	if (sqlroute_volatility_lookup(cl->ctx->volatility, NULL, 0, name_buf, name_len) == 'v' &&
		special_kind(name_buf, name_len) != SPECIAL_READ_SAFE)
		note(cl, V_WRITE_SOFT, "volatile function in attribute notation (x.f calls f(x))", name_buf, name_len);
}

/* check_operator: a volatile user-defined operator makes the query a (soft) write. */
static void
check_operator(Classifier *cl, const Token *tok)
{
	const RouteVolatility *vt = cl->ctx->volatility;

	if (vt && vt->volatile_operators &&
		vol_lookup(vt, VK_OP_ANY, "", 0, tok->s, tok->len) == 'v')
		note(cl, V_WRITE_SOFT, "operator backed by a volatile function", tok->s, tok->len);
}

/* Parentheses kinds and the WITH-list state machine of scan_query. */
enum
{
	P_PLAIN, P_CTE_COLS, P_CTE_BODY, P_DISTINCT_ON
};
enum
{
	CTE_NONE,					/* not in a WITH list */
	CTE_EXPECT_NAME,			/* after WITH [RECURSIVE] or after "," following a CTE body */
	CTE_AFTER_NAME,				/* name seen: "(" opens a column list, AS follows */
	CTE_AFTER_COLS,				/* column list closed: AS follows */
	CTE_AFTER_AS,				/* AS [NOT] [MATERIALIZED]: "(" opens the body */
	CTE_AFTER_BODY				/* body closed: "," continues the list */
};

/*
 * scan_query: scans a statement that may be a read (SELECT, VALUES, TABLE, WITH, parenthesized query),
 * first = its first token, already consumed. Looks at every token at every depth for data-modifying
 * keywords, row locks, INTO, function calls and volatile operators. Consumes through the end of the
 * statement; when in_parens, starts at depth 1 (first is the opening parenthesis) and stops after the
 * matching close. Returns true when it stopped at that close, false when the statement ended.
 */
static bool
scan_query(Classifier *cl, const Token *first, bool in_parens)
{
	Token		hist[5];		/* hist[0] = current token, hist[1] the one before ... */
	unsigned char paren_kind[MAX_DEPTH];
	unsigned char cte[MAX_DEPTH];
	int			depth = in_parens ? 1 : 0;
	bool		closed_distinct_on = false;	/* the last ")" closed DISTINCT ON (...) */
	Token		tok = *first;

	memset(hist, 0, sizeof(hist));
	cte[0] = cte[1] = CTE_NONE;
	paren_kind[1] = P_PLAIN;
	if (in_parens)
		next_token(cl, &tok);

	for (;;)
	{
		unsigned char *state = &cte[depth];

		hist[4] = hist[3];
		hist[3] = hist[2];
		hist[2] = hist[1];
		hist[1] = hist[0];
		hist[0] = tok;

		/* x.name not followed by "(": a column, or a call of name(x) in attribute notation */
		if (hist[2].type == SQLTOK_DOT && is_name(&hist[1]) && tok.type != SQLTOK_LPAREN && tok.type != SQLTOK_DOT)
			check_attribute(cl, &hist[1]);

		switch (tok.type)
		{
			case SQLTOK_SEMI:
			case SQLTOK_EOF:
				if (depth > 0)
					note_unparsable(cl);
				return false;
			case SQLTOK_ERROR:
				note_unparsable(cl);
				return false;
			case SQLTOK_IDENT:
				switch (tok.kw)
				{
					case K_INSERT:
					case K_UPDATE:
					case K_DELETE:
					case K_MERGE:
						if (is_kw(&hist[1], K_FOR) || is_kw(&hist[1], K_KEY))
							note(cl, V_WRITE, "row lock (FOR UPDATE)", tok.s, tok.len);
						else
							note(cl, V_WRITE, "data-modifying statement inside a query", tok.s, tok.len);
						break;
					case K_SHARE:
					case K_KEY:
					case K_NO:
						if (is_kw(&hist[1], K_FOR))
							note(cl, V_WRITE, "row lock (FOR SHARE / KEY SHARE / NO KEY UPDATE)", tok.s,
								 tok.len);
						break;
					case K_INTO:
						note(cl, V_WRITE, "SELECT INTO creates a table", tok.s, tok.len);
						break;
					case K_TEMP:
					case K_TEMPORARY:
						if (is_kw(&hist[1], K_INTO) ||
							((is_kw(&hist[1], K_LOCAL) || is_kw(&hist[1], K_GLOBAL)) && is_kw(&hist[2], K_INTO)))
							cl->flags |= ROUTE_F_TEMP_OBJECT;
						break;
					default:
						break;
				}
				switch (*state)
				{
					case CTE_NONE:
						if (tok.kw == K_WITH)
							*state = CTE_EXPECT_NAME;
						break;
					case CTE_EXPECT_NAME:
						if (tok.kw != K_RECURSIVE)
							*state = CTE_AFTER_NAME;
						break;
					case CTE_AFTER_NAME:
					case CTE_AFTER_COLS:
						*state = tok.kw == K_AS ? CTE_AFTER_AS : CTE_NONE;
						break;
					case CTE_AFTER_AS:
						if (tok.kw != K_NOT && tok.kw != K_MATERIALIZED)
							*state = CTE_NONE;
						break;
					default:
						*state = tok.kw == K_WITH ? CTE_EXPECT_NAME : CTE_NONE;
						break;
				}
				break;
			case SQLTOK_QIDENT:
				*state = *state == CTE_EXPECT_NAME ? CTE_AFTER_NAME : CTE_NONE;
				break;
			case SQLTOK_LPAREN:
				{
					unsigned char kind = P_PLAIN;

					if (*state == CTE_AFTER_NAME && is_name(&hist[1]))
						kind = P_CTE_COLS;
					else if (*state == CTE_AFTER_AS)
						kind = P_CTE_BODY;
					else if (is_name(&hist[1]))
					{
						if (is_kw(&hist[1], K_ON) && is_kw(&hist[2], K_DISTINCT))
							kind = P_DISTINCT_ON;
						else
							check_call(cl, &hist[1], closed_distinct_on);
					}
					if (depth + 1 >= MAX_DEPTH)
					{
						note(cl, V_WRITE, "nested too deeply to classify", NULL, 0);
						skip_statement(cl);
						return false;
					}
					depth++;
					paren_kind[depth] = kind;
					cte[depth] = CTE_NONE;
				}
				break;
			case SQLTOK_RPAREN:
				if (depth == 0)
				{
					note_unparsable(cl);
					skip_statement(cl);
					return false;
				}
				depth--;
				closed_distinct_on = paren_kind[depth + 1] == P_DISTINCT_ON;
				if (paren_kind[depth + 1] == P_CTE_COLS)
					cte[depth] = CTE_AFTER_COLS;
				else if (paren_kind[depth + 1] == P_CTE_BODY)
					cte[depth] = CTE_AFTER_BODY;
				else
					cte[depth] = CTE_NONE;
				if (in_parens && depth == 0)
					return true;
				break;
			case SQLTOK_COMMA:
				*state = *state == CTE_AFTER_BODY ? CTE_EXPECT_NAME : CTE_NONE;
				break;
			case SQLTOK_OP:
				check_operator(cl, &tok);
				*state = CTE_NONE;
				break;
			default:
				*state = CTE_NONE;
				break;
		}
		next_token(cl, &tok);
	}
}

/* starts_query: a token that starts a statement scan_query handles. */
static bool
starts_query(const Token *tok)
{
	return tok->type == SQLTOK_LPAREN || is_kw(tok, K_SELECT) || is_kw(tok, K_VALUES) ||
		is_kw(tok, K_TABLE) || is_kw(tok, K_WITH);
}

/*
 * transaction_modes: reads BEGIN/START TRANSACTION/SET TRANSACTION modes to the end of the statement
 * and records the verdict. plain = what a transaction without READ ONLY counts as.
 */
static void
transaction_modes(Classifier *cl, int plain, const char *plain_reason)
{
	Token		tok;
	Token		prev = {0};
	bool		read_only = false;
	bool		read_write = false;
	bool		serializable = false;
	bool		snapshot = false;

	for (;;)
	{
		next_token(cl, &tok);
		if (ends_statement(cl, &tok))
			break;
		if (is_kw(&prev, K_READ) && is_kw(&tok, K_ONLY))
			read_only = true;
		if (is_kw(&prev, K_READ) && is_kw(&tok, K_WRITE))
			read_write = true;
		if (is_kw(&prev, K_LEVEL) && is_kw(&tok, K_SERIALIZABLE))
			serializable = true;
		if (is_kw(&tok, K_SNAPSHOT))
			snapshot = true;
		prev = tok;
	}
	if (serializable)
		note(cl, V_WRITE, "SERIALIZABLE transactions cannot run on a hot standby", NULL, 0);
	else if (snapshot)
		note(cl, V_WRITE, "an imported snapshot belongs to the primary", NULL, 0);
	else if (read_only && !read_write)
	{
		cl->flags |= ROUTE_F_READ_ONLY_TXN;
		note(cl, V_READ, "read-only transaction", NULL, 0);
	}
	else
		note(cl, read_write ? V_WRITE_SOFT : plain, plain_reason, NULL, 0);
}

/* explain_statement: EXPLAIN [ANALYZE] [VERBOSE] | EXPLAIN (options) statement. */
static void
explain_statement(Classifier *cl)
{
	Token		tok;
	bool		analyze = false;

	next_token(cl, &tok);
	if (tok.type == SQLTOK_LPAREN)
	{
		/* (ANALYZE [value], ...): ANALYZE counts unless its value is false, off or 0 */
		Token		prev = {0};

		for (;;)
		{
			next_token(cl, &tok);
			if (tok.type == SQLTOK_EOF || tok.type == SQLTOK_ERROR || tok.type == SQLTOK_SEMI)
			{
				note_unparsable(cl);
				return;
			}
			if (tok.type == SQLTOK_RPAREN || tok.type == SQLTOK_COMMA)
			{
				if (is_kw(&prev, K_ANALYZE) || is_kw(&prev, K_ANALYSE))
					analyze = true;
				if (tok.type == SQLTOK_RPAREN)
					break;
			}
			else if (is_kw(&prev, K_ANALYZE) || is_kw(&prev, K_ANALYSE))
			{
				bool		off = is_kw(&tok, K_FALSE) || is_kw(&tok, K_OFF) ||
					(tok.type == SQLTOK_NUMBER && tok.len == 1 && tok.s[0] == '0') ||
					(tok.type == SQLTOK_STRING &&
					 (token_is(&tok, "'off'") || token_is(&tok, "'false'") || token_is(&tok, "'0'")));

				if (!off)
					analyze = true;
			}
			prev = tok;
		}
		next_token(cl, &tok);
	}
	else
	{
		while (is_kw(&tok, K_ANALYZE) || is_kw(&tok, K_ANALYSE) || is_kw(&tok, K_VERBOSE))
		{
			if (!is_kw(&tok, K_VERBOSE))
				analyze = true;
			next_token(cl, &tok);
		}
	}

	if (starts_query(&tok))
	{
		note(cl, V_READ, "read-only query", NULL, 0);
		scan_query(cl, &tok, false);
	}
	else if (is_kw(&tok, K_INSERT) || is_kw(&tok, K_UPDATE) || is_kw(&tok, K_DELETE) ||
			 is_kw(&tok, K_MERGE))
	{
		if (analyze)
			note(cl, V_WRITE, "EXPLAIN ANALYZE executes the write", tok.s, tok.len);
		else
			note(cl, V_READ, "EXPLAIN without ANALYZE only plans", NULL, 0);
		if (!ends_statement(cl, &tok))
			skip_statement(cl);
	}
	else
	{
		note(cl, V_WRITE, "EXPLAIN of a statement that is not a plain query", tok.s, tok.len);
		if (!ends_statement(cl, &tok))
			skip_statement(cl);
	}
}

/* copy_statement: COPY ... TO STDOUT is a read (of a table, or of a query that is one). */
static void
copy_statement(Classifier *cl)
{
	Token		tok;

	next_token(cl, &tok);
	if (tok.type == SQLTOK_LPAREN)
	{
		Token		inner;

		next_token(cl, &inner);
		if (!starts_query(&inner))
		{
			note(cl, V_WRITE, "COPY of a statement that is not a plain query", inner.s, inner.len);
			if (!ends_statement(cl, &inner))
				skip_statement(cl);
			return;
		}
		note(cl, V_READ, "COPY TO STDOUT", NULL, 0);
		/* scan_query with in_parens expects the opening parenthesis as "first" */
		cl->peeked = inner;
		cl->has_peeked = true;
		if (!scan_query(cl, &tok, true))
			return;
		next_token(cl, &tok);
	}
	else
	{
		/* table [ ( columns ) ]; the table name is name [. name] */
		if (!is_name(&tok))
		{
			note(cl, V_WRITE, "COPY", tok.s, tok.len);
			if (!ends_statement(cl, &tok))
				skip_statement(cl);
			return;
		}
		next_token(cl, &tok);
		while (tok.type == SQLTOK_DOT)
		{
			next_token(cl, &tok);
			if (is_name(&tok))
				next_token(cl, &tok);
		}
		if (tok.type == SQLTOK_LPAREN)
		{
			while (tok.type != SQLTOK_RPAREN && !ends_statement(cl, &tok))
				next_token(cl, &tok);
			if (tok.type != SQLTOK_RPAREN)
			{
				note(cl, V_WRITE, "COPY", NULL, 0);
				return;
			}
			next_token(cl, &tok);
		}
	}
	if (is_kw(&tok, K_TO))
	{
		Token		target;

		next_token(cl, &target);
		if (is_kw(&target, K_STDOUT))
			note(cl, V_READ, "COPY TO STDOUT", NULL, 0);
		else
			note(cl, V_WRITE, "COPY TO a file or program", NULL, 0);
		if (!ends_statement(cl, &target))
			skip_statement(cl);
		return;
	}
	note(cl, V_WRITE, "COPY FROM", NULL, 0);
	if (!ends_statement(cl, &tok))
		skip_statement(cl);
}

/* declare_statement: DECLARE name ... CURSOR [WITHOUT HOLD] FOR query; WITH HOLD outlives the transaction. */
static void
declare_statement(Classifier *cl)
{
	Token		tok;
	Token		prev = {0};
	Token		cursor = {0};
	bool		first = true;

	for (;;)
	{
		next_token(cl, &tok);
		if (ends_statement(cl, &tok))
		{
			note(cl, V_WRITE, "DECLARE without a query", NULL, 0);
			return;
		}
		if (first)
			cursor = tok;
		first = false;
		if (is_kw(&prev, K_WITH) && is_kw(&tok, K_HOLD))
		{
			if (is_name(&cursor))
				cl->flags |= ROUTE_F_SESSION_STATE;
			note(cl, V_WRITE, "a WITH HOLD cursor is session state", NULL, 0);
			skip_statement(cl);
			return;
		}
		if (is_kw(&tok, K_FOR))
			break;
		prev = tok;
	}
	next_token(cl, &tok);
	if (!starts_query(&tok))
	{
		note(cl, V_WRITE, "cursor over a statement that is not a plain query", tok.s, tok.len);
		if (!ends_statement(cl, &tok))
			skip_statement(cl);
		return;
	}
	note(cl, V_READ, "read-only query", NULL, 0);
	scan_query(cl, &tok, false);
}

/*
 * create_statement: CREATE ...: a write; notes temporary objects. A BEGIN ATOMIC body is skipped whole:
 * its ';'s are SQLTOK_BODY_SEMI (sqlscan.c decides where statements end).
 */
static void
create_statement(Classifier *cl, const Token *first)
{
	Token		tok;
	int			n = 0;

	note(cl, V_WRITE, "DDL", first->s, first->len);
	for (;;)
	{
		next_token(cl, &tok);
		if (tok.type == SQLTOK_EOF || tok.type == SQLTOK_ERROR)
		{
			ends_statement(cl, &tok);
			return;
		}
		if (tok.type == SQLTOK_SEMI)
			return;
		if (++n <= 3 && (is_kw(&tok, K_TEMP) || is_kw(&tok, K_TEMPORARY)))
			cl->flags |= ROUTE_F_TEMP_OBJECT | ROUTE_F_SESSION_STATE;
	}
}

/*
 * session_set: the rest of a session SET, read by sqlroute_session_statements' own ss_set from this walk's
 * tokens: what it sets decides ROUTE_F_SESSION_STATE. Consumes through the statement's end.
 */
static void
session_set(Classifier *cl)
{
	RouteSessionOp ops[CLASSIFIER_WATCH_OPS];
	SessionScan ss;

	memset(&ss, 0, sizeof(ss));
	ss.cl = cl;
	ss.ops = ops;
	ss.max = CLASSIFIER_WATCH_OPS;
	ss_next(&ss);
	ss_set(&ss);
	session_facts(cl, &ss);
	if (!ss_end(&ss))
		skip_statement(cl);
	else
		(void) ends_statement(cl, &ss.tok);
}

/* set_statement: SET ... (after SET). */
static void
set_statement(Classifier *cl)
{
	const Token *tok = peek_token(cl);

	if (is_kw(tok, K_LOCAL) || is_kw(tok, K_CONSTRAINTS))
	{
		cl->flags |= ROUTE_F_SET_TXN;
		note(cl, V_NEUTRAL, "transaction-local SET", NULL, 0);
		skip_statement(cl);
		return;
	}
	if (is_kw(tok, K_TRANSACTION))
	{
		Token		t;

		next_token(cl, &t);
		cl->flags |= ROUTE_F_SET_TXN;
		transaction_modes(cl, V_NEUTRAL, "SET TRANSACTION");
		return;
	}
	cl->flags |= ROUTE_F_SESSION_SET;
	note(cl, V_SESSION, "session SET", NULL, 0);
	session_set(cl);
}

/* classify_statement: one statement; returns false at the end of the text. */
static bool
classify_statement(Classifier *cl)
{
	Token		tok;

	next_token(cl, &tok);
	if (tok.type == SQLTOK_EOF)
		return false;
	if (tok.type == SQLTOK_SEMI)
		return true;
	if (tok.type == SQLTOK_ERROR)
	{
		note_unparsable(cl);
		return false;
	}
	cl->statements++;

	if (starts_query(&tok))
	{
		note(cl, V_READ, "read-only query", NULL, 0);
		scan_query(cl, &tok, false);
		return !cl->done;
	}
	switch (tok.kw)
	{
		case K_SHOW:
			note(cl, V_READ, "SHOW", NULL, 0);
			skip_statement(cl);
			break;
		case K_EXPLAIN:
			explain_statement(cl);
			break;
		case K_COPY:
			copy_statement(cl);
			break;
		case K_DECLARE:
			declare_statement(cl);
			break;
		case K_FETCH:
		case K_MOVE:
		case K_CLOSE:
		case K_SAVEPOINT:
		case K_RELEASE:
			skip_statement(cl);
			break;
		case K_SET:
			set_statement(cl);
			break;
		case K_RESET:
			cl->flags |= ROUTE_F_SESSION_SET;
			note(cl, V_SESSION, "session RESET", NULL, 0);
			skip_statement(cl);
			break;
		case K_START:
			if (!is_kw(peek_token(cl), K_TRANSACTION))
			{
				note(cl, V_WRITE, "not a read statement", tok.s, tok.len);
				skip_statement(cl);
				break;
			}
			/* FALLTHROUGH */
		case K_BEGIN:
			cl->flags |= ROUTE_F_BEGIN;
			transaction_modes(cl, V_WRITE_SOFT, "a transaction not declared READ ONLY");
			break;
		case K_COMMIT:
		case K_END:
			if (is_kw(peek_token(cl), K_PREPARED))
				note(cl, V_WRITE, "two-phase commit", NULL, 0);
			else
				cl->flags |= ROUTE_F_COMMIT;
			skip_statement(cl);
			break;
		case K_ROLLBACK:
		case K_ABORT:
			{
				const Token *next = peek_token(cl);

				if (is_kw(next, K_WORK) || is_kw(next, K_TRANSACTION))
				{
					Token		t;

					next_token(cl, &t);
					next = peek_token(cl);
				}
				if (is_kw(next, K_PREPARED))
					note(cl, V_WRITE, "two-phase commit", NULL, 0);
				else if (!is_kw(next, K_TO))
					cl->flags |= ROUTE_F_ROLLBACK;
				skip_statement(cl);
			}
			break;
		case K_LISTEN:
		case K_UNLISTEN:
			cl->flags |= ROUTE_F_LISTEN;
			note(cl, V_WRITE, "LISTEN is session state on the primary", tok.s, tok.len);
			skip_statement(cl);
			break;
		case K_CREATE:
			create_statement(cl, &tok);
			break;
		default:
			note(cl, V_WRITE, "not a read statement", tok.s, tok.len);
			skip_statement(cl);
			break;
	}
	return !cl->done;
}

/* hint_blank: whitespace as the scanner skips it, for trimming a hint comment. */
static bool
hint_blank(char c)
{
	return c != '\0' && strchr(" \t\n\r\f\v", c) != NULL;
}

/* leading_hint: the faregate:primary / faregate:replica hint in the comments before the first token. */
static uint32_t
leading_hint(const char *sql, size_t len)
{
	SqlScanner	sc;
	SqlToken	tok;

	sqlscan_init(&sc, sql, len, true);	/* only comments are read: strings do not matter */
	sc.keep_comments = true;
	for (;;)
	{
		const char *b;
		const char *e;

		sqlscan_next(&sc, &tok);
		if (tok.kind != SQLTOK_COMMENT)
			return 0;
		if (tok.s[0] != '/')
			continue;			/* a -- comment */
		b = tok.s + 2;
		e = tok.s + tok.len - 2;
		while (b < e && hint_blank(*b))
			b++;
		while (e > b && hint_blank(e[-1]))
			e--;
		if (e - b == 16 && memcmp(b, "faregate:primary", 16) == 0)
			return ROUTE_F_HINT_PRIMARY;
		if (e - b == 16 && memcmp(b, "faregate:replica", 16) == 0)
			return ROUTE_F_HINT_REPLICA;
	}
}

RouteClass
sqlroute_classify(const char *sql, size_t len, const RouteContext *ctx, RouteResult *result)
{
	static const RouteContext default_ctx = {.volatility = NULL, .standard_conforming_strings = true};
	Classifier	cl;
	SessionScan watch;
	RouteSessionOp watch_ops[CLASSIFIER_WATCH_OPS];
	RouteClass	route_class;

	pthread_once(&init_once, sqlroute_init);
	if (!ctx)
		ctx = &default_ctx;
	if (!sql)
	{
		sql = "";
		len = 0;
	}
	memset(&cl, 0, sizeof(cl));
	memset(&watch, 0, sizeof(watch));
	sqlscan_init(&cl.lx, sql, len, ctx->standard_conforming_strings);
	cl.ctx = ctx;
	watch.ops = watch_ops;
	watch.max = CLASSIFIER_WATCH_OPS;
	cl.watch = &watch;
	cl.verdict = V_NEUTRAL;
	cl.reason = "transaction control only";

	cl.flags = leading_hint(sql, len);
	while (classify_statement(&cl))
		;
	if (cl.statements == 0 && !(cl.flags & ROUTE_F_UNPARSABLE))
	{
		cl.flags |= ROUTE_F_EMPTY;
		cl.reason = "empty query";
	}
	if (cl.statements > 1)
		cl.flags |= ROUTE_F_MULTI;

	if (cl.flags & ROUTE_F_HINT_PRIMARY)
	{
		route_class = ROUTE_WRITE;
		cl.reason = "hint faregate:primary";
		strcpy(cl.object, "faregate:primary");
	}
	else if ((cl.flags & ROUTE_F_HINT_REPLICA) && cl.verdict == V_WRITE_SOFT)
	{
		route_class = ROUTE_READ;
		cl.reason = "hint faregate:replica";
		strcpy(cl.object, "faregate:replica");
	}
	else if (cl.verdict >= V_WRITE_SOFT)
		route_class = ROUTE_WRITE;
	else if (cl.verdict == V_SESSION)
		route_class = ROUTE_SESSION_SET;
	else
		route_class = ROUTE_READ;

	if (result)
	{
		result->route_class = route_class;
		result->flags = cl.flags;
		result->statements = cl.statements;
		result->reason = cl.reason;
		memcpy(result->object, cl.object, sizeof(result->object));
	}
	return route_class;
}

int
sqlroute_listen_statements(const char *sql, size_t len, bool standard_conforming_strings, RouteListenOp *ops,
						int max)
{
	SqlScanner	sc;
	SqlToken	tok[2];			/* one statement: its first token decides, its second names the channel */
	int			found = 0;
	int			n;

	sqlscan_init(&sc, sql, len, standard_conforming_strings);
	while ((n = sqlscan_next_statement(&sc, tok, 2)) > 0)
	{
		char		kind = 0;
		char		name[SQLSCAN_NAME_MAX + 1];
		size_t		name_len = 0;

		if (sqlscan_is_word(&tok[0], "listen"))
			kind = 'L';
		else if (sqlscan_is_word(&tok[0], "unlisten"))
			kind = 'U';
		if (!kind || n < 2)
			continue;
		if (tok[1].kind == SQLTOK_IDENT || tok[1].kind == SQLTOK_QIDENT)
		{
			sqlscan_name(&tok[1], name);
			name_len = strlen(name);
		}
		else if (kind == 'U' && sqlscan_is_op(&tok[1], "*"))
			name[name_len++] = '*';
		name[name_len] = '\0';
		if (name_len == 0)
			continue;
		if (found < max)
		{
			ops[found].kind = kind;
			memcpy(ops[found].channel, name, name_len + 1);
		}
		found++;
	}
	return n < 0 ? -1 : found;
}

/* ------------------------------------------------------------------------------------------------
 * Session state (sqlroute_session_statements)
 * ------------------------------------------------------------------------------------------------ */

static void
ss_next(SessionScan *ss)
{
	if (ss->cl)
		next_token(ss->cl, &ss->tok);
	else
		lex_next(&ss->lx, &ss->tok);
}

/* ss_end: the current token ends the statement. */
static bool
ss_end(const SessionScan *ss)
{
	return ss->tok.type == SQLTOK_SEMI || ss->tok.type == SQLTOK_EOF || ss->tok.type == SQLTOK_ERROR;
}

/* ss_word: the current token is the unquoted word (lower case), keyword or not. */
static bool
ss_word(const SessionScan *ss, const char *word)
{
	return ss->tok.type == SQLTOK_IDENT && ss->tok.len == strlen(word) && ascii_lower_equal(word, ss->tok.s, ss->tok.len);
}

/* ss_add: records one fact; the returned op (or a scratch one past max) takes its name and value. */
static RouteSessionOp *
ss_add(SessionScan *ss, RouteSessionKind kind)
{
	static __thread RouteSessionOp scratch;
	RouteSessionOp *op = ss->found < ss->max ? &ss->ops[ss->found] : &scratch;

	ss->found++;
	memset(op, 0, sizeof(*op));
	op->kind = (unsigned char) kind;
	return op;
}

/* ss_name: the identifier token as the server names it into out (max 63 bytes). */
static void
ss_name(const Token *tok, char *out)
{
	name_text(tok, out);
}

/* ss_param_name: a parameter name, plain or qualified (myapp.tenant), into op->name; consumes it. */
static void
ss_param_name(SessionScan *ss, RouteSessionOp *op)
{
	char		first[NAME_MAX_BYTES + 1];
	char		second[NAME_MAX_BYTES + 1];

	ss_name(&ss->tok, first);
	ss_next(ss);
	if (ss->tok.type != SQLTOK_DOT)
	{
		snprintf(op->name, sizeof(op->name), "%s", first);
		return;
	}
	ss_next(ss);
	second[0] = '\0';
	if (is_name(&ss->tok))
	{
		ss_name(&ss->tok, second);
		ss_next(ss);
	}
	snprintf(op->name, sizeof(op->name), "%s.%s", first, second);
}

/*
 * ss_value: the value of SET name {TO|=} value, from the current token to the end of the statement:
 * a single constant (a string's contents, a number with its sign, a word) is plain; DEFAULT is a
 * reset; anything else (a list, an expression) is not plain. Consumes through the statement's end.
 */
static void
ss_value(SessionScan *ss, RouteSessionOp *op)
{
	const Token first = ss->tok;
	size_t		n = 0;
	int			tokens = 0;
	bool		sign = false;

	op->value_plain = false;
	if (first.type == SQLTOK_OP && first.len == 1 && (first.s[0] == '-' || first.s[0] == '+'))
	{
		sign = true;
		ss_next(ss);
	}
	{
		const Token v = ss->tok;

		for (; !ss_end(ss); ss_next(ss))
			tokens++;
		if (tokens != 1)
			return;
		if (v.type == SQLTOK_STRING && v.s[0] == '\'' && !sign)
		{
			/* a plain '...' literal: doubled quotes undone; a continuation or escape form is not plain */
			for (size_t i = 1; i + 1 < v.len; i++)
			{
				if (v.s[i] == '\'')
				{
					if (v.s[i + 1] != '\'')
						return;
					i++;
				}
				if (n + 1 >= sizeof(op->value))
					return;
				op->value[n++] = v.s[i];
			}
		}
		else if (v.type == SQLTOK_NUMBER || (!sign && (v.type == SQLTOK_IDENT || v.type == SQLTOK_QIDENT)))
		{
			if (v.type == SQLTOK_IDENT && v.len == 7 && ascii_lower_equal("default", v.s, 7))
			{
				op->to_default = true;
				op->value_plain = true;
				return;
			}
			if (sign)
				op->value[n++] = first.s[0];
			if (v.type == SQLTOK_NUMBER)
			{
				if (n + v.len >= sizeof(op->value))
					return;
				memcpy(op->value + n, v.s, v.len);
				n += v.len;
			}
			else
				n += name_text(&v, op->value + n);
		}
		else
			return;
		op->value[n] = '\0';
		op->value_plain = true;
	}
}

/* ss_set: after SET. */
static void
ss_set(SessionScan *ss)
{
	RouteSessionOp *op;

	if (ss_word(ss, "local") || ss_word(ss, "transaction") || ss_word(ss, "constraints"))
		return;					/* transaction state */
	if (ss_word(ss, "session"))
	{
		ss_next(ss);
		if (ss_word(ss, "authorization"))
		{
			ss_next(ss);
			ss_add(ss, ss_word(ss, "default") ? RS_ROLE_RESET : RS_ROLE);
			return;
		}
		if (ss_word(ss, "characteristics"))
		{
			op = ss_add(ss, RS_SET);
			snprintf(op->name, sizeof(op->name), "default_transaction_isolation");
			return;
		}
	}
	if (ss_word(ss, "role"))
	{
		ss_next(ss);
		ss_add(ss, ss_word(ss, "none") ? RS_ROLE_RESET : RS_ROLE);
		return;
	}
	if (ss_word(ss, "names") || (ss_word(ss, "time") && (ss_next(ss), ss_word(ss, "zone"))))
		return;					/* client_encoding, TimeZone: reported by ParameterStatus, tracked */
	if (ss_word(ss, "schema") || ss_word(ss, "xml"))
	{
		op = ss_add(ss, RS_SET);
		snprintf(op->name, sizeof(op->name), "%s", ss_word(ss, "schema") ? "schema" : "xmloption");
		return;
	}
	if (!is_name(&ss->tok))
		return;
	op = ss_add(ss, RS_SET);
	ss_param_name(ss, op);
	if (!(ss->tok.type == SQLTOK_OP && token_is(&ss->tok, "=")) && !is_kw(&ss->tok, K_TO))
		return;					/* not plain: PostgreSQL will refuse it anyway */
	ss_next(ss);
	ss_value(ss, op);
}

/* ss_reset: after RESET. */
static void
ss_reset(SessionScan *ss)
{
	RouteSessionOp *op;

	if (ss_word(ss, "all"))
		ss_add(ss, RS_RESET_ALL);
	else if (ss_word(ss, "role") || ss_word(ss, "session"))
		ss_add(ss, RS_ROLE_RESET);
	else if (ss_word(ss, "time"))
		return;
	else if (is_name(&ss->tok))
	{
		op = ss_add(ss, RS_RESET);
		ss_param_name(ss, op);
	}
}

/* ss_literal: t is a plain '...' literal without quotes inside: its contents into out. */
static bool
ss_literal(const Token *t, char *out, size_t outlen)
{
	if (t->type != SQLTOK_STRING || t->s[0] != '\'' || t->len < 2 || t->len - 2 >= outlen ||
		memchr(t->s + 1, '\'', t->len - 2))
		return false;
	memcpy(out, t->s + 1, t->len - 2);
	out[t->len - 2] = '\0';
	return true;
}

/*
 * ss_set_config_arg: tok while inside set_config(...): set_config('name', 'value', false) is a plain
 * session SET, set_config(..., true) transaction state (nothing), any other form a SET the pooler cannot
 * follow. Returns false once the call's form is decided.
 */
static bool
ss_set_config_arg(SessionScan *ss, const Token *tok)
{
	bool		plain = false;
	RouteSessionOp *op;

	switch (ss->set_config_arg)
	{
		case 1:
			if (!ss_literal(tok, ss->set_config_name, sizeof(ss->set_config_name)))
				break;
			ss->set_config_arg++;
			return true;
		case 3:
			if (!ss_literal(tok, ss->set_config_value, sizeof(ss->set_config_value)))
				break;
			ss->set_config_arg++;
			return true;
		case 2:
		case 4:
			if (tok->type != SQLTOK_COMMA)
				break;
			ss->set_config_arg++;
			return true;
		default:
			if (is_kw(tok, K_TRUE))
				return false;
			plain = is_kw(tok, K_FALSE);
			break;
	}
	op = ss_add(ss, RS_SET);
	for (size_t i = 0; ss->set_config_name[i]; i++)
		op->name[i] = (char) tolower((unsigned char) ss->set_config_name[i]);
	if (!ss->set_config_name[0])
		snprintf(op->name, sizeof(op->name), "set_config");
	if (plain)
	{
		memcpy(op->value, ss->set_config_value, sizeof(op->value));
		op->value_plain = true;
	}
	return false;
}

/*
 * ss_watch: one token of a statement, in order (ss->prev, ss->prev2 the ones before it in the same
 * statement), looking for calls of the advisory-lock functions (optionally pg_catalog-qualified),
 * set_config('name', 'value', false|true), and SELECT ... INTO TEMP. Token by token, so that
 * sqlroute_classify's walk can feed it the tokens it reads (watch_token).
 */
static void
ss_watch(SessionScan *ss, const Token *tok)
{
	const Token prev = ss->prev;
	const Token prev2 = ss->prev2;
	char		name[NAME_MAX_BYTES + 1];

	ss->prev2 = prev;
	ss->prev = *tok;
	if (ss->set_config_arg)
	{
		if (!ss_set_config_arg(ss, tok))
			ss->set_config_arg = 0;
		return;
	}
	if ((is_kw(tok, K_TEMP) || is_kw(tok, K_TEMPORARY)) &&
		(is_kw(&prev, K_INTO) || ((is_kw(&prev, K_LOCAL) || is_kw(&prev, K_GLOBAL)) && is_kw(&prev2, K_INTO))))
	{
		ss_add(ss, RS_TEMP);
		return;
	}
	if (tok->type != SQLTOK_LPAREN || prev.type != SQLTOK_IDENT || prev.len < 10 || prev.len > 27)
		return;
	name_text(&prev, name);
	if (strncmp(name, "pg_", 3) != 0 && strcmp(name, "set_config") != 0)
		return;
	if (strcmp(name, "pg_advisory_lock") == 0 || strcmp(name, "pg_advisory_lock_shared") == 0 ||
		strcmp(name, "pg_try_advisory_lock") == 0 || strcmp(name, "pg_try_advisory_lock_shared") == 0)
		snprintf(ss_add(ss, RS_LOCK)->name, 64, "%s", name);
	else if (strcmp(name, "pg_advisory_unlock") == 0 || strcmp(name, "pg_advisory_unlock_shared") == 0)
		snprintf(ss_add(ss, RS_UNLOCK)->name, 64, "%s", name);
	else if (strcmp(name, "pg_advisory_unlock_all") == 0)
		ss_add(ss, RS_UNLOCK_ALL);
	else if (strcmp(name, "set_config") == 0)
	{
		ss->set_config_arg = 1;
		ss->set_config_name[0] = '\0';
		ss->set_config_value[0] = '\0';
	}
}

/* ss_calls: the rest of a statement (from the current token through its end), token by token to ss_watch. */
static void
ss_calls(SessionScan *ss)
{
	memset(&ss->prev, 0, sizeof(ss->prev));
	memset(&ss->prev2, 0, sizeof(ss->prev2));
	ss->set_config_arg = 0;
	for (;; ss_next(ss))
	{
		ss_watch(ss, &ss->tok);
		if (ss_end(ss))
			return;
	}
}

/* ss_statement: one statement from its first token (current); consumes through its end. */
static void
ss_statement(SessionScan *ss)
{
	if (is_kw(&ss->tok, K_SET))
	{
		ss_next(ss);
		ss_set(ss);
	}
	else if (is_kw(&ss->tok, K_RESET))
	{
		ss_next(ss);
		ss_reset(ss);
	}
	else if (ss_word(ss, "discard"))
	{
		ss_next(ss);
		if (is_kw(&ss->tok, K_ALL))
			ss_add(ss, RS_DISCARD_ALL);
		else if (is_kw(&ss->tok, K_TEMP) || is_kw(&ss->tok, K_TEMPORARY))
			ss_add(ss, RS_DISCARD_TEMP);
	}
	else if (is_kw(&ss->tok, K_CLOSE))
	{
		ss_next(ss);
		if (is_kw(&ss->tok, K_ALL))
			ss_add(ss, RS_CLOSE_ALL);
		else if (is_name(&ss->tok))
			ss_name(&ss->tok, ss_add(ss, RS_CLOSE)->name);
	}
	else if (is_kw(&ss->tok, K_DECLARE))
	{
		Token		cursor;
		Token		prev = {0};

		ss_next(ss);
		cursor = ss->tok;
		for (; !ss_end(ss) && !is_kw(&ss->tok, K_FOR); prev = ss->tok, ss_next(ss))
			if (is_kw(&prev, K_WITH) && is_kw(&ss->tok, K_HOLD) && is_name(&cursor))
				ss_name(&cursor, ss_add(ss, RS_HOLD_CURSOR)->name);
	}
	else if (is_kw(&ss->tok, K_CREATE))
	{
		/* CREATE [OR REPLACE] [GLOBAL | LOCAL] TEMP | TEMPORARY ... (as create_statement) */
		for (int n = 0; n < 3 && !ss_end(ss); n++)
		{
			ss_next(ss);
			if (is_kw(&ss->tok, K_TEMP) || is_kw(&ss->tok, K_TEMPORARY))
			{
				ss_add(ss, RS_TEMP);
				break;
			}
		}
	}
	ss_calls(ss);
}

int
sqlroute_session_statements(const char *sql, size_t len, bool standard_conforming_strings, RouteSessionOp *ops,
						 int max)
{
	SessionScan ss;

	pthread_once(&init_once, sqlroute_init);
	memset(&ss, 0, sizeof(ss));
	sqlscan_init(&ss.lx, sql, len, standard_conforming_strings);
	ss.ops = ops;
	ss.max = max;
	for (;;)
	{
		ss_next(&ss);
		if (ss.tok.type == SQLTOK_ERROR)
			return -1;
		if (ss.tok.type == SQLTOK_EOF)
			return ss.found;
		if (ss.tok.type == SQLTOK_SEMI)
			continue;
		ss_statement(&ss);
		if (ss.tok.type == SQLTOK_ERROR)
			return -1;
		if (ss.tok.type == SQLTOK_EOF)
			return ss.found;
	}
}

const char *
sqlroute_class_name(RouteClass route_class)
{
	switch (route_class)
	{
		case ROUTE_READ:
			return "read";
		case ROUTE_WRITE:
			return "write";
		case ROUTE_SESSION_SET:
			return "session_set";
	}
	return "?";
}

bool
sqlroute_selftest(void)
{
	pthread_once(&init_once, sqlroute_init);
	if (N_KEYWORDS > N_KEYWORDS_MAX)
		return false;
	for (size_t i = 0; i < N_KEYWORDS; i++)
	{
		Token		tok = {SQLTOK_IDENT, K_NONE, KC_NONE, keywords[i].name, strlen(keywords[i].name)};

		lookup_keyword(&tok);
		if (tok.kw != keywords[i].id)
			return false;
	}
	for (size_t i = 1; i < N_KEYWORDS; i++)
		if (strcmp(keywords[i - 1].name, keywords[i].name) >= 0)
			return false;
	for (size_t i = 0; i < N_KEYWORDS; i++)
		if (strlen(keywords[i].name) > KEYWORD_MAX_LEN)
			return false;
	return true;
}
