/*
 * test_hostlist.c: unit tests of hostlist.c: counting, validating and reading the entries of a
 * [databases] host list (host=a,b,c).
 */
#include <string.h>

#include "hostlist.h"
#include "tap.h"

static const char *
entry(const char *list, int i)
{
	static char out[64];

	if (!hostlist_entry(list, i, out, sizeof(out)))
		return "(does not fit)";
	return out;
}

int
main(void)
{
	char		why[256];
	char		small[4];
	char		many[200] = "h";

	tap_ok(hostlist_count("") == 1, "the empty host is one entry (the default Unix socket)");
	tap_ok(hostlist_count("db1") == 1, "one host: one entry");
	tap_ok(hostlist_count("127.0.0.1,::1") == 2, "an IPv4 and an IPv6 address: two entries");
	tap_ok(!hostlist_is_list("db1") && hostlist_is_list("a,b"), "a list is a value with a comma");

	tap_is_str(entry("127.0.0.1,::1", 0), "127.0.0.1", "entry 0");
	tap_is_str(entry("127.0.0.1,::1", 1), "::1", "entry 1 (IPv6 without brackets)");
	tap_is_str(entry("127.0.0.1,::1", 2), "127.0.0.1", "entries are taken modulo the count");
	tap_is_str(entry("a,/var/run/postgresql,c", 1), "/var/run/postgresql", "a Unix socket directory in a list");
	tap_is_str(entry("single", 5), "single", "one host: every index is that host");
	tap_is_str(entry("a,b", -1), "a", "a negative index reads entry 0");
	tap_ok(!hostlist_entry("longname,b", 0, small, sizeof(small)), "an entry longer than the buffer: false");
	tap_ok(hostlist_entry("ab,longname", 0, small, sizeof(small)) && strcmp(small, "ab") == 0,
		   "a short entry fits even when a later one would not");

	tap_ok(hostlist_validate("db1", why, sizeof(why)), "one host is valid");
	tap_ok(hostlist_validate("127.0.0.1,::1,db.example.com", why, sizeof(why)), "three entries are valid");
	tap_ok(!hostlist_validate("a,,b", why, sizeof(why)) && strstr(why, "empty entry (number 2)"),
		   "an empty entry is refused, by its number");
	tap_ok(!hostlist_validate("a,b,", why, sizeof(why)) && strstr(why, "empty entry (number 3)"),
		   "a trailing comma is refused");
	tap_ok(!hostlist_validate(",a", why, sizeof(why)), "a leading comma is refused");
	for (int i = 1; i <= HOSTLIST_MAX; i++)
		strcat(many, ",h");
	tap_ok(!hostlist_validate(many, why, sizeof(why)) && strstr(why, "at most 16 hosts, not 17"),
		   "more than HOSTLIST_MAX entries are refused with the count");
	many[strlen(many) - 2] = '\0';
	tap_ok(hostlist_validate(many, why, sizeof(why)), "HOSTLIST_MAX entries are valid");
	return tap_done();
}
