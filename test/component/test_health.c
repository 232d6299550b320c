/*
 * test_health.c: health.c against a real primary and two streaming replicas (the harness's cluster:
 * FG_PRIMARY_PORT, FG_REPLICA_PORTS ...; skipped without them). Runs the monitor on a libevent loop
 * and checks: roles, the volatility table load and reload, replay LSN for read-your-writes, ejection
 * of a replica whose replay is paused while the primary writes and its readmission after resume, a
 * replica frozen with SIGSTOP timing out and coming back after SIGCONT, and (only with
 * FG_HEALTH_PROMOTE=1, from test/integration/50_routing_health_failover.sh on a cluster of its own, because it
 * changes the topology) promotion of a replica and loss of the primary.
 *
 * Every change this test makes to the cluster is undone on every exit path (replay resumed,
 * processes continued, probe objects dropped), so the suites that run after it see the cluster
 * as it was. Bounded: every wait has a deadline; the whole run takes well under 60 s.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "sqlroute.h"
#include "tap.h"

#define MAX_EVENTS 256
#define MAX_FROZEN 64

static struct event_base *base;
static HealthMonitor *hm;
static RouteVolatility *volatility;
static int	volatility_loads;
static struct
{
	int			node;
	HealthEvent event;
	const void *source;			/* the callbacks' arg: which monitor reported it */
}			events[MAX_EVENTS];
static int	n_events;
static const void *events_wanted_from;	/* non-NULL: saw_event counts only this monitor's events */

static pid_t frozen[MAX_FROZEN];
static int	n_frozen;
static char replica1_conninfo[256];
static bool replay_paused;

static void
on_event(void *arg, int node, HealthEvent event, const char *reason)
{
	printf("# event: node %d (%s) %s: %s\n", node, health_node_name(hm, node), health_event_name(event),
		   reason);
	if (n_events < MAX_EVENTS)
	{
		events[n_events].node = node;
		events[n_events].event = event;
		events[n_events].source = arg;
		n_events++;
	}
}

static void
on_volatility(void *arg, RouteVolatility *table)
{
	sqlroute_volatility_free(volatility);
	volatility = table;
	volatility_loads++;
}

static bool
saw_event(int node, HealthEvent event, int since)
{
	for (int i = since; i < n_events; i++)
		if (events[i].node == node && events[i].event == event &&
			(events_wanted_from == NULL || events[i].source == events_wanted_from))
			return true;
	return false;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * WAIT_MS: the bound of every wait for an event a test checks. Generous, because the machine may be
 * busy: a test may wait for an event, it may not require that it come fast (the time taken is printed
 * as a diagnostic where it is of interest).
 */
#define WAIT_MS 30000

/* run_until: runs the loop until pred(arg) holds or timeout_ms passes; returns pred's last value. */
static bool
run_until(bool (*pred) (const void *), const void *arg, long timeout_ms)
{
	int64_t		deadline = now_ms() + timeout_ms;
	struct timeval tick = {0, 20000};

	while (!pred(arg))
	{
		if (now_ms() >= deadline)
			return false;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return true;
}

typedef struct EventWait
{
	int			node;
	HealthEvent event;
	int			since;
} EventWait;

static bool
pred_event(const void *arg)
{
	const EventWait *w = arg;

	return saw_event(w->node, w->event, w->since);
}

static bool
pred_all_up(const void *arg)
{
	for (int i = 0; i < health_node_count(hm); i++)
		if (health_node_state(hm, i)->status != HEALTH_UP)
			return false;
	return true;
}

static bool
pred_loads(const void *arg)
{
	return volatility_loads >= *(const int *) arg;
}

typedef struct LsnWait
{
	int			node;
	uint64_t	lsn;
} LsnWait;

static bool
pred_usable_at(const void *arg)
{
	const LsnWait *w = arg;

	return health_replica_usable(hm, w->node, w->lsn);
}

static bool
wait_event(int node, HealthEvent event, int since, long timeout_ms)
{
	EventWait	w = {node, event, since};

	return run_until(pred_event, &w, timeout_ms);
}

/* sql: runs one statement on a fresh blocking connection; returns the first value (static) or NULL. */
static const char *
sql(const char *conninfo, const char *query)
{
	static char value[256];
	PGconn	   *conn = PQconnectdb(conninfo);
	PGresult   *res;
	const char *out = NULL;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		printf("# connect failed: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	res = PQexec(conn, query);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
	{
		snprintf(value, sizeof(value), "%s", PQgetvalue(res, 0, 0));
		out = value;
	}
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		out = "";
	else
		printf("# %s: %s", query, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(conn);
	return out;
}

/* freeze: SIGSTOPs a postmaster and every process it started (they are in their own sessions). */
static int
freeze(pid_t postmaster)
{
	DIR		   *proc = opendir("/proc");
	struct dirent *d;

	if (kill(postmaster, SIGSTOP) != 0)
		return -1;
	frozen[n_frozen++] = postmaster;
	while (proc && (d = readdir(proc)) != NULL)
	{
		char		path[300];
		char		buf[512];
		FILE	   *f;
		int			ppid = 0;
		char	   *close_paren;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) != NULL &&
			sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == postmaster && n_frozen < MAX_FROZEN)
		{
			pid_t		child = (pid_t) atoi(d->d_name);

			if (kill(child, SIGSTOP) == 0)
				frozen[n_frozen++] = child;
		}
		fclose(f);
	}
	if (proc)
		closedir(proc);
	return n_frozen;
}

/* restore: undoes what the test did to the cluster; safe to call more than once. */
static void
restore(void)
{
	for (int i = 0; i < n_frozen; i++)
		kill(frozen[i], SIGCONT);
	n_frozen = 0;
	if (replay_paused && sql(replica1_conninfo, "SELECT pg_wal_replay_resume()"))
		replay_paused = false;
}

static void
on_signal(int sig)
{
	restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* the refusing node's checks: when each ended and the delay it armed, for the backoff test */
#define MAX_RECORDED_CHECKS 16
static int	n_recorded;
static int64_t recorded_at_ms[MAX_RECORDED_CHECKS];
static long recorded_delay_ms[MAX_RECORDED_CHECKS];

static void
count_check(void *arg, int node)
{
	if (node == 0 && n_recorded < MAX_RECORDED_CHECKS && hm != NULL)
	{
		struct timeval loop_now;

		/* the loop's own clock: the one the monitor's timers are armed against */
		event_base_gettimeofday_cached(base, &loop_now);
		recorded_at_ms[n_recorded] = (int64_t) loop_now.tv_sec * 1000 + loop_now.tv_usec / 1000;
		recorded_delay_ms[n_recorded] = health_node_state(hm, 0)->next_check_ms;
		n_recorded++;
	}
}

static bool
pred_recorded(const void *arg)
{
	return n_recorded >= *(const int *) arg;
}

/*
 * test_offline: what needs no PostgreSQL: LSN parsing, a refused connection (down once, then retried
 * with backoff), a server that accepts the connection but never answers (timeout), no primary.
 */
static void
test_offline(void)
{
	uint64_t	lsn = 0;
	int			listener;
	struct sockaddr_in addr = {0};
	socklen_t	addr_len = sizeof(addr);
	char		conninfo[2][128];
	HealthNodeConfig nodes[2];
	HealthSettings settings = {
		.check_period_ms = 50,
		.check_timeout_ms = 300,
		.backoff_max_ms = 400,
	};
	HealthCallbacks callbacks = {on_event, NULL, count_check, NULL};
	int64_t		started;
	int			refused_checks;

	tap_ok(health_parse_lsn("16/B374D848", &lsn) && lsn == 0x16B374D848ULL, "LSN 16/B374D848 parsed");
	tap_ok(health_parse_lsn("0/0", &lsn) && lsn == 0, "LSN 0/0 parsed");
	tap_ok(!health_parse_lsn("16B374D848", &lsn) && !health_parse_lsn("1/2x", &lsn) &&
		   !health_parse_lsn("", &lsn), "malformed LSNs refused");

	/* a port that refuses connections, and one that accepts them but never answers */
	listener = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listener < 0 || bind(listener, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr *) &addr, &addr_len) != 0)
	{
		tap_ok(false, "test listener set up");
		return;
	}
	snprintf(conninfo[0], sizeof(conninfo[0]), "hostaddr=127.0.0.1 port=1 user=x dbname=x");
	snprintf(conninfo[1], sizeof(conninfo[1]), "hostaddr=127.0.0.1 port=%d user=x dbname=x",
			 ntohs(addr.sin_port));
	nodes[0] = (HealthNodeConfig) {"refused", conninfo[0], true, NULL};
	nodes[1] = (HealthNodeConfig) {"silent", conninfo[1], false, NULL};
	n_events = 0;
	hm = health_create(base, nodes, 2, &settings, &callbacks);
	if (!tap_ok(hm != NULL, "offline monitor created"))
		return;
	/*
	 * Backoff, judged without a clock bound: the delay each failed check arms doubles from the period
	 * up to backoff_max_ms (50, 100, 200, 400, 400 ms), and the next check never starts before it.
	 * A slow machine only makes the gaps longer.
	 */
	started = now_ms();
	n_recorded = 0;
	{
		int			want_recorded = 6;
		static const long expected_delay[] = {50, 100, 200, 400, 400, 400};
		bool		delays_ok = true;
		bool		gaps_ok = true;

		tap_ok(run_until(pred_recorded, &want_recorded, WAIT_MS), "the refusing node was checked 6 times");
		for (int i = 0; i < want_recorded && i < n_recorded; i++)
		{
			printf("# check %d of the refusing node at +%lld ms (loop clock), next in %ld ms\n", i + 1,
				   (long long) (recorded_at_ms[i] - recorded_at_ms[0]), recorded_delay_ms[i]);
			delays_ok &= recorded_delay_ms[i] == expected_delay[i];
			if (i > 0)
				gaps_ok &= recorded_at_ms[i] - recorded_at_ms[i - 1] >= recorded_delay_ms[i - 1] - 1;
		}
		tap_ok(n_recorded >= want_recorded && delays_ok,
			   "backoff: the delays armed after failed checks double from the period to backoff_max_ms "
			   "(50, 100, 200, 400, 400, 400 ms)");
		tap_ok(n_recorded >= want_recorded && gaps_ok, "no check starts before its armed delay has passed");
	}
	refused_checks = (int) health_node_state(hm, 0)->checks;
	printf("# in %lld ms: %d checks of the refusing node, %d of the silent one\n",
		   (long long) (now_ms() - started), refused_checks, (int) health_node_state(hm, 1)->checks);
	tap_ok(saw_event(0, HEALTH_EV_DOWN, 0), "refused connection: down");
	tap_ok(strstr(health_node_state(hm, 0)->last_error, "cannot connect") != NULL, "reason names the connect failure");
	tap_is_long(health_node_state(hm, 0)->failures, refused_checks, "every check failed");
	{
		int			downs = 0;

		for (int i = 0; i < n_events; i++)
			downs += events[i].node == 0 && events[i].event == HEALTH_EV_DOWN;
		tap_is_long(downs, 1, "down reported once, not at every failed check");
	}
	tap_ok(wait_event(1, HEALTH_EV_DOWN, 0, WAIT_MS) &&
		   strstr(health_node_state(hm, 1)->last_error, "timed out") != NULL,
		   "a server that never answers times out");
	tap_is_long(health_pick_write_node(hm), -1, "no write node when no primary answers");
	tap_ok(!health_replica_usable(hm, 1, 0) && !health_replica_usable(hm, 7, 0), "no usable replica");
	tap_ok(health_node_state(hm, 2) == NULL, "state of a node out of range is NULL");
	health_free(hm);
	hm = NULL;
	close(listener);
	n_events = 0;
}

int
main(void)
{
	const char *host = getenv("FG_HOST") ? getenv("FG_HOST") : "127.0.0.1";
	const char *primary_port = getenv("FG_PRIMARY_PORT");
	const char *replica_ports = getenv("FG_REPLICA_PORTS");
	const char *replica1_data = getenv("FG_REPLICA1_DATA");
	const char *replica2_data = getenv("FG_REPLICA2_DATA");
	const char *promote = getenv("FG_HEALTH_PROMOTE");
	char		ports[3][16];
	char		names[3][64];
	char		conninfo[3][256];
	HealthNodeConfig nodes[3];
	HealthSettings settings = {
		.check_period_ms = 200,
		.check_timeout_ms = 1000,
		.max_lag_bytes = 256 * 1024,
		.max_lag_ms = 0,
		.backoff_max_ms = 800,
		.volatility_refresh_checks = 0,
	};
	HealthCallbacks callbacks = {on_event, on_volatility, NULL, NULL};
	RouteContext ctx = {.volatility = NULL, .standard_conforming_strings = true};
	int			mark;
	int64_t		waited_from;

	setvbuf(stdout, NULL, _IOLBF, 0);
	base = event_base_new();
	test_offline();
	if (!primary_port || !replica_ports ||
		sscanf(replica_ports, "%15s %15s", ports[1], ports[2]) != 2)
	{
		tap_skip("no test cluster: the cluster tests need the harness's primary and 2 replicas "
				 "(FG_PRIMARY_PORT, FG_REPLICA_PORTS)");
		event_base_free(base);
		return tap_done();
	}
	snprintf(ports[0], sizeof(ports[0]), "%s", primary_port);
	for (int i = 0; i < 3; i++)
	{
		snprintf(names[i], sizeof(names[i]), "%s:%s", host, ports[i]);
		snprintf(conninfo[i], sizeof(conninfo[i]),
				 "hostaddr=%s port=%s dbname=postgres user=postgres application_name=faregate_health_test",
				 host, ports[i]);
		nodes[i].name = names[i];
		nodes[i].conninfo = conninfo[i];
		nodes[i].configured_primary = i == 0;
		nodes[i].host = NULL;
	}
	snprintf(replica1_conninfo, sizeof(replica1_conninfo), "%s", conninfo[1]);
	atexit(restore);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);

	hm = health_create(base, nodes, 3, &settings, &callbacks);
	if (!tap_ok(hm != NULL, "monitor created"))
		return tap_done();
	{
		HealthSettings bad = settings;

		bad.check_timeout_ms = 0;
		tap_ok(health_create(base, nodes, 3, &bad, &callbacks) == NULL, "a zero timeout is refused");
	}

	/* roles */
	tap_ok(run_until(pred_all_up, NULL, WAIT_MS), "all three nodes up");
	tap_is_str(health_role_name(health_node_state(hm, 0)->role), "primary", "node 0 verified primary");
	tap_is_str(health_role_name(health_node_state(hm, 1)->role), "replica", "node 1 verified replica");
	tap_is_str(health_role_name(health_node_state(hm, 2)->role), "replica", "node 2 verified replica");
	tap_is_long(health_pick_write_node(hm), 0, "writes go to node 0");
	tap_ok(health_node_state(hm, 0)->timeline >= 1, "the primary's timeline is known");
	tap_ok(health_primary_lsn(hm) > 0, "primary LSN known");
	tap_ok(health_replica_usable(hm, 1, 0) && health_replica_usable(hm, 2, 0), "both replicas usable");
	tap_ok(!health_replica_usable(hm, 0, 0), "the primary is not a replica");
	tap_ok(saw_event(0, HEALTH_EV_UP, 0) && !saw_event(0, HEALTH_EV_PROMOTED, 0) &&
		   !saw_event(1, HEALTH_EV_PROMOTED, 0), "no promotion reported on a healthy cluster");

	/* volatility table from pg_proc, and a reload that sees a new function */
	{
		int			one = 1;
		int			two;

		tap_ok(run_until(pred_loads, &one, WAIT_MS), "volatility table loaded at start");
		tap_ok(sqlroute_volatility_count(volatility) > 1000, "it holds pg_proc's functions");
		tap_is_long(sqlroute_volatility_lookup(volatility, "pg_catalog", 10, "nextval", 7), 'v', "nextval volatile");
		tap_is_long(sqlroute_volatility_lookup(volatility, NULL, 0, "now", 3), 's', "now stable");
		tap_is_long(sqlroute_volatility_lookup(volatility, NULL, 0, "lower", 5), 'i', "lower immutable");
		ctx.volatility = volatility;
		tap_is_long(sqlroute_classify("SELECT nextval('s')", 19, &ctx, NULL), ROUTE_WRITE, "loaded table: nextval write");
		tap_is_long(sqlroute_classify("SELECT lower(now()::text)", 25, &ctx, NULL), ROUTE_READ, "loaded table: read");
		tap_is_long(sqlroute_classify("SELECT fg_health_probe()", 24, &ctx, NULL), ROUTE_WRITE,
					"probe function unknown before it exists");
		tap_ok(sql(conninfo[0], "CREATE OR REPLACE FUNCTION public.fg_health_probe() RETURNS int "
				   "LANGUAGE sql STABLE AS 'SELECT 1'") != NULL, "probe function created");
		two = volatility_loads + 1;
		health_reload_volatility(hm);
		tap_ok(run_until(pred_loads, &two, WAIT_MS), "reload on demand");
		ctx.volatility = volatility;
		tap_is_long(sqlroute_volatility_lookup(volatility, "public", 6, "fg_health_probe", 15), 's',
					"new function in the reloaded table");
		tap_is_long(sqlroute_classify("SELECT fg_health_probe()", 24, &ctx, NULL), ROUTE_READ,
					"stable probe function: read");
		sql(conninfo[0], "DROP FUNCTION IF EXISTS public.fg_health_probe()");
	}

	/* read-your-writes: a replica becomes usable for an LSN once it replays it */
	{
		const char *lsn_text = sql(conninfo[0], "SELECT pg_current_wal_lsn()");
		LsnWait		w = {1, 0};

		tap_ok(lsn_text && health_parse_lsn(lsn_text, &w.lsn), "primary LSN read");
		tap_ok(run_until(pred_usable_at, &w, WAIT_MS), "replica 1 usable at that LSN");
		tap_ok(!health_replica_usable(hm, 1, w.lsn + (1ULL << 40)), "not usable at a future LSN");
	}

	/* lag: pause replay on replica 1, write on the primary: ejected; resume: readmitted */
	mark = n_events;
	replay_paused = sql(conninfo[1], "SELECT pg_wal_replay_pause()") != NULL;
	tap_ok(replay_paused, "replay paused on replica 1");
	tap_ok(sql(conninfo[0], "CREATE TABLE IF NOT EXISTS fg_health_lag (a int, b text);"
			   "INSERT INTO fg_health_lag SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g") != NULL,
		   "about 3 MB of WAL written on the primary");
	tap_ok(wait_event(1, HEALTH_EV_EJECTED, mark, WAIT_MS), "replica 1 ejected for lag");
	tap_is_str(health_status_name(health_node_state(hm, 1)->status), "lagging", "replica 1 lagging");
	tap_ok(health_node_state(hm, 1)->lag_bytes > settings.max_lag_bytes, "its byte lag is above the limit");
	tap_ok(health_node_state(hm, 1)->replay_paused, "paused replay reported");
	tap_ok(!health_replica_usable(hm, 1, 0), "a lagging replica takes no reads");
	tap_ok(sql(conninfo[1], "SELECT pg_wal_replay_resume()") != NULL, "replay resumed");
	replay_paused = false;
	tap_ok(wait_event(1, HEALTH_EV_READMITTED, mark, WAIT_MS), "replica 1 readmitted");
	tap_ok(health_replica_usable(hm, 1, 0), "usable again");
	sql(conninfo[0], "DROP TABLE IF EXISTS fg_health_lag");

	/*
	 * a second monitor with a time limit only and a periodic volatility refresh: paused replay plus a
	 * write ejects replica 1 by time lag; the table reloads by itself every 5 primary checks
	 */
	{
		HealthSettings timed = settings;
		HealthNodeConfig two[2] = {nodes[0], nodes[1]};
		HealthMonitor *main_hm = hm;
		int			loads_before;
		int			want_loads;
		HealthCallbacks timed_callbacks = callbacks;

		timed.max_lag_bytes = 0;
		timed.max_lag_ms = 500;
		timed.volatility_refresh_checks = 5;
		/* the main monitor still runs and may eject node 1 for byte lag: wait for this one's events */
		timed_callbacks.arg = &timed;
		events_wanted_from = &timed;
		hm = health_create(base, two, 2, &timed, &timed_callbacks);
		tap_ok(hm != NULL, "time-limited monitor created");
		tap_ok(run_until(pred_all_up, NULL, WAIT_MS), "its two nodes are up");
		loads_before = volatility_loads;
		want_loads = loads_before + 3;
		waited_from = now_ms();
		tap_ok(run_until(pred_loads, &want_loads, WAIT_MS),
			   "volatility table reloaded periodically (every 5 checks x 200 ms): 3 more loads");
		printf("# 3 loads in %lld ms\n", (long long) (now_ms() - waited_from));
		mark = n_events;
		replay_paused = sql(conninfo[1], "SELECT pg_wal_replay_pause()") != NULL;
		tap_ok(replay_paused && sql(conninfo[0], "CREATE TABLE fg_health_time (a int); DROP TABLE fg_health_time"),
			   "replay paused, small write on the primary");
		tap_ok(wait_event(1, HEALTH_EV_EJECTED, mark, WAIT_MS), "ejected for time lag");
		tap_ok(health_node_state(hm, 1)->lag_ms > timed.max_lag_ms, "its time lag is above 500 ms");
		tap_ok(sql(conninfo[1], "SELECT pg_wal_replay_resume()") != NULL, "replay resumed");
		replay_paused = false;
		tap_ok(wait_event(1, HEALTH_EV_READMITTED, mark, WAIT_MS), "readmitted after resume");
		health_free(hm);
		events_wanted_from = NULL;
		hm = main_hm;
		/* let the main monitor see the resumed replica again */
		run_until(pred_all_up, NULL, WAIT_MS);
	}

	/* a replica frozen with SIGSTOP (postmaster and its processes) times out and is ejected */
	if (replica1_data)
	{
		char		path[512];
		FILE	   *f;
		int			postmaster = 0;
		int64_t		started;

		snprintf(path, sizeof(path), "%s/postmaster.pid", replica1_data);
		f = fopen(path, "r");
		if (f)
		{
			if (fscanf(f, "%d", &postmaster) != 1)
				postmaster = 0;
			fclose(f);
		}
		if (tap_ok(postmaster > 0 && kill(postmaster, 0) == 0,
				   "replica 1's postmaster can be signalled (pid from postmaster.pid)"))
		{
			mark = n_events;
			started = now_ms();
			tap_ok(freeze(postmaster) > 1, "replica 1 frozen with SIGSTOP");
			tap_ok(wait_event(1, HEALTH_EV_DOWN, mark, WAIT_MS), "frozen replica reported down");
			printf("# down after %lld ms (timeout %ld ms, period %ld ms)\n", (long long) (now_ms() - started),
				   settings.check_timeout_ms, settings.check_period_ms);
			tap_ok(strstr(health_node_state(hm, 1)->last_error, "timed out") != NULL, "because the check timed out");
			tap_ok(!health_replica_usable(hm, 1, 0), "a frozen replica takes no reads");
			tap_ok(health_replica_usable(hm, 2, 0), "the other replica still does");
			tap_is_long(health_pick_write_node(hm), 0, "writes still go to the primary");
			restore();
			mark = n_events;
			tap_ok(wait_event(1, HEALTH_EV_UP, mark, WAIT_MS), "replica 1 back up after SIGCONT");
		}
	}

	/* promotion and loss of the primary: changes the cluster, so only on a cluster of its own */
	if (promote && strcmp(promote, "1") == 0 && replica2_data && getenv("FG_PG_BIN"))
	{
		char		cmd[1024];
		const char *run_as = getenv("FG_RUN_AS") ? getenv("FG_RUN_AS") : "";

		mark = n_events;
		snprintf(cmd, sizeof(cmd), "%s %s/pg_ctl -D %s -w promote >/dev/null", run_as, getenv("FG_PG_BIN"),
				 replica2_data);
		tap_is_long(system(cmd), 0, "pg_ctl promote of replica 2");
		waited_from = now_ms();
		tap_ok(wait_event(2, HEALTH_EV_PROMOTED, mark, WAIT_MS), "promotion detected");
		printf("# promotion detected %lld ms after pg_ctl promote returned (check period %ld ms)\n",
			   (long long) (now_ms() - waited_from), settings.check_period_ms);
		tap_is_long(health_pick_write_node(hm), 2, "writes go to the promoted node, not the old primary");
		tap_ok(health_node_state(hm, 2)->timeline > health_node_state(hm, 0)->timeline,
			   "the promoted node is on a newer timeline than the old primary");
		tap_ok(!health_replica_usable(hm, 2, 0), "the promoted node is no longer a read replica");
		mark = n_events;
		snprintf(cmd, sizeof(cmd), "%s %s/pg_ctl -D %s -m immediate -w stop >/dev/null", run_as,
				 getenv("FG_PG_BIN"), getenv("FG_PRIMARY_DATA"));
		tap_is_long(system(cmd), 0, "old primary stopped");
		tap_ok(wait_event(0, HEALTH_EV_DOWN, mark, WAIT_MS), "old primary reported down");
		tap_is_long(health_pick_write_node(hm), 2, "writes still go to the promoted node");
		tap_ok(health_node_state(hm, 1)->role == HEALTH_ROLE_REPLICA, "replica 1 stays a replica");
	}

	health_free(hm);
	sqlroute_volatility_free(volatility);
	event_base_free(base);
	restore();
	return tap_done();
}
