/*
 * test_config.c: unit tests of config.c: defaults, every value type, [databases] lines, and that every
 * bad line is refused with the file, line and reason.
 */
#include <stdlib.h>
#include <unistd.h>

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
	refused("[pooler]\npool_mode = statement\n", "pool_mode must be transaction or session",
			"statement mode refused");
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
	unlink(path);
	return tap_done();
}
