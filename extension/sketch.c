/*
 * sketch.c
 *	  The faregate.sketch type: a DDSketch-style quantile sketch with logarithmic buckets, its
 *	  aggregates sketch_agg(float8) and sketch_merge(sketch) (with combine, serialize and deserialize
 *	  functions, so they run in parallel), quantile() and sketch_count(), and the SketchState API that
 *	  queues.c uses for queue_stats.
 *
 * The mapping.  With alpha = SKETCH_ALPHA = 0.01 and gamma = (1 + alpha) / (1 - alpha) = 1.0202...,
 * a value x > 0 falls into bucket i = ceil(log(x) / log(gamma)), which holds (gamma^(i-1), gamma^i].
 * The bucket's representative value 2 gamma^i / (gamma + 1) is within alpha of every x in it, relative
 * to x.  A negative value goes into the same-numbered bucket of a second, mirrored store; a value with
 * |x| < SKETCH_MIN_INDEXABLE (1e-9) counts as zero.  NaN and infinities are rejected with an error:
 * they have no bucket and silently dropping them would make the count lie.
 *
 * Quantiles are taken in the sense of percentile_disc: the answer is the representative of the bucket
 * holding the ceil(q * n)-th smallest value, clamped to the exact [min, max] seen, so it is within
 * alpha of what percentile_disc returns for the same q; the first and last values are exact.  Merging adds bucket counts (integers) and
 * takes min/max, which is exact and order-independent: a parallel aggregate gives the same sketch,
 * byte for byte, as a serial one.
 *
 * Memory.  An aggregate's SketchState lives in the aggregate memory context; each store is a dense
 * array of int64 counts over a window of bucket indexes that grows (doubling) to cover new indexes.
 * Bucket indexes are bounded (SKETCH_MIN_INDEX..SKETCH_MAX_INDEX, about 36,500 buckets for all finite
 * doubles), so a store never exceeds ~300 kB even for adversarial input; realistic data (durations
 * from milliseconds to days) spans a few hundred buckets.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "common/int.h"
#include "utils/float.h"

#include "sketch.h"

PG_FUNCTION_INFO_V1(sketch_in);
PG_FUNCTION_INFO_V1(sketch_out);
PG_FUNCTION_INFO_V1(sketch_recv);
PG_FUNCTION_INFO_V1(sketch_send);
PG_FUNCTION_INFO_V1(sketch_agg_trans);
PG_FUNCTION_INFO_V1(sketch_merge_trans);
PG_FUNCTION_INFO_V1(sketch_combine);
PG_FUNCTION_INFO_V1(sketch_serialize);
PG_FUNCTION_INFO_V1(sketch_deserialize);
PG_FUNCTION_INFO_V1(sketch_final);
PG_FUNCTION_INFO_V1(quantile);
PG_FUNCTION_INFO_V1(sketch_count);

#define SKETCH_VERSION 1
#define SKETCH_MIN_INDEXABLE 1e-9
/* ceil(log(1e-9) / log(gamma)) = -1036 and ceil(log(DBL_MAX) / log(gamma)) = 35489, with margin */
#define SKETCH_MIN_INDEX (-1100)
#define SKETCH_MAX_INDEX 35600
#define SKETCH_INITIAL_CAPACITY 128

/* One side (positive or negative values) of a sketch: counts[k] is bucket offset + k. */
typedef struct SketchStore
{
	int64	   *counts;			/* NULL until the first value */
	int32		offset;			/* bucket index of counts[0] */
	int32		capacity;		/* allocated length of counts */
	int32		lo;				/* lowest non-empty bucket index (valid when counts) */
	int32		hi;				/* highest non-empty bucket index */
} SketchStore;

struct SketchState
{
	MemoryContext cxt;			/* where the stores' arrays live */
	int64		count;			/* all values, zero bucket included */
	int64		zero_count;		/* values with |x| < SKETCH_MIN_INDEXABLE */
	double		min;			/* exact extremes (valid when count > 0) */
	double		max;
	SketchStore pos;
	SketchStore neg;			/* negative values, by the bucket of -x */
};

/*
 * SketchData: the on-disk faregate.sketch and the aggregates' serialized state (same layout).
 * counts holds pos_len positive-bucket counts from pos_lo, then neg_len negative ones from neg_lo.
 */
typedef struct SketchData
{
	int32		vl_len_;
	int32		version;
	int64		count;
	int64		zero_count;
	double		min;
	double		max;
	int32		pos_lo;
	int32		pos_len;
	int32		neg_lo;
	int32		neg_len;
	int64		counts[FLEXIBLE_ARRAY_MEMBER];
} SketchData;

#define SKETCH_HEADER_SIZE offsetof(SketchData, counts)

static double sketch_log_gamma = 0.0;	/* log(gamma), computed once */
static double sketch_inv_log_gamma = 0.0;

/* sketch_init_mapping: computes the logarithm constants of the bucket mapping on first use. */
static inline void
sketch_init_mapping(void)
{
	if (sketch_log_gamma == 0.0)
	{
		double		gamma = (1.0 + SKETCH_ALPHA) / (1.0 - SKETCH_ALPHA);

		sketch_log_gamma = log(gamma);
		sketch_inv_log_gamma = 1.0 / sketch_log_gamma;
	}
}

/* sketch_bucket_index: the bucket of x, for x >= SKETCH_MIN_INDEXABLE and finite. */
static inline int32
sketch_bucket_index(double x)
{
	return (int32) ceil(log(x) * sketch_inv_log_gamma);
}

/* sketch_bucket_value: the representative value of bucket i, 2 gamma^i / (gamma + 1). */
static inline double
sketch_bucket_value(int32 i)
{
	double		gamma = (1.0 + SKETCH_ALPHA) / (1.0 - SKETCH_ALPHA);

	return exp((double) i * sketch_log_gamma) * (2.0 / (gamma + 1.0));
}

SketchState *
sketch_state_create(MemoryContext cxt)
{
	SketchState *state = MemoryContextAllocZero(cxt, sizeof(SketchState));

	sketch_init_mapping();
	state->cxt = cxt;
	return state;
}

/* sketch_store_add: adds n to bucket index of store, growing the store's window as needed. */
static void
sketch_store_add(SketchState *state, SketchStore *store, int32 index, int64 n)
{
	if (store->counts == NULL)
	{
		store->capacity = SKETCH_INITIAL_CAPACITY;
		store->offset = index - SKETCH_INITIAL_CAPACITY / 2;
		store->counts = MemoryContextAllocZero(state->cxt, sizeof(int64) * store->capacity);
		store->lo = store->hi = index;
	}
	else if (index < store->offset || index >= store->offset + store->capacity)
	{
		int32		need_lo = Min(index, store->offset);
		int32		need_hi = Max(index, store->offset + store->capacity - 1);
		int32		grow = Max(store->capacity, need_hi - need_lo + 1 - store->capacity);
		int32		new_offset = store->offset;
		int32		new_capacity = store->capacity + grow;
		int64	   *new_counts;

		/* put the slack on the side that ran out */
		if (index < store->offset)
			new_offset = store->offset + store->capacity - new_capacity;
		if (new_offset > need_lo)
			new_offset = need_lo;
		new_counts = MemoryContextAllocZero(state->cxt, sizeof(int64) * new_capacity);
		memcpy(new_counts + (store->offset - new_offset), store->counts,
			   sizeof(int64) * store->capacity);
		pfree(store->counts);
		store->counts = new_counts;
		store->offset = new_offset;
		store->capacity = new_capacity;
	}
	store->counts[index - store->offset] += n;
	if (index < store->lo)
		store->lo = index;
	if (index > store->hi)
		store->hi = index;
}

/* sketch_note_extremes: folds min and max of n new values into the state's exact extremes. */
static inline void
sketch_note_extremes(SketchState *state, double min, double max)
{
	if (state->count == 0)
	{
		state->min = min;
		state->max = max;
	}
	else
	{
		if (min < state->min)
			state->min = min;
		if (max > state->max)
			state->max = max;
	}
}

void
sketch_state_add(SketchState *state, double value)
{
	double		magnitude;

	if (isnan(value) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("faregate.sketch cannot hold %s", isnan(value) ? "NaN" : "an infinite value"),
				 errdetail("A sketch has a bucket for every finite double precision value only."),
				 errhint("Filter the input, e.g. WHERE x <> 'NaN' AND x <> 'Infinity' AND x <> '-Infinity'.")));
	sketch_note_extremes(state, value, value);
	magnitude = fabs(value);
	if (magnitude < SKETCH_MIN_INDEXABLE)
		state->zero_count++;
	else if (value > 0)
		sketch_store_add(state, &state->pos, sketch_bucket_index(magnitude), 1);
	else
		sketch_store_add(state, &state->neg, sketch_bucket_index(magnitude), 1);
	state->count++;
}

int64
sketch_state_count(const SketchState *state)
{
	return state->count;
}

/*
 * sketch_data_check: raises an error (with sqlstate) unless data (of total size size) is a well-formed
 * sketch.
 * Called on everything that comes from outside (text input, binary input, serialized states, stored
 * values), so that a corrupt value cannot make the merge read or write out of bounds.
 */
static void
sketch_data_check(const SketchData *data, Size size, int sqlstate)
{
	int64		sum;
	int32		k;
	const char *problem = NULL;

	if (size < SKETCH_HEADER_SIZE)
		problem = "it is shorter than its header";
	else if (data->version != SKETCH_VERSION)
		problem = "its version is unknown";
	else if (data->pos_len < 0 || data->neg_len < 0 ||
			 data->pos_len > SKETCH_MAX_INDEX - SKETCH_MIN_INDEX + 1 ||
			 data->neg_len > SKETCH_MAX_INDEX - SKETCH_MIN_INDEX + 1)
		problem = "a bucket range length is out of range";
	else if (size != SKETCH_HEADER_SIZE + sizeof(int64) * ((Size) data->pos_len + data->neg_len))
		problem = "its size does not match its bucket ranges";
	/* in int64: pos_lo near INT32_MAX must not wrap around into the valid range */
	else if ((data->pos_len > 0 && (data->pos_lo < SKETCH_MIN_INDEX ||
									(int64) data->pos_lo + data->pos_len - 1 > SKETCH_MAX_INDEX)) ||
			 (data->neg_len > 0 && (data->neg_lo < SKETCH_MIN_INDEX ||
									(int64) data->neg_lo + data->neg_len - 1 > SKETCH_MAX_INDEX)))
		problem = "a bucket index is out of range";
	else if (data->count < 0 || data->zero_count < 0 || data->zero_count > data->count)
		problem = "its counts are negative or inconsistent";
	else if (data->count > 0 && (isnan(data->min) || isnan(data->max) || isinf(data->min) ||
								 isinf(data->max) || data->min > data->max))
		problem = "its min and max are not finite and ordered";

	if (problem == NULL)
	{
		sum = data->zero_count;
		for (k = 0; k < data->pos_len + data->neg_len; k++)
		{
			if (data->counts[k] < 0 || data->counts[k] > data->count - sum)
			{
				problem = data->counts[k] < 0 ? "a bucket count is out of range" :
					"its bucket counts do not add up to its count";
				break;
			}
			sum += data->counts[k];
		}
		if (problem == NULL && sum != data->count)
			problem = "its bucket counts do not add up to its count";
	}
	if (problem != NULL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid faregate.sketch value: %s", problem),
				 errhint("Build sketches with faregate.sketch_agg or from the text form that faregate.sketch_out writes.")));
}

/* sketch_add_count: state->count += n, or an error when the total would overflow. */
static void
sketch_add_count(SketchState *state, int64 n)
{
	if (pg_add_s64_overflow(state->count, n, &state->count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("faregate.sketch count would exceed %lld values", (long long) PG_INT64_MAX),
				 errhint("Merge fewer sketches.")));
}

/* sketch_state_merge_data: adds a checked SketchData into state. */
static void
sketch_state_merge_data(SketchState *state, const SketchData *data)
{
	int32		k;

	if (data->count == 0)
		return;
	sketch_note_extremes(state, data->min, data->max);
	sketch_add_count(state, data->count);	/* first: bucket sums cannot overflow then */
	state->count -= data->count;
	for (k = 0; k < data->pos_len; k++)
		if (data->counts[k] != 0)
			sketch_store_add(state, &state->pos, data->pos_lo + k, data->counts[k]);
	for (k = 0; k < data->neg_len; k++)
		if (data->counts[data->pos_len + k] != 0)
			sketch_store_add(state, &state->neg, data->neg_lo + k, data->counts[data->pos_len + k]);
	state->zero_count += data->zero_count;
	state->count += data->count;
}

void
sketch_state_merge_datum(SketchState *state, Datum sketch)
{
	SketchData *data = (SketchData *) PG_DETOAST_DATUM(sketch);

	sketch_data_check(data, VARSIZE(data), ERRCODE_DATA_CORRUPTED);
	sketch_state_merge_data(state, data);
	if ((Pointer) data != DatumGetPointer(sketch))
		pfree(data);
}

/* sketch_state_merge_state: adds every value of other into state. */
static void
sketch_state_merge_state(SketchState *state, const SketchState *other)
{
	int32		i;

	if (other->count == 0)
		return;
	sketch_note_extremes(state, other->min, other->max);
	sketch_add_count(state, other->count);	/* first: bucket sums cannot overflow then */
	state->count -= other->count;
	if (other->pos.counts)
		for (i = other->pos.lo; i <= other->pos.hi; i++)
			if (other->pos.counts[i - other->pos.offset] != 0)
				sketch_store_add(state, &state->pos, i, other->pos.counts[i - other->pos.offset]);
	if (other->neg.counts)
		for (i = other->neg.lo; i <= other->neg.hi; i++)
			if (other->neg.counts[i - other->neg.offset] != 0)
				sketch_store_add(state, &state->neg, i, other->neg.counts[i - other->neg.offset]);
	state->zero_count += other->zero_count;
	state->count += other->count;
}

/* sketch_state_to_data: the SketchData of state, palloc'd in the current memory context. */
static SketchData *
sketch_state_to_data(const SketchState *state)
{
	int32		pos_len = state->pos.counts ? state->pos.hi - state->pos.lo + 1 : 0;
	int32		neg_len = state->neg.counts ? state->neg.hi - state->neg.lo + 1 : 0;
	Size		size = SKETCH_HEADER_SIZE + sizeof(int64) * ((Size) pos_len + neg_len);
	SketchData *data = palloc0(size);

	SET_VARSIZE(data, size);
	data->version = SKETCH_VERSION;
	data->count = state->count;
	data->zero_count = state->zero_count;
	data->min = state->count > 0 ? state->min : 0.0;
	data->max = state->count > 0 ? state->max : 0.0;
	data->pos_lo = pos_len ? state->pos.lo : 0;
	data->pos_len = pos_len;
	data->neg_lo = neg_len ? state->neg.lo : 0;
	data->neg_len = neg_len;
	if (pos_len)
		memcpy(data->counts, state->pos.counts + (state->pos.lo - state->pos.offset),
			   sizeof(int64) * pos_len);
	if (neg_len)
		memcpy(data->counts + pos_len, state->neg.counts + (state->neg.lo - state->neg.offset),
			   sizeof(int64) * neg_len);
	return data;
}

double
sketch_state_quantile(const SketchState *state, double q, bool *isnull)
{
	int64		rownum;
	int64		seen = 0;
	double		value;
	int32		i;

	if (isnan(q) || q < 0.0 || q > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantile %g is not between 0 and 1", q),
				 errhint("Pass a fraction, e.g. 0.5 for the median or 0.99 for p99.")));
	*isnull = false;
	if (state->count == 0)
	{
		*isnull = true;
		return 0.0;
	}
	/* the row percentile_disc picks: the first whose position reaches q * n (1-based) */
	rownum = (int64) ceil(q * (double) state->count);
	if (rownum <= 0)
		rownum = 1;
	/* the extremes are known exactly */
	if (rownum == 1)
		return state->min;
	if (rownum >= state->count)
		return state->max;

	/* ascending order: negatives by decreasing magnitude, then zero, then positives */
	if (state->neg.counts)
		for (i = state->neg.hi; i >= state->neg.lo; i--)
		{
			seen += state->neg.counts[i - state->neg.offset];
			if (seen >= rownum)
			{
				value = -sketch_bucket_value(i);
				goto found;
			}
		}
	seen += state->zero_count;
	if (seen >= rownum)
	{
		value = 0.0;
		goto found;
	}
	if (state->pos.counts)
		for (i = state->pos.lo; i <= state->pos.hi; i++)
		{
			seen += state->pos.counts[i - state->pos.offset];
			if (seen >= rownum)
			{
				value = sketch_bucket_value(i);
				goto found;
			}
		}
	/* cannot get here with consistent counts */
	elog(ERROR, "faregate.sketch counts do not add up to %lld", (long long) state->count);

found:
	/* exact extremes are known: never answer outside them (also maps overflow to max) */
	if (value < state->min)
		value = state->min;
	if (value > state->max)
		value = state->max;
	return value;
}

/* ------------------------------------------------------------------------------------------------
 * Aggregates
 * ------------------------------------------------------------------------------------------------ */

/* sketch_agg_context: the aggregate memory context, or an error when not called as an aggregate. */
static MemoryContext
sketch_agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of an aggregate", fn),
				 errhint("Use faregate.sketch_agg(...) or faregate.sketch_merge(...).")));
	return aggcontext;
}

/* sketch_agg_trans: sketch_agg's transition; NULL values are skipped. */
Datum
sketch_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = sketch_agg_context(fcinfo, "faregate.sketch_agg_trans");
	SketchState *state = PG_ARGISNULL(0) ? NULL : (SketchState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = sketch_state_create(aggcontext);
	sketch_state_add(state, PG_GETARG_FLOAT8(1));
	PG_RETURN_POINTER(state);
}

/* sketch_merge_trans: sketch_merge's transition; NULL sketches are skipped. */
Datum
sketch_merge_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = sketch_agg_context(fcinfo, "faregate.sketch_merge_trans");
	SketchState *state = PG_ARGISNULL(0) ? NULL : (SketchState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = sketch_state_create(aggcontext);
	sketch_state_merge_datum(state, PG_GETARG_DATUM(1));
	PG_RETURN_POINTER(state);
}

/* sketch_combine: merges two partial states (parallel aggregation). */
Datum
sketch_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = sketch_agg_context(fcinfo, "faregate.sketch_combine");
	SketchState *state1 = PG_ARGISNULL(0) ? NULL : (SketchState *) PG_GETARG_POINTER(0);
	SketchState *state2 = PG_ARGISNULL(1) ? NULL : (SketchState *) PG_GETARG_POINTER(1);

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	/* copy rather than adopt state2: its arrays may live in another context */
	if (state1 == NULL)
		state1 = sketch_state_create(aggcontext);
	sketch_state_merge_state(state1, state2);
	PG_RETURN_POINTER(state1);
}

/* sketch_serialize: a partial state as bytea (the SketchData layout). */
Datum
sketch_serialize(PG_FUNCTION_ARGS)
{
	SketchState *state = (SketchState *) PG_GETARG_POINTER(0);

	(void) sketch_agg_context(fcinfo, "faregate.sketch_serialize");
	PG_RETURN_BYTEA_P((bytea *) sketch_state_to_data(state));
}

/* sketch_deserialize: a partial state back from sketch_serialize's bytea. */
Datum
sketch_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = sketch_agg_context(fcinfo, "faregate.sketch_deserialize");
	SketchState *state = sketch_state_create(aggcontext);

	sketch_state_merge_datum(state, PG_GETARG_DATUM(0));
	PG_RETURN_POINTER(state);
}

/* sketch_final: the faregate.sketch of the state; NULL when no value was aggregated. */
Datum
sketch_final(PG_FUNCTION_ARGS)
{
	SketchState *state = PG_ARGISNULL(0) ? NULL : (SketchState *) PG_GETARG_POINTER(0);

	(void) sketch_agg_context(fcinfo, "faregate.sketch_final");
	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(sketch_state_to_data(state));
}

/* ------------------------------------------------------------------------------------------------
 * Functions on faregate.sketch values
 * ------------------------------------------------------------------------------------------------ */

/* sketch_getarg: the checked SketchData of argument n (detoasted). */
static SketchData *
sketch_getarg(FunctionCallInfo fcinfo, int n)
{
	SketchData *data = (SketchData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n));

	sketch_data_check(data, VARSIZE(data), ERRCODE_DATA_CORRUPTED);
	return data;
}

/*
 * quantile: faregate.quantile(sketch, q), the value at quantile q (percentile_disc sense) within 1%
 * relative error; NULL for an empty sketch.  Errors when q is NaN or outside [0, 1].
 */
Datum
quantile(PG_FUNCTION_ARGS)
{
	SketchData *data = sketch_getarg(fcinfo, 0);
	double		q = PG_GETARG_FLOAT8(1);
	SketchState *state = sketch_state_create(CurrentMemoryContext);
	bool		isnull;
	double		value;

	sketch_state_merge_data(state, data);
	value = sketch_state_quantile(state, q, &isnull);
	if (state->pos.counts)
		pfree(state->pos.counts);
	if (state->neg.counts)
		pfree(state->neg.counts);
	pfree(state);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(value);
}

/* sketch_count: faregate.sketch_count(sketch), the number of values in it. */
Datum
sketch_count(PG_FUNCTION_ARGS)
{
	SketchData *data = sketch_getarg(fcinfo, 0);

	PG_RETURN_INT64(data->count);
}

/*
 * sketch_out: the text form
 *	 v1;n=COUNT;zero=ZEROS;min=MIN;max=MAX;pos=LO:c,c,...;neg=LO:c,c,...
 * (pos= and neg= are empty for an empty store); min and max print with 17 significant digits so that
 * sketch_in reads back the same value.
 */
Datum
sketch_out(PG_FUNCTION_ARGS)
{
	SketchData *data = sketch_getarg(fcinfo, 0);
	StringInfoData buf;
	int32		k;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v%d;n=%lld;zero=%lld;min=%.17g;max=%.17g;pos=", SKETCH_VERSION,
					 (long long) data->count, (long long) data->zero_count, data->min, data->max);
	if (data->pos_len > 0)
	{
		appendStringInfo(&buf, "%d:", data->pos_lo);
		for (k = 0; k < data->pos_len; k++)
			appendStringInfo(&buf, k ? ",%lld" : "%lld", (long long) data->counts[k]);
	}
	appendStringInfoString(&buf, ";neg=");
	if (data->neg_len > 0)
	{
		appendStringInfo(&buf, "%d:", data->neg_lo);
		for (k = 0; k < data->neg_len; k++)
			appendStringInfo(&buf, k ? ",%lld" : "%lld", (long long) data->counts[data->pos_len + k]);
	}
	PG_RETURN_CSTRING(buf.data);
}

/* sketch_syntax_error: the error for text that is not a sketch. */
static void
sketch_syntax_error(const char *input, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type faregate.sketch: \"%s\"", input),
			 errdetail("Expected %s.", what),
			 errhint("Use the form that faregate.sketch_out writes: v1;n=..;zero=..;min=..;max=..;pos=LO:c,..;neg=LO:c,..")));
}

/* sketch_expect: skips the literal prefix at *p, or raises a syntax error. */
static void
sketch_expect(const char **p, const char *literal, const char *input)
{
	size_t		len = strlen(literal);

	if (strncmp(*p, literal, len) != 0)
		sketch_syntax_error(input, psprintf("\"%s\"", literal));
	*p += len;
}

/* sketch_parse_int64: reads a decimal integer at *p. */
static int64
sketch_parse_int64(const char **p, const char *input, const char *what)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(*p, &end, 10);
	if (end == *p || errno != 0)
		sketch_syntax_error(input, what);
	*p = end;
	return (int64) v;
}

/*
 * sketch_parse_double: reads a finite double at *p.  Like float8in, a subnormal value is accepted
 * although strtod reports ERANGE for it: sketch_out writes such a min or max (sketch_agg of 5e-324).
 */
static double
sketch_parse_double(const char **p, const char *input, const char *what)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(*p, &end);
	if (end == *p || isnan(v) || isinf(v) ||
		(errno != 0 && !(errno == ERANGE && v != 0.0)))
		sketch_syntax_error(input, what);
	*p = end;
	return v;
}

/* sketch_parse_store: reads "LO:c,c,..." (or nothing) into counts; returns how many. */
static int32
sketch_parse_store(const char **p, const char *input, int32 *lo, int64 **counts, int32 *capacity,
				   int32 used)
{
	int32		n = 0;
	int64		index;

	*lo = 0;
	if (**p == ';' || **p == '\0')
		return 0;
	index = sketch_parse_int64(p, input, "a bucket index");
	if (index < SKETCH_MIN_INDEX || index > SKETCH_MAX_INDEX)
		sketch_syntax_error(input, "a bucket index in range");
	*lo = (int32) index;
	sketch_expect(p, ":", input);
	for (;;)
	{
		if (used + n >= *capacity)
		{
			*capacity *= 2;
			*counts = repalloc(*counts, sizeof(int64) * *capacity);
		}
		(*counts)[used + n] = sketch_parse_int64(p, input, "a bucket count");
		n++;
		if (n > SKETCH_MAX_INDEX - SKETCH_MIN_INDEX + 1)
			sketch_syntax_error(input, "fewer buckets");
		if (**p != ',')
			break;
		(*p)++;
	}
	return n;
}

/* sketch_in: reads the text form written by sketch_out. */
Datum
sketch_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		count,
				zero_count;
	double		min,
				max;
	int32		pos_lo,
				pos_len,
				neg_lo,
				neg_len,
				capacity = 64;
	int64	   *counts = palloc(sizeof(int64) * capacity);
	Size		size;
	SketchData *data;

	sketch_expect(&p, "v1;n=", input);
	count = sketch_parse_int64(&p, input, "the count");
	sketch_expect(&p, ";zero=", input);
	zero_count = sketch_parse_int64(&p, input, "the zero count");
	sketch_expect(&p, ";min=", input);
	min = sketch_parse_double(&p, input, "a finite min");
	sketch_expect(&p, ";max=", input);
	max = sketch_parse_double(&p, input, "a finite max");
	sketch_expect(&p, ";pos=", input);
	pos_len = sketch_parse_store(&p, input, &pos_lo, &counts, &capacity, 0);
	sketch_expect(&p, ";neg=", input);
	neg_len = sketch_parse_store(&p, input, &neg_lo, &counts, &capacity, pos_len);
	if (*p != '\0')
		sketch_syntax_error(input, "the end of the value after neg=");

	size = SKETCH_HEADER_SIZE + sizeof(int64) * ((Size) pos_len + neg_len);
	data = palloc0(size);
	SET_VARSIZE(data, size);
	data->version = SKETCH_VERSION;
	data->count = count;
	data->zero_count = zero_count;
	data->min = min;
	data->max = max;
	data->pos_lo = pos_lo;
	data->pos_len = pos_len;
	data->neg_lo = neg_lo;
	data->neg_len = neg_len;
	memcpy(data->counts, counts, sizeof(int64) * ((Size) pos_len + neg_len));
	pfree(counts);
	sketch_data_check(data, size, ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_POINTER(data);
}

/* sketch_send: binary output, the SketchData fields in network byte order. */
Datum
sketch_send(PG_FUNCTION_ARGS)
{
	SketchData *data = sketch_getarg(fcinfo, 0);
	StringInfoData buf;
	int32		k;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, data->version);
	pq_sendint64(&buf, data->count);
	pq_sendint64(&buf, data->zero_count);
	pq_sendfloat8(&buf, data->min);
	pq_sendfloat8(&buf, data->max);
	pq_sendint32(&buf, data->pos_lo);
	pq_sendint32(&buf, data->pos_len);
	pq_sendint32(&buf, data->neg_lo);
	pq_sendint32(&buf, data->neg_len);
	for (k = 0; k < data->pos_len + data->neg_len; k++)
		pq_sendint64(&buf, data->counts[k]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* sketch_recv: binary input, as written by sketch_send; checked like every outside value. */
Datum
sketch_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	SketchData	header = {0};
	SketchData *data;
	Size		size;
	int32		k;

	header.version = pq_getmsgint(buf, 4);
	header.count = pq_getmsgint64(buf);
	header.zero_count = pq_getmsgint64(buf);
	header.min = pq_getmsgfloat8(buf);
	header.max = pq_getmsgfloat8(buf);
	header.pos_lo = pq_getmsgint(buf, 4);
	header.pos_len = pq_getmsgint(buf, 4);
	header.neg_lo = pq_getmsgint(buf, 4);
	header.neg_len = pq_getmsgint(buf, 4);
	if (header.pos_len < 0 || header.neg_len < 0 ||
		(Size) header.pos_len + header.neg_len > (Size) (buf->len - buf->cursor) / sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary faregate.sketch: bucket ranges do not match the message length"),
				 errhint("Send what faregate.sketch_send wrote.")));
	size = SKETCH_HEADER_SIZE + sizeof(int64) * ((Size) header.pos_len + header.neg_len);
	data = palloc0(size);
	memcpy(data, &header, SKETCH_HEADER_SIZE);
	SET_VARSIZE(data, size);
	for (k = 0; k < header.pos_len + header.neg_len; k++)
		data->counts[k] = pq_getmsgint64(buf);
	sketch_data_check(data, size, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(data);
}
