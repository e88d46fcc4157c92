# FinTrack developer commands. `make test` is exactly what CI runs (.ci/run calls it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export XDG_RUNTIME_DIR ?= /tmp/fintrack-runtime-$(shell id -u)

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck fmt bench demo clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $@

install: $(VENV)/.synced ## Create .venv and install the locked dependencies

run: install ## Start FinTrack at http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/fintrack serve

test: install ## Lint, then run every test against a real embedded PostgreSQL
	$(BIN)/ruff check src tests bench
	@scripts/test-tools.sh
	$(BIN)/python -m pytest

lint: install ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install ## mypy over src/
	$(BIN)/mypy

fmt: install ## Format and fix what ruff can
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install ## Run the benchmarks (prints figures; see docs/benchmarks.md)
	$(BIN)/python bench/ledger_bench.py

demo: install ## Fill a demo book with two years of Brazilian household life
	$(BIN)/fintrack demo

clean: ## Remove the environment and caches (keeps ./data)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
