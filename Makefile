# Attune: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium
# The demo's own database, in the per-user data directory (schemas/settings.py), apart from
# the default database that `attune ingest` fills, so `make clean` never removes real data.
DATA_HOME := $(if $(filter /%,$(XDG_DATA_HOME)),$(XDG_DATA_HOME),$(HOME)/.local/share)
DEMO_DB ?= $(DATA_HOME)/attune/demo.duckdb

.PHONY: demo test bench lint chromium screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Debian's Chromium for the browser tests (never a browser download).
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# Build the demo database from the packaged demo data if it is absent, then serve it locally.
demo: $(STAMP)
	$(BIN)/attune demo --db $(DEMO_DB)

test: $(STAMP) chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pip-audit --skip-editable --progress-spinner off

screenshots: $(STAMP) chromium
	$(BIN)/python -m dashboard.screenshots docs/screenshots

# Remove the virtual environment, build output and the demo database (`make demo` rebuilds
# it); the default database, accounts and keys in the per-user directories are left alone.
clean:
	rm -rf $(VENV) build dist *.egg-info $(DEMO_DB) $(DEMO_DB).*
