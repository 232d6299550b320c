/*
 * test_hba.c: the auth_hba_file and auth_ident_file parsers and matchers (pooler/hba.c): every record
 * type, name lists with keywords, quotes and @files, CIDR and netmask addresses (IPv4, IPv6, mapped),
 * first-match order, map= options, and the refusal (with file:line) of what the pooler does not support.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hba.h"
#include "tap.h"

static HbaRules rules;

/* load: parses text as the rules in use; false (with a failed test line) when it does not parse. */
static int
load(const char *text, const char *name)
{
	char		err[HBA_ERR_MAX];

	hba_free(&rules);
	if (!hba_parse(text, "test_hba.conf", &rules, err, sizeof(err)))
	{
		printf("# %s\n", err);
		return tap_ok(0, name);
	}
	return tap_ok(1, name);
}

/* method: the method of the rule matching the login, "none" without one; "L<line>:" prefix. */
static const char *
method(bool unix_socket, bool tls, const char *addr, const char *db, const char *user)
{
	static char buf[64];
	HbaLogin	login = {.unix_socket = unix_socket, .tls = tls, .addr = addr, .database = db, .user = user};
	const HbaRule *rule = hba_match(&rules, &login);

	if (!rule)
		return "none";
	snprintf(buf, sizeof(buf), "L%d:%s", rule->line, hba_method_name(rule->method));
	return buf;
}

static void
refused(const char *text, const char *expect, const char *name)
{
	HbaRules	r;
	char		err[HBA_ERR_MAX] = "";
	bool		ok = hba_parse(text, "/tmp/x/test_hba.conf", &r, err, sizeof(err));

	if (ok)
		hba_free(&r);
	if (!tap_ok(!ok && strstr(err, expect) != NULL, name))
		printf("#   got: '%s'\n#   expected to contain: '%s'\n", ok ? "(parsed)" : err, expect);
}

int
main(void)
{
	char		dir[] = "/tmp/faregate-test-hba.XXXXXX";
	char		path[256];
	char		text[1024];
	FILE	   *f;
	IdentMap	map;
	char		err[HBA_ERR_MAX];

	load("# comment\n"
		 "  \t \n"
		 "local   all   postgres            peer\n"	/* line 3 */
		 "local   all   all                 md5   # trailing comment\n"
		 "hostssl all   all   10.0.0.0/8    cert\n"	/* line 5 */
		 "hostnossl all all   11.0.0.0/8    scram-sha-256\n"
		 "host    all   all   127.0.0.0  255.255.255.0  password\n"	/* line 7 */
		 "host    db1,\"all\" \"q\"\"x\",u2 , u3 12.0.0.0/8 trust\n"	/* line 8 */
		 "host    sameuser all 13.0.0.0/8 trust\n"	/* line 9 */
		 "host    all   all   ::1/128       md5\n"	/* line 10 */
		 "host    all   all   fe80::/10     reject\n"	/* line 11 */
		 "host    replication all all       trust\n"	/* line 12 */
		 "host    d14   all   all \\\n"
		 "        reject\n"			/* lines 13-14, one rule at line 13 */
		 "host    all   all   0.0.0.0/0     reject\n",	/* line 15 */
		 "a file with every supported form parses");
	tap_is_long(rules.n, 12, "12 rules");
	tap_is_str(method(true, false, NULL, "app", "postgres"), "L3:peer", "local: first matching rule (peer for postgres)");
	tap_is_str(method(true, false, NULL, "app", "alice"), "L4:md5", "local: next rule for another user");
	tap_is_str(method(false, true, "10.1.2.3", "app", "alice"), "L5:cert", "hostssl matches a TLS login in 10/8");
	tap_is_str(method(false, false, "10.1.2.3", "app", "alice"), "L15:reject", "… not a plaintext one");
	tap_is_str(method(false, false, "11.9.9.9", "app", "alice"), "L6:scram-sha-256", "hostnossl: plaintext login");
	tap_is_str(method(false, true, "11.9.9.9", "app", "alice"), "L15:reject", "hostnossl: not a TLS login");
	tap_is_str(method(false, false, "127.0.0.200", "app", "alice"), "L7:password", "address + netmask field");
	tap_is_str(method(false, false, "127.0.1.1", "app", "alice"), "L15:reject", "… outside the netmask");
	tap_is_str(method(false, false, "::ffff:127.0.0.9", "app", "bob"), "L7:password",
			   "an IPv4-mapped IPv6 client meets IPv4 rules");
	tap_is_str(method(false, false, "12.0.0.1", "db1", "u3"), "L8:trust",
			   "names: whitespace around a comma continues the list");
	tap_is_str(method(false, false, "12.0.0.1", "all", "q\"x"), "L8:trust",
			   "a quoted \"all\" is a database called all; \"\" is a quote");
	tap_is_str(method(false, false, "12.0.0.1", "other", "u2"), "L15:reject", "… and not the keyword all");
	tap_is_str(method(false, false, "13.1.1.1", "carol", "carol"), "L9:trust", "sameuser: database = user name");
	tap_is_str(method(false, false, "13.1.1.1", "dave", "carol"), "L15:reject", "sameuser: another database");
	tap_is_str(method(false, false, "::1", "app", "alice"), "L10:md5", "IPv6 /128");
	tap_is_str(method(false, false, "fe80::1234", "app", "alice"), "L11:reject", "IPv6 /10");
	tap_is_str(method(false, false, "2001:db8::1", "app", "alice"), "none", "an IPv6 client matches no IPv4 rule");
	tap_is_str(method(false, false, "14.0.0.1", "d14", "x"), "L13:reject", "a continued line is one rule");
	{
		HbaLogin	login = {.addr = "14.0.0.1", .database = "app", .user = "x", .replication = true};
		const HbaRule *rule = hba_match(&rules, &login);

		tap_ok(rule && rule->line == 12, "a replication connection matches only the keyword replication");
	}

	/* @file lists, relative to the hba file's directory */
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/admins.txt", dir);
	f = fopen(path, "w");
	fputs("# the admins\nann, ben\n  cid\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/pg_hba.conf", dir);
	{
		HbaLogin	login = {.addr = "1.2.3.4", .database = "app", .user = "cid"};
		const HbaRule *rule;

		snprintf(text, sizeof(text), "host all @admins.txt all trust\nhost all all all reject\n");
		hba_free(&rules);
		tap_ok(hba_parse(text, path, &rules, err, sizeof(err)) || (printf("# %s\n", err), 0), "@file parses");
		rule = hba_match(&rules, &login);
		tap_ok(rule && rule->method == HBA_TRUST, "@file: a user on its third line matches");
		login.user = "dan";
		rule = hba_match(&rules, &login);
		tap_ok(rule && rule->method == HBA_REJECT, "@file: a user not in it does not");
		hba_free(&rules);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/admins.txt", dir);
	unlink(path);
	rmdir(dir);

	load("host \"x\"\"y\" \"p , q\" 19.0.0.0/8 trust\n", "a quoted name may hold a comma and spaces");
	tap_is_str(method(false, false, "19.0.0.2", "x\"y", "p , q"), "L1:trust", "… and matches as one name");
	tap_is_str(method(false, false, "19.0.0.2", "x\"y", "p"), "none", "… not as a list");

	load("hostssl all all all cert map=certmap\nlocal all all peer map=m2\n", "map= on cert and peer");
	tap_ok(rules.n == 2 && rules.rules[0].map && strcmp(rules.rules[0].map, "certmap") == 0, "map name kept");

	refused("host all +admins all md5\n", "test_hba.conf:1: group membership", "+group refused (as PgBouncer)");
	refused("host samerole all all md5\n", ":1: samerole is not supported", "samerole refused");
	refused("\nhost all all samenet md5\n", ":2: samenet is not supported", "samenet refused with its line");
	refused("host all all db.example.com md5\n", "host names are not supported", "host names refused");
	refused("host all all 10.0.0.0/33 md5\n", "invalid address", "prefix longer than 32 bits refused");
	refused("host all all 10.0.0.0 md5\n", "needs /bits or a netmask", "address without mask refused");
	refused("host all all all ldap\n", "\"ldap\" is not supported", "ldap refused");
	refused("host all all all \"trust\"\n", "is not supported", "a quoted method is no method");
	load("host all all all cert\n", "cert on a host line is accepted, as PgBouncer does (TLS is checked at login)");
	refused("host all all all peer\n", "only supported on local", "peer on a host line refused");
	refused("host all all all md5 map=x\n", "map= works only with cert and peer", "map= with md5 refused");
	refused("host all all all md5 clientcert=verify-full\n", "option \"clientcert=verify-full\" is not supported",
			"unknown options refused");
	refused("hostgssenc all all all md5\n", "\"hostgssenc\" is not supported", "hostgssenc refused");
	refused("include other.conf\n", "\"include\" is not supported", "include directives refused");
	refused("host all \"alice all all md5\n", "not closed", "open quote refused");
	refused("host a, all all md5\n", "", "a list ending in a comma refused");
	refused("host all all 10.0.0.0/8\n", "too few fields", "no method refused");
	refused("host all all 10.0.0.0 255.0.0.0\n", "missing the authentication method", "netmask but no method refused");
	refused("local all all\n", "too few fields", "too few fields refused");
	refused("host all @/nonexistent/file all md5\n", "cannot open the @ file", "a missing @file refused");
	refused("host all /^a all md5\n", "regular expressions", "regular expressions refused");

	/* ident maps */
	tap_ok(ident_parse("# map sys db\ntest  pgbouncer.acme.org  someuser\ntest pgbouncer.acme.org anotheruser\n"
					   "test2 \"bouncer\" all\nunix  osuser  \"all\"\n", "ident.conf", &map, err, sizeof(err)),
		   "ident map parses");
	tap_ok(ident_match(&map, "test", "pgbouncer.acme.org", "anotheruser"), "ident: listed pair matches");
	tap_ok(!ident_match(&map, "test", "pgbouncer.acme.org", "bouncer"), "ident: another user does not");
	tap_ok(ident_match(&map, "test2", "bouncer", "anyone"), "ident: all matches any database user");
	tap_ok(!ident_match(&map, "test2", "pgbouncer.acme.org", "anyone"), "ident: … for that system user only");
	tap_ok(!ident_match(&map, "unix", "osuser", "anyone") && ident_match(&map, "unix", "osuser", "all"),
		   "ident: a quoted \"all\" is a user called all");
	tap_ok(!ident_match(&map, "nomap", "bouncer", "x"), "ident: an unknown map matches nothing");
	ident_free(&map);
	tap_ok(!ident_parse("m /^(.*)$ \\1\n", "ident.conf", &map, err, sizeof(err)) &&
		   strstr(err, "ident.conf:1: regular expressions") != NULL, "ident: regular expressions refused");
	tap_ok(!ident_parse("m a\n", "ident.conf", &map, err, sizeof(err)) && strstr(err, "expected MAPNAME") != NULL,
		   "ident: two fields refused");
	hba_free(&rules);
	return tap_done();
}
