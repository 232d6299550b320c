#!/usr/bin/env bash
# 41_pooler_config_docs.sh: every key of faregate-pooler's config_keys[] (pooler/config.c) is documented
# in docs/pooler.md (as `key`) and set in the sample docs/faregate-pooler.ini, the sample is a valid
# configuration, and neither document names a key the pooler does not have.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/test/harness/tap.sh"
bin=${FG_POOLER_BIN:-pooler/faregate-pooler}
case "$bin" in /*) ;; *) bin=$top/$bin ;; esac

# keys as the table declares them: STR_KEY(name, …), INT_KEY(…), TIME_KEY(…) or {"name", CFK_…}
mapfile -t keys < <(sed -n '/^const ConfigKey config_keys\[\]/,/^};/p' "$top/pooler/config.c" |
  grep -oE '^[[:space:]]*([A-Z]+_KEY\(([a-z0-9_]+)|\{"([a-z0-9_]+)")' | grep -oE '[a-z0-9_]+"?$' | tr -d '"')
ok $([ ${#keys[@]} -ge 20 ] && echo 0 || echo 1) "config_keys[] read from pooler/config.c (${#keys[@]} keys)"
missing_md=()
missing_ini=()
for key in "${keys[@]}"; do
  grep -q "\`$key\`" "$top/docs/pooler.md" || missing_md+=("$key")
  grep -Eq "^;?[[:space:]]*$key[[:space:]]*=" "$top/docs/faregate-pooler.ini" || missing_ini+=("$key")
done
is "${missing_md[*]}" "" "every key is documented in docs/pooler.md"
is "${missing_ini[*]}" "" "every key is in docs/faregate-pooler.ini"
# keys set in the sample's [pooler] section that the pooler does not know
unknown=()
while read -r key; do
  printf '%s\n' "${keys[@]}" | grep -qx "$key" || unknown+=("$key")
done < <(sed -n '/^\[pooler\]/,/^; \[\(users\|peers\)\]/p' "$top/docs/faregate-pooler.ini" |
  grep -oE '^;?[[:space:]]*[a-z][a-z0-9_]*[[:space:]]*=' | grep -oE '[a-z][a-z0-9_]*')
is "${unknown[*]}" "" "the sample sets no unknown key"
out=$("$bin" -C "$top/docs/faregate-pooler.ini" 2>&1)
ok $? "the sample configuration is valid (faregate-pooler -C)"
[ $? -eq 0 ] || diag "$out"
done_testing
