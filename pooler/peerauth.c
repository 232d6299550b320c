/*
 * peerauth.c: owns reading a client's identity from the socket (SO_PEERCRED) and from its TLS client
 * certificate; see peerauth.h.
 */
#include "peerauth.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn.h"

bool
peerauth_os_user(int fd, char *out, size_t outlen, char *why, size_t whylen)
{
	struct ucred cred;
	socklen_t	len = sizeof(cred);
	struct passwd pw;
	struct passwd *found = NULL;
	char		buf[4096];
	int			rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return snprintf(why, whylen, "cannot get the peer's credentials: %s", strerror(errno)), false;
	rc = getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found);
	if (rc != 0 || !found)
		return snprintf(why, whylen, "the peer's uid %u has no user name", (unsigned) cred.uid), false;
	if (snprintf(out, outlen, "%s", pw.pw_name) >= (int) outlen)
		return snprintf(why, whylen, "the peer's user name is too long"), false;
	return true;
}

bool
peerauth_is_own_user(int fd)
{
	struct ucred cred;
	socklen_t	len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

bool
peerauth_cert_cn(const Conn *conn, char *out, size_t outlen, char *why, size_t whylen)
{
	X509	   *cert;
	int			len;

	if (!conn->ssl)
		return snprintf(why, whylen, "the connection does not use TLS"), false;
	cert = SSL_get1_peer_certificate(conn->ssl);
	if (!cert)
		return snprintf(why, whylen, "the client presented no certificate"), false;
	if (SSL_get_verify_result(conn->ssl) != X509_V_OK)
	{
		X509_free(cert);
		return snprintf(why, whylen, "the client's certificate was not verified (set client_tls_ca_file)"), false;
	}
	len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, (int) outlen);
	X509_free(cert);
	if (len < 0)
		return snprintf(why, whylen, "the client's certificate has no common name (CN)"), false;
	if ((size_t) len >= outlen || strlen(out) != (size_t) len)
		return snprintf(why, whylen, "the client's certificate has a CN that is too long or holds a NUL byte"),
			false;
	return true;
}
