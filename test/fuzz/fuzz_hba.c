/*
 * fuzz_hba.c: libFuzzer target for hba.c: any bytes as an auth_hba_file and as an auth_ident_file must be
 * parsed or refused with a message, never crash or leak; every parsed rule must be matchable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hba.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	HbaRules	rules;
	IdentMap	map;
	char		err[HBA_ERR_MAX];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';			/* the files are read as C strings: a NUL ends them */
	err[0] = '\0';
	if (hba_parse(text, "/nonexistent/fuzz_hba.conf", &rules, err, sizeof(err)))
	{
		HbaLogin	login = {.addr = "10.1.2.3", .database = "db", .user = "user"};

		(void) hba_match(&rules, &login);
		login.addr = "::ffff:10.1.2.3";
		login.tls = true;
		(void) hba_match(&rules, &login);
		login.unix_socket = true;
		(void) hba_match(&rules, &login);
		hba_free(&rules);
	}
	else if (err[0] == '\0')
		__builtin_trap();		/* a refusal must always say why */
	err[0] = '\0';
	if (ident_parse(text, "fuzz_ident.conf", &map, err, sizeof(err)))
	{
		(void) ident_match(&map, "m", "sys", "user");
		ident_free(&map);
	}
	else if (err[0] == '\0')
		__builtin_trap();
	free(text);
	return 0;
}
