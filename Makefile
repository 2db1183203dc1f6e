# tbot: two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := interfaces/web/node_modules/.installed

.PHONY: run test quick lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The dashboard's browser libraries (interfaces/web/package-lock.json), served by the API.
$(WEB_STAMP): interfaces/web/package-lock.json
	npm ci --prefix interfaces/web --no-audit --no-fund
	touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)

## The main job on the embedded default (SQLite files, no services): the demo, then the API and
## the projection workers, serving until stopped.
run: $(STAMP) $(WEB_STAMP)
	$(BIN)/tbot run

## Lint, type-check, check the layer rules, then the whole suite against real PostgreSQL and Redis.
test: lint
	tests/support/run_suite.sh

## The fast loop: lint, then the unit and property tests on the embedded store (no services).
quick: lint
	$(BIN)/pytest -n 2 -q tests/unit tests/properties

lint: $(STAMP) $(WEB_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Benchmarks against a real PostgreSQL started for the run.
bench: $(STAMP)
	tests/benchmarks/run.sh

clean:
	rm -rf $(VENV) interfaces/web/node_modules var .mypy_cache .ruff_cache .pytest_cache .hypothesis
