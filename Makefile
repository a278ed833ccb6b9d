# neurospice: set-up, main job, tests and benchmarks.
#   make run    - install everything, then simulate the reference board
#   make test   - install everything, then run the test suite
#   make bench  - install everything, then run the benchmarks
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEBS    = ngspice libngspice0 libngspice0-dev libseccomp2
SUDO    = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DECK   ?= netlists/coupled_fhn.cir

.PHONY: all deps venv run test test-fast bench lint clean

all: run

deps:
	@if ! dpkg -s $(DEBS) >/dev/null 2>&1; then \
	    echo "installing $(DEBS)"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBS); \
	fi

$(BIN)/simulate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# compat: the project folder on sys.path through a .pth line; the default editable finder
	# costs every Python start 9 ms of imports
	$(BIN)/python -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	@touch $@

# the package's bytecode, written even where PYTHONDONTWRITEBYTECODE is set (as on some CI
# machines): without it every run compiles the modules it imports, 15-20 ms before ngspice starts
venv: $(BIN)/simulate
	@$(BIN)/python -m compileall -q neurospice >/dev/null

run: deps venv
	$(BIN)/simulate $(DECK)

test: deps venv
	$(BIN)/python -m pytest -q -rs

test-fast: deps venv
	$(BIN)/python -m pytest -q -m "not slow"

bench: deps venv
	$(BIN)/python benchmarks/run_benchmarks.py
	$(BIN)/python benchmarks/bench_circuit.py
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_safety.py
	$(BIN)/python benchmarks/fuzz.py

lint: venv
	$(BIN)/ruff check neurospice tests benchmarks
	$(BIN)/mypy neurospice

clean:
	rm -rf $(VENV) neurospice/netlists/*_out .pytest_cache
