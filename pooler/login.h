/*
 * login.h: the authentication exchanges of both roles, as steps of the event loop: a client logging
 * into the pooler (per auth_type: trust, md5, SCRAM-SHA-256) and the pooler logging into PostgreSQL
 * (answering AuthenticationRequest messages). The cryptography is auth.c's and scram.c's; this module
 * drives the messages and decides which SQLSTATE a failure gets.
 */
#ifndef FAREGATE_LOGIN_H
#define FAREGATE_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Client Client;
typedef struct Server Server;

/* login_begin: the client's startup packet was accepted: start its authentication (or finish it). */
extern void login_begin(Client *client);

/* login_step: a message of an exchange in progress is in rbuf; false when more is needed or it ended. */
extern bool login_step(Client *client);

/*
 * login_lookup_done: an auth_query lookup of the client's user ended (authquery.c calls it from the event
 * loop): go on with the method the login runs, or refuse the client. With AQ_ERROR, sqlstate and
 * message are the server's refusal of the lookup's own login (NULL when it was not the server's).
 */
extern void login_lookup_done(Client *client, int outcome, const char *sqlstate, const char *message);

/* login_cleanup: frees what an unfinished exchange holds. */
extern void login_cleanup(Client *client);

/* login_server_auth: an AuthenticationRequest from PostgreSQL; false when the server was closed. */
extern bool login_server_auth(Server *server, const uint8_t *msg, uint32_t total);

/* login_server_cleanup: frees what an unfinished server exchange holds. */
extern void login_server_cleanup(Server *server);

/*
 * login_user_looked_up: user is not in auth_file and auth_query found it for logins to dbname, i.e. it
 * exists only in the database. Its pools are freed when unused, as those of the "*" entry are.
 */
extern bool login_user_looked_up(const char *dbname, const char *user);

/* login_authfile_user: the name of entry i of the loaded auth_file, NULL past its end (SHOW USERS). */
extern const char *login_authfile_user(int i);

/* login_reload: (re)reads auth_file after a configuration load; false with err on a bad file. */
__attribute__((warn_unused_result))
extern bool login_reload(char *err, size_t errlen);

#endif
