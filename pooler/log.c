/*
 * log.c: owns the log destination and the line format:
 *   2026-11-25 02:30:00.123 UTC [pid] LOG C-0x55d0…: db/user@127.0.0.1:41234 closing because: …
 * and the rate limit of repeated events (log.h). Everything after the level is escaped: names and
 * values come from clients.
 */
#include "log.h"
#include "logsyslog.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int			log_verbose;
bool		log_quiet;
static bool log_syslog_on;		/* syslog = 1 (issue 15): every line also goes to syslog */

bool
log_syslog_open(const char *ident, const char *facility)
{
	log_syslog_on = logsyslog_open(ident, facility);
	return log_syslog_on;
}
static FILE *log_file;

bool
log_open(const char *path)
{
	FILE	   *file;

	if (!path || !*path)
	{
		if (log_file && log_file != stderr)
			fclose(log_file);
		log_file = stderr;
		return true;
	}
	file = fopen(path, "a");
	if (!file)
		return false;
	setvbuf(file, NULL, _IOLBF, 0);
	if (log_file && log_file != stderr)
		fclose(log_file);
	log_file = file;
	return true;
}

void
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t		n = 0;

	for (const unsigned char *p = (const unsigned char *) src; *p; p++)
	{
		char		esc[5];
		size_t		len = 1;

		esc[0] = (char) *p;
		if (*p < 0x20 || *p == 0x7f)
		{
			esc[0] = '\\';
			len = 2;
			if (*p == '\n')
				esc[1] = 'n';
			else if (*p == '\r')
				esc[1] = 'r';
			else if (*p == '\t')
				esc[1] = 't';
			else
			{
				esc[1] = 'x';
				esc[2] = hex[*p >> 4];
				esc[3] = hex[*p & 15];
				len = 4;
			}
		}
		if (n + len >= dstlen)
			break;
		memcpy(dst + n, esc, len);
		n += len;
	}
	dst[n] = '\0';
}

void
log_msg(LogLevel level, const Conn *conn, const char *fmt,...)
{
	static const char *const names[] = {"ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};
	char		line[2048];
	char		escaped[4 * sizeof(line)];
	char		stamp[64];
	struct timeval tv;
	struct tm	tm;
	int			n;
	va_list		ap;
	FILE	   *out = log_file ? log_file : stderr;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	line[0] = '\0';
	n = 0;
	if (conn)
		n = snprintf(line, sizeof(line), "%c-%p: %s/%s@%s:%d ", conn->kind, (const void *) conn,
					 conn->db ? conn->db : "(nodb)", conn->user ? conn->user : "(nouser)", conn->addr,
					 conn->port);
	if (n >= 0 && (size_t) n < sizeof(line))
	{
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	log_escape(escaped, sizeof(escaped), line);
	if (log_syslog_on)
		logsyslog_write((int) level, escaped);
	if (out == stderr && log_quiet)
		return;					/* -q/--quiet: nothing on stderr */
	fprintf(out, "%s.%03d UTC [%d] %s %s\n", stamp, (int) (tv.tv_usec / 1000), (int) getpid(), names[level],
			escaped);
	if (out == stderr)
		fflush(out);
}

/* One window of a rate-limited event kind. */
typedef struct EventWindow
{
	const char *what;			/* for the summary line */
	uint64_t	start_ms;		/* when the current one-second window began */
	int			logged;			/* lines written in it */
	long		held;			/* lines held back in it */
} EventWindow;

static EventWindow event_windows[LOGEV_COUNT] = {
	[LOGEV_LOGIN_FAILED] = {"lines about failed or abandoned logins", 0, 0, 0},
	[LOGEV_CANCEL_IGNORED] = {"cancel requests for no running query", 0, 0, 0},
	[LOGEV_CLIENT_TLS_ERROR] = {"TLS errors of client connections", 0, 0, 0},
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* window_roll: a window that is over reports what it held back and starts again. */
static void
window_roll(EventWindow *w, uint64_t now)
{
	if (now - w->start_ms < 1000)
		return;
	if (w->held > 0)
		log_msg(LOG_INFO, NULL, "%ld more %s not logged in the last %.1f s (at most %d a second are)", w->held,
				w->what, (double) (now - w->start_ms) / 1000.0, LOG_EVENT_BURST);
	w->start_ms = now;
	w->logged = 0;
	w->held = 0;
}

bool
log_event_allowed(LogEvent kind)
{
	EventWindow *w = &event_windows[kind];

	window_roll(w, now_ms());
	if (w->logged < LOG_EVENT_BURST)
	{
		w->logged++;
		return true;
	}
	w->held++;
	return false;
}

void
log_events_flush(void)
{
	uint64_t	now = now_ms();

	for (int i = 0; i < LOGEV_COUNT; i++)
		window_roll(&event_windows[i], now);
}
