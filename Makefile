# Attune: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium

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

demo: $(STAMP)
	$(BIN)/attune demo

test: $(STAMP) chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pip-audit --skip-editable --progress-spinner off

screenshots: $(STAMP) chromium
	$(BIN)/python -m dashboard.screenshots docs/screenshots

clean:
	rm -rf $(VENV) data/attune.duckdb data/attune.duckdb.*
