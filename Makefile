# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
ADDR ?= 127.0.0.1:8000
SEED_PROFILES ?= 2000

.PHONY: run test install install-dev lint fuzz-api bench-seed bench-b1 bench-b3 bench-b4 clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## Install, migrate, seed a demo (first time), print a login, then run the web server and a worker.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty --profiles $(SEED_PROFILES)
	$(PY) manage.py setup_schedules
	$(PY) manage.py ensure_admin
	@echo "Starting the web server on http://$(ADDR)/admin/ and a background worker (Ctrl-C stops both)."
	@$(PY) manage.py run_local $(ADDR)

## Run the test suite (SQLite by default; set DATABASE_URL to use PostgreSQL).
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## Fuzz the REST API with Schemathesis against /api/schema/, on a throwaway PostgreSQL database
## (PG_ADMIN_URL names the server; FUZZ_MAX_TIME seconds of testing, default 240). See fuzz/run_api.py.
fuzz-api: install-dev
	$(PY) -m fuzz.run_api $(FUZZ_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Benchmarks (PostgreSQL; see bench/README.md).
bench-seed: install-dev
	$(PY) -m bench.seed

bench-b1: install-dev
	$(PY) -m bench.b1_audiences

bench-b3: install-dev
	$(PY) -m bench.b3_ingestion

bench-b4: install-dev
	$(PY) -m bench.b4_growth --seed

clean:
	rm -rf $(VENV) var/*.sqlite3*
