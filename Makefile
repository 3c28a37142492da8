# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := corpus/sample
DATA ?= auditarchive-data

.PHONY: run test setup sample ingest bench clean

$(VENV)/.installed: pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

setup: $(VENV)/.installed

$(SAMPLE)/truth.json: $(VENV)/.installed $(wildcard corpus/*.py)
	$(BIN)/python -m corpus.generate --out $(SAMPLE)

sample: $(SAMPLE)/truth.json

ingest: sample
	$(BIN)/auditarchive --home $(DATA) ingest $(SAMPLE)

HOST ?= 127.0.0.1
PORT ?= 8000

run: ingest
	@echo
	@echo "The sample archive is catalogued and indexed in $(DATA). From another terminal try:"
	@echo "  $(BIN)/auditarchive --home $(DATA) search 管理评审 不符合 --field QMS"
	@echo "  $(BIN)/auditarchive --home $(DATA) tokens create admin  # a token for the JSON API"
	@echo
	@$(BIN)/auditarchive --home $(DATA) users bootstrap
	@echo "Web UI: http://$(HOST):$(PORT)/  (Ctrl+C stops the server)"
	$(BIN)/auditarchive --home $(DATA) serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q -ra

bench: sample
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(SAMPLE) $(DATA)
