# Two commands: `make run` (serve demo content on http://127.0.0.1:8080/fhir), `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080
HOST   ?= 127.0.0.1

.PHONY: run test lint check install clean bench txsuite lock

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/termserver serve --host $(HOST) --port $(PORT) --demo-dir demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

check: lint test

# requirements.lock pins what the container image installs; regenerate after changing
# pyproject.toml's dependencies (pip-tools, a dev dependency).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

txsuite: $(STAMP)
	../shared/txsuite/run --server http://$(HOST):$(PORT)/fhir $(TXSUITE_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
