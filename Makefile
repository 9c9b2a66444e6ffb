# Living paper: Matsuoka et al. 2025, re-executable supplement.
# Every target sets up its own environment the first time (.venv, pinned by requirements.lock).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data/cohort.csv
OUT    ?= _build
# Options for reading the data (build and validate), e.g. DATA_OPTS="--hba1c-unit ifcc"
DATA_OPTS ?=
# Extra options for `livingpaper build`, e.g. BUILD_OPTS="--severe-above 8.5"
BUILD_OPTS ?=

.DEFAULT_GOAL := help
.PHONY: help book pdf test validate cohort bench env browser lock clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

env: $(STAMP) ## Create the pinned environment in .venv (done automatically by the other targets)

book: $(STAMP) ## Build the book from DATA (default data/cohort.csv) into OUT (default _build)
	$(BIN)/livingpaper build --data "$(DATA)" --out "$(OUT)" $(DATA_OPTS) $(BUILD_OPTS)

pdf: $(STAMP) browser ## Build the book and print it to OUT/book.pdf
	$(BIN)/livingpaper build --data "$(DATA)" --out "$(OUT)" --pdf $(DATA_OPTS) $(BUILD_OPTS)

browser: ## Install Debian's Chromium if it is missing (PDF and browser tests need it)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing chromium (Debian package)"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "chromium is not installed and cannot be installed here (needs root and apt-get)"; fi; }

validate: $(STAMP) ## Check DATA without building (exit 0 when usable)
	$(BIN)/livingpaper validate --data "$(DATA)" $(DATA_OPTS)

test: $(STAMP) browser ## Run the test suite (installs Chromium for the PDF and browser tests)
	$(BIN)/python -m pytest

bench: $(STAMP) ## Time clean, parallel, cached and large-cohort builds (prints a table)
	$(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES),) $(if $(REPEAT),--repeat $(REPEAT),)

cohort: $(STAMP) ## Regenerate data/cohort.csv from data/published.yaml (the reconstruction)
	$(BIN)/livingpaper reconstruct --out data/cohort.csv

lock: ## Re-resolve and pin the environment into requirements.lock
	rm -rf /tmp/livingpaper-lock && $(PYTHON) -m venv /tmp/livingpaper-lock
	/tmp/livingpaper-lock/bin/pip install --quiet -e '.[test]' hatchling==1.27.0 editables==0.5
	( echo "# Full pinned environment (pip freeze of a fresh venv on Python 3.11); regenerate with 'make lock'."; \
	  /tmp/livingpaper-lock/bin/pip freeze --exclude-editable ) > requirements.lock

clean: ## Remove the built book (keeps .venv)
	rm -rf _build
