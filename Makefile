# gradcost: `make bench` and `make test` set up .venv themselves on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Every environment is installed by uv (pinned here; pip installs it into .venv first): from the same
# package index and lock files as pip, about 20 s for all four where pip took 4 min (docs/frameworks.md).
# uv looks where pip is told to look (PIP_FIND_LINKS: e.g. a local CPU build of PyTorch).
UV_VERSION := 0.13.8
UV     := $(VENV)/bin/uv
ifneq ($(PIP_FIND_LINKS),)
export UV_FIND_LINKS ?= $(PIP_FIND_LINKS)
endif
SUITE  := configs/question.yaml configs/depth_sweep.yaml configs/width_sweep.yaml
CONFIG ?= $(SUITE)
OUT    ?= results
# make bench's time budget for its workers (seconds): the default suite measures in 10 minutes however
# noisy the machine (the rest is calibration, probes and the report: 55 s of a paired run's 605 s on a noisy
# hour, 2026-12-03, whose workers overran 540 s by one worker); TIME_BUDGET= lifts it (docs/methodology.md).
TIME_BUDGET ?= 520

# PyTensor, JAX and PyTorch need numpy 2, Theano numpy<1.24: one pinned environment per
# framework (envs/NAME.txt -> .envs/NAME), built on first use. GRADCOST_PYTHON_NAME names an
# existing interpreter instead (a machine with the framework and no package index).
FRAMEWORK_ENVS := pytensor jax torch
upper = $(shell echo $(1) | tr a-z A-Z)
FRAMEWORKS_SUITE := configs/frameworks.yaml configs/frameworks_depth.yaml
COUNTS_SUITE := configs/question_counted.yaml configs/depth_counted.yaml
LINEAGE_SUITE := configs/lineage.yaml

.PHONY: site browser vendor-check bench bench-frameworks bench-counts bench-lineage test test-fast test-exhaustive lint lock-venv report compare notebook order-effect paired gpu-check setup openblas envs clean-cache \
	$(addprefix env-,$(FRAMEWORK_ENVS))

bench: setup openblas
	$(PY) -m harness run $(CONFIG) --out $(OUT) $(if $(TIME_BUDGET),--time-budget $(TIME_BUDGET))

# Theano, PyTensor (every mode), JAX and PyTorch side by side: one run folder.
bench-frameworks: setup openblas envs
	$(PY) -m harness run $(FRAMEWORKS_SUITE) --out $(OUT)

# The question's network and a depth sweep in every release of the lineage, Theano 0.7.0 (2015) to today's
# PyTensor, JAX and PyTorch: each release's environment (envs/NAME-VERSION.txt, with the Python it needs) is
# built on first use; one that cannot be had is skipped with the reason (docs/lineage.md).
bench-lineage: setup openblas envs
	$(PY) -m harness run $(LINEAGE_SUITE) --out $(OUT)

# The question's network and the depth sweep timed and counted in instructions under valgrind (about 45 min each).
bench-counts: setup openblas
	$(PY) -m harness run $(COUNTS_SUITE) --out $(OUT)

# The tests' compile caches (Theano's compiledir; beside it PyTensor's, Numba's, XLA's and TorchInductor's) live
# in the machine's cache, not in the clone's .cache/: a fresh clone on a machine that ran the tests before compiles
# nothing again (PyTensor 3.3.7's cold Numba compile alone is ~2 min). Every cold compile a test measures gets an
# empty folder of its own, as in a run. TEST_CACHE=.cache gives the old per-clone caches; make clean-cache empties both.
TEST_CACHE ?= $(HOME)/.cache/gradcost/test

TEST_ENV := GRADCOST_COMPILEDIR=$(abspath $(TEST_CACHE))/theano
# make test-fast's tests: .venv only, no framework environment, no real worker process, no cluster.
FAST_TESTS := not slow and not frameworks and not dask and not serial and not exhaustive and not browser

# The whole suite (CI's command): the layer contracts, then every test, one test file per core at a time
# (a file's module fixtures run once; the longest files first, tests/conftest.py), then the few that measure
# cores with the machine to themselves. (Running make test-fast's tests beside the environments' build instead
# measured slower, 2026-12-03: docs/architecture.md.)
test: setup openblas envs browser lint
	$(TEST_ENV) $(PY) -m pytest -q -n auto --dist loadfile -m "not serial and not exhaustive" --durations=15
	$(TEST_ENV) $(PY) -m pytest -q -m "serial and not exhaustive"

# The edit loop: .venv only, no framework environment, no real worker process, no cluster (under a minute).
test-fast: setup
	$(PY) -m pytest -q -m "$(FAST_TESTS)"

# The full statistical simulations (minutes), left out of make test.
test-exhaustive: setup
	$(PY) -m pytest -q -m exhaustive

# The layers (import-linter contracts in pyproject.toml) and ruff's checks and formatting.
lint: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check harness tests
	$(VENV)/bin/ruff format --check harness tests

report: setup
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<run-id>"; exit 2; }
	$(PY) -m harness report $(RUN)

compare: setup
	@test -n "$(BASE)" -a -n "$(NEW)" || { echo "usage: make compare BASE=results/<run-id> NEW=results/<run-id>"; exit 2; }
	$(PY) -m harness compare $(BASE) $(NEW)

# Runs notebooks/explore.ipynb on the newest run (or RUN=...) into an executed copy.
notebook: setup
	GRADCOST_RUN=$(RUN) $(PY) -c "import nbformat; from nbclient import NotebookClient; \
	nb = nbformat.read('notebooks/explore.ipynb', 4); \
	NotebookClient(nb, timeout=600, resources={'metadata': {'path': 'notebooks'}}).execute(); \
	nbformat.write(nb, 'notebooks/explore.executed.ipynb')"
	@echo "executed: notebooks/explore.executed.ipynb (open it in Jupyter, VS Code or on GitHub)"

# A GPU machine: no package index, no .venv, no Theano; a Python that has jax and torch
# (GPU_PYTHON) runs the orchestrator and the workers. Cases without a GPU or without their
# framework are recorded as skipped.
GPU_PYTHON ?= python3
GPU_SUITE := configs/gpu_check.yaml configs/gpu_depth.yaml
gpu-check:
	GRADCOST_PYTHON_JAX=$${GRADCOST_PYTHON_JAX:-$(GPU_PYTHON)} \
	GRADCOST_PYTHON_TORCH=$${GRADCOST_PYTHON_TORCH:-$(GPU_PYTHON)} \
	GRADCOST_PYTHON_PYTENSOR=$${GRADCOST_PYTHON_PYTENSOR:-$(GPU_PYTHON)} \
	$(GPU_PYTHON) -m harness run $(GPU_SUITE) --skip-missing --out $(OUT)

# Same worker, alternating timings vs separate processes: single and per_param (a few minutes).
paired: setup openblas
	$(PY) -m harness paired configs/paired.yaml --out $(OUT)

# How compile order fools naive timing, next to gradcost's numbers (a few minutes).
order-effect: setup openblas
	$(PY) -m harness order-effect configs/order_effect.yaml --out $(OUT)

setup: $(STAMP)

# envs/venv.txt, the lock of .venv, written again from pyproject.toml's pins in a fresh environment.
lock-venv:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[test,dask]'
	{ sed -n '1,4p' envs/venv.txt; .lock-venv/bin/python -m pip freeze --exclude gradcost; } > envs/venv.txt.new
	mv envs/venv.txt.new envs/venv.txt && rm -rf .lock-venv
	@echo "envs/venv.txt written; make setup rebuilds .venv from it"

$(STAMP): pyproject.toml envs/venv.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found. gradcost needs Python 3.11 (Theano-PyMC 1.1.2 with numpy<1.24)."; \
	  echo "Install it (e.g. 'apt-get install python3.11 python3.11-venv python3.11-dev' or 'pyenv install 3.11')"; \
	  echo "or point to it: make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: '$(PYTHON)' is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'), gradcost needs 3.11: make PYTHON=/path/to/python3.11"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r envs/venv.txt
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m harness.orchestrate.theano_env install-pth
	touch $(STAMP)

envs: $(addprefix env-,$(FRAMEWORK_ENVS))

$(addprefix env-,$(FRAMEWORK_ENVS)): env-%: .envs/%/.installed-stamp

.envs/pytensor/.installed-stamp: envs/jax.txt envs/torch.txt  # it includes both

# Built by uv with the Python the file's header asks for (# python: 3.12; default this Python 3.11), found in
# GRADCOST_PYTHON_3_12, pyenv's versions or on the PATH, as a release's environment is (docs/lineage.md).
.envs/%/.installed-stamp: envs/%.txt | $(STAMP)
	@if [ -n "$(GRADCOST_PYTHON_$(call upper,$*))" ]; then \
	  echo "$*: using GRADCOST_PYTHON_$(call upper,$*)=$(GRADCOST_PYTHON_$(call upper,$*)); .envs/$* not built"; \
	else \
	  $(PY) -m harness.orchestrate.release_envs build $* && touch $@; \
	fi

# Theano runs about 1.3x faster with OpenBLAS than with its NumPy C-API
# fallback. Install Debian's libopenblas-dev when we may (root with apt-get);
# otherwise the harness falls back and records which BLAS it used.
openblas:
	@if ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing libopenblas-dev (Debian) for Theano's BLAS"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >/dev/null) \
	    || echo "warning: could not install libopenblas-dev; Theano will use its slower NumPy C-API fallback"; \
	else echo "note: OpenBLAS not found; install libopenblas-dev for faster Theano execution (using the NumPy C-API fallback)"; fi

clean-cache:
	rm -rf .cache $(TEST_CACHE)

# The site (issue 35): every run under results/ (or RUNS="a b") into site/ (or SITE=...), opened from file://.
SITE ?= site
site: setup
	$(PY) -m harness site $(RUNS) --out $(SITE)

# Debian's Chromium and ChromeDriver for the site's browser test (Playwright drives /usr/bin/chromium; its
# own browser download cannot work offline). Skipped where they are installed or apt-get is not ours to use.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and chromium-driver (Debian) for the site's browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "warning: could not install chromium; the site's browser test will be skipped"; \
	else echo "note: /usr/bin/chromium not found; the site's browser test will be skipped"; fi

# The vendored JavaScript (harness/site/assets/vendor/MANIFEST) fetched again from the npm registry and checked
# against the manifest's hashes: a changed build fails here, not in a user's browser.
vendor-check:
	@rm -rf .vendor-check && mkdir .vendor-check && cd .vendor-check && \
	grep -v '^#' ../harness/site/assets/vendor/MANIFEST | while read package version file digest; do \
	  npm pack --silent $$package@$$version >/dev/null && tar xzf $$package-$$version.tgz package/build/$$file && \
	  echo "$$digest  package/build/$$file" | sha256sum --check --quiet && echo "$$package $$version: as pinned" \
	  || { echo "$$package $$version: differs from the manifest"; exit 1; }; \
	  rm -rf package; done; cd .. && rm -rf .vendor-check
