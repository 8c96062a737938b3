# Every target creates the virtualenv it needs, so a fresh machine with only
# Python 3.11+ and make can run `make run` or `make test` straight away.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench clean

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
