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

## All benchmarks; ingest first, since it rewrites bench/results/latest.json and the others merge into it.
bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/import.py

bench-quick: install
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/live.py --quick
	$(BIN)/python bench/import.py --quick

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
