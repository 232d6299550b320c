/*
 * test_prepared.c: unit tests of prepared.c: the per-client statement maps, the per-server sets of
 * prepared statements and the DEALLOCATE parser.
 */
#include <stdlib.h>
#include <string.h>

#include "prepared.h"
#include "proto.h"
#include "tap.h"

static void
test_prepared(void)
{
	ClientStmtMap a = {0, 0, NULL};
	ClientStmtMap b = {0, 0, NULL};
	ServerStmtSet set = {0, 0, NULL};
	const uint8_t body1[] = "select 1\0\0\0";
	const uint8_t body2[] = "select 2\0\0\0";
	PreparedStmt *s1;
	PreparedStmt *s2;
	PreparedStmt *s3;
	char		name[32];
	bool		all = true;

	s1 = prepared_client_parse(&a, "q", body1, sizeof(body1) - 1);
	s2 = prepared_client_parse(&b, "other_name", body1, sizeof(body1) - 1);
	tap_ok(s1 && s1 == s2, "same Parse body from two clients is one statement");
	tap_is_long(s1->refs, 2, "… referenced twice");
	tap_ok(s1->parse_msg[0] == 'P' && proto_get_u32(s1->parse_msg + 1) + 1 == s1->parse_len &&
		   strcmp((const char *) s1->parse_msg + 5, s1->server_name) == 0, "stored Parse carries the server name");
	s3 = prepared_client_parse(&a, "q2", body2, sizeof(body2) - 1);
	tap_ok(s3 && s3 != s1 && strcmp(s3->server_name, s1->server_name) != 0, "different body, different statement");
	tap_ok(prepared_client_lookup(&a, "q") == s1 && prepared_client_lookup(&b, "q") == NULL,
		   "names are per client");
	prepared_client_close(&a, "q");
	tap_ok(prepared_client_lookup(&a, "q") == NULL && prepared_client_lookup(&a, "q2") == s3, "Close drops one name");
	tap_is_long(s1->refs, 1, "… and one reference");

	for (int i = 0; i < 200; i++)
	{
		snprintf(name, sizeof(name), "stmt_%d", i);
		if (!prepared_client_parse(&a, name, body2, sizeof(body2) - 1))
			all = false;
	}
	for (int i = 0; i < 200; i++)
	{
		snprintf(name, sizeof(name), "stmt_%d", i);
		if (prepared_client_lookup(&a, name) != s3)
			all = false;
	}
	tap_ok(all, "200 names in one client map, all found after growing");

	tap_ok(!prepared_server_has(&set, s1->id), "empty server set");
	all = true;
	for (uint64_t id = 1; id <= 100; id++)
		all = all && prepared_server_add(&set, id * 7);
	tap_ok(all && prepared_server_has(&set, 700) && !prepared_server_has(&set, 701), "server set membership");
	prepared_server_remove(&set, 350);
	all = !prepared_server_has(&set, 350);
	for (uint64_t id = 1; id <= 100; id++)
		if (id != 50)
			all = all && prepared_server_has(&set, id * 7);
	tap_ok(all, "removal keeps every other id findable");
	prepared_server_free(&set);

	prepared_client_free(&a);
	prepared_client_free(&b);
	tap_is_long(prepared_total(), 0, "statements freed with their last name");

	/* a body is answered locally only once a server accepted it; a rejected Parse drops its name */
	s1 = prepared_client_parse(&a, "v1", body1, sizeof(body1) - 1);
	tap_ok(s1 && !prepared_validated(body1, sizeof(body1) - 1), "a new body is not validated");
	prepared_client_failed(&a, s1->id);
	tap_ok(prepared_client_lookup(&a, "v1") == NULL && prepared_total() == 0,
		   "a rejected Parse drops its fresh name and the statement");
	s1 = prepared_client_parse(&a, "v1", body1, sizeof(body1) - 1);
	prepared_client_confirm(&a, s1->id);
	tap_ok(prepared_validated(body1, sizeof(body1) - 1), "ParseComplete validates the body");
	prepared_client_failed(&a, s1->id);
	tap_ok(prepared_client_lookup(&a, "v1") == s1, "a confirmed name survives a later failure elsewhere");
	tap_ok(!prepared_validated(body2, sizeof(body2) - 1), "other bodies stay unvalidated");
	prepared_client_free(&a);

	tap_is_long(prepared_parse_deallocate("DEALLOCATE S1", name, sizeof(name)), PREPARED_DEALLOC_NAME,
				"DEALLOCATE name");
	tap_is_str(name, "s1", "… folded to lower case");
	tap_is_long(prepared_parse_deallocate(" deallocate prepare \"My\"\"S\" ; ", name, sizeof(name)),
				PREPARED_DEALLOC_NAME, "DEALLOCATE PREPARE \"quoted\";");
	tap_is_str(name, "My\"S", "… quoted name kept as written");
	tap_is_long(prepared_parse_deallocate("/* c */ DEALLOCATE ALL", name, sizeof(name)), PREPARED_DEALLOC_ALL,
				"DEALLOCATE ALL");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE PREPARE all;", name, sizeof(name)), PREPARED_DEALLOC_ALL,
				"DEALLOCATE PREPARE ALL");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE s1; SELECT 1", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"more statements: left to the server");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"no name: left to the server");
	tap_is_long(prepared_parse_deallocate("DEALLOCATEx s1", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"another word");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE \"unterminated", name, sizeof(name)), PREPARED_DEALLOC_NONE,
				"an unterminated quoted name");
	/* read with sqlscan.c since issue 18: the old hand-written scanner got these wrong */
	tap_is_long(prepared_parse_deallocate("/* a /* nested */ b */ DEALLOCATE s2", name, sizeof(name)),
				PREPARED_DEALLOC_NAME, "a nested comment before DEALLOCATE (ended at the first close before)");
	tap_is_str(name, "s2", "… the name");
	tap_is_long(prepared_parse_deallocate("DEALLOCATE s3 -- done", name, sizeof(name)), PREPARED_DEALLOC_NAME,
				"a trailing -- comment");
	{
		char		q[128] = "DEALLOCATE ";
		char		big[96];

		memset(q + 11, 'n', 70);
		q[81] = '\0';
		tap_is_long(prepared_parse_deallocate(q, big, sizeof(big)), PREPARED_DEALLOC_NAME, "a 70-byte name");
		tap_is_long((long) strlen(big), 63, "… cut to 63 bytes, as the server reads it");
		tap_is_long(prepared_parse_deallocate(q, name, sizeof(name)), PREPARED_DEALLOC_NONE,
					"… left to the server when it does not fit the caller's buffer");
	}
}

int
main(void)
{
	test_prepared();
	return tap_done();
}
