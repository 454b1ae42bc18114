# govflow — `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_WORKERS ?= 2
QUICK ?=

.PHONY: run setup test lint bench migrate demo clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py certificate_keys
	$(PY) manage.py audit_keygen --if-missing
	$(PY) manage.py load_demo
	$(PY) manage.py run_embedded

setup: $(STAMP)

$(STAMP): requirements.lock scripts/system-packages.sh
	./scripts/system-packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

test: setup
	$(PY) manage.py makemigrations --check --dry-run --settings=govflow.settings.test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check govflow/engine

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/run.py $(if $(QUICK),--quick,)

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

clean:
	rm -rf var/ test-artifacts/ .pytest_cache
