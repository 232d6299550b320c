/*
 * gtfs_tariff.h
 *	  Cross-file API of gtfs_tariff.c: one loaded GTFS feed's fares compiled into arrays indexed by
 *	  small integers (every GTFS id is interned once), how to get it for a feed, and the date/time
 *	  predicates the pricer asks of it (service days, timeframes, stop areas).
 *
 * Money is int64 in units of 1/10,000 of the currency (ISO 4217 has at most 4 decimals, and the loader
 * refuses amounts with more decimals than their currency has), so every sum is exact.
 * Id fields hold an index into the matching name table, or GTFS_NONE for an empty GTFS field.
 */
#ifndef GTFS_TARIFF_H
#define GTFS_TARIFF_H

#include "postgres.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/date.h"

/* SQLSTATEs of the GTFS functions (docs/gtfs.md "Errors") */
#define GTFS_ERRCODE_UNKNOWN_FEED MAKE_SQLSTATE('F','G','1','0','2')
#define GTFS_ERRCODE_NO_FARE MAKE_SQLSTATE('F','G','1','0','3')
#define GTFS_ERRCODE_BAD_JOURNEY MAKE_SQLSTATE('F','G','1','0','4')
#define GTFS_ERRCODE_UNKNOWN_RIDER MAKE_SQLSTATE('F','G','1','0','5')
#define GTFS_ERRCODE_TOO_MANY_OPTIONS MAKE_SQLSTATE('F','G','1','0','6')
#define GTFS_ERRCODE_UNKNOWN_STOP MAKE_SQLSTATE('F','G','1','0','7')

#define GTFS_NONE (-1)
#define GTFS_AMOUNT_SCALE 10000

/* An interning table: names[id] for id 0 .. n-1, found by an open-addressing hash. */
typedef struct GtfsNames
{
	int			n;
	int			cap;
	char	  **names;
	int			nslots;			/* a power of two, at least 2 * cap */
	int		   *slots;			/* id + 1, 0 = empty */
} GtfsNames;

typedef struct GtfsStop
{
	int			parent;			/* parent station, or GTFS_NONE */
	int			zone;			/* Fares v1 zone_id (zones table), or GTFS_NONE */
	int			nareas;			/* areas of the stop and of its parent station(s) */
	int		   *areas;
	pg_tz	   *tz;				/* stop_timezone (own or parent's), NULL = the feed's */
} GtfsStop;

typedef struct GtfsService
{
	bool		has_calendar;
	uint8		days;			/* bit d for ISO weekday d, 1 = Monday .. 7 = Sunday */
	DateADT		start_date;
	DateADT		end_date;
	int			ndates;			/* calendar_dates, sorted by date */
	DateADT    *dates;
	int8	   *exception;		/* 1 added, 2 removed */
} GtfsService;

typedef struct GtfsTimeframe
{
	int			start_s;		/* seconds after local midnight, inclusive */
	int			end_s;			/* exclusive; 86400 = 24:00:00 */
	int			service;
} GtfsTimeframe;

typedef struct GtfsProductRow
{
	int			category;		/* GTFS_NONE: any rider category */
	int			media;			/* GTFS_NONE: fare media unknown */
	int64		amount;			/* GTFS_AMOUNT_SCALE units */
	int			currency;		/* index into currencies */
	int			decimals;
} GtfsProductRow;

typedef struct GtfsLegRule
{
	int			leg_group;
	int			network;
	int			from_area;
	int			to_area;
	int			from_timeframe;	/* timeframe group */
	int			to_timeframe;
	int			product;
	int			priority;		/* empty = 0 */
} GtfsLegRule;

typedef struct GtfsTransferRule
{
	int			from_group;
	int			to_group;
	int			transfer_count; /* -1 unlimited, 0 empty, else the limit */
	int			duration_limit; /* seconds, -1 none */
	int			duration_type;
	int			transfer_type;	/* 0 A+AB, 1 A+AB+B, 2 AB */
	int			product;		/* GTFS_NONE: free */
} GtfsTransferRule;

typedef struct GtfsJoinRule
{
	int			from_network;
	int			to_network;
	int			from_stop;
	int			to_stop;
} GtfsJoinRule;

/* Fares v1: fare_attributes with their fare_rules rows[first_rule .. first_rule + nrules - 1]. */
typedef struct GtfsFareV1
{
	int64		price;
	int			currency;
	int			decimals;
	int			transfers;		/* -1 unlimited */
	int			agency;
	int			transfer_duration;	/* seconds, -1 none */
	int			first_rule;
	int			nrules;
} GtfsFareV1;

typedef struct GtfsFareRuleV1
{
	int			route;
	int			origin;
	int			destination;
	int			contains;
} GtfsFareRuleV1;

typedef struct GtfsTariff
{
	char	   *feed_id;
	int64		generation;		/* faregate.gtfs_generation it was built under */
	MemoryContext cxt;			/* holds this struct and everything it points to */
	pg_tz	   *tz;				/* agency_timezone */
	char	   *tz_name;
	bool		has_priority;	/* fare_leg_rules.txt had rule_priority */

	GtfsNames	stops, routes, networks, areas, services, timeframe_groups, categories, media,
				products, leg_groups, currencies, zones, agencies, fares;

	GtfsStop   *stop;			/* [stops.n] */
	int		   *route_network;	/* [routes.n] */
	int		   *route_agency;	/* [routes.n] */
	GtfsService *service;		/* [services.n] */
	GtfsTimeframe *timeframe;	/* grouped: group g is [tf_first[g], tf_first[g + 1]) */
	int		   *tf_first;		/* [timeframe_groups.n + 1] */
	GtfsProductRow *product_row;	/* grouped: product p is [pr_first[p], pr_first[p + 1]) */
	int		   *pr_first;		/* [products.n + 1] */
	int			default_category;	/* is_default_fare_category, or GTFS_NONE */

	int			nleg_rules;
	GtfsLegRule *leg_rule;
	int		   *fa_first;		/* rules by from_area: area a's are fa_rule[fa_first[a] .. fa_first[a + 1]) */
	int		   *fa_rule;		/* ... and those with an empty from_area follow, up to fa_first[areas.n + 1] */
	bool	   *network_listed; /* [networks.n]: named by some fare_leg_rules.network_id */
	bool	   *from_area_listed;	/* [areas.n] */
	bool	   *to_area_listed;
	int			ntransfer_rules;
	GtfsTransferRule *transfer_rule;
	bool	   *from_group_listed;	/* [leg_groups.n]: named by fare_transfer_rules.from_leg_group_id */
	bool	   *to_group_listed;
	int			njoin_rules;
	GtfsJoinRule *join_rule;

	int			nfares;			/* Fares v1 */
	GtfsFareV1 *fare;
	GtfsFareRuleV1 *fare_rule;
} GtfsTariff;

extern int	gtfs_names_find(const GtfsNames *names, const char *name);
extern GtfsTariff *gtfs_tariff_get(FunctionCallInfo fcinfo, const char *feed_id);
extern bool gtfs_service_active(const GtfsTariff *tariff, int service, DateADT date);
extern bool gtfs_timeframe_group_matches(const GtfsTariff *tariff, int group, DateADT date, int secs);
extern bool gtfs_stop_in_area(const GtfsTariff *tariff, int stop, int area);
extern bool gtfs_stop_in_listed_area(const GtfsTariff *tariff, int stop, const bool *listed);

#endif							/* GTFS_TARIFF_H */
