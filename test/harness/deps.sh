#!/usr/bin/env bash
# deps.sh: installs from Debian every package that faregate's build, tests, demo and benchmarks need.
# Idempotent and quick: when every package is present it only asks dpkg and exits; `apt-get update` runs
# only when something is missing. Must run as root (or with the packages already present).
set -euo pipefail

# Every program a script under test/ runs (tests, benchmarks, the demo, the fuzzers) comes from one of these
# packages or from Debian's minimal base (debootstrap --variant=minbase: coreutils, grep, sed, mawk,
# findutils, util-linux's basics, bash, perl-base). test/README.md lists which test needs which tool.
packages=(
  build-essential pkg-config                       # the build (cc, make)
  clang libclang-rt-14-dev                          # ASan+UBSan builds, libFuzzer targets (test/fuzz)
  postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-pgtap postgresql-15-tdigest
  libtap-parser-sourcehandler-pgtap-perl perl       # pg_prove; prove (TAP::Harness)
  libpq-dev libevent-dev libssl-dev
  pgbouncer pgpool2 prometheus-pgbouncer-exporter   # peers of the benchmarks and of 45_ops_metrics
  cppcheck clang-tidy clang-format                  # test/lint.sh
  libpg-query-dev                                   # test/unit/test_sqlscan_oracle.c: PostgreSQL's parser as oracle
  python3 python3-psycopg                           # the Python tests (standard library + psycopg 3)
  python3-asyncpg libpostgresql-jdbc-java openjdk-17-jdk-headless  # 40_pooler_startup_params.py: real drivers
  valgrind                                          # test/valgrind
  bc                                                # test/bench/bench_fares.sh
  curl                                              # 49_ops_docs.sh reads /metrics
  openssl                                           # 47_ops_tls.sh makes its CA and certificates
  systemd                                           # systemd-analyze verify (49_ops_docs.sh)
  procps iproute2 util-linux                        # pgrep/ps, ss, flock/setsid
  unzip zip                                         # faregate-gtfs reads .zip feeds; 30_gtfs_loader.sh makes them
  patroni python3-pysyncobj                        # test/harness/patroni.sh: Patroni 3.0 with its Raft store
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postgresql-common would create and start a 'main' cluster on port 5432; the project never uses
  # it, so tell postgresql-common not to create one.
  mkdir -p /etc/postgresql-common/createcluster.d
  if [ ! -f /etc/postgresql-common/createcluster.d/faregate-no-main.conf ]; then
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/faregate-no-main.conf
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # pgbouncer's and pgpool2's packages start system services; the benchmarks run their own instances.
  for svc in pgbouncer pgpool2; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
    service "$svc" stop >/dev/null 2>&1 || true
  done
  echo "deps: done"
fi
