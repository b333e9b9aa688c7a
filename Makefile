# The one place commands live. Two of them set up everything on a fresh machine:
#   make serve   build the site and serve it on http://127.0.0.1:8000
#   make test    run every test (unit, build, browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup setup-test serve build check test test-gpu new bench bench-attention fields clean clean-cache

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
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

# Built into a staging folder and moved into place only when the strict build succeeds,
# so a failed build never leaves a half-written site/.
build: setup  ## validate the data and build site/
	rm -rf .site-staging
	$(BIN)/mkdocs build --strict --site-dir .site-staging
	rm -rf site && mv .site-staging site

check: setup  ## validate bib/ and timeline/, listing every problem
	$(BIN)/python -m scripts.check

test: setup-test  ## every test; browser tests need Chromium (.ci/run installs it)
	$(BIN)/python -m pytest

test-gpu: setup-test  ## the mechanism tests on CUDA; fails if CUDA is missing
	REQUIRE_GPU=1 $(BIN)/python -m pytest -m gpu

new: setup  ## scaffold an entry from a BibTeX record: make new KEY=bahdanau2015neural
	$(BIN)/python -m scripts.new_entry $(KEY)

bench-attention: setup-test  ## time and peak memory of attention against length (add ARGS="--device cuda" on a GPU)
	$(BIN)/python -m scripts.bench_attention $(ARGS)

fields: setup  ## rewrite the field reference in CONTRIBUTING.md from timeline/schema.json
	$(BIN)/python -m scripts.field_reference --write CONTRIBUTING.md

bench: setup-test  ## benchmarks: build times (100, 1,000, 5,000 entries), the pages in Chromium, Lighthouse on site/
	$(BIN)/python -m scripts.bench_build
	$(BIN)/python -m scripts.bench_pages
	$(MAKE) build
	$(BIN)/python -m scripts.bench_lighthouse

clean:
	rm -rf site .site-staging .cache

clean-cache:  ## forget executed notebooks (they rerun on the next build)
	rm -rf .cache/notebooks
