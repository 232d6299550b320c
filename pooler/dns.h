/*
 * dns.h: host names of server connections resolved without blocking the event loop (libevent's evdns),
 * and the cache of their answers that SHOW DNS_HOSTS lists (dns.c; docs/pooler.md "Host names and DNS").
 */
#ifndef FAREGATE_DNS_H
#define FAREGATE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "list.h"

#define DNS_MAX_ADDRS 16

typedef enum DnsStatus
{
	DNS_READY,					/* *addr holds an address */
	DNS_PENDING,				/* a lookup is in flight: ask again later (the pool's janitor does) */
	DNS_FAILED					/* err says why (the failure is cached for dns_nxdomain_ttl) */
} DnsStatus;

/*
 * DnsWait: a caller that wants to hear when a lookup in flight has answered (probes, cancel forwards,
 * libpq connections: whatever has no janitor asking again). Embed it in the owner, dns_wait_init it once;
 * ready(w) is called once per queueing, from the event loop, after the answer (or the failure, or evdns's
 * own timeout from dns_resolv_conf's options) is in the cache: call dns_resolve again there. Every lookup
 * ends in one of those, so a queued wait is always called back.
 */
typedef struct DnsWait
{
	List		node;			/* on its host's waiters while queued */
	void		(*ready) (struct DnsWait *w);
} DnsWait;

void		dns_wait_init(DnsWait *w, void (*ready) (DnsWait *w));

/* dns_wait_cancel: w is no longer queued (call it before freeing w's owner). */
void		dns_wait_cancel(DnsWait *w);

/*
 * dns_resolve: address number pick (modulo the answer's count) of host, port set, into addr/len; *n_addrs
 * the answer's count. A host starting with '/' is a Unix socket directory (its .s.PGSQL.port; an empty
 * host is /var/run/postgresql's), an IP literal is converted at once; a name is answered from the cache
 * while its answer is younger than dns_max_ttl, else looked up (DNS_PENDING until the answer arrives; with
 * w non-NULL, w is queued and told then). The one way every module of the pooler turns a host into an
 * address (docs/architecture.md "Name resolution off the event loop").
 */
DnsStatus	dns_resolve(const char *host, int port, unsigned pick, struct sockaddr_storage *addr, socklen_t *len,
						int *n_addrs, DnsWait *w, char *err, size_t errlen);

/*
 * dns_conninfo_host: for a libpq connection to host, appends to the connection string conninfo (len bytes)
 * host='name,name,...' hostaddr='a,b,...': every address of the name, so libpq tries each in turn with no
 * lookup of its own (PQconnectStart resolves names synchronously), host= staying the name for TLS
 * (verify-full, SNI) and messages; a later key overrides the earlier one in libpq's parser. A Unix socket
 * directory or an IP literal appends nothing. A host list ("a,b", hostlist.c) appends every address of
 * every entry whose lookup succeeded, in the list's order. Statuses and w as dns_resolve's; DNS_FAILED also when the
 * string has no room.
 */
DnsStatus	dns_conninfo_host(const char *host, char *conninfo, size_t len, DnsWait *w, char *err, size_t errlen);

/* dns_forget: host's cached answer is dropped (a connect to it failed), so the next dns_resolve asks again. */
void		dns_forget(const char *host);

/* One cache entry as SHOW DNS_HOSTS shows it. */
typedef struct DnsHostInfo
{
	const char *hostname;
	long		ttl;			/* seconds the answer is still used; 0 = expired, looked up at next use */
	const char *addrs;			/* "a,b,..."; empty for a failed lookup or one in flight */
	const char *status;			/* "ok", "pending" or the failure */
} DnsHostInfo;

/* dns_walk: cb for each cache entry, in the order they were first looked up. */
void		dns_walk(void (*cb) (const DnsHostInfo *info, void *arg), void *arg);

/* dns_counts: cache entries, and lookups in flight (SHOW LISTS' dns_names, dns_queries/dns_pending). */
void		dns_counts(int *names, int *pending);

#endif
