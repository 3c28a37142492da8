"""OCR of scanned pages (archive.ocr): orientation and skew, repairs, the cache, `--ocr`, documents
partly scanned, fields from generated scans, and the real scanned exam paper made searchable."""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from conftest import own_ocr_cache_env
from pdfmaker import make_pdf

from archive.catalog import Catalog
from archive.identifiers import credit_check_char
from archive.ingest import Ingestor
from archive.ocr import _Piece, assemble, garbage_text, needs_ocr, recognise
from archive.ocrfix import repair
from corpus.evaluate import REQUIRED, by_relpath, score
from corpus.scan import degrade, scan_pdf

ROOT = Path(__file__).resolve().parent.parent
CREDIT = "91330212MA2GXK7Q0" + credit_check_char("91330212MA2GXK7Q0")
PAGE_ONE = ["不符合报告", "受审核方：宁波恒达精密机械有限公司", f"统一社会信用代码：{CREDIT}",
            "审核准则：GB/T 19001-2016", "审核组长：王建国"]
PAGE_TWO = ["证书编号：03410Q10286R0S", "审核日期：2023年5月10日至2023年5月12日",
            "专业代码：17.10.02；18.05.01", "不符合条款：8.5.1",
            "不符合事实描述：现场查看数控车间，未能提供首件检验记录。", "严重程度：一般"]


# -- pure parts --------------------------------------------------------------------------------

@pytest.mark.parametrize("read, want", [
    ("申请类型:初次认证口再认证口扩大范围", "申请类型:■初次认证□再认证□扩大范围"),
    ("申请类型:√初次认证口再认证口转换认证", "申请类型:√初次认证□再认证□转换认证"),
    ("主要产品:进出口贸易,出口加工", "主要产品:进出口贸易,出口加工"),
    ("专业代码:33.02.0133.03.01", "专业代码:33.02.01 33.03.01"),
    ("专业代码:17.10.02/317.09.00/3", "专业代码:17.10.02/3 17.09.00/3"),
    ("专业代码:l7.10.02;18.O5.01", "专业代码:17.10.02;18.05.01"),
    ("审核日期:2O23年O5月l0日", "审核日期:2023年05月10日"),
    ("现场审核日期 2.021年1月25日-26日", "现场审核日期 2021年1月25日-26日"),
    ("审核类型:V初审口监督再认证", "审核类型:√初审□监督再认证"),
    ("审核类型 □初审□监督再认证", "审核类型 □初审□监督■再认证"),
    ("不符合性质:一般口严重", "不符合性质:■一般□严重"),
    ("现场审核时间 2019. 05. 06", "现场审核时间 2019.05.06"),
    ("证书编号:O341OQ1O286ROS", "证书编号:03410Q10286R0S"),
    ("证书编号:061-11-Q1-OOO75-RO-S", "证书编号:061-11-Q1-00075-R0-S"),
    ("Q 8.5.1 查生产 条款:8.5.l", "Q8.5.1 查生产 条款:8.5.1"),
    (f"统一社会信用代码:{CREDIT.replace('0', 'O')}", f"统一社会信用代码:{CREDIT}"),
    ("GB/T19001-2016/ISO9001:2015", "GB/T19001-2016/ISO9001:2015"),
    ("1 仓库 GB/T45001-20208.2 轻微", "1 仓库 GB/T45001-2020 8.2 轻微"),
    ("有机产品 123OP2000123 HZ/QR-07(B/1)", "有机产品 123OP2000123 HZ/QR-07(B/1)"),
])
def test_repairs_of_typical_misreadings(read: str, want: str):
    assert repair(read) == want


def test_pieces_become_lines_left_to_right():
    pieces = [_Piece("符合", 0.9, 900, 960, 101, 30), _Piece("证书编号", 0.9, 100, 220, 100, 30),
              _Piece("03410Q10286R0S", 0.9, 260, 600, 99, 30), _Piece("兹证明", 0.9, 100, 190, 160, 30)]
    assert assemble(pieces) == ["证书编号 03410Q10286R0S 符合", "兹证明"]


def test_when_a_page_is_read_by_ocr():
    assert needs_ocr("auto", False, True, "")
    assert not needs_ocr("auto", False, False, "")          # blank page: nothing to read
    assert not needs_ocr("auto", True, True, "审核报告" * 10)
    assert needs_ocr("auto", True, False, "\ue000\ue001\ufffd¸¸¸" * 10)     # a broken text layer
    assert needs_ocr("always", True, False, "审核报告")
    assert not needs_ocr("never", False, True, "")
    assert garbage_text("ÿþ" * 20) and not garbage_text("审核组长：王建国，审核员：李明。" * 3)


def test_old_catalogues_gain_the_page_columns(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "catalog.db")
    db.execute("create table meta (key text primary key, value text)")
    db.execute("insert into meta values ('schema_version', '2')")
    db.execute("create table pages (doc_id text, number integer, text text, has_text integer, "
               "has_images integer, primary key (doc_id, number))")
    db.execute("insert into pages values ('d1', 1, 'x', 1, 0)")
    db.commit()
    db.close()
    catalog = Catalog(tmp_path / "catalog.db")
    assert catalog.pages("d1") == [{"number": 1, "text": "x", "has_text": 1, "has_images": 0, "ocr": None,
                                    "ocr_confidence": None, "ocr_rotation": None, "ocr_skew": None}]
    catalog.close()


# -- OCR itself (seconds a page) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def clean_page(tmp_path_factory) -> tuple[Path, "np.ndarray"]:
    path = make_pdf(tmp_path_factory.mktemp("clean") / "two.pdf", PAGE_ONE + [None] + PAGE_TWO, font_size=11)
    pdf = pdfium.PdfDocument(str(path))
    image = pdf[1].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    pdf.close()
    return path, image


@pytest.mark.slow
@pytest.mark.parametrize("turn, skew", [(90, 1.8), (180, -1.2), (270, 0.6)])
def test_turned_and_skewed_pages_are_read_upright(clean_page, turn: int, skew: float):
    _, image = clean_page
    scanned = np.asarray(degrade(image, random.Random(turn), skew, turn))
    page = recognise(scanned)
    assert (page.rotation + turn) % 360 == 0
    assert abs(page.skew - skew) < 0.3
    text = repair(page.text)
    assert "03410Q10286R0S" in text and "17.10.02" in text and "首件检验记录" in text
    assert page.confidence is not None and page.confidence > 0.9


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """A two-page form: page 1 keeps its text layer, page 2 is a skewed scan."""
    folder = tmp_path_factory.mktemp("mixed")
    path = make_pdf(folder / "不符合报告.pdf", PAGE_ONE + [None] + PAGE_TWO, font_size=11)
    scan_pdf(path, random.Random(3), pages=[2], turns={2: (0, 1.5)})
    return folder


@pytest.mark.slow
def test_mixed_document_is_read_page_by_page_and_cached(mixed: Path, tmp_path: Path):
    events: list[tuple[str, dict]] = []
    cache = tmp_path / "ocr-cache.db"
    catalog = Catalog(tmp_path / "a" / "catalog.db")
    summary = Ingestor(catalog, workers=2, ocr_cache=cache,
                       progress=lambda e, p, i: events.append((e, i))).run([mixed])
    assert summary.added == 1 and summary.ocr_pages == 1 and summary.ocr_cached == 0
    assert ("ocr_queued", {"pages": 1}) in events
    doc = next(catalog.iter_documents())
    assert doc.ocr_pages == 1 and doc.status == "ok"
    pages = catalog.pages(doc.id)
    assert [p["ocr"] for p in pages] == [0, 1] and pages[0]["ocr_confidence"] is None
    assert pages[1]["ocr_confidence"] > 0.9 and abs(pages[1]["ocr_skew"] - 1.5) < 0.3
    assert pages[1]["ocr_rotation"] == 0 and pages[1]["has_text"] == 0
    # fields from both pages: the text layer's and the scan's
    assert doc.org.name == "宁波恒达精密机械有限公司" and doc.org.credit_code == CREDIT
    assert doc.cert_no == "03410Q10286R0S" and doc.codes == ["17.10.02", "18.05.01"]
    assert (doc.audit_start, doc.audit_end) == ("2023-05-10", "2023-05-12")
    assert [(f.clause, f.severity) for f in doc.findings] == [("8.5.1", "minor")]
    catalog.close()

    # A second catalogue with the same cache: the page is not read again.
    again: list[tuple[str, dict]] = []
    other = Catalog(tmp_path / "b" / "catalog.db")
    summary = Ingestor(other, workers=2, ocr_cache=cache,
                       progress=lambda e, p, i: again.append((e, i))).run([mixed])
    assert summary.ocr_pages == 1 and summary.ocr_cached == 1
    assert [i["cached"] for e, i in again if e == "ocr_page"] == [True]
    assert other.pages(next(other.iter_documents()).id)[1]["text"] == pages[1]["text"]
    other.close()

    # In this process too (no pool): the same text from the cache.
    inline = Catalog(tmp_path / "c" / "catalog.db")
    summary = Ingestor(inline, workers=0, ocr_cache=cache).run([mixed])
    assert summary.ocr_cached == 1 and inline.pages(next(inline.iter_documents()).id)[1]["text"] == pages[1]["text"]
    inline.close()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**own_ocr_cache_env(), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "webui.cli", "--home", str(home), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_cli_ocr_never_leaves_scans_unread(mixed: Path, tmp_path: Path):
    res = _cli(tmp_path / "home", "ingest", str(mixed), "--ocr", "never", "--json", "--workers", "1")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["added"] == 1 and summary["ocr_pages"] == 0 and summary["ocr_cached"] == 0
    shown = json.loads(_cli(tmp_path / "home", "show", "不符合报告.pdf", "--json").stdout)
    assert shown["ocr_pages"] == 0 and shown["status"] == "ok" and shown["cert_no"] is None
    assert _cli(tmp_path / "home", "ingest", str(mixed), "--ocr", "sometimes").returncode == 2


@pytest.mark.slow
def test_cli_shows_ocr_progress_and_counts_ocr_pages(mixed: Path, tmp_path: Path):
    res = _cli(tmp_path / "home", "ingest", str(mixed), "--json", "--progress", "--workers", "2")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["ocr_pages"] == 1
    assert "OCR 1/1 页" in res.stderr
    assert (tmp_path / "home" / "ocr-cache.db").exists()


@pytest.mark.slow
def test_an_interrupted_batch_does_not_read_finished_pages_again(tmp_path: Path):
    """SIGKILL an ingest once OCR has finished a page; the next run takes that page from the cache."""
    import signal
    import time

    folder = tmp_path / "scans"
    folder.mkdir()
    path = make_pdf(folder / "扫描件.pdf", PAGE_ONE + [None] + PAGE_TWO + [None] + PAGE_ONE, font_size=11)
    scan_pdf(path, random.Random(5), turns={1: (0, 0.5), 2: (0, -0.8), 3: (0, 1.1)})
    home = tmp_path / "home"
    proc = subprocess.Popen([sys.executable, "-m", "webui.cli", "--home", str(home), "ingest", str(folder),
                             "--workers", "1"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**own_ocr_cache_env(), "PYTHONPATH": str(ROOT)})
    cache = home / "ocr-cache.db"
    deadline = time.monotonic() + 240
    done = 0
    while time.monotonic() < deadline and proc.poll() is None and done == 0:
        time.sleep(0.5)
        if cache.exists():
            with sqlite3.connect(cache, timeout=30) as db:
                try:
                    done = db.execute("select count(*) from pages").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 1 <= done < 3, f"{done} pages were read before the kill"
    res = _cli(home, "ingest", str(folder), "--json", "--workers", "1")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["added"] == 1 and summary["ocr_pages"] == 3 and summary["ocr_cached"] >= done


# -- generated scans: the sample archive's scanned documents ------------------------------------

def test_fields_from_generated_scans(sample, sample_home):
    root, truth = sample
    _, catalog, summary = sample_home
    scans = truth["scans"]
    assert scans, "the tests' sample should hold a few scanned documents"
    assert summary.ocr_pages == sum(len(s) for s in scans.values())
    docs = by_relpath((d.to_dict() for d in catalog.iter_documents()), str(root))
    for rel, scanned in scans.items():
        doc = docs[rel]
        assert doc["ocr_pages"] == len(scanned) and doc["status"] == "ok"
        pages = catalog.pages(doc["id"])
        for want in scanned:
            got = pages[want["number"] - 1]
            assert got["ocr"] == 1 and got["ocr_confidence"] > 0.9
            assert (got["ocr_rotation"] + want["rotation"]) % 360 == 0
            assert abs(got["ocr_skew"] - want["skew"]) < 0.3
    accuracy, misses = score({rel: truth["documents"][rel] for rel in scans}, docs)
    low = {f: round(accuracy[f], 2) for f in REQUIRED if accuracy[f] < 0.9}
    assert low == {}, [m for m in misses if m[1] in low]


# -- the real scanned exam paper ---------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.realdocs
def test_scanned_exam_paper_becomes_searchable(realdocs: Path, tmp_path: Path):
    from indexer import build
    from indexer.search import SearchRequest, search

    catalog = Catalog(tmp_path / "catalog.db")
    summary = Ingestor(catalog, workers=2).run([realdocs / "exam-paper-scanned.pdf"])
    assert summary.failed == [] and summary.added == 1
    doc = next(catalog.iter_documents())
    assert doc.status == "ok" and doc.ocr_pages == doc.pages == summary.ocr_pages == 12
    pages = catalog.pages(doc.id)
    assert all(p["ocr"] == 1 and p["ocr_confidence"] > 0.85 for p in pages)
    assert "认证通用基础" in pages[0]["text"]
    build.reindex(catalog, tmp_path / "index")
    handle = build.open_index(tmp_path / "index")
    for query in ("认证通用基础", "真题"):
        hits = search(handle, catalog, SearchRequest(query))["hits"]
        assert [h["id"] for h in hits] == [doc.id], query
    catalog.close()
