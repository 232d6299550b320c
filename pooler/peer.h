/*
 * peer.h: the other faregate-pooler (or PgBouncer) processes of a so_reuseport group ([peers] and
 * peer_id): the cancel key of every client encodes this process's peer_id, and a CancelRequest that
 * reaches the wrong process is forwarded to the one that owns the client.
 */
#ifndef FAREGATE_PEER_H
#define FAREGATE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

typedef struct Peer
{
	int			id;				/* its peer_id */
	char		host[CF_HOST_MAX];	/* address, name, or a Unix socket directory (starts with '/') */
	int			port;
	int			pool_size;		/* PgBouncer's per-peer cancel connection limit; shown, not enforced */
	int			n_connecting;	/* forwarded cancels still connecting (SHOW PEER_POOLS) */
	int			n_sent;			/* … connected, being sent */
} Peer;

/* peer_count, peer_at: the [peers] entries of the configuration in force. */
extern int	peer_count(void);
extern const Peer *peer_at(int i);

/*
 * peer_tag_pid: the pid half of a new client's cancel key, from a random one: with peer_id set, bits
 * 16-29 hold it (the key half stays 32 random bits); bit 31 is clear (it marks a forwarded request).
 */
extern uint32_t peer_tag_pid(uint32_t random_pid);

/*
 * peer_local_pid: the pid a received CancelRequest names, without the "forwarded" mark; *forwarded
 * says whether another process sent it (such a request is never forwarded again).
 */
extern uint32_t peer_local_pid(uint32_t pid, bool *forwarded);

/*
 * peer_forward_cancel: a CancelRequest whose client is not here: sends it to the peer its pid names.
 * False when it names this process, no known peer, was forwarded already, or cannot be sent (logged);
 * true once it is on its way (a peer host name is looked up first, without blocking: dns.c).
 */
extern bool peer_forward_cancel(uint32_t pid, uint32_t key);

#endif
