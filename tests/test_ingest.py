"""Batch ingestion end to end: real PDFs, real worker processes, a real SQLite catalogue, the CLI."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from pdfmaker import make_pdf

from archive.catalog import Catalog
from archive.ingest import Ingestor

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
    """Every table and view of the catalogue, less the columns that record when."""
    conn = sqlite3.connect(db_path)
    tables = ["documents", "pages", "findings", "document_codes", "document_auditors",
              "organisations", "auditors", "files", "certificates", "audits", "failures"]
    when = {"ingested_at", "seconds", "seen_at", "last_attempt", "attempts"}
    out = {}
    for t in tables:
        cur = conn.execute(f"select * from {t}")
        cols = [d[0] for d in cur.description]
        out[t] = sorted(tuple(v for k, v in zip(cols, row) if k not in when) for row in cur.fetchall())
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


def _grid_pdf(path: Path, lines: int) -> Path:
    """One page ruled with `lines` × `lines` crossing lines under a team-table header: finding its
    cells is quadratic in the lines (spaced ≥ 3 pt, or they snap together), so a large grid keeps
    a worker busy."""
    from pdfmaker import FONT, _font
    from reportlab.pdfgen import canvas

    _font()
    c = canvas.Canvas(str(path), invariant=1)
    c.setFont(FONT, 10)
    c.drawString(50, 800, "姓名 组内身份 注册号")
    c.setLineWidth(0.1)
    for i in range(lines):
        x = 50 + i * 495 / lines
        c.line(x, 50, x, 780)
        y = 50 + i * 730 / lines
        c.line(50, y, 545, y)
    c.save()
    return path


@pytest.mark.slow
def test_a_file_over_the_time_limit_fails_alone(tmp_path: Path, catalog: Catalog):
    _grid_pdf(tmp_path / "slow.pdf", 95)       # ~9,000 crossings: seconds of table finding
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
    assert human.returncode == 0 and "未变 3" in human.stdout
    assert run_cli(home, "show", "ffffffff").returncode == 1
    bad = run_cli(home, "ingest", str(batch / "missing-folder"))
    assert bad.returncode == 2 and "没有这个文件或文件夹" in bad.stderr
    failures = run_cli(home, "failures", "--jsonl")
    assert len(failures.stdout.splitlines()) == 4


@pytest.mark.realdocs
def test_real_documents_ingest(realdocs: Path, catalog: Catalog):
    summary = Ingestor(catalog, workers=2, ocr="never").run([realdocs])     # OCR: tests/test_ocr.py
    documents = [p for p in realdocs.iterdir() if p.suffix in (".pdf", ".doc", ".docx")]
    assert summary.failed == [] and summary.added == len(documents) and summary.others == 1   # README.md
    # the real Word files, by their content: a docx, two Word XML forms named .doc, a Word 97 .doc
    formats = {d.filename: d.format for d in catalog.iter_documents()}
    assert {n: f for n, f in formats.items() if not n.endswith(".pdf")} == {
        "archive-quality-requirements.docx": "docx", "audit-consistency-checklist.doc": "wordml",
        "ccaa-audit-experience-record.doc": "wordml", "auditor-work-rules.doc": "doc"}
    texts = {d.filename: "".join(p["text"] for p in catalog.pages(d.id)) for d in catalog.iter_documents()}
    assert "审核资料" in texts["archive-quality-requirements.docx"]
    assert "审核经历记录表" in texts["ccaa-audit-experience-record.doc"]
    assert "工作守则" in texts["auditor-work-rules.doc"].replace(" ", "")
    by_name = {d.filename: d for d in catalog.iter_documents()}
    scanned = by_name["exam-paper-scanned.pdf"]
    assert scanned.status == "no_text" and scanned.pages > 1
    assert scanned.doc_type is None and scanned.title is None and scanned.fields == []
    assert all(not p["has_text"] and p["has_images"] for p in catalog.pages(scanned.id))
    notes = by_name["certification-basics-notes.pdf"]
    assert notes.status == "ok" and notes.pages == 34
    assert "认证" in catalog.pages(notes.id)[0]["text"] + catalog.pages(notes.id)[1]["text"]


@pytest.mark.realdocs
def test_real_documents_say_only_what_they_say(realdocs: Path, catalog: Catalog):
    Ingestor(catalog, workers=0, ocr="never").run([realdocs])
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


def test_a_file_that_vanishes_mid_batch_is_reported(tmp_path: Path, catalog: Catalog):
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        _good(tmp_path, name, "宁波恒达精密机械有限公司" if name == "a.pdf" else "杭州西湖电子有限公司")

    def delete_the_last(event, path, info):
        if event == "added" and (tmp_path / "c.pdf").exists():
            (tmp_path / "c.pdf").unlink()
    summary = Ingestor(catalog, workers=0, progress=delete_the_last).run([tmp_path])
    assert summary.added == 2
    assert [(Path(f.path).name, f.reason) for f in summary.failed] == [("c.pdf", "unreadable")]


def test_new_content_at_a_path_replaces_the_old_document(tmp_path: Path, catalog: Catalog):
    target = _good(tmp_path, "x.pdf", "宁波恒达精密机械有限公司")
    ingestor = Ingestor(catalog, workers=0)
    ingestor.run([tmp_path])
    first = catalog.document_ids()
    stat = target.stat()
    other = _good(tmp_path.parent, "other.pdf", "杭州西湖电子有限公司")
    shutil.copyfile(other, target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))     # copied with the old times
    summary = ingestor.run([tmp_path])
    assert summary.added == 1 and ingestor.removed == first
    docs = list(catalog.iter_documents())
    assert len(docs) == 1 and docs[0].org.name == "杭州西湖电子有限公司"


def test_links_to_folders_are_followed_once(tmp_path: Path, catalog: Catalog):
    real = tmp_path / "real"
    real.mkdir()
    _good(real, "a.pdf", "宁波恒达精密机械有限公司")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(root, target_is_directory=True)
    summary = Ingestor(catalog, workers=0).run([root])
    assert summary.files == 1 and summary.added == 1


def test_an_organisation_is_one_whether_or_not_a_document_gives_its_credit_code(tmp_path, catalog):
    from archive.identifiers import credit_check_char

    code = "91330212MA2GQ0R3X" + credit_check_char("91330212MA2GQ0R3X")
    make_pdf(tmp_path / "1.pdf", ["审核计划", "受审核方：宁波恒达精密机械有限公司", "审核阶段：二阶段",
                                  "审核日期：2023年5月10日"])
    make_pdf(tmp_path / "2.pdf", ["审核报告", "受审核方：宁波恒达精密机械有限公司", f"统一社会信用代码：{code}",
                                  "审核阶段：二阶段", "审核日期：2023年5月10日"])
    make_pdf(tmp_path / "3.pdf", ["不符合报告", "受审核方：宁波恒达精密机械有限公司", "审核阶段：二阶段",
                                  "审核日期：2023年5月10日", "条款：8.5.1"])
    Ingestor(catalog, workers=0).run([tmp_path])
    orgs = list(catalog.db.query("select * from organisations"))
    assert [(o["id"], o["name"]) for o in orgs] == [(code, "宁波恒达精密机械有限公司")]
    audits = list(catalog.db.query("select * from audits"))
    assert len(audits) == 1 and audits[0]["documents"] == 3 and audits[0]["org_id"] == code


def test_tables_drawn_inside_a_form_xobject(tmp_path: Path):
    from archive.extract import extract, wants_tables
    from archive.pdf import read_pdf

    flat = make_pdf(tmp_path / "flat.pdf", ["审核报告", [["序号", "条款", "不符合事实描述", "严重程度"],
                                                       ["1", "8.5.1", "现场抽查作业指导书,未规定切削参数。", "一般"],
                                                       ["2", "7.1.5", "量具未校准。", "严重"]]])
    with pikepdf.open(flat) as src, pikepdf.new() as dst:
        dst.add_blank_page(page_size=(595, 842))
        form = dst.copy_foreign(src.pages[0].as_form_xobject())
        name = dst.pages[0].add_resource(form, pikepdf.Name.XObject)
        dst.pages[0].contents_add(pikepdf.Stream(dst, f"q 0.8 0 0 0.8 40 80 cm {name} Do Q".encode()))
        dst.save(tmp_path / "stamped.pdf")
    found = extract(read_pdf((tmp_path / "stamped.pdf").read_bytes(), want_tables=wants_tables))
    assert [(f.clause, f.severity) for f in found.findings] == [("8.5.1", "minor"), ("7.1.5", "major")]


def test_read_commands_do_not_create_a_catalogue(tmp_path: Path):
    home = tmp_path / "nowhere"
    res = run_cli(home, "list")
    assert res.returncode == 1 and "没有目录库" in res.stderr and not home.exists()
