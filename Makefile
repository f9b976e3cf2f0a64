# maestro-control-room: `make demo` runs the control room on the built-in simulator,
# `make test` runs ruff, mypy and the tests. Both create .venv when it is absent.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest snapshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/maestro-control-room --config config.toml

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# pytest exits 5 when it collects no test, so an empty run fails here too.
pytest: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The benchmark: the real app in a pseudo-terminal against the simulator and an MQTT event
# load (steady, burst, soak, and scale: 5,000 repos / 50 waves / 200 rollouts, also through
# Prometheus and a cluster), each beside the naive baseline of the same run; prints a table
# and writes bench/results/latest.json. BENCH_ARGS="steady burst --baseline" narrows it.
BENCH_ARGS ?= --baseline
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Regenerate the snapshot baselines after an intended change of the screen.
snapshots: $(VENV)/.dev-installed
	$(BIN)/pytest tests/test_snapshots.py tests/test_detail_snapshots.py --snapshot-update
	$(BIN)/python -m tests.readme_screen
	$(BIN)/python -m tests.screen_pictures

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
