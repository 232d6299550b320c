/*
 * health.h: health checks of one node set (a primary and its replicas) over libpq's non-blocking API
 * on the pooler's libevent loop (health.c), and loading of the function volatility table that sqlroute.c
 * consults.
 *
 * One HealthMonitor watches the hosts of one [databases] entry. Every check_period_ms it asks each
 * host its role and WAL position over a connection of its own:
 *   SELECT pg_is_in_recovery(), <current WAL LSN on a primary | replay LSN on a replica>,
 *          <replay time lag in ms>, <replay paused>
 * and derives for each node: role (verified, never trusted from the configuration), status (up,
 * lagging, down), byte lag (latest primary LSN minus the replica's replay LSN) and time lag. A check
 * that does not answer within check_timeout_ms fails (a frozen host is down, not slow); failed nodes
 * are retried with exponential backoff. Changes are reported through HealthCallbacks.on_event with a
 * reason, so the pooler can log ejections, readmissions and promotions.
 *
 * The monitor never promotes anything and never blocks the loop: connections are started with
 * PQconnectStart (a host name is resolved by dns.c first and passed as hostaddr=, as libpq's own
 * resolution would block), queries
 * sent with PQsendQuery, results read with PQconsumeInput as the socket becomes readable.
 *
 * Threading: everything runs on the event_base's thread; the accessors read plain fields and are
 * meant to be called from that thread.
 */
#ifndef FAREGATE_HEALTH_H
#define FAREGATE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "sqlroute.h"

struct event_base;

/* What a node was found to be. */
typedef enum HealthRole
{
	HEALTH_ROLE_UNKNOWN,		/* never answered a check */
	HEALTH_ROLE_PRIMARY,		/* pg_is_in_recovery() = false at the last answered check */
	HEALTH_ROLE_REPLICA			/* pg_is_in_recovery() = true at the last answered check */
} HealthRole;

/* Whether a node may be used for its role. */
typedef enum HealthStatus
{
	HEALTH_UNKNOWN,				/* not checked yet: not usable */
	HEALTH_UP,					/* last check answered (and, for a replica, lag within bounds) */
	HEALTH_LAGGING,				/* replica answered but lags beyond max_lag: ejected from reads */
	HEALTH_DOWN					/* last check failed or timed out: ejected; retried with backoff */
} HealthStatus;

/* Events passed to HealthCallbacks.on_event. */
typedef enum HealthEvent
{
	HEALTH_EV_UP,				/* first successful check, or back after being down */
	HEALTH_EV_DOWN,				/* a check failed or timed out (reason says which) */
	HEALTH_EV_EJECTED,			/* replica lags beyond max_lag: no new reads */
	HEALTH_EV_READMITTED,		/* replica caught up again: reads resume */
	HEALTH_EV_PROMOTED,			/* a node known or configured as a replica reports it is a primary */
	HEALTH_EV_DEMOTED,			/* a node known or configured as the primary reports it is in recovery */
	HEALTH_EV_VOLATILITY_LOADED,	/* a new volatility table was handed to on_volatility */
	HEALTH_EV_VOLATILITY_FAILED /* loading the volatility table failed (the old one stays) */
} HealthEvent;

/* One host to watch. */
typedef struct HealthNodeConfig
{
	const char *name;			/* for logs, e.g. "127.0.0.1:5433" */
	const char *conninfo;		/* libpq connection string (dbname = the application's database:
								 * the volatility table comes from its pg_proc) */
	bool		configured_primary; /* what the configuration says; verified, not trusted */
	const char *host;			/* the host conninfo names: a name is resolved by dns.c before each
								 * connect (hostaddr= added); NULL: conninfo is used as it is */
} HealthNodeConfig;

/* Settings; times in milliseconds. */
typedef struct HealthSettings
{
	long		check_period_ms;	/* health_check_period */
	long		check_timeout_ms;	/* a check (connect + query) that takes longer fails */
	int64_t		max_lag_bytes;	/* max_replica_lag in bytes; 0 = no byte limit */
	long		max_lag_ms;		/* max_replica_lag in time; 0 = no time limit */
	long		backoff_max_ms; /* failed nodes: retry after period * 2^(failures-1), at most this */
	int			volatility_refresh_checks;	/* reload the volatility table every N checks of the
											 * primary; 0 = only at start and on demand */
} HealthSettings;

/* What the monitor knows about one node (health_node_state). */
typedef struct HealthNodeState
{
	HealthRole	role;
	HealthStatus status;
	uint64_t	lsn;			/* primary: pg_current_wal_lsn(); replica: pg_last_wal_replay_lsn() */
	int64_t		lag_bytes;		/* replica: latest primary LSN - replay LSN (>= 0); -1 = unknown */
	long		lag_ms;			/* replica: now() - last replayed commit while WAL waits to be replayed,
								 * 0 when replay is caught up with what was received; -1 = unknown */
	bool		replay_paused;	/* replica: pg_is_wal_replay_paused() */
	uint32_t	timeline;		/* primary: its current timeline (a promotion starts a new one); 0 on a
								 * replica */
	int			failures;		/* consecutive failed checks */
	int64_t		last_ok_us;		/* monotonic time of the last answered check; 0 = never */
	int64_t		primary_since_us;	/* monotonic time this node was last seen becoming primary */
	uint64_t	checks;			/* checks completed (answered or failed) */
	long		next_check_ms;	/* delay armed before the next check: the period, or the backoff while
								 * failing */
	char		last_error[256];	/* why the last failed check failed */
} HealthNodeState;

typedef struct HealthMonitor HealthMonitor;

/* Slots of one monitor; node indexes are slot numbers (they stay put while nodes come and go). */
#define HEALTH_MAX_NODES 8

/* Callbacks; any may be NULL. arg is passed back. */
typedef struct HealthCallbacks
{
	/* a state change of node (index into the configured nodes), with a human-readable reason */
	void		(*on_event) (void *arg, int node, HealthEvent event, const char *reason);
	/* a new volatility table: the callee owns it (swap it in, free the old one) */
	void		(*on_volatility) (void *arg, RouteVolatility *table);
	/* a check of node finished (answered or failed); for metrics and tests */
	void		(*on_check) (void *arg, int node);
	void	   *arg;
} HealthCallbacks;

/*
 * health_create: watches n nodes (slots 0..n-1, n <= HEALTH_MAX_NODES; 0 is fine when nodes come later
 * through health_set_node) on base, first checks right away. The configuration strings are copied.
 * Returns NULL when out of memory or when settings are invalid (period or timeout <= 0, n out of range).
 */
HealthMonitor *health_create(struct event_base *base, const HealthNodeConfig *nodes, int n,
							 const HealthSettings *settings, const HealthCallbacks *callbacks)
			__attribute__((warn_unused_result));

/*
 * health_free: closes the monitor's connections and frees it (NULL is fine). No callbacks after it;
 * not to be called from inside one of its own callbacks.
 */
void		health_free(HealthMonitor *hm);

/* health_node_count: slots in use or used before (iterate 0..count-1 and skip inactive ones). */
int			health_node_count(const HealthMonitor *hm);

/* health_node_active: slot node holds a node being watched. */
bool		health_node_active(const HealthMonitor *hm, int node);

/*
 * health_set_node: (re)starts slot node (< HEALTH_MAX_NODES) watching cfg, with a fresh state and a
 * check right away (a node set membership change: Patroni reported a new member). False when out of
 * memory (the slot is then inactive). Not to be called from inside the monitor's own callbacks.
 */
bool		health_set_node(HealthMonitor *hm, int node, const HealthNodeConfig *cfg)
			__attribute__((warn_unused_result));

/* health_remove_node: stops watching slot node (closes its connection); it is never picked again. */
void		health_remove_node(HealthMonitor *hm, int node);

/*
 * health_set_hints: what an outside authority (Patroni) says about node: preferred_primary replaces
 * configured_primary (the tie-break among nodes that say they are primaries, never a reason to write to
 * a node in recovery); may_write = false keeps writes off it whatever it reports (nofailover).
 */
void		health_set_hints(HealthMonitor *hm, int node, bool preferred_primary, bool may_write);

/* health_node_name: the configured name of node i. */
const char *health_node_name(const HealthMonitor *hm, int node);

/* health_node_state: what is known about node i (valid until the next event-loop turn). */
const HealthNodeState *health_node_state(const HealthMonitor *hm, int node);

/*
 * health_pick_write_node: the node writes go to: up, and not in recovery at its last check. When
 * several nodes say they are primaries (an old primary back after a failover), the one on the highest
 * timeline wins (a promotion starts a new timeline), then the configured primary, then the one seen
 * becoming primary last. -1 when there is none: writes must wait or fail, never go to a replica.
 */
int			health_pick_write_node(const HealthMonitor *hm);

/*
 * health_replica_usable: node may take a read: a replica that is up, not ejected for lag, and whose
 * replay LSN at its last check is >= min_lsn (0 = no read-your-writes constraint). The replay LSN is
 * at most one check old, so this errs on the safe side: it can only be further along by now.
 */
bool		health_replica_usable(const HealthMonitor *hm, int node, uint64_t min_lsn);

/* health_primary_lsn: the latest WAL LSN seen on a primary (0 = none yet). */
uint64_t	health_primary_lsn(const HealthMonitor *hm);

/* health_check_now: starts a check of every idle node now (e.g. after a connection error). */
void		health_check_now(HealthMonitor *hm);

/*
 * health_reload_volatility: loads the volatility table from the primary's pg_proc after its next
 * check (RELOAD); the result arrives through on_volatility.
 */
void		health_reload_volatility(HealthMonitor *hm);

/* health_parse_lsn: "16/B374D848" -> 0x16B374D848; false when malformed. */
bool		health_parse_lsn(const char *text, uint64_t *lsn);

/* Names for logs and SHOW output. */
const char *health_role_name(HealthRole role);
const char *health_status_name(HealthStatus status);
const char *health_event_name(HealthEvent event);

#endif
