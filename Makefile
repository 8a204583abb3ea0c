# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test unit-tests integration-tests lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chaterp run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

unit-tests: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/property

integration-tests: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/fuzzy.py
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) build *.egg-info
