# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates .venv and installs the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check crawler_compliance tests benchmarks examples
	$(BIN)/ruff format --check crawler_compliance tests benchmarks examples
	$(BIN)/mypy crawler_compliance

validate: $(STAMP)
	$(BIN)/crawler-compliance validate policies/

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_robots.py
	$(BIN)/python benchmarks/bench_middleware.py
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_terms.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
