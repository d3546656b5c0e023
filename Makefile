# One command to set up and serve, one to set up and test (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,body-build
PYTEST_ARGS ?=

.PHONY: setup serve test preview clean

# The virtualenv is (re)installed whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed

# Until the HTTP service lands, "serve" draws the embedded body model (body.png).
serve: setup
	$(BIN)/python -m model.body.preview --out body.png

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

preview: setup
	$(BIN)/python -m model.body.preview --out body.png

clean:
	rm -rf $(VENV) .pytest_cache body.png
