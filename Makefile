# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates .venv and installs the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench validate clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

# Servers and the browser some tests use (Redis, PostgreSQL, Chromium), from
# Debian's packages, installed when missing. It needs root (or sudo); without
# either it says so, and those tests skip — except under CI (CI=true), where a
# missing server fails them.
system-deps:
	@for script in tools/ensure-*.sh; do \
	  if [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
	    bash "$$script" || exit 1; \
	  else \
	    echo "$$script: not root and no sudo: skipped (tests needing it will skip)"; \
	  fi; \
	done

test: lint system-deps
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
	$(BIN)/python benchmarks/bench_signals.py
	$(BIN)/python benchmarks/bench_browser.py
	$(BIN)/python benchmarks/bench_terms.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
