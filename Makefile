# Red Financial Credit early-warning service. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export EWS_HOME ?= $(CURDIR)/.ews
# Library telemetry off for every target (docs/stack.md, telemetry).
export MLFLOW_DISABLE_TELEMETRY := true
export BENTOML_DO_NOT_TRACK := true
export DO_NOT_TRACK := true

DEMO_BORROWERS ?= 5000
DEMO_MONTHS ?= 36
DEMO_SEED ?= 20261127
# The demo's book holds a shock (hotels and tourism lose business from 2024-07), so the
# monitoring stage and its dashboard have something to show.
DEMO_SCENARIO ?= features/scenarios/hospitality_tourism_downturn.yaml
PORTFOLIO := $(EWS_HOME)/data/portfolio
# Debian's Chromium: the dashboard tests open the Evidently UI in it, headless.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv browser demo test lint typecheck check bench bench-serving clean lock

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the project with pinned versions

$(CHROMIUM):
	@echo "installing Debian's chromium package (the dashboard tests drive it headless)"
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium \
	  || ($(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium)

browser: $(CHROMIUM) ## Install Debian's chromium for the headless dashboard tests

demo: $(STAMP) ## Simulate, validate, build features, train and promote; serve it, score over HTTP, assess the book; monitor it; provide for it
	$(BIN)/ews-data simulate --borrowers $(DEMO_BORROWERS) --months $(DEMO_MONTHS) --seed $(DEMO_SEED) --scenario $(DEMO_SCENARIO) --out $(PORTFOLIO)
	$(BIN)/ews-data validate $(PORTFOLIO)
	$(BIN)/ews-data summary $(PORTFOLIO)
	$(BIN)/ews-data crosswalk $(PORTFOLIO) --fit-until 2024-06-30
	$(BIN)/ews-data features --data $(PORTFOLIO) --as-of 2024-01:2025-12 --out $(EWS_HOME)/data/snapshots.parquet
	$(BIN)/ews-train fit --data $(PORTFOLIO) --promote
	bash serving/examples/demo_service.sh $(BIN) $(PORTFOLIO) $(EWS_HOME)/reports
	bash monitoring/examples/demo_monitoring.sh $(BIN) $(PORTFOLIO) $(EWS_HOME)/reports
	bash provisions/examples/demo_provisions.sh $(BIN) $(PORTFOLIO) $(EWS_HOME)/reports

test: $(STAMP) $(CHROMIUM) ## Run the whole test suite (installs chromium first if missing)
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check features models training serving monitoring provisions tests benchmarks
	$(BIN)/ruff format --check features models training serving monitoring provisions tests benchmarks

typecheck: $(STAMP) ## mypy over the packages
	$(BIN)/mypy

check: lint typecheck test ## Lint, type-check and test

bench: $(STAMP) ## Benchmarks: simulator, snapshots (100,000 borrowers) and training on 1,000,000 rows
	$(BIN)/python benchmarks/bench_simulator.py --borrowers 100000 --months 36
	test -d $(EWS_HOME)/data/book100k || $(BIN)/ews-data simulate -n 100000 -m 36 --out $(EWS_HOME)/data/book100k
	$(BIN)/python benchmarks/bench_snapshots.py --book $(EWS_HOME)/data/book100k
	test -d $(EWS_HOME)/data/book130k48 || $(BIN)/ews-data simulate -n 130000 -m 48 --out $(EWS_HOME)/data/book130k48
	$(BIN)/python benchmarks/bench_training.py --book $(EWS_HOME)/data/book130k48

bench-serving: $(STAMP) ## Serving benchmark on the demo's home (run make demo first): one borrower vs the framework floor, a 1,000-borrower batch
	$(BIN)/python benchmarks/bench_serving.py --home $(EWS_HOME)

lock: ## Re-resolve the pinned versions into constraints.txt (needs the network to PyPI)
	rm -rf /tmp/ews-lock && $(PYTHON) -m venv /tmp/ews-lock
	/tmp/ews-lock/bin/pip install --quiet "pip==26.3" && /tmp/ews-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/ews-lock/bin/pip freeze --exclude-editable > constraints.txt

clean: ## Remove the virtualenv and all local state under EWS_HOME
	rm -rf $(VENV) $(EWS_HOME) .pytest_cache .mypy_cache .ruff_cache
