#!/usr/bin/env bash
# 47_ops_tls.sh: TLS on both sides of faregate-pooler, with a CA and certificates made here (openssl).
# Client side (client_tls_sslmode = require): psql sslmode=require and verify-full (host localhost and
# 127.0.0.1, both in the certificate), a client trusting another CA refused, plaintext TCP refused with
# 28000 naming the setting, the Unix socket still plaintext, a 4 MB result and pgbench over TLS; the
# settings reload on SIGHUP (disable -> require), a reload with a missing file keeps the running context.
# SCRAM-SHA-256-PLUS: libpq channel_binding=require logs in over TLS; PLUS is offered first over TLS
# only, and a client saying y,, (a downgrade) there is refused. Client certificates: verify-ca checks the
# chain only, verify-full also that the CN is the user name (as PostgreSQL's clientcert=verify-full).
# PgBouncer's TLS lists: client_tls_protocols/_ciphers/13_ciphers applied (psql's \conninfo shows the
# protocol and cipher; a TLS-1.2-only client refused under tlsv1.3), bad values stop start-up;
# server_tls_protocols/_ciphers/13_ciphers applied to the server connection (pg_stat_ssl); a RELOAD that
# changes a server_tls_ setting replaces the server connections, one that changes none keeps them.
# Server side: a second primary started here with ssl = on; server_tls_sslmode = verify-full against
# it (pg_stat_ssl says the backend is encrypted, also the LISTEN listener's); a failed handshake (a CA that
# did not sign the server's certificate) reaches the client at once as an error naming the reason and makes
# /health answer 503; require with server_tls_ca_file verifies like libpq; server_tls_sslmode = require
# against the plaintext harness primary fails with a message naming the setting.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)

certs_dir=${FG_TLS_CERTS:-}
if [ "${1:-}" = "--server-side" ]; then
  # runs inside a nested cluster.sh whose primary has ssl = on (see the end of this file)
  . "$top/test/integration/40_pooler_lib.bash"
  pooler_start "server_tls_sslmode = verify-full" "server_tls_ca_file = $certs_dir/ca.pem" \
    "pool_mode = transaction" || exit 1
  out=$(psql_pooler -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  is "$out" "t" "server_tls_sslmode = verify-full: the pooler's server connection is TLS (pg_stat_ssl)"
  # the LISTEN listener connection (libpq) uses server_tls_* too: LISTEN is answered once it is up
  psql_pooler -c "LISTEN fg_tls_channel" >/dev/null 2>&1
  out=$(psql_primary -c "SELECT string_agg(s.ssl::text, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a
        USING (pid) WHERE a.application_name = 'faregate-listener'" 2>&1)
  is "$out" "true" "the listener connection is TLS too (server_tls_sslmode = verify-full, pg_stat_ssl)"
  out=$(psql_pooler -c "SELECT length(repeat('y', 3000000))" 2>&1)
  is "$out" "3000000" "a 3 MB result arrives through the TLS server connection"
  pooler_stop
  # server_tls_sslmode = disable: the listener is plaintext too, although libpq's default would be TLS
  pooler_start "server_tls_sslmode = disable" "pool_mode = transaction" || exit 1
  psql_pooler -c "LISTEN fg_tls_channel" >/dev/null 2>&1
  out=$(psql_primary -c "SELECT string_agg(s.ssl::text, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a
        USING (pid) WHERE a.application_name = 'faregate-listener'" 2>&1)
  is "$out" "false" "server_tls_sslmode = disable: the listener connection is plaintext (libpq would prefer TLS)"
  pooler_stop
  # verify-full with a CA that did not sign the server's certificate: no login
  pooler_start "server_tls_sslmode = verify-full" "server_tls_ca_file = $certs_dir/other-ca.pem" \
    "server_connect_timeout = 3" "query_wait_timeout = 4" || exit 1
  out=$(PGCONNECT_TIMEOUT=10 psql_pooler -c "SELECT 1" 2>&1)
  like "$out" "TLS|closed|08006|timeout|could not" "verify-full refuses a server certificate from another CA"
  grep -q "certificate verify failed" "$POOLER_DIR/pooler.log" && ok 0 "the log says why (certificate verify failed)" ||
    { ok 1 "the log says why (certificate verify failed)"; tail -5 "$POOLER_DIR/pooler.log" | sed 's/^/# /'; }
  pooler_stop
  # a failed TLS handshake is an error for the client at once (08006 with the reason), and for /health
  mport=$(pooler_free_port)
  pooler_start "server_tls_sslmode = verify-ca" "server_tls_ca_file = $certs_dir/other-ca.pem" \
    "server_connect_timeout = 20" "query_wait_timeout = 60" "metrics_port = $mport" || exit 1
  t0=$(date +%s)
  out=$(PGCONNECT_TIMEOUT=30 psql_pooler -c "SELECT 1" 2>&1)
  t1=$(date +%s)
  like "$out" "could not log into the database server: TLS with server .* failed: .*certificate verify failed" \
    "a failed server TLS handshake reaches the client as an error naming the reason (in $((t1 - t0)) s, before the 20 s timeouts)"
  code=$(curl -s -o "$POOLER_DIR/health.json" -w '%{http_code}' "http://127.0.0.1:$mport/health")
  named=1
  grep -q '"tls_error":"[^"]*certificate verify failed' "$POOLER_DIR/health.json" && named=0
  ok $([ "$code" = 503 ] && [ "$named" = 0 ] && echo 0 || echo 1) "/health answers 503 naming the TLS failure ($code)"
  [ "$code" = 503 ] || sed 's/^/# /' "$POOLER_DIR/health.json"
  pooler_stop
  # as libpq: require with server_tls_ca_file verifies the certificate chain
  pooler_start "server_tls_sslmode = require" "server_tls_ca_file = $certs_dir/other-ca.pem" || exit 1
  out=$(PGCONNECT_TIMEOUT=30 psql_pooler -c "SELECT 1" 2>&1)
  like "$out" "certificate verify failed" "server_tls_sslmode = require with server_tls_ca_file from another CA is refused, as libpq does"
  pooler_stop
  pooler_start "server_tls_sslmode = require" "server_tls_ca_file = $certs_dir/ca.pem" || exit 1
  out=$(psql_pooler -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  is "$out" "t" "… and with the right CA it logs in over TLS"
  pooler_stop
  # server_tls_protocols / server_tls_ciphers: pg_stat_ssl shows what the pooler's connection got
  pooler_start "server_tls_sslmode = require" "server_tls_protocols = tlsv1.2" \
    "server_tls_ciphers = ECDHE-RSA-AES256-GCM-SHA384" || exit 1
  out=$(psql_pooler -c "SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  is "$out" "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" "server_tls_protocols = tlsv1.2 and server_tls_ciphers: the server connection uses them (pg_stat_ssl)"
  pooler_stop
  pooler_start "server_tls_sslmode = require" "server_tls13_ciphers = TLS_CHACHA20_POLY1305_SHA256" || exit 1
  out=$(psql_pooler -c "SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  is "$out" "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256" "server_tls13_ciphers: the TLS 1.3 ciphersuite is the one asked for"
  pooler_stop
  # a RELOAD that changes a server_tls_ setting replaces the server connections; one that does not, keeps them
  pooler_start "server_tls_sslmode = disable" || exit 1
  before=$(psql_pooler -c "SELECT pg_backend_pid() || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  pooler_reload
  same=$(psql_pooler -c "SELECT pg_backend_pid() || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  is "$same" "$before" "a RELOAD that changes no server_tls_ setting keeps the server connection ($before)"
  pooler_write_config "server_tls_sslmode = require"
  pooler_reload
  after=$(psql_pooler -c "SELECT pg_backend_pid() || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  ok $([ "${after#* }" = true ] && [ "${after% *}" != "${before% *}" ] && echo 0 || echo 1) \
    "a RELOAD from server_tls_sslmode = disable to require: the next transaction runs on a new TLS connection ($before -> $after)"
  exit 0  # done_testing runs in the outer test
fi

. "$top/test/integration/40_pooler_lib.bash"
certs=$(mktemp -d /tmp/faregate-tls.XXXXXX)
chmod 755 "$certs"
trap 'pooler_stop QUIT; rm -rf "$POOLER_DIR" "$certs"' EXIT

# a CA, a server certificate for localhost and 127.0.0.1, and a second CA that signed nothing of ours
# (openssl: package openssl, installed by test/harness/deps.sh)
command -v openssl >/dev/null || diag "openssl is not installed: run test/harness/deps.sh (make deps)"
(
  cd "$certs" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=faregate test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
    -keyout other-ca.key -out other-ca.pem 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null &&
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n' >ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf \
    -out server.crt 2>/dev/null
)
ok $? "test CA and server certificate (CN localhost, SAN localhost and 127.0.0.1) made with openssl"

pooler_start "client_tls_sslmode = require" "client_tls_cert_file = $certs/server.crt" \
  "client_tls_key_file = $certs/server.key" || { done_testing; exit 1; }

conn="host=127.0.0.1 port=$POOLER_PORT user=postgres dbname=postgres"
out=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 40 + 2" -c '\conninfo' 2>&1)
like "$out" "^42" "psql sslmode=require through the pooler"
like "$out" "SSL connection \(protocol: TLSv1\.[23]" "the client connection is TLS (psql \\conninfo)"
out=$(psql -X -qAt "host=localhost port=$POOLER_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$certs/ca.pem" -c "SELECT 'verified'" 2>&1)
is "$out" "verified" "psql sslmode=verify-full sslrootcert=ca.pem host=localhost"
out=$(psql -X -qAt "$conn sslmode=verify-full sslrootcert=$certs/ca.pem" -c "SELECT 'by address'" 2>&1)
is "$out" "by address" "verify-full with host=127.0.0.1 (IP in the certificate's SAN)"
out=$(psql -X -qAt "host=localhost port=$POOLER_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$certs/other-ca.pem" -c "SELECT 1" 2>&1)
like "$out" "certificate verify failed" "a client trusting another CA refuses the pooler's certificate"
out=$(psql -X -qAt "$conn sslmode=disable" -c "SELECT 1" 2>&1)
like "$out" "TLS is required \(client_tls_sslmode = require\)" "plaintext TCP login refused, naming client_tls_sslmode"
out=$(/usr/bin/python3 - "$POOLER_PORT" <<'PY'
# a raw plaintext StartupMessage: the pooler's ErrorResponse fields, read off the wire
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
s.sendall(struct.pack("!I", len(body) + 4) + body)
data = b""
while len(data) < 5 or len(data) < 1 + struct.unpack("!I", data[1:5])[0]:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
fields = {f[:1]: f[1:].decode() for f in data[5:].split(b"\0") if f}
print(data[:1].decode(), fields.get(b"S"), fields.get(b"C"))
PY
)
is "$out" "E FATAL 28000" "the refusal is an ErrorResponse, FATAL, SQLSTATE 28000"
out=$(psql -X -qAt -h "$POOLER_DIR" -p "$POOLER_PORT" -U postgres -d postgres -c "SELECT 'unix'" 2>&1)
is "$out" "unix" "the Unix socket stays plaintext (as in PostgreSQL)"
# the 4 MB value itself crosses the TLS connection; its md5 is compared with one computed here
got=$(psql -X -qAt "$conn sslmode=require" -c "SELECT string_agg(lpad(g::text, 8, '0'), '' ORDER BY g) FROM generate_series(1, 500000) g" 2>&1 |
  tr -d '\n' | md5sum | cut -d' ' -f1)
is "$got" "$(seq -f '%08g' 1 500000 | tr -d '\n' | md5sum | cut -d' ' -f1)" "a 4 MB result through the TLS client connection, byte for byte"
out=$({ echo "SELECT length(string_agg(md5(g::text), '')) FROM generate_series(1, 20000) g;"
  echo "SELECT count(*) FROM (VALUES $(printf "('%0500d')," $(seq 1 2000) | sed 's/,$//')) v(x);"; } |
  psql -X -qAt "$conn sslmode=require" -f - 2>&1)
is "$out" $'640000\n2000' "a 1 MB statement and a large result over TLS"
echo "SELECT 1;" >"$POOLER_DIR/sel.sql"
out=$(PGSSLMODE=require timeout 60 pgbench -n -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -c 4 -j 2 -t 300 \
  -f "$POOLER_DIR/sel.sql" postgres 2>&1)
like "$out" "number of transactions actually processed: 1200/1200" "pgbench over TLS: 4 clients x 300 transactions"
tls_col=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 1" >/dev/null; PGSSLMODE=require psql_pooler_admin -c "SHOW CLIENTS" | awk -F'|' '$1=="C" && $18 ~ /TLS/ {n++} END {print n+0}')
ok $([ "$tls_col" -ge 1 ] && echo 0 || echo 1) "SHOW CLIENTS' tls column names the protocol for TLS clients ($tls_col)"
# 300 broken TLS handshakes (SSLRequest, then bytes that are no ClientHello): their log lines are
# rate-limited, and the rest is counted (issue 20, finding 6)
before=$(wc -l <"$POOLER_DIR/pooler.log")
/usr/bin/python3 - "$POOLER_PORT" <<'PY'
import socket, struct, sys
for _ in range(300):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(struct.pack("!II", 8, 80877103))
    s.recv(1)
    s.sendall(b"\x16\x03\x01\x00\x05hello-not-tls")
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
sleep 2.5  # the last one-second window is over: its count is reported
new=$(tail -n +"$((before + 1))" "$POOLER_DIR/pooler.log")
errors=$(grep -c "TLS error" <<<"$new")
held=$(grep -oE "[0-9]+ more TLS errors of client connections not logged" <<<"$new" | awk '{n += $1} END {print n+0}')
# (a handshake may fail twice, reading and then answering: at least 300 in all)
ok $([ "$errors" -le 40 ] && [ $((errors + held)) -ge 300 ] && echo 0 || echo 1) \
  "300 broken TLS handshakes: $errors 'TLS error' lines, $held counted as held back (at least 300 in all)"
out=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 'after the flood'" 2>&1)
is "$out" "after the flood" "a real TLS login works after them"
pooler_stop

# PgBouncer's TLS lists: client_tls_protocols = tlsv1.3 refuses a client that stops at TLS 1.2
pooler_start "client_tls_sslmode = require" "client_tls_cert_file = $certs/server.crt" \
  "client_tls_key_file = $certs/server.key" "client_tls_protocols = tlsv1.3" \
  "client_tls13_ciphers = TLS_CHACHA20_POLY1305_SHA256"
ok $? "the pooler starts with client_tls_protocols = tlsv1.3 and client_tls13_ciphers"
out=$(psql -X -qAt "$conn sslmode=require" -c '\conninfo' 2>&1)
like "$out" "protocol: TLSv1\.3, cipher: TLS_CHACHA20_POLY1305_SHA256" "… a client gets TLS 1.3 with that ciphersuite"
out=$(psql -X -qAt "$conn sslmode=require ssl_max_protocol_version=TLSv1.2" -c "SELECT 1" 2>&1)
like "$out" "protocol version|SSL error|alert" "… a client limited to TLS 1.2 is refused at the handshake"
pooler_stop
pooler_start "client_tls_sslmode = require" "client_tls_cert_file = $certs/server.crt" \
  "client_tls_key_file = $certs/server.key" "client_tls_protocols = tlsv1.2" "client_tls_ciphers = ECDHE-RSA-AES128-GCM-SHA256"
out=$(psql -X -qAt "$conn sslmode=require" -c '\conninfo' 2>&1)
like "$out" "protocol: TLSv1\.2, cipher: ECDHE-RSA-AES128-GCM-SHA256" "client_tls_protocols = tlsv1.2 and an OpenSSL cipher string: applied"
pooler_stop
for bad in "client_tls_protocols = tlsv9" "server_tls_protocols = ," "client_tls_ciphers = NO-SUCH-CIPHER" \
  "server_tls13_ciphers = TLS_NOPE"; do
  pooler_write_config "$bad"
  out=$("$POOLER_BIN" "$POOLER_DIR/pooler.ini" 2>&1)
  like "$out" "${bad%% =*}" "'$bad' stops start-up, naming the setting"
done

# SCRAM-SHA-256-PLUS (tls-server-end-point channel binding) for clients on TLS (issue 20)
printf '"postgres" "Plus-Pw-4471"\n' >"$POOLER_DIR/users.txt"
chmod 600 "$POOLER_DIR/users.txt"
pooler_start "auth_type = scram-sha-256" "auth_file = $POOLER_DIR/users.txt" "client_tls_sslmode = prefer" \
  "client_tls_cert_file = $certs/server.crt" "client_tls_key_file = $certs/server.key" || { done_testing; exit 1; }
conn="host=127.0.0.1 port=$POOLER_PORT user=postgres dbname=postgres"
out=$(PGPASSWORD=Plus-Pw-4471 psql -X -qAt "$conn sslmode=require channel_binding=require" -c "SELECT 'bound'" 2>&1)
is "$out" "bound" "libpq channel_binding=require over TLS logs in through the pooler (SCRAM-SHA-256-PLUS)"
out=$(PGPASSWORD=wrong psql -X -qAt "$conn sslmode=require channel_binding=require" -c "SELECT 1" 2>&1)
like "$out" "password authentication failed" "… a wrong password still fails (28P01)"
out=$(PGPASSWORD=Plus-Pw-4471 psql -X -qAt "$conn sslmode=require channel_binding=disable" -c "SELECT 'unbound'" 2>&1)
is "$out" "unbound" "channel_binding=disable over TLS: plain SCRAM-SHA-256 still works"
out=$(PGPASSWORD=Plus-Pw-4471 psql -X -qAt "$conn sslmode=disable channel_binding=prefer" -c "SELECT 'plain'" 2>&1)
is "$out" "plain" "without TLS: SCRAM-SHA-256 (PLUS is not offered)"
# the offer and the downgrade rule, read off the wire (Python's ssl module is the TLS client)
out=$(/usr/bin/python3 - "$POOLER_PORT" <<'PY'
import base64, os, socket, ssl, struct, sys
def msg(s):
    head = b""
    while len(head) < 5:
        head += s.recv(5 - len(head))
    body = b""
    while len(body) < struct.unpack("!I", head[1:5])[0] - 4:
        body += s.recv(65536)
    return head[:1], body
def login(tls, gs2):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    if tls:
        s.sendall(struct.pack("!II", 8, 80877103))
        assert s.recv(1) == b"S"
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    t, b = msg(s)
    mechs = [m.decode() for m in b[4:].split(b"\0") if m]
    first = gs2 + b"n=,r=" + base64.b64encode(os.urandom(18))
    s.sendall(b"p" + struct.pack("!I", 4 + len(b"SCRAM-SHA-256\0") + 4 + len(first)) + b"SCRAM-SHA-256\0" +
              struct.pack("!I", len(first)) + first)
    t, b = msg(s)
    code = dict((f[:1], f[1:]) for f in b.split(b"\0") if f).get(b"C", b"").decode() if t == b"E" else t.decode()
    return ",".join(mechs) + " " + code
print(login(True, b"y,,"))
print(login(False, b"y,,"))
PY
)
is "$out" $'SCRAM-SHA-256-PLUS,SCRAM-SHA-256 08P01\nSCRAM-SHA-256 R' \
  "over TLS PLUS is offered first and y,, (a downgrade) is refused; without TLS only SCRAM-SHA-256, and y,, goes on"
pooler_stop

# client certificates: verify-ca checks the chain; verify-full also that the CN is the user name, as
# PostgreSQL's clientcert=verify-full does (issue 20)
(
  cd "$certs" || exit 1
  printf 'basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n' >client.cnf
  for cn in postgres intruder; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$cn.key" -out "$cn.csr" 2>/dev/null &&
      openssl x509 -req -in "$cn.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.cnf \
        -out "$cn.crt" 2>/dev/null && chmod 600 "$cn.key" || exit 1
  done
)
ok $? "client certificates for CN=postgres and CN=intruder, signed by the test CA"
for mode in verify-ca verify-full; do
  pooler_start "client_tls_sslmode = $mode" "client_tls_cert_file = $certs/server.crt" \
    "client_tls_key_file = $certs/server.key" "client_tls_ca_file = $certs/ca.pem" || { done_testing; exit 1; }
  conn="host=127.0.0.1 port=$POOLER_PORT user=postgres dbname=postgres sslmode=require"
  out=$(psql -X -qAt "$conn sslcert=$certs/postgres.crt sslkey=$certs/postgres.key" -c "SELECT 'cn ok'" 2>&1)
  is "$out" "cn ok" "$mode: a certificate with CN = the user name logs in"
  out=$(psql -X -qAt "$conn sslcert=$certs/intruder.crt sslkey=$certs/intruder.key" -c "SELECT 'other cn'" 2>&1)
  if [ "$mode" = verify-ca ]; then
    is "$out" "other cn" "verify-ca: the CN is not compared with the user name"
  else
    like "$out" "FATAL:  certificate authentication failed for user \"postgres\": the client certificate's common name is not the user name" \
      "verify-full: a certificate for another CN is refused (28000), as PostgreSQL's clientcert=verify-full"
  fi
  out=$(psql -X -qAt "$conn sslcert=/nonexistent sslkey=/nonexistent" -c "SELECT 1" 2>&1)
  like "$out" "certificate|SSL|closed" "$mode: no client certificate, no login"
  pooler_stop
done

# TLS settings reload (SIGHUP): new handshakes use the new context
pooler_start "client_tls_sslmode = disable" || { done_testing; exit 1; }
conn="host=127.0.0.1 port=$POOLER_PORT user=postgres dbname=postgres"
out=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 1" 2>&1)
like "$out" "does not support SSL|SSL" "client_tls_sslmode = disable: sslmode=require is refused"
pooler_write_config "client_tls_sslmode = require" "client_tls_cert_file = $certs/server.crt" \
  "client_tls_key_file = $certs/server.key"
pooler_reload
out=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 'after reload'" 2>&1)
is "$out" "after reload" "after SIGHUP with client_tls_sslmode = require: TLS login works without a restart"
out=$(psql -X -qAt "$conn sslmode=disable" -c "SELECT 1" 2>&1)
like "$out" "TLS is required \(client_tls_sslmode = require\)" "and plaintext TCP logins are refused now"
pooler_write_config "client_tls_sslmode = require" "client_tls_cert_file = $certs/missing.crt" \
  "client_tls_key_file = $certs/server.key"
pooler_reload
out=$(psql -X -qAt "$conn sslmode=require" -c "SELECT 'still'" 2>&1)
ok $(grep -q "reload failed.*missing.crt" "$POOLER_DIR/pooler.log" && [ "$out" = "still" ] && echo 0 || echo 1) \
  "a reload naming a missing certificate fails (logged) and the running TLS context stays ($out)"
pooler_stop

# server side, refusal: the harness primary has ssl = off
pooler_start "server_tls_sslmode = require" || { done_testing; exit 1; }
out=$(psql_pooler -c "SELECT 1" 2>&1)
like "$out" "does not accept TLS, which server_tls_sslmode requires" \
  "server_tls_sslmode = require against a plaintext server: the client is told why"
pooler_stop

# server side against a primary with ssl = on: key readable by postgres only
chown postgres "$certs/server.key" "$certs/server.crt" 2>/dev/null
chmod 600 "$certs/server.key"
out=$(FG_TLS_CERTS=$certs "$top/test/harness/cluster.sh" --replicas 0 --conf "ssl = on" \
  --conf "ssl_cert_file = '$certs/server.crt'" --conf "ssl_key_file = '$certs/server.key'" \
  -- "$0" --server-side 2>&1)
echo "$out" | grep -E "^(not )?ok " | sed 's/^\(not \)\{0,1\}ok [0-9]*/&/' >"$POOLER_DIR/inner.tap"
while read -r line; do
  name=${line#* - }
  case "$line" in
    "ok "*) ok 0 "$name" ;;
    *) ok 1 "$name" ;;
  esac
done <"$POOLER_DIR/inner.tap"
echo "$out" | grep "^# " || true
n_inner=$(wc -l <"$POOLER_DIR/inner.tap")
ok $([ "$n_inner" -eq 14 ] && echo 0 || echo 1) "the server-side checks ran in a cluster with ssl = on ($n_inner of 14)"
[ "$n_inner" -eq 10 ] || echo "$out" | tail -20 | sed 's/^/# /'
done_testing
