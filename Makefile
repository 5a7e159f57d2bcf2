# LDN Outcomes: `make run` serves the demo registry (built on first use); `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := data/demo.sqlite3
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install run demo test lint format bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# `make demo` (or `make run REBUILD=1`) builds the demo registry afresh; `make run` keeps it.
demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/ldn init --db sqlite:///$(DEMO_DB)
	$(BIN)/ldn demo build --db sqlite:///$(DEMO_DB)

run: $(STAMP)
	if [ -n "$(REBUILD)" ] || [ ! -f $(DEMO_DB) ]; then $(MAKE) demo; \
	else $(BIN)/ldn init --db sqlite:///$(DEMO_DB); fi
	LDN_DEMO=1 $(BIN)/ldn serve --db sqlite:///$(DEMO_DB) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .ruff_cache .mypy_cache
