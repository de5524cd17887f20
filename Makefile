# `make report` and `make test` each set up everything they need on a fresh machine:
# a virtual environment in .venv with the pinned tools of requirements-dev.txt and sigact itself.
#
# TORCH_INDEX: where the pinned torch comes from. Empty (the default), pip's own configuration
# decides: on a stock Linux machine that is PyPI's CUDA build. For PyTorch's CPU-only build, as
# PyTorch's install instructions name it:
#     make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
PYTHON ?= python3
TORCH_INDEX ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_PIN := $(shell grep '^torch==' requirements-dev.txt)

.PHONY: report verify test bench figures dist check-deps test-min-jax test-min-torch check-torch-kept clean

$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/sigact report $(ARGS)

verify: $(STAMP)
	$(BIN)/sigact verify $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check sigact tests examples benchmarks docs conftest.py
	$(BIN)/python -m pytest -n 2 $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(ARGS)

figures: $(STAMP)
	$(BIN)/python docs/make_figures.py

# The sdist and the wheel, built from the sdist, with their metadata checked.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

# What a stock pip (no local wheels, no constraints: --isolated) resolves for requirements-dev.txt.
check-deps:
	bash .ci/check-deps

# The JAX half of the suite against the oldest versions sigact declares (requirements-min-jax.txt).
test-min-jax:
	bash .ci/test-min-jax

# The torch half of the suite against the oldest torch sigact declares (requirements-min-torch.txt).
test-min-torch:
	TORCH_INDEX=$(TORCH_INDEX) bash .ci/test-min-torch

# `pip install ".[torch]"` keeps the newest (.venv) and the oldest (.venv-min-torch) supported torch.
check-torch-kept: $(STAMP)
	bash .ci/check-torch-kept $(VENV) .venv-min-torch

clean:
	rm -rf $(VENV) .venv-min-jax .venv-min-torch build dist *.egg-info
