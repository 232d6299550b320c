/*
 * metrics.h: the pooler's own counters that SHOW STATS does not hold (wait-time histogram, errors by
 * SQLSTATE class, rate-limit rejections, per-node traffic), and the evhttp endpoints on metrics_port:
 * GET /metrics (Prometheus text format 0.0.4), GET /health and GET /health/read (JSON for load
 * balancers). Everything runs on the pooler's one event loop: counters are plain increments.
 */
#ifndef FAREGATE_METRICS_H
#define FAREGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct HealthMonitor HealthMonitor;

/* Upper bounds (seconds) of the wait-time histogram buckets; +Inf is implicit. */
#define METRICS_WAIT_BUCKETS 12

/* metrics_start: listens on metrics_addr:metrics_port when metrics_port > 0. false + err on failure. */
__attribute__((warn_unused_result))
extern bool metrics_start(char *err, size_t errlen);

/* metrics_stop: closes the HTTP listener (NULL-safe; at shutdown). */
extern void metrics_stop(void);

/* metrics_observe_wait: a client waited wait_us for a server (client_link). */
extern void metrics_observe_wait(uint64_t wait_us);

/*
 * metrics_count_error: an ErrorResponse with sqlstate reached a client; from_server says whether
 * PostgreSQL sent it (passed through) or the pooler (client_send_error, client_close).
 */
extern void metrics_count_error(const char *sqlstate, bool from_server);

/* metrics_count_ratelimit: a request or login refused by limit (its config key's name). */
extern void metrics_count_ratelimit(const char *limit);

/*
 * metrics_register_health: the health monitor watching the hosts of database dbname (health.c); its
 * node states feed faregate_node_* series and /health. Without one, /health derives reachability from
 * the pool's own server connections (a failed connect marks the node unreachable until one succeeds).
 * hm NULL removes the registration.
 */
extern void metrics_register_health(const char *dbname, HealthMonitor *hm);

/*
 * metrics_render: the /metrics body into buf (malloc'ed, *len bytes); false when out of memory.
 * Exposed for the unit test.
 */
__attribute__((warn_unused_result))
extern bool metrics_render(char **buf, size_t *len);

/*
 * metrics_health_json: the /health (read = false) or /health/read body (malloc'ed) and whether it
 * serves (200) or not (503).
 */
__attribute__((warn_unused_result))
extern bool metrics_health_json(bool read, char **buf, size_t *len, bool *serving);

/* metrics_ratelimit_rejections: total rejections by every limit (SHOW STATS). */
extern uint64_t metrics_ratelimit_rejections(void);

#endif
