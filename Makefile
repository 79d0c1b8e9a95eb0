# skcrm: the two commands are `make demo` and `make test`; each builds .venv on first use.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pip's index configuration on some machines prints one harmless warning per package.
PIPQ := grep -v -e "is ignored: it is neither a file nor a directory" || true
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

# Thread counts for tests and benchmarks are deliberate: the suite runs TEST_WORKERS
# processes, each single-threaded (BLAS, OpenMP, XLA), so 2 cores are never oversubscribed.
THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	VECLIB_MAXIMUM_THREADS=1 NUMEXPR_NUM_THREADS=1 JAX_PLATFORMS=cpu \
	XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

.PHONY: help demo test test-slow test-all bench docs lint format clean

help:
	@echo "make demo       set up .venv and run the end-to-end tour on the shipped data"
	@echo "make test       set up .venv (dev extra) and run the fast test suite"
	@echo "make test-slow  the slow statistical tests (coverage, recovery at scale)"
	@echo "make bench      benchmarks against peer libraries (bench extra, .venv-bench)"
	@echo "make docs       build the HTML documentation into docs/_build/html"
	@echo "make lint       ruff check, ruff format --check, numpydoc validation of the public API"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | $(PIPQ)

# A stamp per extra, remade whenever pyproject.toml changes.
$(VENV)/.stamp-%: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[$*]" 2>&1 | $(PIPQ)
	$(PY) -c "import skcrm"
	touch $@

$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e . 2>&1 | $(PIPQ)
	$(PY) -c "import skcrm"
	touch $@

demo: $(VENV)/.stamp-base
	$(PY) -m skcrm demo

test: $(VENV)/.stamp-dev
	$(THREADS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-slow: $(VENV)/.stamp-dev
	$(THREADS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m slow $(PYTEST_ARGS)

test-all: $(VENV)/.stamp-dev
	$(THREADS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "slow or not slow" $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(THREADS) $(PY) tools/check_docstrings.py

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

docs: $(VENV)/.stamp-docs
	$(THREADS) $(PY) -m sphinx -b html -q -n -W --keep-going docs docs/_build/html
	@echo "docs written to docs/_build/html/index.html"

# Peers (lifetimes, econml, hmmlearn) live in their own environment so that their
# pins never move the versions the tests run against.
BVENV := .venv-bench
$(BVENV)/bin/python:
	$(PYTHON) -m venv $(BVENV)
	$(BVENV)/bin/python -m pip install -q --upgrade pip 2>&1 | $(PIPQ)

$(BVENV)/.stamp: pyproject.toml | $(BVENV)/bin/python
	$(BVENV)/bin/python -m pip install -q -e ".[bench,dev]" 2>&1 | $(PIPQ)
	touch $@

bench: $(BVENV)/.stamp
	$(BVENV)/bin/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BVENV) docs/_build docs/auto_examples docs/api/generated skcrm-demo .pytest_cache
