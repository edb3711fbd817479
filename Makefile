# Two commands on a fresh machine: `make run` (demo floor on SQLite) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run serve test lint bench bench-quick clean

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

## Lint, then the whole suite; pytest's "no tests ran" (exit 5) counts as a failure. Two workers
## (pytest-xdist): most tests wait on servers, sockets and databases, so two halve the wall time.
PYTEST_ARGS ?= -n 2
test: lint
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests ran" >&2; exit 1; fi; exit $$rc

## Every benchmark (bench/run.py), each figure beside a baseline measured in the same run; one
## table at the end, written to bench/results/latest.json. Under 15 minutes; bench-quick, the
## smoke run with smaller sizes, under 2. PostgreSQL rows use BENCH_PG_URL (default
## postgresql://postgres@127.0.0.1:5432/postgres), in a database of their own, dropped after.
bench: install
	$(BIN)/python bench/run.py

bench-quick: install
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
