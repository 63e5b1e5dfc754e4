# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast test-integration browser lint typecheck clean

setup: $(STAMP)

# torch first and pinned: the CPU build comes from a local file; an unpinned torch pulls CUDA wheels.
# -c constraints.txt pins torch's own dependencies (sympy, networkx, jinja2, ...) too.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

run: setup
	$(BIN)/reviewpulse run

# Chromium and chromedriver from Debian, for the Selenium discovery and the browser tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	fi

# The tiers (tests/README.md): unit needs nothing running; integration real tansu/chDB and
# child processes; e2e Chromium and the whole system.
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q tests/unit

test-integration: setup
	$(BIN)/python -m pytest -q tests/integration

lint: setup
	$(BIN)/ruff check .

# mypy over the product packages; the files and the per-module strictness are in pyproject.toml.
typecheck: setup
	$(BIN)/mypy

clean:
	rm -rf var .pytest_cache .mypy_cache
