# FinTrack developer commands. `make test` is exactly what CI runs (.ci/run calls it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export XDG_RUNTIME_DIR ?= /tmp/fintrack-runtime-$(shell id -u)

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck fmt bench demo clean messages

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $@

# The web UI's front-end (htmx, ECharts) from the npm registry, pinned in package-lock.json, bundled by esbuild.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

WEB_STATIC := src/fintrack/web/static/.built
$(WEB_STATIC): node_modules/.installed $(wildcard src/fintrack/web/assets/*)
	npm run --silent build
	@touch $@

install: $(VENV)/.synced $(WEB_STATIC) ## Create .venv, install the locked dependencies, build the web UI's bundle

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

messages: install ## Extract the web UI's messages and merge them into each language's catalogue
	$(BIN)/pybabel extract -F src/fintrack/web/babel.cfg -k text:2 -k _t:2 -k mark -k _ --no-location --sort-output \
		--ignore-dirs ".* ._ bench node_modules" -o src/fintrack/web/locales/messages.pot .
	$(BIN)/pybabel update -i src/fintrack/web/locales/messages.pot -d src/fintrack/web/locales -D messages \
		--no-fuzzy-matching --ignore-obsolete
