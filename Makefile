# Every target creates the virtualenv it needs, so a fresh machine with only
# Python 3.11+ and make can run `make run` or `make test` straight away.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench clean i18n-extract i18n-update i18n-compile

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the main job: the whole pipeline, alerts printed to the console
	$(BIN)/evbot run --console

demo: $(STAMP)  ## bundled sample feed served locally, alerts within seconds
	$(BIN)/evbot demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint  ## lint, type-check and the whole offline test suite
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

# Message catalogs (bot/i18n.py): extract the ids the code uses, merge them into
# every language's .po, compile the .mo files (committed: running needs no Babel).
LOCALE := bot/locale
i18n-extract: $(STAMP)  ## message ids from the code into bot/locale/evbot.pot
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k t:2 -k N_ -k P_:1,2 \
		--no-location --omit-header -o $(LOCALE)/evbot.pot .

i18n-update: i18n-extract  ## merge new ids into every language's .po
	$(BIN)/pybabel update -i $(LOCALE)/evbot.pot -d $(LOCALE) -D evbot --no-fuzzy-matching --ignore-obsolete

i18n-compile: $(STAMP)  ## .po → .mo (commit the .mo files)
	$(BIN)/pybabel compile -d $(LOCALE) -D evbot --statistics

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
