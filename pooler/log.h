/*
 * log.h: the pooler's one logging macro family. log_* for lines about the process; slog_* for lines
 * about a connection, prefixed with the socket ("C-0x…" client, "S-0x…" server), database, user and
 * peer address, as PgBouncer does. Lines go to logfile (or stderr) with a timestamp and level.
 * Everything after the timestamp is escaped (control characters as \n, \r, \t, \xNN), so that a
 * client-supplied name or value can never start a line of its own or drive a terminal.
 */
#ifndef FAREGATE_LOG_H
#define FAREGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"

typedef enum LogLevel
{
	LOG_ERROR,
	LOG_WARNING,
	LOG_INFO,					/* connections opened and closed, reloads: the default */
	LOG_DEBUG,					/* verbose = 1 */
	LOG_NOISE					/* verbose >= 2 */
} LogLevel;

extern int	log_verbose;		/* 0: up to LOG_INFO; 1: LOG_DEBUG; 2+: LOG_NOISE */
extern bool log_quiet;			/* -q/--quiet: lines that would go to stderr go nowhere */

/* log_syslog_open: syslog = 1: every line also goes to syslog as ident; false for an unknown facility. */
extern bool log_syslog_open(const char *ident, const char *facility);

/* log_open: sends lines to path (appending) or to stderr when path is empty; false on failure. */
__attribute__((warn_unused_result))
extern bool log_open(const char *path);

extern void log_msg(LogLevel level, const Conn *conn, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/*
 * Events a client can repeat at will, rate-limited in the log: at most LOG_EVENT_BURST lines of a kind
 * per second; the lines held back are counted and reported in one line when the second is over.
 */
typedef enum LogEvent
{
	LOGEV_LOGIN_FAILED,			/* a login that failed or was abandoned (its close, its reason) */
	LOGEV_CANCEL_IGNORED,		/* a CancelRequest matching no running query */
	LOGEV_CLIENT_TLS_ERROR,		/* a TLS error on a client connection (a bad handshake, for one) */
	LOGEV_COUNT
} LogEvent;

#define LOG_EVENT_BURST 10

/* log_event_allowed: whether a line about one more event of kind may be written now. */
extern bool log_event_allowed(LogEvent kind);

/* log_events_flush: reports the lines held back in windows that are over (the pool janitor calls it). */
extern void log_events_flush(void);

/* log_escape: copies src into dst (dstlen > 0) with control characters escaped; for the unit tests. */
extern void log_escape(char *dst, size_t dstlen, const char *src);

static inline bool
log_enabled(LogLevel level)
{
	return (int) level <= LOG_INFO + log_verbose;
}

#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, NULL, __VA_ARGS__); } while (0)
#define slog_error(conn, ...) log_msg(LOG_ERROR, (conn), __VA_ARGS__)
#define slog_warning(conn, ...) log_msg(LOG_WARNING, (conn), __VA_ARGS__)
#define slog_info(conn, ...) log_msg(LOG_INFO, (conn), __VA_ARGS__)
#define slog_debug(conn, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, (conn), __VA_ARGS__); } while (0)
#define slog_noise(conn, ...) do { if (log_enabled(LOG_NOISE)) log_msg(LOG_NOISE, (conn), __VA_ARGS__); } while (0)

#endif
