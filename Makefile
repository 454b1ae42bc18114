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

# The suite again under Debian's faketime, at two dates: 28 December of this
# year (deadlines run into a year the calendar may not have yet) and mid-June of
# a year it does not have (three after the last year of fixtures/calendar/cn.yaml).
# The monotonic clock stays real: tests/__init__.py says why. Both dates run;
# each prints its duration; any failure fails the target. tests/engine is left
# out: the engine never reads the clock (tests/engine/test_purity.py).
# tests/distributed is left out too: every process of its cluster runs on the
# real clock (libfaketime is dropped from their environment), so a faked date
# changes nothing there but the 3 minutes it takes.
# Property tests and the API fuzzer run with fewer examples there (the
# "dated" Hypothesis profile; make test runs them in depth). The stateful
# API test keeps its scenarios: with fewer, a persona's chains may reach
# no object at all.
# DATED_TESTS=tests/cases runs a part only.
DATED_TESTS ?= tests --ignore=tests/engine --ignore=tests/distributed
.PHONY: test-dates
test-dates: setup
	@missing=$$($(PY) -c 'from govflow.timers.calendar import load_calendar_file as f; print(max(y.year for y in f("fixtures/calendar/cn.yaml")) + 3)') && \
	failed=0 && \
	for when in "$$(date -u +%Y)-12-28 10:00:00 UTC" "$$missing-06-17 10:00:00 UTC"; do \
	  echo "== faketime '$$when': pytest $(DATED_TESTS)"; \
	  start=$$(date +%s); status=0; \
	  HYPOTHESIS_PROFILE=dated GOVFLOW_SCHEMATHESIS_EXAMPLES=5 \
	  FAKETIME_DONT_FAKE_MONOTONIC=1 faketime "$$when" $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -q -p no:cacheprovider $(DATED_TESTS) || status=$$?; \
	  echo "== faketime '$$when': exit $$status after $$(( $$(date +%s) - start )) s"; \
	  [ $$status -eq 0 ] || failed=1; \
	done && \
	[ $$failed -eq 0 ]

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check govflow/engine
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/run.py $(if $(QUICK),--quick,)

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

clean:
	rm -rf var/ test-artifacts/ .pytest_cache
