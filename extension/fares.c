/*
 * fares.c
 *	  The SQL-callable fare functions faregate.fare, fare_quote, journey_fare and charge_taps, and the
 *	  faregate.timezone setting (the agency time zone in which timeframes, validity dates, service days
 *	  and service weeks are read).  Rules come from the compiled table of fare_cache.c.
 *
 * Precedence (docs/fares.md): of the rules for a zone pair and category whose validity contains the
 * local date and whose timeframe contains the local time (or that have none), the highest priority wins;
 * at equal priority a timeframe rule beats an any-time rule; two timeframe rules of equal priority that
 * both apply are an error (FG008), never an arbitrary pick.  Money is int64 cents throughout and becomes
 * numeric(…,2) only on output, so no rounding ever happens.
 *
 * Nothing here touches the catalogs between fare_cache_get() and the last lookup.  A lookup may fill a
 * cache entry (SPI) but never frees one; when it answers FARE_CACHE_RETRY (the rules changed during
 * the call), the call starts over from fare_cache_get(), so that one answer never mixes two tariffs.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "faregate.h"
#include "fare_cache.h"
#include "fares.h"

PG_FUNCTION_INFO_V1(fare);
PG_FUNCTION_INFO_V1(fare_quote);
PG_FUNCTION_INFO_V1(journey_fare);
PG_FUNCTION_INFO_V1(charge_taps);

/*
 * faregate.timezone: its text, and the zone it names (set by the assign hook; NULL for the default
 * until fares_agency_zone() loads it)
 */
static char *fares_timezone_name = NULL;
static pg_tz *fares_timezone = NULL;

/* its default */
#define FARES_DEFAULT_TIMEZONE "UTC"

/* A moment in the agency time zone. */
typedef struct FareLocal
{
	DateADT		date;			/* local calendar date */
	int			isodow;			/* 1 = Monday .. 7 = Sunday */
	int64		time_usec;		/* microseconds after local midnight */
	Timestamp	wall;			/* local wall-clock time as a timestamp without time zone */
} FareLocal;

/* One leg or tap while it is priced. */
typedef struct FareTap
{
	text	   *from_text;
	text	   *to_text;
	TimestampTz boarded_at;
	FareLocal	local;
	const FareRule *rule;
	int64		charged_cents;
	const char *reason;			/* "fare", "transfer", "daily cap", "weekly cap" */
} FareTap;

/* Per-call-site state of journey_fare and charge_taps: the leg type, kept in fn_extra. */
typedef struct FareLegType
{
	Oid			type_oid;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	TupleDesc	tupdesc;		/* a copy in fn_mcxt */
} FareLegType;

/* ---- faregate.timezone ---- */

/*
 * fares_check_timezone: GUC check hook of faregate.timezone; accepts a zone PostgreSQL knows and that
 * has no leap seconds, and hands the loaded zone to the assign hook.  The default is not loaded here
 * but by fares_agency_zone() when a fare is first priced in it: every backend that loads the library
 * checks the default, also where ALTER DATABASE ... SET replaces it at once, and reading a zone file
 * is a measurable part of a new backend's first fare() (docs/fares.md, "The first call").
 */
static bool
fares_check_timezone(char **newval, void **extra, GucSource source)
{
	pg_tz	   *tz = NULL;
	pg_tz	  **result;

	if (strcmp(*newval, FARES_DEFAULT_TIMEZONE) != 0)
	{
		tz = pg_tzset(*newval);
		if (tz == NULL)
		{
			GUC_check_errmsg("invalid value for parameter \"faregate.timezone\": \"%s\"", *newval);
			GUC_check_errhint("Use a time zone name from pg_timezone_names, e.g. 'Europe/Zurich'.");
			return false;
		}
		if (!pg_tz_acceptable(tz))
		{
			GUC_check_errmsg("time zone \"%s\" appears to use leap seconds", *newval);
			GUC_check_errdetail("PostgreSQL does not support leap seconds.");
			return false;
		}
	}
	result = malloc(sizeof(pg_tz *));
	if (result == NULL)
		return false;
	*result = tz;
	*extra = result;
	return true;
}

/* fares_assign_timezone: GUC assign hook of faregate.timezone. */
static void
fares_assign_timezone(const char *newval, void *extra)
{
	fares_timezone = *(pg_tz **) extra;
}

/*
 * fares_define_gucs: defines faregate.timezone and registers the fare cache's invalidation callback.
 * Called once per backend from _PG_init, before the faregate prefix is reserved.
 */
void
fares_define_gucs(void)
{
	DefineCustomStringVariable("faregate.timezone",
							   "Agency time zone for fare timeframes, validity dates, service days and weeks.",
							   "Used instead of the session's TimeZone, so that a tap prices the same from every session.",
							   &fares_timezone_name,
							   "UTC",
							   PGC_SUSET,
							   0,
							   fares_check_timezone, fares_assign_timezone, NULL);
	fare_cache_init();
}

/* ---- local time ---- */

/*
 * fares_agency_zone: the agency time zone, the default loaded on its first use.  The default, "UTC", ships
 * with every PostgreSQL; if it cannot be read the call fails (before, loading the library did).
 */
static pg_tz *
fares_agency_zone(void)
{
	if (fares_timezone == NULL)
	{
		pg_tz	   *tz = pg_tzset(FARES_DEFAULT_TIMEZONE);

		if (tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" cannot be loaded", FARES_DEFAULT_TIMEZONE),
					 errhint("Check PostgreSQL's time zone files, or set faregate.timezone.")));
		fares_timezone = tz;
	}
	return fares_timezone;
}

/* fares_floor_div: division rounding towards minus infinity (for times before 2000-01-01). */
static inline int64
fares_floor_div(int64 numerator, int64 denominator)
{
	int64		quotient = numerator / denominator;

	if ((numerator % denominator) != 0 && ((numerator < 0) != (denominator < 0)))
		quotient--;
	return quotient;
}

/*
 * fares_local: the moment ts in the agency time zone.
 */
static void
fares_local(TimestampTz ts, FareLocal *local)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	int			julian;

	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, fares_agency_zone()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for fares: %s", timestamptz_to_str(ts)),
				 errhint("Pass a finite boarding time.")));
	julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	local->date = julian - POSTGRES_EPOCH_JDATE;
	local->isodow = j2day(julian);
	if (local->isodow == 0)
		local->isodow = 7;
	local->time_usec = (((int64) tm.tm_hour * MINS_PER_HOUR + tm.tm_min) * SECS_PER_MINUTE + tm.tm_sec) *
		USECS_PER_SEC + fsec;
	local->wall = (int64) local->date * USECS_PER_DAY + local->time_usec;
}

/* fares_local_string: "2026-03-29 07:30:00 Europe/Berlin", for messages. */
static char *
fares_local_string(const FareLocal *local)
{
	int			year,
				month,
				day;
	int64		seconds = local->time_usec / USECS_PER_SEC;

	j2date(local->date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d %s", year, month, day,
					(int) (seconds / 3600), (int) (seconds / 60 % 60), (int) (seconds % 60),
					fares_timezone_name);
}

/* ---- arguments ---- */

/* fares_null_argument: raises 22004 for a NULL argument. */
static void
fares_null_argument(const char *function, const char *argument)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("argument %s of faregate.%s must not be null", argument, function),
			 errhint("Pass a value, or leave the argument out to use its default.")));
}


/* ---- rule lookup ---- */

/* fares_zone: the dense index of a zone, or FG002. */
static int
fares_zone(FareCache *cache, const text *zone)
{
	int			index = fare_cache_zone(cache, VARDATA_ANY(zone), VARSIZE_ANY_EXHDR(zone));

	if (index == FARE_CACHE_NOT_FOUND)
		ereport(ERROR,
				(errcode(ERRCODE_FG_UNKNOWN_ZONE),
				 errmsg("unknown fare zone \"%s\"", text_to_cstring(zone)),
				 errhint("Use a zone_id from faregate.zones.")));
	return index;
}

/* fares_category: the dense index of a rider category, or FG003. */
static int
fares_category(FareCache *cache, const text *category)
{
	int			index = fare_cache_category(cache, VARDATA_ANY(category), VARSIZE_ANY_EXHDR(category));

	if (index == FARE_CACHE_NOT_FOUND)
		ereport(ERROR,
				(errcode(ERRCODE_FG_UNKNOWN_CATEGORY),
				 errmsg("unknown rider category \"%s\"", text_to_cstring(category)),
				 errhint("Use a category from faregate.rider_categories.")));
	return index;
}

/* fares_rule_applies: whether a rule's validity and timeframe contain the local moment. */
static inline bool
fares_rule_applies(FareCache *cache, const FareRule *rule, const FareLocal *local)
{
	return local->date >= rule->valid_from && local->date < rule->valid_until &&
		fare_cache_timeframe_matches(cache, rule->timeframe, local->isodow, local->time_usec);
}

/*
 * fares_find_rule: the rule that prices a ride from from_zone to to_zone in category at local, by the
 * precedence in the file header; raises FG001 when none applies and FG008 when two timeframe rules tie.
 * tap_no (1-based, 0 for a single ride) goes into the messages.  NULL: start the call over
 * (FARE_CACHE_RETRY).
 */
static const FareRule *
fares_find_rule(FareCache *cache, int from_zone, int to_zone, int category, const FareLocal *local,
				int tap_no)
{
	int			nrules;
	const FareRule *rules = fare_cache_rules(cache, from_zone, to_zone, category, &nrules);

	if (nrules == FARE_CACHE_RETRY)
		return NULL;
	for (int i = 0; i < nrules; i++)
	{
		const FareRule *rule = &rules[i];

		if (!fares_rule_applies(cache, rule, local))
			continue;
		if (rule->timeframe >= 0)
		{
			for (int j = i + 1; j < nrules && rules[j].priority == rule->priority; j++)
			{
				if (rules[j].timeframe == FARE_ANY_TIME)
					break;
				if (fares_rule_applies(cache, &rules[j], local))
					ereport(ERROR,
							(errcode(ERRCODE_FG_AMBIGUOUS_RULES),
							 errmsg("ambiguous fare rules %lld (timeframe %s) and %lld (timeframe %s) for %s -> %s, category %s, at %s",
									(long long) rule->rule_id, fare_cache_timeframe_name(cache, rule->timeframe),
									(long long) rules[j].rule_id, fare_cache_timeframe_name(cache, rules[j].timeframe),
									fare_cache_zone_name(cache, from_zone), fare_cache_zone_name(cache, to_zone),
									fare_cache_category_info(cache, category)->name, fares_local_string(local)),
							 tap_no > 0 ? errdetail("At tap %d.", tap_no) : 0,
							 errhint("Give one of the rules a higher priority, or make their timeframes disjoint.")));
			}
		}
		return rule;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FG_NO_FARE_RULE),
			 errmsg("no fare rule for %s -> %s, category %s, at %s",
					fare_cache_zone_name(cache, from_zone), fare_cache_zone_name(cache, to_zone),
					fare_cache_category_info(cache, category)->name, fares_local_string(local)),
			 tap_no > 0 ? errdetail("At tap %d.", tap_no) : 0,
			 errhint("Add a rule to faregate.fare_rules whose validity and timeframe cover this time, or check faregate.timezone.")));
	pg_unreachable();
}

/*
 * fares_retry_or_fail: called when attempt (0-based) of a call had to start over; raises 40001 after
 * FARE_CACHE_MAX_ATTEMPTS, which only a tariff rewritten without pause for the whole call can cause.
 */
static void
fares_retry_or_fail(const char *function, int attempt)
{
	if (attempt + 1 >= FARE_CACHE_MAX_ATTEMPTS)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("faregate.%s could not price: the fare rules changed %d times during the call", function,
						FARE_CACHE_MAX_ATTEMPTS),
				 errhint("Retry the call; load tariff changes in fewer, larger transactions.")));
}

/* fares_numeric: cents as an exact numeric with two decimals. */
static inline Datum
fares_numeric(int64 cents)
{
	return NumericGetDatum(int64_div_fast_to_numeric(cents, 2));
}

/* ---- fare, fare_quote ---- */

/*
 * fares_single: the rule for fare() and fare_quote() (which share their arguments).
 */
static const FareRule *
fares_single(FunctionCallInfo fcinfo, const char *function, FareCache **cache_out)
{
	text	   *from_text;
	text	   *to_text;
	text	   *category_text;
	TimestampTz at;
	FareLocal	local;
	FareCache  *cache;
	int			from_zone,
				to_zone,
				category;
	const FareRule *rule;

	if (PG_ARGISNULL(0))
		fares_null_argument(function, "from_zone");
	if (PG_ARGISNULL(1))
		fares_null_argument(function, "to_zone");
	if (PG_ARGISNULL(2))
		fares_null_argument(function, "at");
	if (PG_ARGISNULL(3))
		fares_null_argument(function, "category");
	from_text = PG_GETARG_TEXT_PP(0);
	to_text = PG_GETARG_TEXT_PP(1);
	at = PG_GETARG_TIMESTAMPTZ(2);
	category_text = PG_GETARG_TEXT_PP(3);
	fares_local(at, &local);

	for (int attempt = 0;; attempt++)
	{
		cache = fare_cache_get();
		category = fares_category(cache, category_text);
		from_zone = fares_zone(cache, from_text);
		to_zone = fares_zone(cache, to_text);
		*cache_out = cache;
		rule = fares_find_rule(cache, from_zone, to_zone, category, &local, 0);
		if (rule != NULL)
			return rule;
		fares_retry_or_fail(function, attempt);
	}
}

/*
 * fare: faregate.fare(from_zone, to_zone, at, category): the fare of one ride.
 */
Datum
fare(PG_FUNCTION_ARGS)
{
	FareCache  *cache;
	const FareRule *rule = fares_single(fcinfo, "fare", &cache);

	return fares_numeric(rule->amount_cents);
}

/*
 * fare_quote: faregate.fare_quote(...): the fare of one ride, its currency, and the rule and timeframe
 * that produced it.
 */
Datum
fare_quote(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FareCache  *cache;
	const FareRule *rule;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const char *timeframe;

	InitMaterializedSRF(fcinfo, 0);
	rule = fares_single(fcinfo, "fare_quote", &cache);
	timeframe = fare_cache_timeframe_name(cache, rule->timeframe);
	values[0] = fares_numeric(rule->amount_cents);
	values[1] = PointerGetDatum(cstring_to_text(rule->currency));	/* bpchar(3) has text's layout */
	values[2] = Int64GetDatum(rule->rule_id);
	if (timeframe != NULL)
		values[3] = PointerGetDatum(cstring_to_text(timeframe));
	else
		nulls[3] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* ---- legs ---- */

/*
 * fares_read_legs: the legs of a faregate.leg[] argument, in array order; *ntaps gets their number.
 * A NULL leg or a NULL field of a leg is FG006.  Touches the catalogs (once per call site), so it runs
 * before fare_cache_get().
 */
static FareTap *
fares_read_legs(FunctionCallInfo fcinfo, const char *function, int *ntaps)
{
	ArrayType  *legs;
	FareLegType *leg_type = (FareLegType *) fcinfo->flinfo->fn_extra;
	Datum	   *elements;
	bool	   *element_nulls;
	int			nelements;
	FareTap    *taps;

	if (PG_ARGISNULL(0))
		fares_null_argument(function, "legs");
	if (PG_ARGISNULL(1))
		fares_null_argument(function, "category");
	legs = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(legs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("faregate.%s takes a one-dimensional array of legs, not %d dimensions", function,
						ARR_NDIM(legs)),
				 errhint("Pass array_agg(row(from_zone, to_zone, boarded_at)::faregate.leg ORDER BY boarded_at).")));

	if (leg_type == NULL || leg_type->type_oid != ARR_ELEMTYPE(legs))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	desc;

		leg_type = palloc(sizeof(FareLegType));
		leg_type->type_oid = ARR_ELEMTYPE(legs);
		get_typlenbyvalalign(leg_type->type_oid, &leg_type->typlen, &leg_type->typbyval, &leg_type->typalign);
		desc = lookup_rowtype_tupdesc(leg_type->type_oid, -1);
		leg_type->tupdesc = CreateTupleDescCopy(desc);
		ReleaseTupleDesc(desc);
		/* heap_deform_tuple below fills exactly 3 fields: refuse an altered faregate.leg */
		if (leg_type->tupdesc->natts != 3)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("faregate.leg has %d attributes, faregate.%s expects 3", leg_type->tupdesc->natts,
							function),
					 errhint("Restore faregate.leg to (from_zone text, to_zone text, boarded_at timestamptz).")));
		fcinfo->flinfo->fn_extra = leg_type;
		MemoryContextSwitchTo(old);
	}

	deconstruct_array(legs, leg_type->type_oid, leg_type->typlen, leg_type->typbyval, leg_type->typalign,
					  &elements, &element_nulls, &nelements);
	taps = palloc(sizeof(FareTap) * Max(nelements, 1));
	for (int i = 0; i < nelements; i++)
	{
		HeapTupleHeader header;
		HeapTupleData tuple;
		Datum		fields[3];
		bool		field_nulls[3];

		if (element_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_FG_NULL_LEG),
					 errmsg("leg %d of faregate.%s is null", i + 1, function),
					 errhint("Leave taps without a known zone or time out of the array.")));
		header = DatumGetHeapTupleHeader(elements[i]);
		tuple.t_len = HeapTupleHeaderGetDatumLength(header);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = header;
		heap_deform_tuple(&tuple, leg_type->tupdesc, fields, field_nulls);
		for (int f = 0; f < 3; f++)
			if (field_nulls[f])
				ereport(ERROR,
						(errcode(ERRCODE_FG_NULL_LEG),
						 errmsg("leg %d of faregate.%s has a null %s", i + 1, function,
								f == 0 ? "from_zone" : f == 1 ? "to_zone" : "boarded_at"),
						 errhint("Leave taps without a known zone or time out of the array.")));
		taps[i].from_text = DatumGetTextPP(fields[0]);
		taps[i].to_text = DatumGetTextPP(fields[1]);
		taps[i].boarded_at = DatumGetTimestampTz(fields[2]);
		if (i > 0 && taps[i].boarded_at < taps[i - 1].boarded_at)
			ereport(ERROR,
					(errcode(ERRCODE_FG_TAPS_OUT_OF_ORDER),
					 errmsg("leg %d of faregate.%s, boarded at %s, is earlier than leg %d, boarded at %s",
							i + 1, function, timestamptz_to_str(taps[i].boarded_at), i,
							timestamptz_to_str(taps[i - 1].boarded_at)),
					 errhint("Order the legs by boarding time: array_agg(... ORDER BY boarded_at).")));
		fares_local(taps[i].boarded_at, &taps[i].local);
	}
	*ntaps = nelements;
	return taps;
}

/*
 * fares_price_taps: prices taps[0..ntaps-1] (already in time order): base fare of each, then transfers,
 * then, if apply_caps, the daily and weekly caps.  Fills rule, charged_cents and reason of every tap.
 * Returns false when the call must start over (FARE_CACHE_RETRY).
 */
static bool
fares_price_taps(FareCache *cache, int category, FareTap *taps, int ntaps, bool apply_caps)
{
	const FareCategory *info = fare_cache_category_info(cache, category);
	TimestampTz journey_start = 0;
	int			transfers_used = 0;
	int64		day_no = PG_INT64_MIN,
				week_no = PG_INT64_MIN;
	int64		day_paid = 0,
				week_paid = 0;

	for (int i = 0; i < ntaps; i++)
	{
		FareTap    *tap = &taps[i];
		int			from_zone = fares_zone(cache, tap->from_text);
		int			to_zone = fares_zone(cache, tap->to_text);
		int64		due;

		tap->rule = fares_find_rule(cache, from_zone, to_zone, category, &tap->local, i + 1);
		if (tap->rule == NULL)
			return false;
		if (i > 0 && memcmp(tap->rule->currency, taps[0].rule->currency, 3) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FG_CURRENCY_MIX),
					 errmsg("currency %s of tap %d (rule %lld) differs from currency %s of tap 1 (rule %lld)",
							tap->rule->currency, i + 1, (long long) tap->rule->rule_id,
							taps[0].rule->currency, (long long) taps[0].rule->rule_id),
					 errhint("Price each currency's taps separately, or fix the rules' currency in faregate.fare_rules.")));

		/* transfers: measured from the journey's first boarding, inclusive at exactly "within" */
		due = tap->rule->amount_cents;
		tap->reason = "fare";
		if (i > 0 && info->has_transfer && transfers_used < info->max_transfers &&
			tap->boarded_at - journey_start <= info->transfer_within_usec)
		{
			due = info->transfer_fee_cents;
			tap->reason = "transfer";
			transfers_used++;
		}
		else
		{
			journey_start = tap->boarded_at;
			transfers_used = 0;
		}

		if (apply_caps && (info->has_day_cap || info->has_week_cap))
		{
			int64		day_left = PG_INT64_MAX,
						week_left = PG_INT64_MAX,
						charged;

			if (info->has_day_cap)
			{
				int64		service_day = fares_floor_div(tap->local.wall - info->day_cap_starts_usec, USECS_PER_DAY);

				if (service_day != day_no)
				{
					day_no = service_day;
					day_paid = 0;
				}
				day_left = info->day_cap_cents - day_paid;
			}
			if (info->has_week_cap)
			{
				int64		service_day = fares_floor_div(tap->local.wall - info->week_cap_starts_usec, USECS_PER_DAY);
				/* day 0 is Saturday 2000-01-01; weeks start on Mondays (day 2) */
				int64		service_week = fares_floor_div(service_day - 2, 7);

				if (service_week != week_no)
				{
					week_no = service_week;
					week_paid = 0;
				}
				week_left = info->week_cap_cents - week_paid;
			}
			charged = Min(due, Min(day_left, week_left));
			if (charged < due)
				tap->reason = week_left < day_left ? "weekly cap" : "daily cap";
			day_paid += charged;
			week_paid += charged;
			due = charged;
		}
		tap->charged_cents = due;
	}
	return true;
}

/*
 * fares_price_all: prices the taps with a cache that stays consistent for the whole call (starting over
 * when the rules change under it).
 */
static void
fares_price_all(const char *function, text *category_text, FareTap *taps, int ntaps, bool apply_caps)
{
	for (int attempt = 0;; attempt++)
	{
		FareCache  *cache = fare_cache_get();

		if (fares_price_taps(cache, fares_category(cache, category_text), taps, ntaps, apply_caps))
			return;
		fares_retry_or_fail(function, attempt);
	}
}

/*
 * journey_fare: faregate.journey_fare(legs, category): the price of the legs after transfer rules.
 */
Datum
journey_fare(PG_FUNCTION_ARGS)
{
	int			ntaps;
	FareTap    *taps = fares_read_legs(fcinfo, "journey_fare", &ntaps);
	text	   *category_text = PG_GETARG_TEXT_PP(1);
	int64		total = 0;

	if (ntaps == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FG_EMPTY_JOURNEY),
				 errmsg("faregate.journey_fare got a journey without legs"),
				 errhint("Pass at least one leg; a journey without legs has no price.")));
	fares_price_all("journey_fare", category_text, taps, ntaps, false);
	for (int i = 0; i < ntaps; i++)
		total += taps[i].charged_cents;
	return fares_numeric(total);
}

/*
 * charge_taps: faregate.charge_taps(taps, category): for each of one rider's taps, its base fare, what
 * is charged after transfers and daily/weekly caps, and why.
 */
Datum
charge_taps(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			ntaps;
	FareTap    *taps;
	text	   *category_text;

	InitMaterializedSRF(fcinfo, 0);
	taps = fares_read_legs(fcinfo, "charge_taps", &ntaps);
	category_text = PG_GETARG_TEXT_PP(1);
	fares_price_all("charge_taps", category_text, taps, ntaps, true);
	for (int i = 0; i < ntaps; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = fares_numeric(taps[i].rule->amount_cents);
		values[2] = fares_numeric(taps[i].charged_cents);
		values[3] = PointerGetDatum(cstring_to_text(taps[i].reason));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(DatumGetPointer(values[1]));
		pfree(DatumGetPointer(values[2]));
		pfree(DatumGetPointer(values[3]));
	}
	return (Datum) 0;
}
