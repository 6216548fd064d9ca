# The two commands of README.md are `make run` and `make test`; `make install` is both's first step.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Tests run against the real PostgreSQL and Redis of this machine (override as you like).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: install run test test-clocks lint check format services schema bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The main job on embedded defaults: SQLite, in-process channel layer and tasks, local sign-in.
run: export DEBUG ?= true
run: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py populate_db_master
	$(BIN)/python manage.py backends
	@echo "Serving on http://127.0.0.1:$(PORT)/  (API docs: /api/docs/, health: /api/health/)"
	$(BIN)/daphne -v 0 -b 127.0.0.1 -p $(PORT) config.asgi:application

services:
	scripts/ensure-services.sh
	scripts/ensure-browser.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Lint, types and layers: ruff, mypy (django-stubs, djangorestframework-stubs; the config is
# in pyproject.toml) and the import-linter contract (apps depend only on layers below).
check: export DEBUG ?= true
check: lint
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: export DATABASE_URL = $(TEST_DATABASE_URL)
test: export REDIS_URL = $(TEST_REDIS_URL)
test: export DEBUG = false
test: export SECRET_KEY = test-only-secret-key
test: export CELERY_TASK_ALWAYS_EAGER = true
# The tests run even when `check` fails (a formatting nit does not hide a failing test);
# the target fails at the end if either did.
test: install services
	@status=0; \
	$(MAKE) --no-print-directory check || status=1; \
	$(BIN)/pytest || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (check or tests, see above)"; fi; \
	exit $$status

# The whole suite at adversarial instants and in far clinic time zones (scripts/test-clocks.sh).
# TEST_DATABASE_URL_2 and TEST_REDIS_URL_2 (another database and Redis db) run two at a time.
test-clocks: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)
test-clocks: export TEST_REDIS_URL := $(TEST_REDIS_URL)
test-clocks: install services lint
	scripts/test-clocks.sh

# Regenerate the committed contracts in frontend_contracts/ from the code.
schema: export DEBUG ?= true
schema: install
	$(BIN)/python manage.py export_contracts

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
