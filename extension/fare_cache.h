/*
 * fare_cache.h
 *	  Cross-file API of fare_cache.c: the per-backend fare cache (zones, categories with their transfer
 *	  rules and caps, timeframe windows, and the fare rules of each zone pair and category used so far,
 *	  in precedence order), how to get it, and how to look things up in it.
 *
 * All money is held as int64 cents (the rule tables store numeric(12,2), so this is exact).
 */
#ifndef FARE_CACHE_H
#define FARE_CACHE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"

/* One window of a timeframe: local time [start_usec, end_usec) on the ISO weekdays in days_mask. */
typedef struct FareWindow
{
	uint8		days_mask;		/* bit d set for ISO weekday d (1 = Monday .. 7 = Sunday) */
	int64		start_usec;		/* microseconds after local midnight, inclusive */
	int64		end_usec;		/* exclusive; USECS_PER_DAY for 24:00 */
} FareWindow;

/* A named timeframe: windows[first_window .. first_window + nwindows - 1] of the cache. */
typedef struct FareTimeframe
{
	const char *name;
	int			first_window;
	int			nwindows;
} FareTimeframe;

#define FARE_ANY_TIME (-1)		/* a rule with timeframe NULL */
#define FARE_NO_WINDOW (-2)		/* a rule whose timeframe has no window left: never applies */

/* One fare rule, as compiled. */
typedef struct FareRule
{
	int64		rule_id;
	int64		amount_cents;
	char		currency[4];	/* NUL-terminated ISO 4217 code */
	int32		priority;
	int			timeframe;		/* index into the cache's timeframes, FARE_ANY_TIME or FARE_NO_WINDOW */
	DateADT		valid_from;		/* first local date the rule applies (DATEVAL_NOBEGIN: unbounded) */
	DateADT		valid_until;	/* first local date it no longer applies (DATEVAL_NOEND: unbounded) */
} FareRule;

/* A rider category with its transfer rule and caps (all optional). */
typedef struct FareCategory
{
	const char *name;
	bool		has_transfer;
	int32		max_transfers;
	int64		transfer_within_usec;	/* interval compared like SQL does: 30-day months, 24 h days */
	int64		transfer_fee_cents;
	bool		has_day_cap;
	int64		day_cap_cents;
	int64		day_cap_starts_usec;	/* service day start, local time */
	bool		has_week_cap;
	int64		week_cap_cents;
	int64		week_cap_starts_usec;	/* service day start that bounds the Monday-Sunday week */
} FareCategory;

typedef struct FareCache FareCache;

/* Not found, from the lookup functions below. */
#define FARE_CACHE_NOT_FOUND (-1)
/* From fare_cache_rules: the rules changed during this call; start the call over with fare_cache_get(). */
#define FARE_CACHE_RETRY (-1)
/* How often a call starts over before it gives up with 40001 (fares_retry_or_fail in fares.c). */
#define FARE_CACHE_MAX_ATTEMPTS 100

extern void fare_cache_init(void);
extern FareCache *fare_cache_get(void);
extern int	fare_cache_zone(FareCache *cache, const char *name, int len);
extern int	fare_cache_category(FareCache *cache, const char *name, int len);
extern const FareCategory *fare_cache_category_info(FareCache *cache, int category);
extern const char *fare_cache_zone_name(FareCache *cache, int zone);
extern const FareRule *fare_cache_rules(FareCache *cache, int from_zone, int to_zone, int category,
										int *nrules);
extern bool fare_cache_timeframe_matches(FareCache *cache, int timeframe, int isodow, int64 time_usec);
extern const char *fare_cache_timeframe_name(FareCache *cache, int timeframe);

#endif							/* FARE_CACHE_H */
