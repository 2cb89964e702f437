# Scutum: `make run` serves the gateway on :4000; `make test` runs every test; `make bench` measures.
SHELL := /bin/bash

.PHONY: run test bench build release stop clean-data

run:
	@deploy/local/run.sh

test:
	@deploy/local/test.sh

bench:
	@Benchmarks/bench.sh

build:
	swift build

release:
	swift build -c release

# Stops the PostgreSQL and Redis that `make run` started.
stop:
	@deploy/local/services.sh stop run $${SCUTUM_RUN_PG_PORT:-25329} $${SCUTUM_RUN_REDIS_PORT:-63799}

# Stops every local service and deletes their data (keys, spend...) for a fresh start.
clean-data:
	@for spec in "run 25329 63799" "test 25432 26379" "bench 25434 26381" "drill 25438 26385"; do deploy/local/services.sh stop $$spec 2>/dev/null || true; done
	@for link in .data/*/pg; do [ -L "$$link" ] && rm -rf "$$(readlink -f "$$link")"; done; rm -rf .data
