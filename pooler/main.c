/*
 * main.c: faregate-pooler's entry point: command-line arguments, loading the configuration,
 * daemonizing with a pidfile, signals (as PgBouncer 1.23+: SIGHUP reload, SIGTERM waits for clients,
 * SIGINT waits for servers, a second SIGTERM/SIGINT or SIGQUIT stops at once, SIGUSR1 pause, SIGUSR2
 * resume), and the event loop.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "client.h"
#include "config.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "tls.h"
#include "params.h"
#include "pool.h"
#include "server.h"
#include "version.h"

static void
print_usage(FILE *out)
{
	fprintf(out,
			"faregate-pooler %s: a transaction-mode PostgreSQL connection pooler.\n\n"
			"Usage: faregate-pooler [OPTION]... CONFIG.ini\n\n"
			"Options (PgBouncer's, plus -C):\n"
			"  -d, --daemon        run in the background (needs pidfile in the config)\n"
			"  -q, --quiet         write no log lines to stderr (logfile and syslog still get them)\n"
			"  -v, --verbose       log more (repeat for even more)\n"
			"  -u, --user=USER     switch to OS user USER after opening the listening sockets\n"
			"  -C, --check-config  read and check CONFIG.ini, print a summary, and exit\n"
			"  -h, --help          show this help and exit\n"
			"  -V, --version       show the version and exit\n"
			"  -R, --reboot        refused: restart online with so_reuseport instead (docs/pooler.md)\n\n"
			"Signals: SIGHUP reloads the configuration; SIGTERM stops listening and exits once every client\n"
			"has disconnected (SHUTDOWN WAIT_FOR_CLIENTS); SIGINT also pauses and exits once running\n"
			"transactions finished (SHUTDOWN WAIT_FOR_SERVERS, up to shutdown_timeout); a second SIGTERM or\n"
			"SIGINT, or SIGQUIT, stops at once; SIGUSR1 pauses (PAUSE), SIGUSR2 resumes (RESUME).\n\n"
			"Every setting is described in docs/pooler.md and in the sample docs/faregate-pooler.ini.\n",
			FAREGATE_POOLER_VERSION);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char		err[CF_ERR_MAX];
	bool		stopping = admin_shutdown_mode() != SHUTDOWN_NONE;

	switch (sig)
	{
		case SIGHUP:
			log_info("SIGHUP: reloading %s", cf.path);
			if (!admin_reload(err, sizeof(err)))
				log_error("reload failed, keeping the running configuration: %s", err);
			break;
		case SIGTERM:
			log_info(stopping ? "SIGTERM during a shutdown: stopping now" :
					 "SIGTERM: shutting down once every client has disconnected (WAIT_FOR_CLIENTS)");
			admin_shutdown(stopping ? SHUTDOWN_IMMEDIATE : SHUTDOWN_WAIT_FOR_CLIENTS);
			break;
		case SIGINT:
			log_info(stopping ? "SIGINT during a shutdown: stopping now" :
					 "SIGINT: graceful shutdown (WAIT_FOR_SERVERS)");
			admin_shutdown(stopping ? SHUTDOWN_IMMEDIATE : SHUTDOWN_WAIT_FOR_SERVERS);
			break;
		case SIGQUIT:
			log_info("SIGQUIT: stopping now");
			admin_shutdown(SHUTDOWN_IMMEDIATE);
			break;
		case SIGUSR1:
			log_info("SIGUSR1: pausing");
			if (!admin_pause_all(err, sizeof(err)))
				log_warning("SIGUSR1 ignored: %s", err);
			break;
		case SIGUSR2:
			if (stopping)
			{
				log_info("got SIGUSR2 while shutting down, ignoring");
				break;
			}
			log_info("SIGUSR2: resuming");
			if (!admin_resume_all(err, sizeof(err)))
				log_warning("SIGUSR2 ignored: %s", err);
			break;
	}
}

/* main_switch_user: -u/--user or the user setting: become that OS user, with its groups (issue 15). */
static bool
main_switch_user(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
	{
		fprintf(stderr, "faregate-pooler: user \"%s\" (-u or the user setting): no such OS user\n", name);
		return false;
	}
	if (pw->pw_uid == geteuid())
		return true;
	if (setgid(pw->pw_gid) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
	{
		fprintf(stderr, "faregate-pooler: cannot switch to OS user \"%s\": %s (only root can; drop -u or "
				"the user setting when you start the pooler as that user)\n", name, strerror(errno));
		return false;
	}
	return true;
}

/* write_pidfile: creates the pidfile exclusively (a running pooler keeps its file). */
static bool
write_pidfile(const char *path)
{
	char		buf[32];
	int			fd;
	int			len;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 && errno == EEXIST)
	{
		FILE	   *f = fopen(path, "r");
		long		pid = 0;

		if (f)
		{
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && kill((pid_t) pid, 0) == 0)
		{
			fprintf(stderr, "faregate-pooler: pidfile %s names running process %ld; is a pooler running?\n",
					path, pid);
			return false;
		}
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	}
	if (fd < 0)
	{
		fprintf(stderr, "faregate-pooler: cannot create pidfile %s: %s\n", path, strerror(errno));
		return false;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
	if (write(fd, buf, (size_t) len) != len)
	{
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static bool
daemonize(void)
{
	pid_t		pid = fork();
	int			fd;

	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0)
	{
		dup2(fd, 0);
		dup2(fd, 1);
		if (cf.logfile[0])
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"daemon", no_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"user", required_argument, NULL, 'u'},
		{"reboot", no_argument, NULL, 'R'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	int			opt;
	int			verbose = 0;
	bool		check_only = false;
	bool		daemon_mode = false;
	bool		quiet = false;
	const char *switch_user = NULL;
	char		err[CF_ERR_MAX];
	struct event_config *ev_cfg;
	int			sigs[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2};
	enum
	{
		N_SIGS = sizeof(sigs) / sizeof(sigs[0])
	};
	struct event *sig_events[N_SIGS];
	struct rlimit rl;

	while ((opt = getopt_long(argc, argv, "dqvu:ChVR", long_options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				daemon_mode = true;
				break;
			case 'q':
				quiet = true;
				break;
			case 'u':
				switch_user = optarg;
				break;
			case 'R':
				fprintf(stderr, "faregate-pooler: -R/--reboot (online restart by socket takeover) is not "
						"supported; PgBouncer 1.25 deprecates it too. Start the new process with so_reuseport = 1 "
						"on the same port, then stop the old one with SHUTDOWN WAIT_FOR_CLIENTS (docs/pooler.md, "
						"\"Rolling restarts\").\n");
				return 2;
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
				printf("%s\nlibevent %s\n", FAREGATE_POOLER_VERSION_LINE, event_get_version());
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
	if (!config_load(argv[optind], &cf, err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	if (!params_track_extras(cf.track_extra_parameters, true, err, sizeof(err)) || !tls_check_lists(err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	if (verbose > cf.verbose)
		cf.verbose = verbose;
	log_verbose = cf.verbose;
	log_quiet = quiet;
	if (!switch_user && cf.user[0])
		switch_user = cf.user;
	if (check_only)
	{
		printf("faregate-pooler: %s is valid: listen %s:%d, %d database(s), pool_mode %s\n", cf.path,
			   cf.listen_addr, cf.listen_port, cf.n_databases,
			   config_pool_mode_name(cf.pool_mode));
		config_free(&cf);
		return 0;
	}
	if (daemon_mode && !cf.pidfile[0])
	{
		fprintf(stderr, "faregate-pooler: -d needs pidfile in the configuration\n");
		return 1;
	}
	if (!log_open(cf.logfile))
	{
		fprintf(stderr, "faregate-pooler: cannot open logfile %s: %s\n", cf.logfile, strerror(errno));
		return 1;
	}
	if (cf.syslog && !log_syslog_open(cf.syslog_ident, cf.syslog_facility))
	{
		fprintf(stderr, "faregate-pooler: syslog_facility \"%s\" is not one of auth, authpriv, daemon, user, "
				"local0 ... local7\n", cf.syslog_facility);
		return 1;
	}
	if (!login_reload(err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	/* use every descriptor we are allowed: each client and server costs one */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	ev_cfg = event_config_new();
	event_config_set_flag(ev_cfg, EVENT_BASE_FLAG_NOLOCK);
	event_config_set_flag(ev_cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	conn_base = event_base_new_with_config(ev_cfg);
	event_config_free(ev_cfg);
	if (!conn_base || event_base_priority_init(conn_base, 2) != 0)
	{
		fprintf(stderr, "faregate-pooler: cannot create the event loop\n");
		return 1;
	}
	if (!tls_init(err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	client_init_globals();
	server_init_globals();
	if (!listener_start(err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	if (switch_user && !main_switch_user(switch_user))
		return 1;
	if (daemon_mode)
	{
		if (!daemonize())
		{
			fprintf(stderr, "faregate-pooler: cannot daemonize: %s\n", strerror(errno));
			return 1;
		}
		event_reinit(conn_base);
	}
	if (cf.pidfile[0] && !write_pidfile(cf.pidfile))
		return 1;
	pool_init();
	pool_warm_forced(&cf);
	if (!metrics_start(err, sizeof(err)))
	{
		fprintf(stderr, "faregate-pooler: %s\n", err);
		return 1;
	}
	for (int i = 0; i < N_SIGS; i++)
	{
		sig_events[i] = evsignal_new(conn_base, sigs[i], signal_cb, NULL);
		event_add(sig_events[i], NULL);
	}
	log_info("faregate-pooler %s listening on %s:%d%s%s, pool_mode %s", FAREGATE_POOLER_VERSION,
			 cf.listen_addr, cf.listen_port, cf.unix_socket_dir[0] ? " and " : "", cf.unix_socket_dir,
			 config_pool_mode_name(cf.pool_mode));
	listener_warn_trust();

	event_base_dispatch(conn_base);

	log_info("stopped");
	listener_stop();
	metrics_stop();
	if (cf.pidfile[0])
		unlink(cf.pidfile);
	for (int i = 0; i < N_SIGS; i++)
		event_free(sig_events[i]);
	return 0;
}
