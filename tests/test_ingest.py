"""Batch ingestion end to end: real PDFs, real worker processes, a real SQLite catalogue, the CLI."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest

from archive.catalog import Catalog
from archive.ingest import Ingestor
from pdfmaker import make_pdf

CLI = [sys.executable, "-m", "webui.cli"]


def _good(folder: Path, name: str, org: str) -> Path:
    return make_pdf(folder / name, [
        "不符合报告", f"受审核方：{org}", "审核日期：2023年5月10日至12日",
        "审核依据：GB/T 19001-2016", "条款：8.5.1",
        "不符合事实描述：现场抽查作业指导书，未规定切削参数。", "严重程度：一般"])


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """A folder of three good PDFs and one of each kind of broken file."""
    root = tmp_path / "batch"
    (root / "sub" / "deeper").mkdir(parents=True)
    good = _good(root, "a.pdf", "宁波恒达精密机械有限公司")
    _good(root / "sub", "b.pdf", "杭州西湖电子有限公司")
    _good(root / "sub" / "deeper", "c.PDF", "苏州吴中纺织有限公司")
    (root / "empty.pdf").write_bytes(b"")
    data = good.read_bytes()
    (root / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (root / "not-a-pdf.pdf").write_text("<html><body>登录超时</body></html>", encoding="utf-8")
    with pikepdf.open(good) as pdf:
        pdf.save(root / "encrypted.pdf", encryption=pikepdf.Encryption(user="secret", owner="owner"))
    (root / "notes.txt").write_text("not a pdf and not named like one")
    return root


def test_broken_files_are_reported_and_the_batch_goes_on(batch: Path, catalog: Catalog):
    originals = {p: p.read_bytes() for p in batch.rglob("*") if p.is_file()}
    summary = Ingestor(catalog, workers=2).run([batch])
    assert summary.files == 7 and summary.added == 3
    reasons = {Path(f.path).name: f.reason for f in summary.failed}
    assert reasons == {"empty.pdf": "empty", "truncated.pdf": "truncated",
                       "not-a-pdf.pdf": "not_pdf", "encrypted.pdf": "encrypted"}
    assert all(f.message for f in summary.failed)
    assert {r["reason"] for r in catalog.failures()} == {"empty", "truncated", "not_pdf", "encrypted"}
    docs = list(catalog.iter_documents())
    assert sorted(d.org.name for d in docs) == ["宁波恒达精密机械有限公司", "杭州西湖电子有限公司",
                                                "苏州吴中纺织有限公司"]
    assert all(d.findings[0].clause == "8.5.1" for d in docs)
    # Originals are never modified.
    assert all(p.read_bytes() == data for p, data in originals.items())


def _snapshot(db_path: Path) -> dict[str, list]:
    conn = sqlite3.connect(db_path)
    tables = ["documents", "pages", "findings", "document_codes", "document_auditors",
              "organisations", "auditors", "files"]
    out = {t: sorted(conn.execute(f"select * from {t}").fetchall()) for t in tables}
    out["documents"] = [tuple(v for k, v in zip(
        [c[1] for c in conn.execute("pragma table_info(documents)")], row)
        if k not in ("ingested_at", "seconds")) for row in out["documents"]]
    out["files"] = [row[:4] for row in out["files"]]
    conn.close()
    return out


def test_reingesting_changes_nothing(batch: Path, catalog: Catalog):
    Ingestor(catalog, workers=2).run([batch])
    before = _snapshot(catalog.path)
    summary = Ingestor(catalog, workers=2).run([batch])
    assert summary.added == 0 and summary.updated == 0 and summary.unchanged == 3
    assert summary.skipped_failed == 4 and summary.failed == []
    assert _snapshot(catalog.path) == before
    retried = Ingestor(catalog, workers=1, retry_failed=True).run([batch])
    assert len(retried.failed) == 4 and retried.unchanged == 3
    assert {r["attempts"] for r in catalog.failures()} == {2}


def test_same_content_at_two_paths_is_one_document(batch: Path, catalog: Catalog):
    shutil.copy(batch / "a.pdf", batch / "sub" / "copy-of-a.pdf")
    summary = Ingestor(catalog, workers=2).run([batch])
    assert summary.added == 3 and summary.unchanged == 1
    doc_id = catalog.resolve(str(batch / "a.pdf"))
    assert doc_id and doc_id == catalog.resolve(str(batch / "sub" / "copy-of-a.pdf"))


def test_a_fixed_file_replaces_its_failure(batch: Path, catalog: Catalog):
    Ingestor(catalog, workers=0).run([batch])
    shutil.copy(batch / "a.pdf", batch / "truncated.pdf")
    summary = Ingestor(catalog, workers=0).run([batch])
    assert summary.unchanged == 4   # the repaired file has a's content, already catalogued
    assert "truncated" not in {r["reason"] for r in catalog.failures()}


@pytest.mark.slow
def test_a_file_over_the_time_limit_fails_alone(tmp_path: Path, catalog: Catalog):
    rows = [["姓名", "组内身份", "注册号"]] + [["张三", "组长", f"2021-N1QMS-{1000000 + i}"] for i in range(40)]
    blocks: list = []
    for _ in range(150):
        blocks += [rows, None]
    make_pdf(tmp_path / "slow.pdf", blocks)
    _good(tmp_path, "quick.pdf", "宁波恒达精密机械有限公司")
    summary = Ingestor(catalog, workers=2, timeout=1).run([tmp_path])
    assert summary.added == 1
    assert [(Path(f.path).name, f.reason) for f in summary.failed] == [("slow.pdf", "timeout")]


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "--home", str(home), *args], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)


def test_cli_ingest_list_show(batch: Path, home: Path):
    res = run_cli(home, "ingest", str(batch), "--json", "--workers", "2")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["added"] == 3 and len(summary["failed"]) == 4
    res = run_cli(home, "list", "--jsonl")
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(docs) == 3
    assert set(docs[0]) >= {"id", "path", "filename", "pages", "doc_type", "title", "org", "cert_no",
                            "fields", "codes", "stage", "audit_start", "audit_end", "auditors",
                            "findings", "ocr_pages", "status"}
    one = docs[0]
    res = run_cli(home, "show", one["id"][:10], "--json")
    assert res.returncode == 0 and json.loads(res.stdout) == one
    res = run_cli(home, "show", one["path"], "--json")
    assert json.loads(res.stdout)["id"] == one["id"]
    human = run_cli(home, "ingest", str(batch))
    assert human.returncode == 0 and "3 unchanged" in human.stdout
    assert run_cli(home, "show", "ffffffff").returncode == 1
    bad = run_cli(home, "ingest", str(batch / "missing-folder"))
    assert bad.returncode == 2 and "no such file" in bad.stderr
    failures = run_cli(home, "failures", "--jsonl")
    assert len(failures.stdout.splitlines()) == 4


@pytest.mark.realdocs
def test_real_documents_ingest(realdocs: Path, catalog: Catalog):
    summary = Ingestor(catalog, workers=2).run([realdocs])
    assert summary.failed == [] and summary.added == len(list(realdocs.glob("*.pdf")))
    by_name = {d.filename: d for d in catalog.iter_documents()}
    scanned = by_name["exam-paper-scanned.pdf"]
    assert scanned.status == "no_text" and scanned.pages > 1
    assert all(not p["has_text"] and p["has_images"] for p in catalog.pages(scanned.id))
    notes = by_name["certification-basics-notes.pdf"]
    assert notes.status == "ok" and notes.pages == 34
    assert "认证" in catalog.pages(notes.id)[0]["text"] + catalog.pages(notes.id)[1]["text"]


@pytest.mark.realdocs
def test_real_documents_say_only_what_they_say(realdocs: Path, catalog: Catalog):
    Ingestor(catalog, workers=0).run([realdocs])
    by_name = {d.filename: d for d in catalog.iter_documents()}
    rules = by_name["archive-filing-rules.pdf"]
    # Filing rules are about audits but are no audit record: no type, stage, date or org guessed.
    assert rules.doc_type == "other" and rules.title == "中标华信审核案卷交档规范"
    assert rules.stage is None and rules.audit_start is None and rules.org.name is None
    syllabus = by_name["qms-syllabus.pdf"]
    assert syllabus.title == "质量管理体系基础考试大纲" and syllabus.fields == ["QMS"]
    assert by_name["applicant-notice.pdf"].title == "申请认证组织/获证组织告知书"


def test_identical_broken_files_are_each_reported(tmp_path: Path, catalog: Catalog):
    (tmp_path / "scan_1.pdf").write_bytes(b"")
    (tmp_path / "scan_2.pdf").write_bytes(b"")
    summary = Ingestor(catalog, workers=1).run([tmp_path])
    assert sorted((Path(f.path).name, f.reason) for f in summary.failed) == [
        ("scan_1.pdf", "empty"), ("scan_2.pdf", "empty")]
    assert len(catalog.failures()) == 2
