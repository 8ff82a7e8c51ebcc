# Every target bootstraps .venv idempotently: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4010
ARGS ?=

.PHONY: run test lint check fuzz clean bench soak install-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# `make run PORT=4610 HOST=0.0.0.0 ARGS="--api stack-ai --seed 3"`: the port and host go in PORT and HOST.
run: $(STAMP)
	@case " $(ARGS) " in *" --port"*|*" --host"*) \
		echo 'make run: give the port and host as PORT=... HOST=..., not in ARGS' >&2; exit 2;; esac
	$(BIN)/mockserver serve --host $(HOST) --port $(PORT) $(ARGS)

# The suite, then the package as a user gets it: a wheel in a fresh venv outside the checkout.
test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python tests/install_check.py

# Builds the sdist and, from it, the wheel; installs the wheel into a fresh venv in a temporary folder with its
# runtime dependencies only; runs `mockserver check`, `serve` and examples/user-project's tests there.
install-check: $(STAMP)
	$(BIN)/python tests/install_check.py

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

# Not run in CI: mixed traffic across both APIs for SOAK_ARGS' --duration (default 10 minutes), RSS sampled from
# outside, loopback only; writes bench/SOAK.md and exits 1 on a 5xx or RSS growth of 5% or more after warm-up.
soak: $(STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .cache tests/generators/node_modules tests/generators/generated
