/*
 * fuzz_authfile.c: libFuzzer target for auth.c's auth_file parser: any bytes as an auth_file (mode 0600)
 * must be loaded or refused with a message, never crash or leak; every loaded user must be found again.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE	   *file;
	AuthFile	users;
	char		err[AUTH_ERR_MAX];

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/faregate-fuzz-authfile.%d", (int) getpid());
	file = fopen(path, "w");
	if (!file)
		return 0;
	fwrite(data, 1, size, file);
	fclose(file);
	chmod(path, 0600);
	err[0] = '\0';
	if (authfile_load(path, &users, err, sizeof(err)))
	{
		for (int i = 0; i < users.n_entries; i++)
			if (authfile_lookup(&users, users.entries[i].user) != &users.entries[i])
				__builtin_trap();	/* names are unique, so each finds its own entry */
		authfile_free(&users);
	}
	else if (err[0] == '\0')
		__builtin_trap();		/* a refusal must always say why */
	return 0;
}
