# Two commands for a fresh Debian machine (as root): `make demo` and `make test`.
# Both install what is missing first: Debian packages, the .venv, the Python dependencies.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed

.PHONY: setup system venv demo test test-fast lint clean
.DEFAULT_GOAL := demo

setup: system venv

system:
	@bash scripts/setup-system.sh

venv: $(STAMP)

# torch==2.13.0 (CPU wheel) goes in before anything that needs torch, or pip pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements/no-deps.txt requirements/no-deps-support.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements/no-deps-support.txt
	$(PIP) install -q --no-deps -r requirements/no-deps.txt
	$(PIP) install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(PY) -m complianceguard scan fixtures fixtures/captions.csv --out reports --format json,csv,html,sarif,junit,md; rc=$$?; \
	  echo "reports written to $(CURDIR)/reports (exit code $$rc: 0 all pass, 1 some fail, 2 some errors)"; \
	  test $$rc -le 2

# The full suite: lint first (ruff, configured in pyproject.toml), then every test tier.
test: setup lint
	$(PY) -m pytest

# The fast tier, for every edit: no media tools or models, no servers, browsers, redis or wheel builds
# (markers in pyproject.toml), and no test over 5 s of its own (`slow`). Needs the .venv only.
test-fast:
	@test -x $(PY) || { echo "no $(VENV): run 'make venv' first"; exit 2; }
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not media and not install and not server and not slow"

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) reports .pytest_cache
