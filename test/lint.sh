#!/usr/bin/env bash
# lint.sh: static analysis of pooler/ and extension/ with the checked-in configuration (.clang-tidy,
# the cppcheck options below), and the layout (.clang-format) of the files in test/clang-format-files.txt.
# Emits TAP: one test per tool and directory, with the findings as diagnostics. Run by
# test/run-suites.sh as the "lint" suite.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/harness/tap.sh
PG_CONFIG=${PG_CONFIG:-$(command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)}
pg_includes="-I$("$PG_CONFIG" --includedir-server)"
pooler_flags="-std=gnu11 -D_GNU_SOURCE -Ipooler $(pkg-config --cflags libevent libpq openssl)"

# cppcheck reads the project's own headers only: PostgreSQL's headers are too macro-heavy for it (it
# would analyse them and report their can't-happen paths), so their macros are declared unknown-safe.
cppcheck_common=(--enable=warning,portability,performance --std=c11 --error-exitcode=1 --inline-suppr
  --quiet --suppress=missingIncludeSystem --suppress=unknownMacro --suppress=toomanyconfigs)

run_check() { # run_check NAME COMMAND...
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  ok $rc "$name"
  [ $rc -eq 0 ] || printf '%s\n' "$out" | head -60 | sed 's/^/#   /'
}

cppcheck_dir() { cppcheck "${cppcheck_common[@]}" -I "$1" "$1"/*.c; }
tidy_dir() { # tidy_dir DIR FLAGS: clang-tidy exits non-zero on any finding (WarningsAsErrors: '*')
  # One process per file: clang-tidy 14's analyzer carries state from one file to the next when given
  # several (a false valist.Uninitialized in config.c appears only after another file was analysed).
  # The files are independent, so they are checked in parallel, one process per core.
  local dir=$1; shift
  printf '%s\0' "$dir"/*.c | xargs -0 -P "$(nproc)" -I{} clang-tidy --quiet {} -- "$@"
}

# format_listed: the files in test/clang-format-files.txt are laid out as the top-level .clang-format
# says (the rest of the tree is not held to it yet: see that file). A listed file that is missing, or a
# list without files, fails: the check must not pass by checking nothing.
format_listed() {
  local f n=0 rc=0
  [ -f .clang-format ] || { echo ".clang-format is missing at the top of the tree"; return 1; }
  while read -r f; do
    case $f in '' | '#'*) continue ;; esac
    n=$((n + 1))
    [ -f "$f" ] || { echo "$f: listed in test/clang-format-files.txt but missing"; rc=1; continue; }
    clang-format --style=file --dry-run --Werror "$f" || rc=1
  done <test/clang-format-files.txt
  [ $n -gt 0 ] || { echo "test/clang-format-files.txt lists no file"; rc=1; }
  return $rc
}

run_check "cppcheck pooler/" cppcheck_dir pooler
run_check "cppcheck extension/" cppcheck_dir extension
# shellcheck disable=SC2086
run_check "clang-tidy pooler/" tidy_dir pooler $pooler_flags
run_check "clang-tidy extension/" tidy_dir extension -std=gnu11 -Iextension "$pg_includes"
run_check "clang-format (test/clang-format-files.txt)" format_listed
done_testing
