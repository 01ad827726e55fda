# regmo – see README.md. `make run` starts the service with a local PostgreSQL and demo data;
# `make test` runs every test against a throwaway PostgreSQL it starts and removes itself.

SHELL   := /bin/bash
GO      ?= go
BIN     := bin
DATA    := .regmo
PGDIR   := $(DATA)/pg
REDOCLY := @redocly/cli@2.77.0

.PHONY: run stop test bench generate check-generated lint check postgres build clean

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
	echo; \
	echo "PostgreSQL:  $$url (stop it with: make stop)"; \
	echo "API:         http://127.0.0.1:8080  (contract: http://127.0.0.1:8080/openapi.yaml)"; \
	echo "Admin token: $$token"; \
	echo "             export REGMO_TOKEN=$$token"; \
	echo "More tokens: DATABASE_URL='$$url' $(BIN)/regmo token issue NAME --ttl 720h --label TEXT"; \
	echo; \
	exec $(BIN)/regmo serve

stop:
	@if [ -x $(BIN)/devdb ]; then $(BIN)/devdb stop -dir $(PGDIR); else $(GO) run ./cmd/devdb stop -dir $(PGDIR); fi

test: postgres
	@set -e; \
	$(GO) build -o $(BIN)/devdb ./cmd/devdb; \
	dir=$$(mktemp -d /tmp/regmo-test.XXXXXX); chmod 755 $$dir; \
	trap '$(BIN)/devdb destroy -dir $$dir/pg >/dev/null; rm -rf $$dir' EXIT; \
	url=$$($(BIN)/devdb start -dir $$dir/pg -fast); \
	REGMO_TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 ./...

# Go benchmarks against a throwaway PostgreSQL (fsync off, as in make test): authorization
# decisions, the strict JSON check, and history at 100,000 entries / 1,000,000 events.
# Each benchmark runs three times; compare ratios within one run, not across machines.
bench: postgres
	@set -e; \
	$(GO) build -o $(BIN)/devdb ./cmd/devdb; \
	dir=$$(mktemp -d /tmp/regmo-bench.XXXXXX); chmod 755 $$dir; \
	trap '$(BIN)/devdb destroy -dir $$dir/pg >/dev/null; rm -rf $$dir' EXIT; \
	url=$$($(BIN)/devdb start -dir $$dir/pg -fast); \
	REGMO_TEST_DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchtime 200x -count 3 ./api/... ./domain/...

generate:
	$(GO) generate ./api/oapi

# Fails when the generated server code or the embedded contract is stale.
check-generated:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	sed "s|^output:.*|output: $$tmp/oapi.gen.go|" api/oapi/config.yaml > $$tmp/config.yaml; \
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
