# Clinic Flow: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test e2e screenshots lint format migrate seed install install-dev messages clean bench \
	cluster-up cluster-down cluster-status cluster-drill

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Quick start: SQLite, DEBUG on, demo data, http://127.0.0.1:8000, and the background
# worker beside the server (scripts/run_dev.sh stops it with the server).
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py collectstatic --no-input -v0
	DEBUG=$${DEBUG:-1} TASKS_BACKEND=$${TASKS_BACKEND:-database} CLINIC_PYTHON=$(BIN)/python \
		scripts/run_dev.sh $(HOST):$(PORT)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input

seed: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo

# The whole suite, against DATABASE_URL (SQLite when unset).
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests only (Debian's Chromium at /usr/bin/chromium).
e2e: install-dev
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

# A screenshot of every main page per role into docs/screenshots/ (needs Chromium).
screenshots: install-dev
	$(BIN)/python -m pytest -m screenshots tests/e2e/test_screenshots.py $(PYTEST_ARGS)

# Every benchmark, against MariaDB/MySQL (each in a database of its own, dropped afterwards):
# the full-stack load through gunicorn first (one table), then the per-feature ones.
BENCH_DATABASE_URL ?= mysql://root@127.0.0.1:3306/clinic
bench: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/load.py --replace $(BENCH_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/front_desk.py
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/statistics.py --replace
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/booking.py --replace
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/cashier.py --replace
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/reminders.py --replace

# A local multi-node deployment (scripts/cluster.py, templates in deploy/): three MariaDB
# Galera nodes, Redis, HAProxy on 127.0.0.1:8100 and two app servers. Installs galera-4,
# haproxy, rsync and redis-server when missing (as root). CLUSTER_MODE=multi for two writers.
CLUSTER_MODE ?= single
cluster-up: install
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	$(BIN)/python scripts/cluster.py up --mode $(CLUSTER_MODE) $(CLUSTER_ARGS)

cluster-down:
	$(BIN)/python scripts/cluster.py down

cluster-status:
	$(BIN)/python scripts/cluster.py status

# Mixed load through HAProxy while a Galera node and an app server are killed and restarted,
# then every check on every node (needs `make cluster-up`).
cluster-drill: install-dev
	$(BIN)/python scripts/cluster_drill.py $(DRILL_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-extract and compile translations (needs GNU gettext); the compiled .mo files are committed.
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --no-obsolete
	DEBUG=1 $(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
