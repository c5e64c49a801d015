# Every target sets itself up: a fresh clone needs only python3 (3.11+), pip and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test check lint bench clean

$(BIN)/bulkdelete: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/bulkdelete

demo: setup
	$(BIN)/bulkdelete demo

# The test command CI runs: lint, types, then the whole suite on two workers with branch
# coverage.
test: setup
	$(BIN)/ruff check bulkdelete tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist worksteal --cov --cov-branch --cov-report=term --cov-fail-under=90 -q

# The unit tier, for the edit-and-test loop: no server, socket or subprocess, and fewer
# Hypothesis examples than make test tries; seconds.
check: setup
	$(BIN)/pytest -n 2 -m "not e2e" --ignore=tests/e2e --hypothesis-profile=check -q

lint: setup
	$(BIN)/ruff check bulkdelete tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage .coverage.* .hypothesis
