/*
 * fuzz_config.c: libFuzzer target for config.c: any bytes as a config file must be accepted or refused
 * with a message, never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE	   *file;
	Config		cfg;
	char		err[CF_ERR_MAX];

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/faregate-fuzz-config.%d", (int) getpid());
	file = fopen(path, "w");
	if (!file)
		return 0;
	fwrite(data, 1, size, file);
	fclose(file);
	if (config_load(path, &cfg, err, sizeof(err)))
	{
		(void) config_find_database(&cfg, "app");
		config_free(&cfg);
	}
	else if (err[0] == '\0')
		__builtin_trap();		/* a refusal must always say why */
	return 0;
}
