/*
 * patroni.c: owns the reading of Patroni's member list (see patroni.h): the /cluster document's
 * interpretation, the HTTP response framing, and the poller's state machine on the event loop.
 *
 *   PP_IDLE --timer--> PP_CONNECTING --writable--> PP_SENDING --sent--> PP_READING --EOF--> answer
 *   any phase --error or deadline--> the next endpoint of the round; all failed --> on_error, PP_IDLE
 *
 * A round starts at the endpoint that answered last, so a healthy first endpoint costs one request per
 * period and a dead one costs a timeout only when it is the one being tried. Requests are HTTP/1.0
 * with "Connection: close": the answer ends at EOF, which is why no chunked coding or keep-alive is
 * needed (Patroni answers HTTP/1.0 requests that way). Only numeric addresses are taken, so nothing
 * here resolves names (a blocking call).
 */
#include "patroni.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jsonread.h"

/* ---- /cluster ---- */

static bool
truthy_tag(JsonReader *r, bool *out)
{
	char		text[16];

	switch (jsonread_peek(r))
	{
		case JSON_TRUE:
		case JSON_FALSE:
			return jsonread_bool(r, out);
		case JSON_STRING:
			if (!jsonread_string(r, text, sizeof(text)))
				return false;
			*out = strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 || strcasecmp(text, "on") == 0;
			return true;
		default:
			*out = false;
			return jsonread_skip(r);
	}
}

static bool
parse_tags(JsonReader *r, PatroniMember *m)
{
	char		key[64];
	int			more;

	if (jsonread_peek(r) != JSON_OBJECT)
		return jsonread_skip(r);
	if (!jsonread_begin_object(r))
		return false;
	while ((more = jsonread_next_key(r, key, sizeof(key))) == 1)
	{
		if (strcmp(key, "nofailover") == 0)
		{
			if (!truthy_tag(r, &m->nofailover))
				return false;
		}
		else if (strcmp(key, "noloadbalance") == 0)
		{
			if (!truthy_tag(r, &m->noloadbalance))
				return false;
		}
		else if (!jsonread_skip(r))
			return false;
	}
	return more == 0;
}

/* numeric_host: host is an IPv4 or IPv6 address written as digits. */
static bool
numeric_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* skip_member: records why member m was left out (the first reason is kept). */
static void
skip_member(PatroniCluster *out, const PatroniMember *m, const char *why)
{
	if (out->n_skipped++ == 0)
		snprintf(out->skipped, sizeof(out->skipped), "member \"%s\": %s", m->name, why);
}

/*
 * parse_member: one element of "members". Wrong types of fields this pooler uses are an error of the
 * document only when they cannot be skipped safely: a host that is not a string makes the member
 * unusable (skipped), not the answer.
 */
static bool
parse_member(JsonReader *r, PatroniCluster *out)
{
	PatroniMember m;
	char		key[64];
	int			more;
	bool		have_host = false;
	bool		have_port = false;
	bool		bad_type = false;
	int64_t		num;

	memset(&m, 0, sizeof(m));
	m.lag_bytes = -1;
	if (jsonread_peek(r) != JSON_OBJECT)
		return jsonread_fail(r, "a member is not an object");
	if (!jsonread_begin_object(r))
		return false;
	while ((more = jsonread_next_key(r, key, sizeof(key))) == 1)
	{
		JsonType	type = jsonread_peek(r);
		bool		ok = true;

		if (strcmp(key, "name") == 0 && type == JSON_STRING)
			ok = jsonread_string(r, m.name, sizeof(m.name));
		else if (strcmp(key, "role") == 0 && type == JSON_STRING)
			ok = jsonread_string(r, m.role_text, sizeof(m.role_text));
		else if (strcmp(key, "state") == 0 && type == JSON_STRING)
			ok = jsonread_string(r, m.state, sizeof(m.state));
		else if (strcmp(key, "host") == 0 && type == JSON_STRING)
			ok = (have_host = jsonread_string(r, m.host, sizeof(m.host)));
		else if (strcmp(key, "port") == 0 && type == JSON_NUMBER)
		{
			ok = jsonread_int64(r, &num);
			if (ok && num >= 1 && num <= 65535)
			{
				m.port = (int) num;
				have_port = true;
			}
		}
		else if (strcmp(key, "lag") == 0 && type == JSON_NUMBER)
		{
			ok = jsonread_int64(r, &num);
			m.lag_bytes = ok && num >= 0 ? num : -1;
		}
		else if (strcmp(key, "tags") == 0)
			ok = parse_tags(r, &m);
		else
		{
			if (strcmp(key, "host") == 0 || strcmp(key, "port") == 0)
				bad_type = true;
			ok = jsonread_skip(r);
		}
		if (!ok)
			return false;
	}
	if (more != 0)
		return false;
	if (strcmp(m.role_text, "leader") == 0 || strcmp(m.role_text, "master") == 0)
		m.role = PATRONI_ROLE_LEADER;
	else if (strcmp(m.role_text, "replica") == 0 || strcmp(m.role_text, "sync_standby") == 0 ||
			 strcmp(m.role_text, "standby_leader") == 0)
		m.role = PATRONI_ROLE_REPLICA;
	if (!have_host || !have_port)
		skip_member(out, &m, bad_type ? "host or port of the wrong type" : "no host and port");
	else if (!numeric_host(m.host))
		skip_member(out, &m, "host is not a numeric address (set Patroni's postgresql.connect_address to an IP)");
	else if (out->n_members >= PATRONI_MAX_MEMBERS)
		skip_member(out, &m, "more members than the pooler tracks");
	else
		out->members[out->n_members++] = m;
	return true;
}

bool
patroni_parse_cluster(const char *body, size_t len, PatroniCluster *out, char *err, size_t errlen)
{
	JsonReader	r;
	char		key[64];
	int			more;
	bool		have_members = false;

	memset(out, 0, sizeof(*out));
	jsonread_init(&r, body, len);
	if (!jsonread_begin_object(&r))
		goto bad;
	while ((more = jsonread_next_key(&r, key, sizeof(key))) == 1)
	{
		if (strcmp(key, "members") == 0)
		{
			int			item;

			if (have_members)
			{
				jsonread_fail(&r, "\"members\" appears twice");
				goto bad;
			}
			have_members = true;
			if (!jsonread_begin_array(&r))
				goto bad;
			while ((item = jsonread_next_item(&r)) == 1)
				if (!parse_member(&r, out))
					goto bad;
			if (item != 0)
				goto bad;
		}
		else if (strcmp(key, "scope") == 0 && jsonread_peek(&r) == JSON_STRING)
		{
			if (!jsonread_string(&r, out->scope, sizeof(out->scope)))
				goto bad;
		}
		else if (!jsonread_skip(&r))
			goto bad;
	}
	if (more != 0 || !jsonread_finish(&r))
		goto bad;
	if (!have_members)
	{
		snprintf(err, errlen, "the answer has no \"members\" array: is this Patroni's /cluster?");
		return false;
	}
	return true;
bad:
	snprintf(err, errlen, "not a Patroni /cluster document: %s", r.error);
	memset(out, 0, sizeof(*out));
	return false;
}

/* ---- HTTP ---- */

/* header_value: the value of header name (case-insensitive) in the header block; NULL if absent. */
static const char *
header_value(const char *headers, const char *headers_end, const char *name, size_t *vlen)
{
	size_t		nlen = strlen(name);

	for (const char *line = headers; line < headers_end;)
	{
		const char *eol = memchr(line, '\n', (size_t) (headers_end - line));

		if (!eol)
			eol = headers_end;
		if ((size_t) (eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
		{
			const char *v = line + nlen + 1;
			const char *ve = eol;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t) (ve - v);
			return v;
		}
		line = eol + 1;
	}
	return NULL;
}

bool
patroni_split_response(const char *resp, size_t len, int *status, const char **body, size_t *body_len,
					   char *err, size_t errlen)
{
	const char *hdr_end = NULL;
	const char *v;
	size_t		vlen;

	if (len < 12 || memcmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' || !isdigit((unsigned char) resp[9]) ||
		!isdigit((unsigned char) resp[10]) || !isdigit((unsigned char) resp[11]))
		return snprintf(err, errlen, "not an HTTP/1.x response"), false;
	*status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(resp + i, "\r\n\r\n", 4) == 0)
		{
			hdr_end = resp + i + 4;
			break;
		}
	if (!hdr_end)
		return snprintf(err, errlen, "the response has no end of headers"), false;
	if ((v = header_value(resp, hdr_end, "Transfer-Encoding", &vlen)) && !(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
		return snprintf(err, errlen, "chunked or other transfer coding is not supported"), false;
	*body = hdr_end;
	*body_len = len - (size_t) (hdr_end - resp);
	if ((v = header_value(resp, hdr_end, "Content-Length", &vlen)))
	{
		size_t		want = 0;

		for (size_t i = 0; i < vlen; i++)
		{
			if (!isdigit((unsigned char) v[i]) || want > PATRONI_BODY_MAX)
				return snprintf(err, errlen, "bad Content-Length"), false;
			want = want * 10 + (size_t) (v[i] - '0');
		}
		if (vlen == 0 || want > *body_len)
			return snprintf(err, errlen, "the response is shorter than its Content-Length"), false;
		*body_len = want;
	}
	return true;
}

/* ---- endpoints ---- */

typedef struct PatroniEndpoint
{
	char		url[CF_HOST_MAX];
	char		host_header[CF_HOST_MAX];
	struct sockaddr_storage addr;
	socklen_t	addr_len;
} PatroniEndpoint;

/* parse_endpoint: one "http://ADDR:PORT[/]" into ep. */
static bool
parse_endpoint(const char *text, size_t len, PatroniEndpoint *ep, char *why, size_t whylen)
{
	char		buf[CF_HOST_MAX];
	char	   *host;
	char	   *port_text;
	char	   *end;
	long		port;

	memset(ep, 0, sizeof(*ep));
	if (len == 0 || len >= sizeof(buf))
		return snprintf(why, whylen, "patroni= needs URLs like http://127.0.0.1:8008, comma-separated"), false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	snprintf(ep->url, sizeof(ep->url), "%s", buf);
	if (strncmp(buf, "http://", 7) != 0)
		return snprintf(why, whylen, "patroni endpoint \"%s\" must start with http:// (https is not supported: "
						"keep Patroni's REST API on loopback or a trusted network)", ep->url), false;
	host = buf + 7;
	if (len > 7 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (strchr(host, '/'))
		return snprintf(why, whylen, "patroni endpoint \"%s\": give only http://ADDRESS:PORT; the pooler asks for "
						"/cluster itself", ep->url), false;
	if (*host == '[')
	{
		char	   *close = strchr(host, ']');

		if (!close || close[1] != ':')
			return snprintf(why, whylen, "patroni endpoint \"%s\": write IPv6 as http://[ADDRESS]:PORT", ep->url), false;
		*close = '\0';
		host++;
		port_text = close + 2;
	}
	else
	{
		port_text = strrchr(host, ':');
		if (!port_text)
			return snprintf(why, whylen, "patroni endpoint \"%s\" needs a port (Patroni's restapi.listen, "
							"e.g. :8008)", ep->url), false;
		*port_text++ = '\0';
	}
	port = strtol(port_text, &end, 10);
	if (!*port_text || *end || port < 1 || port > 65535)
		return snprintf(why, whylen, "patroni endpoint \"%s\": port must be 1 to 65535", ep->url), false;
	if (strchr(host, ':'))
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ep->addr;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return snprintf(why, whylen, "patroni endpoint \"%s\": not an IPv6 address", ep->url), false;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t) port);
		ep->addr_len = sizeof(*a6);
		snprintf(ep->host_header, sizeof(ep->host_header), "[%s]:%ld", host, port);
	}
	else
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *) &ep->addr;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return snprintf(why, whylen, "patroni endpoint \"%s\": give a numeric address (the pooler does not "
							"resolve names on its event loop)", ep->url), false;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t) port);
		ep->addr_len = sizeof(*a4);
		snprintf(ep->host_header, sizeof(ep->host_header), "%s:%ld", host, port);
	}
	return true;
}

/* parse_endpoint_list: the comma-separated list into eps (at most PATRONI_MAX_ENDPOINTS); the count. */
static int
parse_endpoint_list(const char *text, PatroniEndpoint *eps, char *why, size_t whylen)
{
	int			n = 0;
	const char *p = text;

	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);

		while (len > 0 && isspace((unsigned char) *p))
			p++, len--;
		while (len > 0 && isspace((unsigned char) p[len - 1]))
			len--;
		if (n == PATRONI_MAX_ENDPOINTS)
			return snprintf(why, whylen, "patroni= takes at most %d endpoints", PATRONI_MAX_ENDPOINTS), -1;
		if (!parse_endpoint(p, len, &eps[n], why, whylen))
			return -1;
		n++;
		if (!comma)
			return n;
		p = comma + 1;
	}
}

bool
patroni_parse_endpoints(const char *text, char *why, size_t whylen)
{
	PatroniEndpoint eps[PATRONI_MAX_ENDPOINTS];

	return parse_endpoint_list(text, eps, why, whylen) > 0;
}

/* ---- the poller ---- */

typedef enum PatroniPhase
{
	PP_IDLE,					/* timer = next round */
	PP_CONNECTING,				/* non-blocking connect in progress (timer = deadline) */
	PP_SENDING,					/* request partly written (timer = deadline) */
	PP_READING					/* reading until EOF (timer = deadline) */
} PatroniPhase;

struct PatroniPoller
{
	struct event_base *base;
	PatroniCallbacks callbacks;
	long		period_ms;
	long		timeout_ms;
	PatroniEndpoint endpoints[PATRONI_MAX_ENDPOINTS];
	int			n_endpoints;
	int			preferred;		/* endpoint that answered last: a round starts there */
	int			current;		/* endpoint of the request in flight */
	int			tried;			/* endpoints tried this round */
	char		round_errors[512];	/* why each endpoint of this round failed */
	PatroniPhase phase;
	int			fd;
	struct event *ev_sock;
	struct event *ev_timer;
	char		request[CF_HOST_MAX + 128];
	size_t		request_len;
	size_t		request_sent;
	char	   *resp;			/* PATRONI_BODY_MAX + 16 KB of headers, taken while a request runs */
	size_t		resp_len;
	PatroniCluster cluster;		/* the last answer parsed (kept here: it is large for the stack) */
};

#define PATRONI_RESP_MAX (PATRONI_BODY_MAX + (size_t) 16384)

static void poller_sock_cb(evutil_socket_t fd, short what, void *arg);
static void start_request(PatroniPoller *pp);

static void
poller_arm(PatroniPoller *pp, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(pp->ev_timer, &tv);
}

static void
close_request(PatroniPoller *pp)
{
	if (pp->ev_sock)
	{
		event_free(pp->ev_sock);
		pp->ev_sock = NULL;
	}
	if (pp->fd >= 0)
	{
		close(pp->fd);
		pp->fd = -1;
	}
	free(pp->resp);
	pp->resp = NULL;
	pp->resp_len = 0;
}

/* round_over: back to PP_IDLE until the next period. */
static void
round_over(PatroniPoller *pp)
{
	close_request(pp);
	pp->phase = PP_IDLE;
	poller_arm(pp, pp->period_ms);
}

/* request_failed: this endpoint failed (why); the next one of the round, or on_error when none is left. */
static void
request_failed(PatroniPoller *pp, const char *why)
{
	size_t		used = strlen(pp->round_errors);

	if (used < sizeof(pp->round_errors))
		snprintf(pp->round_errors + used, sizeof(pp->round_errors) - used, "%s%s: %s", used ? "; " : "",
				 pp->endpoints[pp->current].url, why);
	close_request(pp);
	if (pp->tried < pp->n_endpoints)
	{
		pp->current = (pp->current + 1) % pp->n_endpoints;
		start_request(pp);
		return;
	}
	round_over(pp);
	if (pp->callbacks.on_error)
		pp->callbacks.on_error(pp->callbacks.arg, pp->round_errors);
}

/* answer_complete: EOF after the response: parse it and hand it over. */
static void
answer_complete(PatroniPoller *pp)
{
	int			status;
	const char *body;
	size_t		body_len;
	char		err[256];

	if (!patroni_split_response(pp->resp, pp->resp_len, &status, &body, &body_len, err, sizeof(err)))
	{
		request_failed(pp, err);
		return;
	}
	/* /cluster answers 200 whatever the member states; anything else is not the document */
	if (status != 200)
	{
		snprintf(err, sizeof(err), "HTTP status %d (expected 200 from GET /cluster)", status);
		request_failed(pp, err);
		return;
	}
	if (!patroni_parse_cluster(body, body_len, &pp->cluster, err, sizeof(err)))
	{
		request_failed(pp, err);
		return;
	}
	pp->preferred = pp->current;
	round_over(pp);
	if (pp->callbacks.on_cluster)
		pp->callbacks.on_cluster(pp->callbacks.arg, pp->endpoints[pp->current].url, &pp->cluster);
}

static bool
watch(PatroniPoller *pp, short what)
{
	if (pp->ev_sock)
		event_free(pp->ev_sock);
	pp->ev_sock = event_new(pp->base, pp->fd, what, poller_sock_cb, pp);
	return pp->ev_sock && event_add(pp->ev_sock, NULL) == 0;
}

/* send_some: writes what is left of the request; then waits for the answer. */
static void
send_some(PatroniPoller *pp)
{
	while (pp->request_sent < pp->request_len)
	{
		ssize_t		n = send(pp->fd, pp->request + pp->request_sent, pp->request_len - pp->request_sent,
							 MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		{
			pp->phase = PP_SENDING;
			if (!watch(pp, EV_WRITE))
				request_failed(pp, "cannot watch the socket");
			return;
		}
		if (n <= 0)
		{
			request_failed(pp, strerror(errno));
			return;
		}
		pp->request_sent += (size_t) n;
	}
	pp->phase = PP_READING;
	pp->resp = malloc(PATRONI_RESP_MAX);
	if (!pp->resp)
		request_failed(pp, "out of memory");
	else if (!watch(pp, EV_READ | EV_PERSIST))
		request_failed(pp, "cannot watch the socket");
}

/* read_some: reads what arrived; EOF completes the answer. */
static void
read_some(PatroniPoller *pp)
{
	for (;;)
	{
		ssize_t		n;

		if (pp->resp_len >= PATRONI_RESP_MAX)
		{
			request_failed(pp, "the answer is larger than the pooler accepts (256 kB)");
			return;
		}
		n = recv(pp->fd, pp->resp + pp->resp_len, PATRONI_RESP_MAX - pp->resp_len, 0);
		if (n == 0)
		{
			answer_complete(pp);
			return;
		}
		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			request_failed(pp, strerror(errno));
			return;
		}
		pp->resp_len += (size_t) n;
	}
}

static void
poller_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	PatroniPoller *pp = arg;

	if (pp->phase == PP_CONNECTING)
	{
		int			err = 0;
		socklen_t	len = sizeof(err);

		if (getsockopt(pp->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err)
		{
			char		why[128];

			snprintf(why, sizeof(why), "connect failed: %s", strerror(err));
			request_failed(pp, why);
			return;
		}
		send_some(pp);
	}
	else if (pp->phase == PP_SENDING)
		send_some(pp);
	else if (pp->phase == PP_READING)
		read_some(pp);
}

/* start_request: connects to the current endpoint (deadline = timeout_ms for the whole request). */
static void
start_request(PatroniPoller *pp)
{
	PatroniEndpoint *ep = &pp->endpoints[pp->current];
	int			n;

	pp->tried++;
	poller_arm(pp, pp->timeout_ms);
	n = snprintf(pp->request, sizeof(pp->request),
				 "GET /cluster HTTP/1.0\r\nHost: %s\r\nUser-Agent: faregate-pooler\r\nAccept: application/json\r\n"
				 "Connection: close\r\n\r\n", ep->host_header);
	pp->request_len = n > 0 && (size_t) n < sizeof(pp->request) ? (size_t) n : 0;
	pp->request_sent = 0;
	pp->fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pp->fd < 0)
	{
		request_failed(pp, strerror(errno));
		return;
	}
	pp->phase = PP_CONNECTING;
	if (connect(pp->fd, (struct sockaddr *) &ep->addr, ep->addr_len) == 0)
		send_some(pp);
	else if (errno == EINPROGRESS)
	{
		if (!watch(pp, EV_WRITE))
			request_failed(pp, "cannot watch the socket");
	}
	else
	{
		char		why[128];

		snprintf(why, sizeof(why), "connect failed: %s", strerror(errno));
		request_failed(pp, why);
	}
}

static void
poller_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	PatroniPoller *pp = arg;
	char		why[64];

	if (pp->phase == PP_IDLE)
	{
		pp->tried = 0;
		pp->round_errors[0] = '\0';
		pp->current = pp->preferred;
		start_request(pp);
		return;
	}
	snprintf(why, sizeof(why), "no answer within %ld ms", pp->timeout_ms);
	request_failed(pp, why);
}

PatroniPoller *
patroni_poller_create(struct event_base *base, const char *endpoints, long period_ms, long timeout_ms,
					  const PatroniCallbacks *callbacks)
{
	PatroniPoller *pp;
	char		why[256];

	if (!base || period_ms <= 0 || timeout_ms <= 0)
		return NULL;
	pp = calloc(1, sizeof(PatroniPoller));
	if (!pp)
		return NULL;
	pp->base = base;
	pp->fd = -1;
	pp->period_ms = period_ms;
	pp->timeout_ms = timeout_ms;
	if (callbacks)
		pp->callbacks = *callbacks;
	pp->n_endpoints = parse_endpoint_list(endpoints, pp->endpoints, why, sizeof(why));
	pp->ev_timer = evtimer_new(base, poller_timer_cb, pp);
	if (pp->n_endpoints <= 0 || !pp->ev_timer)
	{
		patroni_poller_free(pp);
		return NULL;
	}
	pp->phase = PP_IDLE;
	poller_arm(pp, 0);
	return pp;
}

void
patroni_poller_free(PatroniPoller *pp)
{
	if (!pp)
		return;
	close_request(pp);
	if (pp->ev_timer)
		event_free(pp->ev_timer);
	free(pp);
}

void
patroni_poll_now(PatroniPoller *pp)
{
	if (pp && pp->phase == PP_IDLE)
		poller_arm(pp, 0);
}
