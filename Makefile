# vtklean: `make report` builds this year's reports, `make test` runs the fast tests, `make test-all` every test (as CI).
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installert

.PHONY: help setup report test test-all lint format sample docs bench lab clean

help: ## Vis alle mål med en linje om hvert
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vtklean trenger Python 3.11 eller nyere")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Lag .venv og installer prosjektet (gjøres automatisk av de andre målene)

report: $(STAMP) ## Bygg datasett og rapporter for siste hele år fra data/raw
	$(BIN)/vtklean build

# The fast tests run on every core (pytest-xdist), one test file per worker at a time, so a
# module's shared build is made once.
test: $(STAMP) ## Kjør de raske testene (alt unntatt de som bygger hele rapportsettet)
	$(BIN)/python -m pytest -m "not slow" -n auto --dist loadfile

test-all: $(STAMP) ## Kjør alle testene, også de trege (som CI gjør)
	$(BIN)/python -m pytest

lint: $(STAMP) ## Sjekk kodestil med ruff
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP) ## Formater koden med ruff
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

sample: $(STAMP) ## Lag eksempeldataene i data/raw på nytt (sletter aldri dine egne filer)
	$(BIN)/vtklean sample --overwrite

docs: $(STAMP) ## Skriv docs/datakontrakt.md på nytt fra kontrakten i koden
	$(BIN)/python -m vtklean.ingest.docs > docs/datakontrakt.md

bench: $(STAMP) ## Mål tid og minne (også landsdekkende mappe); skriver docs/performance.md
	$(BIN)/python benchmarks/bench.py

# JupyterLab from the project's .venv: its `python3` kernel is this environment's Python.
# News, update checks and the PyPI extension manager are off: the lab fetches nothing.
LAB_FLAGS ?=
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP) ## Åpne JupyterLab med prosjektets miljø som kjerne (notatbøkene i notebooks/)
	$(BIN)/jupyter lab --notebook-dir=notebooks --LabApp.news_url='' \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
		--LabApp.extension_manager=readonly $(LAB_ROOT) $(LAB_FLAGS)

clean: ## Slett genererte datasett og rapporter (arkivet og rådatakopiene blir liggende)
	find data/processed reports -mindepth 1 -maxdepth 1 ! -name README.md ! -name arkiv \
		! -name radata-arkiv -exec rm -rf {} +
