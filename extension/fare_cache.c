/*
 * fare_cache.c
 *	  The per-backend fare cache: the small rule tables (zones, rider categories with their transfer rules
 *	  and caps, timeframes) compiled whole on first use, and the fare rules filled lazily, one entry per
 *	  (from zone, to zone, category) with that key's rules in precedence order (an entry with no rule is
 *	  kept too, as a negative entry).  Held in its own memory context under CacheMemoryContext.  Also
 *	  owns the trigger function faregate.fare_rules_changed() and faregate.fare_cache_stats().
 *
 * Consistency protocol.  The cache is exact as of one snapshot, its sync point (cache->sync): the
 * small tables and every entry hold what that snapshot sees.  Every statement that changes a rule
 * table writes what it changed into the change log faregate.fare_rule_changes (fare_changelog.c: the
 * keys of the changed fare rules, or "everything" for a small table, a TRUNCATE or a statement of more
 * than 2,000 rows) and sends a relcache invalidation for the table, as before.  PostgreSQL delivers the
 * invalidation to this backend at its next command (within the changing transaction; on abort again)
 * and to every other backend once the change has committed; fare_cache_relcache_callback() only counts
 * it (fare_cache_sync_requested), it never frees: a pricing call may hold pointers into the cache.
 *
 * fare_cache_get(), at the start of every pricing call, processes pending invalidations; if one came
 * for a rule table, it reads the change log under a fresh snapshot F (GetLatestSnapshot: everything
 * committed plus this transaction's own changes), drops the entries of the keys that changed between
 * the sync point and F (or everything), and makes F the sync point.  A miss fills its entry under a
 * fresh snapshot F too; if F sees a transaction the sync point did not (fare_changelog_same_point),
 * the changes up to F are applied first, so the new entry and the kept ones agree on one snapshot.  An
 * entry can thus never outlive a change: a change committed after the sync point is in the log under a
 * transaction id the sync point does not see, and is applied before any entry from a snapshot that
 * sees it is used, or at the call after its invalidation arrives, whichever comes first.  If a change
 * found in the middle of a call hits an entry this call already used (fare_cache_call), nothing is
 * dropped: the lookup answers FARE_CACHE_RETRY and the caller starts over with fare_cache_get(), so a
 * call never mixes rules of two snapshots.  Uncommitted changes of other sessions are invisible to F
 * and to the log; this transaction's own changes are read by change_id; on (sub)transaction abort
 * after own changes everything is dropped (fare_cache_xact_callback).
 *
 * In parallel mode GetLatestSnapshot() is not allowed; there a separate cache is built and filled from
 * the active (query) snapshot and used only within the transaction that built it.
 *
 * Reading.  Everything the cache holds is read under one registered snapshot at a time, as above, by
 * direct scans instead of SQL: the small tables by heap scans (fare_cache_scan_table), a miss by a scan
 * of the index fare_rules_lookup with the key's three columns (fare_cache_scan_rules).  An MVCC scan
 * under snapshot S returns exactly the rows visible to S, which is what the plain queries they replace
 * return under S (they have no other condition), whatever plan the planner would pick; they take the
 * same AccessShareLock on each table and index, held to the end of the transaction, so the protocol
 * above does not change.  The queries ran with the caller's rights; a direct scan only runs where
 * their checks pass and change nothing (SELECT on the table, no row-level security policy applies to
 * the caller), and the table and index must be as created (column types; a valid btree index without
 * predicate on the key columns with text's default operator family and the columns' collations).
 * Otherwise the same read goes through SPI, which applies column privileges and policies, or raises
 * their errors, as before.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/tupmacs.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "fare_cache.h"
#include "fare_changelog.h"

PG_FUNCTION_INFO_V1(fare_rules_changed);
PG_FUNCTION_INFO_V1(fare_cache_stats);

/* a backend holding more entries than this drops them all at its next call (about 15 MB) */
#define FARE_CACHE_MAX_ENTRIES 100000

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

/* One cached key: the rules of a (from zone, to zone, category) in precedence order. */
typedef struct FareEntry
{
	uint64		key;			/* fare_pair_key(); the hash key, so first */
	uint64		call;			/* the fare_cache_call that last used it: pinned during that call */
	int32		nrules;			/* 0: a negative entry (no rule for this key) */
	FareRule   *rules;			/* [nrules] in the cache context, NULL when nrules = 0 */
} FareEntry;

struct FareCache
{
	MemoryContext context;		/* holds this struct and everything it points to */
	bool		transient;		/* parallel mode: valid only in transaction built_lxid */
	LocalTransactionId built_lxid;
	FareNames	zones;
	FareNames	categories;
	FareCategory *category_info;	/* [categories.count] */
	FareNames	timeframe_names;
	FareTimeframe *timeframes;	/* [timeframe_names.count] */
	FareWindow *windows;
	int			nwindows;
	HTAB	   *entries;		/* FareEntry by key */
	MemoryContext fill_context;	/* scratch memory of one fill, emptied each time */
	FareSyncPoint sync;			/* the snapshot the cache is exact for (not for transient caches) */
};

/* The rule tables whose relcache invalidations make a backend read the change log. */
static const char *const fare_cache_table_names[] = {
	"zones", "rider_categories", "timeframes", "fare_rules", "transfer_rules", "fare_caps"
};
#define FARE_CACHE_NTABLES lengthof(fare_cache_table_names)
#define FARE_CACHE_FARE_RULES 3		/* fare_cache_table_names[3] */

static FareCache *fare_cache_current = NULL;	/* kept across transactions */
static FareCache *fare_cache_transient = NULL;	/* parallel mode only */
static Oid	fare_cache_table_oids[FARE_CACHE_NTABLES];

/* invalidations received vs. those applied (by the last successful sync or build) */
static uint64 fare_cache_sync_requested = 0;
static uint64 fare_cache_sync_done = 0;
static bool fare_cache_drop_pending = false;	/* an abort undid own changes: drop everything */
static bool fare_cache_own_changes = false; /* this transaction changed a rule table */
static uint64 fare_cache_call = 0;	/* counts fare_cache_get() calls: one per pricing call */

static SPIPlanPtr fare_cache_fill_plan = NULL;

static int64 fare_cache_hits = 0;
static int64 fare_cache_misses = 0;
static int64 fare_cache_rebuilds = 0;	/* syncs that dropped something held */
static int64 fare_cache_key_drops = 0;
static int64 fare_cache_full_drops = 0;

static void fare_cache_relcache_callback(Datum arg, Oid relid);
static void fare_cache_xact_callback(XactEvent event, void *arg);
static void fare_cache_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
										SubTransactionId parentSubid, void *arg);

/*
 * fare_cache_init: registers the invalidation and transaction callbacks; called once per backend from
 * _PG_init (through fares_define_gucs).
 */
void
fare_cache_init(void)
{
	CacheRegisterRelcacheCallback(fare_cache_relcache_callback, (Datum) 0);
	RegisterXactCallback(fare_cache_xact_callback, NULL);
	RegisterSubXactCallback(fare_cache_subxact_callback, NULL);
}

/*
 * fare_cache_relcache_callback: notes that one of the rule tables (or everything, relid = InvalidOid)
 * was invalidated; the next fare_cache_get() reads the change log.  Runs inside invalidation
 * processing, possibly in the middle of a pricing call: must not fail, access the catalogs or free.
 */
static void
fare_cache_relcache_callback(Datum arg, Oid relid)
{
	bool		ours = (relid == InvalidOid);

	for (int i = 0; !ours && i < (int) FARE_CACHE_NTABLES; i++)
		ours = (fare_cache_table_oids[i] == relid);
	if (ours)
		fare_cache_sync_requested++;
}

/*
 * fare_cache_xact_callback: an abort after own changes drops everything at the next call (entries may
 * hold the rolled-back rules); own changes end with the transaction.
 */
static void
fare_cache_xact_callback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) && fare_cache_own_changes)
		fare_cache_drop_pending = true;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		fare_cache_own_changes = false;
}

/* fare_cache_subxact_callback: ROLLBACK TO SAVEPOINT after own changes drops everything, as an abort. */
static void
fare_cache_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
							void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && fare_cache_own_changes)
		fare_cache_drop_pending = true;
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

/* ---- reading rows ---- */

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

/* fare_cache_cents: a numeric amount in cents, as (amount * 100)::int8 in SQL. */
static int64
fare_cache_cents(Datum amount)
{
	Datum		cents = DirectFunctionCall2(numeric_mul, amount, NumericGetDatum(int64_to_numeric(100)));

	return DatumGetInt64(DirectFunctionCall1(numeric_int8, cents));
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


/* The columns of a fare rule as both fill paths read them (fare_cache_read_rules). */
enum
{
	FARE_COL_RULE_ID,
	FARE_COL_TIMEFRAME,
	FARE_COL_VALID,
	FARE_COL_AMOUNT,
	FARE_COL_CURRENCY,
	FARE_COL_PRIORITY,
	FARE_NCOLS
};

/* their names in faregate.fare_rules, in that order */
static const char *const fare_rule_column_names[FARE_NCOLS] = {
	"rule_id", "timeframe", "valid", "amount", "currency", "priority"
};

/*
 * fare_cache_valid_dates: lower(valid) and upper(valid) of a rule's validity, DATEVAL_NOBEGIN and
 * DATEVAL_NOEND for an infinite bound (and for an empty range, which the table's check refuses).  A
 * daterange (canonical: [from, until)) is read from its stored form, the flags byte and the int4 dates
 * that follow the header, with PostgreSQL's own macros: going through range_deserialize would first
 * build the range type's type cache entry, catalog lookups that cost a new backend about 0.1 ms on
 * its first fare() (docs/fares.md, "The first call").  Another range type (a column altered and read
 * through SPI) takes that way, as before.
 */
static void
fare_cache_valid_dates(RangeType *valid, DateADT *from, DateADT *until)
{
	char		flags = range_get_flags(valid);

	*from = DATEVAL_NOBEGIN;
	*until = DATEVAL_NOEND;
	if (flags & RANGE_EMPTY)
		return;
	if (RangeTypeGetOid(valid) == DATERANGEOID)
	{
		const char *bound = (const char *) (valid + 1);

		if (RANGE_HAS_LBOUND(flags))
		{
			bound = (const char *) att_align_pointer(bound, TYPALIGN_INT, sizeof(DateADT), bound);
			*from = DatumGetDateADT(fetch_att(bound, true, sizeof(DateADT)));
			bound += sizeof(DateADT);
		}
		if (RANGE_HAS_UBOUND(flags))
		{
			bound = (const char *) att_align_pointer(bound, TYPALIGN_INT, sizeof(DateADT), bound);
			*until = DatumGetDateADT(fetch_att(bound, true, sizeof(DateADT)));
		}
	}
	else
	{
		TypeCacheEntry *range_type = lookup_type_cache(RangeTypeGetOid(valid), TYPECACHE_RANGE_INFO);
		RangeBound	lower,
					upper;
		bool		empty;

		range_deserialize(range_type, valid, &lower, &upper, &empty);
		if (!lower.infinite)
			*from = DatumGetDateADT(lower.val);
		if (!upper.infinite)
			*until = DatumGetDateADT(upper.val);
	}
}

/*
 * fare_cache_rule_from_values: one fare rule row (rule_id, timeframe, valid, amount, currency, priority,
 * as stored) as a compiled rule.  Only the timeframe may be NULL (any time); the other columns are NOT
 * NULL in the table, and a NULL there (the table was altered) is an error, never a fare of 0.
 */
static void
fare_cache_rule_from_values(FareCache *cache, const Datum *values, const bool *nulls, FareRule *rule)
{
	text	   *currency;
	int			currency_len;

	for (int col = 0; col < FARE_NCOLS; col++)
		if (nulls[col] && col != FARE_COL_TIMEFRAME)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("fare rule %lld has a null %s", nulls[FARE_COL_RULE_ID] ? -1LL :
							(long long) DatumGetInt64(values[FARE_COL_RULE_ID]), fare_rule_column_names[col]),
					 errhint("Give the rule a value and restore the NOT NULL constraints of faregate.fare_rules.")));
	rule->rule_id = DatumGetInt64(values[FARE_COL_RULE_ID]);
	if (nulls[FARE_COL_TIMEFRAME])
		rule->timeframe = FARE_ANY_TIME;
	else
	{
		text	   *timeframe = DatumGetTextPP(values[FARE_COL_TIMEFRAME]);

		rule->timeframe = fare_names_find(&cache->timeframe_names, VARDATA_ANY(timeframe),
										  VARSIZE_ANY_EXHDR(timeframe));
		/* a rule whose timeframe lost all its windows can never apply */
		if (rule->timeframe == FARE_CACHE_NOT_FOUND)
			rule->timeframe = FARE_NO_WINDOW;
	}
	fare_cache_valid_dates(DatumGetRangeTypeP(values[FARE_COL_VALID]), &rule->valid_from, &rule->valid_until);
	rule->amount_cents = fare_cache_cents(values[FARE_COL_AMOUNT]);
	/* currency::text: char(n) without its trailing blanks */
	currency = DatumGetTextPP(values[FARE_COL_CURRENCY]);
	currency_len = VARSIZE_ANY_EXHDR(currency);
	while (currency_len > 0 && VARDATA_ANY(currency)[currency_len - 1] == ' ')
		currency_len--;
	memset(rule->currency, 0, sizeof(rule->currency));
	memcpy(rule->currency, VARDATA_ANY(currency), Min(currency_len, 3));
	rule->priority = DatumGetInt32(values[FARE_COL_PRIORITY]);
}

/* ---- keys ---- */

/*
 * fare_pair_key: the hash key of a zone pair and category (dense indexes from the name tables).
 */
static inline uint64
fare_pair_key(int from_zone, int to_zone, int category)
{
	/* +1 so that no real key is 0; zones < 2^23 and categories < 2^15 are checked at build time */
	return ((uint64) (from_zone + 1) << 40) | ((uint64) (to_zone + 1) << 16) | (uint64) (category + 1);
}

/* ---- the cache's life ---- */

/*
 * fare_cache_drop: frees a cache.
 */
static void
fare_cache_drop(FareCache **cache)
{
	if (*cache != NULL)
	{
		MemoryContext cxt = (*cache)->context;

		*cache = NULL;
		MemoryContextDelete(cxt);
	}
}

/*
 * fare_cache_drop_everything: drops the backend's cache (it is built again, small tables only, at once;
 * entries refill lazily).  Only at the start of a call, when no pointer into the cache is held.
 */
static void
fare_cache_drop_everything(void)
{
	if (fare_cache_current != NULL)
	{
		fare_cache_full_drops++;
		fare_cache_rebuilds++;
	}
	fare_cache_drop(&fare_cache_current);
	fare_cache_drop_pending = false;
}

/*
 * fare_cache_tables_moved: looks up the rule tables' OIDs (remembered for the invalidation callback)
 * and says whether they differ from the ones remembered before (the extension was re-created).
 */
static bool
fare_cache_tables_moved(void)
{
	Oid			namespace_oid = get_namespace_oid("faregate", false);
	bool		moved = false;

	for (int i = 0; i < (int) FARE_CACHE_NTABLES; i++)
	{
		Oid			relid = get_relname_relid(fare_cache_table_names[i], namespace_oid);

		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table faregate.%s does not exist", fare_cache_table_names[i]),
					 errhint("Reinstall the extension: DROP EXTENSION faregate; CREATE EXTENSION faregate.")));
		moved |= (relid != fare_cache_table_oids[i]);
		fare_cache_table_oids[i] = relid;
	}
	return moved;
}

/* ---- reading the small tables ---- */

/* One column a reader wants: its name and the type it decodes (NOT NULL in the table). */
typedef struct FareColumn
{
	const char *name;
	Oid			type;
} FareColumn;

/* Called for each row read (values in the order of the reader's columns). */
typedef void (*FareRowVisitor) (FareCache *cache, const Datum *values, void *arg);

#define FARE_MAX_COLUMNS 4

/*
 * fare_cache_null_column: raises 23502 for a NULL where the table (as created) forbids one.
 */
static void
fare_cache_null_column(const char *table, const char *column)
{
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("faregate.%s has a row with a null %s", table, column),
			 errhint("Fix the row and restore the NOT NULL constraints of faregate.%s.", table)));
}

/*
 * fare_cache_scan_table: every row of a small rule table under snapshot by a direct heap scan: the
 * rows a plain SELECT would return, read under the same lock (AccessShareLock, to the end of the
 * transaction).  As fare_cache_scan_rules, only where the current user has SELECT on the table, no
 * row-level security policy applies and the columns have the expected types; false otherwise.
 */
static bool
fare_cache_scan_table(FareCache *cache, Snapshot snapshot, int table, const FareColumn *columns, int ncolumns,
					  FareRowVisitor visit, void *arg)
{
	Relation	rel = try_relation_open(fare_cache_table_oids[table], AccessShareLock);
	AttrNumber	attnums[FARE_MAX_COLUMNS] = {0};
	TableScanDesc scan;
	TupleTableSlot *slot;

	if (rel == NULL)
		return false;
	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
	{
		relation_close(rel, NoLock);
		return false;
	}
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), i);

		for (int c = 0; c < ncolumns; c++)
			if (!attr->attisdropped && attr->atttypid == columns[c].type &&
				strcmp(NameStr(attr->attname), columns[c].name) == 0)
				attnums[c] = attr->attnum;
	}
	for (int c = 0; c < ncolumns; c++)
		if (attnums[c] == 0)
		{
			relation_close(rel, NoLock);
			return false;
		}
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum		values[FARE_MAX_COLUMNS];
		bool		isnull;

		for (int c = 0; c < ncolumns; c++)
		{
			values[c] = slot_getattr(slot, attnums[c], &isnull);
			if (isnull)
				fare_cache_null_column(fare_cache_table_names[table], columns[c].name);
		}
		visit(cache, values, arg);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	relation_close(rel, NoLock);
	return true;
}

/*
 * fare_cache_query_table: the same rows through SPI ("SELECT column::type, ... FROM faregate.table"),
 * where the executor checks column privileges and applies row-level security; under a safe
 * search_path (outside parallel mode, where settings cannot change and the leader's applies).
 */
static void
fare_cache_query_table(FareCache *cache, Snapshot snapshot, int table, const FareColumn *columns, int ncolumns,
					   FareRowVisitor visit, void *arg)
{
	StringInfoData sql;
	SPIPlanPtr	plan;
	int			guc_nest_level = 0;
	int			rc;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int c = 0; c < ncolumns; c++)
		appendStringInfo(&sql, "%s%s::%s", c > 0 ? ", " : "", columns[c].name, format_type_be(columns[c].type));
	appendStringInfo(&sql, " FROM faregate.%s", fare_cache_table_names[table]);
	if (!IsInParallelMode())
	{
		guc_nest_level = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "faregate: SPI_prepare failed for the fare cache: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: fare cache query failed: %s", SPI_result_code_string(rc));
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		Datum		values[FARE_MAX_COLUMNS];
		bool		isnull;

		for (int c = 0; c < ncolumns; c++)
		{
			values[c] = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, c + 1, &isnull);
			if (isnull)
				fare_cache_null_column(fare_cache_table_names[table], columns[c].name);
		}
		visit(cache, values, arg);
	}
	SPI_finish();
	if (!IsInParallelMode())
		AtEOXact_GUC(true, guc_nest_level);
	pfree(sql.data);
}

/*
 * fare_cache_read_table: every row of faregate.<table> (fare_cache_table_names) under snapshot, its
 * columns handed to visit: by a direct heap scan where it reads what a query would, else through SPI.
 * Visitors copy what they keep into the cache context; the rows themselves are not kept.
 */
static void
fare_cache_read_table(FareCache *cache, Snapshot snapshot, int table, const FareColumn *columns, int ncolumns,
					  FareRowVisitor visit, void *arg)
{
	Assert(ncolumns <= FARE_MAX_COLUMNS);
	if (!fare_cache_scan_table(cache, snapshot, table, columns, ncolumns, visit, arg))
	{
		elog(DEBUG1, "faregate: faregate.%s read through SPI (row-level security, no SELECT on the table,"
			 " or its columns altered)", fare_cache_table_names[table]);
		fare_cache_query_table(cache, snapshot, table, columns, ncolumns, visit, arg);
	}
}

/* A growable list of C strings, for the names read before a name table is sized. */
typedef struct FareNameList
{
	char	  **names;
	int			count;
	int			size;
} FareNameList;

/* fare_name_list_add: appends a palloc'd copy of a text datum. */
static void
fare_name_list_add(FareNameList *list, Datum name)
{
	if (list->count == list->size)
	{
		list->size = Max(16, list->size * 2);
		list->names = list->names ? repalloc(list->names, sizeof(char *) * list->size) :
			palloc(sizeof(char *) * list->size);
	}
	list->names[list->count++] = TextDatumGetCString(name);
}

/* fare_cache_visit_name: FareRowVisitor that collects the first column (text) into a FareNameList. */
static void
fare_cache_visit_name(FareCache *cache, const Datum *values, void *arg)
{
	fare_name_list_add((FareNameList *) arg, values[0]);
}

/*
 * fare_cache_read_zones: the zone names into cache->zones.
 */
static void
fare_cache_read_zones(FareCache *cache, Snapshot snapshot)
{
	static const FareColumn columns[] = {{"zone_id", TEXTOID}};
	FareNameList list = {NULL, 0, 0};
	MemoryContext old_cxt;

	fare_cache_read_table(cache, snapshot, 0, columns, lengthof(columns), fare_cache_visit_name, &list);
	if (list.count >= (1 << 23))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many fare zones: %d", list.count),
				 errhint("faregate supports up to 8388607 zones.")));
	old_cxt = MemoryContextSwitchTo(cache->context);
	fare_names_init(&cache->zones, list.count);
	for (int i = 0; i < list.count; i++)
		fare_names_add(&cache->zones, list.names[i]);
	MemoryContextSwitchTo(old_cxt);
}

/*
 * fare_cache_category_of: the category of a transfer rule or cap (its first column), or NULL when the
 * categories read do not have it.  The foreign keys make that impossible under one snapshot, unless a
 * row-level security policy hides the category from the caller; then the row is skipped, as the join
 * of rider_categories with transfer_rules and fare_caps that this replaces skipped it.
 */
static FareCategory *
fare_cache_category_of(FareCache *cache, Datum category)
{
	text	   *name = DatumGetTextPP(category);
	int			index = fare_names_find(&cache->categories, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));

	return index == FARE_CACHE_NOT_FOUND ? NULL : &cache->category_info[index];
}

/* fare_cache_visit_transfer: FareRowVisitor of transfer_rules (category, max_transfers, within, fee). */
static void
fare_cache_visit_transfer(FareCache *cache, const Datum *values, void *arg)
{
	FareCategory *info = fare_cache_category_of(cache, values[0]);

	if (info == NULL)
		return;
	info->has_transfer = true;
	info->max_transfers = DatumGetInt32(values[1]);
	info->transfer_within_usec = fare_cache_interval_usec(DatumGetIntervalP(values[2]));
	info->transfer_fee_cents = fare_cache_cents(values[3]);
}

/* fare_cache_visit_cap: FareRowVisitor of fare_caps (category, period, cap, day_starts). */
static void
fare_cache_visit_cap(FareCache *cache, const Datum *values, void *arg)
{
	FareCategory *info = fare_cache_category_of(cache, values[0]);
	char	   *period;

	if (info == NULL)
		return;
	period = TextDatumGetCString(values[1]);

	if (strcmp(period, "day") == 0)
	{
		info->has_day_cap = true;
		info->day_cap_cents = fare_cache_cents(values[2]);
		info->day_cap_starts_usec = DatumGetTimeADT(values[3]);
	}
	else if (strcmp(period, "week") == 0)
	{
		info->has_week_cap = true;
		info->week_cap_cents = fare_cache_cents(values[2]);
		info->week_cap_starts_usec = DatumGetTimeADT(values[3]);
	}
	pfree(period);
}

/*
 * fare_cache_read_categories: the rider categories, each with its transfer rule and caps.
 */
static void
fare_cache_read_categories(FareCache *cache, Snapshot snapshot)
{
	static const FareColumn category_columns[] = {{"category", TEXTOID}};
	static const FareColumn transfer_columns[] = {
		{"category", TEXTOID}, {"max_transfers", INT4OID}, {"within", INTERVALOID}, {"transfer_fee", NUMERICOID}
	};
	static const FareColumn cap_columns[] = {
		{"category", TEXTOID}, {"period", TEXTOID}, {"cap", NUMERICOID}, {"day_starts", TIMEOID}
	};
	FareNameList list = {NULL, 0, 0};
	MemoryContext old_cxt;

	fare_cache_read_table(cache, snapshot, 1, category_columns, lengthof(category_columns),
						  fare_cache_visit_name, &list);
	if (list.count >= (1 << 15))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rider categories: %d", list.count),
				 errhint("faregate supports up to 32767 rider categories.")));
	old_cxt = MemoryContextSwitchTo(cache->context);
	fare_names_init(&cache->categories, list.count);
	cache->category_info = palloc0(sizeof(FareCategory) * Max(list.count, 1));
	for (int i = 0; i < list.count; i++)
	{
		int			index = fare_names_add(&cache->categories, list.names[i]);

		cache->category_info[index].name = cache->categories.names[index];
	}
	MemoryContextSwitchTo(old_cxt);
	fare_cache_read_table(cache, snapshot, 4, transfer_columns, lengthof(transfer_columns),
						  fare_cache_visit_transfer, NULL);
	fare_cache_read_table(cache, snapshot, 5, cap_columns, lengthof(cap_columns), fare_cache_visit_cap, NULL);
}

/* One window as read, before the windows are grouped by timeframe. */
typedef struct FareWindowRow
{
	char	   *timeframe;
	FareWindow	window;
} FareWindowRow;

/* The windows read so far. */
typedef struct FareWindowRows
{
	FareWindowRow *rows;
	int			count;
	int			size;
} FareWindowRows;

/* fare_cache_visit_window: FareRowVisitor of timeframes (timeframe, days, start_time, end_time). */
static void
fare_cache_visit_window(FareCache *cache, const Datum *values, void *arg)
{
	FareWindowRows *rows = (FareWindowRows *) arg;
	FareWindowRow *row;
	Datum	   *day_values;
	bool	   *day_nulls;
	int			ndays;

	if (rows->count == rows->size)
	{
		rows->size = Max(16, rows->size * 2);
		rows->rows = rows->rows ? repalloc(rows->rows, sizeof(FareWindowRow) * rows->size) :
			palloc(sizeof(FareWindowRow) * rows->size);
	}
	row = &rows->rows[rows->count++];
	row->timeframe = TextDatumGetCString(values[0]);
	row->window.days_mask = 0;
	deconstruct_array(DatumGetArrayTypeP(values[1]), INT4OID, sizeof(int32), true, TYPALIGN_INT, &day_values,
					  &day_nulls, &ndays);
	for (int d = 0; d < ndays; d++)
		if (!day_nulls[d] && DatumGetInt32(day_values[d]) >= 1 && DatumGetInt32(day_values[d]) <= 7)
			row->window.days_mask |= (uint8) (1 << DatumGetInt32(day_values[d]));
	row->window.start_usec = DatumGetTimeADT(values[2]);
	row->window.end_usec = DatumGetTimeADT(values[3]);
}

/* fare_window_row_order: qsort order of windows by timeframe name (bytes), to group them. */
static int
fare_window_row_order(const void *a, const void *b)
{
	return strcmp(((const FareWindowRow *) a)->timeframe, ((const FareWindowRow *) b)->timeframe);
}

/*
 * fare_cache_read_timeframes: the timeframe windows, grouped by name.
 */
static void
fare_cache_read_timeframes(FareCache *cache, Snapshot snapshot)
{
	static const FareColumn columns[] = {
		{"timeframe", TEXTOID}, {"days", INT4ARRAYOID}, {"start_time", TIMEOID}, {"end_time", TIMEOID}
	};
	FareWindowRows rows = {NULL, 0, 0};
	MemoryContext old_cxt;

	fare_cache_read_table(cache, snapshot, 2, columns, lengthof(columns), fare_cache_visit_window, &rows);
	if (rows.count > 1)
		qsort(rows.rows, rows.count, sizeof(FareWindowRow), fare_window_row_order);
	old_cxt = MemoryContextSwitchTo(cache->context);
	fare_names_init(&cache->timeframe_names, rows.count);
	cache->timeframes = palloc0(sizeof(FareTimeframe) * Max(rows.count, 1));
	cache->windows = palloc0(sizeof(FareWindow) * Max(rows.count, 1));
	cache->nwindows = rows.count;
	for (int i = 0; i < rows.count; i++)
	{
		int			before = cache->timeframe_names.count;
		int			index = fare_names_add(&cache->timeframe_names, rows.rows[i].timeframe);

		if (index == before)
		{
			cache->timeframes[index].name = cache->timeframe_names.names[index];
			cache->timeframes[index].first_window = i;
		}
		cache->timeframes[index].nwindows++;
		cache->windows[i] = rows.rows[i].window;
	}
	MemoryContextSwitchTo(old_cxt);
}

/*
 * fare_cache_create_entries: the empty hash of entries.
 */
static void
fare_cache_create_entries(FareCache *cache)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(FareEntry);
	ctl.hcxt = cache->context;
	cache->entries = hash_create("faregate fare entries", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * fare_cache_build: a new cache with the small tables compiled and no entry yet, read under a fresh
 * snapshot (the active one in parallel mode, then transient), which becomes its sync point.  The
 * context starts as a child of the caller's, so an error while building frees it; it moves under
 * CacheMemoryContext only once complete.
 */
static FareCache *
fare_cache_build(bool transient)
{
	MemoryContext build_cxt = AllocSetContextCreate(CurrentMemoryContext, "faregate fare cache",
													ALLOCSET_SMALL_SIZES);
	FareCache  *cache = MemoryContextAllocZero(build_cxt, sizeof(FareCache));
	uint64		requested = fare_cache_sync_requested;
	Snapshot	snapshot;

	cache->context = build_cxt;
	cache->transient = transient;
	cache->built_lxid = MyProc->lxid;
	(void) fare_cache_tables_moved();
	snapshot = RegisterSnapshot(transient ? GetActiveSnapshot() : GetLatestSnapshot());
	fare_cache_read_zones(cache, snapshot);
	fare_cache_read_categories(cache, snapshot);
	fare_cache_read_timeframes(cache, snapshot);
	fare_cache_create_entries(cache);
	cache->fill_context = AllocSetContextCreate(build_cxt, "faregate fare fill", ALLOCSET_SMALL_SIZES);
	if (!transient)
		fare_changelog_capture(snapshot, &cache->sync, build_cxt);
	UnregisterSnapshot(snapshot);

	fare_cache_sync_done = requested;
	fare_cache_drop_pending = false;
	MemoryContextSetParent(build_cxt, CacheMemoryContext);
	return cache;
}

/* ---- applying the change log ---- */

/* What fare_cache_drop_key needs to know: the cache, and whether this is the middle of a call. */
typedef struct FareDropState
{
	FareCache  *cache;
	bool		mid_call;		/* entries used by this call must not be dropped */
	bool		conflict;		/* ... and one would have been */
	bool		dropped;		/* something held was dropped */
} FareDropState;

/*
 * fare_cache_drop_key: FareChangeVisitor that drops the entry of one changed key, if held.
 */
static void
fare_cache_drop_key(void *arg, const char *from_zone, int from_len, const char *to_zone, int to_len,
					const char *category, int category_len)
{
	FareDropState *state = (FareDropState *) arg;
	FareCache  *cache = state->cache;
	int			from = fare_names_find(&cache->zones, from_zone, from_len);
	int			to = fare_names_find(&cache->zones, to_zone, to_len);
	int			cat = fare_names_find(&cache->categories, category, category_len);
	uint64		key;
	FareEntry  *entry;

	/* a zone or category this cache does not know has no entry (its creation drops everything) */
	if (from < 0 || to < 0 || cat < 0)
		return;
	key = fare_pair_key(from, to, cat);
	entry = hash_search(cache->entries, &key, HASH_FIND, NULL);
	if (entry == NULL)
		return;
	if (state->mid_call && entry->call == fare_cache_call)
	{
		state->conflict = true;
		return;
	}
	if (entry->rules != NULL)
		pfree(entry->rules);
	(void) hash_search(cache->entries, &key, HASH_REMOVE, NULL);
	fare_cache_key_drops++;
	state->dropped = true;
}

/*
 * fare_cache_advance: applies the changes committed between the sync point and snapshot, which then
 * becomes the sync point.  Returns false, changing nothing that this call may use, when the changes
 * need everything dropped (done at the next call start) or, in the middle of a call, hit an entry that
 * the call already used; the caller then retries the call.
 */
static bool
fare_cache_advance(FareCache *cache, Snapshot snapshot, bool mid_call)
{
	FareDropState state = {cache, mid_call, false, false};
	uint64		requested = fare_cache_sync_requested;
	FareChangelogResult result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	result = fare_changelog_read(snapshot, &cache->sync, fare_cache_drop_key, &state);
	SPI_finish();
	if (result == FARE_CHANGES_ALL || fare_cache_tables_moved())
	{
		/* counted as one invalidation by fare_cache_drop_everything() */
		fare_cache_drop_pending = true;
		return false;
	}
	if (state.dropped)
		fare_cache_rebuilds++;
	if (state.conflict)
		return false;
	pfree(cache->sync.xip);
	fare_changelog_capture(snapshot, &cache->sync, cache->context);
	fare_cache_sync_done = requested;
	return true;
}

/* ---- filling entries ---- */

/*
 * fare_cache_rules_array: rules[0..n-1] (in precedence order) copied into the cache context; NULL when
 * n = 0.
 */
static FareRule *
fare_cache_rules_array(FareCache *cache, FareRule *rules, int n)
{
	FareRule   *copy;

	if (n == 0)
		return NULL;
	if (n > 1)
		qsort(rules, n, sizeof(FareRule), fare_rule_precedence);
	copy = MemoryContextAlloc(cache->context, sizeof(FareRule) * n);
	memcpy(copy, rules, sizeof(FareRule) * n);
	return copy;
}

/*
 * fare_cache_query_rules: the rules of one key under snapshot through SPI (a saved plan of a plain
 * SELECT, so the planner picks the scan, and the executor checks the caller's privileges, column
 * privileges included, and applies row-level security policies).  The path of fare_cache_read_rules
 * when the direct scan does not apply.
 */
static FareRule *
fare_cache_query_rules(FareCache *cache, Snapshot snapshot, int from_zone, int to_zone, int category,
					   int *nrules)
{
	Datum		values[3];
	FareRule   *rules;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	if (fare_cache_fill_plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
		SPIPlanPtr	plan = SPI_prepare(
			"SELECT rule_id, timeframe, valid, amount, currency, priority"
			"  FROM faregate.fare_rules"
			" WHERE from_zone OPERATOR(pg_catalog.=) $1 AND to_zone OPERATOR(pg_catalog.=) $2"
			"   AND category OPERATOR(pg_catalog.=) $3", 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "faregate: cannot prepare the fare rule lookup: %s", SPI_result_code_string(SPI_result));
		fare_cache_fill_plan = plan;
	}
	values[0] = CStringGetTextDatum(cache->zones.names[from_zone]);
	values[1] = CStringGetTextDatum(cache->zones.names[to_zone]);
	values[2] = CStringGetTextDatum(cache->categories.names[category]);
	rc = SPI_execute_snapshot(fare_cache_fill_plan, values, NULL, snapshot, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: fare rule lookup failed: %s", SPI_result_code_string(rc));
	*nrules = SPI_processed;
	rules = palloc(sizeof(FareRule) * Max(SPI_processed, 1));
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		Datum		row_values[FARE_NCOLS];
		bool		row_nulls[FARE_NCOLS];

		heap_deform_tuple(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, row_values, row_nulls);
		fare_cache_rule_from_values(cache, row_values, row_nulls, &rules[row]);
	}
	rules = fare_cache_rules_array(cache, rules, *nrules);
	SPI_finish();
	return rules;
}

/* The attribute numbers of faregate.fare_rules' columns in its current definition. */
typedef struct FareRuleColumns
{
	AttrNumber	key[3];			/* from_zone, to_zone, category */
	AttrNumber	value[FARE_NCOLS];	/* as fare_rule_column_names */
} FareRuleColumns;

/*
 * fare_cache_rule_columns: finds the columns the direct scan reads, with the types it decodes (text
 * keys, bigint rule_id, text timeframe, daterange valid, numeric amount, char currency, int priority).
 * False when the table's definition differs: the lookup then goes through SPI.
 */
static bool
fare_cache_rule_columns(Relation heap, FareRuleColumns *columns)
{
	static const char *const key_names[3] = {"from_zone", "to_zone", "category"};
	static const Oid value_types[FARE_NCOLS] = {INT8OID, TEXTOID, DATERANGEOID, NUMERICOID, BPCHAROID, INT4OID};
	TupleDesc	desc = RelationGetDescr(heap);

	memset(columns, 0, sizeof(*columns));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (attr->attisdropped)
			continue;
		for (int k = 0; k < 3; k++)
			if (strcmp(NameStr(attr->attname), key_names[k]) == 0 && attr->atttypid == TEXTOID)
				columns->key[k] = attr->attnum;
		for (int c = 0; c < FARE_NCOLS; c++)
			if (strcmp(NameStr(attr->attname), fare_rule_column_names[c]) == 0 && attr->atttypid == value_types[c])
				columns->value[c] = attr->attnum;
	}
	for (int k = 0; k < 3; k++)
		if (columns->key[k] == 0)
			return false;
	for (int c = 0; c < FARE_NCOLS; c++)
		if (columns->value[c] == 0)
			return false;
	return true;
}

/*
 * fare_cache_lookup_index_fits: whether index is faregate.fare_rules_lookup as the planner could use it
 * for "from_zone = $1 AND to_zone = $2 AND category = $3": a valid btree index of heap without a
 * predicate whose first three keys are those columns with text's default operator family and the
 * columns' collations, and (indcheckxmin) old enough for every snapshot of this transaction.
 */
static bool
fare_cache_lookup_index_fits(Relation index, Relation heap, const FareRuleColumns *columns)
{
	Form_pg_index form = index->rd_index;
	TupleDesc	desc = RelationGetDescr(heap);

	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != BTREE_AM_OID ||
		strcmp(RelationGetRelationName(index), "fare_rules_lookup") != 0 ||
		form->indrelid != RelationGetRelid(heap) || !form->indisvalid || form->indnkeyatts < 3 ||
		!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		return false;
	if (form->indcheckxmin &&
		!TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data), TransactionXmin))
		return false;
	for (int k = 0; k < 3; k++)
		if (form->indkey.values[k] != columns->key[k] || index->rd_opfamily[k] != TEXT_BTREE_FAM_OID ||
			index->rd_opcintype[k] != TEXTOID ||
			index->rd_indcollation[k] != TupleDescAttr(desc, columns->key[k] - 1)->attcollation)
			return false;
	return true;
}

/*
 * fare_cache_open_lookup_index: faregate.fare_rules_lookup opened and locked (AccessShareLock, as a
 * query's scan takes it), or NULL when it is missing or does not fit.  Its OID is remembered, and
 * checked again at every open.
 */
static Relation
fare_cache_open_lookup_index(Relation heap, const FareRuleColumns *columns)
{
	static Oid	index_oid = InvalidOid;
	Relation	index;

	for (int attempt = 0; attempt < 2; attempt++)
	{
		if (!OidIsValid(index_oid))
			index_oid = get_relname_relid("fare_rules_lookup", RelationGetNamespace(heap));
		if (!OidIsValid(index_oid))
			return NULL;
		index = try_index_open(index_oid, AccessShareLock);
		if (index != NULL && fare_cache_lookup_index_fits(index, heap, columns))
			return index;
		if (index != NULL)
			index_close(index, NoLock);
		/* the remembered index is gone or changed: look the name up once more */
		index_oid = InvalidOid;
	}
	return NULL;
}

/*
 * fare_cache_scan_rules: the rules of one key under snapshot by a direct scan of fare_rules_lookup
 * (the index scan the SPI plan runs, without parsing, planning or an executor).  It reads what the
 * query would: the same snapshot, the tuples an MVCC index scan returns, the same locks on the table
 * and its index (AccessShareLock, held to the end of the transaction).  It only runs where the
 * query's checks would pass and change nothing: the current user has SELECT on the table and no
 * row-level security policy applies to it (check_enable_rls); otherwise, and when the table or the
 * index is not as created, it answers false and the lookup goes through SPI, which enforces column
 * privileges and policies (or raises their errors) exactly as before.
 */
static bool
fare_cache_scan_rules(FareCache *cache, Snapshot snapshot, int from_zone, int to_zone, int category,
					  FareRule **rules_out, int *nrules_out)
{
	Relation	heap;
	Relation	index;
	FareRuleColumns columns;
	ScanKeyData keys[3];
	const char *key_names[3];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	FareRule   *rules;
	int			nrules = 0,
				size = 4;

	heap = try_relation_open(fare_cache_table_oids[FARE_CACHE_FARE_RULES], AccessShareLock);
	if (heap == NULL)
		return false;
	if (heap->rd_rel->relkind != RELKIND_RELATION ||
		pg_class_aclcheck(RelationGetRelid(heap), GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(RelationGetRelid(heap), InvalidOid, true) == RLS_ENABLED ||
		!fare_cache_rule_columns(heap, &columns) ||
		(index = fare_cache_open_lookup_index(heap, &columns)) == NULL)
	{
		relation_close(heap, NoLock);
		return false;
	}

	key_names[0] = cache->zones.names[from_zone];
	key_names[1] = cache->zones.names[to_zone];
	key_names[2] = cache->categories.names[category];
	for (int k = 0; k < 3; k++)
		ScanKeyEntryInitialize(&keys[k], 0, k + 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[k],
							   F_TEXTEQ, CStringGetTextDatum(key_names[k]));
	rules = palloc(sizeof(FareRule) * size);
	scan = index_beginscan(heap, index, snapshot, 3, 0);
	index_rescan(scan, keys, 3, NULL, 0);
	slot = table_slot_create(heap, NULL);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[FARE_NCOLS];
		bool		nulls[FARE_NCOLS];

		if (nrules == size)
		{
			size *= 2;
			rules = repalloc(rules, sizeof(FareRule) * size);
		}
		for (int c = 0; c < FARE_NCOLS; c++)
			values[c] = slot_getattr(slot, columns.value[c], &nulls[c]);
		fare_cache_rule_from_values(cache, values, nulls, &rules[nrules++]);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, NoLock);
	relation_close(heap, NoLock);
	*rules_out = fare_cache_rules_array(cache, rules, nrules);
	*nrules_out = nrules;
	return true;
}

/*
 * fare_cache_read_rules: the rules of one key under snapshot, in precedence order, into a new array in
 * the cache context (*nrules of them; NULL when none): by the direct index scan where it applies, else
 * through SPI.  Scratch memory goes into the cache's fill context, emptied each time.
 */
static FareRule *
fare_cache_read_rules(FareCache *cache, Snapshot snapshot, int from_zone, int to_zone, int category,
					  int *nrules)
{
	MemoryContext old_cxt = MemoryContextSwitchTo(cache->fill_context);
	FareRule   *rules;

	MemoryContextReset(cache->fill_context);
	if (!fare_cache_scan_rules(cache, snapshot, from_zone, to_zone, category, &rules, nrules))
	{
		elog(DEBUG1, "faregate: fare rules of %s -> %s, %s read through SPI (row-level security, no SELECT on the"
			 " table, or fare_rules_lookup missing or altered)", cache->zones.names[from_zone],
			 cache->zones.names[to_zone], cache->categories.names[category]);
		rules = fare_cache_query_rules(cache, snapshot, from_zone, to_zone, category, nrules);
	}
	MemoryContextSwitchTo(old_cxt);
	MemoryContextReset(cache->fill_context);
	return rules;
}

/*
 * fare_cache_fill: enters the entry of a key that missed, read under a fresh snapshot after applying
 * the changes that snapshot sees (under the query snapshot in a transient cache).  NULL when the call
 * must be retried (fare_cache_advance).
 */
static FareEntry *
fare_cache_fill(FareCache *cache, uint64 key, int from_zone, int to_zone, int category)
{
	Snapshot	snapshot;
	FareRule   *rules;
	int			nrules;
	FareEntry  *entry;

	snapshot = RegisterSnapshot(cache->transient ? GetActiveSnapshot() : GetLatestSnapshot());
	if (!cache->transient && !fare_changelog_same_point(snapshot, &cache->sync) &&
		!fare_cache_advance(cache, snapshot, true))
	{
		UnregisterSnapshot(snapshot);
		fare_cache_sync_requested++;	/* the next fare_cache_get() reads the log again */
		return NULL;
	}
	rules = fare_cache_read_rules(cache, snapshot, from_zone, to_zone, category, &nrules);
	UnregisterSnapshot(snapshot);
	entry = hash_search(cache->entries, &key, HASH_ENTER, NULL);
	entry->nrules = nrules;
	entry->rules = rules;
	return entry;
}

/* ---- the cache's interface ---- */

/*
 * fare_cache_get_transient: in parallel mode, the cache of this transaction, built from the query
 * snapshot.
 */
static FareCache *
fare_cache_get_transient(void)
{
	if (fare_cache_transient != NULL && fare_cache_transient->built_lxid != MyProc->lxid)
		fare_cache_drop(&fare_cache_transient);
	if (fare_cache_transient == NULL)
		fare_cache_transient = fare_cache_build(true);
	return fare_cache_transient;
}

/*
 * fare_cache_get: the fare cache at the start of a pricing call, exact for a snapshot that has every
 * committed rule change whose invalidation has arrived and this transaction's own changes.
 */
FareCache *
fare_cache_get(void)
{
	AcceptInvalidationMessages();
	if (IsInParallelMode())
		return fare_cache_get_transient();
	fare_cache_call++;
	if (fare_cache_current != NULL &&
		(fare_cache_drop_pending || hash_get_num_entries(fare_cache_current->entries) > FARE_CACHE_MAX_ENTRIES))
		fare_cache_drop_everything();
	if (fare_cache_current != NULL && fare_cache_sync_requested != fare_cache_sync_done)
	{
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		bool		advanced = fare_cache_advance(fare_cache_current, snapshot, false);

		UnregisterSnapshot(snapshot);
		if (!advanced)
			fare_cache_drop_everything();
	}
	if (fare_cache_current == NULL)
		fare_cache_current = fare_cache_build(false);
	return fare_cache_current;
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
 * NULL when there is none), filled on a miss.  *nrules = FARE_CACHE_RETRY (and NULL) when the rules
 * changed during this call in a way that touches what it already used: start over with
 * fare_cache_get().
 */
const FareRule *
fare_cache_rules(FareCache *cache, int from_zone, int to_zone, int category, int *nrules)
{
	uint64		key = fare_pair_key(from_zone, to_zone, category);
	FareEntry  *entry = hash_search(cache->entries, &key, HASH_FIND, NULL);

	if (entry != NULL)
		fare_cache_hits++;
	else
	{
		fare_cache_misses++;
		entry = fare_cache_fill(cache, key, from_zone, to_zone, category);
		if (entry == NULL)
		{
			*nrules = FARE_CACHE_RETRY;
			return NULL;
		}
	}
	entry->call = fare_cache_call;
	*nrules = entry->nrules;
	return entry->rules;
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
 * fare_rules_changed: statement-level trigger on the rule tables; writes what the statement changed to
 * the change log (fare_changelog.c) and sends a relcache invalidation for the table, which reaches this
 * backend at its next command and the others when the transaction commits.
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
	fare_cache_own_changes = true;
	fare_changelog_record(trigdata);
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * fare_cache_stats: this backend's counters and the cache's size.  hits and misses count lookups of a
 * (zone pair, category) (a miss filled its entry), rebuilds the invalidations that dropped something
 * this backend held (keys or everything), entries the keys held, bytes the memory of the cache context
 * (0 when no cache is held), key_invalidations the entries dropped one by one for a logged key change,
 * full_invalidations the times everything held was dropped (a change of a small table, a TRUNCATE, a
 * large statement, a pruned log, an abort after own changes).
 */
Datum
fare_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	AcceptInvalidationMessages();
	values[0] = Int64GetDatum(fare_cache_hits);
	values[1] = Int64GetDatum(fare_cache_misses);
	values[2] = Int64GetDatum(fare_cache_rebuilds);
	values[3] = Int64GetDatum(fare_cache_current ? hash_get_num_entries(fare_cache_current->entries) : 0);
	values[4] = Int64GetDatum(fare_cache_current ?
							  (int64) MemoryContextMemAllocated(fare_cache_current->context, true) : 0);
	values[5] = Int64GetDatum(fare_cache_key_drops);
	values[6] = Int64GetDatum(fare_cache_full_drops);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
