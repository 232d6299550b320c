/*
 * gtfs_tariff.c
 *	  Owns the compiled GTFS tariffs: each backend keeps, for the few feeds it prices, the feed's rows of
 *	  the faregate.gtfs_* tables compiled into arrays (gtfs_tariff.h), built with one read-only scan per
 *	  table through SPI.
 *
 * Consistency: every statement that writes a gtfs_ table sets faregate.gtfs_generation to a fresh value
 * from a sequence (a statement trigger, sql/faregate/30_gtfs.sql), so a value is never seen twice, not
 * even across rolled-back transactions. A tariff remembers the generation it was built under. A pricing
 * call reads the generation once per FmgrInfo (once per query for a query's calls, which all share one
 * snapshot), and uses a cached tariff only when it was built under that same generation; otherwise it
 * rebuilds it under the caller's snapshot. So a backend sees a committed reload at its next query and
 * never another transaction's uncommitted rows, and its own uncommitted load inside its transaction.
 *
 * Memory: a tariff lives in its own context, built under the caller's context (an error mid-build
 * frees it) and moved under CacheMemoryContext once complete; at most GTFS_CACHE_FEEDS feeds are kept.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "gtfs_tariff.h"

#define GTFS_CACHE_FEEDS 8

static GtfsTariff *gtfs_cache[GTFS_CACHE_FEEDS];

/* What a pricing function's FmgrInfo remembers between the calls of one query. */
typedef struct GtfsCallCache
{
	int64		generation;
} GtfsCallCache;

static uint32
gtfs_names_hash(const char *name)
{
	uint32		h = 2166136261u;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char) *name) * 16777619u;
	return h;
}

/* gtfs_names_find: the id of name, or GTFS_NONE. */
int
gtfs_names_find(const GtfsNames *names, const char *name)
{
	uint32		i;

	if (name == NULL || names->nslots == 0)
		return GTFS_NONE;
	for (i = gtfs_names_hash(name) & (names->nslots - 1);; i = (i + 1) & (names->nslots - 1))
	{
		int			slot = names->slots[i];

		if (slot == 0)
			return GTFS_NONE;
		if (strcmp(names->names[slot - 1], name) == 0)
			return slot - 1;
	}
}

/* gtfs_names_add: the id of name, interned (copied into cxt) when new; GTFS_NONE for a NULL name. */
static int
gtfs_names_add(GtfsNames *names, MemoryContext cxt, const char *name)
{
	int			id = gtfs_names_find(names, name);
	uint32		i;

	if (name == NULL || id != GTFS_NONE)
		return id;
	if (names->n == names->cap)
	{
		int			newcap = names->cap ? names->cap * 2 : 16;
		int			k;

		names->names = names->names ? repalloc(names->names, newcap * sizeof(char *))
			: MemoryContextAlloc(cxt, newcap * sizeof(char *));
		if (names->slots)
			pfree(names->slots);
		names->nslots = newcap * 2;
		names->slots = MemoryContextAllocZero(cxt, names->nslots * sizeof(int));
		names->cap = newcap;
		for (k = 0; k < names->n; k++)
		{
			for (i = gtfs_names_hash(names->names[k]) & (names->nslots - 1); names->slots[i];
				 i = (i + 1) & (names->nslots - 1))
				;
			names->slots[i] = k + 1;
		}
	}
	id = names->n++;
	names->names[id] = MemoryContextStrdup(cxt, name);
	for (i = gtfs_names_hash(name) & (names->nslots - 1); names->slots[i]; i = (i + 1) & (names->nslots - 1))
		;
	names->slots[i] = id + 1;
	return id;
}

/* gtfs_query: runs a read-only query with $1 = feed_id; the rows are in SPI_tuptable. */
static uint64
gtfs_query(const char *sql, const char *feed_id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(feed_id)};
	int			rc = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "faregate: GTFS tariff query failed (%d): %s", rc, sql);
	return SPI_processed;
}

/* gtfs_val: column col (1-based) of row i of the last query as a C string, NULL for NULL. */
static char *
gtfs_val(uint64 i, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col);
}

static int
gtfs_val_int(uint64 i, int col, int if_null)
{
	char	   *v = gtfs_val(i, col);

	return v ? pg_strtoint32(v) : if_null;
}

static int64
gtfs_val_int64(uint64 i, int col)
{
	char	   *v = gtfs_val(i, col);

	return v ? pg_strtoint64(v) : 0;
}

static pg_tz *
gtfs_tz(const char *name)
{
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("unknown time zone \"%s\" in a loaded GTFS feed", name),
						errhint("Load the feed again with faregate-gtfs; the loader checks time zones.")));
	return tz;
}

#define NEW_ARRAY(cxt, type, n) ((type *) MemoryContextAllocZero((cxt), sizeof(type) * Max((n), 1)))

/* gtfs_load_stops: stops, their areas (own and parent stations') and time zones. */
static void
gtfs_load_stops(GtfsTariff *t, const char *feed_id)
{
	uint64		n = gtfs_query("SELECT stop_id, parent_station, zone_id, stop_timezone FROM faregate.gtfs_stops "
							   "WHERE feed_id = $1", feed_id);
	uint64		i;
	int		   *nareas;
	int			s;

	for (i = 0; i < n; i++)
		gtfs_names_add(&t->stops, t->cxt, gtfs_val(i, 1));
	t->stop = NEW_ARRAY(t->cxt, GtfsStop, t->stops.n);
	for (i = 0; i < n; i++)
	{
		GtfsStop   *stop = &t->stop[gtfs_names_find(&t->stops, gtfs_val(i, 1))];
		char	   *tz = gtfs_val(i, 4);

		stop->parent = gtfs_names_find(&t->stops, gtfs_val(i, 2));
		stop->zone = gtfs_names_add(&t->zones, t->cxt, gtfs_val(i, 3));
		stop->tz = tz ? gtfs_tz(tz) : NULL;
	}
	/* a platform without its own stop_timezone takes its station's */
	for (s = 0; s < t->stops.n; s++)
		if (t->stop[s].tz == NULL && t->stop[s].parent != GTFS_NONE)
			t->stop[s].tz = t->stop[t->stop[s].parent].tz;

	n = gtfs_query("SELECT area_id FROM faregate.gtfs_areas WHERE feed_id = $1 ORDER BY area_id", feed_id);
	for (i = 0; i < n; i++)
		gtfs_names_add(&t->areas, t->cxt, gtfs_val(i, 1));
	n = gtfs_query("SELECT area_id, stop_id FROM faregate.gtfs_stop_areas WHERE feed_id = $1", feed_id);
	nareas = palloc0(sizeof(int) * Max(t->stops.n, 1));
	for (i = 0; i < n; i++)
		nareas[gtfs_names_find(&t->stops, gtfs_val(i, 2))]++;
	for (s = 0; s < t->stops.n; s++)
		t->stop[s].areas = NEW_ARRAY(t->cxt, int, nareas[s]);
	for (i = 0; i < n; i++)
	{
		GtfsStop   *stop = &t->stop[gtfs_names_find(&t->stops, gtfs_val(i, 2))];

		stop->areas[stop->nareas++] = gtfs_names_find(&t->areas, gtfs_val(i, 1));
	}
	pfree(nareas);
}

/* gtfs_load_calendar: services from calendar.txt and calendar_dates.txt, and timeframes by group. */
static void
gtfs_load_calendar(GtfsTariff *t, const char *feed_id)
{
	uint64		n,
				i;
	int			g;

	n = gtfs_query("SELECT service_id FROM faregate.gtfs_calendar WHERE feed_id = $1 UNION "
				   "SELECT service_id FROM faregate.gtfs_calendar_dates WHERE feed_id = $1", feed_id);
	for (i = 0; i < n; i++)
		gtfs_names_add(&t->services, t->cxt, gtfs_val(i, 1));
	t->service = NEW_ARRAY(t->cxt, GtfsService, t->services.n);
	n = gtfs_query("SELECT service_id, (SELECT coalesce(sum(1 << d), 0)::int FROM generate_subscripts(days, 1) d WHERE days[d]), "
				   "start_date - date '2000-01-01', end_date - date '2000-01-01' "
				   "FROM faregate.gtfs_calendar WHERE feed_id = $1", feed_id);
	for (i = 0; i < n; i++)
	{
		GtfsService *sv = &t->service[gtfs_names_find(&t->services, gtfs_val(i, 1))];

		sv->has_calendar = true;
		sv->days = (uint8) gtfs_val_int(i, 2, 0);
		sv->start_date = gtfs_val_int(i, 3, 0);
		sv->end_date = gtfs_val_int(i, 4, 0);
	}
	n = gtfs_query("SELECT service_id, date - date '2000-01-01', exception_type, "
				   "count(*) OVER (PARTITION BY service_id) FROM faregate.gtfs_calendar_dates "
				   "WHERE feed_id = $1 ORDER BY service_id, date", feed_id);
	for (i = 0; i < n; i++)
	{
		GtfsService *sv = &t->service[gtfs_names_find(&t->services, gtfs_val(i, 1))];

		if (sv->dates == NULL)
		{
			sv->dates = NEW_ARRAY(t->cxt, DateADT, gtfs_val_int(i, 4, 1));
			sv->exception = NEW_ARRAY(t->cxt, int8, gtfs_val_int(i, 4, 1));
		}
		sv->dates[sv->ndates] = gtfs_val_int(i, 2, 0);
		sv->exception[sv->ndates++] = (int8) gtfs_val_int(i, 3, 0);
	}

	n = gtfs_query("SELECT timeframe_group_id, coalesce(extract(epoch FROM start_time)::int, 0), "
				   "coalesce(extract(epoch FROM end_time)::int, 86400), service_id "
				   "FROM faregate.gtfs_timeframes WHERE feed_id = $1 ORDER BY timeframe_group_id", feed_id);
	t->timeframe = NEW_ARRAY(t->cxt, GtfsTimeframe, n);
	for (i = 0; i < n; i++)
	{
		gtfs_names_add(&t->timeframe_groups, t->cxt, gtfs_val(i, 1));
		t->timeframe[i].start_s = gtfs_val_int(i, 2, 0);
		t->timeframe[i].end_s = gtfs_val_int(i, 3, 86400);
		t->timeframe[i].service = gtfs_names_find(&t->services, gtfs_val(i, 4));
	}
	/* rows come sorted by group and groups are interned in that order: group g starts at its first row */
	t->tf_first = NEW_ARRAY(t->cxt, int, t->timeframe_groups.n + 1);
	for (g = 0, i = 0; i < n; i++)
		if (gtfs_names_find(&t->timeframe_groups, gtfs_val(i, 1)) == g)
			t->tf_first[g++] = (int) i;
	t->tf_first[t->timeframe_groups.n] = (int) n;
}

/* gtfs_load_products: rider categories, fare media and fare products (rows grouped by product). */
static void
gtfs_load_products(GtfsTariff *t, const char *feed_id)
{
	uint64		n,
				i;
	int			p;

	t->default_category = GTFS_NONE;
	n = gtfs_query("SELECT rider_category_id, is_default_fare_category FROM faregate.gtfs_rider_categories "
				   "WHERE feed_id = $1", feed_id);
	for (i = 0; i < n; i++)
	{
		int			c = gtfs_names_add(&t->categories, t->cxt, gtfs_val(i, 1));

		if (strcmp(gtfs_val(i, 2), "t") == 0)
			t->default_category = c;
	}
	n = gtfs_query("SELECT fare_media_id FROM faregate.gtfs_fare_media WHERE feed_id = $1", feed_id);
	for (i = 0; i < n; i++)
		gtfs_names_add(&t->media, t->cxt, gtfs_val(i, 1));
	n = gtfs_query("SELECT p.fare_product_id, p.rider_category_id, p.fare_media_id, "
				   "(p.amount * 10000)::bigint, p.currency, c.decimals "
				   "FROM faregate.gtfs_fare_products p JOIN faregate.gtfs_currencies c USING (currency) "
				   "WHERE p.feed_id = $1 ORDER BY p.fare_product_id", feed_id);
	t->product_row = NEW_ARRAY(t->cxt, GtfsProductRow, n);
	for (i = 0; i < n; i++)
	{
		GtfsProductRow *row = &t->product_row[i];

		gtfs_names_add(&t->products, t->cxt, gtfs_val(i, 1));
		row->category = gtfs_names_find(&t->categories, gtfs_val(i, 2));
		row->media = gtfs_names_find(&t->media, gtfs_val(i, 3));
		row->amount = gtfs_val_int64(i, 4);
		row->currency = gtfs_names_add(&t->currencies, t->cxt, gtfs_val(i, 5));
		row->decimals = gtfs_val_int(i, 6, 2);
	}
	t->pr_first = NEW_ARRAY(t->cxt, int, t->products.n + 1);
	for (p = 0, i = 0; i < n; i++)
		if (gtfs_names_find(&t->products, gtfs_val(i, 1)) == p)
			t->pr_first[p++] = (int) i;
	t->pr_first[t->products.n] = (int) n;
}

/* gtfs_load_networks: networks (networks.txt and routes.network_id) and routes. */
static void
gtfs_load_networks(GtfsTariff *t, const char *feed_id)
{
	uint64		n,
				i;

	n = gtfs_query("SELECT agency_id FROM faregate.gtfs_agencies WHERE feed_id = $1", feed_id);
	for (i = 0; i < n; i++)
		gtfs_names_add(&t->agencies, t->cxt, gtfs_val(i, 1));
	n = gtfs_query("SELECT network_id FROM faregate.gtfs_networks WHERE feed_id = $1 UNION "
				   "SELECT network_id FROM faregate.gtfs_routes WHERE feed_id = $1 AND network_id IS NOT NULL",
				   feed_id);
	for (i = 0; i < n; i++)
		gtfs_names_add(&t->networks, t->cxt, gtfs_val(i, 1));
	n = gtfs_query("SELECT route_id, network_id, coalesce(agency_id, '') FROM faregate.gtfs_routes WHERE feed_id = $1",
				   feed_id);
	t->route_network = NEW_ARRAY(t->cxt, int, n);
	t->route_agency = NEW_ARRAY(t->cxt, int, n);
	for (i = 0; i < n; i++)
	{
		int			r = gtfs_names_add(&t->routes, t->cxt, gtfs_val(i, 1));

		t->route_network[r] = gtfs_names_find(&t->networks, gtfs_val(i, 2));
		t->route_agency[r] = gtfs_names_find(&t->agencies, gtfs_val(i, 3));
	}
}

/* gtfs_load_rules: fare_leg_rules, fare_transfer_rules and fare_leg_join_rules. */
static void
gtfs_load_rules(GtfsTariff *t, const char *feed_id)
{
	uint64		n,
				i;

	n = gtfs_query("SELECT leg_group_id, network_id, from_area_id, to_area_id, from_timeframe_group_id, "
				   "to_timeframe_group_id, fare_product_id, rule_priority FROM faregate.gtfs_fare_leg_rules "
				   "WHERE feed_id = $1 ORDER BY ctid", feed_id);
	t->nleg_rules = (int) n;
	t->leg_rule = NEW_ARRAY(t->cxt, GtfsLegRule, n);
	t->network_listed = NEW_ARRAY(t->cxt, bool, t->networks.n);
	t->from_area_listed = NEW_ARRAY(t->cxt, bool, t->areas.n);
	t->to_area_listed = NEW_ARRAY(t->cxt, bool, t->areas.n);
	for (i = 0; i < n; i++)
	{
		GtfsLegRule *r = &t->leg_rule[i];

		r->leg_group = gtfs_names_add(&t->leg_groups, t->cxt, gtfs_val(i, 1));
		r->network = gtfs_names_find(&t->networks, gtfs_val(i, 2));
		r->from_area = gtfs_names_find(&t->areas, gtfs_val(i, 3));
		r->to_area = gtfs_names_find(&t->areas, gtfs_val(i, 4));
		r->from_timeframe = gtfs_names_find(&t->timeframe_groups, gtfs_val(i, 5));
		r->to_timeframe = gtfs_names_find(&t->timeframe_groups, gtfs_val(i, 6));
		r->product = gtfs_names_find(&t->products, gtfs_val(i, 7));
		r->priority = gtfs_val_int(i, 8, 0);
		if (r->network != GTFS_NONE)
			t->network_listed[r->network] = true;
		if (r->from_area != GTFS_NONE)
			t->from_area_listed[r->from_area] = true;
		if (r->to_area != GTFS_NONE)
			t->to_area_listed[r->to_area] = true;
	}

	/* the from_area index: a leg need only look at the rules of its departure stop's areas, and the empty */
	t->fa_first = NEW_ARRAY(t->cxt, int, t->areas.n + 2);
	t->fa_rule = NEW_ARRAY(t->cxt, int, t->nleg_rules);
	for (i = 0; i < (uint64) t->nleg_rules; i++)
	{
		int			a = t->leg_rule[i].from_area;

		t->fa_first[(a == GTFS_NONE ? t->areas.n : a) + 1]++;
	}
	for (i = 1; i < (uint64) t->areas.n + 2; i++)
		t->fa_first[i] += t->fa_first[i - 1];
	{
		int		   *fill = palloc(sizeof(int) * (t->areas.n + 1));

		memcpy(fill, t->fa_first, sizeof(int) * (t->areas.n + 1));
		for (i = 0; i < (uint64) t->nleg_rules; i++)
		{
			int			a = t->leg_rule[i].from_area;

			t->fa_rule[fill[a == GTFS_NONE ? t->areas.n : a]++] = (int) i;
		}
		pfree(fill);
	}

	n = gtfs_query("SELECT from_leg_group_id, to_leg_group_id, transfer_count, duration_limit, "
				   "duration_limit_type, fare_transfer_type, fare_product_id "
				   "FROM faregate.gtfs_fare_transfer_rules WHERE feed_id = $1 ORDER BY ctid", feed_id);
	t->ntransfer_rules = (int) n;
	t->transfer_rule = NEW_ARRAY(t->cxt, GtfsTransferRule, n);
	t->from_group_listed = NEW_ARRAY(t->cxt, bool, t->leg_groups.n);
	t->to_group_listed = NEW_ARRAY(t->cxt, bool, t->leg_groups.n);
	for (i = 0; i < n; i++)
	{
		GtfsTransferRule *r = &t->transfer_rule[i];

		r->from_group = gtfs_names_find(&t->leg_groups, gtfs_val(i, 1));
		r->to_group = gtfs_names_find(&t->leg_groups, gtfs_val(i, 2));
		r->transfer_count = gtfs_val_int(i, 3, 0);
		r->duration_limit = gtfs_val_int(i, 4, -1);
		r->duration_type = gtfs_val_int(i, 5, 0);
		r->transfer_type = gtfs_val_int(i, 6, 0);
		r->product = gtfs_names_find(&t->products, gtfs_val(i, 7));
		if (r->from_group != GTFS_NONE)
			t->from_group_listed[r->from_group] = true;
		if (r->to_group != GTFS_NONE)
			t->to_group_listed[r->to_group] = true;
	}

	n = gtfs_query("SELECT from_network_id, to_network_id, from_stop_id, to_stop_id "
				   "FROM faregate.gtfs_fare_leg_join_rules WHERE feed_id = $1", feed_id);
	t->njoin_rules = (int) n;
	t->join_rule = NEW_ARRAY(t->cxt, GtfsJoinRule, n);
	for (i = 0; i < n; i++)
	{
		t->join_rule[i].from_network = gtfs_names_find(&t->networks, gtfs_val(i, 1));
		t->join_rule[i].to_network = gtfs_names_find(&t->networks, gtfs_val(i, 2));
		t->join_rule[i].from_stop = gtfs_names_find(&t->stops, gtfs_val(i, 3));
		t->join_rule[i].to_stop = gtfs_names_find(&t->stops, gtfs_val(i, 4));
	}
}

/* gtfs_load_v1: fare_attributes and their fare_rules (Fares v1). */
static void
gtfs_load_v1(GtfsTariff *t, const char *feed_id)
{
	uint64		n,
				i;

	n = gtfs_query("SELECT a.fare_id, (a.price * 10000)::bigint, a.currency_type, c.decimals, a.transfers, "
				   "coalesce(a.agency_id, ''), a.transfer_duration, "
				   "(SELECT count(*) FROM faregate.gtfs_fare_rules r WHERE r.feed_id = a.feed_id AND r.fare_id = a.fare_id) "
				   "FROM faregate.gtfs_fare_attributes a JOIN faregate.gtfs_currencies c ON c.currency = a.currency_type "
				   "WHERE a.feed_id = $1 ORDER BY a.fare_id", feed_id);
	t->nfares = (int) n;
	t->fare = NEW_ARRAY(t->cxt, GtfsFareV1, n);
	for (i = 0; i < n; i++)
	{
		GtfsFareV1 *f = &t->fare[gtfs_names_add(&t->fares, t->cxt, gtfs_val(i, 1))];

		f->price = gtfs_val_int64(i, 2);
		f->currency = gtfs_names_add(&t->currencies, t->cxt, gtfs_val(i, 3));
		f->decimals = gtfs_val_int(i, 4, 2);
		f->transfers = gtfs_val_int(i, 5, -1);
		f->agency = gtfs_val(i, 6)[0] ? gtfs_names_find(&t->agencies, gtfs_val(i, 6)) : GTFS_NONE;
		f->transfer_duration = gtfs_val_int(i, 7, -1);
		f->first_rule = i > 0 ? t->fare[i - 1].first_rule + t->fare[i - 1].nrules : 0;
		f->nrules = gtfs_val_int(i, 8, 0);
	}
	n = gtfs_query("SELECT r.fare_id, r.route_id, r.origin_id, r.destination_id, r.contains_id "
				   "FROM faregate.gtfs_fare_rules r JOIN faregate.gtfs_fare_attributes a USING (feed_id, fare_id) "
				   "WHERE r.feed_id = $1 ORDER BY r.fare_id", feed_id);
	t->fare_rule = NEW_ARRAY(t->cxt, GtfsFareRuleV1, n);
	for (i = 0; i < n; i++)
	{
		GtfsFareRuleV1 *r = &t->fare_rule[i];

		r->route = gtfs_names_find(&t->routes, gtfs_val(i, 2));
		r->origin = gtfs_names_add(&t->zones, t->cxt, gtfs_val(i, 3));
		r->destination = gtfs_names_add(&t->zones, t->cxt, gtfs_val(i, 4));
		r->contains = gtfs_names_add(&t->zones, t->cxt, gtfs_val(i, 5));
	}
}

/* gtfs_tariff_build: compiles feed_id's rows; FG102 when there is no such feed. Caller holds SPI. */
static GtfsTariff *
gtfs_tariff_build(MemoryContext cxt, const char *feed_id, int64 generation)
{
	GtfsTariff *t = MemoryContextAllocZero(cxt, sizeof(GtfsTariff));

	t->cxt = cxt;
	t->feed_id = MemoryContextStrdup(cxt, feed_id);
	t->generation = generation;
	if (gtfs_query("SELECT timezone, has_rule_priority FROM faregate.gtfs_feeds WHERE feed_id = $1", feed_id) == 0)
		ereport(ERROR, (errcode(GTFS_ERRCODE_UNKNOWN_FEED),
						errmsg("unknown GTFS feed \"%s\"", feed_id),
						errhint("SELECT feed_id FROM faregate.gtfs_feeds lists the loaded feeds; load one with faregate-gtfs load.")));
	t->tz_name = MemoryContextStrdup(cxt, gtfs_val(0, 1));
	t->has_priority = strcmp(gtfs_val(0, 2), "t") == 0;
	t->tz = gtfs_tz(t->tz_name);
	gtfs_load_networks(t, feed_id);
	gtfs_load_stops(t, feed_id);
	gtfs_load_calendar(t, feed_id);
	gtfs_load_products(t, feed_id);
	gtfs_load_rules(t, feed_id);
	gtfs_load_v1(t, feed_id);
	return t;
}

/*
 * gtfs_tariff_get: the compiled tariff of feed_id as the caller's query sees the tables (see the file
 * header). FG102 when the feed is not loaded.
 */
GtfsTariff *
gtfs_tariff_get(FunctionCallInfo fcinfo, const char *feed_id)
{
	GtfsCallCache *cc = (GtfsCallCache *) fcinfo->flinfo->fn_extra;
	GtfsTariff *t;
	MemoryContext cxt;
	int			i,
				slot = -1;

	if (cc == NULL)
	{
		cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(GtfsCallCache));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "faregate: SPI_connect failed");
		if (SPI_execute("SELECT generation FROM faregate.gtfs_generation", true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "faregate: faregate.gtfs_generation has no row");
		cc->generation = gtfs_val_int64(0, 1);
		SPI_finish();
		fcinfo->flinfo->fn_extra = cc;
	}
	for (i = 0; i < GTFS_CACHE_FEEDS; i++)
	{
		t = gtfs_cache[i];
		if (t != NULL && strcmp(t->feed_id, feed_id) == 0)
		{
			if (t->generation == cc->generation)
				return t;
			MemoryContextDelete(t->cxt);
			gtfs_cache[i] = NULL;
		}
		if (gtfs_cache[i] == NULL && slot < 0)
			slot = i;
	}
	if (slot < 0)
	{
		/* full: drop the last slot's feed (a workload pricing more than 8 feeds rebuilds more often) */
		slot = GTFS_CACHE_FEEDS - 1;
		MemoryContextDelete(gtfs_cache[slot]->cxt);
		gtfs_cache[slot] = NULL;
	}
	/* the context hangs under the caller's until complete: SPI_finish would free one made under SPI's */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "faregate gtfs tariff", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "faregate: SPI_connect failed");
	t = gtfs_tariff_build(cxt, feed_id, cc->generation);
	SPI_finish();
	MemoryContextSetParent(t->cxt, CacheMemoryContext);
	gtfs_cache[slot] = t;
	return t;
}

/* gtfs_service_active: whether service runs on date (calendar.txt, then calendar_dates.txt exceptions). */
bool
gtfs_service_active(const GtfsTariff *tariff, int service, DateADT date)
{
	const GtfsService *sv = &tariff->service[service];
	int			lo = 0,
				hi = sv->ndates - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (sv->dates[mid] == date)
			return sv->exception[mid] == 1;
		if (sv->dates[mid] < date)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	if (sv->has_calendar && date >= sv->start_date && date <= sv->end_date)
	{
		int			isodow = j2day(date + POSTGRES_EPOCH_JDATE);	/* 0 = Sunday */

		return (sv->days & (1 << (isodow == 0 ? 7 : isodow))) != 0;
	}
	return false;
}

/* gtfs_timeframe_group_matches: some timeframe of group contains secs on local date date. */
bool
gtfs_timeframe_group_matches(const GtfsTariff *tariff, int group, DateADT date, int secs)
{
	int			i;

	for (i = tariff->tf_first[group]; i < tariff->tf_first[group + 1]; i++)
	{
		const GtfsTimeframe *tf = &tariff->timeframe[i];

		if (secs >= tf->start_s && secs < tf->end_s && gtfs_service_active(tariff, tf->service, date))
			return true;
	}
	return false;
}

/* gtfs_stop_in_area: stop, or a station it belongs to, is in area (stop_areas.txt). */
bool
gtfs_stop_in_area(const GtfsTariff *tariff, int stop, int area)
{
	int			depth;

	for (depth = 0; stop != GTFS_NONE && depth < 3; depth++, stop = tariff->stop[stop].parent)
	{
		const GtfsStop *s = &tariff->stop[stop];
		int			i;

		for (i = 0; i < s->nareas; i++)
			if (s->areas[i] == area)
				return true;
	}
	return false;
}

/* gtfs_stop_in_listed_area: stop (or its station) is in some area marked in listed. */
bool
gtfs_stop_in_listed_area(const GtfsTariff *tariff, int stop, const bool *listed)
{
	int			depth;

	for (depth = 0; stop != GTFS_NONE && depth < 3; depth++, stop = tariff->stop[stop].parent)
	{
		const GtfsStop *s = &tariff->stop[stop];
		int			i;

		for (i = 0; i < s->nareas; i++)
			if (listed[s->areas[i]])
				return true;
	}
	return false;
}
