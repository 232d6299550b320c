/*
 * config.h: faregate-pooler's settings: the cf_* table (one row per key of the [pooler] section),
 * the [databases] entries, and parsing of the INI file. See config.c for the file format.
 */
#ifndef FAREGATE_CONFIG_H
#define FAREGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CF_NAME_MAX 64
#define CF_HOST_MAX 256
#define CF_STR_MAX 1024
#define CF_ERR_MAX 512
#define CF_MAX_REPLICAS 7		/* POOL_MAX_NODES - 1 */

typedef enum AuthType
{
	AUTH_TRUST,					/* any password, or none */
	AUTH_MD5,					/* md5 challenge; auth_file holds plain, md5 or SCRAM secrets */
	AUTH_SCRAM,					/* SCRAM-SHA-256; auth_file holds plain or SCRAM secrets */
	/* issue 16 (login.c, hba.c; docs/pooler-auth.md) */
	AUTH_PLAIN,					/* cleartext password checked against any kind of secret */
	AUTH_CERT,					/* TLS client certificate; its CN must be the user name */
	AUTH_ANY,					/* like trust, and the user name is not checked at all */
	AUTH_HBA					/* the method comes from the first matching auth_hba_file rule */
} AuthType;

/* auth_query's default: PgBouncer's (an expired password counts as none). */
#define AUTH_QUERY_DEFAULT "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END " \
	"FROM pg_authid WHERE rolname=$1 AND rolcanlogin"

typedef enum PoolMode
{
	POOL_TRANSACTION,			/* server released at ReadyForQuery 'I' */
	POOL_SESSION,				/* server held until the client leaves */
	POOL_STATEMENT				/* as transaction, and a transaction block closes the client (PgBouncer's) */
} PoolMode;

/* session_state_action: what the pooler does with session state it cannot carry (session.c). */
typedef enum SessionStateAction
{
	SESSION_STATE_PIN,			/* the client keeps its server connection until the state is gone */
	SESSION_STATE_WARN,			/* a WARNING to the client; DISCARD ALL before the server is reused */
	SESSION_STATE_ERROR			/* refuse the statement (0A000) */
} SessionStateAction;

/* load_balance_hosts (PgBouncer 1.25's): which entry of a host list a new server connection uses. */
typedef enum LoadBalanceHosts
{
	LB_HOSTS_ROUND_ROBIN,		/* the next entry at every new connection (the default) */
	LB_HOSTS_DISABLE			/* the same entry until a connect to it fails, then the next */
} LoadBalanceHosts;

/* One line of [databases]: "name = host=… port=… dbname=… [user=…] [password=…] [pool_size=…]". */
typedef struct DatabaseEntry
{
	char		name[CF_NAME_MAX];	/* what clients ask for; "*" = fallback for any name */
	char		host[CF_HOST_MAX];	/* host name, address, or a directory for a Unix socket; or a list of
									 * them, "a,b" (hostlist.c), one picked per new server connection */
	int			port;
	int			load_balance_hosts; /* a LoadBalanceHosts: how a host list is walked (server.c) */
	char		dbname[CF_NAME_MAX];	/* database on the server; empty = same as name */
	char		user[CF_NAME_MAX];	/* forced server user; empty = the client's user */
	char		password[CF_STR_MAX];	/* password for the forced user; empty = from auth_file */
	char		auth_user[CF_NAME_MAX];	/* auth_query (authquery.c): overrides the [pooler] values; */
	char		auth_dbname[CF_NAME_MAX];	/* empty = the global one */
	char		auth_query[CF_STR_MAX];
	int			pool_size;		/* -1 = default_pool_size */
	int			user_tps_limit; /* -1 = the [pooler] setting */
	int			client_tps_limit;	/* -1 = the [pooler] setting */
	/* replicas=H1:P1,H2:P2 (read routing, docs/routing.md) and replica_weights=W1,W2 */
	int			n_replicas;
	char		replica_host[CF_MAX_REPLICAS][CF_HOST_MAX];
	int			replica_port[CF_MAX_REPLICAS];
	int			replica_weight[CF_MAX_REPLICAS];	/* default 1; 0 = no reads */
	int			primary_read_weight;	/* the write node's share of reads beside replica_weights; 0 = none */
	char		patroni[CF_STR_MAX];	/* patroni=URL,URL: members from Patroni's /cluster; empty = host list */
	/* issue 15: PgBouncer's per-database settings (-1 = the [pooler] value; pool.c pool_setting_*) */
	int			min_pool_size;
	int			reserve_pool_size;
	int			max_db_connections;
	long		server_lifetime_ms;
	int			pool_mode;		/* -1 = the [pooler] pool_mode, or a PoolMode (a [users] one wins) */
	char		connect_query[CF_STR_MAX];	/* run once on every new server connection; empty = none */
	/* startup parameters every server connection of the database asks for; empty = the server's default */
	char		client_encoding[CF_NAME_MAX];
	char		datestyle[CF_NAME_MAX];
	char		timezone[CF_NAME_MAX];
	int			max_db_client_connections;	/* clients of this database (clientlimit.c); 0 = the [pooler] value */
	int			line;			/* line in the config file, for messages */
} DatabaseEntry;

/* issue 15: one line of [users]: "name = pool_size=… reserve_pool_size=… max_user_connections=…" */
typedef struct UserEntry
{
	char		name[CF_NAME_MAX];
	int			pool_size;		/* -1 = the database's or default_pool_size */
	int			reserve_pool_size;	/* -1 = the database's or the [pooler] value */
	int			max_user_connections;	/* -1 = the [pooler] value */
	int			pool_mode;		/* -1 = the database's or the [pooler] pool_mode, or a PoolMode */
	/* issue 15: override the [pooler] timeout when above 0 (PgBouncer's rule; pool.c janitor) */
	long		query_timeout_ms;
	long		idle_transaction_timeout_ms;
	long		transaction_timeout_ms;
	long		client_idle_timeout_ms;
	int			max_user_client_connections;	/* clients of this user (clientlimit.c); 0 = the [pooler] value */
	int			line;
} UserEntry;

/* One line of [peers]: "peer_id = host=… port=… [pool_size=…]" (cancel forwarding, peer.c). */
typedef struct PeerEntry
{
	int			id;
	char		host[CF_HOST_MAX];
	int			port;
	int			pool_size;
} PeerEntry;

#define CF_MAX_PEERS 64

/* The whole configuration. Times are in milliseconds; 0 disables a timeout. */
typedef struct Config
{
	char		path[CF_STR_MAX];	/* file it was read from */

	char		listen_addr[CF_STR_MAX];	/* comma-separated addresses, "*" = all; empty = none */
	int			listen_port;
	char		unix_socket_dir[CF_STR_MAX];	/* empty = no Unix socket */
	AuthType	auth_type;
	char		auth_file[CF_STR_MAX];
	char		auth_salt_key_file[CF_STR_MAX];	/* SCRAM mock-salt key; empty = auth_file + ".salt-key" */
	/* issue 16: secrets looked up in PostgreSQL (authquery.c) and the hba rules (hba.c) */
	char		auth_user[CF_STR_MAX];	/* empty = no auth_query */
	char		auth_query[CF_STR_MAX];
	char		auth_dbname[CF_STR_MAX];	/* empty = the client's database */
	char		auth_hba_file[CF_STR_MAX];
	char		auth_ident_file[CF_STR_MAX];
	PoolMode	pool_mode;
	int			default_pool_size;
	int			min_pool_size;
	int			reserve_pool_size;
	long		reserve_pool_timeout_ms;
	int			max_client_conn;	/* logged-in clients */
	int			max_login_clients;	/* logins in progress; 0 = max_client_conn */
	int			admin_reserved_connections;	/* of max_client_conn, kept for admin_users */
	int			max_db_connections;	/* 0 = unlimited */
	int			max_prepared_statements;	/* per server connection, LRU beyond it; 0 = unlimited */
	char		server_reset_query[CF_STR_MAX];
	char		server_check_query[CF_STR_MAX];	/* empty = never checked */
	long		server_check_delay_ms;
	long		server_idle_timeout_ms;
	long		server_lifetime_ms;
	long		server_connect_timeout_ms;
	long		query_timeout_ms;
	long		query_wait_timeout_ms;
	long		idle_transaction_timeout_ms;
	long		client_idle_timeout_ms;
	long		client_login_timeout_ms;
	long		autodb_idle_timeout_ms;	/* a "*" pool without clients this long is freed; 0 = never */
	long		shutdown_timeout_ms;
	char		admin_users[CF_STR_MAX];	/* comma-separated */
	char		stats_users[CF_STR_MAX];	/* comma-separated */
	char		logfile[CF_STR_MAX];
	char		pidfile[CF_STR_MAX];
	int			verbose;
	char		metrics_addr[CF_STR_MAX];	/* HTTP /metrics and /health: address */
	int			metrics_port;	/* 0 = off */
	int			metrics_max_connections;	/* HTTP connections open at once (httpd.c) */
	long		metrics_request_timeout_ms; /* accept to last byte of the answer */
	char		metrics_bearer_token[CF_STR_MAX];	/* empty = no bearer token required */
	char		metrics_basic_auth[CF_STR_MAX]; /* "user:password"; empty = no basic auth */
	int			max_user_connections;	/* server connections per user over all pools; 0 = unlimited */
	int			user_tps_limit; /* transactions per second per (database, user); 0 = unlimited */
	int			client_tps_limit;	/* … per (database, client address); 0 = unlimited */
	int			tps_burst;		/* bucket capacity in transactions; 0 = one second's worth */
	long		rate_limit_delay_ms;	/* longest delay before a client over its limit gets 53400 */
	char		client_tls_sslmode[CF_STR_MAX]; /* tls.c: disable … verify-full */
	char		client_tls_key_file[CF_STR_MAX];
	char		client_tls_cert_file[CF_STR_MAX];
	char		client_tls_ca_file[CF_STR_MAX];
	char		server_tls_sslmode[CF_STR_MAX];
	char		server_tls_ca_file[CF_STR_MAX];
	char		server_tls_key_file[CF_STR_MAX];
	char		server_tls_cert_file[CF_STR_MAX];

	/* read routing (docs/routing.md): the text as given, and what config_load derived from it */
	char		read_routing[CF_STR_MAX];	/* on | off */
	long		health_check_period_ms;
	char		max_replica_lag[CF_STR_MAX];	/* "16MB", "500ms" or "16MB,500ms"; 0 = no limit */
	char		replica_fallback[CF_STR_MAX];	/* primary | error */
	char		read_your_writes[CF_STR_MAX];	/* on | off */
	char		load_balance[CF_STR_MAX];	/* least_busy | round_robin */
	char		read_only_users[CF_STR_MAX];	/* comma-separated: every transaction goes to a replica */
	bool		read_routing_on;
	bool		replica_fallback_error;
	bool		read_your_writes_on;
	bool		load_balance_round_robin;
	int			so_reuseport;	/* 1: SO_REUSEPORT on the TCP listeners (several processes, one port) */
	int			peer_id;		/* this process in [peers] (cancel forwarding); 0 = no peering */
	int64_t		max_replica_lag_bytes;	/* 0 = no byte limit */
	long		max_replica_lag_ms;		/* 0 = no time limit */
	/* Patroni REST discovery (patroni.c, routing.c) */
	long		patroni_poll_period_ms;
	long		patroni_request_timeout_ms;

	/* issue 16, session state (session.c) */
	char		track_extra_parameters[CF_STR_MAX];	/* comma-separated parameter names */
	int			server_reset_query_always;	/* 1: server_reset_query in transaction mode too */
	char		session_state_action[CF_STR_MAX];	/* warn | error | pin */
	int			session_state;	/* SessionStateAction derived from it */

	/* issue 16, DNS (dns.c) */
	long		dns_max_ttl_ms;	/* an answer is used this long */
	long		dns_nxdomain_ttl_ms;	/* a failed lookup is remembered this long */
	char		dns_resolv_conf[CF_STR_MAX];	/* nameservers, search, options for evdns */
	char		resolv_conf[CF_STR_MAX];	/* PgBouncer's key; config_load copies it into dns_resolv_conf */
	long		dns_zone_check_period_ms;	/* accepted at 0 only (pgbcompat.c) */
	/* issue 15: PgBouncer 1.25 keys; pgbcompat.c says which apply and why the others have no effect */
	char		user[CF_STR_MAX];	/* -u/--user: OS user to become after binding (main.c) */
	char		unix_socket_mode[CF_STR_MAX];	/* octal, chmod of the Unix socket (listener.c) */
	char		unix_socket_group[CF_STR_MAX];	/* group of the Unix socket; empty = unchanged */
	int			listen_backlog;
	int			tcp_defer_accept;	/* seconds; 0 = off (listener.c) */
	int			tcp_socket_buffer;	/* SO_SNDBUF/SO_RCVBUF; 0 = the kernel's */
	int			tcp_keepalive;
	int			tcp_keepcnt;	/* 0 = the kernel's (and below) */
	int			tcp_keepidle;
	int			tcp_keepintvl;
	int			tcp_user_timeout;	/* milliseconds */
	int			max_db_client_connections;	/* clients per database (clientlimit.c); 0 = unlimited */
	int			max_user_client_connections;	/* clients per user (clientlimit.c); 0 = unlimited */
	int			server_round_robin;
	char		ignore_startup_parameters[CF_STR_MAX];
	int			disable_pqexec;
	int			application_name_add_host;
	char		conffile[CF_STR_MAX];
	char		service_name[CF_STR_MAX];
	char		job_name[CF_STR_MAX];
	long		stats_period_ms;
	int			scram_iterations;
	char		auth_ldap_options[CF_STR_MAX];
	int			syslog;
	char		syslog_ident[CF_STR_MAX];
	char		syslog_facility[CF_STR_MAX];
	int			log_connections;
	int			log_disconnections;
	int			log_pooler_errors;
	int			log_stats;
	int			server_fast_close;
	long		server_login_retry_ms;
	long		query_wait_notify_ms;
	char		client_tls_protocols[CF_STR_MAX];
	char		client_tls_ciphers[CF_STR_MAX];
	char		client_tls13_ciphers[CF_STR_MAX];
	char		client_tls_ecdhcurve[CF_STR_MAX];
	char		client_tls_dheparams[CF_STR_MAX];
	char		server_tls_protocols[CF_STR_MAX];
	char		server_tls_ciphers[CF_STR_MAX];
	char		server_tls13_ciphers[CF_STR_MAX];
	long		cancel_wait_timeout_ms;
	long		transaction_timeout_ms;
	long		suspend_timeout_ms;
	int			pkt_buf;
	int			max_packet_size;
	int			sbuf_loopcnt;
	UserEntry  *users;			/* [users] */
	int			n_users;

	DatabaseEntry *databases;
	int			n_databases;
	PeerEntry	peers[CF_MAX_PEERS];	/* [peers] (admin helper's minimal parse: config_parse_peer_line) */
	int			n_peers;
} Config;

/* How a key's value is parsed and where it lands in Config. */
typedef enum ConfigKind
{
	CFK_STRING,
	CFK_INT,
	CFK_TIME_MS,				/* seconds by default; units ms, s, min, h accepted */
	CFK_AUTH_TYPE,
	CFK_POOL_MODE
} ConfigKind;

typedef struct ConfigKey
{
	const char *name;
	ConfigKind	kind;
	size_t		offset;			/* offsetof(Config, …) */
	const char *default_value;
	bool		reloadable;		/* takes effect on SIGHUP/RELOAD without a restart */
	int			min_value;		/* for CFK_INT */
	int			max_value;
} ConfigKey;

/* The configuration in force (main loads it; RELOAD replaces the reloadable parts). */
extern Config cf;

/* The table of every [pooler] key, terminated by a row with name == NULL. */
extern const ConfigKey config_keys[];

/*
 * config_load: reads and checks the file at path into *out (which it initialises). Returns false and
 * writes "file:line: reason" into err on the first bad line; *out then holds nothing to free.
 */
__attribute__((warn_unused_result))
extern bool config_load(const char *path, Config *out, char *err, size_t errlen);

/*
 * config_file_error: writes "PATH:LINE: message" into err (the form every file the pooler reads uses for
 * its errors: the config file, auth_hba_file, auth_ident_file) and returns false, for `return
 * config_file_error(...)`.
 */
__attribute__((format(printf, 5, 6)))
extern bool config_file_error(char *err, size_t errlen, const char *path, int line, const char *fmt,...);

/* config_free: releases what config_load allocated in *cfg. */
extern void config_free(Config *cfg);

/* config_find_user: the [users] entry for name, or NULL (issue 15). */
extern const UserEntry *config_find_user(const Config *cfg, const char *name);

/* config_find_database: the entry for a client's database name, the "*" entry, or NULL. */
extern const DatabaseEntry *config_find_database(const Config *cfg, const char *name);

/* config_value_string: the current value of key as text (for SHOW CONFIG); secrets never appear. */
extern void config_value_string(const Config *cfg, const ConfigKey *key, char *buf, size_t buflen);

/* config_pool_mode_name: a PoolMode as the config file and PgBouncer's console spell it. */
extern const char *config_pool_mode_name(PoolMode mode);

/* config_auth_type_name: the auth_type value as written in the config file. */
extern const char *config_auth_type_name(AuthType type);

/* config_list_contains: true when the comma-separated list holds item (spaces around items ignored). */
extern bool config_list_contains(const char *list, const char *item);
/* config_list_contains_name: the same for parameter names, which PostgreSQL compares without case. */
extern bool config_list_contains_name(const char *list, const char *name);

/*
 * config_set: SET name = value from the admin console: changes one reloadable setting of *cfg in place.
 * False (cfg unchanged, reason in why) for an unknown or restart-only key or a bad value.
 */
extern bool config_set(Config *cfg, const char *name, const char *value, char *why, size_t whylen);

#endif
