# LeadDesk: `make run` serves the portal on its embedded defaults; `make test` runs everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve test test-services mutation-check security-scan install install-dev lint format clean bench bench-scale bench-index

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) gallery demo
	@echo "LeadDesk on http://$(HOST):$(PORT)/ with the scheduler beside it (Ctrl-C stops both)"
	@$(FLASK) scheduler & scheduler=$$!; \
	  trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

# Production: gunicorn workers plus the scheduler process, against PostgreSQL.
# Needs LEADDESK_DATABASE_URL, LEADDESK_SECRET_KEY and LEADDESK_TRUSTED_HOSTS (see README).
# Two database roles: LEADDESK_OWNER_DATABASE_URL (the owner) migrates and grants;
# LEADDESK_DATABASE_URL (the serving role) may only add to and read the audit tables, and
# nothing starts if it could do more (`flask database check-serving-role`).
serve: install
	@test -n "$$LEADDESK_DATABASE_URL" || { echo "Set LEADDESK_DATABASE_URL=postgresql://leaddesk@host/leaddesk (the serving role)"; exit 2; }
	@test -n "$$LEADDESK_OWNER_DATABASE_URL" || { echo "Set LEADDESK_OWNER_DATABASE_URL=postgresql://leaddesk_owner@host/leaddesk (the owner, which migrates)"; exit 2; }
	LEADDESK_CONFIG=production LEADDESK_DATABASE_URL="$$LEADDESK_OWNER_DATABASE_URL" $(FLASK) db upgrade
	LEADDESK_CONFIG=production LEADDESK_DATABASE_URL="$$LEADDESK_OWNER_DATABASE_URL" $(FLASK) database grant \
	  "$$($(BIN)/python -c 'import os, sqlalchemy; print(sqlalchemy.make_url(os.environ["LEADDESK_DATABASE_URL"]).username)')"
	LEADDESK_CONFIG=production $(FLASK) database check-serving-role
	@LEADDESK_CONFIG=production $(FLASK) scheduler & scheduler=$$!; \
	  trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	  LEADDESK_CONFIG=production $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite twice: on SQLite (the embedded default), then on a PostgreSQL server the
# run starts itself on loopback. scripts/install-test-services adds postgresql and chromium.
# Everything on SQLite, then again on PostgreSQL (where the parallel attacks matter) except the
# browser walk, whose pages and services are the same on both; each pass on every core (up to
# four test processes, each with its own scratch databases and, on PostgreSQL, its own
# server). Then the mutation check (each
# rule of app/data/clause_mutations.toml removed in a scratch copy: its clause's tests must
# fail) and the security scans: bandit on the code, pip-audit on the pinned dependencies.
test: install-dev lint test-services
	$(BIN)/pytest -n auto --maxprocesses 4
	LEADDESK_TEST_DATABASE=postgresql $(BIN)/pytest -n auto --maxprocesses 4 --ignore=tests/e2e
	$(BIN)/python scripts/mutation_check.py
	$(BIN)/python scripts/security_scan.py

mutation-check: install-dev
	$(BIN)/python scripts/mutation_check.py

security-scan: install-dev
	$(BIN)/python scripts/security_scan.py

test-services:
	@scripts/install-test-services

# Prints every figure in the README's "Measured"; the scale part (bench_scale.py) alone at
# 100,000 templates fits in about ten minutes on 2 cores: `make bench-scale SIZES=100000`.
SIZES ?= 100000,1000000
bench: install
	$(BIN)/python benchmarks/bench_matching.py
	$(BIN)/python benchmarks/bench_scale.py --sizes $(SIZES)

bench-scale: install
	$(BIN)/python benchmarks/bench_scale.py --sizes $(SIZES)

# Ten million templates: the index alone (both forests), reduced-precision scans, then the
# nightly rebuild through a scratch SQLite database; about 75 minutes and 35 GB of disk.
INDEX_SIZES ?= 10000000
bench-index: install
	$(BIN)/python benchmarks/bench_scale.py --sections index-alone,precision,rebuild \
	  --index-sizes $(INDEX_SIZES) --rebuild-sizes $(INDEX_SIZES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
