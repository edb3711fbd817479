# Two commands on a fresh machine: `make run` (demo floor on SQLite) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run serve test test-clock lint bench bench-quick clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The product with a live demo floor on SQLite (./var/demo.db); prints the URLs and tokens.
run: install
	$(BIN)/paceboard demo

## The product on your own data (./var/paceboard.db or PACEBOARD_DATABASE_URL).
serve: install
	$(BIN)/paceboard serve

lint: install
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/mypy app

## Lint, then the whole suite; pytest's "no tests ran" (exit 5) counts as a failure. Two workers
## (pytest-xdist): most tests wait on servers, sockets and databases, so two halve the wall time;
## four were slower on two cores (20 minutes against 17: servers and Chromium want the CPU).
## The slowest tests are listed for the next trim.
PYTEST_ARGS ?= -n 2 --durations=30
## The front end's pure helpers (formats, delta merge, paging): node's own test runner, no bundler.
NODE ?= node
JS_TESTS ?= tests/js/
test: lint
	@command -v $(NODE) >/dev/null || { echo "make test: needs node 20.10+ for tests/js ($(NODE) not found)" >&2; exit 1; }
	$(NODE) --test $(JS_TESTS)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests ran" >&2; exit 1; fi; exit $$rc

## The clock-sensitive tests (demo, pacing, alerts, the live day rollover) under libfaketime
## (Debian's `faketime`), the clock started at Sunday 23:59:00 in the floor's zone (Asia/Shanghai)
## and left to run: the run takes about a minute, so the tests run on a weekend day and the day
## rolls over into Monday under the last of them. (A Saturday start, and before it a weekday one,
## were dropped to keep CI inside 20 minutes: `make test` runs on the real clock; add starts
## with CLOCK_STARTS="2026-12-05T02:00:00 …".) Children continue
## the parent's clock (FAKETIME_DONT_RESET), so servers and the tests agree on the time; the
## monotonic clock stays real, and tests/clock/faketime_fix mends time.sleep under libfaketime.
## libfaketime re-reads FAKETIME from the environment every 10 s by default, from whichever thread
## asks the time; a thread setting a variable meanwhile (pytest's PYTEST_CURRENT_TEST) crashed an
## xdist worker once (getenv racing setenv). FAKETIME_CACHE_DURATION keeps it read once.
CLOCK_STARTS ?= 2026-12-06T15:59:00
# Four workers: these tests mostly wait (for servers, sockets and the alert engine's next
# evaluation), so three starts take about 3 minutes instead of about 9 with two. SQLite only: the
# clock is this process's (PostgreSQL's own clock is never faked, and no figure is taken from
# it), and `make test` has run every test on both engines already.
CLOCK_PYTEST_ARGS ?= -n 4 -k "not postgres"
CLOCK_TESTS ?= tests/demo tests/floor/test_pacing.py tests/floor/test_alerts.py \
	tests/api/test_alerts.py tests/api/test_time_rules.py tests/api/test_snapshot.py \
	tests/live/test_hub.py::test_a_new_local_day_sends_everyone_a_snapshot \
	tests/live/test_alert_frames.py \
	tests/config tests/api/test_floor_today.py tests/ingest/test_calls_api.py tests/clock
# The polling test pins the hub's clock (not clock-sensitive) and counts reads against changes:
# under libfaketime on a loaded machine its count came out one high once in 15 starts.
CLOCK_DESELECT ?= --deselect tests/api/test_snapshot.py::test_polling_todays_snapshot_reads_the_floor_once_per_change
test-clock: install
	@command -v faketime >/dev/null || { echo "make test-clock: needs faketime (apt-get install faketime)" >&2; exit 1; }
	@for start in $(CLOCK_STARTS); do \
	  echo "make test-clock: clock starts at $$start UTC"; \
	  TZ=UTC FAKETIME_DONT_RESET=1 FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_CACHE_DURATION=864000 \
	  PYTHONPATH=$(CURDIR)/tests/clock/faketime_fix faketime -f "@$$(echo $$start | tr T ' ')" \
	    $(BIN)/pytest $(CLOCK_PYTEST_ARGS) -q -p no:cacheprovider $(CLOCK_DESELECT) $(CLOCK_TESTS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test-clock: no tests ran" >&2; exit 1; fi; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	done

## Every benchmark (bench/run.py), each figure beside a baseline measured in the same run; one
## table at the end, written to bench/results/latest.json. Under 15 minutes; bench-quick, the
## smoke run with smaller sizes, about 2. PostgreSQL rows use BENCH_PG_URL (default
## postgresql://postgres@127.0.0.1:5432/postgres), in a database of their own, dropped after.
bench: install
	$(BIN)/python bench/run.py

bench-quick: install
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
