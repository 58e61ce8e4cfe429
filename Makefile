# ccp-gitops: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_REPO ?= $(CURDIR)/build/env-repo
PYTEST_ARGS ?=
BENCH_ARGS ?=
TARGETS_ARGS ?=

include scripts/test-deps.mk
include scripts/ux-deps.mk
include scripts/option-catalogues.mk
include scripts/e2e-deps.mk

.PHONY: demo test test-fast e2e install install-test lint typecheck bench clean openstack-venv fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=77" wheel

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

demo: install
	$(BIN)/ccp-gitops compile env/prod --repo $(DEMO_REPO) $(if $(wildcard ../shared/crds),--crds ../shared/crds)
	@echo
	@echo "Env repo: $(DEMO_REPO)"
	@echo "  git -C $(DEMO_REPO) log --stat -1      # the commit"
	@echo "  cat $(DEMO_REPO)/env/prod/README.md    # components, waves, how to reproduce"
	@echo "  kubectl kustomize $(DEMO_REPO)/env/prod # what Argo CD / Flux apply"

test: install-test test-deps ux-deps openstack-venv e2e-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Everything but the end-to-end run (pytest marker e2e).
test-fast: install-test test-deps ux-deps openstack-venv
	$(BIN)/python -m pytest -n 2 -m "not e2e" $(PYTEST_ARGS)

# The end-to-end run (tests/e2e, docs/e2e.md): env/e2e compiled, run as processes in Argo CD's and
# Flux's order, per pod started / ready after N s / restarts, then `N passed, M failed`.
e2e: install-test e2e-deps
	@mkdir -p build
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m e2e -rA -p no:cacheprovider --junitxml=build/e2e-junit.xml $(PYTEST_ARGS) tests/e2e; \
	  status=$$?; $(BIN)/python -m tests.e2e.tally build/e2e-junit.xml; exit $$status

# The real OpenStack services of the current release, cached under ~/.cache/ccp-gitops, for
# the oslo-config-validator test (a few minutes the first time, instant afterwards).
openstack-venv: $(BIN)/python
	$(BIN)/python scripts/option_catalogues.py --install-only 2026.1

# Property-based fuzzing of overlays and component definitions through the CLI (make test runs 12 fixed examples).
FUZZ_EXAMPLES ?= 300
fuzz: install-test
	CCP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CCP_FUZZ_RANDOM=1 $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

typecheck: install-test
	$(BIN)/mypy

lint: install-test
	$(BIN)/ruff check

# ccp-gitops against kubectl kustomize on synthetic fleets (1, 10, 100 regions; 1,000 objects): ~7 minutes.
# First issue 16's table (cold rows with an empty CCP_CACHE, each next to kubectl kustomize in the
# same run, and Kapitan 0.36 installed into ~/.cache/ccp-gitops on first use): ~10 minutes.
bench: install
	$(BIN)/python benchmarks/bench_targets.py --install-kapitan $(TARGETS_ARGS)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_diff.py --runs 5

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache

# Rewrite the golden files (plan outputs) after an intended change; review `git diff tests/golden`.
.PHONY: golden
golden: install-test
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
