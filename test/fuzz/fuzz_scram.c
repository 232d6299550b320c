/*
 * fuzz_scram.c: libFuzzer target for scram.c's message parsers, both roles. The input is split at the
 * first NUL: the first part is fed to a server as client-first-message and, if accepted, the second as
 * client-final-message (by three servers: without TLS, on TLS, on TLS with SCRAM-SHA-256-PLUS chosen);
 * the same parts go to a client as server-first and server-final messages, and the
 * first part is parsed as a secret. Every step must succeed or fail with a message, never crash; a
 * client-final that nobody could have computed (it does not hold the proof) must never be accepted.
 */
#include <stdint.h>
#include <string.h>

#include "scram.h"

static void
check_refusal(AuthResult r, const char *error)
{
	if (r != AUTH_OK && error[0] == '\0')
		__builtin_trap();		/* every refusal says why */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ScramCache cache;	/* derive the verifier once, not per input */
	static AuthEntry entry = {.user = "fuzz", .secret = "pencil", .kind = AUTH_SECRET_PLAIN, .cache = &cache};
	const char *first = (const char *) data;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t		first_len = nul ? (size_t) (nul - data) : size;
	const char *second = nul ? (const char *) nul + 1 : "";
	size_t		second_len = nul ? size - first_len - 1 : 0;
	char		out[SCRAM_OUT_MAX],
				secret_text[SCRAM_MSG_MAX];
	size_t		n;
	ScramServer sv;
	ScramClient cl;
	ScramSecret secret;
	AuthResult	r;

	/* three servers: without TLS; on TLS with SCRAM-SHA-256; on TLS with SCRAM-SHA-256-PLUS chosen */
	for (int mode = 0; mode < 3; mode++)
	{
		static const uint8_t cbind[32] = {1, 2, 3};

		if (scram_server_begin(&sv, entry.user, &entry) != AUTH_OK)
			continue;
		if (mode > 0)
			scram_server_set_channel_binding(&sv, cbind, sizeof(cbind));
		if (!scram_server_choose_mechanism(&sv, mode == 2 ? SCRAM_MECHANISM_PLUS : SCRAM_MECHANISM))
			__builtin_trap();	/* both are offered on TLS */
		r = scram_server_handle_client_first(&sv, first, first_len, out, sizeof(out), &n);
		check_refusal(r, sv.error);
		if (r == AUTH_OK)
		{
			r = scram_server_handle_client_final(&sv, second, second_len, out, sizeof(out), &n);
			check_refusal(r, sv.error);
			if (r == AUTH_OK)
				__builtin_trap();	/* the fuzzer cannot know the random server nonce */
		}
		scram_server_clear(&sv);
	}
	if (scram_client_begin(&cl, "fuzz", "pencil") == AUTH_OK)
	{
		scram_test_set_client_nonce(&cl, "fyko+d2lbbFgONRv9qkxdawL");	/* a fixed nonce inputs can extend */
		if (scram_client_first_message(&cl, out, sizeof(out), &n) != AUTH_OK)
			__builtin_trap();
		r = scram_client_handle_server_first(&cl, first, first_len, out, sizeof(out), &n);
		check_refusal(r, cl.error);
		if (r == AUTH_OK)
			check_refusal(scram_client_verify_server_final(&cl, second, second_len), cl.error);
		scram_client_clear(&cl);
	}
	if (first_len < sizeof(secret_text))
	{
		memcpy(secret_text, first, first_len);
		secret_text[first_len] = '\0';
		out[0] = '\0';
		if (!scram_parse_secret(secret_text, &secret, out, sizeof(out)) && out[0] == '\0')
			__builtin_trap();
	}
	return 0;
}
