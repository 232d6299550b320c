/*
 * log.c: owns the log destination and the line format:
 *   2026-11-25 02:30:00.123 UTC [pid] LOG C-0x55d0…: db/user@127.0.0.1:41234 closing because: …
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int			log_verbose;
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
log_msg(LogLevel level, const Conn *conn, const char *fmt,...)
{
	static const char *const names[] = {"ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};
	char		line[2048];
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
	n = snprintf(line, sizeof(line), "%s.%03d UTC [%d] %s ", stamp, (int) (tv.tv_usec / 1000), (int) getpid(),
				 names[level]);
	if (conn && n > 0 && (size_t) n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, "%c-%p: %s/%s@%s:%d ", conn->kind, (const void *) conn,
					  conn->db ? conn->db : "(nodb)", conn->user ? conn->user : "(nouser)", conn->addr,
					  conn->port);
	if (n > 0 && (size_t) n < sizeof(line))
	{
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	fprintf(out, "%s\n", line);
	if (out == stderr)
		fflush(out);
}
