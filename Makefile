# Attune: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# pyspark lives in its own environment, never Attune's: pandera imports pyspark.pandas whenever
# pyspark is importable, and that patches pandas on import (and does not support pandas 3).
# `attune summarize --engine spark` runs Spark in the Python that ATTUNE_SPARK_PYTHON names.
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed-pyspark-4
export ATTUNE_SPARK_PYTHON ?= $(CURDIR)/$(SPARK_VENV)/bin/python
# Debian packages the suite drives for real: Chromium (browser tests, PDF reports), poppler's
# pdftotext (reading reports back) and PostgreSQL (a throw-away server for the shared
# accounts store). Each is named with the file that shows it is installed.
DEBIAN_PACKAGES := chromium:/usr/bin/chromium poppler-utils:/usr/bin/pdftotext \
	postgresql:/usr/lib/postgresql/15/bin/initdb openjdk-17-jre-headless:/usr/bin/java
# The demo's own database, in the per-user data directory (schemas/settings.py), apart from
# the default database that `attune ingest` fills, so `make clean` never removes real data.
DATA_HOME := $(if $(filter /%,$(XDG_DATA_HOME)),$(XDG_DATA_HOME),$(HOME)/.local/share)
DEMO_DB ?= $(DATA_HOME)/attune/demo.duckdb

.PHONY: demo test bench lint chromium debian-packages screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(SPARK_STAMP):
	test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet "pyspark>=4.3,<5"
	touch $(SPARK_STAMP)

# The Debian packages above that are missing (never a browser download).
debian-packages:
	@missing="$$(for p in $(DEBIAN_PACKAGES); do test -e $${p#*:} || echo $${p%%:*}; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq $$missing; fi

chromium: debian-packages

# Build the demo database from the packaged demo data if it is absent, then serve it locally.
demo: $(STAMP)
	$(BIN)/attune demo --db $(DEMO_DB)

# Two processes (the machine's two cores), each taking whole test files, so a module's
# fixtures (a served app, a Spark worker, a PostgreSQL cluster) are built once.
test: $(STAMP) $(SPARK_STAMP) debian-packages
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP) $(SPARK_STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pip-audit --skip-editable --progress-spinner off

screenshots: $(STAMP) debian-packages
	$(BIN)/python -m dashboard.screenshots docs/screenshots

# Remove the virtual environment, build output and the demo database (`make demo` rebuilds
# it); the default database, accounts and keys in the per-user directories are left alone.
clean:
	rm -rf $(VENV) $(SPARK_VENV) build dist *.egg-info $(DEMO_DB) $(DEMO_DB).*
