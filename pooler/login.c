/*
 * login.c: owns the authentication state machines (see login.h). Until the auth module lands this
 * serves auth_type trust to clients, and AuthenticationOk / cleartext passwords from PostgreSQL.
 */
#include "login.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "server.h"

void
login_begin(Client *client)
{
	if (cf.auth_type != AUTH_TRUST)
	{
		client_close(client, "28000", "this build of faregate-pooler serves only auth_type = trust",
					 "Set auth_type = trust, or use a build with md5/SCRAM support.");
		return;
	}
	client_login_done(client);
}

bool
login_step(Client *client)
{
	client_close(client, "08P01", "unexpected message during authentication", NULL);
	return false;
}

void
login_cleanup(Client *client)
{
}

bool
login_server_auth(Server *server, const uint8_t *msg, uint32_t total)
{
	uint32_t	code;
	Pool	   *pool = server->pool;

	if (total < 9)
	{
		server_close(server, "malformed authentication request from the server");
		return false;
	}
	code = proto_get_u32(msg + 5);
	if (code == PROTO_AUTH_OK)
		return true;
	if (code == PROTO_AUTH_CLEARTEXT && pool->password[0])
	{
		uint8_t		data[CF_STR_MAX + 16];
		PktBuf		pkt;

		pktbuf_init(&pkt, data, sizeof(data));
		pkt_begin(&pkt, 'p');
		pkt_put_str(&pkt, pool->password);
		pkt_end(&pkt);
		if (pkt.failed || !server_send_bytes(server, pkt.data, pkt.len) || !conn_flush(&server->conn))
		{
			server_close(server, "could not send the password");
			return false;
		}
		return true;
	}
	{
		char		why[128];

		snprintf(why, sizeof(why), "the server asked for authentication method %u, which is not supported",
				 code);
		server_close(server, why);
	}
	return false;
}

void
login_server_cleanup(Server *server)
{
}

bool
login_reload(char *err, size_t errlen)
{
	return true;
}
