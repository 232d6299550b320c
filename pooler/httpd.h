/*
 * httpd.h: the HTTP listener of metrics_addr:metrics_port (httpd.c). It serves one request per
 * connection, GET or HEAD, and asks its handler (metrics.c) for the answer; everything HTTP-level is
 * here: the connection cap (metrics_max_connections), the whole-request deadline
 * (metrics_request_timeout), the optional Authorization check (metrics_bearer_token,
 * metrics_basic_auth), 400/401/405/431 answers, and Connection: close.
 */
#ifndef FAREGATE_HTTPD_H
#define FAREGATE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

/* What the handler answers: body is malloc'ed (httpd frees it); NULL with len 0 = empty. */
typedef struct HttpdReply
{
	int			status;
	const char *reason;			/* static text: "OK", "Not Found" ... */
	const char *content_type;	/* static text */
	bool		no_store;		/* adds Cache-Control: no-store */
	char	   *body;
	size_t		len;
} HttpdReply;

/* HttpdHandler: fills reply for a GET (or HEAD: the body is dropped) of path (query string removed). */
typedef void (*HttpdHandler) (const char *path, HttpdReply *reply);

/*
 * httpd_start: listens on addr ("*" = every address) and port; false with err when it cannot.
 * handler is called for every authorised GET and HEAD.
 */
__attribute__((warn_unused_result))
extern bool httpd_start(const char *addr, int port, HttpdHandler handler, char *err, size_t errlen);

/* httpd_stop: closes the listener and every connection. */
extern void httpd_stop(void);

/* httpd_connections: HTTP connections open now (for tests and SHOW LISTS). */
extern int	httpd_connections(void);

/*
 * httpd_authorized: whether an Authorization header value (NULL = none) passes metrics_bearer_token /
 * metrics_basic_auth; true when neither is set. Exposed for the unit tests.
 */
extern bool httpd_authorized(const char *authorization);

#endif
