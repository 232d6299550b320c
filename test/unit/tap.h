/*
 * tap.h: a minimal TAP producer for the C unit tests (header-only). Each check prints
 * "ok N - name" or "not ok N - name"; tap_done() prints the plan and returns the exit status.
 */
#ifndef FAREGATE_TAP_H
#define FAREGATE_TAP_H

#include <stdio.h>
#include <string.h>

static int	tap_count;
static int	tap_failed;

static inline int
tap_ok(int passed, const char *name)
{
	tap_count++;
	if (!passed)
		tap_failed++;
	printf("%sok %d - %s\n", passed ? "" : "not ", tap_count, name);
	return passed;
}

static inline int
tap_is_str(const char *got, const char *expected, const char *name)
{
	int			passed = got && expected && strcmp(got, expected) == 0;

	if (!tap_ok(passed, name))
		printf("#   got:      '%s'\n#   expected: '%s'\n", got ? got : "(null)",
			   expected ? expected : "(null)");
	return passed;
}

static inline int
tap_is_long(long got, long expected, const char *name)
{
	int			passed = got == expected;

	if (!tap_ok(passed, name))
		printf("#   got:      %ld\n#   expected: %ld\n", got, expected);
	return passed;
}

/* tap_skip: one test line for checks that did not run, with the reason (test/run-suites.sh fails a
 * skip whose reason is not in its allow-list) */
static inline void
tap_skip(const char *reason)
{
	tap_count++;
	printf("ok %d # SKIP %s\n", tap_count, reason);
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
