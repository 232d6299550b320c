#!/usr/bin/env bash
# 43_pooler_auth_hba.sh: auth_type = hba (issue 16) with auth_hba_file and auth_ident_file: rules that
# allow (md5, scram-sha-256, password, trust), reject, per database and per client address, peer with a
# map on the Unix socket, cert with a map; PostgreSQL's refusal texts and SQLSTATEs; a broken file fails
# RELOAD and the rules in use stay. Then auth_type = cert (client certificate, user = CN), plain and any.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
SET client_min_messages = warning;
DROP ROLE IF EXISTS hba_md5u; DROP ROLE IF EXISTS hba_scramu; DROP ROLE IF EXISTS hba_plain;
DROP ROLE IF EXISTS hba_trust; DROP ROLE IF EXISTS hba_peeru; DROP ROLE IF EXISTS hba_certu;
DROP ROLE IF EXISTS hba_mapped;
CREATE ROLE hba_md5u LOGIN; CREATE ROLE hba_scramu LOGIN; CREATE ROLE hba_plain LOGIN;
CREATE ROLE hba_trust LOGIN; CREATE ROLE hba_peeru LOGIN; CREATE ROLE hba_certu LOGIN; CREATE ROLE hba_mapped LOGIN;
SQL
me=$(id -un)
md5u=md5$(printf '%s' 'md5-pwhba_md5u' | md5sum | cut -c1-32)
{
  echo "\"hba_md5u\" \"$md5u\""
  echo '"hba_scramu" "scram-pw"'
  echo '"hba_plain" "plain-pw"'
  echo '"hba_trust" ""'
  echo '"hba_peeru" ""'
  echo '"hba_certu" ""'
  echo '"hba_mapped" ""'
  echo '"postgres" "admin-pw"'
} >"$POOLER_DIR/users.txt"
chmod 600 "$POOLER_DIR/users.txt"
cat >"$POOLER_DIR/hba.conf" <<EOF
# TYPE  DATABASE  USER         ADDRESS        METHOD
local   all       all                         peer map=localmap
host    rejdb     all          127.0.0.1/32   reject
host    faregate  postgres     127.0.0.1/32   md5
host    all       hba_md5u     127.0.0.1/32   md5
host    all       hba_scramu   127.0.0.1/32   scram-sha-256
host    all       hba_plain    127.0.0.1  255.255.255.255  password
host    trustdb   all          127.0.0.1/32   trust
host    all       all          127.0.0.2/32   trust
hostssl certdb    all          127.0.0.1/32   cert map=certmap
EOF
cat >"$POOLER_DIR/ident.conf" <<EOF
localmap  $me         hba_peeru
certmap   hba_certu   hba_mapped
EOF
export POOLER_ADMIN_PASSWORD=admin-pw

pooler_write_config
db_lines() {
  echo "rejdb = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
  echo "trustdb = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
  echo "certdb = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres"
}
# hba_start EXTRA_LINES...: the pooler with the extra databases and the given [pooler] lines
hba_start() {
  pooler_write_config "$@"
  sed -i "/^\[databases\]/r /dev/stdin" "$POOLER_DIR/pooler.ini" < <(db_lines)
  "$POOLER_BIN" "$POOLER_DIR/pooler.ini" >>"$POOLER_DIR/stderr.log" 2>&1 &
  POOLER_PID=$!
  echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
  wait_for 30 eval '(exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null'
}

# login USER PASSWORD [DB] [HOST]: what SELECT current_user answers through the pooler (or the error)
login() { PGPASSWORD=$2 psql -X -qAt -h "${4:-127.0.0.1}" -p "$POOLER_PORT" -U "$1" -d "${3:-postgres}" -c "SELECT current_user" 2>&1; }
# raw SRC USER PASSWORD [DB]: the SQLSTATE (or ok) of a login from source address SRC, raw protocol
raw() {
  /usr/bin/python3 - "$top/test/harness" "$POOLER_PORT" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from fgtest import login_outcome
print(login_outcome(int(sys.argv[2]), sys.argv[4], sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else "postgres",
                    source=sys.argv[3]))
PY
}

hba_start "auth_type = hba" "auth_file = $POOLER_DIR/users.txt" "auth_hba_file = $POOLER_DIR/hba.conf" \
  "auth_ident_file = $POOLER_DIR/ident.conf"
ok $? "pooler starts with auth_type = hba"
is "$(login hba_md5u md5-pw)" hba_md5u "md5 rule: right password"
is "$(raw 127.0.0.1 hba_md5u wrong)" 28P01 "md5 rule: wrong password gets 28P01"
is "$(login hba_scramu scram-pw)" hba_scramu "scram-sha-256 rule: right password"
like "$(login hba_scramu wrong)" 'password authentication failed for user "hba_scramu"' "scram-sha-256 rule: wrong password"
is "$(login hba_plain plain-pw)" hba_plain "password rule (address + netmask): cleartext password accepted"
is "$(raw 127.0.0.1 hba_plain wrong)" 28P01 "password rule: wrong password gets 28P01"
like "$(login hba_md5u md5-pw rejdb)" 'pg_hba.conf rejects connection for host "127.0.0.1", user "hba_md5u", database "rejdb", no encryption' \
  "reject rule (per database): PostgreSQL's text"
is "$(raw 127.0.0.1 hba_md5u md5-pw rejdb)" 28000 "… with SQLSTATE 28000"
like "$(login hba_trust x)" 'no pg_hba.conf entry for host "127.0.0.1", user "hba_trust", database "postgres", no encryption' \
  "no matching rule: PostgreSQL's text"
is "$(raw 127.0.0.1 hba_trust x)" 28000 "… with SQLSTATE 28000"
is "$(login hba_trust x trustdb)" hba_trust "trust rule for one database lets the user in there"
is "$(raw 127.0.0.2 hba_trust x)" ok "per address: from 127.0.0.2 the trust rule applies"
is "$(raw 127.0.0.1 hba_certu x certdb)" 28000 "a hostssl rule does not match a plaintext login"
is "$(login hba_peeru x postgres "$POOLER_DIR")" hba_peeru "peer over the Unix socket, mapped by auth_ident_file ($me -> hba_peeru)"
like "$(login hba_trust x postgres "$POOLER_DIR")" 'Peer authentication failed for user "hba_trust"' "peer: a user the map does not allow is refused"
pooler_log_has 'ident map "localmap" has no line'; ok $? "… and the log names the map"
is "$(psql_pooler_admin -c 'SHOW VERSION' | grep -c .)" 1 "admin console through its own md5 rule"

# a broken file fails RELOAD and the rules in use stay
cp "$POOLER_DIR/hba.conf" "$POOLER_DIR/hba.good"
echo "host all +admins 127.0.0.1/32 md5" >>"$POOLER_DIR/hba.conf"
out=$(psql_pooler_admin -c "RELOAD" 2>&1)
like "$out" "hba.conf:11: group membership" "a rule the pooler does not support fails RELOAD with file and line"
is "$(login hba_md5u md5-pw)" hba_md5u "… and the loaded rules stay in use"
cp "$POOLER_DIR/hba.good" "$POOLER_DIR/hba.conf"
sed -i 's/^host    trustdb   all          127.0.0.1\/32   trust$/host    trustdb   all          127.0.0.1\/32   reject/' "$POOLER_DIR/hba.conf"
psql_pooler_admin -c "RELOAD" >/dev/null 2>&1
like "$(login hba_trust x trustdb)" "pg_hba.conf rejects connection" "RELOAD reads a changed auth_hba_file"
pooler_stop QUIT

# certificates: a CA, a server certificate, client certificates with CN hba_certu and one from another CA
certs=$POOLER_DIR/certs
mkdir -p "$certs"
(
  cd "$certs" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=faregate test CA" -keyout ca.key -out ca.pem 2>/dev/null &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hba_certu" -keyout rogue.key -out rogue.crt 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null &&
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.crt 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=hba_certu" -keyout client.key -out client.csr 2>/dev/null &&
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null &&
  chmod 600 ./*.key
)
ok $? "test CA, server certificate and client certificates (CN hba_certu) made with openssl"
tls="client_tls_sslmode = prefer"
tlsfiles=("client_tls_cert_file = $certs/server.crt" "client_tls_key_file = $certs/server.key" "client_tls_ca_file = $certs/ca.pem")
# certlogin USER [CERT] [DB]: current_user over TLS with the client certificate CERT (client, rogue or none)
certlogin() {
  local c=${2:-client} extra=""
  [ "$c" != none ] && extra="sslcert=$certs/$c.crt sslkey=$certs/$c.key"
  psql -X -qAt "host=127.0.0.1 port=$POOLER_PORT user=$1 dbname=${3:-postgres} sslmode=require $extra" -c "SELECT current_user" 2>&1
}
pooler_start "auth_type = cert" "auth_file = $POOLER_DIR/users.txt" "$tls" "${tlsfiles[@]}"
ok $? "pooler starts with auth_type = cert"
is "$(certlogin hba_certu)" hba_certu "cert: the certificate's CN is the user name: in"
like "$(certlogin hba_trust)" 'certificate authentication failed for user "hba_trust"' "cert: another user name is refused"
like "$(certlogin hba_certu none)" "connection requires a valid client certificate" "cert: no certificate is refused"
like "$(certlogin hba_certu rogue)" "certificate|SSL|alert|connection" "cert: a certificate from another CA does not get in"
like "$(login hba_certu x)" "connection requires a valid client certificate" "cert: a plaintext login is refused"
pooler_stop QUIT

# an hba cert rule with map=: the ident map decides which user names a certificate's CN may take
hba_start "auth_type = hba" "auth_file = $POOLER_DIR/users.txt" "auth_hba_file = $POOLER_DIR/hba.conf" \
  "auth_ident_file = $POOLER_DIR/ident.conf" "$tls" "${tlsfiles[@]}"
is "$(certlogin hba_mapped client certdb)" hba_mapped "hba cert rule with map=: CN hba_certu maps to hba_mapped"
like "$(certlogin hba_certu client certdb)" 'certificate authentication failed for user "hba_certu"' \
  "… the map decides: hba_certu itself is not listed"
like "$(certlogin hba_trust client rejdb)" 'pg_hba.conf rejects connection for host "127.0.0.1", user "hba_trust", database "rejdb", SSL encryption' \
  "over TLS the refusal says SSL encryption"
pooler_stop QUIT

# auth_type = plain and any
pooler_start "auth_type = plain" "auth_file = $POOLER_DIR/users.txt"
is "$(login hba_plain plain-pw)" hba_plain "plain: a plain secret"
is "$(login hba_md5u md5-pw)" hba_md5u "plain: a cleartext password checked against an md5 secret"
is "$(login hba_scramu scram-pw)" hba_scramu "plain: … and a plain one for a SCRAM-able user"
is "$(raw 127.0.0.1 hba_plain wrong)" 28P01 "plain: a wrong password gets 28P01"
pooler_stop QUIT
pooler_start "auth_type = any" "auth_file = $POOLER_DIR/users.txt"
is "$(login hba_trust anything)" hba_trust "any: no password"
is "$(raw 127.0.0.1 not_in_auth_file x)" ok "any: a user missing from auth_file is let in too (the server decides)"
pooler_stop QUIT
! grep -Eq "md5-pw|scram-pw|plain-pw" "$POOLER_DIR/pooler.log"; ok $? "no password in the pooler's log"
pooler_sanitizer_clean; ok $? "no sanitizer report"
psql_primary -d postgres -q <<'SQL' >/dev/null 2>&1
DROP ROLE IF EXISTS hba_md5u; DROP ROLE IF EXISTS hba_scramu; DROP ROLE IF EXISTS hba_plain;
DROP ROLE IF EXISTS hba_trust; DROP ROLE IF EXISTS hba_peeru; DROP ROLE IF EXISTS hba_certu;
DROP ROLE IF EXISTS hba_mapped;
SQL
done_testing
