/*
 * gtfs_price.c
 *	  Owns GTFS journey pricing: faregate.gtfs_price_journey (the cheapest option, per leg and per
 *	  currency), faregate.gtfs_journey_options (every option the feed allows) and faregate.gtfs_journey_fare
 *	  (the cheapest total), by the Fares v2 rules of the GTFS reference, or by Fares v1 for a feed with
 *	  fare_attributes.txt and no fare_leg_rules.txt. The matching rules and the choices this file makes
 *	  where the reference leaves one are in docs/gtfs.md; each step below names the rule it implements.
 *
 * A journey is priced in three steps: (1) legs -> effective fare legs (fare_leg_join_rules.txt);
 * (2) each effective leg -> its options: the matching fare_leg_rules (network, areas, timeframes, the two
 * meanings of an empty field, rule_priority) x the product rows the rider may buy (rider category, fare
 * media); (3) every combination of options -> its cost after fare_transfer_rules.txt (leg groups,
 * transfer_count, duration_limit, fare_transfer_type), cheapest first. Nothing here keeps state between
 * calls; the compiled tariff is gtfs_tariff.c's.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "gtfs_tariff.h"

PG_FUNCTION_INFO_V1(gtfs_price_journey);
PG_FUNCTION_INFO_V1(gtfs_journey_options);
PG_FUNCTION_INFO_V1(gtfs_journey_fare);

#define GTFS_MAX_LEGS 1000
#define GTFS_MAX_OPTIONS 4096
#define GTFS_MIXED_NETWORK (-2)		/* an effective leg whose legs ride different networks */

typedef struct GtfsLeg
{
	int			from_stop;
	int			to_stop;
	int			route;
	int			network;
	TimestampTz departure;
	TimestampTz arrival;
	DateADT		dep_date;		/* local date and seconds after local midnight of each end */
	int			dep_secs;
	DateADT		arr_date;
	int			arr_secs;
} GtfsLeg;

typedef struct GtfsEffLeg
{
	int			first;			/* legs first .. last form one effective fare leg */
	int			last;
	int			network;
	int			opt_first;		/* options opt[opt_first .. opt_first + nopts - 1] */
	int			nopts;
} GtfsEffLeg;

typedef struct GtfsOption
{
	int			rule;			/* v2: fare_leg_rules index; v1: fare index */
	int			product;		/* v2: product id; v1: fare id */
	int			leg_group;
	int			row;			/* v2: product row, for the media of a transfer */
	int64		amount;
	int			currency;
	int			decimals;
} GtfsOption;

typedef struct GtfsOutRow
{
	int			leg_no;			/* 1-based; 0 for a total */
	const char *kind;
	const char *product;
	const char *leg_group;
	int64		amount;
	int			currency;
	int			decimals;
	char	   *detail;
} GtfsOutRow;

typedef struct GtfsPricing
{
	const GtfsTariff *t;
	bool		v1;
	int			category;
	int			media;
	int			nlegs;
	GtfsLeg    *leg;
	int			neff;
	GtfsEffLeg *eff;
	GtfsOption *opt;
} GtfsPricing;

/* One priced combination: its rows (legs, transfers, then totals) and its sort key. */
typedef struct GtfsPriced
{
	int			nrows;
	GtfsOutRow *rows;
	int			ncurrencies;
	int64		sum;
	int			combo;
} GtfsPriced;

static const char *
gtfs_name(const GtfsNames *names, int id)
{
	return id == GTFS_NONE ? NULL : names->names[id];
}

/* gtfs_local: the local date and time of day of ts at stop (its stop_timezone, else the agency's). */
static void
gtfs_local(const GtfsTariff *t, int stop, TimestampTz ts, int leg_no, DateADT *date, int *secs)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	pg_tz	   *tz = t->stop[stop].tz ? t->stop[stop].tz : t->tz;

	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("leg %d has a time out of range", leg_no),
						errhint("Give departure and arrival as finite timestamps with time zone.")));
	*date = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
	*secs = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static char *
gtfs_leg_text(HeapTupleHeader tuple, int attno, int leg_no, const char *field)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(tuple, attno, &isnull);

	if (isnull)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("leg %d has a null %s", leg_no, field),
						errhint("Every leg needs from_stop_id, to_stop_id, route_id, departure and arrival.")));
	return attno <= 3 ? TextDatumGetCString(d) : NULL;
}

static int
gtfs_lookup(const GtfsNames *names, const char *id, int leg_no, const char *what, const char *feed)
{
	int			found = gtfs_names_find(names, id);

	if (found == GTFS_NONE)
		ereport(ERROR, (errcode(GTFS_ERRCODE_UNKNOWN_STOP),
						errmsg("leg %d: unknown %s \"%s\" in GTFS feed \"%s\"", leg_no, what, id, feed),
						errhint("Use the ids of the feed's stops.txt and routes.txt.")));
	return found;
}

/* gtfs_read_legs: the legs array into p->leg, checked (FG104: empty, null, out of time order). */
static void
gtfs_read_legs(GtfsPricing *p, ArrayType *legs, const char *feed)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (ARR_NDIM(legs) > 1)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("the legs of a journey are a one-dimensional array"),
						errhint("Pass ARRAY[row(...), row(...)]::faregate.gtfs_leg[].")));
	get_typlenbyvalalign(ARR_ELEMTYPE(legs), &typlen, &typbyval, &typalign);
	deconstruct_array(legs, ARR_ELEMTYPE(legs), typlen, typbyval, typalign, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("a journey without legs has no fare"),
						errhint("Pass at least one leg.")));
	if (n > GTFS_MAX_LEGS)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("a journey of %d legs is more than the %d this function prices", n, GTFS_MAX_LEGS),
						errhint("Price each rider's journeys separately.")));
	p->nlegs = n;
	p->leg = palloc0(sizeof(GtfsLeg) * n);
	for (i = 0; i < n; i++)
	{
		GtfsLeg    *leg = &p->leg[i];
		HeapTupleHeader tuple;
		bool		isnull;

		if (nulls[i])
			ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
							errmsg("leg %d of the journey is null", i + 1),
							errhint("Remove null elements from the legs array.")));
		tuple = DatumGetHeapTupleHeader(elems[i]);
		leg->from_stop = gtfs_lookup(&p->t->stops, gtfs_leg_text(tuple, 1, i + 1, "from_stop_id"), i + 1, "stop_id", feed);
		leg->to_stop = gtfs_lookup(&p->t->stops, gtfs_leg_text(tuple, 2, i + 1, "to_stop_id"), i + 1, "stop_id", feed);
		leg->route = gtfs_lookup(&p->t->routes, gtfs_leg_text(tuple, 3, i + 1, "route_id"), i + 1, "route_id", feed);
		leg->network = p->t->route_network[leg->route];
		gtfs_leg_text(tuple, 4, i + 1, "departure");
		gtfs_leg_text(tuple, 5, i + 1, "arrival");
		leg->departure = DatumGetTimestampTz(GetAttributeByNum(tuple, 4, &isnull));
		leg->arrival = DatumGetTimestampTz(GetAttributeByNum(tuple, 5, &isnull));
		gtfs_local(p->t, leg->from_stop, leg->departure, i + 1, &leg->dep_date, &leg->dep_secs);
		gtfs_local(p->t, leg->to_stop, leg->arrival, i + 1, &leg->arr_date, &leg->arr_secs);
		if (leg->arrival < leg->departure)
			ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
							errmsg("leg %d arrives before it departs", i + 1),
							errhint("Check the leg's departure and arrival.")));
		if (i > 0 && leg->departure < p->leg[i - 1].departure)
			ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
							errmsg("leg %d departs before leg %d", i + 1, i),
							errhint("Give the legs in the order they are ridden.")));
	}
}

/* gtfs_stop_is: stop is target or a stop of station target (fare_leg_join_rules stop predicates). */
static bool
gtfs_stop_is(const GtfsTariff *t, int stop, int target)
{
	return stop == target || t->stop[stop].parent == target;
}

/* gtfs_legs_join: some fare_leg_join_rules row matches the transfer from leg a to leg b. */
static bool
gtfs_legs_join(const GtfsTariff *t, const GtfsLeg *a, const GtfsLeg *b)
{
	int			i;

	if (a->network == GTFS_NONE || b->network == GTFS_NONE)
		return false;
	for (i = 0; i < t->njoin_rules; i++)
	{
		const GtfsJoinRule *j = &t->join_rule[i];

		if (j->from_network == a->network && j->to_network == b->network &&
			(j->from_stop == GTFS_NONE || gtfs_stop_is(t, a->to_stop, j->from_stop)) &&
			(j->to_stop == GTFS_NONE || gtfs_stop_is(t, b->from_stop, j->to_stop)))
			return true;
	}
	return false;
}

/* gtfs_effective_legs: consecutive legs that join become one effective fare leg (v2 only). */
static void
gtfs_effective_legs(GtfsPricing *p)
{
	int			i;

	p->eff = palloc0(sizeof(GtfsEffLeg) * p->nlegs);
	p->neff = 0;
	for (i = 0; i < p->nlegs; i++)
	{
		if (!p->v1 && p->neff > 0 && gtfs_legs_join(p->t, &p->leg[i - 1], &p->leg[i]))
		{
			GtfsEffLeg *e = &p->eff[p->neff - 1];

			e->last = i;
			if (e->network != p->leg[i].network)
				e->network = GTFS_MIXED_NETWORK;
			continue;
		}
		p->eff[p->neff].first = p->eff[p->neff].last = i;
		p->eff[p->neff].network = p->leg[i].network;
		p->neff++;
	}
}

/*
 * gtfs_product_rows: the rows of product a rider of p->category with p->media may buy, into out.
 * A row for the rider's own category wins over rows without a category (which any rider may buy), and
 * likewise a row for the asked fare media over rows without media; without an asked media every media
 * is an option.
 */
static int
gtfs_product_rows(const GtfsPricing *p, int product, int *out)
{
	const GtfsTariff *t = p->t;
	bool		exact_category = false,
				exact_media = false;
	int			r,
				n = 0;

	for (r = t->pr_first[product]; r < t->pr_first[product + 1]; r++)
	{
		if (p->category != GTFS_NONE && t->product_row[r].category == p->category)
			exact_category = true;
		if (p->media != GTFS_NONE && t->product_row[r].media == p->media &&
			(t->product_row[r].category == p->category || t->product_row[r].category == GTFS_NONE))
			exact_media = true;
	}
	for (r = t->pr_first[product]; r < t->pr_first[product + 1]; r++)
	{
		const GtfsProductRow *row = &t->product_row[r];

		if (row->category != (exact_category ? p->category : GTFS_NONE))
			continue;
		if (p->media != GTFS_NONE && row->media != (exact_media ? p->media : GTFS_NONE))
			continue;
		out[n++] = r;
	}
	return n;
}

/* gtfs_leg_rule_matches: fare_leg_rules row r matches effective leg e (one predicate per field). */
static bool
gtfs_leg_rule_matches(const GtfsPricing *p, const GtfsLegRule *r, const GtfsEffLeg *e)
{
	const GtfsTariff *t = p->t;
	const GtfsLeg *first = &p->leg[e->first];
	const GtfsLeg *last = &p->leg[e->last];

	/*
	 * An empty network_id/from_area_id/to_area_id: with rule_priority in the file, the field does not
	 * affect matching; without it, it matches only what no rule of the file names in that field.
	 */
	if (r->network != GTFS_NONE ? e->network != r->network
		: !t->has_priority && e->network >= 0 && t->network_listed[e->network])
		return false;
	if (r->from_area != GTFS_NONE ? !gtfs_stop_in_area(t, first->from_stop, r->from_area)
		: !t->has_priority && gtfs_stop_in_listed_area(t, first->from_stop, t->from_area_listed))
		return false;
	if (r->to_area != GTFS_NONE ? !gtfs_stop_in_area(t, last->to_stop, r->to_area)
		: !t->has_priority && gtfs_stop_in_listed_area(t, last->to_stop, t->to_area_listed))
		return false;
	/* timeframes: the local date and time of the departure of the first leg, the arrival of the last */
	if (r->from_timeframe != GTFS_NONE &&
		!gtfs_timeframe_group_matches(t, r->from_timeframe, first->dep_date, first->dep_secs))
		return false;
	if (r->to_timeframe != GTFS_NONE &&
		!gtfs_timeframe_group_matches(t, r->to_timeframe, last->arr_date, last->arr_secs))
		return false;
	return true;
}

/* gtfs_v1_fare_matches: Fares v1 fare f applies to leg (route, origin, destination, contains zones). */
static bool
gtfs_v1_fare_matches(const GtfsTariff *t, const GtfsFareV1 *f, const GtfsLeg *leg)
{
	int			origin = t->stop[leg->from_stop].zone;
	int			destination = t->stop[leg->to_stop].zone;
	bool		has_contains = false,
				contains_ok = true,
				saw_origin = false,
				saw_destination = false;
	int			i;

	if (f->agency != GTFS_NONE && t->route_agency[leg->route] != f->agency)
		return false;
	if (f->nrules == 0)
		return true;
	for (i = f->first_rule; i < f->first_rule + f->nrules; i++)
	{
		const GtfsFareRuleV1 *r = &t->fare_rule[i];

		if (r->route != GTFS_NONE && r->route != leg->route)
			continue;
		if (r->contains == GTFS_NONE)
		{
			if ((r->origin == GTFS_NONE || r->origin == origin) &&
				(r->destination == GTFS_NONE || r->destination == destination))
				return true;
			continue;
		}
		/* the contains_id rows of a fare name exactly the zones the leg touches: {origin, destination} */
		has_contains = true;
		if (r->contains == origin)
			saw_origin = true;
		else if (r->contains == destination)
			saw_destination = true;
		else
			contains_ok = false;
	}
	return has_contains && contains_ok && saw_origin && origin != GTFS_NONE &&
		(saw_destination || destination == origin);
}

static int
gtfs_int_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return (x > y) - (x < y);
}

/*
 * gtfs_candidate_rules: the fare_leg_rules a leg departing from stop can match, in file order, into cand:
 * those of the stop's areas (and its stations') and those with an empty from_area_id.
 */
static int
gtfs_candidate_rules(const GtfsPricing *p, int stop, int *cand)
{
	const GtfsTariff *t = p->t;
	int			n = 0,
				depth,
				i,
				k,
				u;

	for (i = t->fa_first[t->areas.n]; i < t->fa_first[t->areas.n + 1]; i++)
		cand[n++] = t->fa_rule[i];
	for (depth = 0; stop != GTFS_NONE && depth < 3; depth++, stop = t->stop[stop].parent)
		for (k = 0; k < t->stop[stop].nareas; k++)
		{
			int			a = t->stop[stop].areas[k];

			for (i = t->fa_first[a]; i < t->fa_first[a + 1]; i++)
				cand[n++] = t->fa_rule[i];
		}
	qsort(cand, n, sizeof(int), gtfs_int_cmp);
	for (i = 0, u = 0; i < n; i++)	/* a station and its platform may share an area */
		if (u == 0 || cand[u - 1] != cand[i])
			cand[u++] = cand[i];
	return u;
}

/* gtfs_leg_options: every (rule, product row) option of every effective leg; FG103 for a leg with none. */
static void
gtfs_leg_options(GtfsPricing *p, const char *feed)
{
	const GtfsTariff *t = p->t;
	int			cap = 16,
				nopt = 0,
				e;
	int		   *rows = palloc(sizeof(int) * Max(t->pr_first[t->products.n], 1));
	/* a rule is a candidate at most once per level of the stop's station chain (3) */
	int		   *cand = palloc(sizeof(int) * (3 * t->nleg_rules + 1));
	int			ncand,
				c;

	p->opt = palloc(sizeof(GtfsOption) * cap);
	for (e = 0; e < p->neff; e++)
	{
		GtfsEffLeg *eff = &p->eff[e];
		int			best_priority = -1,
					i,
					k;

		eff->opt_first = nopt;
		ncand = p->v1 ? t->nfares : gtfs_candidate_rules(p, p->leg[eff->first].from_stop, cand);
		if (!p->v1 && t->has_priority)
			for (c = 0; c < ncand; c++)
				if (t->leg_rule[cand[c]].priority > best_priority && gtfs_leg_rule_matches(p, &t->leg_rule[cand[c]], eff))
					best_priority = t->leg_rule[cand[c]].priority;
		for (c = 0; c < ncand; c++)
		{
			int			nrows;

			i = p->v1 ? c : cand[c];

			if (p->v1)
			{
				if (!gtfs_v1_fare_matches(t, &t->fare[i], &p->leg[eff->first]))
					continue;
				nrows = 1;
			}
			else
			{
				const GtfsLegRule *r = &t->leg_rule[i];

				if ((t->has_priority && r->priority != best_priority) || !gtfs_leg_rule_matches(p, r, eff))
					continue;
				nrows = gtfs_product_rows(p, r->product, rows);
			}
			for (k = 0; k < nrows; k++)
			{
				GtfsOption *o;

				if (nopt == cap)
					p->opt = repalloc(p->opt, sizeof(GtfsOption) * (cap *= 2));
				o = &p->opt[nopt++];
				o->rule = i;
				if (p->v1)
				{
					o->product = i;
					o->leg_group = GTFS_NONE;
					o->row = GTFS_NONE;
					o->amount = t->fare[i].price;
					o->currency = t->fare[i].currency;
					o->decimals = t->fare[i].decimals;
				}
				else
				{
					const GtfsProductRow *row = &t->product_row[rows[k]];

					o->product = t->leg_rule[i].product;
					o->leg_group = t->leg_rule[i].leg_group;
					o->row = rows[k];
					o->amount = row->amount;
					o->currency = row->currency;
					o->decimals = row->decimals;
				}
			}
		}
		eff->nopts = nopt - eff->opt_first;
		if (eff->nopts == 0)
			ereport(ERROR, (errcode(GTFS_ERRCODE_NO_FARE),
							errmsg("no fare in GTFS feed \"%s\" applies to leg %d (%s -> %s, route %s)%s",
								   feed, eff->first + 1, t->stops.names[p->leg[eff->first].from_stop],
								   t->stops.names[p->leg[eff->last].to_stop], t->routes.names[p->leg[eff->first].route],
								   p->category != GTFS_NONE ? " for this rider category" : ""),
							errhint(p->v1 ? "Add a fare_rules.txt row for the leg's route or zones."
									: "Add a fare_leg_rules.txt row (and a fare product this rider may buy) for the leg's network, areas and time.")));
	}
	pfree(rows);
	pfree(cand);
}

/* gtfs_duration: seconds between the two events duration_limit_type names (current leg a, next b). */
static int64
gtfs_duration(const GtfsPricing *p, const GtfsEffLeg *a, const GtfsEffLeg *b, int type)
{
	TimestampTz from = (type <= 1) ? p->leg[a->first].departure : p->leg[a->last].arrival;
	TimestampTz to = (type == 0 || type == 3) ? p->leg[b->last].arrival : p->leg[b->first].departure;

	return (to - from) / USECS_PER_SEC;
}

/* gtfs_transfer_row: the row of the transfer product a rider buys: the from-leg's media if it has one. */
static int
gtfs_transfer_row(const GtfsPricing *p, int product, const GtfsOption *from)
{
	int		   *rows = palloc(sizeof(int) * (p->t->pr_first[product + 1] - p->t->pr_first[product] + 1));
	int			n = gtfs_product_rows(p, product, rows),
				best = GTFS_NONE,
				i;

	for (i = 0; i < n; i++)
	{
		const GtfsProductRow *row = &p->t->product_row[rows[i]];

		if (best == GTFS_NONE || (from->row != GTFS_NONE && row->media == p->t->product_row[from->row].media) ||
			(row->amount < p->t->product_row[best].amount &&
			 !(from->row != GTFS_NONE && p->t->product_row[best].media == p->t->product_row[from->row].media)))
			best = rows[i];
	}
	pfree(rows);
	return best;
}

/*
 * gtfs_best_transfer: the fare_transfer_rules row that applies to the transfer from effective leg e-1
 * (option a) to e (option b), as the k-th transfer of the sub-journey, or GTFS_NONE; *row is its
 * product row (GTFS_NONE: free). Of several, the reference's rule first (the smallest transfer_count
 * >= k among same-group rules), then the cheapest, then the first in the file.
 */
static int
gtfs_best_transfer(const GtfsPricing *p, int e, const GtfsOption *a, const GtfsOption *b, int k,
				   int *row_out)
{
	const GtfsTariff *t = p->t;
	int			i,
				best = GTFS_NONE,
				best_row = GTFS_NONE,
				min_count = INT_MAX;
	int64		best_inc = 0;

	if (a->leg_group == GTFS_NONE || b->leg_group == GTFS_NONE)
		return GTFS_NONE;
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < t->ntransfer_rules; i++)
		{
			const GtfsTransferRule *r = &t->transfer_rule[i];
			bool		counted = r->from_group != GTFS_NONE && r->from_group == r->to_group;
			int			count = r->transfer_count == -1 ? INT_MAX - 1 : r->transfer_count;
			int			row = GTFS_NONE;
			int64		inc;

			if (r->from_group != GTFS_NONE ? r->from_group != a->leg_group : t->from_group_listed[a->leg_group])
				continue;
			if (r->to_group != GTFS_NONE ? r->to_group != b->leg_group : t->to_group_listed[b->leg_group])
				continue;
			if (counted && k > count)
				continue;
			if (r->duration_limit >= 0 &&
				gtfs_duration(p, &p->eff[e - 1], &p->eff[e], r->duration_type) > r->duration_limit)
				continue;
			if (r->product != GTFS_NONE && (row = gtfs_transfer_row(p, r->product, a)) == GTFS_NONE)
				continue;
			if (pass == 0)
			{
				if (counted && count < min_count)
					min_count = count;
				continue;
			}
			if (counted && count != min_count)
				continue;
			inc = row == GTFS_NONE ? 0 : t->product_row[row].amount;
			if (r->transfer_type == 1)
				inc += b->amount;
			else if (r->transfer_type == 2 && k == 1)
				inc -= a->amount;
			if (best == GTFS_NONE || inc < best_inc)
			{
				best = i;
				best_row = row;
				best_inc = inc;
			}
		}
	*row_out = best_row;
	return best;
}

static GtfsOutRow *
gtfs_add_row(GtfsPriced *pr, int leg_no, const char *kind)
{
	GtfsOutRow *row = &pr->rows[pr->nrows++];

	memset(row, 0, sizeof(*row));
	row->leg_no = leg_no;
	row->kind = kind;
	return row;
}

/* gtfs_v1_covers: the v1 ticket for fare f bought at leg bought, used for `used` transfers, covers leg j. */
static bool
gtfs_v1_covers(const GtfsPricing *p, int f, int bought, int used, int j)
{
	const GtfsFareV1 *fare = &p->t->fare[f];

	if (fare->transfers != -1 && used >= fare->transfers)
		return false;
	return fare->transfer_duration < 0 ||
		(p->leg[j].departure - p->leg[bought].departure) / USECS_PER_SEC <= fare->transfer_duration;
}

/* gtfs_price_combo: the cost of one combination (choice[e] = option of effective leg e), with totals. */
static void
gtfs_price_combo(const GtfsPricing *p, const int *choice, GtfsPriced *pr)
{
	const GtfsTariff *t = p->t;
	int			e,
				transfers = 0,
				prev_row = -1,
				v1_fare = GTFS_NONE,
				v1_bought = 0,
				i;

	pr->rows = palloc(sizeof(GtfsOutRow) * (2 * p->neff + t->currencies.n + 1));
	pr->nrows = 0;
	for (e = 0; e < p->neff; e++)
	{
		const GtfsEffLeg *eff = &p->eff[e];
		const GtfsOption *o = &p->opt[eff->opt_first + choice[e]];
		int			lrow = pr->nrows;
		GtfsOutRow *row = gtfs_add_row(pr, eff->first + 1, "leg");

		row->product = p->v1 ? t->fares.names[o->product] : t->products.names[o->product];
		row->leg_group = gtfs_name(&t->leg_groups, o->leg_group);
		row->amount = o->amount;
		row->currency = o->currency;
		row->decimals = o->decimals;
		if (eff->last > eff->first)
			row->detail = psprintf("legs %d-%d are one effective fare leg (fare_leg_join_rules)", eff->first + 1, eff->last + 1);
		if (p->v1)
		{
			if (v1_fare == o->product && gtfs_v1_covers(p, v1_fare, v1_bought, transfers, eff->first))
			{
				row->amount = 0;
				row->detail = psprintf("transfer %d on the ticket bought at leg %d", ++transfers, v1_bought + 1);
			}
			else
			{
				v1_fare = o->product;
				v1_bought = eff->first;
				transfers = 0;
			}
			continue;
		}
		if (e > 0)
		{
			const GtfsOption *a = &p->opt[p->eff[e - 1].opt_first + choice[e - 1]];
			int			trow;
			int			r = gtfs_best_transfer(p, e, a, o, transfers + 1, &trow);

			if (r == GTFS_NONE)
				transfers = 0;
			else
			{
				const GtfsTransferRule *tr = &t->transfer_rule[r];
				GtfsOutRow *xrow;

				if (tr->transfer_type != 1)
				{
					row->amount = 0;
					row->detail = psprintf("covered by the transfer (fare_transfer_type %d)", tr->transfer_type);
				}
				if (tr->transfer_type == 2 && transfers == 0)
				{
					pr->rows[prev_row].amount = 0;
					pr->rows[prev_row].detail = pstrdup("replaced by the transfer product (fare_transfer_type 2, AB)");
				}
				transfers++;
				xrow = gtfs_add_row(pr, eff->first + 1, "transfer");
				xrow->product = trow == GTFS_NONE ? NULL : t->products.names[tr->product];
				xrow->leg_group = gtfs_name(&t->leg_groups, o->leg_group);
				xrow->amount = trow == GTFS_NONE ? 0 : t->product_row[trow].amount;
				xrow->currency = trow == GTFS_NONE ? a->currency : t->product_row[trow].currency;
				xrow->decimals = trow == GTFS_NONE ? a->decimals : t->product_row[trow].decimals;
				xrow->detail = psprintf("transfer %d of the sub-journey, from leg group %s, fare_transfer_type %d%s",
										transfers, t->leg_groups.names[a->leg_group], tr->transfer_type,
										trow == GTFS_NONE ? ", free" : "");
			}
		}
		prev_row = lrow;
	}
	/* totals, one per currency in order of first use */
	pr->ncurrencies = 0;
	pr->sum = 0;
	for (i = 0, e = pr->nrows; i < e; i++)
	{
		GtfsOutRow *row = &pr->rows[i];
		int			k;

		for (k = e; k < pr->nrows && pr->rows[k].currency != row->currency; k++)
			;
		if (k == pr->nrows)
		{
			GtfsOutRow *total = gtfs_add_row(pr, 0, "total");

			total->currency = row->currency;
			total->decimals = row->decimals;
			pr->ncurrencies++;
		}
		pr->rows[k].amount += row->amount;
		pr->sum += row->amount;
	}
}

static int
gtfs_priced_cmp(const void *a, const void *b)
{
	const GtfsPriced *x = a,
			   *y = b;

	if (x->ncurrencies != y->ncurrencies)
		return x->ncurrencies < y->ncurrencies ? -1 : 1;
	if (x->sum != y->sum)
		return x->sum < y->sum ? -1 : 1;
	return x->combo < y->combo ? -1 : x->combo > y->combo;
}

/*
 * gtfs_price: prices the call's journey; returns every combination of options, cheapest first (fewest
 * currencies, then the smallest sum, then the first combination), *n of them.
 */
static GtfsPriced *
gtfs_price(FunctionCallInfo fcinfo, int *n)
{
	GtfsPricing p;
	char	   *feed;
	int			ncombos = 1,
				c,
				e;
	int		   *choice;
	GtfsPriced *priced;

	memset(&p, 0, sizeof(p));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("feed_id and legs must not be null"),
						errhint("Pass the feed's id (faregate.gtfs_feeds) and an array of faregate.gtfs_leg.")));
	feed = text_to_cstring(PG_GETARG_TEXT_PP(0));
	p.t = gtfs_tariff_get(fcinfo, feed);
	p.v1 = p.t->nleg_rules == 0 && p.t->nfares > 0;
	p.category = p.t->default_category;
	p.media = GTFS_NONE;
	if (!PG_ARGISNULL(2))
	{
		char	   *category = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if ((p.category = gtfs_names_find(&p.t->categories, category)) == GTFS_NONE)
			ereport(ERROR, (errcode(GTFS_ERRCODE_UNKNOWN_RIDER),
							errmsg("unknown rider_category_id \"%s\" in GTFS feed \"%s\"", category, feed),
							errhint("SELECT rider_category_id FROM faregate.gtfs_rider_categories WHERE feed_id = '%s' lists them.", feed)));
	}
	if (!PG_ARGISNULL(3))
	{
		char	   *media = text_to_cstring(PG_GETARG_TEXT_PP(3));

		if ((p.media = gtfs_names_find(&p.t->media, media)) == GTFS_NONE)
			ereport(ERROR, (errcode(GTFS_ERRCODE_UNKNOWN_RIDER),
							errmsg("unknown fare_media_id \"%s\" in GTFS feed \"%s\"", media, feed),
							errhint("SELECT fare_media_id FROM faregate.gtfs_fare_media WHERE feed_id = '%s' lists them.", feed)));
	}
	if (p.t->nleg_rules == 0 && p.t->nfares == 0)
		ereport(ERROR, (errcode(GTFS_ERRCODE_NO_FARE),
						errmsg("GTFS feed \"%s\" has no fares (neither fare_leg_rules.txt nor fare_attributes.txt)", feed),
						errhint("Load a feed with Fares v2 or Fares v1 files.")));
	gtfs_read_legs(&p, PG_GETARG_ARRAYTYPE_P(1), feed);
	gtfs_effective_legs(&p);
	gtfs_leg_options(&p, feed);
	for (e = 0; e < p.neff; e++)
		if ((ncombos *= p.eff[e].nopts) > GTFS_MAX_OPTIONS)
			ereport(ERROR, (errcode(GTFS_ERRCODE_TOO_MANY_OPTIONS),
							errmsg("the journey has more than %d combinations of fare options", GTFS_MAX_OPTIONS),
							errhint("Pass rider_category_id and fare_media_id, or price fewer legs at a time.")));
	choice = palloc0(sizeof(int) * p.neff);
	priced = palloc(sizeof(GtfsPriced) * ncombos);
	for (c = 0; c < ncombos; c++)
	{
		int			rest = c;

		for (e = p.neff - 1; e >= 0; e--)
		{
			choice[e] = rest % p.eff[e].nopts;
			rest /= p.eff[e].nopts;
		}
		gtfs_price_combo(&p, choice, &priced[c]);
		priced[c].combo = c;
	}
	qsort(priced, ncombos, sizeof(GtfsPriced), gtfs_priced_cmp);
	*n = ncombos;
	return priced;
}

/* gtfs_amount: a GTFS_AMOUNT_SCALE amount as numeric with the currency's decimals. */
static Datum
gtfs_amount(int64 amount, int decimals)
{
	static const int64 pow10[] = {1, 10, 100, 1000, 10000};
	char		buf[64];
	uint64		a = amount < 0 ? -(uint64) amount : (uint64) amount;

	decimals = Min(Max(decimals, 0), 4);
	if (decimals == 0)
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT, amount < 0 ? "-" : "", a / GTFS_AMOUNT_SCALE);
	else
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT ".%0*" INT64_MODIFIER "d", amount < 0 ? "-" : "",
				 a / GTFS_AMOUNT_SCALE, decimals, (int64) ((a % GTFS_AMOUNT_SCALE) / pow10[4 - decimals]));
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static void
gtfs_emit(ReturnSetInfo *rsinfo, const GtfsTariff *t, const GtfsPriced *pr, int option_no)
{
	int			i;

	for (i = 0; i < pr->nrows; i++)
	{
		const GtfsOutRow *row = &pr->rows[i];
		Datum		values[8];
		bool		nulls[8] = {0};
		int			k = 0;

		if (option_no > 0)
			values[k++] = Int32GetDatum(option_no);
		nulls[k] = row->leg_no == 0;
		values[k++] = Int32GetDatum(row->leg_no);
		values[k++] = CStringGetTextDatum(row->kind);
		nulls[k] = row->product == NULL;
		values[k++] = row->product ? CStringGetTextDatum(row->product) : (Datum) 0;
		nulls[k] = row->leg_group == NULL;
		values[k++] = row->leg_group ? CStringGetTextDatum(row->leg_group) : (Datum) 0;
		values[k++] = gtfs_amount(row->amount, row->decimals);
		values[k++] = CStringGetTextDatum(t->currencies.names[row->currency]);
		nulls[k] = row->detail == NULL;
		values[k++] = row->detail ? CStringGetTextDatum(row->detail) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * gtfs_price_journey: faregate.gtfs_price_journey(feed_id, legs, rider_category_id, fare_media_id):
 * the cheapest option's rows: per effective leg its fare product and what it costs after transfers,
 * per applied transfer its transfer product, and one total per currency.
 */
Datum
gtfs_price_journey(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	GtfsPriced *priced;
	const GtfsTariff *t;

	InitMaterializedSRF(fcinfo, 0);
	priced = gtfs_price(fcinfo, &n);
	t = gtfs_tariff_get(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	gtfs_emit(rsinfo, t, &priced[0], 0);
	return (Datum) 0;
}

/* gtfs_journey_options: faregate.gtfs_journey_options(...): every option's rows, option 1 the cheapest. */
Datum
gtfs_journey_options(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n,
				i;
	GtfsPriced *priced;
	const GtfsTariff *t;

	InitMaterializedSRF(fcinfo, 0);
	priced = gtfs_price(fcinfo, &n);
	t = gtfs_tariff_get(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	for (i = 0; i < n; i++)
		gtfs_emit(rsinfo, t, &priced[i], i + 1);
	return (Datum) 0;
}

/* gtfs_journey_fare: faregate.gtfs_journey_fare(...): the cheapest option's total (one currency). */
Datum
gtfs_journey_fare(PG_FUNCTION_ARGS)
{
	int			n,
				i;
	GtfsPriced *priced = gtfs_price(fcinfo, &n);
	const GtfsPriced *best = &priced[0];

	if (best->ncurrencies != 1)
		ereport(ERROR, (errcode(GTFS_ERRCODE_BAD_JOURNEY),
						errmsg("the journey's fare is in %d currencies", best->ncurrencies),
						errhint("Use faregate.gtfs_price_journey, which gives one total per currency.")));
	for (i = 0; i < best->nrows; i++)
		if (strcmp(best->rows[i].kind, "total") == 0)
			PG_RETURN_DATUM(gtfs_amount(best->rows[i].amount, best->rows[i].decimals));
	elog(ERROR, "faregate: priced journey without a total");
}
