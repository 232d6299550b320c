/*
 * listener.c: owns the listening sockets (see listener.h). Accepting is batched (up to ACCEPT_BATCH
 * per readiness event); with EMFILE/ENFILE the listeners are disabled for a second rather than spin.
 * max_client_conn and max_login_clients are client.c's (client_accept, client_attach_pool).
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"
#include "sockopt.h"

#define MAX_LISTENERS 16
#define ACCEPT_BATCH 64

typedef struct Listener
{
	int			fd;
	bool		unix_socket;
	struct event *ev;
} Listener;

static Listener listeners[MAX_LISTENERS];
static int	n_listeners;
static struct event *resume_ev;
static char unix_path[sizeof(((struct sockaddr_un *) 0)->sun_path)];

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	Listener   *listener = arg;

	for (int i = 0; i < ACCEPT_BATCH; i++)
	{
		struct sockaddr_storage addr;
		socklen_t	len = sizeof(addr);
		int			cfd = accept4(fd, (struct sockaddr *) &addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
		{
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			{
				log_warning("accept: %s; not accepting for 1 s (raise ulimit -n)", strerror(errno));
				listener_pause(1000);
			}
			return;
		}
		if (listener->unix_socket)
			addr.ss_family = AF_UNIX;
		else
			sockopt_tcp(cfd);	/* issue 15: tcp_keepalive & co. */
		/* max_client_conn is checked after authentication (refused with 53300 then: answering an
		 * SSLRequest with an error confuses libpq); cancels still work */
		client_accept(cfd, (struct sockaddr *) &addr, listener->unix_socket);
	}
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	for (int i = 0; i < n_listeners; i++)
		if (listeners[i].ev)
			event_add(listeners[i].ev, NULL);
}

void
listener_pause(int msec)
{
	struct timeval tv = {msec / 1000, (long) (msec % 1000) * 1000};

	for (int i = 0; i < n_listeners; i++)
		if (listeners[i].ev)
			event_del(listeners[i].ev);
	if (!resume_ev)
		resume_ev = evtimer_new(conn_base, resume_cb, NULL);
	evtimer_add(resume_ev, &tv);
}

static bool
add_listener(int fd, bool unix_socket, char *err, size_t errlen)
{
	Listener   *listener;

	if (n_listeners == MAX_LISTENERS)
	{
		close(fd);
		return snprintf(err, errlen, "too many listening addresses (at most %d)", MAX_LISTENERS), false;
	}
	listener = &listeners[n_listeners++];
	listener->fd = fd;
	listener->unix_socket = unix_socket;
	listener->ev = event_new(conn_base, fd, EV_READ | EV_PERSIST, accept_cb, listener);
	event_add(listener->ev, NULL);
	return true;
}

static bool
listener_open_tcp(const char *host, char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res;
	struct addrinfo *ai;
	char		port[16];
	int			rc;
	bool		any = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", cf.listen_port);
	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
	if (rc != 0)
		return snprintf(err, errlen, "listen_addr \"%s\": %s", host, gai_strerror(rc)), false;
	for (ai = res; ai; ai = ai->ai_next)
	{
		int			on = 1;
		int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (cf.so_reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		{
			snprintf(err, errlen, "so_reuseport: setsockopt(SO_REUSEPORT) failed: %s", strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return false;
		}
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, cf.listen_backlog) < 0)
		{
			snprintf(err, errlen, "cannot listen on %s:%d: %s", host, cf.listen_port, strerror(errno));
			close(fd);
			if (strcmp(host, "*") == 0)
				continue;		/* e.g. no IPv6 */
			freeaddrinfo(res);
			return false;
		}
		if (cf.tcp_defer_accept > 0)
			(void) setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &cf.tcp_defer_accept, sizeof(cf.tcp_defer_accept));
		if (!add_listener(fd, false, err, errlen))
		{
			freeaddrinfo(res);
			return false;
		}
		any = true;
	}
	freeaddrinfo(res);
	if (!any)
		return snprintf(err, errlen, "cannot listen on %s:%d", host, cf.listen_port), false;
	return true;
}

/* listener_unix_permissions: unix_socket_mode (octal) and unix_socket_group on the socket file (issue 15). */
static bool
listener_unix_permissions(const char *path, char *err, size_t errlen)
{
	char	   *end;
	long		mode = strtol(cf.unix_socket_mode, &end, 8);

	if (end == cf.unix_socket_mode || *end != '\0' || mode < 0 || mode > 07777)
		return snprintf(err, errlen, "unix_socket_mode must be an octal mode such as 0777 or 0770, not \"%s\"",
						cf.unix_socket_mode), false;
	if (chmod(path, (mode_t) mode) < 0)
		return snprintf(err, errlen, "unix_socket_mode: chmod %s: %s", path, strerror(errno)), false;
	if (cf.unix_socket_group[0])
	{
		struct group *gr = getgrnam(cf.unix_socket_group);

		if (!gr)
			return snprintf(err, errlen, "unix_socket_group \"%s\": no such group", cf.unix_socket_group), false;
		if (chown(path, (uid_t) -1, gr->gr_gid) < 0)
			return snprintf(err, errlen, "unix_socket_group: chown %s to group %s: %s", path,
							cf.unix_socket_group, strerror(errno)), false;
	}
	return true;
}

static bool
listener_open_unix(char *err, size_t errlen)
{
	struct sockaddr_un un;
	int			fd;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	if ((size_t) snprintf(un.sun_path, sizeof(un.sun_path), "%s/.s.PGSQL.%d", cf.unix_socket_dir,
						  cf.listen_port) >= sizeof(un.sun_path))
		return snprintf(err, errlen, "unix_socket_dir is too long"), false;
	unlink(un.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &un, sizeof(un)) < 0 || listen(fd, cf.listen_backlog) < 0)
	{
		snprintf(err, errlen, "cannot listen on %s: %s", un.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!listener_unix_permissions(un.sun_path, err, errlen))
	{
		close(fd);
		return false;
	}
	memcpy(unix_path, un.sun_path, sizeof(unix_path));
	return add_listener(fd, true, err, errlen);
}

bool
listener_start(char *err, size_t errlen)
{
	char		list[CF_STR_MAX];
	char	   *save = NULL;

	snprintf(list, sizeof(list), "%s", cf.listen_addr);
	for (char *host = strtok_r(list, ", ", &save); host; host = strtok_r(NULL, ", ", &save))
		if (!listener_open_tcp(host, err, errlen))
			return false;
	if (cf.unix_socket_dir[0] && !listener_open_unix(err, errlen))
		return false;
	return true;
}

void
listener_stop_tcp(void)
{
	for (int i = 0; i < n_listeners; i++)
	{
		if (listeners[i].unix_socket || listeners[i].fd < 0)
			continue;
		/*
		 * Clients already in the kernel's accept queue of this socket would get a reset when it closes
		 * (with SO_REUSEPORT the kernel does not move them to another process's socket unless
		 * net.ipv4.tcp_migrate_req = 1): take them first (a full backlog at most); they are served
		 * like the others.
		 */
		for (int batch = 0; batch < 4096 / ACCEPT_BATCH; batch++)
			accept_cb(listeners[i].fd, EV_READ, &listeners[i]);
		event_free(listeners[i].ev);
		listeners[i].ev = NULL;
		close(listeners[i].fd);
		listeners[i].fd = -1;
	}
}

void
listener_stop(void)
{
	for (int i = 0; i < n_listeners; i++)
	{
		if (listeners[i].fd < 0)
			continue;
		event_free(listeners[i].ev);
		close(listeners[i].fd);
	}
	n_listeners = 0;
	if (resume_ev)
		evtimer_del(resume_ev);
	if (unix_path[0])
		unlink(unix_path);
	unix_path[0] = '\0';
}

/* is_loopback: host (a listen_addr item) names only this machine. */
static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;				/* "*", a name, or an address of a network interface */
}

void
listener_warn_trust(void)
{
	char		list[CF_STR_MAX];
	char	   *save = NULL;

	if (cf.auth_type != AUTH_TRUST)
		return;
	snprintf(list, sizeof(list), "%s", cf.listen_addr);
	for (char *host = strtok_r(list, ", ", &save); host; host = strtok_r(NULL, ", ", &save))
		if (!is_loopback(host))
		{
			log_warning("auth_type = trust with listen_addr %s, which is not a loopback address: anyone who "
						"can reach port %d logs in as any user%s; set auth_type = md5 or scram-sha-256 with an "
						"auth_file", host, cf.listen_port, cf.auth_file[0] ? " in the auth_file" : "");
			return;
		}
}

void
listener_suspend(bool on)
{
	if (resume_ev)
		evtimer_del(resume_ev);
	for (int i = 0; i < n_listeners; i++)
		if (listeners[i].ev)
		{
			if (on)
				event_del(listeners[i].ev);
			else
				event_add(listeners[i].ev, NULL);
		}
}
