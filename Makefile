# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test unit-tests integration-tests lint bench clean i18n

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

# Re-extract the English messages and update and compile every catalog (commit the results).
LOCALES := handlers/locales
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k n:1,2 -k N_ --no-default-keywords --sort-by-file \
		--project chaterp --omit-header -o $(LOCALES)/chaterp.pot .
	$(BIN)/pybabel update -i $(LOCALES)/chaterp.pot -d $(LOCALES) -D chaterp \
		--ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALES) -D chaterp --statistics

clean:
	rm -rf $(VENV) build *.egg-info
