# Two entry points for a fresh machine with Python 3.11 and make:
#   make run   - install into .venv, build the index from corpus/, start the app
#                (an interactive terminal chat until the web app exists)
#   make test  - install into .venv (plus test tools), run lint, types and the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "kapbot needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the pinned CPU build (any other version pulls GBs of CUDA)
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/kapbot ingest
	$(BIN)/kapbot chat

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .kapbot .pytest_cache .mypy_cache .ruff_cache
