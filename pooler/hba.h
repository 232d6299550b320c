/*
 * hba.h: auth_type = hba: the rules of auth_hba_file (PostgreSQL's pg_hba.conf format, the subset
 * PgBouncer reads) and of auth_ident_file (user name maps for peer and cert), parsed into tables and
 * matched against a login. Pure: no network I/O and no logging; errors name the file and line.
 *
 * Supported, as PgBouncer: record types local, host, hostssl, hostnossl; databases all, sameuser,
 * replication, @file and comma-separated names; users all, @file and names; addresses all, IPv4 and IPv6
 * in CIDR form or as address + mask; methods trust, reject, md5, scram-sha-256, password, cert and
 * peer (local only); the option map= (cert and peer). cert is accepted on host lines too, as PgBouncer
 * does (PostgreSQL wants hostssl): a login without TLS that reaches such a rule is refused. Names in double quotes are
 * never keywords ("all" is a user called all) and "" stands for one quote inside them. A '#' starts a
 * comment; a line ending in '\' goes on on the next line. Everything else PostgreSQL knows (samerole,
 * +group, samehost, samenet, host names, regular expressions, include directives, other methods and
 * options) is refused with a message that says so: a rule the pooler would read differently from
 * PostgreSQL is worse than none.
 *
 * Ident maps: lines "MAPNAME SYSTEM-USERNAME DATABASE-USERNAME"; DATABASE-USERNAME all matches any user.
 */
#ifndef FAREGATE_HBA_H
#define FAREGATE_HBA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HBA_ERR_MAX 512

typedef enum HbaConnType
{
	HBA_LOCAL,					/* Unix socket */
	HBA_HOST,					/* TCP, with or without TLS */
	HBA_HOSTSSL,				/* TCP with TLS */
	HBA_HOSTNOSSL				/* TCP without TLS */
} HbaConnType;

typedef enum HbaMethod
{
	HBA_TRUST,
	HBA_REJECT,
	HBA_MD5,					/* md5, or SCRAM for a SCRAM secret (as auth_type = md5) */
	HBA_SCRAM,
	HBA_PASSWORD,				/* cleartext (auth_type = plain) */
	HBA_CERT,
	HBA_PEER
} HbaMethod;

/* A comma-separated list of names from one field, with @file lists expanded. */
typedef struct HbaNames
{
	bool		all;			/* the keyword all */
	bool		sameuser;		/* database field: the keyword sameuser */
	bool		replication;	/* database field: the keyword replication */
	int			n;
	char	  **names;
} HbaNames;

typedef struct HbaRule
{
	int			line;
	HbaConnType type;
	HbaNames	databases;
	HbaNames	users;
	bool		addr_all;		/* address all (or a local line) */
	int			family;			/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	uint8_t		mask[16];
	HbaMethod	method;
	char	   *map;			/* map= option, or NULL */
} HbaRule;

typedef struct HbaRules
{
	HbaRule    *rules;
	int			n;
} HbaRules;

/* What a login looks like to the rules. */
typedef struct HbaLogin
{
	bool		unix_socket;
	bool		tls;
	const char *addr;			/* client address as text (IPv4 or IPv6), ignored for unix_socket */
	const char *database;
	const char *user;
	bool		replication;	/* a replication connection (startup replication=...) */
} HbaLogin;

typedef struct IdentEntry
{
	char	   *map;
	char	   *system_user;
	char	   *db_user;		/* "all" unquoted: NULL */
} IdentEntry;

typedef struct IdentMap
{
	IdentEntry *entries;
	int			n;
} IdentMap;

/*
 * hba_parse: reads rules from text (the content of the file at path; path names it in messages and is
 * where @file names are resolved from) into *out. false with "path:line: reason" in err; *out then holds
 * nothing to free.
 */
__attribute__((warn_unused_result))
extern bool hba_parse(const char *text, const char *path, HbaRules *out, char *err, size_t errlen);

/* hba_load: hba_parse on the file at path. */
__attribute__((warn_unused_result))
extern bool hba_load(const char *path, HbaRules *out, char *err, size_t errlen);

/* hba_match: the first rule that applies to login, or NULL (no rule: the login is refused). */
extern const HbaRule *hba_match(const HbaRules *rules, const HbaLogin *login);

extern void hba_free(HbaRules *rules);

/* hba_method_name: as written in the file ("scram-sha-256" ...). */
extern const char *hba_method_name(HbaMethod method);

/* ident_parse / ident_load: an auth_ident_file, like hba_parse / hba_load. */
__attribute__((warn_unused_result))
extern bool ident_parse(const char *text, const char *path, IdentMap *out, char *err, size_t errlen);
__attribute__((warn_unused_result))
extern bool ident_load(const char *path, IdentMap *out, char *err, size_t errlen);

/* ident_match: map lets system_user (OS user or certificate CN) log in as db_user. */
extern bool ident_match(const IdentMap *map, const char *map_name, const char *system_user,
						const char *db_user);

extern void ident_free(IdentMap *map);

#endif
