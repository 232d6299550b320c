/*
 * test_sqlscan_oracle.c: sqlscan.c against PostgreSQL's own parser, as libpg_query (Debian's
 * libpg-query-dev, PostgreSQL 15's grammar) runs it: a test-time oracle only, nothing in the pooler links
 * it. For every text of the routing corpus (route_corpus.txt) and the seeds of fuzz_sqlscan and
 * fuzz_route (standard_conforming_strings on) that PostgreSQL parses, sqlscan_next_statement must find
 * the statements pg_query_split_with_parser finds: as many, each starting at the same first token (same
 * offset and length: the statement's first keyword) and ending at the same ';'. Texts PostgreSQL
 * rejects are counted and skipped (sqlscan is a scanner, not a parser). A negative control first shows
 * that the comparison reports a wrong split (check_oracle_can_fail).
 */
#include <dirent.h>
#include <limits.h>
#include <pg_query.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlscan.h"
#include "tap.h"

#define MAX_STATEMENTS 64
#define PGQ_SQL_COMMENT 275		/* pg_query.proto's Token values of the two comment kinds */
#define PGQ_C_COMMENT 276

static int	compared;
static int	rejected;

/* varint: one protobuf varint at *p (< end); false when malformed. */
static bool
varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	*out = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7)
	{
		uint8_t		b = *(*p)++;

		*out |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * first_tokens: from pg_query_scan's ScanResult (protobuf: field 2 = repeated ScanToken {1 start, 2 end,
 * 4 token}), the start and end of the first token that is not a comment at or after each offset in
 * from[0..n). -1 when there is none. False when the result cannot be read.
 */
static bool
first_tokens(const PgQueryProtobuf *pbuf, const int *from, int n, int *start, int *end)
{
	const uint8_t *p = (const uint8_t *) pbuf->data;
	const uint8_t *stop = p + pbuf->len;

	for (int i = 0; i < n; i++)
		start[i] = end[i] = -1;
	while (p < stop)
	{
		uint64_t	key;
		uint64_t	v;
		uint64_t	len;
		const uint8_t *tok_end;
		int64_t		tok_start = 0;	/* proto3 leaves out fields at 0 */
		int64_t		tok_stop = 0;
		int64_t		kind = 0;

		if (!varint(&p, stop, &key))
			return false;
		if ((key & 7) == 0)
		{
			if (!varint(&p, stop, &v))
				return false;
			continue;			/* version */
		}
		if ((key & 7) != 2 || !varint(&p, stop, &len) || len > (uint64_t) (stop - p))
			return false;
		tok_end = p + len;
		if ((key >> 3) != 2)
		{
			p = tok_end;
			continue;
		}
		while (p < tok_end)
		{
			uint64_t	fkey;

			if (!varint(&p, tok_end, &fkey) || (fkey & 7) != 0 || !varint(&p, tok_end, &v))
				return false;
			if ((fkey >> 3) == 1)
				tok_start = (int64_t) v;
			else if ((fkey >> 3) == 2)
				tok_stop = (int64_t) v;
			else if ((fkey >> 3) == 4)
				kind = (int64_t) v;
		}
		if (kind == PGQ_SQL_COMMENT || kind == PGQ_C_COMMENT)
			continue;
		for (int i = 0; i < n; i++)
			if (start[i] < 0 && tok_start >= from[i])
			{
				start[i] = (int) tok_start;
				end[i] = (int) tok_stop;
			}
	}
	return true;
}

/* The statements PostgreSQL's parser finds in one text: where each one's first token starts and ends,
 * and where its ';' is (-1: the statement runs to the end of the text). */
typedef struct OracleSplit
{
	int			n;
	int			first_start[MAX_STATEMENTS];
	int			first_end[MAX_STATEMENTS];
	int			semi[MAX_STATEMENTS];
} OracleSplit;

/*
 * oracle_split: how PostgreSQL splits sql (standard_conforming_strings on, libpg_query's setting) into
 * *out. 1 when it did, 0 when PostgreSQL rejects the text, -1 when libpg_query failed on a text it
 * parsed (a failure of the test, reported by the caller).
 */
static int
oracle_split(const char *sql, OracleSplit *out)
{
	PgQueryParseResult parsed = pg_query_parse(sql);
	PgQuerySplitResult split;
	PgQueryScanResult scan;
	int			from[MAX_STATEMENTS];
	int			rc = 1;

	if (parsed.error)
	{
		pg_query_free_parse_result(parsed);
		return 0;
	}
	pg_query_free_parse_result(parsed);
	split = pg_query_split_with_parser(sql);
	scan = pg_query_scan(sql);
	if (split.error || scan.error || split.n_stmts > MAX_STATEMENTS)
		rc = -1;
	else
	{
		out->n = split.n_stmts;
		for (int i = 0; i < split.n_stmts; i++)
		{
			/* from just after the previous ';' to its own ';', or (the last) to the end of the text */
			int			stop = split.stmts[i]->stmt_location + split.stmts[i]->stmt_len;

			from[i] = split.stmts[i]->stmt_location;
			out->semi[i] = stop < (int) strlen(sql) ? stop : -1;
		}
		if (!first_tokens(&scan.pbuf, from, split.n_stmts, out->first_start, out->first_end))
			rc = -1;
	}
	pg_query_free_split_result(split);
	pg_query_free_scan_result(scan);
	return rc;
}

/*
 * sqlscan_agrees: sqlscan_next_statement over the len bytes at sql finds the statements of *want: as
 * many, each with the same first token and ending at the same ';' (or at the end). Differences are
 * printed as TAP diagnostics.
 */
static bool
sqlscan_agrees(const char *sql, size_t len, bool standard_strings, const OracleSplit *want)
{
	SqlScanner	sc;
	SqlToken	first;
	int			n = 0;
	int			tokens;
	bool		same = true;

	sqlscan_init(&sc, sql, len, standard_strings);
	while ((tokens = sqlscan_next_statement(&sc, &first, 1)) > 0)
	{
		int			at = (int) (first.s - sql);
		int			semi = (int) (sc.p - sql) - 1;	/* the ';' that ended it, if one did */

		if (n >= want->n)
		{
			printf("#   sqlscan statement %d at %d: pg_query has only %d\n", n + 1, at, want->n);
			same = false;
			break;
		}
		if (at != want->first_start[n] || at + (int) first.len != want->first_end[n])
		{
			printf("#   statement %d: sqlscan starts at %d..%zu (%.*s), pg_query at %d..%d\n", n + 1, at,
				   (size_t) at + first.len, (int) first.len, first.s, want->first_start[n], want->first_end[n]);
			same = false;
		}
		if (want->semi[n] >= 0 ? sql[semi] != ';' || semi != want->semi[n] : sc.p != sc.end)
		{
			printf("#   statement %d: sqlscan ends at %d, pg_query at %d (-1: the end)\n", n + 1,
				   sc.p == sc.end ? -1 : semi, want->semi[n]);
			same = false;
		}
		n++;
	}
	if (tokens < 0 || n != want->n)
	{
		printf("#   sqlscan: %d statements (%s), pg_query: %d\n", n, tokens < 0 ? "then an error" : "end",
			   want->n);
		same = false;
	}
	return same;
}

/* check_text: one text (NUL-terminated, len bytes) against the oracle; name says where it came from. */
static void
check_text(const char *sql, size_t len, const char *name)
{
	OracleSplit want;
	int			rc = oracle_split(sql, &want);
	char		what[300];

	if (rc == 0)
	{
		rejected++;
		return;
	}
	if (rc < 0)
	{
		snprintf(what, sizeof(what), "%s: pg_query splits and scans what it parsed", name);
		tap_ok(false, what);
		return;
	}
	snprintf(what, sizeof(what), "%s: %d statements, split and first keyword as PostgreSQL's", name, want.n);
	tap_ok(sqlscan_agrees(sql, len, true, &want), what);
	compared++;
}

/*
 * check_oracle_can_fail: the comparison is not blind. With standard_conforming_strings off, sqlscan
 * reads 'a\' as the start of a longer string and finds one statement where PostgreSQL (on) finds two;
 * and a split moved by one byte (a ';', the end of a first keyword, the end of the text) is reported.
 */
static void
check_oracle_can_fail(void)
{
	static const char sql[] = "SELECT 'a\\'; SELECT 2 -- '";
	OracleSplit want;
	OracleSplit wrong;

	if (!tap_ok(oracle_split(sql, &want) == 1 && want.n == 2, "negative control: PostgreSQL finds 2 statements"))
		return;
	printf("# the differences below are expected (negative control)\n");
	tap_ok(!sqlscan_agrees(sql, strlen(sql), false, &want),
		   "negative control: a wrong split (standard_conforming_strings off) is reported");
	wrong = want;
	wrong.semi[0]++;
	tap_ok(!sqlscan_agrees(sql, strlen(sql), true, &wrong), "negative control: a ';' one byte off is reported");
	wrong = want;
	wrong.first_end[1]--;
	tap_ok(!sqlscan_agrees(sql, strlen(sql), true, &wrong),
		   "negative control: a first keyword cut short is reported");
	wrong = want;
	wrong.semi[1] = (int) strlen(sql) - 1;
	tap_ok(!sqlscan_agrees(sql, strlen(sql), true, &wrong),
		   "negative control: a last statement that ends early is reported");
	tap_ok(sqlscan_agrees(sql, strlen(sql), true, &want), "negative control: the right split agrees");
}

/* here: the directory of this source, found from the binary (in test/unit/build or build-asan). */
static void
here(char *buf, size_t size)
{
	char		exe[PATH_MAX];
	ssize_t		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char	   *slash;

	snprintf(buf, size, "test/unit");
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
	{
		*slash = '\0';
		snprintf(buf, size, "%s/..", exe);
	}
}

/* check_corpus: every statement of route_corpus.txt (CLASS|SQL lines, '\' continues a line). */
static void
check_corpus(const char *dir)
{
	char		path[PATH_MAX + 32];
	static char sql[1 << 16];
	char		line[4096];
	size_t		sql_len = 0;
	bool		in_text = false;
	int			lineno = 0;
	int			start_line = 0;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/route_corpus.txt", dir);
	f = fopen(path, "r");
	if (!tap_ok(f != NULL, "route_corpus.txt opens"))
		return;
	while (fgets(line, sizeof(line), f))
	{
		size_t		len = strlen(line);
		const char *text = line;
		char		name[64];

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!in_text)
		{
			if (len < 2 || line[0] == '#' || line[1] != '|')
				continue;
			in_text = true;
			start_line = lineno;
			sql_len = 0;
			text += 2;
			len -= 2;
		}
		if (len > 0 && text[len - 1] == '\\')
		{
			memcpy(sql + sql_len, text, len - 1);
			sql_len += len - 1;
			sql[sql_len++] = '\n';
			continue;
		}
		memcpy(sql + sql_len, text, len);
		sql_len += len;
		sql[sql_len] = '\0';
		in_text = false;
		snprintf(name, sizeof(name), "corpus:%d", start_line);
		check_text(sql, sql_len, name);
	}
	fclose(f);
}

/* check_seeds: the fuzz seeds of one target (first byte: bit 0 = standard_conforming_strings). */
static void
check_seeds(const char *dir, const char *target)
{
	char		path[PATH_MAX + 64];
	DIR		   *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/../fuzz/corpus/%s", dir, target);
	d = opendir(path);
	if (!tap_ok(d != NULL, "fuzz seeds directory opens"))
		return;
	while ((e = readdir(d)))
	{
		char		file[PATH_MAX + 400];
		char		name[300];
		static char buf[1 << 16];
		size_t		n;
		FILE	   *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		f = fopen(file, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		if (n < 1 || !(buf[0] & 1) || memchr(buf + 1, '\0', n - 1))
			continue;			/* standard_conforming_strings off, or a NUL: not PostgreSQL's text */
		buf[n] = '\0';
		snprintf(name, sizeof(name), "fuzz/corpus/%s/%s", target, e->d_name);
		check_text(buf + 1, n - 1, name);
	}
	closedir(d);
}

int
main(void)
{
	char		dir[PATH_MAX + 8];
	static const char *const texts[] = {
		"", ";;", "/* only a comment */", "SELECT 1; -- trailing\n", "SELECT ';' ; SELECT $$;$$",
		"/* a /* nested */ comment */ SELECT 1;SELECT 2",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT f()",
		"SELECT E'\\';' ; LISTEN x",
		"SELECT U&\"d\\0061t\" FROM t; UNLISTEN *", "  (SELECT 1) UNION (SELECT 2);\n\tVALUES (1)",
	};

	here(dir, sizeof(dir));
	check_oracle_can_fail();
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		char		name[40];

		snprintf(name, sizeof(name), "text %zu", i + 1);
		check_text(texts[i], strlen(texts[i]), name);
	}
	check_corpus(dir);
	check_seeds(dir, "sqlscan");
	check_seeds(dir, "route");
	printf("# compared %d texts with PostgreSQL's parser; %d it rejects were skipped\n", compared, rejected);
	tap_ok(compared >= 300, "at least 300 texts were compared");
	pg_query_exit();
	return tap_done();
}
