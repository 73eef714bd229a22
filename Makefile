# The user's interface. Every target that touches a database follows scripts/with-db's rules:
# MONGO_URI (environment or .env) wins; otherwise the local dev server is started and used.
SHELL := bash
.DEFAULT_GOAL := help
CARGO ?= cargo
MIGRATE := $(CARGO) run --quiet --locked --bin migrate --

.PHONY: help migrate migrate-status migrate-down migration merge-migration test test-quick lint format-check release release-checks deps-dev hooks db-start db-stop db-status bench bench-peers bench-backfill bench-rehearse

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

migrate: ## Apply pending migrations (local dev server unless MONGO_URI is set)
	@scripts/with-db $(MIGRATE) up

migrate-status: ## List applied (✓) and pending migrations
	@scripts/with-db $(MIGRATE) status

migrate-down: ## Roll back the most recently applied migration
	@scripts/with-db $(MIGRATE) down

migration: ## Write the next migration file: make migration NAME=add_tags
	@[[ -n "$(NAME)" ]] || { echo "usage: make migration NAME=snake_case_name" >&2; exit 2; }
	@$(CARGO) run --quiet --locked -p cargo-mongodb-migrate -- mongodb-migrate new '$(NAME)'

merge-migration: ## Write a merge migration depending on every head (when two branches added migrations)
	@$(CARGO) run --quiet --locked -p cargo-mongodb-migrate -- mongodb-migrate new --merge

test: ## Run every test against a throwaway server on a free port
	@scripts/test

test-quick: ## The tests that need no database (unit, build crate, scaffolding, offline checksums)
	@scripts/test-quick

lint: ## The migration lint (cargo build), clippy and rustfmt
	$(CARGO) build --workspace --locked
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings
	$(CARGO) fmt --all --check

format-check: ## rustfmt and clippy -D warnings (run before make test)
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

release: ## The release binary, target/release/migrate, without the checkout's path in it (--remap-path-prefix; scripts/release-build)
	@CARGO='$(CARGO)' scripts/release-build

release-checks: ## Layering (cargo tree), cargo package (verified), cargo doc, the example app, README length, lint
	@scripts/release-checks

deps-dev: ## Install what development needs, running nothing: crates (cargo fetch) and the local database
	$(CARGO) fetch --locked
	@scripts/dev-db install

bench: ## The build-time pass, the lint without a build, rebuilds after an edit (prints tables; BENCH_REBUILD=0 skips rebuilds)
	@python3 bench/provenance.py
	$(CARGO) bench --locked -p mongodb-migrate-build --bench build_pass

bench-peers: ## Our runner against pymongo-migrate and migrate-mongo, side by side (prints a table)
	@scripts/dev-db install
	@CARGO='$(CARGO)' .dev/venv/bin/python bench/peers.py

bench-backfill: ## A 200k-document backfill: update_many vs batch::backfill vs a pymongo loop (prints a table)
	@scripts/dev-db install
	@CARGO='$(CARGO)' .dev/venv/bin/python bench/backfill.py

bench-rehearse: ## Field Notes' plan rehearsed on 100k stories: copy vs a pymongo copy, rehearse vs up (prints a table)
	@scripts/dev-db install
	@CARGO='$(CARGO)' .dev/venv/bin/python bench/rehearse.py

hooks: ## Install the pre-commit hook (git config core.hooksPath .githooks)
	git config core.hooksPath .githooks
	@echo "pre-commit hook installed: .githooks/pre-commit runs the migration lint"

db-start: ## Start the local dev server (data persists in .dev/data/dev)
	@scripts/dev-db start --name dev --port $${DEV_DB_PORT:-27117}

db-stop: ## Stop the local dev server
	@scripts/dev-db stop --name dev

db-status: ## Is the local dev server running?
	@scripts/dev-db status --name dev
