/*
 * test_params.c: unit tests of params.c: the tracked-parameter parser (SET, RESET, search_path
 * elements), the interned values and the SET/RESET builder that syncs a server to its client.
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "tap.h"

static void
test_params(void)
{
	char		value[256];
	ParamSet	client = {{0}};
	ParamSet	server = {{0}};
	char		sql[512];

	tap_is_long(params_parse_set("SET search_path TO app, public", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"SET search_path TO recognised");
	tap_is_str(value, "\"app\", \"public\"", "SET search_path value rebuilt, every element quoted");
	tap_is_long(params_parse_set("  /* c */ set SESSION search_path = 'x;y'; select 1", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "SET SESSION search_path = with comment and trailing statement");
	tap_is_str(value, "\"x;y\"", "value stops at the unquoted semicolon; a string element becomes a quoted name");
	tap_is_long(params_parse_set("SET search_path TO $$'$$; INSERT INTO t VALUES (42,'replayed'); --'", true, value,
								 sizeof(value)), PARAM_SEARCH_PATH, "a dollar-quoted element is one string (issue 20)");
	tap_is_str(value, "\"'\"", "… its value only, never the statements after it");
	tap_is_long(params_parse_set("SET search_path = E'a\\'b', \"Q\"\"x\", $t$c$t$ -- tail", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "E'' escapes, a quoted name and a tagged dollar quote");
	tap_is_str(value, "\"a'b\", \"Q\"\"x\", \"c\"", "… decoded and quoted again");
	tap_is_long(params_parse_set("SET search_path TO 'a\\', b", false, value, sizeof(value)), PARAMS_UNTRACKED,
				"standard_conforming_strings off: 'a\\' is an open string, so the list does not parse");
	tap_is_long(params_parse_set("SET search_path TO 1", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"a number is not tracked");
	tap_is_long(params_parse_set("SET search_path TO U&'x'", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"U&'' is not tracked");
	tap_is_long(params_parse_set("SET search_path TO ''", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"an empty element is not tracked");
	tap_is_long(params_parse_set("SET search_path TO 'unterminated", true, value, sizeof(value)), PARAMS_UNTRACKED,
				"an unterminated string is not tracked");
	{
		char		q[200];
		char		want[80];

		/* 62 'a' then é (2 bytes): cut at 63 bytes would split é, so the name keeps 62 bytes */
		snprintf(q, sizeof(q), "SET search_path TO \"%s\xc3\xa9x\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		snprintf(want, sizeof(want), "\"%s\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		tap_is_long(params_parse_set(q, true, value, sizeof(value)), PARAM_SEARCH_PATH, "a long quoted name");
		tap_is_str(value, want, "… cut to 63 bytes as the server does, not inside a UTF-8 character");
		snprintf(q, sizeof(q), "SET search_path TO %sBCDEFGHIJ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		snprintf(want, sizeof(want), "\"%s\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		tap_is_long(params_parse_set(q, true, value, sizeof(value)), PARAM_SEARCH_PATH, "a long unquoted name");
		tap_is_str(value, want, "… folded to lower case and cut to 63 bytes");
	}
	tap_is_long(params_parse_set("SET LOCAL search_path TO x", true, value, sizeof(value)), -1, "SET LOCAL ignored");
	tap_is_long(params_parse_set("SET search_pathx TO x", true, value, sizeof(value)), -1, "other names ignored");
	tap_is_long(params_parse_set("RESET search_path", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"RESET search_path recognised");
	tap_is_str(value, "", "RESET gives the default");
	tap_is_long(params_parse_set("discard all", true, value, sizeof(value)), PARAM_SEARCH_PATH, "DISCARD ALL resets");
	tap_is_long(params_parse_set("SET search_path TO DEFAULT", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"SET … TO DEFAULT recognised");
	tap_is_str(value, "", "… as a reset");
	tap_is_long(params_parse_set("select 1", true, value, sizeof(value)), -1, "a SELECT is not a SET");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'app, public', false)", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "set_config(search_path, …, false) recognised");
	tap_is_str(value, "\"app\", \"public\"", "… its value in SET syntax, every element quoted");
	tap_is_long(params_parse_set("select pg_catalog.set_config( 'SEARCH_PATH' , '\"$user\", My''S' , FALSE ) ;",
								 true, value, sizeof(value)), PARAM_SEARCH_PATH, "… schema-qualified, spaced, quoted");
	tap_is_str(value, "\"$user\", \"my's\"", "… quoted names kept, unquoted folded to lower case");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'x', true)", true, value, sizeof(value)), -1,
				"set_config(…, true) is local: ignored");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'x', false), 1", true, value, sizeof(value)), -1,
				"set_config in a larger statement ignored");
	tap_is_long(params_parse_set("SELECT set_config('work_mem', '1MB', false)", true, value, sizeof(value)), -1,
				"set_config of another parameter ignored");
	tap_is_long(params_parse_set("SELECT set_config('search_path', 'a,,b', false)", true, value, sizeof(value)), -1,
				"a malformed list is not tracked");

	/* read with sqlscan.c since issue 18: the old hand-written scanner got these wrong */
	tap_is_long(params_parse_set("/* a /* nested */ b */ SET search_path TO x", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "a nested comment before the SET (ended at the first close before)");
	tap_is_str(value, "\"x\"", "… its value");
	tap_is_long(params_parse_set("SET \"search_path\" TO y", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"the quoted name \"search_path\" is the same parameter");
	tap_is_long(params_parse_set("RESET \"search_path\"", true, value, sizeof(value)), PARAM_SEARCH_PATH,
				"… in RESET too");
	tap_is_long(params_parse_set("SET \"Search_Path\" TO y", true, value, sizeof(value)), -1,
				"a quoted name in another case is another name");
	tap_is_long(params_parse_set("SELECT set_config(E'search_path', 'a\\', false)", false, value, sizeof(value)), -1,
				"set_config: scs off, the value's quote is escaped: not a call we read");
	tap_is_long(params_parse_set("SELECT set_config(E'search_path', $$a, b$$, false)", true, value, sizeof(value)),
				PARAM_SEARCH_PATH, "set_config: E'' and dollar-quoted arguments");
	tap_is_str(value, "\"a\", \"b\"", "… decoded");

	tap_is_long(params_lookup("datestyle"), PARAM_DATESTYLE, "lookup is case-insensitive");
	tap_is_long(params_lookup("work_mem"), -1, "untracked parameter");

	params_set(&client, PARAM_TIMEZONE, "UTC");
	params_set(&server, PARAM_TIMEZONE, "UTC");
	tap_ok(client.values[PARAM_TIMEZONE] == server.values[PARAM_TIMEZONE], "equal values are interned once");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 0, "same values: nothing to send");
	params_set(&client, PARAM_APPLICATION_NAME, "o'neil");
	params_set(&client, PARAM_SEARCH_PATH, "app");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 2, "two differences");
	tap_is_str(sql, "SET application_name = 'o''neil';SET search_path TO app;", "SET statements built");
	params_set(&server, PARAM_SEARCH_PATH, "other");
	params_set(&client, PARAM_SEARCH_PATH, NULL);
	params_set(&server, PARAM_APPLICATION_NAME, "o'neil");
	tap_is_long(params_build_sync(&client, &server, sql, sizeof(sql)), 1, "a server search_path the client never set");
	tap_is_str(sql, "RESET search_path;", "… is reset");
	tap_is_long(params_build_sync(&client, &server, sql, 4), -1, "too small a buffer is reported");
	params_clear(&client);
	params_clear(&server);
	tap_is_long(params_interned_count(), 0, "every interned value freed with its last reference");
}

int
main(void)
{
	test_params();
	return tap_done();
}
