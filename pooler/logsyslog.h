/*
 * logsyslog.h: the syslog side of the log (syslog = 1, issue 15). A module of its own because
 * <syslog.h> defines LOG_INFO, LOG_DEBUG, LOG_ERR and LOG_WARNING as macros, which would replace
 * log.h's LogLevel names in any file that includes both.
 */
#ifndef FAREGATE_LOGSYSLOG_H
#define FAREGATE_LOGSYSLOG_H

#include <stdbool.h>

/* logsyslog_open: openlog() as ident with the named facility; false for an unknown facility name. */
extern bool logsyslog_open(const char *ident, const char *facility);

/* logsyslog_write: one line at a LogLevel given as its number (0 = ERROR ... 4 = NOISE). */
extern void logsyslog_write(int level, const char *line);

#endif
