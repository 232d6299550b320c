# faregate: top-level Makefile. It only dispatches to the parts (extension/, pooler/, test/).
# `make check` and `make demo` install what is missing from Debian first (test/harness/deps.sh).

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
export PG_CONFIG

.PHONY: all install check check-patroni demo bench fuzz soak clean deps

all:
	$(MAKE) -C extension
	$(MAKE) -C pooler

deps:
	test/harness/deps.sh

install: all
	$(MAKE) -C extension install
	$(MAKE) -C pooler install

check: deps
	test/run-all.sh

# check-patroni: every Patroni scenario (switchover, kill -9 of the leader's postmaster, the
# leader's whole node stopped, a 4th member added and found by REST discovery; a few minutes);
# make check runs the switchover alone
check-patroni: deps
	$(MAKE) -C pooler
	FG_PATRONI_SCENARIOS="switchover kill9 nodestop addnode" test/integration/70_patroni_failover.py

demo: deps
	test/demo.sh

bench: deps
	test/bench/run.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	test/fuzz/run.sh $(FUZZ_SECONDS)

# soak: SOAK_MINUTES (default 30) of mixed pgbench load with replica restarts; not part of check
soak: deps
	test/soak/run.sh

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C pooler clean
	$(MAKE) -C test/unit clean
	$(MAKE) -C test/component clean
	$(MAKE) -C test/fuzz clean
	$(MAKE) -C test/load clean
