/*
 * prepared.c: owns the pooler-wide statement table (chained hash on the Parse body), the per-client
 * name maps and the per-server id sets (see prepared.h). Allocation happens when a client prepares a
 * statement, never per Bind or Execute. Ids are never reused, so a server's set may keep ids of freed
 * statements: they can never match again; with max_prepared_statements they are the first the LRU
 * evicts (client.c sends the Close), without it they go with the connection (server_lifetime).
 */
#include "prepared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "sqlscan.h"

typedef struct ClientStmtSlot
{
	char	   *name;			/* NULL = empty; TOMBSTONE = deleted */
	PreparedStmt *stmt;
	bool		fresh;			/* its Parse is still on the way to a server */
} ClientStmtSlot;

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

#define STMT_BUCKETS 4096
static PreparedStmt *stmt_buckets[STMT_BUCKETS];
static uint64_t next_id = 1;
static int	n_stmts;
static uint64_t use_clock;		/* ServerStmtSlot.last_use: one tick per use, pooler-wide */

static uint32_t
hash_bytes(const uint8_t *p, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* stmt_get: the statement with this body, created with one reference, or found and referenced. */
static PreparedStmt *
stmt_get(const uint8_t *body, uint32_t body_len)
{
	uint32_t	h = hash_bytes(body, body_len);
	PreparedStmt **bucket = &stmt_buckets[h % STMT_BUCKETS];
	PreparedStmt *stmt;
	PktBuf		pkt;
	size_t		name_len;

	for (stmt = *bucket; stmt; stmt = stmt->hash_next)
		if (stmt->hash == h && stmt->body_len == body_len &&
			memcmp(stmt->parse_msg + stmt->parse_len - body_len, body, body_len) == 0)
		{
			stmt->refs++;
			return stmt;
		}
	stmt = calloc(1, sizeof(PreparedStmt));
	if (!stmt)
		return NULL;
	stmt->id = next_id++;
	stmt->hash = h;
	stmt->refs = 1;
	prepared_server_name(stmt->id, stmt->server_name, sizeof(stmt->server_name));
	name_len = strlen(stmt->server_name) + 1;
	stmt->body_len = body_len;
	stmt->parse_len = (uint32_t) (5 + name_len + body_len);
	stmt->parse_msg = malloc(stmt->parse_len);
	if (!stmt->parse_msg)
	{
		free(stmt);
		return NULL;
	}
	pktbuf_init(&pkt, stmt->parse_msg, stmt->parse_len);
	pkt_begin(&pkt, 'P');
	pkt_put_str(&pkt, stmt->server_name);
	pkt_put_bytes(&pkt, body, body_len);
	pkt_end(&pkt);
	stmt->hash_next = *bucket;
	*bucket = stmt;
	n_stmts++;
	return stmt;
}

static void
stmt_unref(PreparedStmt *stmt)
{
	PreparedStmt **link;

	if (--stmt->refs > 0)
		return;
	for (link = &stmt_buckets[stmt->hash % STMT_BUCKETS]; *link; link = &(*link)->hash_next)
		if (*link == stmt)
		{
			*link = stmt->hash_next;
			break;
		}
	n_stmts--;
	free(stmt->parse_msg);
	free(stmt);
}

/* map_find: the slot holding name, or (insert) the first free slot on its probe path. */
static ClientStmtSlot *
map_find(const ClientStmtMap *map, const char *name, bool for_insert)
{
	uint32_t	mask;
	uint32_t	i;
	ClientStmtSlot *free_slot = NULL;

	if (map->capacity == 0)
		return NULL;
	mask = (uint32_t) map->capacity - 1;
	for (i = hash_bytes((const uint8_t *) name, strlen(name)) & mask;; i = (i + 1) & mask)
	{
		ClientStmtSlot *slot = &map->slots[i];

		if (!slot->name)
			return for_insert ? (free_slot ? free_slot : slot) : NULL;
		if (slot->name == TOMBSTONE)
		{
			if (!free_slot)
				free_slot = slot;
		}
		else if (strcmp(slot->name, name) == 0)
			return slot;
	}
}

static bool
map_grow(ClientStmtMap *map)
{
	ClientStmtMap bigger = {0, map->capacity ? map->capacity * 2 : 8, NULL};

	bigger.slots = calloc((size_t) bigger.capacity, sizeof(ClientStmtSlot));
	if (!bigger.slots)
		return false;
	for (int i = 0; i < map->capacity; i++)
	{
		ClientStmtSlot *slot = &map->slots[i];

		if (slot->name && slot->name != TOMBSTONE)
		{
			*map_find(&bigger, slot->name, true) = *slot;
			bigger.n_used++;
		}
	}
	free(map->slots);
	*map = bigger;
	return true;
}

PreparedStmt *
prepared_client_parse(ClientStmtMap *map, const char *name, const uint8_t *body, uint32_t body_len)
{
	ClientStmtSlot *slot;
	PreparedStmt *stmt;

	/* keep the table under half full, tombstones included */
	if ((map->n_used + 1) * 2 > map->capacity && !map_grow(map))
		return NULL;
	stmt = stmt_get(body, body_len);
	if (!stmt)
		return NULL;
	slot = map_find(map, name, true);
	if (slot->name && slot->name != TOMBSTONE)
	{
		/* callers check for an existing name first; keep the map consistent anyway */
		stmt_unref(slot->stmt);
		slot->stmt = stmt;
		slot->fresh = true;
		return stmt;
	}
	slot->name = strdup(name);
	if (!slot->name)
	{
		slot->name = NULL;
		stmt_unref(stmt);
		return NULL;
	}
	slot->stmt = stmt;
	slot->fresh = true;
	map->n_used++;
	return stmt;
}

bool
prepared_validated(const uint8_t *body, uint32_t body_len)
{
	uint32_t	h = hash_bytes(body, body_len);

	for (PreparedStmt *stmt = stmt_buckets[h % STMT_BUCKETS]; stmt; stmt = stmt->hash_next)
		if (stmt->hash == h && stmt->body_len == body_len &&
			memcmp(stmt->parse_msg + stmt->parse_len - body_len, body, body_len) == 0)
			return stmt->validated;
	return false;
}

void
prepared_client_confirm(ClientStmtMap *map, uint64_t id)
{
	for (int i = 0; i < map->capacity; i++)
	{
		ClientStmtSlot *slot = &map->slots[i];

		if (slot->name && slot->name != TOMBSTONE && slot->stmt->id == id)
		{
			slot->stmt->validated = true;
			slot->fresh = false;
		}
	}
}

void
prepared_client_failed(ClientStmtMap *map, uint64_t id)
{
	for (int i = 0; i < map->capacity; i++)
	{
		ClientStmtSlot *slot = &map->slots[i];

		if (slot->name && slot->name != TOMBSTONE && slot->fresh && slot->stmt->id == id)
		{
			stmt_unref(slot->stmt);
			free(slot->name);
			slot->name = TOMBSTONE;
			slot->stmt = NULL;
		}
	}
}

PreparedStmt *
prepared_client_lookup(const ClientStmtMap *map, const char *name)
{
	ClientStmtSlot *slot = map_find(map, name, false);

	return slot ? slot->stmt : NULL;
}

void
prepared_client_close(ClientStmtMap *map, const char *name)
{
	ClientStmtSlot *slot = map_find(map, name, false);

	if (!slot)
		return;
	stmt_unref(slot->stmt);
	free(slot->name);
	slot->name = TOMBSTONE;
	slot->stmt = NULL;
	/* n_used still counts the tombstone until the next grow, which keeps probing bounded */
}

void
prepared_client_free(ClientStmtMap *map)
{
	for (int i = 0; i < map->capacity; i++)
	{
		ClientStmtSlot *slot = &map->slots[i];

		if (slot->name && slot->name != TOMBSTONE)
		{
			stmt_unref(slot->stmt);
			free(slot->name);
		}
	}
	free(map->slots);
	map->slots = NULL;
	map->capacity = map->n_used = 0;
}

static ServerStmtSlot *
set_find(const ServerStmtSet *set, uint64_t id)
{
	uint32_t	mask = (uint32_t) set->capacity - 1;

	for (uint32_t i = (uint32_t) (id * 0x9E3779B97F4A7C15ull >> 32) & mask;; i = (i + 1) & mask)
		if (set->slots[i].id == id || set->slots[i].id == 0)
			return &set->slots[i];
}

bool
prepared_server_has(const ServerStmtSet *set, uint64_t id)
{
	return set->capacity > 0 && set_find(set, id)->id == id;
}

void
prepared_server_touch(ServerStmtSet *set, uint64_t id)
{
	ServerStmtSlot *slot;

	if (set->capacity > 0 && (slot = set_find(set, id))->id == id)
		slot->last_use = ++use_clock;
}

bool
prepared_server_lru(const ServerStmtSet *set, uint64_t *id)
{
	const ServerStmtSlot *oldest = NULL;

	for (int i = 0; i < set->capacity; i++)
		if (set->slots[i].id && (!oldest || set->slots[i].last_use < oldest->last_use))
			oldest = &set->slots[i];
	if (oldest)
		*id = oldest->id;
	return oldest != NULL;
}

bool
prepared_server_add(ServerStmtSet *set, uint64_t id)
{
	ServerStmtSlot *slot;

	if ((set->n_used + 1) * 2 > set->capacity)
	{
		ServerStmtSet bigger = {0, set->capacity ? set->capacity * 2 : 16, NULL};

		bigger.slots = calloc((size_t) bigger.capacity, sizeof(ServerStmtSlot));
		if (!bigger.slots)
			return false;
		for (int i = 0; i < set->capacity; i++)
			if (set->slots[i].id)
			{
				*set_find(&bigger, set->slots[i].id) = set->slots[i];
				bigger.n_used++;
			}
		free(set->slots);
		*set = bigger;
	}
	slot = set_find(set, id);
	if (slot->id != id)
	{
		slot->id = id;
		set->n_used++;
	}
	slot->last_use = ++use_clock;
	return true;
}

void
prepared_server_remove(ServerStmtSet *set, uint64_t id)
{
	ServerStmtSlot *slot;
	uint32_t	mask;
	uint32_t	i;

	if (set->capacity == 0 || (slot = set_find(set, id))->id != id)
		return;
	/* backward-shift deletion keeps linear probing correct without tombstones: rebuild the run */
	slot->id = 0;
	set->n_used--;
	mask = (uint32_t) set->capacity - 1;
	for (i = ((uint32_t) (slot - set->slots) + 1) & mask; set->slots[i].id; i = (i + 1) & mask)
	{
		ServerStmtSlot moved = set->slots[i];

		set->slots[i].id = 0;
		*set_find(set, moved.id) = moved;
	}
}

void
prepared_server_free(ServerStmtSet *set)
{
	free(set->slots);
	set->slots = NULL;
	set->capacity = set->n_used = 0;
}

void
prepared_server_name(uint64_t id, char *name, size_t namelen)
{
	snprintf(name, namelen, "fg_%llu", (unsigned long long) id);
}

int
prepared_total(void)
{
	return n_stmts;
}

int
prepared_parse_deallocate(const char *query, char *name, size_t namelen)
{
	SqlScanner	sc;
	SqlToken	tok;
	int			kind = PREPARED_DEALLOC_NAME;
	char		folded[SQLSCAN_NAME_MAX + 1];

	/* standard_conforming_strings does not matter: any string in the text makes it not ours */
	sqlscan_init(&sc, query, strlen(query), true);
	sqlscan_next(&sc, &tok);
	if (!sqlscan_is_word(&tok, "deallocate") || namelen == 0)
		return PREPARED_DEALLOC_NONE;
	sqlscan_next(&sc, &tok);
	if (sqlscan_is_word(&tok, "prepare"))
		sqlscan_next(&sc, &tok);
	if (sqlscan_is_word(&tok, "all"))
		kind = PREPARED_DEALLOC_ALL;
	else if (tok.kind != SQLTOK_IDENT && (tok.kind != SQLTOK_QIDENT || (tok.flags & SQLTOK_F_UNICODE)))
		return PREPARED_DEALLOC_NONE;
	/* the name as the server reads it: folded, cut to 63 bytes */
	sqlscan_name(&tok, folded);
	sqlscan_next(&sc, &tok);
	if (tok.kind == SQLTOK_SEMI)
		sqlscan_next(&sc, &tok);
	if (tok.kind != SQLTOK_EOF)
		return PREPARED_DEALLOC_NONE;	/* more statements follow: the server runs them all */
	if (kind == PREPARED_DEALLOC_NAME)
	{
		if (strlen(folded) >= namelen)
			return PREPARED_DEALLOC_NONE;
		memcpy(name, folded, strlen(folded) + 1);
	}
	return kind;
}
