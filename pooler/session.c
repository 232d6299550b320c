/*
 * session.c: owns a transaction-pooled client's session state (ClientSession, see session.h): the
 * tracked extra parameters it changes, the session state the pooler cannot carry, what
 * session_state_action does about it, and the probe that tells when a pinned client's state is gone.
 *
 * Invariants: a client is pinned only while it is linked to its server (server->session_pinned says
 * the same from the server's side); a pinned server whose client leaves is closed, never reused, since
 * the backend still holds the client's locks, cursors or settings. Nothing here allocates per request
 * unless the request changes an extra parameter or SETs an untracked one.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "pool.h"
#include "proto.h"
#include "sqlroute.h"
#include "server.h"

/* A server's extra parameter after a transaction whose outcome is unknown: never equal to a value. */
#define SESSION_VALUE_UNKNOWN "\001unknown"

#define SESSION_MAX_OPS 32
#define BIT(kind) ((uint8_t) (1u << (kind)))
/* the kinds the probe can count on the server */
#define PROBED_KINDS (BIT(SK_ADVISORY_LOCK) | BIT(SK_HOLD_CURSOR) | BIT(SK_ROLE) | BIT(SK_TEMP_TABLE))

static uint64_t detected_total[SK_COUNT];
static int	pinned_count;

static const char *const kind_names[SK_COUNT] = {
	[SK_ADVISORY_LOCK] = "advisory_lock",
	[SK_HOLD_CURSOR] = "hold_cursor",
	[SK_ROLE] = "role",
	[SK_TEMP_TABLE] = "temp_table",
	[SK_UNTRACKED_SET] = "untracked_set",
};

/* what each kind is, for messages */
static const char *const kind_text[SK_COUNT] = {
	[SK_ADVISORY_LOCK] = "a session advisory lock",
	[SK_HOLD_CURSOR] = "a WITH HOLD cursor",
	[SK_ROLE] = "SET ROLE / SET SESSION AUTHORIZATION",
	[SK_TEMP_TABLE] = "a temporary table",
	[SK_UNTRACKED_SET] = "a SET of a parameter the pooler does not track",
};

const char *
session_kind_name(SessionKind kind)
{
	return kind_names[kind];
}

uint64_t
session_detected_total(SessionKind kind)
{
	return detected_total[kind];
}

int
session_pinned_count(void)
{
	return pinned_count;
}

/* add_change: one more pending change of extra parameter id (value NULL = reset); false without memory. */
static bool
add_change(ClientSession *s, int id, const char *value)
{
	SessionChange *c;

	if (s->n_changes == s->cap_changes)
	{
		int			cap = s->cap_changes ? s->cap_changes * 2 : 4;
		SessionChange *grown = realloc(s->changes, (size_t) cap * sizeof(SessionChange));

		if (!grown)
			return false;
		s->changes = grown;
		s->cap_changes = cap;
	}
	c = &s->changes[s->n_changes];
	c->id = id;
	c->value = value ? params_intern(value) : NULL;
	c->in_txn = false;
	if (value && !c->value)
		return false;
	s->n_changes++;
	return true;
}

/* drop_changes: forgets changes from index from on (those still pending only, or all). */
static void
drop_changes(ClientSession *s, int from, bool pending_only)
{
	int			kept = from;

	for (int i = from; i < s->n_changes; i++)
	{
		if (pending_only && s->changes[i].in_txn)
			s->changes[kept++] = s->changes[i];
		else
			params_unref(s->changes[i].value);
	}
	s->n_changes = kept;
	if (s->n_changes == 0)
	{
		free(s->changes);
		s->changes = NULL;
		s->cap_changes = 0;
	}
}

/* find_set: index of an untracked parameter name in s->sets, or -1. */
static int
find_set(const ClientSession *s, const char *name)
{
	for (int i = 0; i < s->n_sets; i++)
		if (strcmp(s->sets[i], name) == 0)
			return i;
	return -1;
}

/* add_set: remembers an untracked parameter the client SET (pin: gone only when it is RESET). */
static void
add_set(ClientSession *s, const char *name)
{
	char		(*grown)[64];

	if (find_set(s, name) >= 0)
		return;
	grown = realloc(s->sets, (size_t) (s->n_sets + 1) * sizeof(*s->sets));
	if (!grown)
	{
		/* without memory the name cannot be kept: "set_config" stands for it, RESET ALL clears it */
		if (s->n_sets > 0)
			snprintf(s->sets[0], sizeof(s->sets[0]), "set_config");
		return;
	}
	s->sets = grown;
	snprintf(s->sets[s->n_sets++], sizeof(s->sets[0]), "%s", name);
}

static void
clear_sets(ClientSession *s)
{
	free(s->sets);
	s->sets = NULL;
	s->n_sets = 0;
}

/* refusal_text: the 0A000 message for a statement that creates kind (what = the function or name). */
static void
refusal_text(ClientSession *s, SessionKind kind, const char *what)
{
	snprintf(s->refusal, sizeof(s->refusal), "%s%s%s%s is session state, which transaction pooling cannot "
			 "keep (session_state_action = error)", kind_text[kind], what[0] ? " (" : "", what,
			 what[0] ? ")" : "");
}

/* set_reported: parameter id (params_lookup) is tracked by ParameterStatus or client_note_set. */
static bool
set_reported(int id)
{
	return id >= 0 && (params_reported((ParamId) id) || id == PARAM_SEARCH_PATH);
}

bool
session_set_kept(const char *name, bool value_plain)
{
	int			id = params_lookup(name);

	return set_reported(id) || (id >= PARAM_COUNT && value_plain);
}

/*
 * note_op: one session fact of a request. Tracked extra parameters become pending changes; state the
 * pooler cannot carry sets its kind in *creates (what names it for a message).
 */
static void
note_op(Client *client, const RouteSessionOp *op, bool note, uint8_t *creates, const char **what)
{
	ClientSession *s = &client->session;
	int			id;
	SessionKind kind = SK_COUNT;

	switch (op->kind)
	{
		case RS_SET:
			id = params_lookup(op->name);
			if (set_reported(id))
				return;			/* ParameterStatus or client_note_set track it */
			if (id >= PARAM_COUNT && op->value_plain)
			{
				if (!note || add_change(s, id, op->to_default ? NULL : op->value))
					return;
				/* no memory to follow the value: it is untracked state now */
			}
			kind = SK_UNTRACKED_SET;
			if (note && cf.session_state != SESSION_STATE_ERROR)
				add_set(s, op->name);
			break;
		case RS_RESET:
			id = params_lookup(op->name);
			if (note && id >= PARAM_COUNT)
				(void) add_change(s, id, NULL);
			else if (note && find_set(s, op->name) >= 0)
				(void) add_change(s, -1, op->name);	/* an untracked name to forget once it succeeds */
			return;
		case RS_RESET_ALL:
		case RS_DISCARD_ALL:
			if (note)
			{
				s->pending_reset_all = true;
				s->dirty = true;
			}
			return;
		case RS_ROLE:
			kind = SK_ROLE;
			break;
		case RS_LOCK:
			kind = SK_ADVISORY_LOCK;
			break;
		case RS_HOLD_CURSOR:
			kind = SK_HOLD_CURSOR;
			break;
		case RS_TEMP:
			kind = SK_TEMP_TABLE;
			break;
		default:				/* a release: the probe will tell */
			if (note)
				s->dirty = true;
			return;
	}
	if (!*creates)
		*what = op->name;
	*creates |= BIT(kind);
}

int8_t
session_stmt_flags(const char *sql, size_t len)
{
	RouteSessionOp ops[1];

	return sqlroute_session_statements(sql, len, true, ops, 1) > 0 ? 2 : 1;
}

/* scs_on: the client's standard_conforming_strings (the lexer reads its strings that way). */
static bool
scs_on(const Client *client)
{
	return params_standard_strings(&client->params);
}

/*
 * warn: session_state_action = warn: the client gets a WARNING notice (every time: it is about this
 * statement), the log one line per kind and client.
 */
static void
warn(Client *client, SessionKind kind, const char *what)
{
	char		text[256];
	uint8_t		data[768];
	PktBuf		pkt;

	snprintf(text, sizeof(text), "%s%s%s%s does not outlast the transaction: transaction pooling discards it "
			 "when the server connection is released (session_state_action = warn)", kind_text[kind],
			 what[0] ? " (" : "", what, what[0] ? ")" : "");
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_error(&pkt, 'N', "WARNING", "01000", text,
					  "Use the transaction-scoped form, or session_state_action = pin to keep the server "
					  "connection while the state lasts.");
	if (!pkt.failed && !client_send_bytes(client, pkt.data, pkt.len))
		slog_debug(&client->conn, "no memory for the session state warning");
	if (!(client->session.warned & BIT(kind)))
	{
		client->session.warned |= BIT(kind);
		slog_warning(&client->conn, "%s", text);
	}
}

/* act: the request creates the kinds in creates: count them and act per session_state_action. */
static bool
act(Client *client, uint8_t creates, const char *what, bool note, bool refuse)
{
	ClientSession *s = &client->session;

	for (int k = 0; k < SK_COUNT; k++)
	{
		if (!(creates & BIT(k)))
			continue;
		if (refuse && cf.session_state == SESSION_STATE_ERROR)
		{
			refusal_text(s, (SessionKind) k, what);
			s->detected[k]++;
			detected_total[k]++;
			slog_info(&client->conn, "refused: %s", s->refusal);
			return false;
		}
		if (!note)
			continue;
		s->detected[k]++;
		detected_total[k]++;
		if (cf.session_state == SESSION_STATE_WARN)
			warn(client, (SessionKind) k, what);
	}
	if (note)
	{
		s->maybe_held |= creates & PROBED_KINDS;
		s->dirty = true;
	}
	return true;
}

/*
 * session_check: the common part of session_check_request: note = record what the text does (its
 * execution is certain), refuse = session_state_action = error may refuse it.
 */
static bool
session_check(Client *client, const char *sql, size_t len, bool note, bool refuse)
{
	RouteSessionOp ops[SESSION_MAX_OPS];
	int			n;
	int			first_change = client->session.n_changes;
	uint8_t		creates = 0;
	const char *what = "";

	if (client->pool && pool_mode_of(client->pool) == POOL_SESSION)
		return true;
	n = sqlroute_session_statements(sql, len, scs_on(client), ops, SESSION_MAX_OPS);
	if (n <= 0)
		return true;			/* nothing, or text PostgreSQL will refuse itself */
	for (int i = 0; i < n && i < SESSION_MAX_OPS; i++)
		note_op(client, &ops[i], note, &creates, &what);
	if (n > SESSION_MAX_OPS)
		creates |= BIT(SK_UNTRACKED_SET);	/* more than can be followed: assume the worst */
	if (creates && !act(client, creates, what, note, refuse))
	{
		drop_changes(&client->session, first_change, true);
		return false;
	}
	return true;
}

bool
session_check_request(Client *client, const char *sql, size_t len)
{
	return session_check(client, sql, len, true, true);
}

bool
session_check_parse(Client *client, const char *sql, size_t len)
{
	return session_check(client, sql, len, false, true);
}

void
session_note_bind(Client *client, PreparedStmt *stmt)
{
	const char *sql;
	size_t		name_len;

	if (stmt->parse_len < 6 || (client->pool && pool_mode_of(client->pool) == POOL_SESSION))
		return;
	name_len = strnlen((const char *) stmt->parse_msg + 5, stmt->parse_len - 5);
	if (5 + name_len + 1 >= stmt->parse_len)
		return;
	sql = (const char *) stmt->parse_msg + 5 + name_len + 1;
	if (stmt->session_scan == 0)
		stmt->session_scan = (uint8_t) session_stmt_flags(sql, strnlen(sql, stmt->parse_len - 6 - name_len));
	if (stmt->session_scan == 2)
		(void) session_check(client, sql, strnlen(sql, stmt->parse_len - 6 - name_len), true, false);
}

bool
session_send_refusal(Client *client)
{
	return client_send_error(client, "0A000", client->session.refusal,
							 "Use the transaction-scoped form (pg_advisory_xact_lock, SET LOCAL, a cursor "
							 "without WITH HOLD, ON COMMIT DROP), add the parameter to "
							 "track_extra_parameters, or use a database in session mode; "
							 "session_state_action = pin keeps the server for the client instead.", false);
}

/* reset_all_extras: RESET ALL / DISCARD ALL succeeded: every extra parameter goes back to its default. */
static void
reset_all_extras(Client *client)
{
	ClientSession *s = &client->session;

	for (int id = PARAM_COUNT; id < params_count(); id++)
		if (add_change(s, id, NULL))
			s->changes[s->n_changes - 1].in_txn = true;
	clear_sets(s);
	s->pending_reset_all = false;
}

/* commit_changes: the transaction ended at 'I': its changes become the client's and the server's. */
static void
commit_changes(Client *client, Server *server, bool rolled_back)
{
	ClientSession *s = &client->session;

	for (int i = 0; i < s->n_changes; i++)
	{
		const SessionChange *c = &s->changes[i];

		if (rolled_back)
			continue;			/* PostgreSQL reverted them: the server is back where it started */
		if (!s->txn_doubt)
		{
			params_set(&client->params, (ParamId) c->id, c->value);
			params_set(&server->params, (ParamId) c->id, c->value);
		}
		else
			params_set(&server->params, (ParamId) c->id, SESSION_VALUE_UNKNOWN);
	}
	drop_changes(s, 0, false);
	s->txn_doubt = false;
}

void
session_ready(Client *client, Server *server, bool error, bool rolled_back)
{
	ClientSession *s = &client->session;
	char		status = server->tx_status;

	if (error)
	{
		drop_changes(s, 0, true);
		s->pending_reset_all = false;
	}
	else
	{
		/* untracked parameters RESET: their names are forgotten now */
		int			kept = 0;

		for (int i = 0; i < s->n_changes; i++)
		{
			SessionChange *c = &s->changes[i];
			int			idx;

			if (c->in_txn || c->id >= 0)
			{
				s->changes[kept++] = *c;
				continue;
			}
			if ((idx = find_set(s, c->value)) >= 0)
			{
				memmove(s->sets[idx], s->sets[s->n_sets - 1], sizeof(s->sets[0]));
				s->n_sets--;
			}
			params_unref(c->value);
		}
		s->n_changes = kept;
		for (int i = 0; i < s->n_changes; i++)
			s->changes[i].in_txn = true;
		if (s->pending_reset_all)
			reset_all_extras(client);
	}
	if (s->n_changes == 0)
		return;
	if (status == 'E' || (status == 'T' && rolled_back))
		s->txn_doubt = true;
	if (status == 'I')
		commit_changes(client, server, rolled_back);
}

/* set_pinned: the client keeps (or gives back) its server connection. */
static void
set_pinned(Client *client, Server *server, bool on)
{
	ClientSession *s = &client->session;

	server->session_pinned = on;
	if (s->pinned == on)
		return;
	s->pinned = on;
	pinned_count += on ? 1 : -1;
	if (on)
		slog_debug(&client->conn, "pinned to its server connection: it holds session state");
	else
		slog_debug(&client->conn, "session state gone: server connection released");
}

/* probe_sql: the probe's query for server (the login user compared as a literal). */
static bool
start_probe(Server *server)
{
	char		user[CF_NAME_MAX * 2 + 3];
	char		sql[1024];
	uint8_t		data[1100];
	PktBuf		pkt;

	if (!proto_quote_literal(server->pool->user, user, sizeof(user)))
		return false;
	snprintf(sql, sizeof(sql),
			 "SELECT (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND "
			 "pid = pg_catalog.pg_backend_pid()), (SELECT count(*) FROM pg_catalog.pg_cursors WHERE "
			 "is_holdable), (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = "
			 "pg_catalog.pg_my_temp_schema()), CASE WHEN current_user = session_user AND "
			 "session_user = %s THEN 0 ELSE 1 END", user);
	pktbuf_init(&pkt, data, sizeof(data));
	proto_build_query(&pkt, sql);
	if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !server_exp_push(server, EXP_QUERY, true, 0) ||
		!conn_flush(&server->conn))
		return false;
	server->session_probe = true;
	conn_set_read(&server->conn, true);
	return true;
}

bool
session_keep_server(Client *client, Server *server)
{
	ClientSession *s = &client->session;
	uint8_t		held;

	if (cf.session_state != SESSION_STATE_PIN)
	{
		/* warn: what the client left goes with DISCARD ALL before anyone else gets the server */
		if (s->maybe_held || s->n_sets > 0)
			server->session_discard = true;
		s->maybe_held = 0;
		s->dirty = false;
		clear_sets(s);
		set_pinned(client, server, false);
		return false;
	}
	if (server->session_probe)
		return true;
	if (s->probe_done && !s->dirty)
		s->maybe_held = s->probe_held;
	else if (s->maybe_held)
	{
		/* until the probe answers, assume everything it looks for is held */
		s->probe_done = false;
		s->probe_held = s->maybe_held;
		s->dirty = false;
		if (start_probe(server))
		{
			set_pinned(client, server, true);	/* it keeps the server until the answer */
			return true;
		}
		slog_warning(&client->conn, "could not send the session state probe: keeping the server");
	}
	s->probe_done = false;
	held = s->maybe_held | (s->n_sets > 0 ? BIT(SK_UNTRACKED_SET) : 0);
	set_pinned(client, server, held != 0);
	return held != 0;
}

bool
session_probe_ended(const Client *client, const Server *server)
{
	return server->session_probe_z;
}

/* column_count: the text value of a DataRow column as a number (>0 = held); -1 when malformed. */
static long
column_count(const uint8_t **p, const uint8_t *end)
{
	uint32_t	len;
	char		text[24];

	if (end - *p < 4)
		return -1;
	len = proto_get_u32(*p);
	*p += 4;
	if (len == UINT32_MAX)
		return 0;				/* NULL */
	if (len >= sizeof(text) || (uint32_t) (end - *p) < len)
		return -1;
	memcpy(text, *p, len);
	text[len] = '\0';
	*p += len;
	return strtol(text, NULL, 10);
}

void
session_probe_row(Server *server, const uint8_t *msg, uint32_t total)
{
	static const SessionKind order[4] = {SK_ADVISORY_LOCK, SK_HOLD_CURSOR, SK_TEMP_TABLE, SK_ROLE};
	const uint8_t *p = msg + 7;
	const uint8_t *end = msg + total;
	Client	   *client = server->client;
	uint8_t		held = 0;

	if (!client || total < 7 || proto_get_u16(msg + 5) != 4)
		return;
	for (int i = 0; i < 4; i++)
	{
		long		n = column_count(&p, end);

		if (n < 0)
			return;				/* malformed: keep assuming everything is held */
		if (n > 0)
			held |= BIT(order[i]);
	}
	client->session.probe_held = held;
}

void
session_probe_finished(Server *server)
{
	server->session_probe = false;
	server->session_probe_z = true;
	if (server->client)
		server->client->session.probe_done = true;
}

void
session_server_reset(Server *server)
{
	for (int id = PARAM_COUNT; id < params_count(); id++)
		params_set(&server->params, (ParamId) id, NULL);
}

void
session_client_free(Client *client)
{
	ClientSession *s = &client->session;

	if (s->pinned)
		pinned_count--;
	drop_changes(s, 0, false);
	clear_sets(s);
	memset(s, 0, sizeof(*s));
}

/*
 * next_option_word: the next whitespace-separated word of a startup "options" value, a backslash
 * taking the next character literally (PostgreSQL's pg_split_opts); false at the end.
 */
static bool
next_option_word(const char **p, char *out, size_t outlen)
{
	size_t		n = 0;

	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
	if (**p == '\0')
		return false;
	while (**p && **p != ' ' && **p != '\t' && **p != '\n' && **p != '\r')
	{
		if (**p == '\\' && (*p)[1])
			(*p)++;
		if (n + 1 < outlen)
			out[n++] = **p;
		(*p)++;
	}
	out[n] = '\0';
	return true;
}

/* PgBouncer's words, which its test suite and users' scripts match */
#define ONLY_C_OPTIONS "unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed"

/* apply_option: one name=value of -c or --; false with err naming it when it cannot be applied. */
static bool
apply_option(Client *client, char *setting, char *err, size_t errlen)
{
	char	   *eq = strchr(setting, '=');
	int			id;

	if (!eq || eq == setting)
		return snprintf(err, errlen, "%s", ONLY_C_OPTIONS), false;
	*eq = '\0';
	for (char *c = setting; *c; c++)
		if (*c == '-')
			*c = '_';			/* as PostgreSQL reads --name=value */
	id = params_lookup(setting);
	if (id < 0 && (config_list_contains_name(cf.ignore_startup_parameters, setting) ||
				   config_list_contains_name(cf.ignore_startup_parameters, "options")))
	{
		slog_debug(&client->conn, "ignoring startup parameter from options: %s (ignore_startup_parameters)",
				   setting);
		return true;
	}
	if (id < 0)
		return snprintf(err, errlen, "unsupported startup parameter in options: %s (the pooler cannot keep it "
						"on every server connection)", setting), false;
	if (id == PARAM_SEARCH_PATH)
	{
		char		sql[1024];

		if (!params_search_path_sql(eq + 1, sql, sizeof(sql)))
			return snprintf(err, errlen, "invalid value for search_path in options: %s", eq + 1), false;
		params_set(&client->params, (ParamId) id, sql);
	}
	else
		params_set(&client->params, (ParamId) id, eq + 1);
	return true;
}

bool
session_startup_options(Client *client, const char *options, char *err, size_t errlen)
{
	const char *p = options;
	char		word[1024] = {0};	/* zeroed for clang-tidy (next_option_word terminates it) */

	while (next_option_word(&p, word, sizeof(word)))
	{
		if (strcmp(word, "-c") == 0)
		{
			if (!next_option_word(&p, word, sizeof(word)))
				return snprintf(err, errlen, "%s", ONLY_C_OPTIONS), false;
			if (!apply_option(client, word, err, errlen))
				return false;
		}
		else if (strncmp(word, "-c", 2) == 0 || strncmp(word, "--", 2) == 0)
		{
			/* -cname=value, --name=value */
			if (!apply_option(client, word + 2, err, errlen))
				return false;
		}
		else
			return snprintf(err, errlen, "%s (not %s)", ONLY_C_OPTIONS, word), false;
	}
	return true;
}

bool
session_startup_param(Client *client, const char *name, char *err, size_t errlen)
{
	/* protocol extensions (libpq's _pq_.*) are not settings: PostgreSQL ignores the ones it lacks too */
	if (strncmp(name, "_pq_.", 5) == 0 || config_list_contains_name(cf.ignore_startup_parameters, name))
	{
		slog_debug(&client->conn, "ignoring startup parameter: %s", name);
		return true;
	}
	snprintf(err, errlen, "unsupported startup parameter: %s", name);	/* PgBouncer's words */
	return false;
}
