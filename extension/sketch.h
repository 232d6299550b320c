/*
 * sketch.h
 *	  Cross-file API of sketch.c: the in-memory quantile sketch (SketchState) that queues.c fills from
 *	  rows and from rolled-up faregate.sketch values, and reads quantiles from.
 */
#ifndef FAREGATE_SKETCH_H
#define FAREGATE_SKETCH_H

#include "postgres.h"

#include "fmgr.h"

/* Relative accuracy of every quantile the sketch answers (see docs/queues.md). */
#define SKETCH_ALPHA 0.01

typedef struct SketchState SketchState;

/* sketch_state_create: an empty sketch allocated in memory context cxt. */
extern SketchState *sketch_state_create(MemoryContext cxt);

/* sketch_state_add: adds one finite value (errors on NaN and infinities). */
extern void sketch_state_add(SketchState *state, double value);

/* sketch_state_merge_datum: adds every value of a faregate.sketch datum. */
extern void sketch_state_merge_datum(SketchState *state, Datum sketch);

/* sketch_state_count: number of values added. */
extern int64 sketch_state_count(const SketchState *state);

/*
 * sketch_state_quantile: the value at quantile q (0 <= q <= 1) in the sense of percentile_disc, within
 * SKETCH_ALPHA relative error; *isnull set when the sketch is empty.
 */
extern double sketch_state_quantile(const SketchState *state, double q, bool *isnull);

#endif							/* FAREGATE_SKETCH_H */
