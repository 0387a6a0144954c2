# cloudtrail-wizard: every target sets up what it needs itself (a fresh machine needs only
# python3 >= 3.11). `make demo` and `make test` are the two commands the README promises.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test

.PHONY: demo test lint typecheck unit venv clean snapshots-update

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## Launch the wizard on the embedded sandbox (no AWS account or credentials needed).
demo: $(STAMP)
	$(BIN)/cloudtrail-wizard --sandbox

## Lint, type-check and run the whole test suite.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n auto -q

snapshots-update: $(STAMP)
	$(BIN)/pytest -q tests/tui --snapshot-update

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
