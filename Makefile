# Two commands a newcomer needs: `make up` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: up test lint install bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU wheel of torch first, so nothing pulls a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/albumbot up --demo

# The checks that keep the shape (pyproject.toml: [tool.ruff], [tool.mypy]); `make test` runs them first.
lint: $(STAMP)
	$(VENV)/bin/ruff check app worker model tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/albumbot bench generate --json
	$(VENV)/bin/albumbot bench train --json

clean:
	rm -rf $(VENV) .pytest_cache
