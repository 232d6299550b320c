/*
 * fare_changelog.c
 *	  The change log of the rule tables, faregate.fare_rule_changes: what the trigger function
 *	  faregate.fare_rules_changed() writes (one row per changed (from zone, to zone, category), or one
 *	  row "everything" for a change of a small table, a TRUNCATE or a bulk change), how the log is
 *	  pruned, and how fare_cache.c reads the changes it has not seen yet.
 *
 * Which rows a backend has not seen.  A backend's cache is exact as of a snapshot, its sync point
 * (FareSyncPoint).  Each log row carries the top-level transaction id of its writer (column xid,
 * pg_current_xact_id()).  A row the sync point did not see was written by a transaction that was in
 * progress then (its xid is in the point's xip) or started later (xid >= xmax): so reading, under a
 * newer snapshot, the rows with xid >= xmax or xid in xip gives exactly the changes committed between
 * the two snapshots, whatever order the writers committed in (sequence numbers would not: they are not
 * handed out in commit order).  The backend's own transaction is in neither set, so its own rows are
 * read by change_id, beyond the last own row already read (fare_changelog_own_last).
 *
 * Pruning.  The trigger prunes once every FARE_CHANGELOG_PRUNE_EVERY rows, under a try-lock (an
 * advisory transaction lock: a writer never waits for another): rows older than
 * FARE_CHANGELOG_KEEP_SECONDS whose xid is also below the pruner's snapshot xmin (so they are settled)
 * are deleted, and faregate.fare_rule_changes_pruned.below records the bound in the same transaction.
 * A reader whose sync point's xmin is below that bound may have lost rows: it drops everything
 * (FARE_CHANGES_ALL).  That only happens to a backend that did not price for the retention time.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/xid8.h"

#include "fare_changelog.h"

/* a statement that touches more rule rows than this (old + new) logs "everything" instead of keys */
#define FARE_CHANGELOG_MAX_ROWS 2000
/* the trigger prunes when a change_id it wrote is a multiple of this */
#define FARE_CHANGELOG_PRUNE_EVERY 1000
/* pruning keeps at least this much history, so that a backend idle for less never drops everything */
#define FARE_CHANGELOG_KEEP_SECONDS 600
/* advisory lock key of the pruner: 'fgcl' */
#define FARE_CHANGELOG_LOCK_KEY INT64CONST(0x6667636c)

static SPIPlanPtr fare_changelog_horizon_plan = NULL;
static SPIPlanPtr fare_changelog_changes_plan = NULL;

/* the highest change_id of this backend's own transaction already read, and that transaction */
static int64 fare_changelog_own_last = 0;
static FullTransactionId fare_changelog_own_fxid = {0};

/* ---- sync points ---- */

/*
 * fare_changelog_widen: a snapshot's 32-bit xid as a full transaction id, given the next full xid read
 * after the snapshot was taken (every xid of a live snapshot is within 2^31 before it).
 */
static FullTransactionId
fare_changelog_widen(TransactionId xid, FullTransactionId next)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return FullTransactionIdFromEpochAndXid(0, xid);
	if (xid > XidFromFullTransactionId(next) && epoch > 0)
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/* fare_changelog_xid_order: qsort order of TransactionIds as plain numbers (for set comparison). */
static int
fare_changelog_xid_order(const void *a, const void *b)
{
	TransactionId left = *(const TransactionId *) a;
	TransactionId right = *(const TransactionId *) b;

	return left < right ? -1 : left > right ? 1 : 0;
}

/*
 * fare_changelog_in_progress: the snapshot's in-progress xids, sorted, in a palloc'd array (*n of them).
 * A snapshot taken during recovery keeps them all in subxip.
 */
static TransactionId *
fare_changelog_in_progress(Snapshot snapshot, int *n)
{
	int			count = snapshot->xcnt + (snapshot->takenDuringRecovery ? snapshot->subxcnt : 0);
	TransactionId *xids = palloc(sizeof(TransactionId) * Max(count, 1));

	memcpy(xids, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
	if (snapshot->takenDuringRecovery)
		memcpy(xids + snapshot->xcnt, snapshot->subxip, sizeof(TransactionId) * snapshot->subxcnt);
	qsort(xids, count, sizeof(TransactionId), fare_changelog_xid_order);
	*n = count;
	return xids;
}

/*
 * fare_changelog_capture: makes snapshot the sync point (its xip array allocated in cxt; the previous
 * one, if any, is the caller's to free).
 */
void
fare_changelog_capture(Snapshot snapshot, FareSyncPoint *point, MemoryContext cxt)
{
	FullTransactionId next = ReadNextFullTransactionId();
	int			n;
	TransactionId *xids = fare_changelog_in_progress(snapshot, &n);

	point->xmin = fare_changelog_widen(snapshot->xmin, next);
	point->xmax = fare_changelog_widen(snapshot->xmax, next);
	point->nxip = n;
	point->xip = MemoryContextAlloc(cxt, sizeof(FullTransactionId) * Max(n, 1));
	for (int i = 0; i < n; i++)
		point->xip[i] = fare_changelog_widen(xids[i], next);
	pfree(xids);
}

/*
 * fare_changelog_same_point: whether snapshot sees exactly the transactions the sync point sees (same
 * xmax, same in-progress set): then nothing committed in between and the log need not be read.
 */
bool
fare_changelog_same_point(Snapshot snapshot, const FareSyncPoint *point)
{
	int			n;
	TransactionId *xids;
	bool		same;

	if (snapshot->xmax != XidFromFullTransactionId(point->xmax))
		return false;
	xids = fare_changelog_in_progress(snapshot, &n);
	same = (n == point->nxip);
	for (int i = 0; same && i < n; i++)
		same = (xids[i] == XidFromFullTransactionId(point->xip[i]));
	pfree(xids);
	return same;
}

/* ---- reading ---- */

/* fare_changelog_prepare: a saved plan of sql (nargs parameters of types argtypes). */
static SPIPlanPtr
fare_changelog_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "faregate: cannot prepare the change log query: %s", SPI_result_code_string(SPI_result));
	return plan;
}

/*
 * fare_changelog_read: under snapshot, the changes that the sync point since did not see: each changed
 * key goes to visit, unless the answer is FARE_CHANGES_ALL.  The caller is connected to SPI.
 */
FareChangelogResult
fare_changelog_read(Snapshot snapshot, const FareSyncPoint *since, FareChangeVisitor visit, void *arg)
{
	Datum		values[3];
	Datum	   *xip = palloc(sizeof(Datum) * Max(since->nxip, 1));
	FareChangelogResult result = FARE_CHANGES_KEYS;
	FullTransactionId own = GetTopFullTransactionIdIfAny();
	int			rc;

	if (fare_changelog_horizon_plan == NULL)
	{
		Oid			types[3] = {XID8OID, XID8ARRAYOID, INT8OID};

		fare_changelog_horizon_plan =
			fare_changelog_prepare("SELECT below FROM faregate.fare_rule_changes_pruned", 0, NULL);
		fare_changelog_changes_plan = fare_changelog_prepare(
			"SELECT c.from_zone, c.to_zone, c.category, c.change_id,"
			"       c.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()"
			"  FROM faregate.fare_rule_changes c"
			" WHERE c.xid OPERATOR(pg_catalog.>=) $1 OR c.xid OPERATOR(pg_catalog.=) ANY ($2)"
			"    OR (c.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()"
			"        AND c.change_id OPERATOR(pg_catalog.>) $3)", 3, types);
	}
	if (!FullTransactionIdEquals(own, fare_changelog_own_fxid))
	{
		fare_changelog_own_fxid = own;
		fare_changelog_own_last = 0;
	}

	rc = SPI_execute_snapshot(fare_changelog_horizon_plan, NULL, NULL, snapshot, InvalidSnapshot, true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: reading faregate.fare_rule_changes_pruned failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		below = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull && FullTransactionIdPrecedes(since->xmin, DatumGetFullTransactionId(below)))
			result = FARE_CHANGES_ALL;
	}

	for (int i = 0; i < since->nxip; i++)
		xip[i] = FullTransactionIdGetDatum(since->xip[i]);
	values[0] = FullTransactionIdGetDatum(since->xmax);
	values[1] = PointerGetDatum(construct_array(xip, since->nxip, XID8OID, sizeof(FullTransactionId),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = Int64GetDatum(fare_changelog_own_last);
	rc = SPI_execute_snapshot(fare_changelog_changes_plan, values, NULL, snapshot, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: reading faregate.fare_rule_changes failed: %s", SPI_result_code_string(rc));
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[row];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		from_null,
					to_null,
					category_null,
					isnull;
		Datum		from = SPI_getbinval(tuple, desc, 1, &from_null);
		Datum		to = SPI_getbinval(tuple, desc, 2, &to_null);
		Datum		category = SPI_getbinval(tuple, desc, 3, &category_null);
		int64		change_id = DatumGetInt64(SPI_getbinval(tuple, desc, 4, &isnull));
		Datum		is_own = SPI_getbinval(tuple, desc, 5, &isnull);

		if (!isnull && DatumGetBool(is_own) && change_id > fare_changelog_own_last)
			fare_changelog_own_last = change_id;
		if (from_null || to_null || category_null)
			result = FARE_CHANGES_ALL;
		if (result == FARE_CHANGES_ALL)
			continue;
		{
			text	   *from_text = DatumGetTextPP(from);
			text	   *to_text = DatumGetTextPP(to);
			text	   *category_text = DatumGetTextPP(category);

			visit(arg, VARDATA_ANY(from_text), VARSIZE_ANY_EXHDR(from_text), VARDATA_ANY(to_text),
				  VARSIZE_ANY_EXHDR(to_text), VARDATA_ANY(category_text), VARSIZE_ANY_EXHDR(category_text));
		}
	}
	SPI_freetuptable(SPI_tuptable);
	pfree(xip);
	return result;
}

/* ---- writing (the trigger) ---- */

/* fare_changelog_execute: runs one statement of the trigger; returns SPI_processed. */
static uint64
fare_changelog_execute(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "faregate: change log statement failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * fare_changelog_prune: deletes the rows that every backend has had time to read and records the bound
 * (see the file header).  Skipped when another transaction is pruning.
 */
static void
fare_changelog_prune(void)
{
	bool		isnull;

	fare_changelog_execute(psprintf("SELECT pg_try_advisory_xact_lock(" INT64_FORMAT ")",
									FARE_CHANGELOG_LOCK_KEY), SPI_OK_SELECT);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return;
	fare_changelog_execute(psprintf(
		"WITH horizon AS ("
		"  SELECT least(pg_snapshot_xmin(pg_current_snapshot()), min(xid)) AS below"
		"    FROM faregate.fare_rule_changes"
		"   WHERE changed_at > clock_timestamp() - interval '%d seconds'),"
		" gone AS (DELETE FROM faregate.fare_rule_changes WHERE xid < (SELECT below FROM horizon))"
		" UPDATE faregate.fare_rule_changes_pruned SET below = greatest(below, (SELECT below FROM horizon))",
		FARE_CHANGELOG_KEEP_SECONDS), SPI_OK_UPDATE);
}

/*
 * fare_changelog_keys_sql: the rows of the statement's transition tables (old and/or new rules) as one
 * SELECT of from_zone, to_zone, category.
 */
static const char *
fare_changelog_keys_sql(TriggerData *trigdata)
{
	if (trigdata->tg_oldtable != NULL && trigdata->tg_newtable != NULL)
		return "SELECT from_zone, to_zone, category FROM fare_rules_old"
			" UNION ALL SELECT from_zone, to_zone, category FROM fare_rules_new";
	if (trigdata->tg_oldtable != NULL)
		return "SELECT from_zone, to_zone, category FROM fare_rules_old";
	return "SELECT from_zone, to_zone, category FROM fare_rules_new";
}

/*
 * fare_changelog_record: writes what the triggering statement changed into the log: its keys when the
 * trigger has transition tables (fare_rules' insert, update and delete triggers) and the statement
 * touched at most FARE_CHANGELOG_MAX_ROWS rows, else one row "everything".  Prunes now and then.
 */
void
fare_changelog_record(TriggerData *trigdata)
{
	bool		keyed = (trigdata->tg_oldtable != NULL || trigdata->tg_newtable != NULL);
	int			guc_nest_level = NewGUCNestLevel();
	uint64		nrows = 0;
	bool		prune = false;
	bool		isnull;

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	if (keyed)
	{
		if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
			elog(ERROR, "faregate: cannot register the transition tables");
		fare_changelog_execute(psprintf("SELECT count(*) FROM (SELECT 1 FROM (%s) k LIMIT %d) s",
										fare_changelog_keys_sql(trigdata), FARE_CHANGELOG_MAX_ROWS + 1),
							   SPI_OK_SELECT);
		nrows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (!keyed || nrows > FARE_CHANGELOG_MAX_ROWS)
		fare_changelog_execute("INSERT INTO faregate.fare_rule_changes DEFAULT VALUES RETURNING change_id",
							   SPI_OK_INSERT_RETURNING);
	else
		fare_changelog_execute(psprintf("INSERT INTO faregate.fare_rule_changes (from_zone, to_zone, category)"
										" SELECT DISTINCT from_zone, to_zone, category FROM (%s) k"
										" RETURNING change_id", fare_changelog_keys_sql(trigdata)),
							   SPI_OK_INSERT_RETURNING);
	for (uint64 i = 0; i < SPI_processed; i++)
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) %
			FARE_CHANGELOG_PRUNE_EVERY == 0)
			prune = true;
	if (prune)
		fare_changelog_prune();
	SPI_finish();
	AtEOXact_GUC(true, guc_nest_level);
}
