/*
 * pgbcompat.c: owns the list of PgBouncer 1.25 settings that faregate-pooler accepts without applying
 * them, each with its reason, and the "did you mean" lookup for unknown names (issue 15). Every key of
 * PgBouncer's doc/config.md is in config.c's table; a key absent from the list below is applied.
 */
#include "pgbcompat.h"

#include <string.h>

typedef struct PgbcompatKey
{
	const char *name;
	PgbcompatSupport support;
	const char *reason;
} PgbcompatKey;

static const PgbcompatKey pgbcompat_keys[] = {
	{"conffile", PGBC_NO_EFFECT, "RELOAD and SIGHUP always read the file named on the command line"},
	{"service_name", PGBC_NO_EFFECT, "a Windows service name; faregate-pooler runs on Linux"},
	{"job_name", PGBC_NO_EFFECT, "a Windows service name; faregate-pooler runs on Linux"},
	{"stats_period", PGBC_NO_EFFECT, "faregate-pooler writes no periodic statistics line (see log_stats)"},
	{"log_stats", PGBC_NO_EFFECT, "faregate-pooler writes no periodic statistics line: read SHOW STATS or /metrics"},
	{"log_disconnections", PGBC_NO_EFFECT, "normal closes are logged at verbose >= 1, closes with an error always"},
	{"log_pooler_errors", PGBC_NO_EFFECT, "every error the pooler sends a client is logged with its close"},
	{"cancel_wait_timeout", PGBC_NO_EFFECT,
	"a cancel request is sent to its server at once, over a new connection; none waits for a slot"},
	{"suspend_timeout", PGBC_NO_EFFECT, "SUSPEND waits for no buffer flush: there is no socket takeover (-R)"},
	{"pkt_buf", PGBC_NO_EFFECT, "faregate-pooler sizes its I/O buffers itself (iobuf.c)"},
	{"sbuf_loopcnt", PGBC_NO_EFFECT, "faregate-pooler's event loop bounds each connection's turn itself"},
	{"server_round_robin", PGBC_DEFAULT_ONLY, "idle servers are always reused most recent first"},
	{"disable_pqexec", PGBC_DEFAULT_ONLY, "the simple query protocol is always allowed"},
	{"application_name_add_host", PGBC_DEFAULT_ONLY, "application_name is passed on unchanged"},
	{"scram_iterations", PGBC_DEFAULT_ONLY, "SCRAM secrets made from plain passwords use 4096 iterations"},
	{"auth_ldap_options", PGBC_DEFAULT_ONLY, "auth_type ldap is not supported"},
	{"dns_zone_check_period", PGBC_DEFAULT_ONLY,
	"zone serial checks need c-ares; host names are looked up again when their answer's TTL ends"},
	{"client_tls_ecdhcurve", PGBC_DEFAULT_ONLY, "OpenSSL chooses the ECDH curve"},
	{"client_tls_dheparams", PGBC_DEFAULT_ONLY, "OpenSSL's built-in DH parameters are used"},
	{"max_packet_size", PGBC_DEFAULT_ONLY, "faregate-pooler refuses client messages over 256 MB (54000)"},
};

PgbcompatSupport
pgbcompat_support(const char *name, const char **reason)
{
	for (size_t i = 0; i < sizeof(pgbcompat_keys) / sizeof(pgbcompat_keys[0]); i++)
		if (strcmp(pgbcompat_keys[i].name, name) == 0)
		{
			*reason = pgbcompat_keys[i].reason;
			return pgbcompat_keys[i].support;
		}
	*reason = NULL;
	return PGBC_APPLIED;
}

/* pgbcompat_distance: Levenshtein distance of a and b (names are short: both cut at 63 bytes). */
static size_t
pgbcompat_distance(const char *a, const char *b)
{
	size_t		la = strnlen(a, 63);
	size_t		lb = strnlen(b, 63);
	size_t		row[64];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++)
	{
		size_t		diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++)
		{
			size_t		up = row[j];
			size_t		best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *
pgbcompat_nearest(const char *name, const char *const *names, size_t n)
{
	size_t		limit = strlen(name) / 3;
	const char *best = NULL;
	size_t		best_distance = (size_t) -1;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++)
	{
		size_t		d = pgbcompat_distance(name, names[i]);

		if (d <= limit && d < best_distance)
		{
			best = names[i];
			best_distance = d;
		}
	}
	return best;
}
