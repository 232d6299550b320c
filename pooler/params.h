/*
 * params.h: tracked session parameters. A client keeps the values it has set (in its startup packet, by
 * SET, or as reported to it by ParameterStatus); a server connection keeps the values it runs with.
 * When a client is linked to a server whose values differ, the pooler sends one "SET …" first and
 * swallows its replies, so every client sees its own settings whichever server runs its transaction.
 *
 * Values are interned, reference-counted strings shared by every connection that holds the same value
 * (10,000 clients with client_encoding UTF8 hold one "UTF8").
 */
#ifndef FAREGATE_PARAMS_H
#define FAREGATE_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ParamId
{
	PARAM_CLIENT_ENCODING,
	PARAM_DATESTYLE,
	PARAM_TIMEZONE,
	PARAM_INTERVALSTYLE,
	PARAM_STANDARD_CONFORMING_STRINGS,
	PARAM_APPLICATION_NAME,
	PARAM_SEARCH_PATH,			/* not reported by PostgreSQL 15: tracked from the client's SET */
	PARAM_COUNT
} ParamId;

/*
 * track_extra_parameters (params_track_extras): up to PARAM_EXTRA_MAX more parameters get the ids
 * PARAM_COUNT, PARAM_COUNT + 1, ...: PostgreSQL 15 reports none of them, so they are tracked from the
 * client's SET / RESET / set_config (session.c) and its startup options, and re-applied like search_path.
 */
#define PARAM_EXTRA_MAX 16
#define PARAM_SLOTS (PARAM_COUNT + PARAM_EXTRA_MAX)

/* One connection's values; NULL = the server's default (never explicitly set). */
typedef struct ParamSet
{
	const char *values[PARAM_SLOTS];
} ParamSet;

/* params_count: PARAM_COUNT plus the extra parameters tracked so far (ids below it are valid). */
extern int	params_count(void);

/*
 * params_track_extras: tracks the parameters of list (comma-separated names, as track_extra_parameters
 * gives them) beyond the seven; names already tracked are skipped. Ids never change while the pooler
 * runs: a name removed at RELOAD stays tracked until the restart. False with err set when a name is not
 * a valid parameter name or more than PARAM_EXTRA_MAX would be tracked (nothing is changed then).
 * With apply false it only checks (config_load).
 */
extern bool params_track_extras(const char *list, bool apply, char *err, size_t errlen);

/*
 * params_search_path_sql: a search_path value as the server holds it (a startup option's "a, b") into
 * the SET search_path TO syntax the client's value is kept in; false when it does not parse or fit.
 */
extern bool params_search_path_sql(const char *value, char *out, size_t outlen);

/* params_lookup: the id of a tracked parameter name (case-insensitive), or -1. */
extern int	params_lookup(const char *name);

/* params_name: the canonical spelling of a tracked parameter. */
extern const char *params_name(ParamId id);

/* params_reported: PostgreSQL announces changes of this parameter with ParameterStatus. */
extern bool params_reported(ParamId id);

/* params_intern: a shared copy of value (reference taken); params_unref drops one reference. */
extern const char *params_intern(const char *value);
extern void params_unref(const char *interned);

/* params_set: sets one value (NULL = default), managing references. */
extern void params_set(ParamSet *set, ParamId id, const char *value);

/* params_copy: dst = src, managing references. */
extern void params_copy(ParamSet *dst, const ParamSet *src);

/* params_clear: drops every value. */
extern void params_clear(ParamSet *set);

/*
 * params_build_sync: writes into sql the statements that bring a server running with *server to the
 * client's *client values ("SET x = '…';RESET y;"); returns how many were needed (0: nothing to send),
 * or -1 when sql is too small.
 */
extern int	params_build_sync(const ParamSet *client, const ParamSet *server, char *sql, size_t sqllen);

/* params_parse_set's answer for a SET search_path whose value it cannot read: not tracked. */
#define PARAMS_UNTRACKED (-2)

/*
 * params_parse_set: recognises a simple query that sets or resets an untracked-by-the-server parameter
 * for the session ("SET [SESSION] search_path TO …", "SET search_path = …", "RESET search_path",
 * "RESET ALL", "DISCARD ALL", "SELECT set_config('search_path', '…', false)"), returning its id and the
 * value in SET syntax (empty for a reset) in value. The value is rebuilt from the parsed elements, each
 * double-quoted: the client's text is never kept, so re-applying it runs nothing the client wrote. A SET
 * whose value cannot be parsed returns PARAMS_UNTRACKED; SET LOCAL, set_config(…, true) and anything
 * else return -1. standard_strings: the client's standard_conforming_strings. Whether the setting lasts
 * is decided at the transaction's end (server.c).
 */
extern int	params_parse_set(const char *query, bool standard_strings, char *value, size_t valuelen);

/*
 * params_standard_strings: the standard_conforming_strings a connection with set runs under (on unless
 * set to off): how sqlscan.c must read its strings.
 */
extern bool params_standard_strings(const ParamSet *set);

/* params_interned_count: distinct values held (SHOW LISTS-style accounting). */
extern int	params_interned_count(void);

#endif
