/*
 * config.c: owns faregate-pooler's configuration: the cf_* key table, INI parsing of the config file
 * ([pooler] or [pgbouncer], and [databases]), and value formatting for SHOW CONFIG.
 *
 * File format (PgBouncer's): lines "key = value" under a [section] header; ';' or '#' start a comment
 * line; blank lines are ignored; "%include FILE" reads FILE in place (issue 15, up to 8 levels deep). Every error names the file, the line and what to do. Parsing never
 * touches the live configuration: it fills a fresh Config, so a reload with a bad file changes nothing.
 */
#include "config.h"
#include "hostlist.h"
#include "patroni.h"
#include "params.h"
#include "pgbcompat.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

Config		cf;

#define CF_OFF(field) offsetof(Config, field)
#define INT_KEY(name, def, reload, lo, hi) {#name, CFK_INT, CF_OFF(name), def, reload, lo, hi}
#define STR_KEY(name, def, reload) {#name, CFK_STRING, CF_OFF(name), def, reload, 0, 0}
#define TIME_KEY(name, def, reload) {#name, CFK_TIME_MS, CF_OFF(name##_ms), def, reload, 0, 0}

const ConfigKey config_keys[] = {
	STR_KEY(listen_addr, "127.0.0.1", false),
	INT_KEY(listen_port, "6432", false, 1, 65535),
	STR_KEY(unix_socket_dir, "", false),
	{"auth_type", CFK_AUTH_TYPE, CF_OFF(auth_type), "md5", true, 0, 0},
	STR_KEY(auth_file, "", true),
	STR_KEY(auth_salt_key_file, "", true),
	/* issue 16, auth16: auth_query (authquery.c) and auth_type = hba (hba.c); docs/pooler-auth.md */
	STR_KEY(auth_user, "", true),
	STR_KEY(auth_query, AUTH_QUERY_DEFAULT, true),
	STR_KEY(auth_dbname, "", true),
	STR_KEY(auth_hba_file, "", true),
	STR_KEY(auth_ident_file, "", true),
	{"pool_mode", CFK_POOL_MODE, CF_OFF(pool_mode), "transaction", true, 0, 0},
	INT_KEY(default_pool_size, "20", true, 1, 100000),
	INT_KEY(min_pool_size, "0", true, 0, 100000),
	INT_KEY(reserve_pool_size, "0", true, 0, 100000),
	TIME_KEY(reserve_pool_timeout, "5", true),
	INT_KEY(max_client_conn, "100", true, 1, 1000000),
	INT_KEY(max_login_clients, "0", true, 0, 1000000),
	INT_KEY(admin_reserved_connections, "3", true, 0, 1000000),
	INT_KEY(max_db_connections, "0", true, 0, 100000),
	STR_KEY(server_reset_query, "DISCARD ALL", true),
	INT_KEY(max_prepared_statements, "200", true, 0, 1000000),
	STR_KEY(server_check_query, "<empty>", true),	/* PgBouncer 1.25: "<empty>" sends an empty query */
	TIME_KEY(server_check_delay, "30", true),
	TIME_KEY(server_idle_timeout, "600", true),
	TIME_KEY(server_lifetime, "3600", true),
	TIME_KEY(server_connect_timeout, "15", true),
	TIME_KEY(query_timeout, "0", true),
	TIME_KEY(query_wait_timeout, "120", true),
	TIME_KEY(idle_transaction_timeout, "0", true),
	TIME_KEY(client_idle_timeout, "0", true),
	TIME_KEY(client_login_timeout, "60", true),
	TIME_KEY(autodb_idle_timeout, "3600", true),
	TIME_KEY(shutdown_timeout, "30", true),
	STR_KEY(admin_users, "", true),
	STR_KEY(stats_users, "", true),
	STR_KEY(logfile, "", true),
	STR_KEY(pidfile, "", false),
	INT_KEY(verbose, "0", true, 0, 3),
	STR_KEY(metrics_addr, "127.0.0.1", false),
	INT_KEY(metrics_port, "0", false, 0, 65535),
	INT_KEY(metrics_max_connections, "16", true, 1, 10000),
	TIME_KEY(metrics_request_timeout, "10", true),
	STR_KEY(metrics_bearer_token, "", true),
	STR_KEY(metrics_basic_auth, "", true),
	INT_KEY(max_user_connections, "0", true, 0, 100000),
	INT_KEY(user_tps_limit, "0", true, 0, 10000000),
	INT_KEY(client_tps_limit, "0", true, 0, 10000000),
	INT_KEY(tps_burst, "0", true, 0, 10000000),
	TIME_KEY(rate_limit_delay, "1", true),
	STR_KEY(client_tls_sslmode, "disable", true),
	STR_KEY(client_tls_key_file, "", true),
	STR_KEY(client_tls_cert_file, "", true),
	STR_KEY(client_tls_ca_file, "", true),
	STR_KEY(server_tls_sslmode, "disable", true),
	STR_KEY(server_tls_ca_file, "", true),
	STR_KEY(server_tls_key_file, "", true),
	STR_KEY(server_tls_cert_file, "", true),
	STR_KEY(read_routing, "on", true),
	TIME_KEY(health_check_period, "1", true),
	STR_KEY(max_replica_lag, "16MB", true),
	STR_KEY(replica_fallback, "primary", true),
	STR_KEY(read_your_writes, "off", true),
	STR_KEY(load_balance, "least_busy", true),
	STR_KEY(read_only_users, "", true),
	INT_KEY(so_reuseport, "0", false, 0, 1),
	INT_KEY(peer_id, "0", false, 0, 16383),
	/* Patroni REST discovery of a database's members (patroni= on a database line; docs/routing.md) */
	TIME_KEY(patroni_poll_period, "1", true),
	TIME_KEY(patroni_request_timeout, "2", true),
	/* issue 16, session state (session.c; docs/pooler.md "Session parameters and session state") */
	STR_KEY(track_extra_parameters, "IntervalStyle, extra_float_digits", true),	/* docs/architecture.md */
	INT_KEY(server_reset_query_always, "0", true, 0, 1),
	STR_KEY(session_state_action, "pin", true),
	/* issue 16, DNS (dns.c; docs/pooler.md "Host names and DNS") */
	TIME_KEY(dns_max_ttl, "15", true),
	TIME_KEY(dns_nxdomain_ttl, "15", true),
	STR_KEY(dns_resolv_conf, "/etc/resolv.conf", false),
	STR_KEY(resolv_conf, "", false),	/* PgBouncer's name: when set, it replaces dns_resolv_conf */
	TIME_KEY(dns_zone_check_period, "0", true),
	/*
	 * issue 15: the rest of PgBouncer 1.25's keys. The ones that apply: user (main.c), unix_socket_*,
	 * listen_backlog, tcp_* (listener.c, sockopt.c). pgbcompat.c lists the others: accepted with no
	 * effect (and why), or accepted only at their default value.
	 */
	STR_KEY(user, "", false),
	STR_KEY(unix_socket_mode, "0777", false),
	STR_KEY(unix_socket_group, "", false),
	INT_KEY(listen_backlog, "4096", false, 1, 65535),
	INT_KEY(tcp_defer_accept, "0", false, 0, 3600),
	INT_KEY(tcp_socket_buffer, "0", true, 0, 1 << 30),
	INT_KEY(tcp_keepalive, "1", true, 0, 1),
	INT_KEY(tcp_keepcnt, "0", true, 0, 1000),
	INT_KEY(tcp_keepidle, "0", true, 0, 1000000),
	INT_KEY(tcp_keepintvl, "0", true, 0, 1000000),
	INT_KEY(tcp_user_timeout, "0", true, 0, INT_MAX),
	INT_KEY(max_db_client_connections, "0", true, 0, 1000000),
	INT_KEY(max_user_client_connections, "0", true, 0, 1000000),
	INT_KEY(server_round_robin, "0", true, 0, 1),
	STR_KEY(ignore_startup_parameters, "extra_float_digits", true),	/* issue 16: session.c */
	INT_KEY(disable_pqexec, "0", false, 0, 1),
	INT_KEY(application_name_add_host, "0", true, 0, 1),
	STR_KEY(conffile, "", true),
	STR_KEY(service_name, "pgbouncer", false),
	STR_KEY(job_name, "pgbouncer", false),
	TIME_KEY(stats_period, "60", true),
	INT_KEY(scram_iterations, "4096", true, 1, INT_MAX),
	STR_KEY(auth_ldap_options, "", true),
	INT_KEY(syslog, "0", false, 0, 1),
	STR_KEY(syslog_ident, "pgbouncer", false),
	STR_KEY(syslog_facility, "daemon", false),
	INT_KEY(log_connections, "1", true, 0, 1),
	INT_KEY(log_disconnections, "1", true, 0, 1),
	INT_KEY(log_pooler_errors, "1", true, 0, 1),
	INT_KEY(log_stats, "1", true, 0, 1),
	INT_KEY(server_fast_close, "0", true, 0, 1),
	TIME_KEY(server_login_retry, "1", true),
	TIME_KEY(query_wait_notify, "5", true),
	STR_KEY(client_tls_protocols, "secure", true),
	STR_KEY(client_tls_ciphers, "default", true),
	STR_KEY(client_tls13_ciphers, "", true),
	STR_KEY(client_tls_ecdhcurve, "auto", true),
	STR_KEY(client_tls_dheparams, "auto", true),
	STR_KEY(server_tls_protocols, "secure", true),
	STR_KEY(server_tls_ciphers, "default", true),
	STR_KEY(server_tls13_ciphers, "", true),
	TIME_KEY(cancel_wait_timeout, "10", true),
	TIME_KEY(transaction_timeout, "0", true),
	TIME_KEY(suspend_timeout, "10", true),
	INT_KEY(pkt_buf, "4096", false, 512, 1 << 30),
	INT_KEY(max_packet_size, "2147483647", true, 1024, INT_MAX),
	INT_KEY(sbuf_loopcnt, "5", true, 0, 1000000),
	{NULL, 0, 0, NULL, false, 0, 0}
};

typedef enum Section
{
	SEC_NONE,
	SEC_POOLER,
	SEC_DATABASES,
	SEC_USERS,					/* PgBouncer's [users]: parse_user_line (issue 15) */
	SEC_PEERS					/* PgBouncer's [peers]: config_parse_peer_line */
} Section;

bool
config_file_error(char *err, size_t errlen, const char *path, int line, const char *fmt,...)
{
	va_list		ap;
	int			n = snprintf(err, errlen, "%s:%d: ", path, line);

	if (n < 0 || (size_t) n >= errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return false;
}

static char *
trim(char *s)
{
	char	   *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

static bool
copy_string(char *dst, size_t dstlen, const char *src)
{
	size_t		len = strlen(src);

	if (len >= dstlen)
		return false;
	memcpy(dst, src, len + 1);
	return true;
}

/* parse_int: whole decimal number within [lo, hi]. */
static bool
parse_int(const char *text, int lo, int hi, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *trim(end) != '\0' || v < lo || v > hi)
		return false;
	*out = (int) v;
	return true;
}

/* parse_time_ms: "15" (seconds), "1.5", "250ms", "30s", "2min", "1h" into milliseconds. */
static bool
parse_time_ms(const char *text, long *out)
{
	char	   *end;
	double		v;
	double		scale = 1000.0;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || v < 0)
		return false;
	end = trim(end);
	if (*end == '\0' || strcmp(end, "s") == 0)
		scale = 1000.0;
	else if (strcmp(end, "ms") == 0)
		scale = 1.0;
	else if (strcmp(end, "min") == 0)
		scale = 60000.0;
	else if (strcmp(end, "h") == 0)
		scale = 3600000.0;
	else
		return false;
	if (v * scale > (double) LONG_MAX / 2)
		return false;
	*out = (long) (v * scale + 0.5);
	return true;
}

/* config_parse_auth_type_more: the auth_type values of issue 16 (plain, cert, any, hba). */
static bool
config_parse_auth_type_more(const char *value, AuthType *out)
{
	static const struct
	{
		const char *name;
		AuthType	type;
	}			more[] = {{"plain", AUTH_PLAIN}, {"cert", AUTH_CERT}, {"any", AUTH_ANY}, {"hba", AUTH_HBA}};

	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (strcmp(value, more[i].name) == 0)
		{
			*out = more[i].type;
			return true;
		}
	return false;
}

const char *
config_auth_type_name(AuthType type)
{
	switch (type)
	{
		case AUTH_TRUST:
			return "trust";
		case AUTH_MD5:
			return "md5";
		case AUTH_SCRAM:
			return "scram-sha-256";
		case AUTH_PLAIN:
			return "plain";
		case AUTH_CERT:
			return "cert";
		case AUTH_ANY:
			return "any";
		case AUTH_HBA:
			return "hba";
	}
	return "?";
}

/*
 * config_check_auth: the authentication settings fit together: a password method needs somewhere to find
 * secrets (auth_file, or auth_user for auth_query), hba needs its file, and the admin console is no
 * auth_dbname (it has no server to run auth_query on).
 */
static bool
config_check_auth(const Config *cfg, char *why, size_t whylen)
{
	bool		any_auth_user = cfg->auth_user[0] != '\0';

	for (int i = 0; i < cfg->n_databases; i++)
		any_auth_user = any_auth_user || cfg->databases[i].auth_user[0] != '\0';
	if ((cfg->auth_type == AUTH_MD5 || cfg->auth_type == AUTH_SCRAM || cfg->auth_type == AUTH_PLAIN) &&
		cfg->auth_file[0] == '\0' && !any_auth_user)
		return snprintf(why, whylen, "auth_type %s needs auth_file (PgBouncer's userlist.txt format) or "
						"auth_user (auth_query); md5 is the default: set auth_file, or auth_type = trust to let "
						"every user in without a password", config_auth_type_name(cfg->auth_type)), false;
	if (cfg->auth_type == AUTH_HBA && cfg->auth_hba_file[0] == '\0')
		return snprintf(why, whylen, "auth_type hba needs auth_hba_file (pg_hba.conf format)"), false;
	if (strcmp(cfg->auth_dbname, "pgbouncer") == 0 || strcmp(cfg->auth_dbname, "faregate") == 0)
		return snprintf(why, whylen, "cannot use the reserved \"%s\" database as an auth_dbname: name a "
						"[databases] entry", cfg->auth_dbname), false;
	return true;
}

const char *
config_pool_mode_name(PoolMode mode)
{
	return mode == POOL_SESSION ? "session" : mode == POOL_STATEMENT ? "statement" : "transaction";
}

/* config_parse_pool_mode_word: a pool_mode value ([pooler], a [databases] or [users] line) into *out. */
static bool
config_parse_pool_mode_word(const char *value, int *out, char *why, size_t whylen)
{
	if (strcmp(value, "transaction") == 0)
		*out = POOL_TRANSACTION;
	else if (strcmp(value, "session") == 0)
		*out = POOL_SESSION;
	else if (strcmp(value, "statement") == 0)
		*out = POOL_STATEMENT;
	else
		return snprintf(why, whylen, "pool_mode must be session, transaction or statement, not \"%s\"", value),
			false;
	return true;
}

static bool
set_key(Config *cfg, const ConfigKey *key, const char *value, char *why, size_t whylen)
{
	char	   *field = (char *) cfg + key->offset;

	switch (key->kind)
	{
		case CFK_STRING:
			if (!copy_string(field, CF_STR_MAX, value))
				return snprintf(why, whylen, "value of %s is longer than %d bytes", key->name,
								CF_STR_MAX - 1), false;
			return true;
		case CFK_INT:
			if (!parse_int(value, key->min_value, key->max_value, (int *) field))
				return snprintf(why, whylen, "%s must be a whole number from %d to %d, not \"%s\"",
								key->name, key->min_value, key->max_value, value), false;
			return true;
		case CFK_TIME_MS:
			if (!parse_time_ms(value, (long *) field))
				return snprintf(why, whylen,
								"%s must be a duration such as 30, 2.5s, 250ms, 5min or 1h, not \"%s\"",
								key->name, value), false;
			return true;
		case CFK_AUTH_TYPE:
			if (strcmp(value, "trust") == 0)
				*(AuthType *) field = AUTH_TRUST;
			else if (strcmp(value, "md5") == 0)
				*(AuthType *) field = AUTH_MD5;
			else if (strcmp(value, "scram-sha-256") == 0)
				*(AuthType *) field = AUTH_SCRAM;
			else if (!config_parse_auth_type_more(value, (AuthType *) field))
				return snprintf(why, whylen, "auth_type must be trust, md5, scram-sha-256, plain, cert, any "
								"or hba, not \"%s\"", value), false;
			return true;
		case CFK_POOL_MODE:
			{
				int			mode;

				if (!config_parse_pool_mode_word(value, &mode, why, whylen))
					return false;
				*(PoolMode *) field = (PoolMode) mode;
				return true;
			}
	}
	return false;
}

static const ConfigKey *
find_key(const char *name)
{
	for (const ConfigKey *key = config_keys; key->name; key++)
		if (strcmp(key->name, name) == 0)
			return key;
	return NULL;
}

/* parse_replicas: "H1:P1,H2:P2" (port optional, default 5432; [v6]:port for IPv6) into entry. */
static bool
parse_replicas(char *value, DatabaseEntry *entry, char *why, size_t whylen)
{
	char	   *save = NULL;

	entry->n_replicas = 0;
	for (char *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save))
	{
		char	   *host = trim(item);
		char	   *colon;
		int			port = 5432;

		if (entry->n_replicas >= CF_MAX_REPLICAS)
			return snprintf(why, whylen, "at most %d replicas per database", CF_MAX_REPLICAS), false;
		if (host[0] == '[')
		{
			char	   *close = strchr(host, ']');

			if (!close)
				return snprintf(why, whylen, "replica \"%s\": missing ]", host), false;
			*close = '\0';
			colon = close[1] == ':' ? close + 1 : NULL;
			host++;
		}
		else
		{
			colon = strrchr(host, ':');
			if (colon)
				*colon = '\0';
		}
		if (colon && !parse_int(colon + 1, 1, 65535, &port))
			return snprintf(why, whylen, "replica port must be 1 to 65535, not \"%s\"", colon + 1), false;
		if (host[0] == '\0' || !copy_string(entry->replica_host[entry->n_replicas], CF_HOST_MAX, host))
			return snprintf(why, whylen, "replicas must be host:port,host:port"), false;
		entry->replica_port[entry->n_replicas++] = port;
	}
	return true;
}

/* parse_bytes: "16MB", "512kB", "1GB", "4096" (bytes) into bytes; false when it is not a size. */
static bool
parse_bytes(const char *text, int64_t *out)
{
	char	   *end;
	double		v;
	double		scale;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || v < 0)
		return false;
	if (*end == '\0' || strcmp(end, "B") == 0)
		scale = 1;
	else if (strcmp(end, "kB") == 0 || strcmp(end, "KB") == 0)
		scale = 1024.0;
	else if (strcmp(end, "MB") == 0)
		scale = 1024.0 * 1024;
	else if (strcmp(end, "GB") == 0)
		scale = 1024.0 * 1024 * 1024;
	else
		return false;
	*out = (int64_t) (v * scale);
	return true;
}

/*
 * check_routing: derives the routing flags and max_replica_lag's limits from their text. A lag item
 * with a time unit (ms, s, min, h) is a time limit; one with B/kB/MB/GB or no unit is a byte limit.
 */
static bool
check_routing(Config *cfg, char *why, size_t whylen)
{
	char		lag[CF_STR_MAX];
	char	   *save = NULL;

#define ONOFF(field, flag) \
	do { \
		if (strcmp(cfg->field, "on") == 0 || strcmp(cfg->field, "true") == 0 || strcmp(cfg->field, "1") == 0) \
			cfg->flag = true; \
		else if (strcmp(cfg->field, "off") == 0 || strcmp(cfg->field, "false") == 0 || strcmp(cfg->field, "0") == 0) \
			cfg->flag = false; \
		else \
			return snprintf(why, whylen, #field " must be on or off, not \"%s\"", cfg->field), false; \
	} while (0)
	ONOFF(read_routing, read_routing_on);
	ONOFF(read_your_writes, read_your_writes_on);
#undef ONOFF
	if (strcmp(cfg->replica_fallback, "primary") == 0)
		cfg->replica_fallback_error = false;
	else if (strcmp(cfg->replica_fallback, "error") == 0)
		cfg->replica_fallback_error = true;
	else
		return snprintf(why, whylen, "replica_fallback must be primary or error, not \"%s\"",
						cfg->replica_fallback), false;
	if (strcmp(cfg->load_balance, "least_busy") == 0)
		cfg->load_balance_round_robin = false;
	else if (strcmp(cfg->load_balance, "round_robin") == 0)
		cfg->load_balance_round_robin = true;
	else
		return snprintf(why, whylen, "load_balance must be least_busy or round_robin, not \"%s\"",
						cfg->load_balance), false;
	if (cfg->health_check_period_ms < 10)
		return snprintf(why, whylen, "health_check_period must be at least 10ms"), false;
	if (cfg->patroni_poll_period_ms < 10 || cfg->patroni_request_timeout_ms < 10)
		return snprintf(why, whylen, "patroni_poll_period and patroni_request_timeout must be at least 10ms"), false;
	cfg->max_replica_lag_bytes = 0;
	cfg->max_replica_lag_ms = 0;
	snprintf(lag, sizeof(lag), "%s", cfg->max_replica_lag);
	for (char *item = strtok_r(lag, ",", &save); item; item = strtok_r(NULL, ",", &save))
	{
		char	   *t = trim(item);

		if (parse_bytes(t, &cfg->max_replica_lag_bytes))
			continue;
		if (!parse_time_ms(t, &cfg->max_replica_lag_ms))
			return snprintf(why, whylen, "max_replica_lag must be a size (16MB, 512kB, bytes), a time "
							"(500ms, 2s) or both comma-separated (16MB,500ms), not \"%s\"", t), false;
	}
	return true;
}

/* check_session: session_state_action's word into its code; track_extra_parameters' names checked. */
static bool
check_session(Config *cfg, char *why, size_t whylen)
{
	if (strcmp(cfg->session_state_action, "warn") == 0)
		cfg->session_state = SESSION_STATE_WARN;
	else if (strcmp(cfg->session_state_action, "error") == 0)
		cfg->session_state = SESSION_STATE_ERROR;
	else if (strcmp(cfg->session_state_action, "pin") == 0)
		cfg->session_state = SESSION_STATE_PIN;
	else
		return snprintf(why, whylen, "session_state_action must be warn, error or pin, not \"%s\"",
						cfg->session_state_action), false;
	return params_track_extras(cfg->track_extra_parameters, false, why, whylen);
}

static bool config_parse_dropin_word(DatabaseEntry *entry, const char *word, const char *value, char *why,
									 size_t whylen);

/*
 * next_pair: the next key=value item of a [databases], [users] or [peers] line at *pos, PgBouncer's
 * syntax: blanks may surround '=' ("pool_size = 5"), a value in single quotes may hold blanks, with \
 * escaping the next character. Sets *key (NUL-terminated inside the line) and value (a copy); returns 1,
 * 0 at the end of the line, or -1 with why (what names the section for the message).
 */
static int
next_pair(char **pos, char **key, char *value, size_t valuelen, const char *what, char *why, size_t whylen)
{
	char	   *p = *pos;
	size_t		n = 0;
	char	   *end;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
		return 0;
	*key = p;
	while (*p && *p != '=' && !isspace((unsigned char) *p))
		p++;
	end = p;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '=' || end == *key)
		return snprintf(why, whylen, "%s expects key=value items, near \"%s\"", what, *key), -1;
	*end = '\0';
	p++;
	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\'')
	{
		for (p++; *p && *p != '\''; p++)
		{
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 >= valuelen)
				return snprintf(why, whylen, "value of %s is too long", *key), -1;
			value[n++] = *p;
		}
		if (*p != '\'')
			return snprintf(why, whylen, "unterminated quote in the value of %s", *key), -1;
		p++;
	}
	else
		for (; *p && !isspace((unsigned char) *p); p++)
		{
			if (n + 1 >= valuelen)
				return snprintf(why, whylen, "value of %s is too long", *key), -1;
			value[n++] = *p;
		}
	value[n] = '\0';
	*pos = p;
	return 1;
}

/*
 * parse_database_line: "host=… port=… dbname=… user=… password=… pool_size=…" (libpq-style words;
 * a value may be single-quoted) into entry.
 */
static bool
parse_database_line(char *text, DatabaseEntry *entry, char *why, size_t whylen)
{
	char	   *p = text;
	int			n_weights = -1;

	for (int i = 0; i < CF_MAX_REPLICAS; i++)
		entry->replica_weight[i] = 1;

	for (;;)
	{
		char	   *word;
		char	   *value;
		char		buf[CF_STR_MAX];
		int			got = next_pair(&p, &word, buf, sizeof(buf), "the database line", why, whylen);

		if (got < 0)
			return false;
		if (got == 0)
			break;
		value = buf;

		if (strcmp(word, "host") == 0)
		{
			if (!hostlist_validate(value, why, whylen))
				return false;
			if (!copy_string(entry->host, sizeof(entry->host), value))
				return snprintf(why, whylen, "host is too long"), false;
		}
		else if (strcmp(word, "port") == 0)
		{
			if (!parse_int(value, 1, 65535, &entry->port))
				return snprintf(why, whylen, "port must be 1 to 65535, not \"%s\"", value), false;
		}
		else if (strcmp(word, "dbname") == 0)
		{
			if (!copy_string(entry->dbname, sizeof(entry->dbname), value))
				return snprintf(why, whylen, "dbname is too long"), false;
		}
		else if (strcmp(word, "user") == 0)
		{
			if (!copy_string(entry->user, sizeof(entry->user), value))
				return snprintf(why, whylen, "user is too long"), false;
		}
		else if (strcmp(word, "password") == 0)
		{
			if (!copy_string(entry->password, sizeof(entry->password), value))
				return snprintf(why, whylen, "password is too long"), false;
		}
		else if (strcmp(word, "auth_user") == 0 || strcmp(word, "auth_dbname") == 0 ||
				 strcmp(word, "auth_query") == 0)
		{
			/* issue 16 (authquery.c): per-database overrides of the [pooler] values */
			char	   *field = word[5] == 'u' ? entry->auth_user : word[5] == 'd' ? entry->auth_dbname :
				entry->auth_query;
			size_t		size = word[5] == 'q' ? sizeof(entry->auth_query) : sizeof(entry->auth_user);

			if (!copy_string(field, size, value))
				return snprintf(why, whylen, "%s is too long", word), false;
		}
		else if (strcmp(word, "pool_size") == 0)
		{
			if (!parse_int(value, 1, 100000, &entry->pool_size))
				return snprintf(why, whylen, "pool_size must be 1 to 100000, not \"%s\"", value), false;
		}
		else if (strcmp(word, "user_tps_limit") == 0 || strcmp(word, "client_tps_limit") == 0)
		{
			int		   *field = word[0] == 'u' ? &entry->user_tps_limit : &entry->client_tps_limit;

			if (!parse_int(value, 0, 10000000, field))
				return snprintf(why, whylen, "%s must be 0 (unlimited) to 10000000, not \"%s\"", word, value),
					false;
		}
		else if (strcmp(word, "replicas") == 0)
		{
			if (!parse_replicas(value, entry, why, whylen))
				return false;
		}
		else if (strcmp(word, "primary_read_weight") == 0)
		{
			if (!parse_int(value, 0, 1000, &entry->primary_read_weight))
				return snprintf(why, whylen, "primary_read_weight must be a whole number 0 (no reads on the "
								"primary while a replica is usable) to 1000, not \"%s\"", value), false;
		}
		else if (strcmp(word, "replica_weights") == 0)
		{
			char	   *save = NULL;
			int			i = 0;

			for (char *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save), i++)
				if (i >= CF_MAX_REPLICAS || !parse_int(trim(item), 0, 1000, &entry->replica_weight[i]))
					return snprintf(why, whylen, "replica_weights must be up to %d whole numbers 0 to 1000, "
									"comma-separated, not \"%s\"", CF_MAX_REPLICAS, item), false;
			n_weights = i;
		}
		else if (strcmp(word, "patroni") == 0)
		{
			/* Patroni REST discovery: the members come from /cluster (patroni.c) */
			if (!patroni_parse_endpoints(value, why, whylen) ||
				!copy_string(entry->patroni, sizeof(entry->patroni), value))
				return false;
		}
		else if (!config_parse_dropin_word(entry, word, value, why, whylen))
			return false;
	}
	if (entry->patroni[0] && (entry->host[0] || entry->n_replicas > 0 || n_weights >= 0))
		return snprintf(why, whylen, "patroni= takes the hosts from Patroni's member list: drop host=, replicas= "
						"and replica_weights= from this line (or drop patroni= to list the hosts yourself)"), false;
	if (hostlist_is_list(entry->host) && entry->n_replicas > 0)
		return snprintf(why, whylen, "a host list (host=%s) spreads connections over equivalent servers; with "
						"replicas= the host is the write node: name one host there, and list the read replicas "
						"with replicas=", entry->host), false;
	if (n_weights >= 0 && n_weights != entry->n_replicas)
		return snprintf(why, whylen, "replica_weights has %d values for %d replicas", n_weights,
						entry->n_replicas), false;
	return true;
}

/*
 * issue 15: PgBouncer's per-database and [users] settings (docs/pooler.md, "Per-database and per-user
 * settings"). Applied: min_pool_size, reserve_pool_size (alias reserve_pool), max_db_connections,
 * server_lifetime, [users] pool_size, reserve_pool_size and max_user_connections (pool.c);
 * max_db_client_connections and [users] max_user_client_connections (clientlimit.c). The others
 * are accepted at the value that changes nothing and refused otherwise, with the reason.
 */
static const char *const config_database_words[] = {
	"host", "port", "dbname", "user", "password", "auth_user", "auth_query", "auth_dbname", "pool_size",
	"min_pool_size", "reserve_pool_size", "reserve_pool", "connect_query", "pool_mode", "load_balance_hosts",
	"max_db_connections", "max_db_client_connections", "server_lifetime", "client_encoding", "datestyle",
	"timezone", "replicas", "replica_weights", "primary_read_weight", "patroni", "user_tps_limit",
	"client_tps_limit"
};

static const char *const config_user_words[] = {
	"pool_size", "reserve_pool_size", "pool_mode", "max_user_connections", "query_timeout",
	"idle_transaction_timeout", "transaction_timeout", "client_idle_timeout", "max_user_client_connections"
};

/* config_unknown_word: the error for an unknown word of a line, with the nearest known one. */
static bool
config_unknown_word(const char *what, const char *word, const char *const *known, size_t n, char *why,
					size_t whylen)
{
	const char *near = pgbcompat_nearest(word, known, n);

	if (near)
		return snprintf(why, whylen, "unknown %s setting \"%s\"; did you mean \"%s\"?", what, word, near), false;
	return snprintf(why, whylen, "unknown %s setting \"%s\" (see docs/pooler.md for the settings)", what, word),
		false;
}

/* config_parse_count_word: a [databases] connection count (0 to 100000) into *number. */
static bool
config_parse_count_word(const char *word, const char *value, int *number, char *why, size_t whylen)
{
	if (!parse_int(value, 0, 100000, number))
		return snprintf(why, whylen, "%s must be a whole number from 0 to 100000, not \"%s\"", word, value),
			false;
	return true;
}

/* config_parse_dropin_word: one of PgBouncer's [databases] words that config.c's own list lacks. */
static bool
config_parse_dropin_word(DatabaseEntry *entry, const char *word, const char *value, char *why, size_t whylen)
{
	if (strcmp(word, "pool_mode") == 0)
	{
		int			mode;

		if (!config_parse_pool_mode_word(value, &mode, why, whylen))
			return false;
		entry->pool_mode = mode;
		return true;
	}
	if (strcmp(word, "min_pool_size") == 0)
		return config_parse_count_word(word, value, &entry->min_pool_size, why, whylen);
	if (strcmp(word, "reserve_pool_size") == 0 || strcmp(word, "reserve_pool") == 0)
		return config_parse_count_word(word, value, &entry->reserve_pool_size, why, whylen);
	if (strcmp(word, "max_db_connections") == 0)
		return config_parse_count_word(word, value, &entry->max_db_connections, why, whylen);
	if (strcmp(word, "server_lifetime") == 0)
	{
		if (!parse_time_ms(value, &entry->server_lifetime_ms))
			return snprintf(why, whylen, "server_lifetime must be a duration such as 3600, 30s or 5min, not \"%s\"",
							value), false;
		return true;
	}
	if (strcmp(word, "load_balance_hosts") == 0)
	{
		/* matters only with a host list (host=a,b): server.c's pick_host_entry */
		if (strcmp(value, "round-robin") == 0)
			entry->load_balance_hosts = LB_HOSTS_ROUND_ROBIN;
		else if (strcmp(value, "disable") == 0)
			entry->load_balance_hosts = LB_HOSTS_DISABLE;
		else
			return snprintf(why, whylen, "load_balance_hosts must be round-robin or disable, not \"%s\"", value),
				false;
		return true;
	}
	if (strcmp(word, "max_db_client_connections") == 0)	/* clientlimit.c */
	{
		if (!parse_int(value, 0, 1000000, &entry->max_db_client_connections))
			return snprintf(why, whylen, "max_db_client_connections must be a whole number from 0 to 1000000, "
							"not \"%s\"", value), false;
		return true;
	}
	if (strcmp(word, "connect_query") == 0)
	{
		/* issue 15: sent as one simple Query after each server login (server.c server_connect_query_*) */
		if (!copy_string(entry->connect_query, sizeof(entry->connect_query), value))
			return snprintf(why, whylen, "connect_query is longer than %d bytes", CF_STR_MAX - 1), false;
		return true;
	}
	if (strcmp(word, "client_encoding") == 0 || strcmp(word, "datestyle") == 0 || strcmp(word, "timezone") == 0)
	{
		/* issue 15: sent in each server connection's StartupMessage (server.c server_send_startup) */
		char	   *field = word[0] == 'c' ? entry->client_encoding : word[0] == 'd' ? entry->datestyle :
			entry->timezone;

		if (!copy_string(field, CF_NAME_MAX, value))
			return snprintf(why, whylen, "%s is longer than %d bytes", word, CF_NAME_MAX - 1), false;
		return true;
	}
	return config_unknown_word("database", word, config_database_words,
							   sizeof(config_database_words) / sizeof(config_database_words[0]), why, whylen);
}

/* config_user_timeout_field: issue 15: the field of a [users] timeout key, NULL when item is none. */
static long *
config_user_timeout_field(UserEntry *user, const char *item)
{
	if (strcmp(item, "query_timeout") == 0)
		return &user->query_timeout_ms;
	if (strcmp(item, "idle_transaction_timeout") == 0)
		return &user->idle_transaction_timeout_ms;
	if (strcmp(item, "transaction_timeout") == 0)
		return &user->transaction_timeout_ms;
	if (strcmp(item, "client_idle_timeout") == 0)
		return &user->client_idle_timeout_ms;
	return NULL;
}

/* parse_user_line: one [users] line, "name = key=value ...", appended to cfg->users. */
static bool
parse_user_line(Config *cfg, int *capacity, const char *name, char *value, int lineno, char *why,
				size_t whylen)
{
	UserEntry  *user;

	if (strlen(name) >= CF_NAME_MAX)
		return snprintf(why, whylen, "user name \"%s\" is longer than %d bytes", name, CF_NAME_MAX - 1), false;
	if (config_find_user(cfg, name))
		return snprintf(why, whylen, "user \"%s\" is defined twice in [users]", name), false;
	if (cfg->n_users == *capacity)
	{
		int			new_capacity = *capacity ? *capacity * 2 : 8;
		UserEntry  *grown = realloc(cfg->users, new_capacity * sizeof(UserEntry));

		if (!grown)
			return snprintf(why, whylen, "out of memory"), false;
		cfg->users = grown;
		*capacity = new_capacity;
	}
	user = &cfg->users[cfg->n_users];
	memset(user, 0, sizeof(*user));
	memcpy(user->name, name, strlen(name) + 1);
	user->pool_size = user->reserve_pool_size = user->max_user_connections = user->pool_mode = -1;
	user->line = lineno;
	for (;;)
	{
		char	   *item;
		char		val[CF_STR_MAX];
		int		   *number = NULL;
		long	   *ms = NULL;
		int			got = next_pair(&value, &item, val, sizeof(val), "[users]", why, whylen);

		if (got < 0)
			return false;
		if (got == 0)
			break;
		if (strcmp(item, "pool_size") == 0)
			number = &user->pool_size;
		else if (strcmp(item, "reserve_pool_size") == 0)
			number = &user->reserve_pool_size;
		else if (strcmp(item, "max_user_connections") == 0)
			number = &user->max_user_connections;
		if (number)
		{
			if (!parse_int(val, 0, 100000, number))
				return snprintf(why, whylen, "%s must be a whole number from 0 to 100000, not \"%s\"", item, val),
					false;
		}
		else if (strcmp(item, "pool_mode") == 0)
		{
			int			mode;

			if (!config_parse_pool_mode_word(val, &mode, why, whylen))
				return false;
			user->pool_mode = mode;
		}
		else if ((ms = config_user_timeout_field(user, item)) != NULL)
		{
			if (!parse_time_ms(val, ms) || *ms < 0)
				return snprintf(why, whylen, "%s must be a duration such as 30, 2.5s or 5min, not \"%s\"", item,
								val), false;
		}
		else if (strcmp(item, "max_user_client_connections") == 0)	/* clientlimit.c */
		{
			if (!parse_int(val, 0, 1000000, &user->max_user_client_connections))
				return snprintf(why, whylen, "max_user_client_connections must be a whole number from 0 to 1000000, "
								"not \"%s\"", val), false;
		}
		else
			return config_unknown_word("[users]", item, config_user_words,
									   sizeof(config_user_words) / sizeof(config_user_words[0]), why, whylen);
	}
	cfg->n_users++;
	return true;
}

const UserEntry *
config_find_user(const Config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_users; i++)
		if (strcmp(cfg->users[i].name, name) == 0)
			return &cfg->users[i];
	return NULL;
}

/* config_key_is_default: whether key's value in cfg is its built-in default. */
static bool
config_key_is_default(const Config *cfg, const ConfigKey *key)
{
	const char *field = (const char *) cfg + key->offset;
	int			i;
	long		ms;

	switch (key->kind)
	{
		case CFK_STRING:
			return strcasecmp(field, key->default_value) == 0;
		case CFK_INT:
			return parse_int(key->default_value, INT_MIN, INT_MAX, &i) && i == *(const int *) field;
		case CFK_TIME_MS:
			return parse_time_ms(key->default_value, &ms) && ms == *(const long *) field;
		default:
			return true;
	}
}

/* config_check_support: refuses a non-default value of a key faregate-pooler does not apply. */
static bool
config_check_support(const Config *cfg, const ConfigKey *key, char *why, size_t whylen)
{
	const char *reason;

	if (pgbcompat_support(key->name, &reason) != PGBC_DEFAULT_ONLY || config_key_is_default(cfg, key))
		return true;
	return snprintf(why, whylen, "%s is not supported by faregate-pooler at any value but its default (%s): "
					"%s. Remove the line or set the default", key->name,
					key->default_value[0] ? key->default_value : "empty", reason), false;
}

/* config_unknown_key: the error for an unknown [pooler] key, with the nearest known one. */
static bool
config_unknown_key(const char *name, char *why, size_t whylen)
{
	const char *names[256];
	size_t		n = 0;
	const char *near;

	for (const ConfigKey *key = config_keys; key->name && n < sizeof(names) / sizeof(names[0]); key++)
		names[n++] = key->name;
	near = pgbcompat_nearest(name, names, n);
	if (near)
		return snprintf(why, whylen, "unknown setting \"%s\"; did you mean \"%s\"?", name, near), false;
	return snprintf(why, whylen, "unknown setting \"%s\"; see docs/faregate-pooler.ini for the settings", name),
		false;
}

/*
 * config_parse_peer_line: one [peers] line, "ID = host=H [port=P] [pool_size=N]" (PgBouncer's form),
 * appended to cfg->peers. Kept apart from the [databases] parser: peers know only these keys.
 */
static bool
config_parse_peer_line(Config *cfg, const char *name, char *value, char *why, size_t whylen)
{
	PeerEntry  *peer;

	if (cfg->n_peers == CF_MAX_PEERS)
		return snprintf(why, whylen, "too many [peers] (at most %d)", CF_MAX_PEERS), false;
	peer = &cfg->peers[cfg->n_peers];
	memset(peer, 0, sizeof(*peer));
	peer->port = 6432;
	peer->pool_size = -1;
	if (!parse_int(name, 1, 16383, &peer->id))
		return snprintf(why, whylen, "[peers] key must be a peer_id from 1 to 16383, not \"%s\"", name), false;
	for (int i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].id == peer->id)
			return snprintf(why, whylen, "peer %d is defined twice", peer->id), false;
	for (;;)
	{
		char	   *item;
		char		val[CF_STR_MAX];
		int			got = next_pair(&value, &item, val, sizeof(val), "[peers]", why, whylen);

		if (got < 0)
			return false;
		if (got == 0)
			break;
		if (strcmp(item, "host") == 0)
		{
			if (!copy_string(peer->host, sizeof(peer->host), val))
				return snprintf(why, whylen, "peer host is too long"), false;
		}
		else if (strcmp(item, "port") == 0)
		{
			if (!parse_int(val, 1, 65535, &peer->port))
				return snprintf(why, whylen, "peer port must be from 1 to 65535, not \"%s\"", val), false;
		}
		else if (strcmp(item, "pool_size") == 0)
		{
			if (!parse_int(val, 0, 100000, &peer->pool_size))
				return snprintf(why, whylen, "peer pool_size must be from 0 to 100000"), false;
		}
		else
			return snprintf(why, whylen, "unknown [peers] key \"%s\"; the keys are host, port and pool_size",
							item), false;
	}
	if (!peer->host[0])
		return snprintf(why, whylen, "peer %d needs host=", peer->id), false;
	cfg->n_peers++;
	return true;
}

/* What config_read_file carries from one file to the %include'd ones. */
typedef struct ConfigReadState
{
	Section		section;
	int			db_capacity;
	int			user_capacity;
	bool		pgbouncer_section;	/* a [pgbouncer] header was read: PgBouncer's pool_mode default */
	bool		pool_mode_set;	/* pool_mode was given in the main section */
} ConfigReadState;

#define CF_MAX_INCLUDE_DEPTH 8

/* read_section_header: "[name]" (text, trimmed) switches st->section; false with why otherwise. */
static bool
read_section_header(char *text, ConfigReadState *st, char *why, size_t whylen)
{
	char	   *close = strchr(text, ']');
	const char *name;

	if (!close || *trim(close + 1) != '\0')
		return snprintf(why, whylen, "malformed section header; write [pooler] or [databases]"), false;
	*close = '\0';
	name = trim(text + 1);
	if (strcmp(name, "pooler") == 0 || strcmp(name, "pgbouncer") == 0)
	{
		st->section = SEC_POOLER;
		st->pgbouncer_section |= strcmp(name, "pgbouncer") == 0;
	}
	else if (strcmp(name, "databases") == 0)
		st->section = SEC_DATABASES;
	else if (strcmp(name, "users") == 0)
		st->section = SEC_USERS;
	else if (strcmp(name, "peers") == 0)
		st->section = SEC_PEERS;
	else
		return snprintf(why, whylen, "unknown section [%s]; the sections are [pooler] (or [pgbouncer]), [databases], "
						"[users] and [peers]", name), false;
	return true;
}

/* read_pooler_item: one "key = value" of [pooler] (or [pgbouncer]). */
static bool
read_pooler_item(Config *out, ConfigReadState *st, const char *name, char *value, char *why, size_t whylen)
{
	const ConfigKey *key = find_key(name);

	if (!key)
	{
		config_unknown_key(name, why, whylen);
		return false;
	}
	if (!set_key(out, key, value, why, whylen) || !config_check_support(out, key, why, whylen))
		return false;
	st->pool_mode_set |= strcmp(key->name, "pool_mode") == 0;
	return true;
}

/* read_database_item: one "name = connection parameters" line of [databases], appended to out. */
static bool
read_database_item(Config *out, ConfigReadState *st, const char *name, char *value, int lineno, char *why,
				   size_t whylen)
{
	DatabaseEntry *entry;
	const DatabaseEntry *existing;

	if (strlen(name) >= CF_NAME_MAX)
		return snprintf(why, whylen, "database name \"%s\" is longer than %d bytes", name, CF_NAME_MAX - 1), false;
	existing = config_find_database(out, name);
	if (existing && strcmp(existing->name, name) == 0)
		return snprintf(why, whylen, "database \"%s\" is defined twice", name), false;
	if (out->n_databases == st->db_capacity)
	{
		int			new_capacity = st->db_capacity ? st->db_capacity * 2 : 8;
		DatabaseEntry *grown = realloc(out->databases, new_capacity * sizeof(DatabaseEntry));

		if (!grown)
			return snprintf(why, whylen, "out of memory"), false;
		out->databases = grown;
		st->db_capacity = new_capacity;
	}
	entry = &out->databases[out->n_databases];
	memset(entry, 0, sizeof(*entry));
	memcpy(entry->name, name, strlen(name) + 1);
	entry->port = 5432;
	entry->pool_size = -1;
	entry->user_tps_limit = -1;
	entry->client_tps_limit = -1;
	entry->min_pool_size = entry->reserve_pool_size = entry->max_db_connections = entry->pool_mode = -1;
	entry->server_lifetime_ms = -1;
	entry->line = lineno;
	if (!parse_database_line(value, entry, why, whylen))
		return false;
	out->n_databases++;
	return true;
}

/* read_item: a "name = value" line (text, trimmed), given to the handler of the current section. */
static bool
read_item(Config *out, ConfigReadState *st, char *text, int lineno, char *why, size_t whylen)
{
	char	   *eq = strchr(text, '=');
	const char *name;
	char	   *value;

	if (!eq)
		return snprintf(why, whylen, "expected \"key = value\""), false;
	*eq = '\0';
	name = trim(text);
	value = trim(eq + 1);
	if (*name == '\0')
		return snprintf(why, whylen, "missing key before '='"), false;
	switch (st->section)
	{
		case SEC_POOLER:
			return read_pooler_item(out, st, name, value, why, whylen);
		case SEC_DATABASES:
			return read_database_item(out, st, name, value, lineno, why, whylen);
		case SEC_USERS:
			return parse_user_line(out, &st->user_capacity, name, value, lineno, why, whylen);
		case SEC_PEERS:
			return config_parse_peer_line(out, name, value, why, whylen);
		default:
			return snprintf(why, whylen, "setting \"%s\" outside a section; put it under [pooler]", name), false;
	}
}

/*
 * config_read_file: reads path into *out, line by line: comments, %include (the named file read in
 * place, as in PgBouncer; a relative path is taken from the working directory, as there; the section
 * carries over into and out of it), section headers and items. False with "file:line: reason" in err;
 * the caller frees *out.
 */
static bool
config_read_file(const char *path, Config *out, ConfigReadState *st, int depth, char *err, size_t errlen)
{
	FILE	   *file;
	char		line[4096];
	int			lineno = 0;
	char		why[CF_ERR_MAX];
	bool		good = true;

	file = fopen(path, "r");
	if (!file)
		return config_file_error(err, errlen, path, 0, "cannot open the config file: %s", strerror(errno));
	while (good && fgets(line, sizeof(line), file))
	{
		char	   *text;

		lineno++;
		if (!strchr(line, '\n') && !feof(file))
		{
			good = config_file_error(err, errlen, path, lineno, "line is longer than %zu bytes", sizeof(line) - 2);
			break;
		}
		text = trim(line);
		if (*text == '\0' || *text == ';' || *text == '#')
			continue;
		if (strncmp(text, "%include", 8) == 0 && (text[8] == '\0' || isspace((unsigned char) text[8])))
		{
			char	   *target = trim(text + 8);

			if (*target == '\0')
				good = config_file_error(err, errlen, path, lineno, "%%include needs a file name");
			else if (depth >= CF_MAX_INCLUDE_DEPTH)
				good = config_file_error(err, errlen, path, lineno, "%%include nested more than %d deep (a loop?)",
										 CF_MAX_INCLUDE_DEPTH);
			else
				good = config_read_file(target, out, st, depth + 1, err, errlen);	/* err says where */
			continue;
		}
		if (!(*text == '[' ? read_section_header(text, st, why, sizeof(why)) :
			  read_item(out, st, text, lineno, why, sizeof(why))))
			good = config_file_error(err, errlen, path, lineno, "%s", why);
	}
	if (good && ferror(file))
		good = config_file_error(err, errlen, path, lineno, "read error: %s", strerror(errno));
	fclose(file);
	return good;
}

bool
config_load(const char *path, Config *out, char *err, size_t errlen)
{
	char		why[CF_ERR_MAX];
	ConfigReadState st = {SEC_NONE, 0, 0, false, false};

	memset(out, 0, sizeof(*out));
	for (const ConfigKey *key = config_keys; key->name; key++)
		if (!set_key(out, key, key->default_value, why, sizeof(why)))
			return config_file_error(err, errlen, path, 0, "built-in default: %s", why);
	if (!copy_string(out->path, sizeof(out->path), path))
		return config_file_error(err, errlen, path, 0, "path of the config file is too long");

	if (!config_read_file(path, out, &st, 0, err, errlen))
	{
		config_free(out);
		return false;
	}
	/*
	 * A file written for PgBouncer means what it meant there: without a pool_mode line its default is
	 * session, PgBouncer's (faregate's own [pooler] files default to transaction).
	 */
	if (st.pgbouncer_section && !st.pool_mode_set)
		out->pool_mode = POOL_SESSION;
	if (out->resolv_conf[0] && !copy_string(out->dns_resolv_conf, sizeof(out->dns_resolv_conf), out->resolv_conf))
	{
		config_free(out);
		return config_file_error(err, errlen, path, 0, "resolv_conf is too long");
	}
	if (!config_check_auth(out, why, sizeof(why)))
	{
		config_free(out);
		return config_file_error(err, errlen, path, 0, "%s", why);
	}
	if (!check_session(out, why, sizeof(why)))
	{
		config_free(out);
		return config_file_error(err, errlen, path, 0, "%s", why);
	}
	if (!check_routing(out, why, sizeof(why)))
	{
		config_free(out);
		return config_file_error(err, errlen, path, 0, "%s", why);
	}
	if (out->listen_addr[0] == '\0' && out->unix_socket_dir[0] == '\0')
	{
		config_free(out);
		return config_file_error(err, errlen, path, 0, "nothing to listen on: set listen_addr or unix_socket_dir");
	}
	return true;
}

void
config_free(Config *cfg)
{
	free(cfg->databases);
	cfg->databases = NULL;
	cfg->n_databases = 0;
	free(cfg->users);
	cfg->users = NULL;
	cfg->n_users = 0;
}

const DatabaseEntry *
config_find_database(const Config *cfg, const char *name)
{
	const DatabaseEntry *fallback = NULL;

	for (int i = 0; i < cfg->n_databases; i++)
	{
		if (strcmp(cfg->databases[i].name, name) == 0)
			return &cfg->databases[i];
		if (strcmp(cfg->databases[i].name, "*") == 0)
			fallback = &cfg->databases[i];
	}
	return fallback;
}

void
config_value_string(const Config *cfg, const ConfigKey *key, char *buf, size_t buflen)
{
	const char *field = (const char *) cfg + key->offset;

	switch (key->kind)
	{
		case CFK_STRING:
			snprintf(buf, buflen, "%s", field);
			break;
		case CFK_INT:
			snprintf(buf, buflen, "%d", *(const int *) field);
			break;
		case CFK_TIME_MS:
			{
				long		ms = *(const long *) field;

				if (ms % 1000 == 0)
					snprintf(buf, buflen, "%ld", ms / 1000);
				else
					snprintf(buf, buflen, "%ldms", ms);
				break;
			}
		case CFK_AUTH_TYPE:
			{
				AuthType	type = *(const AuthType *) field;

				snprintf(buf, buflen, "%s", config_auth_type_name(type));
				break;
			}
		case CFK_POOL_MODE:
			snprintf(buf, buflen, "%s", config_pool_mode_name(*(const PoolMode *) field));
			break;
	}
}

/* list_has: config_list_contains, comparing bytes or, with ignore_case, ASCII letters without case. */
static bool
list_has(const char *list, const char *item, bool ignore_case)
{
	size_t		item_len = strlen(item);
	const char *p = list;

	while (*p)
	{
		const char *start;
		const char *end;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char) end[-1]))
			end--;
		if ((size_t) (end - start) == item_len &&
			(ignore_case ? strncasecmp(start, item, item_len) : memcmp(start, item, item_len)) == 0)
			return true;
	}
	return false;
}

bool
config_list_contains(const char *list, const char *item)
{
	return list_has(list, item, false);
}

bool
config_list_contains_name(const char *list, const char *name)
{
	return list_has(list, name, true);
}

bool
config_set(Config *cfg, const char *name, const char *value, char *why, size_t whylen)
{
	const ConfigKey *key = find_key(name);
	Config		tmp = *cfg;

	if (!key)
		return snprintf(why, whylen, "unknown setting \"%s\"", name), false;
	if (!key->reloadable)
		return snprintf(why, whylen, "%s cannot be changed while the pooler runs; set it in the "
						"configuration file and restart", name), false;
	/* parse into a copy first: a bad value leaves the running settings as they were */
	if (!set_key(&tmp, key, value, why, whylen) || !config_check_support(&tmp, key, why, whylen) ||
		!check_routing(&tmp, why, whylen))
		return false;
	*cfg = tmp;					/* a shallow copy: the [databases] array is the same */
	return true;
}
