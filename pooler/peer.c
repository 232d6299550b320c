/*
 * peer.c: owns cancel forwarding between the processes of a so_reuseport group (see peer.h). The
 * kernel spreads connections over the processes, so a client's CancelRequest (a new connection) often
 * reaches a process that does not have the client: that process reads the owner's peer_id from the
 * cancel pid and sends the request on over a one-shot connection, marked (bit 31) so that it is never
 * forwarded twice. The peer table is the configuration's [peers]; counters live here. A peer's host
 * name is resolved by dns.c, never blocking: a forward waits for the lookup (DnsWait) and connects then.
 */
#include "peer.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "dns.h"
#include "log.h"
#include "proto.h"

#define PEER_FORWARDED 0x80000000u
#define PEER_ID_SHIFT 16
#define PEER_ID_MASK 0x3fffu
#define PEER_CONNECT_TIMEOUT_SEC 5

/* counters per [peers] entry, matched by peer_id (they survive a RELOAD that keeps the id) */
static Peer peers[CF_MAX_PEERS];
static int	n_peers;

/* sync_peers: peers[] from cf.peers, keeping the counters of ids still there. */
static void
sync_peers(void)
{
	Peer		fresh[CF_MAX_PEERS];

	memset(fresh, 0, sizeof(fresh));
	for (int i = 0; i < cf.n_peers; i++)
	{
		for (int j = 0; j < n_peers; j++)
			if (peers[j].id == cf.peers[i].id)
				fresh[i] = peers[j];
		fresh[i].id = cf.peers[i].id;
		snprintf(fresh[i].host, sizeof(fresh[i].host), "%s", cf.peers[i].host);
		fresh[i].port = cf.peers[i].port;
		fresh[i].pool_size = cf.peers[i].pool_size >= 0 ? cf.peers[i].pool_size : cf.default_pool_size;
	}
	memcpy(peers, fresh, sizeof(Peer) * (size_t) cf.n_peers);
	n_peers = cf.n_peers;
}

int
peer_count(void)
{
	sync_peers();
	return n_peers;
}

const Peer *
peer_at(int i)
{
	return &peers[i];
}

uint32_t
peer_tag_pid(uint32_t random_pid)
{
	if (cf.peer_id == 0)
		return random_pid & ~PEER_FORWARDED;
	return ((uint32_t) cf.peer_id << PEER_ID_SHIFT) | (random_pid & 0xffffu);
}

uint32_t
peer_local_pid(uint32_t pid, bool *forwarded)
{
	*forwarded = (pid & PEER_FORWARDED) != 0;
	return pid & ~PEER_FORWARDED;
}

/* A cancel request on its way to a peer. */
typedef struct Forward
{
	int			peer_id;
	int			fd;
	char		host[CF_HOST_MAX];	/* the peer's, copied: a RELOAD may change [peers] meanwhile */
	int			port;
	DnsWait		wait;			/* while the host name is looked up */
	uint8_t		packet[16];
} Forward;

static Peer *
find_peer(int id)
{
	sync_peers();
	for (int i = 0; i < n_peers; i++)
		if (peers[i].id == id)
			return &peers[i];
	return NULL;
}

static void
forward_cb(evutil_socket_t fd, short what, void *arg)
{
	Forward    *fw = arg;
	Peer	   *peer = find_peer(fw->peer_id);

	if (peer && peer->n_connecting > 0)
		peer->n_connecting--;
	if (what & EV_TIMEOUT)
		log_warning("cancel request for peer %d not sent: connecting timed out", fw->peer_id);
	else if (send(fd, fw->packet, sizeof(fw->packet), MSG_NOSIGNAL) != (ssize_t) sizeof(fw->packet))
		log_warning("cancel request for peer %d not sent: %s", fw->peer_id, strerror(errno));
	else
	{
		if (peer)
			peer->n_sent++;
		log_debug("cancel request forwarded to peer %d", fw->peer_id);
	}
	/* the peer closes its end once it has handled the request; we need no answer */
	close(fd);
	free(fw);
}

/*
 * forward_send: connects to fw's peer (TCP to its host, resolved by dns.c, or its Unix socket directory)
 * and sends the packet once the socket is writable. False when that failed at once (fw is freed then);
 * true when the request is on its way, or waits for its host name (forward_resolved goes on).
 */
static bool
forward_send(Forward *fw)
{
	struct timeval tv = {PEER_CONNECT_TIMEOUT_SEC, 0};
	struct sockaddr_storage addr;
	socklen_t	addr_len;
	int			n_addrs;
	char		err[256];
	Peer	   *peer;

	switch (dns_resolve(fw->host, fw->port, 0, &addr, &addr_len, &n_addrs, &fw->wait, err, sizeof(err)))
	{
		case DNS_READY:
			break;
		case DNS_PENDING:
			return true;
		case DNS_FAILED:
			log_warning("cancel request for peer %d not sent: %s", fw->peer_id, err);
			free(fw);
			return false;
	}
	fw->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fw->fd >= 0 && connect(fw->fd, (struct sockaddr *) &addr, addr_len) < 0 && errno != EINPROGRESS &&
		errno != EAGAIN)
	{
		close(fw->fd);
		fw->fd = -1;
	}
	if (fw->fd < 0)
	{
		log_warning("cancel request for peer %d not sent: cannot connect to %s:%d", fw->peer_id, fw->host,
					fw->port);
		free(fw);
		return false;
	}
	if (event_base_once(conn_base, fw->fd, EV_WRITE, forward_cb, fw, &tv) != 0)
	{
		close(fw->fd);
		free(fw);
		return false;
	}
	if ((peer = find_peer(fw->peer_id)) != NULL)
		peer->n_connecting++;
	return true;
}

/* forward_resolved: the peer's host name has an answer (or a failure): the forward goes on. */
static void
forward_resolved(DnsWait *w)
{
	forward_send(container_of(w, Forward, wait));
}

bool
peer_forward_cancel(uint32_t pid, uint32_t key)
{
	int			owner = (int) ((pid >> PEER_ID_SHIFT) & PEER_ID_MASK);
	Peer	   *peer;
	Forward    *fw;
	PktBuf		pkt;

	if ((pid & PEER_FORWARDED) || owner == 0 || owner == cf.peer_id || !(peer = find_peer(owner)))
		return false;
	fw = calloc(1, sizeof(Forward));
	if (!fw)
		return false;
	fw->peer_id = owner;
	fw->fd = -1;
	snprintf(fw->host, sizeof(fw->host), "%s", peer->host);
	fw->port = peer->port;
	dns_wait_init(&fw->wait, forward_resolved);
	pktbuf_init(&pkt, fw->packet, sizeof(fw->packet));
	proto_build_cancel(&pkt, pid | PEER_FORWARDED, key);
	return forward_send(fw);
}
