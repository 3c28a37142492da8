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

run: ingest
	@echo
	@echo "The sample archive is in the catalogue at $(DATA)/catalog.db. Try:"
	@echo "  $(BIN)/auditarchive --home $(DATA) list"
	@echo "  $(BIN)/auditarchive --home $(DATA) show <id-prefix> --json"
	@echo "  $(BIN)/auditarchive --home $(DATA) failures"
	@echo "  $(BIN)/auditarchive --home $(DATA) search 管理评审 不符合 --field QMS"
	@echo "  $(BIN)/auditarchive --home $(DATA) search --code 17.10 --stage 监一"

test: setup
	$(BIN)/python -m pytest -q -ra

bench: sample
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(SAMPLE) $(DATA)
