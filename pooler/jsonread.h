/*
 * jsonread.h: a small pull reader of JSON text (jsonread.c), for the few documents the pooler reads
 * from other programs (Patroni's /cluster). It walks the text in place, allocates nothing, and the
 * caller asks for exactly the values it expects: objects key by key, arrays item by item, strings
 * unescaped into a caller's buffer, integers, booleans; anything else is skipped. Input is untrusted:
 * every malformed byte, a string that does not fit, a number out of range or nesting deeper than
 * JSONREAD_MAX_DEPTH stops the reader with an error (sticky: every later call returns false), never
 * a read past the end.
 */
#ifndef FAREGATE_JSONREAD_H
#define FAREGATE_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONREAD_MAX_DEPTH 32

typedef enum JsonType
{
	JSON_NONE,					/* end of input or an error */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
} JsonType;

typedef struct JsonReader
{
	const char *start;
	const char *p;				/* next byte to read */
	const char *end;
	int			depth;			/* objects and arrays open */
	bool		first;			/* the next member/item is the first of its container */
	char		error[128];		/* empty while all is well */
} JsonReader;

/* jsonread_init: reads the len bytes at text (not necessarily NUL-terminated). */
extern void jsonread_init(JsonReader *r, const char *text, size_t len);

/* jsonread_peek: the type of the next value (skipping white space); JSON_NONE at the end or on error. */
extern JsonType jsonread_peek(JsonReader *r);

/* jsonread_begin_object / jsonread_begin_array: consumes '{' or '['; false (error set) if not there. */
extern bool jsonread_begin_object(JsonReader *r) __attribute__((warn_unused_result));
extern bool jsonread_begin_array(JsonReader *r) __attribute__((warn_unused_result));

/*
 * jsonread_next_key: inside an object: 1 = the next member's key is in key (unescaped, cut to keylen
 * is an error) and the reader is at its value; 0 = the object ended ('}' consumed); -1 = error.
 */
extern int	jsonread_next_key(JsonReader *r, char *key, size_t keylen) __attribute__((warn_unused_result));

/* jsonread_next_item: inside an array: 1 = a value follows; 0 = the array ended; -1 = error. */
extern int	jsonread_next_item(JsonReader *r) __attribute__((warn_unused_result));

/*
 * jsonread_string: a string value into out (NUL-terminated, UTF-8; \u escapes decoded, surrogate
 * pairs joined; NUL and lone surrogates refused). False (error set) when it is not a string, is
 * malformed or does not fit in outlen.
 */
extern bool jsonread_string(JsonReader *r, char *out, size_t outlen) __attribute__((warn_unused_result));

/* jsonread_int64: an integer value (no fraction, no exponent, within int64); false otherwise. */
extern bool jsonread_int64(JsonReader *r, int64_t *out) __attribute__((warn_unused_result));

/* jsonread_bool: true or false; false (error set) for anything else. */
extern bool jsonread_bool(JsonReader *r, bool *out) __attribute__((warn_unused_result));

/* jsonread_skip: skips one value of any type, nested ones included (depth-limited). */
extern bool jsonread_skip(JsonReader *r) __attribute__((warn_unused_result));

/* jsonread_finish: only white space is left after the document; false (error set) otherwise. */
extern bool jsonread_finish(JsonReader *r) __attribute__((warn_unused_result));

/* jsonread_fail: sets the error "message at byte N" (first error wins); returns false. */
extern bool jsonread_fail(JsonReader *r, const char *message);

#endif
