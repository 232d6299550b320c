/*
 * peerauth.h: who the client is without a password: the operating-system user at the other end of a Unix
 * socket (auth method peer) and the common name of a verified TLS client certificate (auth_type = cert,
 * method cert). Matching either against the requested user name, directly or through an
 * auth_ident_file map, is login.c's (with hba.c's ident_match).
 */
#ifndef FAREGATE_PEERAUTH_H
#define FAREGATE_PEERAUTH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Conn Conn;

/* peerauth_os_user: the name of the user owning the process at the other end of Unix socket fd. */
__attribute__((warn_unused_result))
extern bool peerauth_os_user(int fd, char *out, size_t outlen, char *why, size_t whylen);

/*
 * peerauth_is_own_user: the process at the other end of Unix socket fd runs as the pooler's own OS user
 * (PgBouncer's rule for the admin user pgbouncer over the Unix socket).
 */
extern bool peerauth_is_own_user(int fd);

/*
 * peerauth_cert_cn: the CN of the client certificate on conn's TLS session, when one was presented and
 * verified against client_tls_ca_file; false with why otherwise (no TLS, no certificate, not verified,
 * no CN, or a CN with a NUL byte in it).
 */
__attribute__((warn_unused_result))
extern bool peerauth_cert_cn(const Conn *conn, char *out, size_t outlen, char *why, size_t whylen);

#endif
