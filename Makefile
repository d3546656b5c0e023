# One command to set up and serve, one to set up and test (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,body-build
PYTEST_ARGS ?=

.PHONY: setup serve test lint preview openapi clean

# The virtualenv is (re)installed whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed

SERVE_ARGS ?=

# Start the HTTP service (python -m service; 127.0.0.1:8000 unless RSCNET_HOST / RSCNET_PORT or SERVE_ARGS say otherwise).
serve: setup
	$(BIN)/python -m service $(SERVE_ARGS)

openapi: setup
	$(BIN)/python -m service.tools.openapi --out openapi/openapi.json

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

preview: setup
	$(BIN)/python -m model.body.preview --out body.png

clean:
	rm -rf $(VENV) .pytest_cache body.png
