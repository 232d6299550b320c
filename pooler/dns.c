/*
 * dns.c: owns the resolution of server host names (see dns.h): one evdns resolver on the pooler's event
 * loop, created at the first name to look up (after daemonizing), configured from dns_resolv_conf
 * (nameservers, search, options; /etc/hosts too), and the cache of answers.
 *
 * Cache: one entry per host name ever asked for, in the order of the first question. An answer
 * (every IPv4 and IPv6 address of the name, in the resolver's order, at most DNS_MAX_ADDRS) is used for
 * dns_max_ttl, a failure for dns_nxdomain_ttl; after that the next question starts a new lookup and
 * waits for it, so a name that moved (a failover that repoints DNS) is followed within dns_max_ttl.
 * The DNS record's own TTL is not used (evdns's getaddrinfo does not report it), as in PgBouncer.
 * A lookup in flight is shared by every caller; nothing here blocks. Callers with no janitor to ask
 * again queue a DnsWait on the entry and are called back from answered().
 *
 * Why evdns and not getaddrinfo_a: evdns runs on the event loop the pooler already has (no thread, no
 * signal, no hand-over of answers from another thread), is part of the libevent the pooler links, and
 * sits idle holding no event (EVDNS_BASE_DISABLE_WHEN_INACTIVE). Its limit: it reads resolv.conf and /etc/hosts itself, not nsswitch.conf, so
 * names from other NSS sources (LDAP, mDNS, systemd-resolved's NSS module without a stub listener) are not
 * found; docs/pooler.md says so.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "conn.h"
#include "conninfo.h"
#include "hostlist.h"
#include "list.h"
#include "log.h"

typedef struct DnsHost
{
	List		node;			/* on dns_hosts */
	char		name[CF_HOST_MAX];
	int			n_addrs;		/* of the last answer; 0 after a failure */
	struct sockaddr_storage addrs[DNS_MAX_ADDRS];	/* port 0: dns_resolve sets the caller's */
	socklen_t	lens[DNS_MAX_ADDRS];
	uint64_t	expires_us;		/* the answer (or failure) is used until then; 0 = never answered */
	char		error[160];		/* the last failure; empty after a good answer */
	struct evdns_getaddrinfo_request *req;	/* the lookup in flight, NULL when none (or answered at once) */
	bool		pending;
	bool		delivering;		/* answered() is calling the waiters: the answer is fresh even at ttl 0 */
	List		waiters;		/* DnsWait.node of callers told when the lookup in flight answers */
} DnsHost;

static struct evdns_base *dns_base;
static List dns_hosts = {&dns_hosts, &dns_hosts};

/* base: the resolver, made on first use from dns_resolv_conf. */
static struct evdns_base *
base(void)
{
	int			rc;

	if (dns_base)
		return dns_base;
	/* DISABLE_WHEN_INACTIVE: an idle resolver holds no event, so it never keeps the loop alive */
	dns_base = evdns_base_new(conn_base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!dns_base)
		return NULL;
	rc = evdns_base_resolv_conf_parse(dns_base, DNS_OPTIONS_ALL, cf.dns_resolv_conf);
	if (rc != 0)
	{
		/* evdns falls back to nameserver 127.0.0.1; the hosts file is read on its own */
		log_warning("DNS: cannot use %s (evdns error %d); asking the nameserver on 127.0.0.1 and /etc/hosts",
					cf.dns_resolv_conf, rc);
		evdns_base_load_hosts(dns_base, NULL);
	}
	return dns_base;
}

static DnsHost *
find_host(const char *name)
{
	for (List *it = dns_hosts.next; it != &dns_hosts; it = it->next)
	{
		DnsHost    *h = container_of(it, DnsHost, node);

		if (strcmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

/* tell_waiters: every DnsWait queued on h is taken off and called (one may queue itself or others again). */
static void
tell_waiters(DnsHost *h)
{
	List		batch;

	if (list_empty(&h->waiters))
		return;
	list_init(&batch);
	/* move the queue to batch, so a waiter that queues itself again waits for the next answer */
	batch.next = h->waiters.next;
	batch.prev = h->waiters.prev;
	batch.next->prev = batch.prev->next = &batch;
	list_init(&h->waiters);
	h->delivering = true;
	while (!list_empty(&batch))
	{
		DnsWait    *w = container_of(list_first(&batch), DnsWait, node);

		list_del(&w->node);
		w->ready(w);
	}
	h->delivering = false;
}

/* answered: evdns's callback; the entry takes the answer, or the failure, and its waiters are told. */
static void
answered(int result, struct evutil_addrinfo *res, void *arg)
{
	DnsHost    *h = arg;
	uint64_t	now = conn_now_usec();

	h->req = NULL;
	h->pending = false;
	h->n_addrs = 0;
	for (struct evutil_addrinfo *ai = res; result == 0 && ai && h->n_addrs < DNS_MAX_ADDRS; ai = ai->ai_next)
	{
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(h->addrs[0]))
			continue;
		memcpy(&h->addrs[h->n_addrs], ai->ai_addr, ai->ai_addrlen);
		h->lens[h->n_addrs] = (socklen_t) ai->ai_addrlen;
		h->n_addrs++;
	}
	if (res)
		evutil_freeaddrinfo(res);
	if (h->n_addrs > 0)
	{
		h->error[0] = '\0';
		h->expires_us = now + (uint64_t) cf.dns_max_ttl_ms * 1000;
		log_debug("DNS: %s has %d address(es)", h->name, h->n_addrs);
	}
	else
	{
		snprintf(h->error, sizeof(h->error), "%s", result ? evutil_gai_strerror(result) :
				 "no IPv4 or IPv6 address");
		h->expires_us = now + (uint64_t) cf.dns_nxdomain_ttl_ms * 1000;
		log_warning("DNS: could not resolve \"%s\": %s", h->name, h->error);
	}
	tell_waiters(h);
}

/* start_lookup: a new lookup of h->name; false when the resolver cannot be made. */
static bool
start_lookup(DnsHost *h)
{
	struct evutil_addrinfo hints;
	struct evdns_base *b = base();
	struct evdns_getaddrinfo_request *req;

	if (!b)
		return false;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	h->pending = true;
	req = evdns_getaddrinfo(b, h->name, NULL, &hints, answered, h);
	if (h->pending)				/* else answered already (hosts file, an error at once) */
		h->req = req;
	return true;
}

static void
set_port(struct sockaddr_storage *addr, int port)
{
	if (addr->ss_family == AF_INET)
		((struct sockaddr_in *) addr)->sin_port = htons((uint16_t) port);
	else
		((struct sockaddr_in6 *) addr)->sin6_port = htons((uint16_t) port);
}

/* literal: host as an IPv4 or IPv6 address, no lookup needed. */
static bool
literal(const char *host, struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *) addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) addr;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1)
	{
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)
	{
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
		return true;
	}
	return false;
}

void
dns_wait_init(DnsWait *w, void (*ready) (DnsWait *w))
{
	list_init(&w->node);
	w->ready = ready;
}

void
dns_wait_cancel(DnsWait *w)
{
	list_del(&w->node);
}

/* unix_socket: host (a directory, or empty for the default one) as the path of PostgreSQL's socket. */
static void
unix_socket(const char *host, int port, struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *) addr;

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%d", host[0] ? host : "/var/run/postgresql", port);
	*len = sizeof(*un);
}

/* lookup: host's cache entry, answered or not (a lookup started when it is stale); NULL with err set. */
static DnsHost *
lookup(const char *host, char *err, size_t errlen)
{
	DnsHost    *h = find_host(host);

	if (!h)
	{
		h = calloc(1, sizeof(*h));
		if (!h)
			return snprintf(err, errlen, "could not resolve \"%s\": out of memory", host), NULL;
		snprintf(h->name, sizeof(h->name), "%s", host);
		list_init(&h->waiters);
		list_append(&dns_hosts, &h->node);
	}
	if (!h->pending && !h->delivering && conn_now_usec() >= h->expires_us && !start_lookup(h))
		return snprintf(err, errlen, "could not resolve \"%s\": cannot start the DNS resolver", host), NULL;
	return h;
}

DnsStatus
dns_resolve(const char *host, int port, unsigned pick, struct sockaddr_storage *addr, socklen_t *len,
			int *n_addrs, DnsWait *w, char *err, size_t errlen)
{
	DnsHost    *h;

	*n_addrs = 1;
	if (host[0] == '/' || host[0] == '\0')
	{
		unix_socket(host, port, addr, len);
		return DNS_READY;
	}
	if (literal(host, addr, len))
	{
		set_port(addr, port);
		return DNS_READY;
	}
	if (!(h = lookup(host, err, errlen)))
		return DNS_FAILED;
	if (h->pending)
	{
		if (w && list_empty(&w->node))
			list_append(&h->waiters, &w->node);
		return DNS_PENDING;
	}
	if (h->n_addrs == 0)
		return snprintf(err, errlen, "could not resolve \"%s\": %s", host, h->error), DNS_FAILED;
	*n_addrs = h->n_addrs;
	pick %= (unsigned) h->n_addrs;
	memcpy(addr, &h->addrs[pick], h->lens[pick]);
	*len = h->lens[pick];
	set_port(addr, port);
	return DNS_READY;
}

/* addr_text: the numeric form of addr (IPv4 or IPv6) into out. */
static void
addr_text(const struct sockaddr_storage *addr, char *out, size_t outlen)
{
	const void *raw = addr->ss_family == AF_INET ?
		(const void *) &((const struct sockaddr_in *) addr)->sin_addr :
		(const void *) &((const struct sockaddr_in6 *) addr)->sin6_addr;

	if (!inet_ntop(addr->ss_family, raw, out, (socklen_t) outlen))
		snprintf(out, outlen, "?");
}

/*
 * conninfo_host_list: dns_conninfo_host for a host list (host=a,b, hostlist.c): every address of every
 * entry, in order, host= repeating each name once per address; a Unix socket directory keeps an empty
 * hostaddr item (libpq then uses host=), an IP literal is its own hostaddr. An entry whose lookup failed
 * is left out while another is usable; DNS_PENDING while any lookup is in flight.
 */
static DnsStatus
conninfo_host_list(const char *list, char *conninfo, size_t len, DnsWait *w, char *err, size_t errlen)
{
	char		hosts[CF_STR_MAX * 4] = "";
	char		addrs[HOSTLIST_MAX * DNS_MAX_ADDRS * (INET6_ADDRSTRLEN + 1)] = "";
	size_t		hused = 0;
	size_t		aused = 0;
	int			usable = 0;
	size_t		before = strlen(conninfo);

	for (int i = 0; i < hostlist_count(list); i++)
	{
		char		entry[CF_HOST_MAX];
		struct sockaddr_storage addr;
		socklen_t	addr_len;
		int			n_addrs;
		DnsStatus	st;
		DnsHost    *h;

		if (!hostlist_entry(list, i, entry, sizeof(entry)))
			continue;
		st = dns_resolve(entry, 0, 0, &addr, &addr_len, &n_addrs, w, err, errlen);
		if (st == DNS_PENDING)
			return st;
		if (st == DNS_FAILED)
			continue;
		h = entry[0] == '/' || entry[0] == '\0' || literal(entry, &addr, &addr_len) ? NULL : find_host(entry);
		for (int a = 0; a < (h ? h->n_addrs : 1) && hused < sizeof(hosts) && aused < sizeof(addrs); a++)
		{
			char		text[INET6_ADDRSTRLEN] = "";

			if (h)
				addr_text(&h->addrs[a], text, sizeof(text));
			else if (entry[0] != '/' && entry[0] != '\0')
				snprintf(text, sizeof(text), "%s", entry);
			hused += (size_t) snprintf(hosts + hused, sizeof(hosts) - hused, "%s%s", usable ? "," : "", entry);
			aused += (size_t) snprintf(addrs + aused, sizeof(addrs) - aused, "%s%s", usable ? "," : "", text);
			usable++;
		}
	}
	if (usable == 0)
		return DNS_FAILED;		/* err: the last entry's failure */
	if (hused < sizeof(hosts) && aused < sizeof(addrs) && conninfo_append(conninfo, len, "host", hosts) &&
		conninfo_append(conninfo, len, "hostaddr", addrs))
		return DNS_READY;
	conninfo[before] = '\0';
	snprintf(err, errlen, "the connection string for the host list \"%s\" has no room for its addresses", list);
	return DNS_FAILED;
}

DnsStatus
dns_conninfo_host(const char *host, char *conninfo, size_t len, DnsWait *w, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t	addr_len;
	int			n_addrs;
	DnsStatus	st;
	DnsHost    *h;

	if (hostlist_is_list(host))
		return conninfo_host_list(host, conninfo, len, w, err, errlen);
	st = dns_resolve(host, 0, 0, &addr, &addr_len, &n_addrs, w, err, errlen);
	if (st != DNS_READY || host[0] == '/' || host[0] == '\0' || literal(host, &addr, &addr_len))
		return st;
	h = find_host(host);
	/* as many of the addresses as fit, in the answer's order (libpq tries them so) */
	for (int n = h ? h->n_addrs : 0; n > 0; n--)
	{
		char		hosts[CF_STR_MAX * 4] = "";
		char		addrs[DNS_MAX_ADDRS * (INET6_ADDRSTRLEN + 1)] = "";
		size_t		hused = 0;
		size_t		aused = 0;

		for (int i = 0; i < n && hused < sizeof(hosts) && aused < sizeof(addrs); i++)
		{
			char		text[INET6_ADDRSTRLEN];

			addr_text(&h->addrs[i], text, sizeof(text));
			hused += (size_t) snprintf(hosts + hused, sizeof(hosts) - hused, "%s%s", i ? "," : "", host);
			aused += (size_t) snprintf(addrs + aused, sizeof(addrs) - aused, "%s%s", i ? "," : "", text);
		}
		if (hused < sizeof(hosts) && aused < sizeof(addrs))
		{
			size_t		before = strlen(conninfo);

			if (conninfo_append(conninfo, len, "host", hosts) && conninfo_append(conninfo, len, "hostaddr", addrs))
				return DNS_READY;
			conninfo[before] = '\0';	/* host= fitted, hostaddr= did not: try with fewer addresses */
		}
	}
	snprintf(err, errlen, "the connection string for \"%s\" has no room for its addresses", host);
	return DNS_FAILED;
}

void
dns_forget(const char *host)
{
	DnsHost    *h = find_host(host);

	if (h && !h->pending)
		h->expires_us = 0;
}

void
dns_walk(void (*cb) (const DnsHostInfo *info, void *arg), void *arg)
{
	uint64_t	now = conn_now_usec();

	for (List *it = dns_hosts.next; it != &dns_hosts; it = it->next)
	{
		DnsHost    *h = container_of(it, DnsHost, node);
		char		addrs[DNS_MAX_ADDRS * (INET6_ADDRSTRLEN + 1)] = "";
		size_t		used = 0;
		DnsHostInfo info;

		for (int i = 0; i < h->n_addrs && used < sizeof(addrs); i++)
		{
			char		text[INET6_ADDRSTRLEN];

			addr_text(&h->addrs[i], text, sizeof(text));
			used += (size_t) snprintf(addrs + used, sizeof(addrs) - used, "%s%s", i ? "," : "", text);
		}
		info.hostname = h->name;
		info.ttl = h->expires_us > now ? (long) ((h->expires_us - now + 999999) / 1000000) : 0;
		info.addrs = addrs;
		info.status = h->pending ? "pending" : h->error[0] ? h->error : "ok";
		cb(&info, arg);
	}
}

void
dns_counts(int *names, int *pending)
{
	*names = *pending = 0;
	for (List *it = dns_hosts.next; it != &dns_hosts; it = it->next)
	{
		(*names)++;
		if (container_of(it, DnsHost, node)->pending)
			(*pending)++;
	}
}
