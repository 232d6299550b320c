/*
 * probe.c: owns the reachability probes of the [databases] entries without replicas= (see probe.h):
 * one ticker event every health_check_period, one probe in flight at most per entry (a raw socket, a
 * StartupMessage or an SSLRequest, the first answer judged by probe_judge), and the last result per
 * entry, which metrics.c's /health reports.
 *
 * What the server sees, once per period and entry: a connection that sends a StartupMessage and
 *   - after an authentication request other than AuthenticationOk, closes at once: the backend reads
 *     EOF while waiting for the password and exits without logging anything;
 *   - after AuthenticationOk (trust), sends a Terminate and reads until the server closes, so nothing
 *     is reset under the backend; a role that does not exist is logged by the server as a FATAL;
 *   - after an SSLRequest answered 'S', closes: the server logs "could not accept SSL connection: EOF
 *     detected" (COMMERROR).
 * The host is resolved by dns.c at each period (its cache answers within dns_max_ttl); while a name is
 * looked up the probe waits (PP_RESOLVING) without blocking anything, and every address of the name is
 * tried in turn before the verdict is "unreachable" (the one that answered is tried first next time); of a
 * host list (host=a,b), every address of every entry, the database being reachable when one answers.
 * Entries are matched by name at each tick, so a RELOAD that adds, removes or changes an entry takes
 * effect at the next period; a changed host, port, dbname or user resets the entry's result.
 */
#include "probe.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "dns.h"
#include "hostlist.h"
#include "log.h"
#include "tls.h"

#define PROBE_USER "faregate_probe"
#define PROBE_BUF 1024

typedef enum ProbePhase
{
	PP_IDLE,
	PP_RESOLVING,				/* the host name is being looked up (wait queued on dns.c) */
	PP_CONNECTING,				/* waiting for the connect to finish (EV_WRITE) */
	PP_ANSWER,					/* request sent: waiting for the first answer */
	PP_DRAIN					/* AuthenticationOk seen, Terminate sent: reading until the server closes */
} ProbePhase;

typedef struct Probe
{
	char		name[CF_NAME_MAX];
	char		host[CF_HOST_MAX];
	int			port;
	char		dbname[CF_NAME_MAX];
	char		user[CF_NAME_MAX];
	struct sockaddr_storage addr;	/* of this attempt */
	socklen_t	addr_len;
	unsigned	pick;			/* which address of the name is tried (the last that answered first) */
	int			n_addrs;		/* of the name's answer */
	int			tried;			/* addresses tried this period */
	int			entry;			/* host=a,b: the entry of the list tried (the last that answered first) */
	int			entries_tried;	/* entries given up on this period */
	DnsWait		wait;			/* PP_RESOLVING: dns.c calls probe_resolved */
	bool		seen;			/* still in the configuration at the last tick */
	ProbePhase	phase;
	bool		ssl_request;
	int			fd;
	struct event *ev;
	uint64_t	deadline_us;
	uint8_t		out[512];
	size_t		out_len;
	size_t		out_sent;
	uint8_t		in[PROBE_BUF];
	size_t		in_len;
	ProbeResult result;
} Probe;

static Probe **probes;
static int	n_probes;
static struct event *ticker;

static void probe_event(evutil_socket_t fd, short what, void *arg);
static void probe_attempt(Probe *p);

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

size_t
probe_build_startup(uint8_t *buf, size_t cap, const char *user, const char *database)
{
	const char *kv[] = {"user", user, "database", database, "application_name", "faregate-probe"};
	size_t		len = 8;

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
	{
		size_t		n = strlen(kv[i]) + 1;

		if (len + n + 1 > cap)
			return 0;
		memcpy(buf + len, kv[i], n);
		len += n;
	}
	buf[len++] = '\0';
	put32(buf, (uint32_t) len);
	put32(buf + 4, 196608);		/* 3.0 */
	return len;
}

ProbeVerdict
probe_judge(const uint8_t *buf, size_t len, bool ssl_request, bool complete, char *sqlstate, char *detail,
			size_t detail_len)
{
	uint32_t	msg_len;
	size_t		end;

	sqlstate[0] = '\0';
	if (len == 0)
	{
		if (!complete)
			return PROBE_PENDING;
		snprintf(detail, detail_len, "the server closed the connection without answering");
		return PROBE_UNREACHABLE;
	}
	if (ssl_request && (buf[0] == 'S' || buf[0] == 'N'))
	{
		snprintf(detail, detail_len, "SSLRequest answered '%c'", buf[0]);
		return PROBE_REACHABLE;
	}
	if (buf[0] != 'R' && buf[0] != 'E')
	{
		snprintf(detail, detail_len, "not a PostgreSQL server: first byte 0x%02x", buf[0]);
		return PROBE_UNREACHABLE;
	}
	if (len < 5)
		return complete ? (snprintf(detail, detail_len, "truncated answer"), PROBE_UNREACHABLE) : PROBE_PENDING;
	msg_len = get32(buf + 1);
	if (msg_len < 4 || msg_len > 65536)
	{
		snprintf(detail, detail_len, "not a PostgreSQL server: message length %u", msg_len);
		return PROBE_UNREACHABLE;
	}
	if (buf[0] == 'R')
	{
		snprintf(detail, detail_len, "authentication request");
		return PROBE_REACHABLE;
	}
	/* ErrorResponse: its SQLSTATE decides; wait for the whole message unless it cannot come */
	end = 1 + (size_t) msg_len;
	if (len < end && !complete)
		return PROBE_PENDING;
	if (end > len)
		end = len;
	for (size_t i = 5; i < end && buf[i] != '\0';)
	{
		char		field = (char) buf[i++];
		const uint8_t *value = buf + i;
		size_t		n = 0;

		while (i + n < end && value[n] != '\0')
			n++;
		if (i + n >= end)
			break;				/* cut off */
		if (field == 'C' && n == 5)
		{
			memcpy(sqlstate, value, 5);
			sqlstate[5] = '\0';
		}
		i += n + 1;
	}
	if (strcmp(sqlstate, "57P03") == 0)
	{
		snprintf(detail, detail_len, "the server cannot accept connections now (SQLSTATE 57P03)");
		return PROBE_UNREACHABLE;
	}
	snprintf(detail, detail_len, "error response (SQLSTATE %s)", sqlstate[0] ? sqlstate : "none");
	return PROBE_REACHABLE;
}

/* ---- one probe ---- */

static void
probe_close(Probe *p)
{
	dns_wait_cancel(&p->wait);
	if (p->ev)
	{
		event_free(p->ev);
		p->ev = NULL;
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->phase = PP_IDLE;
}

static void
probe_finish(Probe *p, ProbeVerdict verdict, const char *sqlstate, const char *fmt, ...)
__attribute__((format(printf, 4, 5)));

static void
probe_finish(Probe *p, ProbeVerdict verdict, const char *sqlstate, const char *fmt, ...)
{
	ProbeVerdict old = p->result.verdict;
	va_list		ap;

	p->result.verdict = verdict;
	snprintf(p->result.sqlstate, sizeof(p->result.sqlstate), "%s", sqlstate ? sqlstate : "");
	va_start(ap, fmt);
	vsnprintf(p->result.detail, sizeof(p->result.detail), fmt, ap);
	va_end(ap);
	p->result.at_us = conn_now_usec();
	p->result.probes++;
	if (verdict != old && (old != PROBE_PENDING || verdict == PROBE_UNREACHABLE))
		log_msg(verdict == PROBE_REACHABLE ? LOG_INFO : LOG_WARNING, NULL, "probe %s (%s:%d): %s: %s", p->name,
				p->host, p->port, verdict == PROBE_REACHABLE ? "reachable" : "unreachable", p->result.detail);
}

/* probe_wait: waits for what on the socket until the probe's deadline. */
static void
probe_wait(Probe *p, short what)
{
	uint64_t	now = conn_now_usec();
	uint64_t	left = p->deadline_us > now ? p->deadline_us - now : 0;
	struct timeval tv = {(time_t) (left / 1000000), (suseconds_t) (left % 1000000)};

	if (!p->ev)
		p->ev = event_new(conn_base, p->fd, what, probe_event, p);
	else
		event_assign(p->ev, conn_base, p->fd, what, probe_event, p);
	if (!p->ev || event_add(p->ev, &tv) != 0)
	{
		probe_close(p);
		log_warning("probe %s: out of memory: no verdict this period", p->name);
	}
}

/* probe_resolved: dns.c has answered the lookup probe p waited for: the attempt goes on. */
static void
probe_resolved(DnsWait *w)
{
	Probe	   *p = container_of(w, Probe, wait);

	if (p->phase != PP_RESOLVING)
		return;
	p->phase = PP_IDLE;
	probe_attempt(p);
}

/*
 * probe_next_entry: every address of one entry of a host list (host=a,b) failed: true when another entry
 * is left to try this period (then it is being tried); the database is reachable when one entry answers.
 */
static bool
probe_next_entry(Probe *p)
{
	if (!hostlist_is_list(p->host) || ++p->entries_tried >= hostlist_count(p->host))
		return false;
	probe_close(p);
	p->entry = (p->entry + 1) % hostlist_count(p->host);
	p->tried = 0;
	p->pick = 0;
	probe_attempt(p);
	return true;
}

/*
 * probe_next_address: a connect to one address of the host's name failed: true when another address is
 * left to try this period (then it is being tried), false when the verdict is due.
 */
static bool
probe_next_address(Probe *p)
{
	if (++p->tried >= p->n_addrs)
		return probe_next_entry(p);
	probe_close(p);
	p->pick++;
	probe_attempt(p);
	return true;
}

/* probe_attempt: one connect of this period's probe, to address p->pick of the host. */
static void
probe_attempt(Probe *p)
{
	char		err[256];
	long		timeout_ms = cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms :
		cf.health_check_period_ms;

	char		host[CF_HOST_MAX];

	if (!hostlist_entry(p->host, p->entry, host, sizeof(host)))
		host[0] = '\0';
	switch (dns_resolve(host, p->port, p->pick, &p->addr, &p->addr_len, &p->n_addrs, &p->wait, err, sizeof(err)))
	{
		case DNS_READY:
			break;
		case DNS_PENDING:
			p->phase = PP_RESOLVING;
			return;
		case DNS_FAILED:
			if (!probe_next_entry(p))
				probe_finish(p, PROBE_UNREACHABLE, NULL, "%s", err);
			return;
	}
	p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
	{
		log_warning("probe %s: socket: %s: no verdict this period", p->name, strerror(errno));
		return;
	}
	p->ssl_request = p->addr.ss_family != AF_UNIX && tls_server_mode() >= TLS_REQUIRE;
	if (p->ssl_request)
	{
		put32(p->out, 8);
		put32(p->out + 4, 80877103);
		p->out_len = 8;
	}
	else
		p->out_len = probe_build_startup(p->out, sizeof(p->out), p->user[0] ? p->user : PROBE_USER,
										 p->dbname[0] ? p->dbname : p->name);
	p->out_sent = 0;
	p->in_len = 0;
	p->deadline_us = conn_now_usec() + (uint64_t) timeout_ms * 1000;
	if (connect(p->fd, (struct sockaddr *) &p->addr, p->addr_len) < 0 && errno != EINPROGRESS)
	{
		int			e = errno;

		if (probe_next_address(p))
			return;
		probe_close(p);
		probe_finish(p, PROBE_UNREACHABLE, NULL, "connect: %s", strerror(e));
		return;
	}
	p->phase = PP_CONNECTING;
	probe_wait(p, EV_WRITE);
}

/* probe_begin: this period's probe of p (every address of its host may be tried). */
static void
probe_begin(Probe *p)
{
	p->tried = 0;
	p->entries_tried = 0;
	probe_attempt(p);
}

static void
probe_event(evutil_socket_t fd, short what, void *arg)
{
	Probe	   *p = arg;
	char		sqlstate[6];
	char		detail[160];
	ProbeVerdict v;
	ssize_t		n;

	if (what & EV_TIMEOUT)
	{
		long		ms = cf.server_connect_timeout_ms > 0 ? cf.server_connect_timeout_ms : cf.health_check_period_ms;
		bool		drained = p->phase == PP_DRAIN;

		if (p->phase == PP_CONNECTING && probe_next_address(p))
			return;
		probe_close(p);
		if (!drained)
			probe_finish(p, PROBE_UNREACHABLE, NULL, "%s within %ld ms (server_connect_timeout)",
						 p->phase == PP_CONNECTING ? "no connection" : "no answer", ms);
		return;
	}
	if (p->phase == PP_CONNECTING)
	{
		int			err = 0;
		socklen_t	len = sizeof(err);

		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
		{
			if (probe_next_address(p))
				return;
			probe_close(p);
			probe_finish(p, PROBE_UNREACHABLE, NULL, "connect: %s", strerror(err));
			return;
		}
		p->phase = PP_ANSWER;
	}
	if (p->phase == PP_ANSWER && p->out_sent < p->out_len)
	{
		n = send(p->fd, p->out + p->out_sent, p->out_len - p->out_sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		{
			int			e = errno;

			probe_close(p);
			probe_finish(p, PROBE_UNREACHABLE, NULL, "send: %s", strerror(e));
			return;
		}
		if (n > 0)
			p->out_sent += (size_t) n;
		probe_wait(p, p->out_sent < p->out_len ? EV_WRITE : EV_READ);
		return;
	}
	if (p->phase == PP_DRAIN)
	{
		uint8_t		sink[512];

		n = recv(p->fd, sink, sizeof(sink), 0);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
			probe_wait(p, EV_READ);
		else
			probe_close(p);		/* the server closed after the Terminate (or reset): done */
		return;
	}
	n = recv(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
	{
		probe_wait(p, EV_READ);
		return;
	}
	if (n < 0)
	{
		int			e = errno;

		probe_close(p);
		probe_finish(p, PROBE_UNREACHABLE, NULL, "recv: %s", strerror(e));
		return;
	}
	p->in_len += (size_t) n;
	v = probe_judge(p->in, p->in_len, p->ssl_request, n == 0 || p->in_len == sizeof(p->in), sqlstate, detail,
					sizeof(detail));
	if (v == PROBE_PENDING)
	{
		probe_wait(p, EV_READ);
		return;
	}
	probe_finish(p, v, sqlstate, "%s", detail);
	/* AuthenticationOk (trust): say goodbye and read until the server closes, so nothing is reset */
	if (!p->ssl_request && p->in[0] == 'R' && p->in_len >= 9 && get32(p->in + 5) == 0 && n > 0)
	{
		static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};

		if (send(p->fd, terminate, sizeof(terminate), MSG_NOSIGNAL) == (ssize_t) sizeof(terminate))
		{
			p->phase = PP_DRAIN;
			probe_wait(p, EV_READ);
			return;
		}
	}
	probe_close(p);
}

/* ---- the entries ---- */

static void
probe_free(Probe *p)
{
	probe_close(p);
	free(p);
}

/* probe_sync: the probe list follows cf.databases (entries without replicas= or patroni=, not "*"). */
static void
probe_sync(void)
{
	for (int i = 0; i < n_probes; i++)
		probes[i]->seen = false;
	for (int d = 0; d < cf.n_databases; d++)
	{
		const DatabaseEntry *db = &cf.databases[d];
		Probe	   *p = NULL;

		if (db->n_replicas > 0 || db->patroni[0] || strcmp(db->name, "*") == 0)
			continue;
		for (int i = 0; i < n_probes; i++)
			if (strcmp(probes[i]->name, db->name) == 0)
				p = probes[i];
		if (p && (strcmp(p->host, db->host) != 0 || p->port != db->port || strcmp(p->dbname, db->dbname) != 0 ||
				  strcmp(p->user, db->user) != 0))
		{
			probe_close(p);
			memset(&p->result, 0, sizeof(p->result));
			p->pick = 0;
			p->entry = 0;
			snprintf(p->host, sizeof(p->host), "%s", db->host);
			p->port = db->port;
			snprintf(p->dbname, sizeof(p->dbname), "%s", db->dbname);
			snprintf(p->user, sizeof(p->user), "%s", db->user);
		}
		if (!p)
		{
			Probe	  **grown = realloc(probes, (size_t) (n_probes + 1) * sizeof(Probe *));

			if (!grown)
				continue;
			probes = grown;
			p = calloc(1, sizeof(Probe));
			if (!p)
				continue;
			p->fd = -1;
			dns_wait_init(&p->wait, probe_resolved);
			snprintf(p->name, sizeof(p->name), "%s", db->name);
			snprintf(p->host, sizeof(p->host), "%s", db->host);
			p->port = db->port;
			snprintf(p->dbname, sizeof(p->dbname), "%s", db->dbname);
			snprintf(p->user, sizeof(p->user), "%s", db->user);
			probes[n_probes++] = p;
		}
		p->seen = true;
	}
	for (int i = 0; i < n_probes;)
		if (!probes[i]->seen)
		{
			probe_free(probes[i]);
			probes[i] = probes[--n_probes];
		}
		else
			i++;
}

static void
ticker_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {cf.health_check_period_ms / 1000, (cf.health_check_period_ms % 1000) * 1000};

	probe_sync();
	for (int i = 0; i < n_probes; i++)
		if (probes[i]->phase == PP_IDLE)
			probe_begin(probes[i]);
	evtimer_add(ticker, &tv);
}

bool
probe_start(char *err, size_t errlen)
{
	ticker = evtimer_new(conn_base, ticker_cb, NULL);
	if (!ticker)
		return snprintf(err, errlen, "out of memory for the health probes"), false;
	ticker_cb(-1, EV_TIMEOUT, NULL);
	return true;
}

void
probe_stop(void)
{
	for (int i = 0; i < n_probes; i++)
		probe_free(probes[i]);
	free(probes);
	probes = NULL;
	n_probes = 0;
	if (ticker)
		event_free(ticker);
	ticker = NULL;
}

const ProbeResult *
probe_result(const char *name)
{
	for (int i = 0; i < n_probes; i++)
		if (strcmp(probes[i]->name, name) == 0)
			return &probes[i]->result;
	return NULL;
}
