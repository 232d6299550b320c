/*
 * httpd.c: owns the HTTP listener of metrics_addr:metrics_port and its connections (see httpd.h).
 *
 * Bounds, each a setting: at most metrics_max_connections connections are open (one beyond is accepted
 * and closed at once, so the listen backlog never fills with them); each connection has one deadline,
 * metrics_request_timeout counted from its accept to the last byte of the answer, never restarted by
 * traffic (a client sending a byte every few seconds is cut at the deadline like a silent one); the
 * request line and headers may take HTTPD_REQUEST_MAX bytes (431 beyond); a request body is not read.
 * A connection carries one request and is closed after the answer, so nothing outlives its deadline.
 * Buffers: req is part of the connection (malloc'ed at accept, freed at close); the answer is an
 * evbuffer built once the request is whole.
 */
#include "httpd.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config.h"
#include "conn.h"
#include "list.h"
#include "log.h"

#define HTTPD_REQUEST_MAX 8192
#define HTTPD_MAX_LISTENERS 4
#define HTTPD_ACCEPT_BATCH 16

typedef struct HttpConn
{
	List		node;			/* on http_conns */
	int			fd;
	struct event *io;			/* read until the request is whole, then write */
	struct event *deadline;		/* metrics_request_timeout after the accept */
	struct evbuffer *out;		/* the answer; NULL while reading */
	size_t		req_len;
	char		req[HTTPD_REQUEST_MAX + 1];
} HttpConn;

static List http_conns = {&http_conns, &http_conns};
static int	n_http_conns;
static int	httpd_listen_fds[HTTPD_MAX_LISTENERS];
static struct event *httpd_listen_evs[HTTPD_MAX_LISTENERS];
static int	n_listen;
static HttpdHandler http_handler;

int
httpd_connections(void)
{
	return n_http_conns;
}

static void
conn_free(HttpConn *hc)
{
	list_del(&hc->node);
	n_http_conns--;
	event_free(hc->io);
	event_free(hc->deadline);
	if (hc->out)
		evbuffer_free(hc->out);
	close(hc->fd);
	free(hc);
}

static void io_cb(evutil_socket_t fd, short what, void *arg);

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

/* header_value: the value of header name in the request's header lines, or NULL (sets a NUL in req). */
static const char *
header_value(char *headers, const char *name)
{
	size_t		nlen = strlen(name);

	for (char *line = headers; line && *line;)
	{
		char	   *end = strstr(line, "\r\n");

		if (end)
			*end = '\0';
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
		{
			char	   *v = line + nlen + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		if (end)
			*end = '\r';
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

/* secret_equal: constant-time comparison of a header token with the configured secret. */
static bool
secret_equal(const char *given, size_t given_len, const char *secret, size_t secret_len)
{
	return given_len == secret_len && CRYPTO_memcmp(given, secret, secret_len) == 0;
}

bool
httpd_authorized(const char *authorization)
{
	const char *token = cf.metrics_bearer_token;
	const char *basic = cf.metrics_basic_auth;

	if (!token[0] && !basic[0])
		return true;
	if (!authorization)
		return false;
	if (token[0] && strncasecmp(authorization, "Bearer ", 7) == 0)
		return secret_equal(authorization + 7, strlen(authorization + 7), token, strlen(token));
	if (basic[0] && strncasecmp(authorization, "Basic ", 6) == 0)
	{
		unsigned char encoded[4 * ((CF_STR_MAX + 2) / 3) + 1];
		int			n = EVP_EncodeBlock(encoded, (const unsigned char *) basic, (int) strlen(basic));
		bool		match = n > 0 && secret_equal(authorization + 6, strlen(authorization + 6), (char *) encoded,
												  (size_t) n);

		OPENSSL_cleanse(encoded, sizeof(encoded));
		return match;
	}
	return false;
}

/* answer: queues the whole answer and switches the connection to writing. */
static void
answer(HttpConn *hc, bool head, int status, const char *reason, const char *content_type, bool no_store,
	   const char *extra_header, const char *body, size_t len)
{
	hc->out = evbuffer_new();
	if (!hc->out)
	{
		conn_free(hc);
		return;
	}
	evbuffer_add_printf(hc->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
						"Connection: close\r\n%s%s\r\n", status, reason, content_type, len,
						no_store ? "Cache-Control: no-store\r\n" : "", extra_header ? extra_header : "");
	if (!head && len)
		evbuffer_add(hc->out, body, len);
	event_del(hc->io);
	event_assign(hc->io, conn_base, hc->fd, EV_WRITE | EV_PERSIST, io_cb, hc);
	event_add(hc->io, NULL);
}

static void
answer_text(HttpConn *hc, bool head, int status, const char *reason, const char *extra_header, const char *text)
{
	answer(hc, head, status, reason, "text/plain; charset=utf-8", false, extra_header, text, strlen(text));
}

/* handle_request: the request line and headers are in hc->req (NUL-terminated). */
static void
handle_request(HttpConn *hc)
{
	char	   *line_end = strstr(hc->req, "\r\n");
	char	   *method = hc->req;
	char	   *target = NULL;
	char	   *version = NULL;
	bool		head;
	HttpdReply	reply;

	if (line_end)
	{
		*line_end = '\0';
		target = strchr(method, ' ');
		version = target ? strchr(target + 1, ' ') : NULL;
	}
	if (!version || strncmp(version + 1, "HTTP/1.", 7) != 0)
	{
		answer_text(hc, false, 400, "Bad Request", NULL, "malformed request line\n");
		return;
	}
	*target++ = '\0';
	*version = '\0';
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
	{
		answer_text(hc, false, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", "only GET and HEAD are served\n");
		return;
	}
	if (!httpd_authorized(header_value(line_end + 2, "Authorization")))
	{
		answer_text(hc, head, 401, "Unauthorized",
					cf.metrics_bearer_token[0] ? "WWW-Authenticate: Bearer realm=\"faregate\"\r\n" :
					"WWW-Authenticate: Basic realm=\"faregate\"\r\n",
					"authorization required (metrics_bearer_token or metrics_basic_auth)\n");
		return;
	}
	target[strcspn(target, "?#")] = '\0';
	memset(&reply, 0, sizeof(reply));
	reply.status = 500;
	reply.reason = "Internal Server Error";
	reply.content_type = "text/plain; charset=utf-8";
	http_handler(target, &reply);
	answer(hc, head, reply.status, reply.reason, reply.content_type, reply.no_store, NULL, reply.body, reply.len);
	free(reply.body);
}

static void
io_cb(evutil_socket_t fd, short what, void *arg)
{
	HttpConn   *hc = arg;
	ssize_t		n;

	if (hc->out)
	{
		if (evbuffer_write(hc->out, fd) < 0 && errno != EAGAIN && errno != EINTR)
			conn_free(hc);
		else if (evbuffer_get_length(hc->out) == 0)
		{
			shutdown(fd, SHUT_WR);
			conn_free(hc);
		}
		return;
	}
	n = recv(fd, hc->req + hc->req_len, HTTPD_REQUEST_MAX - hc->req_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
	{
		conn_free(hc);
		return;
	}
	if (n < 0)
		return;
	hc->req_len += (size_t) n;
	hc->req[hc->req_len] = '\0';
	if (strstr(hc->req, "\r\n\r\n"))
		handle_request(hc);
	else if (hc->req_len == HTTPD_REQUEST_MAX)
		answer_text(hc, false, 431, "Request Header Fields Too Large", NULL, "request headers too large\n");
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	for (int i = 0; i < HTTPD_ACCEPT_BATCH; i++)
	{
		int			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		HttpConn   *hc;
		struct timeval tv;
		long		ms = cf.metrics_request_timeout_ms > 0 ? cf.metrics_request_timeout_ms : 10000;

		if (fd < 0)
			return;
		if (n_http_conns >= cf.metrics_max_connections || !(hc = calloc(1, sizeof(HttpConn))))
		{
			close(fd);			/* at the cap: refused at once, costs nothing */
			continue;
		}
		hc->fd = fd;
		hc->io = event_new(conn_base, fd, EV_READ | EV_PERSIST, io_cb, hc);
		hc->deadline = evtimer_new(conn_base, deadline_cb, hc);
		if (!hc->io || !hc->deadline)
		{
			if (hc->io)
				event_free(hc->io);
			if (hc->deadline)
				event_free(hc->deadline);
			close(fd);
			free(hc);
			continue;
		}
		list_append(&http_conns, &hc->node);
		n_http_conns++;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		event_add(hc->deadline, &tv);
		event_add(hc->io, NULL);
	}
}

bool
httpd_start(const char *addr, int port, HttpdHandler handler, char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res;
	char		portstr[16];
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(strcmp(addr, "*") == 0 ? NULL : addr, portstr, &hints, &res);
	if (rc != 0)
		return snprintf(err, errlen, "metrics_addr \"%s\": %s", addr, gai_strerror(rc)), false;
	http_handler = handler;
	for (struct addrinfo *ai = res; ai && n_listen < HTTPD_MAX_LISTENERS; ai = ai->ai_next)
	{
		int			on = 1;
		int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0)
		{
			snprintf(err, errlen, "cannot listen for metrics on %s:%d (metrics_addr, metrics_port): %s", addr,
					 port, strerror(errno));
			close(fd);
			if (strcmp(addr, "*") == 0)
				continue;		/* e.g. no IPv6 */
			freeaddrinfo(res);
			httpd_stop();
			return false;
		}
		httpd_listen_fds[n_listen] = fd;
		httpd_listen_evs[n_listen] = event_new(conn_base, fd, EV_READ | EV_PERSIST, accept_cb, NULL);
		event_add(httpd_listen_evs[n_listen], NULL);
		n_listen++;
	}
	freeaddrinfo(res);
	if (n_listen == 0)
		return snprintf(err, errlen, "cannot listen for metrics on %s:%d (metrics_addr, metrics_port)", addr,
						port), false;
	return true;
}

void
httpd_stop(void)
{
	List	   *it;
	List	   *tmp;

	for (int i = 0; i < n_listen; i++)
	{
		event_free(httpd_listen_evs[i]);
		close(httpd_listen_fds[i]);
	}
	n_listen = 0;
	list_for_each_safe(it, tmp, &http_conns)
		conn_free(container_of(it, HttpConn, node));
}
