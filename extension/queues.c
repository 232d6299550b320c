/*
 * queues.c
 *	  Queue statistics answered from indexes and running counters: queue_position, estimated_wait,
 *	  queue_eta and queue_stats, plus the faregate.queue_* settings of the estimator.  The lifecycle
 *	  (enqueue, call_next ...) is PL/pgSQL in sql/faregate/20_queues.sql.
 *
 * Every function here only reads (STABLE): the queries run through SPI with read_only = true, from
 * plans prepared once per backend and kept (SPI_keepplan); the plan cache re-plans them when the
 * tables change.  What each query may touch, so that its cost does not grow with history:
 *	- position: the partial index of waiting entries (queue_id, joined_at, entry_id), from the queue's
 *	  first waiting entry to the one asked about;
 *	- counters: the queue's rows of faregate.queue_counters (one per shard, a handful);
 *	- recent service times: the last faregate.queue_recent_services served entries inside the window,
 *	  from the covering index of finished entries read backwards;
 *	- queue_stats: the finished-entries index over the asked window, except whole hours already rolled
 *	  up into faregate.queue_hourly, which are read from there.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "queues.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(queue_position);
PG_FUNCTION_INFO_V1(estimated_wait);
PG_FUNCTION_INFO_V1(queue_eta);
PG_FUNCTION_INFO_V1(queue_stats);

/* faregate.queue_window: seconds of history that count as "recent" for the estimator */
static int	queues_window_s = 7200;
/* faregate.queue_recent_services: how many of the latest services the mean service time uses */
static int	queues_recent_services = 50;
/* faregate.queue_min_history: fewer recent services than this and the estimator uses Erlang C */
static int	queues_min_history = 20;
/* faregate.queue_default_service_time: seconds per service assumed before any was observed */
static int	queues_default_service_s = 300;

/* faregate.queue_notify: whether the lifecycle functions send NOTIFY faregate_queue_<id> */
static bool queues_notify = true;

/* Entry statuses as queries return them (CASE in SQL, no text comparison per row in C). */
#define QUEUES_ST_SERVED 1
#define QUEUES_ST_NO_SHOW 2
#define QUEUES_ST_CANCELLED 3

void
queues_define_gucs(void)
{
	DefineCustomIntVariable("faregate.queue_window",
							"Recent window of the queue wait estimator.",
							"Services and arrivals older than this do not count for estimated_wait and queue_eta.",
							&queues_window_s, 7200, 60, 30 * 24 * 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("faregate.queue_recent_services",
							"How many of the latest services the mean service time is taken over.",
							NULL, &queues_recent_services, 50, 1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("faregate.queue_min_history",
							"Recent services needed before the estimator trusts the observed service rate.",
							"With fewer, queue_eta uses the Erlang C expected wait.",
							&queues_min_history, 20, 1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("faregate.queue_notify",
							 "Send NOTIFY faregate_queue_<queue_id> on every queue transition.",
							 "Off spares transactions that nobody listens to the commit-time serialization of NOTIFY.",
							 &queues_notify, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("faregate.queue_default_service_time",
							"Service time assumed for a queue that has no service in the recent window.",
							NULL, &queues_default_service_s, 300, 1, 24 * 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------------
 * Kept plans
 * ------------------------------------------------------------------------------------------------ */

static SPIPlanPtr queues_position_plan = NULL;
static SPIPlanPtr queues_queue_plan = NULL;
static SPIPlanPtr queues_service_plan = NULL;
static SPIPlanPtr queues_arrivals_plan = NULL;
static SPIPlanPtr queues_rollup_state_plan = NULL;
static SPIPlanPtr queues_hourly_plan = NULL;
static SPIPlanPtr queues_raw_plan = NULL;

/* queues_plan: *plan prepared from sql (kept for the backend's life); caller is connected to SPI. */
static SPIPlanPtr
queues_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare(sql, nargs, argtypes);

		if (prepared == NULL)
			elog(ERROR, "faregate: SPI_prepare failed (%s) for: %s",
				 SPI_result_code_string(SPI_result), sql);
		if (SPI_keepplan(prepared) != 0)
			elog(ERROR, "faregate: SPI_keepplan failed");
		*plan = prepared;
	}
	return *plan;
}

/* queues_run: executes a kept plan read-only and checks that it returned rows. */
static void
queues_run(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	int			ret = SPI_execute_plan(plan, values, nulls, true, 0);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "faregate: query failed: %s", SPI_result_code_string(ret));
}

/* queues_get_int64 / queues_get_float8: column col (1-based) of row 0; *isnull set for NULL. */
static int64
queues_get_int64(int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static double
queues_get_float8(int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? 0.0 : DatumGetFloat8(d);
}

/* queues_interval: an interval of the given seconds (rounded to microseconds). */
static Interval *
queues_interval(double seconds)
{
	Interval   *result = palloc0(sizeof(Interval));

	/* 1e12 s is 31,700 years: beyond that an estimate means nothing and would overflow int64 us */
	if (isnan(seconds) || fabs(seconds) > 1e12)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("queue time estimate of %g seconds is out of range", seconds),
				 errhint("Check the queue's servers and the service times recorded in faregate.queue_entries.")));

	result->time = (int64) llround(seconds * USECS_PER_SEC);
	return result;
}

/* ------------------------------------------------------------------------------------------------
 * Position and estimator
 * ------------------------------------------------------------------------------------------------ */

/*
 * queues_entry_position: for entry_id, sets *queue_id and returns its position (1 = next), or 0 when
 * the entry is not waiting.  Raises FQ002 for an unknown entry.  Caller is connected to SPI.
 */
static int64
queues_entry_position(int64 entry_id, int64 *queue_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(entry_id)};
	bool		isnull;
	int64		position;

	queues_run(queues_plan(&queues_position_plan,
						   "SELECT e.queue_id, "
						   "       CASE WHEN e.status = 'waiting' THEN "
						   "         (SELECT count(*) FROM faregate.queue_entries w "
						   "           WHERE w.queue_id = e.queue_id AND w.status = 'waiting' "
						   "             AND (w.joined_at, w.entry_id) <= (e.joined_at, e.entry_id)) END "
						   "  FROM faregate.queue_entries e WHERE e.entry_id = $1",
						   1, argtypes),
			   values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(MAKE_SQLSTATE('F', 'Q', '0', '0', '2')),
				 errmsg("queue entry %lld does not exist", (long long) entry_id),
				 errhint("Pass the entry id that faregate.enqueue returned.")));
	*queue_id = queues_get_int64(1, &isnull);
	position = queues_get_int64(2, &isnull);
	return isnull ? 0 : position;
}

/*
 * queues_queue_counts: servers of queue_id and the sums of its waiting and busy counters.  Raises FQ001
 * for an unknown queue.  Caller is connected to SPI.
 */
static void
queues_queue_counts(int64 queue_id, int32 *servers, int64 *waiting, int64 *busy)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(queue_id)};
	bool		isnull;

	queues_run(queues_plan(&queues_queue_plan,
						   "SELECT q.servers, coalesce(sum(c.waiting), 0)::int8, coalesce(sum(c.busy), 0)::int8 "
						   "  FROM faregate.queues q "
						   "  LEFT JOIN faregate.queue_counters c ON c.queue_id = q.queue_id "
						   " WHERE q.queue_id = $1 GROUP BY q.queue_id",
						   1, argtypes),
			   values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(MAKE_SQLSTATE('F', 'Q', '0', '0', '1')),
				 errmsg("queue %lld does not exist", (long long) queue_id),
				 errhint("Pass a queue_id from faregate.queues.")));
	*servers = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*waiting = queues_get_int64(2, &isnull);
	*busy = queues_get_int64(3, &isnull);
}

/*
 * queues_expected_wait: expected seconds until the person at position (1 = next) is called; with
 * new_arrival, for someone joining queue_id now (position = waiting + 1).  docs/queues.md, "The
 * estimator", states the model.  Raises FQ001 for an unknown queue.  Caller is connected to SPI.
 */
static double
queues_expected_wait(int64 queue_id, int64 position, bool new_arrival)
{
	Oid			argtypes[3] = {INT8OID, INT4OID, FLOAT8OID};
	Datum		values[3];
	bool		isnull;
	int32		servers_int;
	int64		waiting_int,
				busy_int;
	double		servers,
				waiting,
				busy,
				free_servers,
				ahead,
				recent_count,
				mean_service,
				arrivals,
				lambda,
				mu,
				offered,
				rho,
				erlang_b,
				erlang_c;
	int			k;

	queues_queue_counts(queue_id, &servers_int, &waiting_int, &busy_int);
	servers = (double) servers_int;
	waiting = (double) waiting_int;
	busy = (double) busy_int;
	values[0] = Int64GetDatum(queue_id);
	if (waiting < 0)
		waiting = 0;
	if (new_arrival)
		position = (int64) waiting + 1;
	free_servers = Max(0.0, servers - busy);
	ahead = Max(0.0, (double) position - free_servers);

	values[1] = Int32GetDatum(queues_recent_services);
	values[2] = Float8GetDatum((double) queues_window_s);
	queues_run(queues_plan(&queues_service_plan,
						   "SELECT count(*)::int8, avg(r.s) FROM ("
						   "  SELECT extract(epoch FROM e.finished_at - e.served_at)::float8 AS s "
						   "    FROM faregate.queue_entries e "
						   "   WHERE e.queue_id = $1 AND e.finished_at IS NOT NULL AND e.status = 'served' "
						   "     AND e.served_at IS NOT NULL "
						   "     AND e.finished_at > now() - make_interval(secs => $3) AND e.finished_at <= now() "
						   "   ORDER BY e.finished_at DESC LIMIT $2) r",
						   3, argtypes),
			   values, NULL);
	recent_count = (double) queues_get_int64(1, &isnull);
	mean_service = queues_get_float8(2, &isnull);
	if (isnull || mean_service < 0)
		mean_service = 0;

	/* enough recent history: the observed service time, c servers working in parallel */
	if (recent_count >= queues_min_history)
		return ahead * mean_service / servers;

	/* too little: the M/M/c model with the measured (or default) rates */
	if (recent_count == 0 || mean_service <= 0)
		mean_service = (double) queues_default_service_s;
	if (!new_arrival)
		return ahead * mean_service / servers;	/* Erlang C's wait given k ahead: k / (c mu) */

	values[1] = Float8GetDatum((double) queues_window_s);
	argtypes[1] = FLOAT8OID;
	queues_run(queues_plan(&queues_arrivals_plan,
						   "SELECT count(*)::int8 FROM ("
						   "  SELECT 1 FROM faregate.queue_entries e "
						   "   WHERE e.queue_id = $1 AND e.joined_at > now() - make_interval(secs => $2) "
						   "     AND e.joined_at <= now() LIMIT 1000000) a",
						   2, argtypes),
			   values, NULL);
	arrivals = (double) queues_get_int64(1, &isnull);
	lambda = arrivals / (double) queues_window_s;
	mu = 1.0 / mean_service;
	offered = lambda / mu;
	rho = offered / servers;
	if (rho >= 1.0)
		return ahead * mean_service / servers;	/* no steady state: the queue grows */

	/* Erlang B by the stable recursion, then Erlang C = B / (1 - rho (1 - B)) */
	erlang_b = 1.0;
	for (k = 1; k <= (int) servers; k++)
	{
		erlang_b = offered * erlang_b / ((double) k + offered * erlang_b);
		/* once B underflows it stays 0 (k > a from there on): C = 0, no need to go on to c */
		if (erlang_b < 1e-300)
		{
			erlang_b = 0.0;
			break;
		}
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	erlang_c = erlang_b / (1.0 - rho * (1.0 - erlang_b));

	/*
	 * Erlang C is the steady-state expectation and knows nothing of who is queued now; when the queue
	 * is longer than that, the position-based wait of the same model is the better answer.
	 */
	return Max(erlang_c / (servers * mu - lambda), ahead * mean_service / servers);
}

/*
 * queue_position: faregate.queue_position(entry_id), 1 for the next to be called; NULL when the entry
 * is not waiting.  Raises FQ002 for an unknown entry.
 */
Datum
queue_position(PG_FUNCTION_ARGS)
{
	int64		entry_id = PG_GETARG_INT64(0);
	int64		queue_id;
	int64		position;

	SPI_connect();
	position = queues_entry_position(entry_id, &queue_id);
	SPI_finish();
	if (position == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) Min(position, PG_INT32_MAX));
}

/*
 * estimated_wait: faregate.estimated_wait(entry_id), the expected time until a waiting entry is
 * called; NULL when it is not waiting.
 */
Datum
estimated_wait(PG_FUNCTION_ARGS)
{
	int64		entry_id = PG_GETARG_INT64(0);
	int64		queue_id;
	int64		position;
	double		seconds = 0;

	SPI_connect();
	position = queues_entry_position(entry_id, &queue_id);
	if (position > 0)
		seconds = queues_expected_wait(queue_id, position, false);
	SPI_finish();
	if (position == 0)
		PG_RETURN_NULL();
	PG_RETURN_INTERVAL_P(queues_interval(seconds));
}

/* queue_eta: faregate.queue_eta(queue_id), the expected wait for someone joining now. */
Datum
queue_eta(PG_FUNCTION_ARGS)
{
	int64		queue_id = PG_GETARG_INT64(0);
	double		seconds;

	SPI_connect();
	seconds = queues_expected_wait(queue_id, 0, true);
	SPI_finish();
	PG_RETURN_INTERVAL_P(queues_interval(seconds));
}

/* ------------------------------------------------------------------------------------------------
 * queue_stats
 * ------------------------------------------------------------------------------------------------ */

typedef struct QueueStatsAcc
{
	int64		served;
	int64		no_shows;
	int64		cancelled;
	int64		wait_count;
	double		wait_sum_s;
	int64		service_count;
	double		service_sum_s;
	SketchState *waits;
} QueueStatsAcc;

/* queues_stats_raw: adds the entries of queue_id finished in [from, to) to acc, in batches. */
static void
queues_stats_raw(QueueStatsAcc *acc, int64 queue_id, TimestampTz from, TimestampTz to)
{
	Oid			argtypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3] = {Int64GetDatum(queue_id), TimestampTzGetDatum(from), TimestampTzGetDatum(to)};
	Portal		portal;
	uint64		i;

	if (from >= to)
		return;
	queues_plan(&queues_raw_plan,
				"SELECT CASE e.status WHEN 'served' THEN 1 WHEN 'no_show' THEN 2 ELSE 3 END, "
				"       extract(epoch FROM e.called_at - e.joined_at)::float8, "
				"       extract(epoch FROM e.finished_at - e.served_at)::float8 "
				"  FROM faregate.queue_entries e "
				" WHERE e.queue_id = $1 AND e.finished_at IS NOT NULL "
				"   AND e.finished_at >= $2 AND e.finished_at < $3",
				3, argtypes);
	portal = SPI_cursor_open(NULL, queues_raw_plan, values, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		status = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
			Datum		wait = SPI_getbinval(tuple, desc, 2, &isnull);

			if (!isnull)
			{
				acc->wait_count++;
				acc->wait_sum_s += DatumGetFloat8(wait);
				sketch_state_add(acc->waits, DatumGetFloat8(wait));
			}
			if (status == QUEUES_ST_SERVED)
			{
				Datum		service = SPI_getbinval(tuple, desc, 3, &isnull);

				acc->served++;
				if (!isnull)
				{
					acc->service_count++;
					acc->service_sum_s += DatumGetFloat8(service);
				}
			}
			else if (status == QUEUES_ST_NO_SHOW)
				acc->no_shows++;
			else
				acc->cancelled++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* queues_stats_hourly: adds the rolled-up hours [from, to) of queue_id to acc. */
static void
queues_stats_hourly(QueueStatsAcc *acc, int64 queue_id, TimestampTz from, TimestampTz to)
{
	Oid			argtypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3] = {Int64GetDatum(queue_id), TimestampTzGetDatum(from), TimestampTzGetDatum(to)};
	uint64		i;

	if (from >= to)
		return;
	queues_run(queues_plan(&queues_hourly_plan,
						   "SELECT served, no_shows, cancelled, wait_count, wait_sum_s, service_count, "
						   "       service_sum_s, wait_sketch "
						   "  FROM faregate.queue_hourly WHERE queue_id = $1 AND hour >= $2 AND hour < $3",
						   3, argtypes),
			   values, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		sketch;

		acc->served += DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		acc->no_shows += DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull));
		acc->cancelled += DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull));
		acc->wait_count += DatumGetInt64(SPI_getbinval(tuple, desc, 4, &isnull));
		acc->wait_sum_s += DatumGetFloat8(SPI_getbinval(tuple, desc, 5, &isnull));
		acc->service_count += DatumGetInt64(SPI_getbinval(tuple, desc, 6, &isnull));
		acc->service_sum_s += DatumGetFloat8(SPI_getbinval(tuple, desc, 7, &isnull));
		sketch = SPI_getbinval(tuple, desc, 8, &isnull);
		if (!isnull)
			sketch_state_merge_datum(acc->waits, sketch);
	}
}

/* queues_hour_ceil: the first whole UTC hour at or after ts. */
static TimestampTz
queues_hour_ceil(TimestampTz ts)
{
	int64		hours = ts / USECS_PER_HOUR;

	if (hours * USECS_PER_HOUR < ts)
		hours++;
	return hours * USECS_PER_HOUR;
}

/*
 * queue_stats: faregate.queue_stats(queue_id, since), one row over the entries of the queue that
 * finished (served, no_show, cancelled) since "since", plus how many wait now.  Waits are called_at -
 * joined_at of entries that were called; p50/p90/p99 come from a sketch (1% relative error).  Whole
 * UTC hours before faregate.queue_rollup_state.rolled_until come from faregate.queue_hourly.
 */
Datum
queue_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		queue_id = PG_GETARG_INT64(0);
	TimestampTz since = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz first_hour = queues_hour_ceil(since);
	TimestampTz rolled_until = DT_NOBEGIN;
	MemoryContext sketch_cxt;
	QueueStatsAcc acc;
	Datum		result[10];
	bool		nulls[10];
	bool		isnull;
	int32		servers;
	int64		waiting,
				busy;
	int			q;
	static const double quantiles[3] = {0.5, 0.9, 0.99};

	if (TIMESTAMP_NOT_FINITE(since))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("queue_stats: since must be a finite timestamp"),
				 errhint("Pass a point in time, e.g. now() - interval '1 day'.")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	sketch_cxt = AllocSetContextCreate(CurrentMemoryContext, "faregate queue_stats",
									   ALLOCSET_DEFAULT_SIZES);
	memset(&acc, 0, sizeof(acc));
	acc.waits = sketch_state_create(sketch_cxt);

	SPI_connect();
	queues_queue_counts(queue_id, &servers, &waiting, &busy);

	queues_run(queues_plan(&queues_rollup_state_plan,
						   "SELECT rolled_until FROM faregate.queue_rollup_state", 0, NULL),
			   NULL, NULL);
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			rolled_until = DatumGetTimestampTz(d);
	}

	if (rolled_until > first_hour)
	{
		queues_stats_raw(&acc, queue_id, since, first_hour);
		queues_stats_hourly(&acc, queue_id, first_hour, rolled_until);
		queues_stats_raw(&acc, queue_id, rolled_until, DT_NOEND);
	}
	else
		queues_stats_raw(&acc, queue_id, since, DT_NOEND);
	SPI_finish();

	memset(nulls, 0, sizeof(nulls));
	result[0] = Int32GetDatum((int32) Max(0, Min(waiting, PG_INT32_MAX)));
	result[1] = Int64GetDatum(acc.served);
	result[2] = Int64GetDatum(acc.no_shows);
	result[3] = Int64GetDatum(acc.cancelled);
	if (acc.wait_count > 0)
		result[4] = IntervalPGetDatum(queues_interval(acc.wait_sum_s / acc.wait_count));
	else
		nulls[4] = true;
	for (q = 0; q < 3; q++)
	{
		double		seconds = sketch_state_quantile(acc.waits, quantiles[q], &nulls[5 + q]);

		result[5 + q] = nulls[5 + q] ? (Datum) 0 : IntervalPGetDatum(queues_interval(seconds));
	}
	if (acc.service_count > 0)
		result[8] = IntervalPGetDatum(queues_interval(acc.service_sum_s / acc.service_count));
	else
		nulls[8] = true;
	if (now > since)
		result[9] = Float8GetDatum((double) acc.served / ((double) (now - since) / USECS_PER_HOUR));
	else
		nulls[9] = true;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, nulls);
	MemoryContextDelete(sketch_cxt);
	return (Datum) 0;
}
