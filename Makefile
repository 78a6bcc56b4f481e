# The targets are the interface: CI calls `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Touched after a successful install; reinstall only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench install

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(PY) scripts/run_local.py

test: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) scripts/run_tests.py $(PYTEST_ARGS)
	$(PY) scripts/run_tests.py --browser

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy provers compliance

bench: $(INSTALLED)
	$(PY) -m benchmarks
	$(PY) -m benchmarks.inference mlp lenet_avg lenet_max vgg16 transformer mlp@input mlp@input,output mlp@weights mlp@weights,input,output lenet_avg@input lenet_max@input,output lenet_max@weights,input
	$(PY) -m benchmarks.inference nanogpt
	$(PY) -m benchmarks.inference minilm
	$(PY) -m benchmarks.weight_range mlp lenet_avg vgg16
	$(PY) -m benchmarks.audit mlp:10000 lenet_avg:1024
	$(PY) -m benchmarks.audit mlp:64@input
