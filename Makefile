# `make report` and `make test` each set up everything they need on a fresh machine:
# a virtual environment in .venv with the pinned tools of requirements-dev.txt and sigact itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test bench figures clean

$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$$(grep '^torch==' requirements-dev.txt)"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/sigact report $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check sigact tests examples benchmarks docs conftest.py
	$(BIN)/python -m pytest -n 2 $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(ARGS)

figures: $(STAMP)
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) build dist *.egg-info
