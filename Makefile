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
	@echo "正在安装 Python 依赖（首次约 2–3 分钟）……"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[test]'
	touch $@

setup: $(VENV)/.installed

$(SAMPLE)/truth.json: $(VENV)/.installed $(wildcard corpus/*.py)
	@echo "正在生成样本档案……"
	$(BIN)/python -m corpus.generate --out $(SAMPLE)

sample: $(SAMPLE)/truth.json

ingest: sample
	@echo "正在入库样本档案（首次要对扫描件做 OCR，约 5 分钟）……"
	$(BIN)/auditarchive --home $(DATA) ingest $(SAMPLE)
	@echo "（样本档案里故意放了几个损坏、加密或恶意构造的文件，用来演示出错处理：上面列为“失败”的就是它们，属预期结果。）"

HOST ?= 127.0.0.1
PORT ?= 8000

run: ingest
	@echo
	@echo "样本档案已入库并建立索引，数据目录：$(DATA)。可在另一个终端试试："
	@echo "  $(BIN)/auditarchive --home $(DATA) search 管理评审 不符合 --field QMS"
	@echo "  $(BIN)/auditarchive --home $(DATA) tokens create admin  # 为 JSON API 生成令牌"
	@echo
	@$(BIN)/auditarchive --home $(DATA) users bootstrap
	@echo "网页界面：http://$(HOST):$(PORT)/（按 Ctrl+C 停止服务）"
	$(BIN)/auditarchive --home $(DATA) serve --host $(HOST) --port $(PORT)

# Two processes (pytest-xdist), a test file each at a time: the sample is built once for both
# (tests/conftest.py) and module fixtures (a Dask cluster, crash references) are set up once.
test: setup
	$(BIN)/python -m pytest -q -ra --durations=15 -n 2 --dist loadfile

bench: sample
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(SAMPLE) $(DATA)
