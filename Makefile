# idpkit developer tasks. Everything runs inside ./.venv (created on first use).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv peer-venv demo test test-fast corpus bench-ingest bench-figures bench-survey bench-dedup bench-areas bench-api bench-forecast clean dashboard-assets

# Internal: create the venv when missing; (re)install when pyproject.toml changed since the last install.
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[postgres,spark,test]'
	touch $(STAMP)

demo: venv
	$(BIN)/idpkit demo

# PostgreSQL itself is started by the test-suite (tests/conftest.py, one throwaway cluster per worker);
# here we only make sure the server binaries are installed. --durations prints the 30 slowest tests,
# so a run (CI included) shows where the suite's time goes.
test: venv
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-java.sh
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --backends=duckdb,postgres --durations=30

test-fast: venv
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-java.sh
	$(BIN)/python -m pytest -q --backends=duckdb

# The real-data corpus (../shared/real-data): every file imported as a user would and compared with
# totals counted by hand (tests/fixtures/corpus/expected.json); see docs/corpus.md.
# `make corpus CORPUS_ARGS=--fixtures` runs it on the trimmed copies in tests/fixtures/corpus.
corpus: venv
	$(BIN)/python scripts/corpus.py $(CORPUS_ARGS)

bench-ingest: venv
	$(BIN)/python benchmarks/ingest.py

# The pandas peer of the figures benchmark in its own venv, with the newest pandas (3.x).
peer-venv: .venv-peer/.stamp
.venv-peer/.stamp: benchmarks/peer-requirements.txt
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/pip install -q -r benchmarks/peer-requirements.txt
	touch $@

bench-figures: venv peer-venv
	$(BIN)/python benchmarks/figures.py

bench-areas: venv
	$(BIN)/python benchmarks/areas.py --households 2000000 --with-cis

bench-forecast: venv
	$(BIN)/python benchmarks/forecast.py

# Peers (svy, samplics, recordlinkage) come with the 'bench' extra; R's survey package is optional
# (scripts/ensure-r-survey.sh installs it from Debian).
bench-survey: venv
	$(BIN)/python -m pip install -q -e '.[postgres,test,bench]'
	$(BIN)/python benchmarks/survey.py

bench-dedup: venv
	$(BIN)/python -m pip install -q -e '.[postgres,test,bench]'
	$(BIN)/python -m pip install -q --no-deps recordlinkage==0.16
	$(BIN)/python benchmarks/dedup.py --records 1000000 --peer-records 20000
	$(BIN)/python benchmarks/dedup.py --records 200000 --peer-records 200000 --skip-full

# The dashboard's vendored JavaScript (d3 subset + licences) in src/idpkit/dashboard/static/vendor,
# rebuilt from npm; the built files are committed, so users and tests never need npm.
dashboard-assets:
	cd src/idpkit/dashboard/web && npm ci --no-audit --no-fund && npm run build

# wrk (the load generator) comes from Debian (scripts/ensure-wrk.sh; locust, the alternative, from the
# 'bench' extra); the first run builds the 10M-observation
# demo warehouse under benchmarks/out/ (a few minutes) and later runs reuse it.
bench-api: venv
	$(BIN)/python -m pip install -q -e '.[postgres,test,bench]'
	bash scripts/ensure-wrk.sh
	$(BIN)/python benchmarks/api.py --contenders idpkit,naive,version-per-request

clean:
	rm -rf build dist .pytest_cache .hypothesis src/*.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
