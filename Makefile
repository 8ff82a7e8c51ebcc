# Every target bootstraps .venv idempotently: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4010
ARGS ?=

.PHONY: run test lint check fuzz clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mockserver serve --host $(HOST) --port $(PORT) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

# The contract fuzz suite with a far larger budget (hypothesis `deep` profile); not run in CI.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest tests/test_contract.py tests/test_stateful_contract.py

lint: $(STAMP)
	$(BIN)/ruff check mockserver tests
	$(BIN)/ruff format --check mockserver tests
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/mockserver check

# Not run in CI: loads the mock and a bare Starlette app with wrk on 127.0.0.1 (about 7 minutes), writes
# bench/RESULTS.md. Installs wrk (apt-get) and py-spy (pip, into .venv) if missing; Prism (npx) is optional.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .cache tests/generators/node_modules tests/generators/generated
