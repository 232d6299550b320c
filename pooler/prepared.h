/*
 * prepared.h: named prepared statements in transaction mode. A client's statement names map to
 * pooler-wide statements, deduplicated by their Parse body (query text and parameter types) and known
 * to servers as "fg_<id>". Each server connection remembers which ids it has prepared; before a
 * client's Bind or Describe reaches a server that lacks the statement, the pooler injects the Parse
 * (its ParseComplete is swallowed), and a client's Parse of a statement the server already has is not
 * sent at all (the pooler answers ParseComplete itself, in order). A client's Close of a statement only
 * drops its name: the server keeps the statement for other clients.
 */
#ifndef FAREGATE_PREPARED_H
#define FAREGATE_PREPARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREPARED_NAME_MAX 24

/* A pooler-wide statement; freed when no client name refers to it any more. */
typedef struct PreparedStmt
{
	struct PreparedStmt *hash_next;
	uint64_t	id;
	uint32_t	hash;
	int			refs;			/* client names pointing here */
	bool		validated;		/* a server answered its Parse with ParseComplete */
	uint8_t		session_scan;	/* session.c: 0 not scanned yet, 1 no session state, 2 some */
	char		server_name[PREPARED_NAME_MAX];	/* "fg_<id>" */
	uint32_t	body_len;		/* Parse body after the statement name */
	uint32_t	parse_len;		/* the whole Parse message as sent to servers */
	uint8_t    *parse_msg;		/* 'P', length, server_name, body */
} PreparedStmt;

/* A client's names: open-addressing table of (name, statement). */
typedef struct ClientStmtMap
{
	int			n_used;
	int			capacity;		/* power of two, 0 = nothing allocated */
	struct ClientStmtSlot *slots;
} ClientStmtMap;

/* One statement a server has, with when it was last used (prepared_server_touch's clock). */
typedef struct ServerStmtSlot
{
	uint64_t	id;				/* 0 = empty slot */
	uint64_t	last_use;
} ServerStmtSlot;

/* A server's prepared ids: open-addressing set, with use times for max_prepared_statements' LRU. */
typedef struct ServerStmtSet
{
	int			n_used;
	int			capacity;
	ServerStmtSlot *slots;
} ServerStmtSet;

/*
 * prepared_client_parse: the client prepared name with the Parse body (body_len bytes after the name).
 * The name must not exist yet (the caller answers 42P05 "already exists" as PostgreSQL does). Returns the
 * statement (the name is "fresh" until prepared_client_confirm or _failed), or NULL without memory.
 */
extern PreparedStmt *prepared_client_parse(ClientStmtMap *map, const char *name, const uint8_t *body,
										   uint32_t body_len);

/*
 * prepared_validated: a statement with this Parse body exists and a server has accepted it: a client's
 * Parse of it can be answered by the pooler alone (it cannot fail at Parse). A body never prepared must
 * reach a server, so that a syntax error is reported at the Parse as PostgreSQL does.
 */
extern bool prepared_validated(const uint8_t *body, uint32_t body_len);

/* prepared_client_confirm: the server accepted the client's Parse of statement id (name no longer fresh). */
extern void prepared_client_confirm(ClientStmtMap *map, uint64_t id);

/* prepared_client_failed: the server rejected the client's Parse of id: its fresh names are dropped. */
extern void prepared_client_failed(ClientStmtMap *map, uint64_t id);

/* prepared_client_lookup: the statement a client name refers to, or NULL. */
extern PreparedStmt *prepared_client_lookup(const ClientStmtMap *map, const char *name);

/* prepared_client_close: drops the client's name (a Close of a statement). */
extern void prepared_client_close(ClientStmtMap *map, const char *name);

/* prepared_client_free: drops every name (client gone, or DISCARD ALL / DEALLOCATE ALL). */
extern void prepared_client_free(ClientStmtMap *map);

/* prepared_client_count: names the client holds. */
static inline int
prepared_client_count(const ClientStmtMap *map)
{
	return map->n_used;
}

/*
 * prepared_server_has, _add, _remove, _free: the set of statements a server connection has. _add and
 * prepared_server_touch mark the statement as used now; prepared_server_lru gives the one unused for
 * longest (false when the set is empty), which max_prepared_statements evicts.
 */
extern bool prepared_server_has(const ServerStmtSet *set, uint64_t id);
extern void prepared_server_touch(ServerStmtSet *set, uint64_t id);
extern bool prepared_server_lru(const ServerStmtSet *set, uint64_t *id);
__attribute__((warn_unused_result))
extern bool prepared_server_add(ServerStmtSet *set, uint64_t id);
extern void prepared_server_remove(ServerStmtSet *set, uint64_t id);
extern void prepared_server_free(ServerStmtSet *set);

/*
 * prepared_parse_deallocate: recognises a simple query that is one SQL "DEALLOCATE [PREPARE] name" or
 * "DEALLOCATE [PREPARE] ALL" (comments, a trailing ';' allowed). Returns PREPARED_DEALLOC_NAME with the
 * name (folded to lower case unless double-quoted) in name, PREPARED_DEALLOC_ALL, or PREPARED_DEALLOC_NONE.
 */
#define PREPARED_DEALLOC_NONE 0
#define PREPARED_DEALLOC_NAME 1
#define PREPARED_DEALLOC_ALL 2
extern int	prepared_parse_deallocate(const char *query, char *name, size_t namelen);

/* prepared_server_name: the name statement id has on servers ("fg_<id>"), also once it is freed. */
extern void prepared_server_name(uint64_t id, char *name, size_t namelen);

/* prepared_total: pooler-wide statements alive. */
extern int	prepared_total(void);

#endif
