/*
 * fare_cache.c
 *	  The per-backend compiled fare table: built from the rule tables (faregate.zones, rider_categories,
 *	  timeframes, fare_rules, transfer_rules, fare_caps) on first use, looked up by hash of zone pair and
 *	  category, dropped by a relcache-invalidation callback, and held in its own memory context under
 *	  CacheMemoryContext. Also owns the trigger function faregate.fare_rules_changed() and
 *	  faregate.fare_cache_stats().
 *
 * Consistency protocol.  A statement-level trigger on every rule table calls CacheInvalidateRelcache()
 * for that table.  PostgreSQL delivers the invalidation to this backend at its next command (within the
 * changing transaction, at CommandCounterIncrement; on abort, again, to undo) and to every other backend
 * only once the change has committed.  fare_cache_relcache_callback() then drops the compiled table and
 * bumps fare_cache_inval_count.  fare_cache_get() first calls AcceptInvalidationMessages(), so a change
 * committed by another session is seen at the very next call even inside one transaction, and builds a
 * missing table from a fresh snapshot (GetLatestSnapshot: everything committed plus this transaction's
 * own changes).  A commit that the snapshot missed sends its invalidation after the snapshot was taken;
 * if that happens while we build, the invalidation counter moves and the fresh table is thrown away and
 * built again; if it happens later, the callback drops the table.  So the table never outlives a change
 * it does not contain, and never contains an uncommitted change of another session.
 *
 * In parallel mode GetLatestSnapshot() is not allowed; there the table is built from the active (query)
 * snapshot and marked transient: it is used only within the transaction that built it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "fare_cache.h"

PG_FUNCTION_INFO_V1(fare_rules_changed);
PG_FUNCTION_INFO_V1(fare_cache_stats);

/* Open-addressing string table: name -> dense index. */
typedef struct FareNameSlot
{
	uint32		hash;
	int32		index;			/* FARE_CACHE_NOT_FOUND when the slot is free */
} FareNameSlot;

typedef struct FareNames
{
	FareNameSlot *slots;
	uint32		mask;			/* slots - 1, a power of two minus one */
	int			count;
	const char **names;			/* names[index], NUL-terminated copies */
	int		   *lengths;
} FareNames;

/* Open-addressing table: (from zone, to zone, category) -> rules[first .. first + count - 1]. */
typedef struct FarePairSlot
{
	uint64		key;			/* 0 when free; otherwise fare_pair_key() */
	int32		first;
	int32		count;
} FarePairSlot;

struct FareCache
{
	MemoryContext context;		/* holds this struct and everything it points to */
	bool		transient;		/* built in parallel mode: valid only in transaction built_lxid */
	LocalTransactionId built_lxid;
	FareNames	zones;
	FareNames	categories;
	FareCategory *category_info;	/* [categories.count] */
	FareNames	timeframe_names;
	FareTimeframe *timeframes;	/* [timeframe_names.count] */
	FareWindow *windows;
	int			nwindows;
	FareRule   *rules;
	int			nrules;
	FarePairSlot *pairs;
	uint32		pair_mask;
	int			npairs;
};

/* The rule tables whose relcache invalidations drop the compiled table. */
static const char *const fare_cache_table_names[] = {
	"zones", "rider_categories", "timeframes", "fare_rules", "transfer_rules", "fare_caps"
};
#define FARE_CACHE_NTABLES lengthof(fare_cache_table_names)

static FareCache *fare_cache_current = NULL;
static Oid	fare_cache_table_oids[FARE_CACHE_NTABLES];
static uint64 fare_cache_inval_count = 0;
static int64 fare_cache_hits = 0;
static int64 fare_cache_misses = 0;
static int64 fare_cache_builds = 0;

static void fare_cache_relcache_callback(Datum arg, Oid relid);

/*
 * fare_cache_init: registers the relcache callback; called once per backend from _PG_init (through
 * fares_define_gucs).
 */
void
fare_cache_init(void)
{
	CacheRegisterRelcacheCallback(fare_cache_relcache_callback, (Datum) 0);
}

/*
 * fare_cache_drop: frees the compiled table, if any.
 */
static void
fare_cache_drop(void)
{
	if (fare_cache_current != NULL)
	{
		MemoryContext cxt = fare_cache_current->context;

		fare_cache_current = NULL;
		MemoryContextDelete(cxt);
	}
}

/*
 * fare_cache_relcache_callback: drops the compiled table when one of the rule tables (or everything,
 * relid = InvalidOid) is invalidated.  Runs inside invalidation processing: must not fail or do catalog
 * access, hence the OIDs remembered from the last build.
 */
static void
fare_cache_relcache_callback(Datum arg, Oid relid)
{
	bool		ours = (relid == InvalidOid);

	for (int i = 0; !ours && i < (int) FARE_CACHE_NTABLES; i++)
		ours = (fare_cache_table_oids[i] == relid);
	if (!ours)
		return;
	fare_cache_inval_count++;
	fare_cache_drop();
}

/* ---- string tables ---- */

/*
 * fare_names_init: an empty name table with room for expected names, at most half full.
 */
static void
fare_names_init(FareNames *names, int expected)
{
	uint32		size = 16;

	while (size < (uint32) expected * 2)
		size <<= 1;
	names->slots = palloc(sizeof(FareNameSlot) * size);
	for (uint32 i = 0; i < size; i++)
		names->slots[i].index = FARE_CACHE_NOT_FOUND;
	names->mask = size - 1;
	names->count = 0;
	names->names = palloc(sizeof(char *) * Max(expected, 1));
	names->lengths = palloc(sizeof(int) * Max(expected, 1));
}

/*
 * fare_names_find: index of the name (not NUL-terminated, len bytes), or FARE_CACHE_NOT_FOUND.
 */
static int
fare_names_find(const FareNames *names, const char *name, int len)
{
	uint32		hash = hash_bytes((const unsigned char *) name, len);
	uint32		pos = hash & names->mask;

	for (;;)
	{
		const FareNameSlot *slot = &names->slots[pos];

		if (slot->index == FARE_CACHE_NOT_FOUND)
			return FARE_CACHE_NOT_FOUND;
		if (slot->hash == hash && names->lengths[slot->index] == len &&
			memcmp(names->names[slot->index], name, len) == 0)
			return slot->index;
		pos = (pos + 1) & names->mask;
	}
}

/*
 * fare_names_add: adds a name (a NUL-terminated string the table copies) and returns its index.  The
 * caller sized the table for every name with fare_names_init; names are unique (primary keys).
 */
static int
fare_names_add(FareNames *names, const char *name)
{
	int			len = strlen(name);
	uint32		hash = hash_bytes((const unsigned char *) name, len);
	uint32		pos = hash & names->mask;
	int			found = fare_names_find(names, name, len);

	if (found != FARE_CACHE_NOT_FOUND)
		return found;
	while (names->slots[pos].index != FARE_CACHE_NOT_FOUND)
		pos = (pos + 1) & names->mask;
	names->slots[pos].hash = hash;
	names->slots[pos].index = names->count;
	names->names[names->count] = pstrdup(name);
	names->lengths[names->count] = len;
	return names->count++;
}

/* ---- the pair table ---- */

/*
 * fare_pair_key: the hash key of a zone pair and category (dense indexes from the name tables).
 */
static inline uint64
fare_pair_key(int from_zone, int to_zone, int category)
{
	/* +1 so that no real key is 0; zones < 2^24 and categories < 2^15 are checked at build time */
	return ((uint64) (from_zone + 1) << 40) | ((uint64) (to_zone + 1) << 16) | (uint64) (category + 1);
}

/* fare_pair_hash: hash of a pair key, for the open-addressing pair table. */
static inline uint32
fare_pair_hash(uint64 key)
{
	return hash_combine(murmurhash32((uint32) (key >> 32)), murmurhash32((uint32) key));
}

/*
 * fare_pairs_add: enters a key and its rules rules[first .. first + count - 1]; the caller sized the
 * table so that it never fills, and adds each key once.
 */
static void
fare_pairs_add(FareCache *cache, uint64 key, int first, int count)
{
	uint32		pos = fare_pair_hash(key) & cache->pair_mask;

	while (cache->pairs[pos].key != 0)
		pos = (pos + 1) & cache->pair_mask;
	cache->pairs[pos].key = key;
	cache->pairs[pos].first = first;
	cache->pairs[pos].count = count;
	cache->npairs++;
}

/* ---- building ---- */

/*
 * fare_rule_precedence: qsort order of the rules of one zone pair and category: higher priority first,
 * then a timeframe rule before an any-time rule, then rule_id (a total order, so the compiled table is
 * the same however the scan returned the rows).
 */
static int
fare_rule_precedence(const void *a, const void *b)
{
	const FareRule *left = (const FareRule *) a;
	const FareRule *right = (const FareRule *) b;
	bool		left_any = (left->timeframe == FARE_ANY_TIME);
	bool		right_any = (right->timeframe == FARE_ANY_TIME);

	if (left->priority != right->priority)
		return left->priority > right->priority ? -1 : 1;
	if (left_any != right_any)
		return left_any ? 1 : -1;
	if (left->rule_id != right->rule_id)
		return left->rule_id < right->rule_id ? -1 : 1;
	return 0;
}

/*
 * fare_cache_query: runs one read-only query under the build snapshot; the rows are in SPI_tuptable.
 */
static void
fare_cache_query(const char *sql, Snapshot snapshot)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "faregate: SPI_prepare failed for the fare cache: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: fare cache query failed: %s", SPI_result_code_string(rc));
	SPI_freeplan(plan);
}

/* fare_cache_text: a text column of an SPI row as a palloc'd C string, or NULL. */
static char *
fare_cache_text(HeapTuple tuple, TupleDesc desc, int attno)
{
	bool		isnull;
	Datum		value = SPI_getbinval(tuple, desc, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

/* fare_cache_int64: an int8 column of an SPI row (0 and *isnull set when NULL). */
static int64
fare_cache_int64(HeapTuple tuple, TupleDesc desc, int attno, bool *isnull)
{
	Datum		value = SPI_getbinval(tuple, desc, attno, isnull);

	return *isnull ? 0 : DatumGetInt64(value);
}

/*
 * fare_cache_interval_usec: an interval as microseconds, with SQL's comparison semantics (a month is
 * 30 days, a day 24 hours), so that "boarded_at - first <= within" means the same here as in SQL.
 */
static int64
fare_cache_interval_usec(const Interval *span)
{
	return span->time + (int64) span->day * USECS_PER_DAY + (int64) span->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

/*
 * fare_cache_build: reads the rule tables under a fresh snapshot into a new context and returns the
 * compiled table.  The context starts as a child of the caller's context, so an error while building
 * frees it; it moves under CacheMemoryContext only once complete.
 */
static FareCache *
fare_cache_build(void)
{
	MemoryContext build_cxt;
	MemoryContext old_cxt;
	FareCache  *cache;
	Snapshot	snapshot;
	bool		parallel = IsInParallelMode();
	int			guc_nest_level = 0;
	uint64		nrows;

	build_cxt = AllocSetContextCreate(CurrentMemoryContext, "faregate fare cache", ALLOCSET_SMALL_SIZES);
	cache = MemoryContextAllocZero(build_cxt, sizeof(FareCache));
	cache->context = build_cxt;
	cache->transient = parallel;
	cache->built_lxid = MyProc->lxid;

	/*
	 * The queries name every table with its schema; a safe search_path also keeps the caller's objects
	 * from standing in for the built-in functions and types they use.  (Settings cannot change in
	 * parallel mode; there the leader's search_path applies.)
	 */
	if (!parallel)
	{
		guc_nest_level = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	snapshot = RegisterSnapshot(parallel ? GetActiveSnapshot() : GetLatestSnapshot());

	/* zones */
	fare_cache_query("SELECT zone_id FROM faregate.zones", snapshot);
	nrows = SPI_processed;
	if (nrows >= (1 << 23))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many fare zones: %llu", (unsigned long long) nrows),
				 errhint("faregate supports up to 8388607 zones.")));
	old_cxt = MemoryContextSwitchTo(build_cxt);
	fare_names_init(&cache->zones, nrows);
	for (uint64 i = 0; i < nrows; i++)
		fare_names_add(&cache->zones, fare_cache_text(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	MemoryContextSwitchTo(old_cxt);

	/* categories, each with its transfer rule and caps */
	fare_cache_query("SELECT c.category, t.max_transfers, t.within, (t.transfer_fee * 100)::int8,"
					 "       (d.cap * 100)::int8, d.day_starts, (w.cap * 100)::int8, w.day_starts"
					 "  FROM faregate.rider_categories c"
					 "  LEFT JOIN faregate.transfer_rules t ON t.category = c.category"
					 "  LEFT JOIN faregate.fare_caps d ON d.category = c.category AND d.period = 'day'"
					 "  LEFT JOIN faregate.fare_caps w ON w.category = c.category AND w.period = 'week'",
					 snapshot);
	nrows = SPI_processed;
	if (nrows >= (1 << 15))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rider categories: %llu", (unsigned long long) nrows),
				 errhint("faregate supports up to 32767 rider categories.")));
	old_cxt = MemoryContextSwitchTo(build_cxt);
	fare_names_init(&cache->categories, nrows);
	cache->category_info = palloc0(sizeof(FareCategory) * Max(nrows, 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			index = fare_names_add(&cache->categories, fare_cache_text(tuple, desc, 1));
		FareCategory *info = &cache->category_info[index];
		bool		isnull;
		Datum		value;

		info->name = cache->categories.names[index];
		value = SPI_getbinval(tuple, desc, 2, &isnull);
		if (!isnull)
		{
			info->has_transfer = true;
			info->max_transfers = DatumGetInt32(value);
			info->transfer_within_usec =
				fare_cache_interval_usec(DatumGetIntervalP(SPI_getbinval(tuple, desc, 3, &isnull)));
			info->transfer_fee_cents = fare_cache_int64(tuple, desc, 4, &isnull);
		}
		info->day_cap_cents = fare_cache_int64(tuple, desc, 5, &isnull);
		if (!isnull)
		{
			info->has_day_cap = true;
			info->day_cap_starts_usec = DatumGetTimeADT(SPI_getbinval(tuple, desc, 6, &isnull));
		}
		info->week_cap_cents = fare_cache_int64(tuple, desc, 7, &isnull);
		if (!isnull)
		{
			info->has_week_cap = true;
			info->week_cap_starts_usec = DatumGetTimeADT(SPI_getbinval(tuple, desc, 8, &isnull));
		}
	}
	MemoryContextSwitchTo(old_cxt);

	/* timeframe windows, grouped by name */
	fare_cache_query("SELECT timeframe, days, start_time, end_time FROM faregate.timeframes ORDER BY timeframe",
					 snapshot);
	nrows = SPI_processed;
	old_cxt = MemoryContextSwitchTo(build_cxt);
	fare_names_init(&cache->timeframe_names, nrows);
	cache->timeframes = palloc0(sizeof(FareTimeframe) * Max(nrows, 1));
	cache->windows = palloc0(sizeof(FareWindow) * Max(nrows, 1));
	cache->nwindows = nrows;
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			before = cache->timeframe_names.count;
		int			index = fare_names_add(&cache->timeframe_names, fare_cache_text(tuple, desc, 1));
		FareWindow *window = &cache->windows[i];
		bool		isnull;
		ArrayType  *days = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
		Datum	   *day_values;
		bool	   *day_nulls;
		int			ndays;

		if (index == before)
		{
			cache->timeframes[index].name = cache->timeframe_names.names[index];
			cache->timeframes[index].first_window = i;
		}
		cache->timeframes[index].nwindows++;
		deconstruct_array(days, INT4OID, sizeof(int32), true, TYPALIGN_INT, &day_values, &day_nulls, &ndays);
		for (int d = 0; d < ndays; d++)
			if (!day_nulls[d] && DatumGetInt32(day_values[d]) >= 1 && DatumGetInt32(day_values[d]) <= 7)
				window->days_mask |= (uint8) (1 << DatumGetInt32(day_values[d]));
		window->start_usec = DatumGetTimeADT(SPI_getbinval(tuple, desc, 3, &isnull));
		window->end_usec = DatumGetTimeADT(SPI_getbinval(tuple, desc, 4, &isnull));
	}
	MemoryContextSwitchTo(old_cxt);

	/*
	 * The fare rules, in the order of the lookup index, so that the scan is one index scan without a
	 * sort; each zone pair and category's few rules are then put in precedence order here
	 * (fare_rule_precedence).  Read through a cursor in batches, so that SPI never holds them all.
	 */
	{
		SPIPlanPtr	plan;
		Portal		portal;
		int			rules_allocated = 1024;
		int			pairs_allocated = 1024;
		FarePairSlot *groups;	/* key, first, count per zone pair and category, in scan order */
		int			ngroups = 0;

		plan = SPI_prepare("SELECT rule_id, from_zone, to_zone, category, timeframe, lower(valid), upper(valid),"
						   "       (amount * 100)::int8, currency::text, priority"
						   "  FROM faregate.fare_rules"
						   " ORDER BY from_zone, to_zone, category, priority DESC",
						   0, NULL);
		if (plan == NULL)
			elog(ERROR, "faregate: SPI_prepare failed for the fare cache: %s", SPI_result_code_string(SPI_result));
		PushActiveSnapshot(snapshot);
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		PopActiveSnapshot();
		cache->rules = MemoryContextAlloc(build_cxt, sizeof(FareRule) * rules_allocated);
		groups = palloc(sizeof(FarePairSlot) * pairs_allocated);
		for (;;)
		{
			PushActiveSnapshot(snapshot);
			SPI_cursor_fetch(portal, true, 10000);
			PopActiveSnapshot();
			if (SPI_processed == 0)
				break;
			for (uint64 row = 0; row < SPI_processed; row++)
			{
				HeapTuple	tuple = SPI_tuptable->vals[row];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				FareRule   *rule;
				bool		isnull;
				Datum		value;
				text	   *from,
						   *to,
						   *category,
						   *currency;
				int			from_index,
							to_index,
							category_index;
				uint64		key;

				if (cache->nrules == rules_allocated)
				{
					rules_allocated *= 2;
					cache->rules = repalloc_huge(cache->rules, sizeof(FareRule) * rules_allocated);
				}
				rule = &cache->rules[cache->nrules];
				from = DatumGetTextPP(SPI_getbinval(tuple, desc, 2, &isnull));
				to = DatumGetTextPP(SPI_getbinval(tuple, desc, 3, &isnull));
				category = DatumGetTextPP(SPI_getbinval(tuple, desc, 4, &isnull));
				from_index = fare_names_find(&cache->zones, VARDATA_ANY(from), VARSIZE_ANY_EXHDR(from));
				to_index = fare_names_find(&cache->zones, VARDATA_ANY(to), VARSIZE_ANY_EXHDR(to));
				category_index = fare_names_find(&cache->categories, VARDATA_ANY(category), VARSIZE_ANY_EXHDR(category));
				rule->rule_id = fare_cache_int64(tuple, desc, 1, &isnull);
				if (from_index < 0 || to_index < 0 || category_index < 0)
					elog(ERROR, "faregate: fare rule %lld references a zone or category that the same snapshot does not have",
						 (long long) rule->rule_id);
				value = SPI_getbinval(tuple, desc, 5, &isnull);
				if (isnull)
					rule->timeframe = FARE_ANY_TIME;
				else
				{
					text	   *timeframe = DatumGetTextPP(value);

					rule->timeframe = fare_names_find(&cache->timeframe_names, VARDATA_ANY(timeframe),
													  VARSIZE_ANY_EXHDR(timeframe));
					/* a rule whose timeframe lost all its windows can never apply */
					if (rule->timeframe == FARE_CACHE_NOT_FOUND)
						rule->timeframe = FARE_NO_WINDOW;
				}
				value = SPI_getbinval(tuple, desc, 6, &isnull);
				rule->valid_from = isnull ? DATEVAL_NOBEGIN : DatumGetDateADT(value);
				value = SPI_getbinval(tuple, desc, 7, &isnull);
				rule->valid_until = isnull ? DATEVAL_NOEND : DatumGetDateADT(value);
				rule->amount_cents = fare_cache_int64(tuple, desc, 8, &isnull);
				currency = DatumGetTextPP(SPI_getbinval(tuple, desc, 9, &isnull));
				memset(rule->currency, 0, sizeof(rule->currency));
				memcpy(rule->currency, VARDATA_ANY(currency), Min(VARSIZE_ANY_EXHDR(currency), 3));
				rule->priority = DatumGetInt32(SPI_getbinval(tuple, desc, 10, &isnull));

				key = fare_pair_key(from_index, to_index, category_index);
				if (ngroups == 0 || groups[ngroups - 1].key != key)
				{
					if (ngroups == pairs_allocated)
					{
						pairs_allocated *= 2;
						groups = repalloc_huge(groups, sizeof(FarePairSlot) * pairs_allocated);
					}
					groups[ngroups].key = key;
					groups[ngroups].first = cache->nrules;
					groups[ngroups].count = 0;
					ngroups++;
				}
				groups[ngroups - 1].count++;
				cache->nrules++;
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		SPI_freeplan(plan);

		/* the hash of zone pairs and categories: at most 2/3 full */
		{
			uint32		size = 16;

			while (size < (uint64) ngroups * 3 / 2)
				size <<= 1;
			cache->pairs = MemoryContextAllocZero(build_cxt, sizeof(FarePairSlot) * size);
			cache->pair_mask = size - 1;
			for (int i = 0; i < ngroups; i++)
			{
				if (groups[i].count > 1)
					qsort(&cache->rules[groups[i].first], groups[i].count, sizeof(FareRule), fare_rule_precedence);
				fare_pairs_add(cache, groups[i].key, groups[i].first, groups[i].count);
			}
		}
		pfree(groups);
		if (cache->nrules < rules_allocated)
			cache->rules = repalloc_huge(cache->rules, sizeof(FareRule) * Max(cache->nrules, 1));
	}
	UnregisterSnapshot(snapshot);
	SPI_finish();
	if (!parallel)
		AtEOXact_GUC(true, guc_nest_level);

	MemoryContextSetParent(build_cxt, CacheMemoryContext);
	return cache;
}

/*
 * fare_cache_get: the compiled fare table, up to date with every committed rule change and with this
 * transaction's own changes; builds it when missing.  Counts a hit or a miss per call.
 */
FareCache *
fare_cache_get(void)
{
	Oid			namespace_oid;

	AcceptInvalidationMessages();
	if (fare_cache_current != NULL && fare_cache_current->transient &&
		fare_cache_current->built_lxid != MyProc->lxid)
		fare_cache_drop();
	if (fare_cache_current != NULL)
	{
		fare_cache_hits++;
		return fare_cache_current;
	}

	fare_cache_misses++;
	/* remember the tables' OIDs first, so that the callback recognises invalidations during the build */
	namespace_oid = get_namespace_oid("faregate", false);
	for (int i = 0; i < (int) FARE_CACHE_NTABLES; i++)
	{
		fare_cache_table_oids[i] = get_relname_relid(fare_cache_table_names[i], namespace_oid);
		if (!OidIsValid(fare_cache_table_oids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table faregate.%s does not exist", fare_cache_table_names[i]),
					 errhint("Reinstall the extension: DROP EXTENSION faregate; CREATE EXTENSION faregate.")));
	}
	for (int attempt = 0;; attempt++)
	{
		uint64		inval_before = fare_cache_inval_count;
		FareCache  *cache = fare_cache_build();

		fare_cache_builds++;
		if (inval_before == fare_cache_inval_count || attempt >= 100)
		{
			/* after 100 concurrent changes in a row, use a table valid for this transaction only */
			if (inval_before != fare_cache_inval_count)
			{
				cache->transient = true;
				cache->built_lxid = MyProc->lxid;
			}
			fare_cache_current = cache;
			return cache;
		}
		MemoryContextDelete(cache->context);
	}
}

/* fare_cache_zone: the dense index of a zone name (len bytes, not NUL-terminated), or FARE_CACHE_NOT_FOUND. */
int
fare_cache_zone(FareCache *cache, const char *name, int len)
{
	return fare_names_find(&cache->zones, name, len);
}

/* fare_cache_category: the dense index of a category name, or FARE_CACHE_NOT_FOUND. */
int
fare_cache_category(FareCache *cache, const char *name, int len)
{
	return fare_names_find(&cache->categories, name, len);
}

/* fare_cache_category_info: a category's name, transfer rule and caps. */
const FareCategory *
fare_cache_category_info(FareCache *cache, int category)
{
	return &cache->category_info[category];
}

/* fare_cache_zone_name: the zone_id of a dense zone index, for messages. */
const char *
fare_cache_zone_name(FareCache *cache, int zone)
{
	return cache->zones.names[zone];
}

/*
 * fare_cache_rules: the rules for a zone pair and category in precedence order (count in *nrules, 0 and
 * NULL when there is none).
 */
const FareRule *
fare_cache_rules(FareCache *cache, int from_zone, int to_zone, int category, int *nrules)
{
	uint64		key = fare_pair_key(from_zone, to_zone, category);
	uint32		pos = fare_pair_hash(key) & cache->pair_mask;

	for (;;)
	{
		const FarePairSlot *slot = &cache->pairs[pos];

		if (slot->key == key)
		{
			*nrules = slot->count;
			return &cache->rules[slot->first];
		}
		if (slot->key == 0)
		{
			*nrules = 0;
			return NULL;
		}
		pos = (pos + 1) & cache->pair_mask;
	}
}

/*
 * fare_cache_timeframe_matches: whether local time (ISO weekday, microseconds after midnight) falls in
 * one of the timeframe's windows.  FARE_ANY_TIME matches always, FARE_NO_WINDOW never.
 */
bool
fare_cache_timeframe_matches(FareCache *cache, int timeframe, int isodow, int64 time_usec)
{
	const FareTimeframe *frame;

	if (timeframe == FARE_ANY_TIME)
		return true;
	if (timeframe < 0)
		return false;
	frame = &cache->timeframes[timeframe];
	for (int i = 0; i < frame->nwindows; i++)
	{
		const FareWindow *window = &cache->windows[frame->first_window + i];

		if ((window->days_mask & (1 << isodow)) && time_usec >= window->start_usec &&
			time_usec < window->end_usec)
			return true;
	}
	return false;
}

/* fare_cache_timeframe_name: a timeframe's name, or NULL for FARE_ANY_TIME / FARE_NO_WINDOW. */
const char *
fare_cache_timeframe_name(FareCache *cache, int timeframe)
{
	return timeframe < 0 ? NULL : cache->timeframes[timeframe].name;
}

/*
 * fare_rules_changed: statement-level trigger on the rule tables; sends a relcache invalidation for the
 * table, which reaches this backend at its next command and the others when the transaction commits.
 */
Datum
fare_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("faregate.fare_rules_changed() was not called by a trigger"),
				 errhint("It is the trigger function of faregate's rule tables; do not call it directly.")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * fare_cache_stats: this backend's counters and the compiled table's size.  hits and misses count calls
 * of the pricing functions (a miss had to build the table), rebuilds counts builds after the first,
 * entries the compiled rules, bytes the memory of the cache context (0 when no table is held).
 */
Datum
fare_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	AcceptInvalidationMessages();
	values[0] = Int64GetDatum(fare_cache_hits);
	values[1] = Int64GetDatum(fare_cache_misses);
	values[2] = Int64GetDatum(fare_cache_builds > 0 ? fare_cache_builds - 1 : 0);
	values[3] = Int64GetDatum(fare_cache_current ? fare_cache_current->nrules : 0);
	values[4] = Int64GetDatum(fare_cache_current ?
							  (int64) MemoryContextMemAllocated(fare_cache_current->context, true) : 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
