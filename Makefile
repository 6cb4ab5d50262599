# One entry point for the notices platform. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv is installed through pip when it is missing; `python3 -m uv` works without a PATH rehash.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

# Tests reach the machine's services; each run makes its own databases and vhost from these.
export TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export TEST_AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/

API_DIR := services/notices-api
NOTIFIER_DIR := services/notifier
NOTIFIER_DEVTOOLS_DIR := services/notifier-devtools

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## install uv (if missing) and every package of the workspace from uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv  # a Python that refuses system-wide installs
	@$(UV) sync --all-packages --locked --quiet

# `make run` / `make demo`: the local stack's settings; each one can be overridden from the
# environment (e.g. `DATABASE_URL=postgres://... NOTIFIER_DATABASE_URL=postgres://... make run`).
run demo: export NOTICES_API_PORT ?= 8000
run demo: export NOTIFIER_API_PORT ?= 8001
run demo: export NOTIFIER_API_TOKEN ?= local-notifier-token-for-make-run-only-0123
run demo: export SMTP_HOST ?= 127.0.0.1
run demo: export SMTP_PORT ?= 1025
run demo: export LOCAL_MAIL_DIR ?= var/mail
run: export NOTIFIER_ALLOW_PRIVATE_WEBHOOKS ?= true
run: export NOTIFIER_PUBLIC_BASE_URL ?= http://localhost:$(NOTIFIER_API_PORT)
run: export NOTICES_PUBLIC_BASE_URL ?= http://localhost:$(NOTICES_API_PORT)
run: export NOTIFIER_PREFERENCES_URL ?= http://localhost:$(NOTICES_API_PORT)/settings/
run: export LOG_FORMAT ?= console

.PHONY: run
run: setup ## the whole stack under honcho: API :8000, relay, notifier + API :8001, SMTP sink :1025 (mail in var/mail)
	@$(RUN) python deploy/local/preflight.py
	cd $(API_DIR) && $(RUN) python manage.py migrate --no-input
	$(RUN) notifier migrate
	$(RUN) honcho --procfile deploy/Procfile --app-root . start

.PHONY: demo
demo: setup ## against a running `make run`: users, groups, a webhook, a notice, reads, reminders, a summary
	$(RUN) python deploy/local/demo.py

.PHONY: test
test: setup test-contracts test-api test-notifier test-system ## every test suite

.PHONY: test-contracts
test-contracts: setup ## contract tests: schemas, examples, compatibility gate
	$(RUN) pytest contracts

.PHONY: test-api
test-api: setup test-packages ## notices-api on PostgreSQL, then its DB-agnostic part on SQLite
	cd $(API_DIR) && $(RUN) pytest
	cd $(API_DIR) && TEST_DATABASE=sqlite $(RUN) pytest -m "not postgres_only"

.PHONY: screenshots
screenshots: setup test-packages ## the browser tests, saving each page's screenshot into docs/ui/ (docs/ui.md shows them)
	cd $(API_DIR) && UI_SCREENSHOTS=1 $(RUN) pytest notices_api/web notices_api/console -k browser

.PHONY: test-notifier
test-notifier: setup ## notifier unit and integration tests, and those of its dev tools
	cd $(NOTIFIER_DIR) && $(RUN) pytest
	cd $(NOTIFIER_DEVTOOLS_DIR) && $(RUN) pytest

# Debian packages the tests run: Chromium (the browser tests drive it through Playwright)
# and promtool (deploy/observability's alert rules). Installed as root, only when missing.
.PHONY: test-packages
test-packages: ## install the Debian packages the tests need, when missing (apt-get)
	@{ test -x /usr/bin/chromium && command -v promtool >/dev/null 2>&1; } || { \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null \
		&& apt-get install -y -qq --no-install-recommends chromium prometheus >/dev/null; }

.PHONY: test-system
test-system: setup test-packages ## cross-service tests: architecture boundaries, deployment files, e2e
	$(RUN) pytest tests --ignore=tests/chaos

.PHONY: chaos
chaos: setup ## 2,000 notices while relay/notifier are killed, broker and DB sessions cut (CHAOS_SEED, CHAOS_NOTICES)
	$(RUN) pytest tests/chaos -s

.PHONY: fuzz
fuzz: setup ## schemathesis against a live notices-api (as publisher and recipient), then the notifier API (FUZZ_SEED, FUZZ_MAX_EXAMPLES)
	cd $(API_DIR) && $(RUN) python fuzz/run.py
	cd $(NOTIFIER_DIR) && $(RUN) python fuzz/run.py

.PHONY: contracts
contracts: setup ## regenerate the committed JSON Schemas and AsyncAPI document from the models
	$(RUN) python -m notices_contracts.artifacts contracts

.PHONY: lint
lint: setup ## ruff (lint + format check), mypy, and notices-api's import layers (lint-imports)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy --config-file contracts/pyproject.toml contracts/src
	cd $(API_DIR) && $(RUN) mypy .
	cd $(API_DIR) && $(RUN) lint-imports
	cd $(NOTIFIER_DIR) && $(RUN) mypy src fuzz
	cd $(NOTIFIER_DEVTOOLS_DIR) && $(RUN) mypy src

.PHONY: format
format: setup ## apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

.PHONY: contracts-snapshot
contracts-snapshot: setup ## at a release: record the published schemas as released (refuses breaking changes)
	$(RUN) python -m notices_contracts.compat snapshot contracts

.PHONY: bench
bench: setup ## the platform end to end beside its baselines; report in bench/results/<timestamp>/ (about 11 min with BENCH_ARGS=--tracing)
	$(RUN) python -m bench.system $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: setup ## the same with short steps and small data (< 2 min)
	$(RUN) python -m bench.system --quick $(BENCH_ARGS)

.PHONY: bench-relay
bench-relay: setup ## outbox relay vs kombu/aio-pika baselines + commit-to-confirm latency (PostgreSQL, RabbitMQ)
	$(RUN) python -m bench.relay.bench_relay

.PHONY: bench-notifier
bench-notifier: setup ## notifier benchmark: 10,000 recipients over email and webhooks, beside a raw FastStream baseline
	$(RUN) python -m bench.notifier.bench_notifier
