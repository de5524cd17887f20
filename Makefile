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
# The venv's pip is whichever one Python ships; its "new release" notice would repeat on every step.
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: report verify test mutate bench figures docs docs-check typecheck dist check-deps test-min-jax test-min-torch test-newest check-torch-kept gpu-check clean

# torch is a multi-GiB download: its step keeps pip's progress bar, so a first install does not sit
# silent for minutes.
# The pins install the same on every machine: no pip configuration file is read (a machine's pip.conf
# can add a constraints file that refuses a pin, or a local wheel folder). pip's environment variables
# (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_CERT, PIP_CONSTRAINT ...) still apply: set one for a proxy or a
# mirror, or unset it if it gets in the way.
$(STAMP): export PIP_CONFIG_FILE := /dev/null
$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar on $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/sigact report $(ARGS)

verify: $(STAMP)
	$(BIN)/sigact verify $(ARGS)

# --durations: the suite should stay under about 10 minutes on 2 cores, and the slowest tests are where to look.
test: $(STAMP)
	$(BIN)/ruff check sigact tests examples benchmarks docs mutation conftest.py
	$(BIN)/python -m pytest -n 2 --durations=20 $(ARGS)

# Mutation testing of the files that carry the promise, each against the tests that exercise it
# (mutation/run.py, mutmut 3): docs/results/mutation.json, and exit 1 while a surviving mutant has neither a
# test nor a reason in mutation/reasons.json. Slow (CONTRIBUTING.md says how slow); for a change's own files:
#     make mutate FILES="sigact/cli.py sigact/_bits.py"
FILES ?=
mutate: $(STAMP)
	nice $(BIN)/python mutation/run.py $(FILES) $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(ARGS)

figures: $(STAMP)
	$(BIN)/python docs/make_figures.py

# On a machine with an NVIDIA GPU: verify on CUDA, the CUDA tests, the Triton kernel's throughput and
# JAX on the GPU, in a few minutes (benchmarks/gpu_check.py); writes docs/results/gpu-*.json and the
# GPU section of docs/benchmarks.md. Exits 2, having run nothing, where there is no GPU.
# GPU_PYTHON: a Python that already has a CUDA torch, triton and pytest, used instead of .venv (for a
# GPU machine without internet, where .venv cannot be set up):
#     make gpu-check GPU_PYTHON=python3
GPU_PYTHON ?=
gpu-check: $(if $(GPU_PYTHON),,$(STAMP))
	PYTHONPATH=$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH} $(or $(GPU_PYTHON),$(BIN)/python) benchmarks/gpu_check.py $(ARGS)

# The docs site, from docs/ and the docstrings, into docs/_build/html (open docs/_build/html/index.html).
# First docs/generate.py writes every measured table of the pages from the JSON in docs/results/, so a
# re-run benchmark's committed JSON is all a page needs. Strict: any warning fails the build, an
# unresolved cross-reference or a broken link between pages included (-n -W); a fresh environment each
# time (-E -a), since Sphinx does not repeat an unchanged page's warnings.
docs: $(STAMP)
	$(BIN)/python docs/generate.py
	$(BIN)/python -m sphinx -b html -E -a -n -W --keep-going -q docs docs/_build/html

# The built site in a headless Chromium (Debian's: apt-get install chromium), offline: rendered math,
# every public name on the API reference, and search.
docs-check: docs
	$(BIN)/python docs/check_site.py docs/_build/html

# mypy over sigact/, strict on the public API (pyproject.toml's [tool.mypy] says what is relaxed where).
typecheck: $(STAMP)
	$(BIN)/mypy

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

# The whole suite against the newest release of every package requirements-dev.txt names (jax, jaxlib
# and flax pre-releases included where one is out), as a stock pip resolves them today: no pip
# configuration file and no PIP_* variable counts (--isolated). A venv of its own, .venv-newest, brought
# up to date on each run. Not part of CI: a new release may fail it; docs/install.md records each run.
NEWEST := .venv-newest
NEWEST_PIP = PIP_CONFIG_FILE=/dev/null $(NEWEST)/bin/pip --isolated --disable-pip-version-check
# triton is left to torch, which pins the one it was built with.
# A specifier that names a pre-release lets pip take pre-releases of that package alone (--pre would take
# them for every dependency too).
NEWEST_PRE = "jax>=0.dev0" "jaxlib>=0.dev0" "flax>=0.dev0"
NEWEST_OTHERS = $(filter-out torch jax jaxlib flax triton,$(shell sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' requirements-dev.txt))
test-newest:
	test -x $(NEWEST)/bin/python || $(PYTHON) -m venv $(NEWEST)
	$(NEWEST_PIP) install --upgrade --progress-bar on $(NEWEST_PRE) torch $(NEWEST_OTHERS)
	$(NEWEST_PIP) install --quiet --no-deps -e .
	$(NEWEST)/bin/python -c 'import importlib.metadata as m; print("test-newest:", ", ".join(f"{p} {m.version(p)}" for p in ("torch", "jax", "jaxlib", "flax", "equinox", "optax", "keras", "dm-haiku")))'
	$(NEWEST)/bin/python -m pytest -n 2 $(ARGS)

# `pip install ".[torch]"` keeps the newest (.venv) and the oldest (.venv-min-torch) supported torch.
check-torch-kept: $(STAMP)
	bash .ci/check-torch-kept $(VENV) .venv-min-torch

clean:
	rm -rf $(VENV) .venv-min-jax .venv-min-torch $(NEWEST) build dist *.egg-info docs/_build .mypy_cache
