#!/usr/bin/env bash
# 30_gtfs_loader.sh: faregate-gtfs, the GTFS loader, as a user runs it: a directory feed with a UTF-8
# BOM, CRLF line ends, quoted fields (commas and doubled quotes inside), columns in any order and an
# unknown column loads; the same feed zipped inside a folder loads; a feed with errors exits 1, names
# file:row: field: reason for each error and loads nothing (the loaded version stays); CSV errors (a
# ragged row, bad quoting, bytes that are not UTF-8) in several files are named the same way, all at
# once, beside the validation errors of the other files; --dry-run checks without loading; a reload replaces the feed; two feeds live side by side;
# and load -> export -> load gives the same tables and the same prices (the round trip).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/tap.sh"
loader=${FG_PG_BIN:-/usr/lib/postgresql/15/bin}/faregate-gtfs
db=fg_gtfs_loader
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conn=(-h "$FG_HOST" -p "$FG_PRIMARY_PORT" -U postgres -d "$db")

[ -x "$loader" ]; ok $? "faregate-gtfs is installed beside psql ($loader)"
recreate_db $db || { ok 1 "database $db created"; done_testing; exit 1; }
psql_primary -d $db -c "SET client_min_messages = warning" -c "CREATE EXTENSION faregate CASCADE" >/dev/null
ok $? "database with faregate"

feed=$tmp/feed/metro
mkdir -p "$feed"
crlf() { sed 's/$/\r/' >"$1"; }   # crlf FILE: writes stdin with CRLF line ends
printf '\xEF\xBB\xBF' >"$feed/agency.txt"
crlf "$tmp/agency" <<'EOF2'
agency_timezone,agency_name,agency_id,agency_url
Europe/Zurich,"Metro, ""the"" agency",m,https://metro.example
EOF2
cat "$tmp/agency" >>"$feed/agency.txt"
crlf "$feed/stops.txt" <<'EOF2'
stop_id,stop_name,stop_lat,stop_lon
a1,"Alpha, North",47.1,8.1
b1,Beta,47.2,8.2
c1,Gamma,47.3,8.3
EOF2
crlf "$feed/routes.txt" <<'EOF2'
route_id,agency_id,route_short_name,route_type,network_id
r1,m,1,3,metro
EOF2
cat >"$feed/areas.txt" <<'EOF2'
area_id,area_name
A,Zone A
B,Zone B
C,Zone C
EOF2
cat >"$feed/stop_areas.txt" <<'EOF2'
area_id,stop_id
A,a1
B,b1
C,c1
EOF2
cat >"$feed/fare_products.txt" <<'EOF2'
fare_product_id,fare_product_name,amount,currency
short,"Short hop",2.50,CHF
long,Long,4.00,CHF
xfer,Transfer,0.50,CHF
EOF2
cat >"$feed/fare_leg_rules.txt" <<'EOF2'
leg_group_id,network_id,from_area_id,to_area_id,fare_product_id,rule_priority
g_short,metro,A,B,short,
g_short,metro,B,C,short,
g_long,metro,A,C,long,1
EOF2
cat >"$feed/fare_transfer_rules.txt" <<'EOF2'
from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type,fare_product_id
g_short,g_short,1,3600,1,0,xfer
EOF2

out=$("$loader" load "$feed" --feed-id metro "${conn[@]}" 2>&1)
ok $? "a directory feed with a BOM, CRLF, quoted fields, shuffled and unknown columns loads"
is "$out" "faregate-gtfs: feed metro: 3 fare rules loaded" "the loader says what it loaded"
is "$(psql_primary -d $db -c "SELECT agency_name || '|' || agency_timezone FROM faregate.gtfs_agencies WHERE feed_id = 'metro'")" \
   'Metro, "the" agency|Europe/Zurich' "quoted fields keep their commas and quotes; the BOM and CR are gone"
journeys="SELECT string_agg(faregate.gtfs_journey_fare(f, j)::text, ' ' ORDER BY n) FROM (VALUES
   (1, ARRAY[row('a1', 'b1', 'r1', '2026-03-23 10:00+01', '2026-03-23 10:10+01')]::faregate.gtfs_leg[]),
   (2, ARRAY[row('a1', 'c1', 'r1', '2026-03-23 10:00+01', '2026-03-23 10:20+01')]::faregate.gtfs_leg[]),
   (3, ARRAY[row('a1', 'b1', 'r1', '2026-03-23 10:00+01', '2026-03-23 10:10+01'), row('b1', 'c1', 'r1', '2026-03-23 10:30+01', '2026-03-23 10:40+01')]::faregate.gtfs_leg[]),
   (4, ARRAY[row('a1', 'b1', 'r1', '2026-03-23 10:00+01', '2026-03-23 10:10+01'), row('b1', 'c1', 'r1', '2026-03-23 11:30+01', '2026-03-23 11:40+01')]::faregate.gtfs_leg[])) v(n, j),
   (VALUES (:'feed')) f(f)"
prices() { psql_primary -d $db -v feed="$1" <<<"$journeys"; }
is "$(prices metro)" "2.50 4.00 3.00 5.00" "prices of the loaded feed (hop, A-C with priority, transfer, transfer too late)"

(cd "$tmp/feed" && zip -qr "$tmp/metro.zip" metro)
out=$("$loader" load "$tmp/metro.zip" --feed-id metro_zip "${conn[@]}" 2>&1)
ok $? "the feed zipped inside a folder loads"
is "$(prices metro_zip)" "2.50 4.00 3.00 5.00" "the zipped feed prices the same"

# a feed with errors: each error named, nothing loaded, the loaded version untouched
bad=$tmp/bad
cp -r "$feed" "$bad"
cat >"$bad/fare_products.txt" <<'EOF2'
fare_product_id,fare_product_name,amount,currency
short,Short,2.555,CHF
long,Long,4.00,CHX
xfer,Transfer,0.50,CHF
EOF2
cat >>"$bad/fare_transfer_rules.txt" <<'EOF2'
g_short,g_long,2,,,0,
EOF2
err=$("$loader" load "$bad" --feed-id metro "${conn[@]}" 2>&1)
rc=$?
is "$rc" 1 "a feed with errors: exit status 1"
like "$err" 'fare_products.txt:2: amount: amount "2.555" has more decimals than CHF has \(2\)' "the bad amount is named with file, row and field"
like "$err" 'fare_products.txt:3: currency: "CHX" is not an ISO 4217 currency code' "the bad currency is named"
like "$err" 'fare_transfer_rules.txt:3: transfer_count: transfer_count is forbidden when from_leg_group_id and to_leg_group_id differ' \
  "the forbidden transfer_count is named"
like "$err" 'GTFS feed "metro" has 3 error\(s\); nothing was loaded' "the count of errors"
is "$(prices metro)" "2.50 4.00 3.00 5.00" "the loaded version of the feed is untouched"

# CSV-level errors in three files at once, beside a validation error in a fourth: all are named
printf 'area_id,stop_id\nA,a1,extra\nB,b1\n' >"$bad/stop_areas.txt"
printf 'area_id,area_name\nA,"Zone A\nB,Zone B\n' >"$bad/areas.txt"
printf 'stop_id,stop_name,stop_lat,stop_lon\na1,Z\xfcrich,47.1,8.1\nb1,"Beta"x,47.2,8.2\nc1,Gamma,47.3,8.3\n' >"$bad/stops.txt"
cp "$feed/fare_transfer_rules.txt" "$bad/"
sed -i 's/^short,Short,2.555,CHF$/short,Short,2.50,CHF/' "$bad/fare_products.txt"
err=$("$loader" load "$bad" --feed-id metro "${conn[@]}" 2>&1)
is "$?" 1 "CSV errors: exit status 1"
like "$err" 'stop_areas.txt:2: field 3: the row has 3 field\(s\) and the header 2' "a ragged row is named by file, row and field"
like "$err" 'areas.txt:2: area_name: a quoted field is not closed' "an unclosed quote is named by file, row and field"
like "$err" 'stops.txt:2: stop_name: the field is not valid UTF-8 \(byte 0xfc' "a byte that is not UTF-8 is named by file, row and field"
like "$err" 'stops.txt:3: stop_name: text after the closing double quote' "text after a closing quote is named by file, row and field"
like "$err" 'fare_products.txt:3: currency: "CHX" is not an ISO 4217 currency code' "a bad file hides no validation error of another file"
like "$err" 'GTFS feed "metro" has [0-9]+ error\(s\); nothing was loaded' "one FG101 error for all of them"
! grep -q 'gtfs_stg_' <<<"$err"; ok $? "no error names a staging table"
is "$(prices metro)" "2.50 4.00 3.00 5.00" "the loaded version of the feed is untouched"
cp "$feed/stop_areas.txt" "$feed/areas.txt" "$feed/stops.txt" "$feed/fare_products.txt" "$bad/"

# --dry-run, reload, side by side
sed -i 's/short,"Short hop",2.50,CHF/short,"Short hop",2.70,CHF/' "$feed/fare_products.txt"
"$loader" load "$feed" --feed-id metro --dry-run "${conn[@]}" >/dev/null 2>&1
ok $? "--dry-run of a good feed succeeds"
is "$(prices metro)" "2.50 4.00 3.00 5.00" "--dry-run loads nothing"
"$loader" load "$feed" --feed-id metro "${conn[@]}" >/dev/null 2>&1
ok $? "reload with a new price"
is "$(prices metro)" "2.70 4.00 3.20 5.40" "the reload replaced the feed's tariff"
is "$(prices metro_zip)" "2.50 4.00 3.00 5.00" "the other feed is untouched"
is "$(psql_primary -d $db -c "SELECT count(*) FROM faregate.gtfs_fare_leg_rules WHERE feed_id = 'metro'")" 3 "no rule was left behind by the reload"

# round trip: load -> export -> load
"$loader" export metro "$tmp/export" "${conn[@]}" >/dev/null 2>&1
ok $? "export of feed metro"
[ -f "$tmp/export/fare_leg_rules.txt" ] && head -1 "$tmp/export/fare_leg_rules.txt" | grep -q rule_priority
ok $? "the export writes fare_leg_rules.txt with its rule_priority column"
"$loader" load "$tmp/export" --feed-id metro_again "${conn[@]}" >/dev/null 2>&1
ok $? "the exported files load again"
is "$(prices metro_again)" "$(prices metro)" "load -> export -> load gives the same prices"
tables="SELECT string_agg(t || ':' || h, ' ' ORDER BY t) FROM (
  SELECT 'products' t, md5(string_agg(concat_ws(',', fare_product_id, fare_product_name, rider_category_id, fare_media_id, amount, currency), ';' ORDER BY fare_product_id)) h FROM faregate.gtfs_fare_products WHERE feed_id = :'feed'
  UNION ALL SELECT 'leg_rules', md5(string_agg(concat_ws(',', leg_group_id, network_id, from_area_id, to_area_id, from_timeframe_group_id, to_timeframe_group_id, fare_product_id, rule_priority), ';' ORDER BY leg_group_id, from_area_id)) FROM faregate.gtfs_fare_leg_rules WHERE feed_id = :'feed'
  UNION ALL SELECT 'transfer_rules', md5(string_agg(concat_ws(',', from_leg_group_id, to_leg_group_id, transfer_count, duration_limit, duration_limit_type, fare_transfer_type, fare_product_id), ';')) FROM faregate.gtfs_fare_transfer_rules WHERE feed_id = :'feed'
  UNION ALL SELECT 'stops', md5(string_agg(concat_ws(',', stop_id, stop_name, location_type, parent_station, zone_id), ';' ORDER BY stop_id)) FROM faregate.gtfs_stops WHERE feed_id = :'feed'
  UNION ALL SELECT 'routes', md5(string_agg(concat_ws(',', route_id, agency_id, network_id), ';' ORDER BY route_id)) FROM faregate.gtfs_routes WHERE feed_id = :'feed'
  UNION ALL SELECT 'feed', md5(concat_ws(',', timezone, has_rule_priority, files)) FROM faregate.gtfs_feeds WHERE feed_id = :'feed') x"
is "$(psql_primary -d $db -v feed=metro_again <<<"$tables")" "$(psql_primary -d $db -v feed=metro <<<"$tables")" \
  "load -> export -> load gives the same rows in every fare table"

"$loader" load /nonexistent --feed-id x "${conn[@]}" >/dev/null 2>&1
is "$?" 2 "a feed that does not exist: exit status 2"
"$loader" load "$feed" "${conn[@]}" >/dev/null 2>&1
is "$?" 2 "no --feed-id: exit status 2 (usage)"

psql_primary -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
done_testing
