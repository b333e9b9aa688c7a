# The one place commands live. Two of them set up everything on a fresh machine:
#   make serve   build the site and serve it on http://127.0.0.1:8000
#   make test    run every test (unit, build, browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup setup-test serve build check test test-busy test-gpu new bench bench-demos bench-rebuild bench-attention fields clean clean-cache

$(VENV)/.site-installed: requirements.txt pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.test-installed: $(VENV)/.site-installed requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.site-installed
setup-test: $(VENV)/.test-installed

serve: setup  ## build and serve the site, rebuilding on changes
	$(BIN)/mkdocs serve --dirty --dev-addr 127.0.0.1:8000

# Built into a staging folder and moved into place only when the strict build succeeds,
# so a failed build never leaves a half-written site/.
build: setup  ## validate the data and build site/
	rm -rf .site-staging
	$(BIN)/mkdocs build --strict --site-dir .site-staging
	rm -rf site && mv .site-staging site

check: setup  ## validate bib/ and timeline/, listing every problem
	$(BIN)/python -m scripts.check

# In parallel, one worker per core (pytest-xdist); the tests that need the built site share one
# build and run together on one worker, first, while the others take everything else
# (tests/conftest.py). Notebooks run once: the build and the page tests share the cache.
test: setup-test  ## every test; browser tests need Chromium (.ci/run installs it)
	$(BIN)/python -m pytest -n auto

# Issue 12's busy machine: two CPU-burning processes, each pinned to a core, beside make test.
# The suite must pass here too (no wall-clock assertions, browser tests wait on conditions).
test-busy: setup-test  ## make test with two CPU-burning processes pinned beside it
	$(BIN)/python -m scripts.busy_machine --burners 2 -- $(MAKE) test

test-gpu: setup-test  ## the mechanism tests on CUDA; fails if CUDA is missing
	REQUIRE_GPU=1 $(BIN)/python -m pytest -m gpu

new: setup  ## scaffold an entry from a BibTeX record: make new KEY=bahdanau2015neural
	$(BIN)/python -m scripts.new_entry $(KEY)

bench-attention: setup-test  ## time and peak memory of attention against length (add ARGS="--device cuda" on a GPU)
	$(BIN)/python -m scripts.bench_attention $(ARGS)

fields: setup  ## rewrite the field reference in CONTRIBUTING.md from timeline/schema.json
	$(BIN)/python -m scripts.field_reference --write CONTRIBUTING.md

bench: setup-test  ## benchmarks: validation, cost per entry page, the preview loop, the pages in Chromium, rebuild after one edit, demos, Lighthouse on site/, make test's wall time
	$(BIN)/python -m scripts.bench_build
	$(BIN)/python -m scripts.bench_preview
	$(BIN)/python -m scripts.bench_pages
	$(BIN)/python -m scripts.bench_rebuild
	$(BIN)/python -m scripts.bench_demos
	$(MAKE) build
	$(BIN)/python -m scripts.bench_lighthouse
	$(BIN)/python -m scripts.bench_test

bench-demos: setup-test  ## each terminal demo's median time against its 10 s budget
	$(BIN)/python -m scripts.bench_demos $(ARGS)

bench-rebuild: setup-test  ## on a copy: cold build, unchanged rebuild, rebuild after editing one module
	$(BIN)/python -m scripts.bench_rebuild $(ARGS)

clean:
	rm -rf site .site-staging .cache

clean-cache:  ## forget executed notebooks (they rerun on the next build)
	rm -rf .cache/notebooks
