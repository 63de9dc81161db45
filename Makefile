# Downbeat: `make up` runs the whole stack, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup up test lint typecheck format bench bench-deps system-deps doctor clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Downbeat needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip uv
	@# uv is fast; plain pip is the fallback where uv cannot reach the index.
	@$(BIN)/uv pip sync -q -p $(BIN)/python requirements.lock || $(BIN)/python -m pip install -q -r requirements.lock
	@$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e . || $(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)
	@echo "setup: $(VENV) is ready"

up: setup
	$(BIN)/downbeat up

doctor: setup
	$(BIN)/downbeat doctor

system-deps:
	@bash scripts/system-deps.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# The architecture (docs/ARCHITECTURE.md): layers per area, no cycles, no process importing another.
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy

test: setup system-deps lint typecheck
	$(BIN)/pytest

bench-deps: setup
	@# The evaluation corpus renders with the General MIDI soundfont through tinysoundfont; its pyaudio
	@# dependency does not build here and rendering never uses it, so it is installed without deps.
	@$(BIN)/python -c "import tinysoundfont" 2>/dev/null || $(BIN)/uv pip install -q -p $(BIN)/python --no-deps tinysoundfont==0.3.7 || echo "bench: tinysoundfont unavailable; the corpus falls back to the numpy synthesiser"

bench: bench-deps
	$(BIN)/pytest tests/benchmarks -m benchmark -s -p no:cacheprovider

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
