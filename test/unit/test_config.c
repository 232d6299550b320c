/*
 * test_config.c: unit tests of config.c: defaults, every value type, [databases] lines, PgBouncer's
 * [users], %include and per-database words (issue 15), the client limits' values (clientlimit.c), and that
 * every bad line is refused with the file, line and reason.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientlimit.h"
#include "config.h"
#include "tap.h"

static char path[] = "/tmp/faregate-test-config.XXXXXX";

static int
load_text(const char *text, Config *cfg, char *err)
{
	FILE	   *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return config_load(path, cfg, err, CF_ERR_MAX);
}

static void
refused(const char *text, const char *fragment, const char *name)
{
	Config		cfg;
	char		err[CF_ERR_MAX] = "";
	int			loaded = load_text(text, &cfg, err);

	if (loaded)
		config_free(&cfg);
	if (!tap_ok(!loaded && strstr(err, fragment) != NULL, name))
		printf("#   error was: '%s' (wanted it to contain '%s')\n", err, fragment);
}

/* test_client_limits: max_db_client_connections and max_user_client_connections, global and per line. */
static void
test_client_limits(char *err)
{
	Config		cfg;

	if (!tap_ok(load_text("[pooler]\nauth_type = trust\nmax_db_client_connections = 7\n"
						  "max_user_client_connections = 9\n"
						  "[databases]\nown = host=h max_db_client_connections=2\nzero = host=h max_db_client_connections=0\n"
						  "plain = host=h\n* = host=h max_db_client_connections=4\n"
						  "[users]\nalice = max_user_client_connections=3\nbob = pool_size=2\n", &cfg, err),
				"a file with client limits in [pooler], on [databases] and [users] lines loads"))
		printf("#   %s\n", err);
	tap_is_long(cfg.max_db_client_connections, 7, "[pooler] max_db_client_connections is read");
	tap_is_long(cfg.max_user_client_connections, 9, "[pooler] max_user_client_connections is read");
	tap_is_long(config_find_database(&cfg, "own")->max_db_client_connections, 2,
				"a database line's max_db_client_connections is read");
	tap_is_long(config_find_user(&cfg, "alice")->max_user_client_connections, 3,
				"a [users] line's max_user_client_connections is read");
	tap_is_long(clientlimit_db_max(&cfg, "own", false), 2, "the database line's limit wins over the [pooler] one");
	tap_is_long(clientlimit_db_max(&cfg, "zero", false), 7,
				"a line's max_db_client_connections=0 means the [pooler] value (PgBouncer's rule)");
	tap_is_long(clientlimit_db_max(&cfg, "plain", false), 7, "a line without it: the [pooler] value");
	tap_is_long(clientlimit_db_max(&cfg, "other", false), 4, "a name the \"*\" line serves: that line's limit");
	tap_is_long(clientlimit_db_max(&cfg, "own", true), 7, "the admin console: the [pooler] value, never a line's");
	tap_is_long(clientlimit_user_max(&cfg, "alice"), 3, "the [users] line's limit wins over the [pooler] one");
	tap_is_long(clientlimit_user_max(&cfg, "bob"), 9, "a [users] line without it: the [pooler] value");
	tap_is_long(clientlimit_user_max(&cfg, "carol"), 9, "a user without a line: the [pooler] value");
	config_free(&cfg);
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[databases]\na = host=h\n", &cfg, err),
				"a file without client limits loads"))
		printf("#   %s\n", err);
	tap_is_long(clientlimit_db_max(&cfg, "a", false) + clientlimit_user_max(&cfg, "u"), 0,
				"both limits default to 0 (unlimited)");
	config_free(&cfg);
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x max_db_client_connections=-1\n",
			":4: max_db_client_connections must be a whole number from 0 to 1000000, not \"-1\"",
			"a negative database max_db_client_connections refused with file:line");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x max_db_client_connections=lots\n",
			"max_db_client_connections must be a whole number", "a database max_db_client_connections that is no number refused");
	refused("[users]\nu = max_user_client_connections=2000000\n",
			":2: max_user_client_connections must be a whole number from 0 to 1000000, not \"2000000\"",
			"a [users] max_user_client_connections out of range refused");
	refused("[pooler]\nmax_db_client_connections = x\n", "max_db_client_connections", "a bad [pooler] value refused");
}

/* test_dropin: issue 15's PgBouncer keys, per-database and [users] words, %include, nearest names. */
static void
test_dropin(char *err)
{
	Config		cfg;
	const DatabaseEntry *db;
	const UserEntry *user;
	char		inc[] = "/tmp/faregate-test-include.XXXXXX";
	char		text[512];
	int			fd;

	if (!tap_ok(load_text("[pgbouncer]\nauth_type = trust\nuser = postgres\nunix_socket_mode = 0770\n"
						  "listen_backlog = 64\ntcp_keepalive = 0\ntcp_keepidle = 30\ntcp_user_timeout = 5000\n"
						  "ignore_startup_parameters = extra_float_digits, options\nlog_connections = 0\n"
						  "stats_period = 30\nclient_tls_protocols = secure\nserver_login_retry = 15.0\n"
						  "syslog_facility = local0\n"
						  "[databases]\na = host=h min_pool_size=2 reserve_pool=3 max_db_connections=4 "
						  "server_lifetime=90 pool_mode=transaction load_balance_hosts=disable "
						  "max_db_client_connections=0 connect_query='' client_encoding=''\n"
						  "b = host=h\n"
						  "[users]\nalice = pool_size=5 reserve_pool_size=1 max_user_connections=7 "
						  "query_timeout=0 max_user_client_connections=0\n", &cfg, err),
				"a file with PgBouncer 1.25 keys, per-database and [users] settings loads"))
		printf("#   %s\n", err);
	tap_is_str(cfg.user, "postgres", "user is read");
	tap_is_str(cfg.unix_socket_mode, "0770", "unix_socket_mode is read");
	tap_is_long(cfg.listen_backlog, 64, "listen_backlog is read");
	tap_is_long(cfg.tcp_keepalive, 0, "tcp_keepalive is read");
	tap_is_long(cfg.tcp_keepidle, 30, "tcp_keepidle is read");
	tap_is_long(cfg.tcp_user_timeout, 5000, "tcp_user_timeout is read");
	tap_is_long(cfg.stats_period_ms, 30000, "stats_period (no effect) is read");
	db = config_find_database(&cfg, "a");
	tap_is_long(db->min_pool_size, 2, "per-database min_pool_size is read");
	tap_is_long(db->reserve_pool_size, 3, "per-database reserve_pool (alias of reserve_pool_size) is read");
	tap_is_long(db->max_db_connections, 4, "per-database max_db_connections is read");
	tap_is_long(db->server_lifetime_ms, 90000, "per-database server_lifetime is read");
	db = config_find_database(&cfg, "b");
	tap_ok(db->min_pool_size == -1 && db->server_lifetime_ms == -1, "unset per-database settings are -1 (the [pooler] value)");
	user = config_find_user(&cfg, "alice");
	tap_ok(user && user->pool_size == 5 && user->reserve_pool_size == 1 && user->max_user_connections == 7,
		   "[users] pool_size, reserve_pool_size and max_user_connections are read");
	tap_ok(config_find_user(&cfg, "bob") == NULL, "a user without a [users] line has none");
	config_free(&cfg);

	if (!tap_ok(load_text("[pgbouncer]\nauth_type = trust\nresolv_conf = /etc/fg-resolv.conf\n", &cfg, err),
				"PgBouncer's resolv_conf loads"))
		printf("#   %s\n", err);
	tap_is_str(cfg.dns_resolv_conf, "/etc/fg-resolv.conf", "resolv_conf (PgBouncer's name) sets the file dns.c reads");
	config_free(&cfg);
	if (!tap_ok(load_text("[pgbouncer]\nauth_type = trust\nresolv_conf =\n", &cfg, err), "an empty resolv_conf loads"))
		printf("#   %s\n", err);
	tap_is_str(cfg.dns_resolv_conf, "/etc/resolv.conf", "an empty resolv_conf leaves dns_resolv_conf's default");
	config_free(&cfg);
	/* a file written for PgBouncer keeps PgBouncer's pool_mode default; faregate's own keeps transaction */
	tap_ok(load_text("[pgbouncer]\nauth_type = trust\n", &cfg, err) && cfg.pool_mode == POOL_SESSION,
		   "[pgbouncer] without pool_mode: session, PgBouncer's default");
	config_free(&cfg);
	tap_ok(load_text("[pgbouncer]\nauth_type = trust\npool_mode = transaction\n", &cfg, err) &&
		   cfg.pool_mode == POOL_TRANSACTION, "[pgbouncer] with pool_mode = transaction: transaction");
	config_free(&cfg);
	tap_ok(load_text("[pooler]\nauth_type = trust\n", &cfg, err) && cfg.pool_mode == POOL_TRANSACTION,
		   "[pooler] without pool_mode: transaction, faregate-pooler's default");
	config_free(&cfg);

	refused("[pooler]\nclient_tls_ecdhcurve = prime256v1\n", ":2: client_tls_ecdhcurve is not supported by "
			"faregate-pooler at any value but its default (auto)", "an ECDH curve other than the default is refused");
	refused("[pooler]\nserver_round_robin = 1\n", "server_round_robin is not supported", "server_round_robin = 1 refused");
	refused("[pooler]\nlisten_bakclog = 1\n", "did you mean \"listen_backlog\"?", "a misspelt key names the nearest");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x min_pol_size=1\n",
			":4: unknown database setting \"min_pol_size\"; did you mean \"min_pool_size\"?",
			"a misspelt database word names the nearest");
	refused("[users]\nu = pool_sise=1\n", "did you mean \"pool_size\"?", "a misspelt [users] word names the nearest");
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[databases]\n"
						  "a = host=x connect_query='set enable_seqscan=off; set enable_nestloop=off' pool_size=2\n",
						  &cfg, err), "a quoted connect_query with spaces loads (PgBouncer's test.ini p8)"))
		printf("#   %s\n", err);
	tap_is_str(config_find_database(&cfg, "a")->connect_query, "set enable_seqscan=off; set enable_nestloop=off",
			   "connect_query is read whole");
	tap_ok(config_find_database(&cfg, "a")->pool_size == 2, "... and the words after it still are");
	config_free(&cfg);
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[databases]\n"
						  "a = host=x client_encoding=SQL_ASCII datestyle='SQL, DMY' timezone=Europe/Lisbon\n", &cfg, err),
				"client_encoding, datestyle and timezone on a database line load"))
		printf("#   %s\n", err);
	tap_ok(strcmp(config_find_database(&cfg, "a")->client_encoding, "SQL_ASCII") == 0 &&
		   strcmp(config_find_database(&cfg, "a")->datestyle, "SQL, DMY") == 0 &&
		   strcmp(config_find_database(&cfg, "a")->timezone, "Europe/Lisbon") == 0,
		   "... each into its own field");
	config_free(&cfg);
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[databases]\na = host=127.0.0.1,::1 port=6666\n"
						  "b = host=x,/var/run/postgresql load_balance_hosts=disable\nc = host=x\n", &cfg, err),
				"host lists (host=a,b) load, with load_balance_hosts"))
		printf("#   %s\n", err);
	tap_is_str(config_find_database(&cfg, "a")->host, "127.0.0.1,::1", "a host list is kept as written");
	tap_ok(config_find_database(&cfg, "a")->load_balance_hosts == LB_HOSTS_ROUND_ROBIN,
		   "load_balance_hosts defaults to round-robin");
	tap_ok(config_find_database(&cfg, "b")->load_balance_hosts == LB_HOSTS_DISABLE, "load_balance_hosts=disable is read");
	config_free(&cfg);
	/* PgBouncer's syntax: blanks around '=' in [databases], [users] and [peers] lines */
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[databases]\nsp = host = h  port =6666 auth_query = 'SELECT 1'\n"
						  "[users]\npuser1 = max_user_connections = 1 pool_mode= session\n"
						  "[peers]\n1 = host = /tmp port= 7000\n", &cfg, err),
				"blanks around '=' in [databases], [users] and [peers] items load (PgBouncer's syntax)"))
		printf("#   %s\n", err);
	tap_ok(config_find_database(&cfg, "sp") && config_find_database(&cfg, "sp")->port == 6666 &&
		   strcmp(config_find_database(&cfg, "sp")->host, "h") == 0 &&
		   strcmp(config_find_database(&cfg, "sp")->auth_query, "SELECT 1") == 0,
		   "... the database line's values read as written");
	tap_ok(config_find_user(&cfg, "puser1") && config_find_user(&cfg, "puser1")->max_user_connections == 1 &&
		   config_find_user(&cfg, "puser1")->pool_mode == POOL_SESSION, "... the [users] line's too");
	tap_ok(cfg.n_peers == 1 && cfg.peers[0].port == 7000 && strcmp(cfg.peers[0].host, "/tmp") == 0,
		   "... and the [peers] line's");
	config_free(&cfg);
	refused("[pooler]\nauth_type = trust\n[users]\nu = pool_size\n", "[users] expects key=value items",
			"a [users] item without '=' is refused");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x = y\n", "expects key=value items",
			"a stray '=' on a database line is refused");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x,,y\n", "has an empty entry (number 2)",
			"a host list with an empty entry is refused");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x,y replicas=z:5432\n",
			"with replicas= the host is the write node", "a host list with replicas= is refused, with the reason");
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x,y load_balance_hosts=random\n",
			"load_balance_hosts must be round-robin or disable", "an unknown load_balance_hosts is refused");
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\npool_mode = statement\n[databases]\n"
						  "a = host=x pool_mode=session\nb = host=x pool_mode=statement\nc = host=x\n"
						  "[users]\nu = pool_mode=transaction\nv = pool_size=2\n", &cfg, err),
				"pool_mode = statement, and pool_mode on [databases] and [users] lines, load"))
		printf("#   %s\n", err);
	tap_ok(cfg.pool_mode == POOL_STATEMENT, "[pooler] pool_mode = statement is read");
	tap_ok(config_find_database(&cfg, "a")->pool_mode == POOL_SESSION &&
		   config_find_database(&cfg, "b")->pool_mode == POOL_STATEMENT &&
		   config_find_database(&cfg, "c")->pool_mode == -1, "a database's pool_mode is read (-1 = inherited)");
	tap_ok(config_find_user(&cfg, "u")->pool_mode == POOL_TRANSACTION && config_find_user(&cfg, "v")->pool_mode == -1,
		   "a [users] pool_mode is read (-1 = inherited)");
	tap_is_str(config_pool_mode_name(cfg.pool_mode), "statement", "statement mode's name");
	config_free(&cfg);
	refused("[pooler]\nauth_type = trust\n[databases]\na = host=x pool_mode=sesion\n",
			":4: pool_mode must be session, transaction or statement, not \"sesion\"", "a bad database pool_mode refused");
	refused("[users]\nu = pool_mode=stmt\n", ":2: pool_mode must be session, transaction or statement",
			"a bad [users] pool_mode refused");
	refused("[pooler]\npool_mode = txn\n", ":2: pool_mode must be session, transaction or statement",
			"a bad [pooler] pool_mode refused");
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n[users]\nu = query_timeout=5 idle_transaction_timeout=250ms "
						  "transaction_timeout=1min client_idle_timeout=2.5s\nv = pool_size=1\n", &cfg, err),
				"[users] query_timeout, idle_transaction_timeout, transaction_timeout, client_idle_timeout load"))
		printf("#   %s\n", err);
	{
		const UserEntry *u = config_find_user(&cfg, "u");
		const UserEntry *v = config_find_user(&cfg, "v");

		tap_ok(u && u->query_timeout_ms == 5000 && u->idle_transaction_timeout_ms == 250 &&
			   u->transaction_timeout_ms == 60000 && u->client_idle_timeout_ms == 2500, "... each in milliseconds");
		tap_ok(v && v->query_timeout_ms == 0 && v->client_idle_timeout_ms == 0,
			   "a [users] line without them keeps 0 (the [pooler] value applies)");
	}
	config_free(&cfg);
	refused("[users]\nu = query_timeout=soon\n", "query_timeout must be a duration such as 30, 2.5s or 5min",
			"a [users] timeout that is not a duration refused");
	refused("[users]\nu = pool_size=1\nu = pool_size=2\n", "user \"u\" is defined twice", "duplicate [users] line");

	fd = mkstemp(inc);
	if (fd >= 0)
	{
		const char *body = "[databases]\nincluded = host=h\n";

		if (write(fd, body, strlen(body)) < 0)
			tap_ok(0, "write the included file");
		close(fd);
	}
	snprintf(text, sizeof(text), "[pooler]\nauth_type = trust\nlisten_port = 7001\n%%include %s\nafter = host=h\n", inc);
	if (!tap_ok(load_text(text, &cfg, err), "%include loads the named file in place"))
		printf("#   %s\n", err);
	tap_ok(config_find_database(&cfg, "included") != NULL, "a database of the included file is known");
	tap_is_long(cfg.listen_port, 7001, "the lines before the %include are read");
	tap_ok(config_find_database(&cfg, "after") != NULL,
		   "the included file's section carries on after it, as in PgBouncer (libusual's cfparser)");
	config_free(&cfg);
	unlink(inc);
	refused("[pooler]\n%include /nonexistent/x.ini\n", "/nonexistent/x.ini:0: cannot open", "a missing %include file refused");
	snprintf(text, sizeof(text), "%%include %s\n", path);
	refused(text, "nested more than 8 deep", "an %include loop is refused");
}

int
main(void)
{
	Config		cfg;
	char		err[CF_ERR_MAX] = "";
	char		buf[64];
	int			fd = mkstemp(path);

	close(fd);

	tap_ok(!load_text("[pooler]\n", &cfg, err) && strstr(err, "md5 is the default"),
		   "an empty [pooler] section is refused: auth_type md5, the default, needs auth_file");
	tap_ok(load_text("[pooler]\nauth_file = /etc/users.txt\n", &cfg, err),
		   "a [pooler] section with only auth_file loads");
	tap_ok(cfg.auth_type == AUTH_MD5, "auth_type defaults to md5 (as PgBouncer)");
	tap_is_long(cfg.listen_port, 6432, "listen_port defaults to 6432");
	tap_is_long(cfg.default_pool_size, 20, "default_pool_size defaults to 20");
	tap_is_long(cfg.query_wait_timeout_ms, 120000, "query_wait_timeout defaults to 120 s");
	tap_is_str(cfg.server_reset_query, "DISCARD ALL", "server_reset_query defaults to DISCARD ALL");
	tap_ok(cfg.pool_mode == POOL_TRANSACTION, "pool_mode defaults to transaction");
	config_free(&cfg);

	tap_ok(load_text("; comment\n# comment\n[pgbouncer]\nlisten_port = 7000\npool_mode = session\n"
					 "query_timeout = 250ms\nserver_lifetime = 2min\nclient_idle_timeout = 1.5\n"
					 "auth_type = md5\nauth_file = /etc/users.txt\nadmin_users = alice, bob\n"
					 "[databases]\napp = host=127.0.0.1 port=5433 dbname=appdb pool_size=5\n"
					 "* = host=/tmp port=5432\nquoted = host='db host' password='it\\'s'\n",
					 &cfg, err), "a PgBouncer-style file loads ([pgbouncer] accepted)");
	tap_is_long(cfg.listen_port, 7000, "listen_port is read");
	tap_ok(cfg.pool_mode == POOL_SESSION, "pool_mode session is read");
	tap_is_long(cfg.query_timeout_ms, 250, "250ms is 250 ms");
	tap_is_long(cfg.server_lifetime_ms, 120000, "2min is 120000 ms");
	tap_is_long(cfg.client_idle_timeout_ms, 1500, "1.5 (seconds) is 1500 ms");
	tap_ok(cfg.auth_type == AUTH_MD5, "auth_type md5 is read");
	tap_ok(config_list_contains(cfg.admin_users, "bob"), "admin_users list holds bob");
	tap_ok(!config_list_contains(cfg.admin_users, "bo"), "admin_users list does not hold a prefix");
	tap_is_long(cfg.n_databases, 3, "three databases");
	tap_is_str(config_find_database(&cfg, "app")->dbname, "appdb", "app maps to dbname appdb");
	tap_is_long(config_find_database(&cfg, "app")->port, 5433, "app's port is 5433");
	tap_is_long(config_find_database(&cfg, "app")->pool_size, 5, "app's pool_size is 5");
	tap_is_str(config_find_database(&cfg, "other")->name, "*", "an unknown name falls back to *");
	tap_is_str(config_find_database(&cfg, "quoted")->host, "db host", "a quoted value keeps its space");
	for (const ConfigKey *key = config_keys; key->name; key++)
		if (strcmp(key->name, "query_timeout") == 0)
		{
			config_value_string(&cfg, key, buf, sizeof(buf));
			tap_is_str(buf, "250ms", "SHOW CONFIG formats 250 ms as 250ms");
		}
	config_free(&cfg);

	refused("[pooler]\nno_such_key = 1\n", ":2: unknown setting \"no_such_key\"", "unknown key refused");
	refused("[pooler]\nlisten_port = 70000\n", ":2: listen_port must be a whole number from 1 to 65535",
			"out-of-range port refused");
	refused("[pooler]\nlisten_port = 12ab\n", ":2: listen_port", "non-numeric port refused");
	refused("[pooler]\nquery_timeout = soon\n", ":2: query_timeout must be a duration", "bad duration refused");
	refused("[pooler]\nauth_type = password\n", "auth_type must be trust, md5, scram-sha-256",
			"unknown auth_type refused");
	refused("[pooler]\nauth_type = md5\n", "needs auth_file", "md5 without auth_file refused");
	refused("[nonsense]\n", ":1: unknown section [nonsense]", "unknown section refused");
	refused("listen_port = 1\n", ":1: setting \"listen_port\" outside a section", "key outside section refused");
	refused("[pooler]\njust words\n", ":2: expected \"key = value\"", "line without = refused");
	refused("[databases]\na = host=x\na = host=y\n", ":3: database \"a\" is defined twice", "duplicate database");
	refused("[databases]\na = host=x colour=blue\n", "unknown database setting \"colour\"",
			"unknown database setting refused");
	refused("[databases]\na = host='x\n", "unterminated quote", "unterminated quote refused");
	refused("[pooler]\nauth_type = trust\nlisten_addr =\n", "nothing to listen on", "no listener refused");

	if (!tap_ok(load_text("[pooler]\nauth_type = trust\n"
						  "[databases]\nr = host=p replicas=a:1,b:2 replica_weights=2,0 primary_read_weight=3\n"
						  "s = host=p replicas=a:1\n", &cfg, err), "a database line with primary_read_weight loads"))
		printf("#   %s\n", err);
	tap_is_long(config_find_database(&cfg, "r")->primary_read_weight, 3, "primary_read_weight is read");
	tap_is_long(config_find_database(&cfg, "r")->replica_weight[1], 0, "replica_weights beside it are read");
	tap_is_long(config_find_database(&cfg, "s")->primary_read_weight, 0, "primary_read_weight defaults to 0");
	config_free(&cfg);
	refused("[databases]\na = host=x replicas=a:1 primary_read_weight=1001\n", "primary_read_weight must be",
			"primary_read_weight above 1000 refused");
	refused("[databases]\na = host=x primary_read_weight=-1\n", "primary_read_weight must be",
			"negative primary_read_weight refused");
	/* patroni= (Patroni REST discovery) */
	if (!tap_ok(load_text("[pooler]\nauth_type = trust\npatroni_poll_period = 250ms\n"
						  "[databases]\nha = dbname=app patroni=http://127.0.0.1:8008,http://[::1]:8009\n", &cfg, err),
				"a database line with patroni= loads"))
		printf("#   %s\n", err);
	tap_is_str(config_find_database(&cfg, "ha")->patroni, "http://127.0.0.1:8008,http://[::1]:8009", "patroni= is kept");
	tap_is_long(cfg.patroni_poll_period_ms, 250, "patroni_poll_period is read");
	tap_is_long(cfg.patroni_request_timeout_ms, 2000, "patroni_request_timeout defaults to 2 s");
	config_free(&cfg);
	refused("[databases]\na = host=x patroni=http://127.0.0.1:8008\n", "drop host=", "patroni= with host= refused");
	refused("[databases]\na = patroni=http://127.0.0.1:8008 replicas=a:1\n", "drop host=",
			"patroni= with replicas= refused");
	refused("[databases]\na = patroni=http://patroni1:8008\n", "numeric address", "patroni= with a host name refused");
	refused("[databases]\na = patroni=127.0.0.1:8008\n", "http://", "patroni= without http:// refused");
	refused("[pooler]\nauth_type = trust\npatroni_poll_period = 5ms\n", "at least 10ms", "patroni_poll_period below 10ms refused");
	{
		Config		missing;

		tap_ok(!config_load("/nonexistent/faregate.ini", &missing, err, sizeof(err)) &&
			   strstr(err, "cannot open the config file") != NULL, "missing file refused");
	}
	test_dropin(err);
	test_client_limits(err);
	unlink(path);
	return tap_done();
}
