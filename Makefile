# Two entry points for a fresh machine with Python 3.11 and make:
#   make run   - install into .venv, bring the index up to date with corpus/, and serve
#                the web chat at http://127.0.0.1:7860/
#   make test  - install into .venv (plus test tools), run lint, types and the whole suite
#   make bench - the scale benchmark (benchmarks/scale.py; results in .kapbot-bench/)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean chromium bench

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
	$(BIN)/kapbot ingest --fit-later
	$(BIN)/kapbot serve

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded).
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

test: install lint chromium
	$(BIN)/python -m pytest

# Latency, throughput, memory and quality as the corpus grows, beside the plain LangChain
# recipe. Long: pass options with BENCH_ARGS, e.g. make bench BENCH_ARGS=--quick
bench: install
	$(BIN)/python benchmarks/scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .kapbot .pytest_cache .mypy_cache .ruff_cache
