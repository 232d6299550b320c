/*
 * fuzz_admin.c: libFuzzer target for the admin console's command parser (admin_parse in admin.c), the
 * part of admin_handle that reads client text. Checks against a straightforward reference tokenizer:
 * the three words are NUL-terminated within their 64-byte arrays, hold no white space and no ';', and
 * equal the reference's (truncated) words. The input is also wrapped in a Query message and read back
 * with proto_read_query, which admin_handle calls first. admin_parse_set (SET key = value) must
 * stay within its buffers and, when it accepts, give a non-empty key of letters, digits and '_'.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "proto.h"

static const char *
ref_word(const char *p, char *out, size_t cap)
{
	size_t		n = 0;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	for (; *p && !(*p == ' ' || (*p >= '\t' && *p <= '\r')) && *p != ';'; p++)
		if (n < cap - 1)
			out[n++] = *p;
	out[n] = '\0';
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *query = malloc(size + 1);
	uint8_t    *msg = malloc(size + 6);
	AdminWords	words;
	char		ref[3][64];
	const char *p;
	const char *read_back;

	if (!query || !msg)
		abort();
	memcpy(query, data, size);
	query[size] = '\0';
	admin_parse(query, &words);
	p = ref_word(query, ref[0], sizeof(ref[0]));
	p = ref_word(p, ref[1], sizeof(ref[1]));
	(void) ref_word(p, ref[2], sizeof(ref[2]));
	if (strcmp(words.cmd, ref[0]) != 0 || strcmp(words.arg, ref[1]) != 0 || strcmp(words.extra, ref[2]) != 0)
		__builtin_trap();
	for (const char *w = words.cmd; *w; w++)
		if (isspace((unsigned char) *w) || *w == ';')
			__builtin_trap();

	{
		char		key[16];
		char		value[32];

		if (admin_parse_set(query, key, sizeof(key), value, sizeof(value)))
		{
			if (!key[0] || strnlen(key, sizeof(key)) == sizeof(key) ||
				strnlen(value, sizeof(value)) == sizeof(value))
				__builtin_trap();
			for (const char *k = key; *k; k++)
				if (!isalnum((unsigned char) *k) && *k != '_')
					__builtin_trap();
		}
	}

	/* the same text as a Query message: admin_handle's first step */
	msg[0] = 'Q';
	proto_put_u32(msg + 1, (uint32_t) size + 5);
	memcpy(msg + 5, data, size);
	msg[size + 5] = '\0';
	if (proto_read_query(msg, (uint32_t) size + 6, &read_back) &&
		strlen(read_back) != strnlen((const char *) data, size))
		__builtin_trap();
	free(query);
	free(msg);
	return 0;
}
