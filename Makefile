# regmo – see README.md. `make run` starts the service with a local PostgreSQL and demo data;
# `make test` runs every test against a throwaway PostgreSQL it starts and removes itself.

SHELL   := /bin/bash
GO      ?= go
BIN     := bin
DATA    := .regmo
PGDIR   := $(DATA)/pg
REDOCLY := @redocly/cli@2.77.0

# go.mod names the toolchain with the security fixes (go1.26.9: GO-2026-6617 in net/http);
# this machine's Go defaults to GOTOOLCHAIN=local, so let it fetch that one when older.
export GOTOOLCHAIN ?= auto

.PHONY: run stop test chromium bench bench-scale bench-go bench-tools loadtest loadtest-ha ha-tools generate check-generated lint check postgres build clean

build:
	$(GO) build -o $(BIN)/regmo ./cmd/regmo
	$(GO) build -o $(BIN)/devdb ./cmd/devdb

# PostgreSQL's server package, when it is missing (Debian; needs root or sudo).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "installing the PostgreSQL server package"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; \
	fi

run: postgres build
	@set -e; \
	url=$$($(BIN)/devdb start -dir $(PGDIR)); \
	export DATABASE_URL="$$url"; \
	$(BIN)/regmo migrate; \
	$(BIN)/regmo seed demo; \
	$(BIN)/regmo user list | grep -q '^admin ' || $(BIN)/regmo user add admin --role admin; \
	token=$$($(BIN)/regmo token issue admin --ttl 24h --label "make run" 2>/dev/null); \
	link=$$($(BIN)/regmo login-link admin); \
	echo; \
	echo "PostgreSQL:  $$url (stop it with: make stop)"; \
	echo "API:         http://127.0.0.1:8080  (contract: http://127.0.0.1:8080/openapi.yaml)"; \
	echo "Anmelden:    $$link"; \
	echo "             (im Browser öffnen; gilt 15 Minuten und einmal; neuer Link: DATABASE_URL='$$url' $(BIN)/regmo login-link admin)"; \
	echo "Admin token: $$token"; \
	echo "             export REGMO_TOKEN=$$token"; \
	echo "More tokens: DATABASE_URL='$$url' $(BIN)/regmo token issue NAME --ttl 720h --label TEXT"; \
	echo; \
	exec $(BIN)/regmo serve

stop:
	@if [ -x $(BIN)/devdb ]; then $(BIN)/devdb stop -dir $(PGDIR); else $(GO) run ./cmd/devdb stop -dir $(PGDIR); fi

# The browser tests of the web interface need Chromium (Debian's package) and axe-core (npm,
# pinned, fetched into $(DATA)/npm, not committed).
AXE_VERSION := 4.10.3
AXE         := $(DATA)/npm/node_modules/axe-core/axe.min.js

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

$(AXE):
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "installing npm to fetch axe-core for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q nodejs npm; \
	fi
	mkdir -p $(DATA)/npm
	npm install --prefix $(DATA)/npm --no-save --no-audit --no-fund axe-core@$(AXE_VERSION)

test: postgres chromium $(AXE)
	@set -e; \
	$(GO) build -o $(BIN)/devdb ./cmd/devdb; \
	dir=$$(mktemp -d /tmp/regmo-test.XXXXXX); chmod 755 $$dir; \
	trap '$(BIN)/devdb destroy -dir $$dir/pg >/dev/null; rm -rf $$dir' EXIT; \
	url=$$($(BIN)/devdb start -dir $$dir/pg -fast); \
	REGMO_TEST_DATABASE_URL="$$url" REGMO_BROWSER_TEST=required REGMO_AXE="$(abspath $(AXE))" $(GO) test -race -count=1 ./...

# The benchmark suite (cmd/benchtable): a throwaway PostgreSQL (fsync off), regmo and the bare
# baseline server (cmd/baseline) under wrk at 1, 16 and 64 connections (at 64 also the baseline
# with a token lookup per request, and the JSON-SQL ceiling, baseline -json-sql, whose every
# answer is one statement returning the response's JSON, in 6 adjacent pairs with regmo whose
# ratios' median counts), then the Go benchmarks
# (authorization decision, readiness report over 1,000,000 entries, import of 100,000
# registers), three runs each. Prints one table of medians and writes it to BENCHMARKS.md.
# About 10-15 minutes on 2 cores. Installs wrk when it is missing.
bench: postgres bench-tools
	@set -e; \
	dir=$$(mktemp -d /tmp/regmo-bench.XXXXXX); chmod 755 $$dir; \
	trap 'st=$$?; $(BIN)/devdb destroy -dir $$dir/pg >/dev/null 2>&1 || true; \
		if [ $$st = 0 ]; then rm -rf $$dir; else echo "logs kept in $$dir"; fi' EXIT; \
	$(BIN)/benchtable -bin $(BIN) -dir $$dir -go $(GO) -out BENCHMARKS.md

# Growth (cmd/benchtable -scale): one throwaway PostgreSQL (fsync off) filled to 100,000,
# 1,000,000 and 6,000,000 entries (with history); at each size a fresh regmo answers the
# readiness report (now and as of a day back), GET one and a list page under wrk, and tells its
# memory. Writes section "Growth" of BENCHMARKS.md and the chart BENCHMARKS-scale.png. Takes
# long and needs about 11 GiB of disk for 6 M (10,000,000 versions and events, a year of daily snapshots); BENCH_SIZES=10000,100000 (or 1M etc.) picks others
# (…,10000000 adds the 10 M of the readiness target: about 30 minutes, 18 GiB),
# BENCH_SCALE_FLAGS passes more (e.g. '-duration 10s -reports 3').
BENCH_SIZES ?= 100000,1000000,6000000
bench-scale: postgres bench-tools
	@set -e; \
	dir=$$(mktemp -d /tmp/regmo-bench-scale.XXXXXX); chmod 755 $$dir; \
	trap 'st=$$?; $(BIN)/devdb destroy -dir $$dir/pg >/dev/null 2>&1 || true; \
		if [ $$st = 0 ]; then rm -rf $$dir; else echo "logs kept in $$dir"; fi' EXIT; \
	$(BIN)/benchtable -scale -sizes $(BENCH_SIZES) -bin $(BIN) -dir $$dir -out BENCHMARKS.md -png BENCHMARKS-scale.png $(BENCH_SCALE_FLAGS)

# Twice 60 s of mixed traffic (cmd/loadtest) by an admin, an OZG coordinator and ten
# Ressortverantwortliche against its own regmo and PostgreSQL (fsync on): in the first run
# PostgreSQL is restarted in the middle (pg_ctl restart -m fast), in the second it is killed
# (SIGKILL to the postmaster and every backend) and started again, so that it recovers from
# its WAL as after a crash. Each run prints the answers by status class, the outage, the
# recovery and the lost writes; fails when a requirement of issue 7 does not hold. Three
# e-mail scheduler instances run the 07:00 slots throughout against a mailpit (issue 15):
# fails unless every e-mail arrived once (0 duplicate, 0 missing).
# LOADTEST_FLAGS passes more to both, e.g. LOADTEST_FLAGS='-duration 30s'.
loadtest: postgres bench-tools
	@set -e; \
	dir=$$(mktemp -d /tmp/regmo-loadtest.XXXXXX); chmod 755 $$dir; \
	trap 'st=$$?; for r in restart kill; do $(BIN)/devdb destroy -dir $$dir/$$r/pg >/dev/null 2>&1 || true; done; \
		if [ $$st = 0 ]; then rm -rf $$dir; else echo "logs kept in $$dir"; fi' EXIT; \
	mkdir -p $$dir/restart $$dir/kill; \
	echo "== loadtest 1/2: PostgreSQL restarted (pg_ctl restart -m fast)"; \
	$(BIN)/loadtest -bin $(BIN) -dir $$dir/restart $(LOADTEST_FLAGS); \
	echo "== loadtest 2/2: PostgreSQL killed (SIGKILL) and recovered from its WAL"; \
	$(BIN)/loadtest -bin $(BIN) -dir $$dir/kill -kill $(LOADTEST_FLAGS)

# The failover test (issue 16): the production layout of README's "Production layout" on this
# machine – etcd, two PostgreSQL nodes under Patroni in synchronous mode, two regmo instances
# behind HAProxy, all on 127.0.0.1 – and 60 s of make loadtest's mixed traffic through HAProxy.
# At +15 s the primary dies (SIGKILL to its Patroni, postmaster and every backend) and Patroni
# promotes the standby; at +36 s one regmo instance is killed in the middle of an import of
# 20,000 registers. Fails unless no acknowledged write is lost, the import is all or nothing,
# regmo answers only 503 problems while there is no primary (never 500), writes succeed again
# within 30 s of the kill and the surviving instance returns to idle. About 90 s. Installs
# etcd-server, patroni and haproxy when missing (Debian). LOADTEST_FLAGS passes more flags.
loadtest-ha: postgres ha-tools bench-tools
	@set -e; \
	dir=$$(mktemp -d /tmp/regmo-loadtest-ha.XXXXXX); chmod 755 $$dir; \
	trap 'st=$$?; \
		for f in $$dir/*-patroni.pid $$dir/pg*/data/postmaster.pid; do \
			[ -f "$$f" ] || continue; p=$$(head -1 "$$f"); \
			case "$$(cat /proc/$$p/comm 2>/dev/null)" in patroni|postgres) kill -9 $$p;; esac; \
		done; \
		if [ $$st = 0 ]; then rm -rf $$dir; else echo "logs kept in $$dir"; fi' EXIT; \
	$(BIN)/loadtest -ha -bin $(BIN) -dir $$dir $(LOADTEST_FLAGS)

# etcd, Patroni and HAProxy of make loadtest-ha, when missing (Debian; needs root or sudo).
ha-tools:
	@if ! command -v etcd >/dev/null 2>&1 || ! command -v patroni >/dev/null 2>&1 || \
		! { command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; }; then \
		echo "installing etcd-server, patroni and haproxy for make loadtest-ha"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q etcd-server patroni haproxy; \
	fi

# Every Go benchmark of the repository (also history, as_of and strictjson, which make bench
# leaves out), as make bench ran them before: 200 iterations, three times each, one package at
# a time, against a throwaway PostgreSQL (fsync off).
bench-go: postgres
	@set -e; \
	$(GO) build -o $(BIN)/devdb ./cmd/devdb; \
	dir=$$(mktemp -d /tmp/regmo-bench.XXXXXX); chmod 755 $$dir; \
	trap '$(BIN)/devdb destroy -dir $$dir/pg >/dev/null; rm -rf $$dir' EXIT; \
	url=$$($(BIN)/devdb start -dir $$dir/pg -fast); \
	REGMO_TEST_DATABASE_URL="$$url" $(GO) test -p 1 -run '^$$' -bench . -benchtime 200x -count 3 ./api/... ./domain/...

# The binaries make bench and make loadtest run.
bench-tools: build
	$(GO) build -o $(BIN)/baseline ./cmd/baseline
	$(GO) build -o $(BIN)/benchtable ./cmd/benchtable
	$(GO) build -o $(BIN)/loadtest ./cmd/loadtest

generate:
	$(GO) generate ./api/oapi

# Fails when the generated server code or the embedded contract is stale.
check-generated:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	sed -e "s|^output:.*|output: $$tmp/oapi.gen.go|" -e "s|: templates/|: $(CURDIR)/api/oapi/templates/|" api/oapi/config.yaml > $$tmp/config.yaml; \
	$(GO) tool oapi-codegen -config $$tmp/config.yaml openapi.yaml; \
	if ! diff -u api/oapi/oapi.gen.go $$tmp/oapi.gen.go || ! cmp -s openapi.yaml api/oapi/openapi.yaml; then \
		echo "generated code is stale: run make generate and commit"; exit 1; fi; \
	echo "generated code is current"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	npx --yes $(REDOCLY) lint --format=stylish openapi.yaml

check: lint check-generated

clean:
	rm -rf $(BIN)
