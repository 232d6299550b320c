/*
 * main.c: faregate-pooler's entry point: command-line arguments, loading the configuration, and
 * (as the pooler grows) daemonizing, signals and the event loop.
 */
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

static void
print_usage(FILE *out)
{
	fprintf(out,
			"faregate-pooler %s: a transaction-mode PostgreSQL connection pooler.\n\n"
			"Usage: faregate-pooler [OPTION]... CONFIG.ini\n\n"
			"Options:\n"
			"  -d, --daemon        run in the background (needs pidfile in the config)\n"
			"  -v, --verbose       log more (repeat for even more)\n"
			"  -C, --check-config  read and check CONFIG.ini, print a summary, and exit\n"
			"  -h, --help          show this help and exit\n"
			"  -V, --version       show the version and exit\n\n"
			"Every setting is described in docs/pooler.md and in the sample docs/faregate-pooler.ini.\n",
			FAREGATE_POOLER_VERSION);
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"daemon", no_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	int			opt;
	int			verbose = 0;
	bool		check_only = false;
	Config		cfg;
	char		err[CF_ERR_MAX];

	while ((opt = getopt_long(argc, argv, "dvChV", long_options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				break;
			case 'v':
				verbose++;
				break;
			case 'C':
				check_only = true;
				break;
			case 'h':
				print_usage(stdout);
				return 0;
			case 'V':
				printf("faregate-pooler %s (libevent %s)\n", FAREGATE_POOLER_VERSION, event_get_version());
				return 0;
			default:
				print_usage(stderr);
				return 2;
		}
	}
	if (optind != argc - 1)
	{
		fprintf(stderr, "faregate-pooler: expected exactly one CONFIG.ini argument\n"
				"Try \"faregate-pooler --help\".\n");
		return 2;
	}
	if (!config_load(argv[optind], &cfg, err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	if (verbose > cfg.verbose)
		cfg.verbose = verbose;
	printf("faregate-pooler: %s is valid: listen %s:%d, %d database(s), pool_mode %s\n", cfg.path,
		   cfg.listen_addr, cfg.listen_port, cfg.n_databases,
		   cfg.pool_mode == POOL_SESSION ? "session" : "transaction");
	config_free(&cfg);
	if (check_only)
		return 0;
	fprintf(stderr, "faregate-pooler: serving connections is not built yet (issue: pooler core)\n");
	return 1;
}
