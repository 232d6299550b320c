/*
 * fare_changelog.h
 *	  Cross-file API of fare_changelog.c: the change log of the rule tables (faregate.fare_rule_changes),
 *	  written by the trigger function faregate.fare_rules_changed() and read by fare_cache.c to drop
 *	  only the entries whose keys changed.
 */
#ifndef FARE_CHANGELOG_H
#define FARE_CHANGELOG_H

#include "postgres.h"

#include "access/transam.h"
#include "commands/trigger.h"
#include "utils/snapshot.h"

/*
 * A sync point: the snapshot as of which a backend's fare cache is known to be exact.  Every change
 * committed later is in the change log under a transaction id that this snapshot does not see: at or
 * after xmax, or in xip (in progress when the snapshot was taken).
 */
typedef struct FareSyncPoint
{
	FullTransactionId xmin;
	FullTransactionId xmax;
	int			nxip;
	FullTransactionId *xip;		/* [nxip], sorted; in the memory context given to the capture */
} FareSyncPoint;

/* What fare_changelog_read found. */
typedef enum FareChangelogResult
{
	FARE_CHANGES_KEYS,			/* only the keys handed to the visitor changed */
	FARE_CHANGES_ALL			/* drop everything: a change of a small table, a bulk change, or a
								 * pruned log */
} FareChangelogResult;

/* Called once per changed key (zone and category names, not NUL-terminated). */
typedef void (*FareChangeVisitor) (void *arg, const char *from_zone, int from_len, const char *to_zone,
								   int to_len, const char *category, int category_len);

extern void fare_changelog_capture(Snapshot snapshot, FareSyncPoint *point, MemoryContext cxt);
extern bool fare_changelog_same_point(Snapshot snapshot, const FareSyncPoint *point);
extern FareChangelogResult fare_changelog_read(Snapshot snapshot, const FareSyncPoint *since,
											   FareChangeVisitor visit, void *arg);
extern void fare_changelog_record(TriggerData *trigdata);

#endif							/* FARE_CHANGELOG_H */
