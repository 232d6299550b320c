/*
 * pgbcompat.h: PgBouncer 1.25 compatibility of the configuration (issue 15): which of PgBouncer's keys
 * faregate-pooler accepts without applying them (and why), which it accepts only at their default, and
 * the nearest known name for a misspelt one. config.c asks; docs/pooler.md lists the same reasons.
 */
#ifndef FAREGATE_PGBCOMPAT_H
#define FAREGATE_PGBCOMPAT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum PgbcompatSupport
{
	PGBC_APPLIED,				/* not in the table: config.c's key does what PgBouncer's does */
	PGBC_NO_EFFECT,				/* any valid value is accepted; reason says why nothing changes */
	PGBC_DEFAULT_ONLY			/* only the default is accepted; another value stops start-up */
} PgbcompatSupport;

/* pgbcompat_support: how faregate-pooler handles the [pooler] key name; *reason gets the why (or NULL). */
extern PgbcompatSupport pgbcompat_support(const char *name, const char **reason);

/*
 * pgbcompat_nearest: of the n names, the one nearest to name (Levenshtein distance up to a third of its
 * length, at least 2), or NULL when none is that near.
 */
extern const char *pgbcompat_nearest(const char *name, const char *const *names, size_t n);

#endif
