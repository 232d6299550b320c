/*
 * logsyslog.c: owns the pooler's syslog connection (syslog, syslog_ident, syslog_facility): the
 * facility names PgBouncer accepts and the mapping of the log's levels to syslog priorities. Kept
 * apart from log.c because <syslog.h>'s LOG_* macros collide with log.h's level names.
 */
#include "logsyslog.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

bool
logsyslog_open(const char *ident, const char *facility)
{
	static const struct
	{
		const char *name;
		int			value;
	}			facilities[] = {
		{"auth", LOG_AUTH}, {"authpriv", LOG_AUTHPRIV}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
		{"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}
	};
	static char ident_copy[64];	/* openlog keeps the pointer */

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facility, facilities[i].name) == 0)
		{
			snprintf(ident_copy, sizeof(ident_copy), "%s", ident);
			openlog(ident_copy, LOG_PID, facilities[i].value);
			return true;
		}
	return false;
}

void
logsyslog_write(int level, const char *line)
{
	/* ERROR, WARNING, LOG, DEBUG, NOISE */
	static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};

	if (level < 0 || level >= (int) (sizeof(priorities) / sizeof(priorities[0])))
		level = 2;
	syslog(priorities[level], "%s", line);
}
