# Every target creates the virtualenv it needs, so a fresh machine with only
# Python 3.11+ and make can run `make run` or `make test` straight away.
#
# Installs are reproducible: .venv gets exactly the versions (and files, by
# hash) in requirements-dev.lock, then the project itself without resolving
# anything. `make lock` regenerates the locks from pyproject.toml;
# `make test-lowest` runs the suite on the lowest versions pyproject allows.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOWEST_VENV ?= .venv-lowest
LOWEST_STAMP := $(LOWEST_VENV)/.installed
# The suite mostly waits on loopback servers and timers: two workers halve its time
# (12 -> 6 min on 2 cores). `make test PYTEST_WORKERS=` runs it in one process.
PYTEST_WORKERS ?= -n 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# One lock for every platform and Python >= 3.11 (Docker's slim image, CI,
# developers' machines), every file of a pinned release listed by hash.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock"

.PHONY: run demo test test-lowest lint bench lock lock-upgrade clean i18n-extract i18n-update i18n-compile

# pip installs only uv, from its own pinned, hashed lines of the dev lock; uv
# then installs the lock (a minute faster than pip). setuptools, the build
# backend, is in the lock too, so installing the project itself fetches
# nothing unlocked: --no-build-isolation uses the venv's own. Bytecode is
# compiled at install (pip's default, not uv's): with PYTHONDONTWRITEBYTECODE
# set, as on CI, every command would otherwise recompile what it imports.
UV_INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode
UV_PIP := $(UV_INSTALL) --python $(BIN)/python

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	awk '/^[a-z0-9]/ { keep = /^uv==/ } keep' requirements-dev.lock > $(VENV)/uv-requirement.txt
	$(BIN)/pip install --quiet --require-hashes -r $(VENV)/uv-requirement.txt
	$(UV_PIP) --require-hashes -r requirements-dev.lock
	$(UV_PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)  ## the main job: the whole pipeline, alerts printed to the console
	$(BIN)/evbot run --console

demo: $(STAMP)  ## bundled sample feed served locally, alerts within seconds
	$(BIN)/evbot demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint, type-check and the whole offline test suite
	$(BIN)/pytest -q $(PYTEST_WORKERS)

# The lowest version of each direct dependency that pyproject.toml allows
# (their own dependencies at the newest that fit), so a raised lower bound is
# needed exactly when this fails. Lint stays on the locked ruff and mypy.
$(LOWEST_STAMP): pyproject.toml $(STAMP)
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv --without-pip $(LOWEST_VENV)
	$(UV_INSTALL) --python $(LOWEST_VENV)/bin/python --resolution lowest-direct -e '.[dev]'
	touch $(LOWEST_STAMP)

test-lowest: $(LOWEST_STAMP)  ## the test suite on the lowest allowed versions
	$(LOWEST_VENV)/bin/pytest -q $(PYTEST_WORKERS)

# Keeps the pins already in the locks and resolves only what changed in
# pyproject.toml / requirements-tools.in; `make lock-upgrade` moves every pin
# to the newest allowed release. The dev lock is constrained by the runtime
# lock, so the two never disagree on a shared package.
lock: $(STAMP)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(UPGRADE) pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(UPGRADE) pyproject.toml requirements-tools.in \
		--extra dev -c requirements.lock -o requirements-dev.lock

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

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
	rm -rf $(VENV) $(LOWEST_VENV) .mypy_cache .pytest_cache .ruff_cache
