/*
 * test_log.c: unit tests of log.c: escaping of client-supplied bytes in log lines.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tap.h"

/* test_log_escape: client-supplied bytes cannot start a log line of their own (issue 20, finding 6). */
static void
test_log_escape(void)
{
	char		out[64];

	log_escape(out, sizeof(out), "evil\nLOG forged\r\x1b[31m\tend");
	tap_is_str(out, "evil\\nLOG forged\\r\\x1b[31m\\tend", "newline, CR, ESC and tab escaped");
	log_escape(out, sizeof(out), "caf\xc3\xa9 \x7f");
	tap_is_str(out, "caf\xc3\xa9 \\x7f", "UTF-8 kept, DEL escaped");
	log_escape(out, 8, "ab\x01\x02");
	tap_is_str(out, "ab\\x01", "cut at the buffer, never inside an escape");
}

int
main(void)
{
	test_log_escape();
	return tap_done();
}
