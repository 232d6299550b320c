/*
 * test_patroni.c: the JSON reader (jsonread.c) on good and bad input, Patroni /cluster documents
 * (members, tags, lag, skipped members, wrong types, truncation at every byte), HTTP response
 * framing, and patroni= endpoint lists.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "patroni.h"
#include "tap.h"

/* skip_ok: the document skips cleanly to its end. */
static bool
skip_ok(const char *text)
{
	JsonReader	r;

	jsonread_init(&r, text, strlen(text));
	return jsonread_skip(&r) && jsonread_finish(&r);
}

/* parse, split: the document or response as a C string. */
static bool
parse(const char *doc, PatroniCluster *c, char *err)
{
	return patroni_parse_cluster(doc, strlen(doc), c, err, 256);
}

static bool
split(const char *resp, int *status, const char **body, size_t *blen, char *err)
{
	return patroni_split_response(resp, strlen(resp), status, body, blen, err, 128);
}

static void
test_reader_good(void)
{
	JsonReader	r;
	char		key[16];
	char		s[32];
	int64_t		n = 0;
	bool		b = false;

	tap_ok(skip_ok("{}"), "empty object");
	tap_ok(skip_ok(" [ ] "), "empty array with spaces");
	tap_ok(skip_ok("{\"a\":[1,-2.5e+3,true,false,null,{\"b\":\"c\"}],\"d\":{}}"), "nested document");
	tap_ok(skip_ok("\"\\u00e9\\ud83d\\ude00\\n\\\"\""), "escapes and a surrogate pair");

	{
		static const char doc[] = "{\"k\": \"v\\u00e9\", \"n\": -9223372036854775808, \"t\": true}";

		jsonread_init(&r, doc, strlen(doc));
	}
	tap_ok(jsonread_begin_object(&r), "begin object");
	tap_ok(jsonread_next_key(&r, key, sizeof(key)) == 1 && strcmp(key, "k") == 0, "first key");
	tap_ok(jsonread_string(&r, s, sizeof(s)) && strcmp(s, "v\xc3\xa9") == 0, "string with \\u00e9 as UTF-8");
	tap_ok(jsonread_next_key(&r, key, sizeof(key)) == 1 && jsonread_int64(&r, &n) && n == INT64_MIN, "INT64_MIN");
	tap_ok(jsonread_next_key(&r, key, sizeof(key)) == 1 && jsonread_bool(&r, &b) && b, "true");
	tap_ok(jsonread_next_key(&r, key, sizeof(key)) == 0 && jsonread_finish(&r), "object ends, nothing after");
}

static void
test_reader_bad(void)
{
	static const char *const bad[] = {
		"", " ", "{", "[", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{a:1}",
		"\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\udc00\"", "\"\\ud800\"", "\"\\ud800\\u0041\"",
		"\"\\u0000\"", "\"tab\there\"", "01", "-", "1.", "1e", ".5", "+1", "tru", "nul", "NaN", "Infinity",
		"{\"a\":1}x", "[1]]", "// comment {}", "{\"a\":1 /* c */}", "'single'", "[\"a\",,\"b\"]",
	};
	char		deep[2 * JSONREAD_MAX_DEPTH + 8];
	JsonReader	r;
	char		small[4];
	int64_t		n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		name[96];

		snprintf(name, sizeof(name), "refused: '%s'", bad[i]);
		tap_ok(!skip_ok(bad[i]), name);
	}
	for (int d = JSONREAD_MAX_DEPTH; d <= JSONREAD_MAX_DEPTH + 1; d++)
	{
		memset(deep, '[', (size_t) d);
		memset(deep + d, ']', (size_t) d);
		deep[2 * d] = '\0';
		tap_ok(skip_ok(deep) == (d == JSONREAD_MAX_DEPTH), d == JSONREAD_MAX_DEPTH ?
			   "nesting at JSONREAD_MAX_DEPTH accepted" : "nesting past JSONREAD_MAX_DEPTH refused");
	}
	jsonread_init(&r, "\"abcd\"", 6);
	tap_ok(!jsonread_string(&r, small, sizeof(small)) && strstr(r.error, "too long"), "string longer than the buffer");
	jsonread_init(&r, "9223372036854775808", 19);
	tap_ok(!jsonread_int64(&r, &n) && strstr(r.error, "range"), "INT64_MAX + 1 refused");
	jsonread_init(&r, "1.5", 3);
	tap_ok(!jsonread_int64(&r, &n), "fraction refused as an integer");
	jsonread_init(&r, "\"1\"", 3);
	tap_ok(!jsonread_int64(&r, &n) && !jsonread_skip(&r), "error is sticky");
	/* the reader must not need a NUL: "[1" inside a longer buffer */
	jsonread_init(&r, "[1]", 2);
	tap_ok(!(jsonread_skip(&r) && jsonread_finish(&r)), "length bounds the text, not a NUL");
}

static const char cluster_doc[] =
	"{\"members\": ["
	"{\"name\": \"n1\", \"role\": \"leader\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:8008/patroni\","
	" \"host\": \"127.0.0.1\", \"port\": 5432, \"timeline\": 3, \"tags\": {\"nofailover\": false}},"
	"{\"name\": \"n2\", \"role\": \"sync_standby\", \"state\": \"streaming\", \"host\": \"127.0.0.1\", \"port\": 5433,"
	" \"timeline\": 3, \"lag\": 0, \"tags\": {\"noloadbalance\": true, \"nofailover\": \"yes\"}},"
	"{\"name\": \"n3\", \"role\": \"replica\", \"state\": \"running\", \"host\": \"::1\", \"port\": 5434,"
	" \"lag\": \"unknown\"},"
	"{\"name\": \"n4\", \"role\": \"replica\", \"state\": \"stopped\", \"host\": \"db4.example\", \"port\": 5435},"
	"{\"name\": \"n5\", \"role\": \"replica\", \"state\": \"running\"}"
	"], \"scope\": \"demo\", \"future\": {\"x\": [1, 2]}}";

static void
test_cluster(void)
{
	PatroniCluster c;
	char		err[256];
	size_t		len = strlen(cluster_doc);
	int			truncated_refused = 0;

	tap_ok(patroni_parse_cluster(cluster_doc, len, &c, err, sizeof(err)), "a /cluster document parses");
	tap_is_long(c.n_members, 3, "three usable members");
	tap_is_long(c.n_skipped, 2, "a host name and a member without host skipped");
	tap_ok(strstr(c.skipped, "n4") && strstr(c.skipped, "numeric"), "the first skip says why");
	tap_is_str(c.scope, "demo", "scope");
	tap_ok(c.members[0].role == PATRONI_ROLE_LEADER && c.members[0].port == 5432 && !c.members[0].nofailover,
		   "leader n1");
	tap_ok(c.members[1].role == PATRONI_ROLE_REPLICA && c.members[1].noloadbalance && c.members[1].nofailover &&
		   c.members[1].lag_bytes == 0, "sync_standby n2 with tags (bool and \"yes\") and lag 0");
	tap_ok(c.members[2].lag_bytes == -1 && strcmp(c.members[2].host, "::1") == 0, "lag \"unknown\" is -1; IPv6 host");

	for (size_t cut = 0; cut < len; cut++)
		if (!patroni_parse_cluster(cluster_doc, cut, &c, err, sizeof(err)) && c.n_members == 0)
			truncated_refused++;
	tap_is_long(truncated_refused, (long) len, "every truncation refused, with no members left");

	tap_ok(!parse("{\"scope\": \"x\"}", &c, err) && strstr(err, "members"),
		   "no members array");
	tap_ok(!parse("[]", &c, err), "an array is not /cluster");
	tap_ok(!parse("{\"members\": {}}", &c, err), "members not an array");
	tap_ok(!parse("{\"members\": [1]}", &c, err), "a member not an object");
	tap_ok(!parse("{\"members\": [], \"members\": []}", &c, err),
		   "members twice");
	tap_ok(parse("{\"members\": [{\"host\": 5, \"port\": \"5432\"}]}", &c, err) &&
		   c.n_members == 0 && strstr(c.skipped, "wrong type"), "host/port of the wrong type: member skipped");
	tap_ok(parse("{\"members\": [{\"host\": \"127.0.0.1\", \"port\": 70000}]}", &c, err) && c.n_members == 0, "port out of range: member skipped");
	tap_ok(parse("{\"members\": [{\"host\": \"127.0.0.1\", \"port\": 1, \"role\": \"witness\"}]}", &c, err) && c.members[0].role == PATRONI_ROLE_OTHER,
		   "unknown role kept as other");
	{
		/* more members than tracked */
		char	   *big = malloc(64 * 40);
		size_t		n = 0;

		n += (size_t) sprintf(big + n, "{\"members\":[");
		for (int i = 0; i < PATRONI_MAX_MEMBERS + 3; i++)
			n += (size_t) sprintf(big + n, "%s{\"host\":\"127.0.0.1\",\"port\":%d}", i ? "," : "", 1000 + i);
		n += (size_t) sprintf(big + n, "]}");
		tap_ok(patroni_parse_cluster(big, n, &c, err, sizeof(err)) && c.n_members == PATRONI_MAX_MEMBERS &&
			   c.n_skipped == 3, "members past PATRONI_MAX_MEMBERS skipped");
		free(big);
	}
}

static void
test_http(void)
{
	int			status;
	const char *body;
	size_t		blen;
	char		err[128];
	const char *ok = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}junk";
	const char *nolen = "HTTP/1.1 503 Service Unavailable\r\n\r\n{\"a\":1}";

	tap_ok(patroni_split_response(ok, strlen(ok), &status, &body, &blen, err, sizeof(err)) && status == 200 &&
		   blen == 2 && memcmp(body, "{}", 2) == 0, "Content-Length bounds the body");
	tap_ok(patroni_split_response(nolen, strlen(nolen), &status, &body, &blen, err, sizeof(err)) && status == 503 &&
		   blen == 7, "no Content-Length: body to EOF; status 503");
	tap_ok(!split("HTTP/1.0 200 OK\r\n", &status, &body, &blen, err),
		   "no end of headers");
	tap_ok(!split("SSH-2.0-OpenSSH\r\n\r\n", &status, &body, &blen, err),
		   "not HTTP");
	tap_ok(!split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", &status, &body, &blen, err) && strstr(err, "chunked"), "chunked refused");
	tap_ok(!split("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n{}", &status, &body, &blen, err), "shorter than Content-Length");
	tap_ok(!split("HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}", &status, &body, &blen, err), "absurd Content-Length");
}

static void
test_endpoints(void)
{
	char		why[256];

	tap_ok(patroni_parse_endpoints("http://127.0.0.1:8008", why, sizeof(why)), "one endpoint");
	tap_ok(patroni_parse_endpoints("http://127.0.0.1:8008/, http://[::1]:8009", why, sizeof(why)), "two, IPv6, trailing /");
	tap_ok(!patroni_parse_endpoints("https://127.0.0.1:8008", why, sizeof(why)) && strstr(why, "http://"), "https refused");
	tap_ok(!patroni_parse_endpoints("http://localhost:8008", why, sizeof(why)) && strstr(why, "numeric"), "a name refused");
	tap_ok(!patroni_parse_endpoints("http://127.0.0.1", why, sizeof(why)) && strstr(why, "port"), "no port");
	tap_ok(!patroni_parse_endpoints("http://127.0.0.1:0", why, sizeof(why)), "port 0");
	tap_ok(!patroni_parse_endpoints("http://127.0.0.1:8008/cluster", why, sizeof(why)), "a path refused");
	tap_ok(!patroni_parse_endpoints("http://127.0.0.1:8008,", why, sizeof(why)), "empty item");
	tap_ok(!patroni_parse_endpoints("http://[::1:8008", why, sizeof(why)), "unclosed IPv6");
	tap_ok(!patroni_parse_endpoints("", why, sizeof(why)), "empty");
}

int
main(void)
{
	test_reader_good();
	test_reader_bad();
	test_cluster();
	test_http();
	test_endpoints();
	return tap_done();
}
