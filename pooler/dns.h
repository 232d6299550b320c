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

#define DNS_MAX_ADDRS 16

typedef enum DnsStatus
{
	DNS_READY,					/* *addr holds an address */
	DNS_PENDING,				/* a lookup is in flight: ask again later (the pool's janitor does) */
	DNS_FAILED					/* err says why (the failure is cached for dns_nxdomain_ttl) */
} DnsStatus;

/*
 * dns_resolve: address number pick (modulo the answer's count) of host, port set, into addr/len; *n_addrs
 * the answer's count. An IP literal is converted at once; a name is answered from the cache while its
 * answer is younger than dns_max_ttl, else looked up (DNS_PENDING until the answer arrives).
 */
DnsStatus	dns_resolve(const char *host, int port, unsigned pick, struct sockaddr_storage *addr, socklen_t *len,
						int *n_addrs, char *err, size_t errlen);

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
