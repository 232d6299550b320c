#!/usr/bin/env bash
# 44_pooler_dropin.sh: faregate-pooler as a PgBouncer drop-in (issue 15, configuration and command line).
# PgBouncer's command line (-q/--quiet, -u/--user, -V, -h, -R refused, one positional argument); a
# pgbouncer.ini written the way PgBouncer 1.25's doc/config.md shows it, with every key of that
# reference, [users], [peers] and %include, starts with `--quiet` and serves; the effect of the applied
# keys (unix_socket_mode, listen_backlog, tcp_keepalive/tcp_keepidle, per-database min_pool_size,
# [users] pool_size); each key accepted only at its default stops start-up at another value with
# file:line and the reason; a misspelt key names the nearest one; Debian's and PgBouncer's sample
# pgbouncer.ini pass -C with only their paths and port changed.
set -u
. "$(dirname "$0")/40_pooler_lib.bash"

pooler_fresh_login_roles dropin_small

# --- the command line ---------------------------------------------------------------------------
out=$("$POOLER_BIN" -h 2>&1)
ok $? "-h exits 0"
like "$out" "--quiet" "-h lists --quiet"
like "$out" "--user=USER" "-h lists -u/--user"
out=$("$POOLER_BIN" --reboot "$POOLER_DIR/none.ini" 2>&1)
is "$?" 2 "-R/--reboot is refused (exit 2)"
like "$out" "so_reuseport" "the -R message points to so_reuseport"
"$POOLER_BIN" a.ini b.ini >/dev/null 2>&1
is "$?" 2 "two positional arguments are refused (the config file is the only one)"
"$POOLER_BIN" --no-such-flag x.ini >/dev/null 2>&1
is "$?" 2 "an unknown option is refused"

# --- a pgbouncer.ini as PgBouncer's docs write it, every key of 1.25's config.md ---------------------
POOLER_PORT=$(pooler_free_port)
group=$(id -gn)
cat >"$POOLER_DIR/included.ini" <<EOF
[databases]
included = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres
EOF
write_pgbouncer_ini() {
  cat <<EOF
;; database name = connect string
[databases]
postgres = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres auth_dbname=postgres pool_size=4 min_pool_size=2 reserve_pool_size=1 connect_query='' pool_mode=transaction load_balance_hosts=round-robin max_db_connections=20 max_db_client_connections=0 server_lifetime=1800 client_encoding='' datestyle='' timezone=''
legacy = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres reserve_pool=1
forced = host=$FG_HOST port=$FG_PRIMARY_PORT dbname=postgres user=postgres

[users]
dropin_small = pool_size=1 reserve_pool_size=0 pool_mode=transaction max_user_connections=1 query_timeout=0 idle_transaction_timeout=0 transaction_timeout=0 client_idle_timeout=0 max_user_client_connections=0

[peers]
1 = host=$POOLER_DIR port=$POOLER_PORT pool_size=2

[pgbouncer]
;;; Administrative settings
logfile = $POOLER_DIR/pooler.log
pidfile = $POOLER_DIR/pooler.pid
;;; Where to wait for clients
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir = $POOLER_DIR
unix_socket_mode = 0770
unix_socket_group = $group
user =
;;; Pooler personality questions
pool_mode = transaction
max_client_conn = 100
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 0
reserve_pool_timeout = 5.0
max_db_connections = 0
max_db_client_connections = 0
max_user_connections = 0
max_user_client_connections = 0
server_round_robin = 0
ignore_startup_parameters = extra_float_digits
peer_id = 1
disable_pqexec = 0
application_name_add_host = 0
conffile = $POOLER_DIR/pooler.ini
service_name = pgbouncer
job_name = pgbouncer
stats_period = 60
max_prepared_statements = 200
scram_iterations = 4096
;;; Authentication settings
auth_type = trust
auth_hba_file =
auth_ident_file =
auth_file = $POOLER_DIR/userlist.txt
auth_user =
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=\$1
auth_dbname =
auth_ldap_options =
;;; Logging
syslog = 0
syslog_ident = pgbouncer
syslog_facility = daemon
log_connections = 1
log_disconnections = 1
log_pooler_errors = 1
log_stats = 1
verbose = 0
;;; Console access control
admin_users = postgres
stats_users = stats, postgres
;;; Connection sanity checks, timeouts
server_reset_query = DISCARD ALL
server_reset_query_always = 0
server_check_delay = 30
server_check_query = select 1
server_fast_close = 0
server_lifetime = 3600
server_idle_timeout = 600
server_connect_timeout = 15
server_login_retry = 15
client_login_timeout = 60
autodb_idle_timeout = 3600
query_wait_notify = 5
;;; TLS settings
client_tls_sslmode = disable
client_tls_key_file =
client_tls_cert_file =
client_tls_ca_file =
client_tls_protocols = secure
client_tls_ciphers = default
client_tls13_ciphers =
client_tls_ecdhcurve = auto
client_tls_dheparams = auto
server_tls_sslmode = disable
server_tls_ca_file =
server_tls_key_file =
server_tls_cert_file =
server_tls_protocols = secure
server_tls_ciphers = default
server_tls13_ciphers =
;;; Dangerous timeouts
query_timeout = 0
query_wait_timeout = 120
cancel_wait_timeout = 10
client_idle_timeout = 0
idle_transaction_timeout = 0
transaction_timeout = 0
suspend_timeout = 10
;;; Low-level tuning options
pkt_buf = 4096
max_packet_size = 2147483647
listen_backlog = 77
sbuf_loopcnt = 5
so_reuseport = 0
tcp_defer_accept = 0
tcp_socket_buffer = 0
tcp_keepalive = 1
tcp_keepcnt = 3
tcp_keepidle = 45
tcp_keepintvl = 10
tcp_user_timeout = 0
;;; session state and DNS
track_extra_parameters = IntervalStyle
dns_max_ttl = 15
dns_nxdomain_ttl = 15
dns_zone_check_period = 0
resolv_conf =
%include $POOLER_DIR/included.ini
EOF
}
write_pgbouncer_ini >"$POOLER_DIR/pooler.ini"
# auth_type = trust still admits only the users in auth_file (PgBouncer's meaning)
printf '"postgres" ""\n"dropin_small" ""\n' >"$POOLER_DIR/userlist.txt"
chmod 600 "$POOLER_DIR/userlist.txt"

# every [pgbouncer] key of PgBouncer 1.25's doc/config.md (## Generic settings ... ## Low-level network
# settings); checked against that file below when a git copy of PgBouncer is at hand
pgb_keys="track_extra_parameters dns_max_ttl dns_nxdomain_ttl dns_zone_check_period resolv_conf logfile pidfile listen_addr listen_port unix_socket_dir unix_socket_mode unix_socket_group user
pool_mode max_client_conn default_pool_size min_pool_size reserve_pool_size reserve_pool_timeout
max_db_connections max_db_client_connections max_user_connections max_user_client_connections
server_round_robin ignore_startup_parameters peer_id disable_pqexec application_name_add_host conffile
service_name job_name stats_period max_prepared_statements scram_iterations auth_type auth_hba_file
auth_ident_file auth_file auth_user auth_query auth_dbname auth_ldap_options syslog syslog_ident
syslog_facility log_connections log_disconnections log_pooler_errors log_stats verbose admin_users
stats_users server_reset_query server_reset_query_always server_check_delay server_check_query
server_fast_close server_lifetime server_idle_timeout server_connect_timeout server_login_retry
client_login_timeout autodb_idle_timeout query_wait_notify client_tls_sslmode client_tls_key_file
client_tls_cert_file client_tls_ca_file client_tls_protocols client_tls_ciphers client_tls13_ciphers
client_tls_ecdhcurve client_tls_dheparams server_tls_sslmode server_tls_ca_file server_tls_key_file
server_tls_cert_file server_tls_protocols server_tls_ciphers server_tls13_ciphers query_timeout
query_wait_timeout cancel_wait_timeout client_idle_timeout idle_transaction_timeout transaction_timeout
suspend_timeout pkt_buf max_packet_size listen_backlog sbuf_loopcnt so_reuseport tcp_defer_accept
tcp_socket_buffer tcp_keepalive tcp_keepcnt tcp_keepidle tcp_keepintvl tcp_user_timeout"
missing=()
for key in $pgb_keys; do
  grep -q "^$key =" "$POOLER_DIR/pooler.ini" || missing+=("$key")
done
pgb_git=/work/.mirror/pgbouncer+pgbouncer/repo
if doc_keys=$(git --git-dir="$pgb_git" show pgbouncer_1_25_2:doc/config.md 2>/dev/null |
  awk '/^## Section \[databases\]/ { exit } /^### / { print $2 }') && [ -n "$doc_keys" ]; then
  extra=$(comm -23 <(echo "$doc_keys" | sort -u) <(echo $pgb_keys | tr ' ' '\n' | sort -u) | tr '\n' ' ')
  is "$extra" "" "the test's key list holds every [pgbouncer] key of PgBouncer 1.25's doc/config.md ($(echo "$doc_keys" | wc -l))"
else
  diag "no git copy of PgBouncer at $pgb_git (DEVELOPERS.md): the key list is not compared with its doc/config.md"
fi
is "${missing[*]}" "" "the test's pgbouncer.ini sets each of the $(echo $pgb_keys | wc -w) keys of PgBouncer 1.25's [pgbouncer] reference"

"$POOLER_BIN" --quiet "$POOLER_DIR/pooler.ini" >"$POOLER_DIR/stderr.log" 2>&1 &
POOLER_PID=$!
echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
wait_for 20 eval '(exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null'
ok $? "faregate-pooler --quiet starts on the every-key pgbouncer.ini"
[ -s "$POOLER_DIR/stderr.log" ] && diag "$(head -5 "$POOLER_DIR/stderr.log")"
is "$(psql_pooler -c 'SELECT 1')" 1 "a query runs through it"
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d included -c 'SELECT 2')" 2 \
  "a database from the %include'd file serves"
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d legacy -c 'SELECT 3')" 3 \
  "a database with reserve_pool= (the old name) serves"
is "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d pgbouncer -c 'SHOW VERSION')" \
  "$("$POOLER_BIN" -V | head -1)" "the first line of -V is SHOW VERSION's row (PgBouncer's suite compares them)"
# PgBouncer's peer rule: user pgbouncer over the Unix socket from the pooler's own OS user is a full
# admin without a password, though it is in neither admin_users nor auth_file; over TCP it is not
is "$(psql -X -qAt -h "$POOLER_DIR" -p "$POOLER_PORT" -U pgbouncer -d pgbouncer -c 'SHOW VERSION' 2>&1)" \
  "$("$POOLER_BIN" -V | head -1)" "user pgbouncer over the Unix socket from the pooler's OS user reaches the console"
like "$(psql -X -qAt -h "$POOLER_DIR" -p "$POOLER_PORT" -U pgbouncer -d pgbouncer -c 'PAUSE nosuchdb' 2>&1)" \
  "no such database|nosuchdb" "… as a full admin (PAUSE is answered, not refused as a SHOW-only user)"
like "$(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U pgbouncer -d pgbouncer -c 'SHOW VERSION' 2>&1)" \
  "not allowed to connect to the admin console" "user pgbouncer over TCP is refused (the rule needs the socket's peer credentials)"

# --quiet: the log went to logfile, nothing to stderr (logfile is set, so stderr would be empty anyway);
# the check without logfile is below
is "$(wc -c <"$POOLER_DIR/stderr.log")" 0 "--quiet with a logfile: nothing on stderr"

# unix_socket_mode / unix_socket_group
is "$(stat -c '%a %G' "$POOLER_DIR/.s.PGSQL.$POOLER_PORT")" "770 $group" "unix_socket_mode 0770 and unix_socket_group apply"
# listen_backlog: ss shows a listening socket's backlog as Send-Q
is "$(ss -Hltn "sport = :$POOLER_PORT" | awk '{print $3}' | head -1)" 77 "listen_backlog = 77 is the listen() backlog"

# tcp_keepalive + tcp_keepidle on the accepted client connection: ss -o shows the keepalive timer
exec 5< <(psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT pg_sleep(3)' 2>&1)
wait_for 10 eval 'ss -Htno state established "( sport = :$POOLER_PORT )" | grep -q "timer:(keepalive"'
ok $? "tcp_keepalive = 1: the accepted client connection has a keepalive timer"
timer=$(ss -Htno state established "( sport = :$POOLER_PORT )" | grep -o 'timer:(keepalive,[0-9.a-z]*' | head -1)
like "$timer" "keepalive,(4[0-5]|3[0-9])" "tcp_keepidle = 45: its first probe is due within 45 s ($timer)"
cat <&5 >/dev/null
exec 5<&-

# per-database min_pool_size = 2: after the first login the pool keeps 2 servers
wait_for 20 eval '[ "$(psql_pooler -d pgbouncer -c "SHOW SERVERS" 2>/dev/null | awk -F"|" "\$3 == \"postgres\" && \$2 == \"postgres\"" | wc -l)" -ge 2 ]'
ok $? "per-database min_pool_size = 2 opens two servers for postgres/postgres"

# [users] pool_size = 1 for dropin_small: three clients at once share one server
small_pids=()
for i in 1 2 3; do
  psql -X -qAt -h 127.0.0.1 -p "$POOLER_PORT" -U dropin_small -d postgres -c 'SELECT pg_sleep(0.5), 1' \
    >"$POOLER_DIR/small.$i" 2>&1 &
  small_pids+=($!)
done
max_servers=0
for _ in $(seq 1 20); do
  n=$(psql_pooler -d pgbouncer -c "SHOW SERVERS" 2>/dev/null | awk -F'|' '$2 == "dropin_small"' | wc -l)
  [ "$n" -gt "$max_servers" ] && max_servers=$n
  sleep 0.1
done
wait "${small_pids[@]}"
is "$(cat "$POOLER_DIR"/small.* | grep -c '|1$')" 3 "the three dropin_small clients all got their answer"
is "$max_servers" 1 "[users] pool_size = 1: dropin_small never had more than one server"

# SHOW DATABASES shows the database line's own values (PgBouncer's columns 7-12), SHOW USERS the [users] ones
is "$(psql_pooler -d pgbouncer -c 'SHOW DATABASES' | awk -F'|' '$1 == "postgres" { print $7, $8, $9, $10, $12 }')" \
  "2 1 1800 transaction 20" "SHOW DATABASES: min_pool_size, reserve_pool_size, server_lifetime, pool_mode, max_connections of the line"
is "$(psql_pooler -d pgbouncer -c 'SHOW DATABASES' | awk -F'|' '$1 == "legacy" { print $7, $8, $9, "<" $10 ">", $12 }')" \
  "0 1 3600 <> 0" "SHOW DATABASES: a line without them shows the [pgbouncer] values, NULL pool_mode, and reserve_pool= as reserve_pool_size"
is "$(psql_pooler -d pgbouncer -c 'SHOW USERS' | awk -F'|' '$1 == "dropin_small" { print $2, $3, $4, $5 }')" \
  "1 0 transaction 1" "SHOW USERS: pool_size, reserve_pool_size, pool_mode, max_user_connections of the [users] line"
is "$(psql_pooler -d pgbouncer -c 'SHOW USERS' | awk -F'|' '$1 == "postgres" { print "<" $2 "><" $3 "><" $4 ">", $5 }')" \
  "<><><> 0" "SHOW USERS: a user without a [users] line has empty values and the [pgbouncer] max_user_connections"
pooler_stop QUIT

# --quiet without a logfile: stderr stays empty; without --quiet it gets the log lines
sed -i 's|^logfile = .*|logfile =|' "$POOLER_DIR/pooler.ini"
for flag in --quiet ""; do
  : >"$POOLER_DIR/stderr.log"
  "$POOLER_BIN" $flag "$POOLER_DIR/pooler.ini" >"$POOLER_DIR/stderr.log" 2>&1 &
  POOLER_PID=$!
  echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
  wait_for 20 eval '(exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null'
  psql_pooler -c 'SELECT 1' >/dev/null
  pooler_stop QUIT
  lines=$(grep -c . "$POOLER_DIR/stderr.log")
  if [ -n "$flag" ]; then is "$lines" 0 "--quiet without logfile: nothing on stderr"
  else ok $([ "$lines" -gt 0 ] && echo 0 || echo 1) "without --quiet the log goes to stderr ($lines lines)"; fi
done

# -u/--user: becomes that OS user after binding (the pidfile is written after the switch: none here)
# (the harness runs as root, and the clusters run as the postgres OS user)
if [ "$(id -u)" = 0 ]; then
  sed -i 's|^pidfile = .*|pidfile =|' "$POOLER_DIR/pooler.ini"
  : >"$POOLER_DIR/stderr.log"
  "$POOLER_BIN" -q -u postgres "$POOLER_DIR/pooler.ini" >"$POOLER_DIR/stderr.log" 2>&1 &
  POOLER_PID=$!
  echo "$POOLER_PID" >>"$FG_CLUSTER_DIR/pids"
  wait_for 20 eval '(exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null'
  is "$(ps -o user= -p "$POOLER_PID" | tr -d ' ')" postgres "-u postgres: the pooler runs as postgres"
  is "$(psql_pooler -c 'SELECT 4')" 4 "-u postgres: it serves"
  pooler_stop QUIT
else
  ok 1 "-u test: the integration suite runs as root (test/README.md), this run does not"
fi
out=$("$POOLER_BIN" -u no_such_os_user_fg "$POOLER_DIR/pooler.ini" 2>&1)
is "$?" 1 "-u with an unknown OS user exits 1"
like "$out" 'no such OS user' "... saying so"

# --- values faregate-pooler does not support stop start-up, with file:line and the reason --------------
write_pgbouncer_ini >"$POOLER_DIR/base.ini"
refuse() { # KEY VALUE FRAGMENT
  sed "s|^$1 =.*|$1 = $2|" "$POOLER_DIR/base.ini" >"$POOLER_DIR/bad.ini"
  local line out
  line=$(grep -n "^$1 = " "$POOLER_DIR/bad.ini" | cut -d: -f1)
  out=$("$POOLER_BIN" -C "$POOLER_DIR/bad.ini" 2>&1)
  ok $([ $? -eq 1 ] && echo 0 || echo 1) "$1 = $2 stops start-up"
  like "$out" "bad.ini:$line: .*$3" "... at its line, saying: $3"
}
for kv in "server_round_robin 1" "disable_pqexec 1" "application_name_add_host 1" "scram_iterations 10000" \
  "auth_ldap_options x" "client_tls_ecdhcurve prime256v1" "client_tls_dheparams legacy" \
  "max_packet_size 65536"; do
  set -- $kv
  refuse "$1" "$2" "$1 is not supported by faregate-pooler at any value but its default"
done
# the TLS lists are applied (47_ops_tls.sh shows their effect): other values pass, a wrong one is refused
for kv in "client_tls_protocols tlsv1.3" "client_tls_ciphers HIGH" "client_tls13_ciphers TLS_AES_256_GCM_SHA384" \
  "server_tls_protocols tlsv1.2,tlsv1.3" "server_tls_ciphers all" "server_tls13_ciphers TLS_AES_256_GCM_SHA384"; do
  set -- $kv
  sed "s|^$1 =.*|$1 = $2|" "$POOLER_DIR/base.ini" >"$POOLER_DIR/tls.ini"
  "$POOLER_BIN" -C "$POOLER_DIR/tls.ini" >/dev/null 2>&1
  ok $? "$1 = $2 is accepted (applied)"
  sed "s|^$1 =.*|$1 = NO_SUCH_$2|" "$POOLER_DIR/base.ini" >"$POOLER_DIR/tls.ini"
  out=$("$POOLER_BIN" -C "$POOLER_DIR/tls.ini" 2>&1)
  ok $([ $? -eq 1 ] && echo 0 || echo 1) "$1 = NO_SUCH_$2 stops start-up"
  like "$out" "${1%_ciphers}" "... naming the setting"
done
sed 's|^listen_backlog = |listen_bakclog = |' "$POOLER_DIR/base.ini" >"$POOLER_DIR/bad.ini"
like "$("$POOLER_BIN" -C "$POOLER_DIR/bad.ini" 2>&1)" 'unknown setting "listen_bakclog"; did you mean "listen_backlog"\?' \
  "a misspelt key stops start-up naming the nearest key"
sed 's|min_pool_size=2|min_pol_size=2|' "$POOLER_DIR/base.ini" >"$POOLER_DIR/bad.ini"
like "$("$POOLER_BIN" -C "$POOLER_DIR/bad.ini" 2>&1)" 'bad.ini:3: unknown database setting "min_pol_size"; did you mean "min_pool_size"\?' \
  "a misspelt database word names the nearest word"
sed "s|timezone=..|timezone=$(printf 'x%.0s' $(seq 1 80))|" "$POOLER_DIR/base.ini" >"$POOLER_DIR/bad.ini"
like "$("$POOLER_BIN" -C "$POOLER_DIR/bad.ini" 2>&1)" 'timezone is longer than 63 bytes' \
  "a database's timezone longer than a parameter value can be stops start-up with the reason"

# --- PgBouncer's and Debian's sample pgbouncer.ini, only paths and port changed -----------------------
sample_check() { # NAME FILE
  sed -e "s|^logfile = .*|logfile = $POOLER_DIR/sample.log|" -e "s|^pidfile = .*|pidfile = $POOLER_DIR/sample.pid|" \
    -e "s|^listen_port = .*|listen_port = $POOLER_PORT|" -e "s|^auth_file = .*|auth_file = $POOLER_DIR/userlist.txt|" \
    -e "s|^;* *unix_socket_dir = .*|unix_socket_dir = $POOLER_DIR|" "$2" >"$POOLER_DIR/sample.ini"
  out=$("$POOLER_BIN" -C "$POOLER_DIR/sample.ini" 2>&1)
  ok $? "$1 passes -C with only its paths and port changed"
  [ -n "$out" ] && diag "$out"
}
# Debian's pgbouncer package is in test/harness/deps.sh (a peer of the benchmarks)
sample_check "Debian's /etc/pgbouncer/pgbouncer.ini" /etc/pgbouncer/pgbouncer.ini
if git --git-dir="$pgb_git" show pgbouncer_1_25_2:etc/pgbouncer.ini >"$POOLER_DIR/pgb-sample.ini" 2>/dev/null; then
  sample_check "PgBouncer 1.25's etc/pgbouncer.ini" "$POOLER_DIR/pgb-sample.ini"
else
  diag "no git copy of PgBouncer at $pgb_git (DEVELOPERS.md): its sample pgbouncer.ini is not checked"
fi

psql_primary -d postgres -q -c 'DROP ROLE IF EXISTS dropin_small' >/dev/null 2>&1
done_testing
