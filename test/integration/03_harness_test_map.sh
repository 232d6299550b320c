#!/usr/bin/env bash
# 03_harness_test_map.sh: test/README.md's map of features to tests names every test file there is
# (unit/, component/, fuzz/, pgtap/, integration/), so "where is the test of X?" has an answer, and names
# no test file that does not exist.
set -u
. "$(dirname "$0")/../harness/tap.sh"
cd "$(dirname "$0")/.." || exit 1
map=README.md
files=$(ls unit/test_*.c component/test_*.c fuzz/fuzz_*.c pgtap/*.sql integration/[0-9]*_*.sh \
  integration/[0-9]*_*.py 2>/dev/null)
n=0
for f in $files; do
  n=$((n + 1))
  grep -qF -- "$f" "$map"; ok $? "$f is in test/README.md's map"
done
ok $([ "$n" -ge 50 ] && echo 0 || echo 1) "the map was checked against the tree's test files ($n of them)"
missing=$(grep -oE '(unit|component|fuzz|pgtap|integration)/[A-Za-z0-9_]+\.(c|sql|sh|py)' "$map" | sort -u |
  while read -r f; do [ -e "$f" ] || echo "$f"; done | tr '\n' ' ')
is "$missing" "" "every test file the map names exists"
done_testing
