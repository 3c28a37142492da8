"""What a new user hit (issue 22): honest counts and orders that used to be wrong."""
from __future__ import annotations

from collections import Counter


def test_clauses_are_counted_per_standard(sample_home):
    from archive import stats

    _, catalog, _ = sample_home
    rows = stats.findings_by_clause(catalog, limit=1000)
    truth = Counter((f, c) for f, c in catalog.db.execute(
        "select field, clause from findings where clause is not null"))
    assert {(r["field"], r["clause"]): r["findings"] for r in rows} == dict(truth)
    assert all(len(r["fields"]) <= 1 for r in rows)
    # the same clause number of two standards is two rows, never one sum
    by_clause = Counter(c for _, c in truth)
    shared = [c for c, n in by_clause.items() if len({f for f, cc in truth if cc == c}) > 1]
    assert shared, "the sample should cite one clause number under two standards"
    assert sum(1 for r in rows if r["clause"] == shared[0]) >= 2
    assert any(r["title"] for r in rows)


def test_partial_matches_are_counted_and_listed_apart(sample_home):
    from click.testing import CliRunner

    from indexer import build
    from indexer.search import SearchRequest, search
    from webui.cli import main

    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    some = search(handle, catalog, SearchRequest(q="管理评审", per_page=100))
    both = search(handle, catalog, SearchRequest(q="管理评审 鲲鹏展翅"))
    assert both["total"] == 0 and not [h for h in both["hits"] if not h["partial"]]
    assert both["partial_total"] == some["total"] > 0
    assert 0 < len(both["hits"]) <= 10 and all(h["partial"] for h in both["hits"])
    exact = search(handle, catalog, SearchRequest(q="管理评审"))
    assert exact["partial_total"] == 0
    out = CliRunner().invoke(main, ["--home", str(home), "search", "管理评审", "鲲鹏展翅"]).stdout
    assert out.startswith("共 0 份文件") and f"另有 {some['total']} 份部分匹配" in out
    assert "其余部分匹配" in out


def test_ingest_shows_progress_and_explains_failures_in_chinese(tmp_path):
    from click.testing import CliRunner
    from pdfmaker import make_pdf

    from webui.cli import main

    folder = tmp_path / "archive"
    folder.mkdir()
    make_pdf(folder / "审核报告.pdf", ["管理体系审核报告", "受审核方：杭州恒远机械有限公司"])
    (folder / "损坏.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "ingest", str(folder), "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "已处理 2/2 个文件（失败 1" in result.stderr          # not a terminal: a line, not a bar
    assert "新增 1" in result.stdout and "失败 1" in result.stdout
    assert "失败：" in result.stdout and "auditarchive failures" in result.stdout


def test_cases_are_listed_without_a_search_with_filters_and_counts(live_server):
    from test_webui import login

    from archive.catalog import Catalog
    from archive.mining.cases import build_cases, list_cases

    catalog = Catalog(live_server.home / "catalog.db")
    every = build_cases(catalog)
    listing = list_cases(catalog, limit=1000)
    assert listing.total == len(every) > 0
    starts = [max((a.start for a in c.audits if a.start), default="") for c in listing.cases]
    dated = [s for s in starts if s]
    assert dated == sorted(dated, reverse=True) and starts[:len(dated)] == dated     # newest first, undated last
    field = next(iter(listing.counts["field"]))
    only = list_cases(catalog, field_=field, limit=1000)
    assert only.total == listing.counts["field"][field] == sum(field in c.fields for c in every)
    incomplete = list_cases(catalog, incomplete=True, limit=1000)
    assert incomplete.total == sum(not c.complete for c in every)
    code = next(iter(listing.counts["code"]))
    assert list_cases(catalog, code=code, limit=1000).total == sum(any(x.startswith(code) for x in c.codes) for c in every)
    catalog.close()

    client = live_server.app.test_client()
    login(client, "viewer", live_server.passwords["viewer"])
    page = client.get("/cases").get_data(as_text=True)
    assert f"共 {len(every)} 个" in page and "不完整" in page
    assert every[0].org["name"] in page or listing.cases[0].org["name"] in page
    filtered = client.get(f"/cases?field={field}")
    assert filtered.status_code == 200 and f"共 {only.total} 个" in filtered.get_data(as_text=True)
    assert client.get("/cases?field=XYZ").status_code == 400


def test_a_case_lists_each_certificate_once():
    from types import SimpleNamespace as Doc

    from archive.mining.cases import case_cert_nos

    docs = [Doc(doc_type="audit_plan", cert_nos=["217-19-FW-01002-R0-M"]),
            Doc(doc_type="audit_report", cert_nos=["21719FW01002R0M", "03410Q10286R0S"]),
            Doc(doc_type="certificate", cert_nos=["21719FW01002R1M"])]
    assert case_cert_nos(docs) == ["21719FW01002R1M", "03410Q10286R0S"]
    # no certificate among the records: the latest issue, in the first form seen
    assert case_cert_nos(docs[:2]) == ["217-19-FW-01002-R0-M", "03410Q10286R0S"]


def test_symbol_font_characters_read_as_what_they_draw():
    from archive.text import normalise, readable_symbols
    from indexer.search import _snippet_html

    word_bullets = "\uf06e 文件控制 \uf0b7 记录控制 \uf0fc 已验证 \uf0a8 未勾选"
    assert normalise(word_bullets) == "■ 文件控制 • 记录控制 ✓ 已验证 □ 未勾选"
    assert len(readable_symbols(word_bullets)) == len(word_bullets)          # offsets hold
    html = _snippet_html(word_bullets, [(2, 6)], 0, len(word_bullets))
    assert "\uf06e" not in html and html.startswith("■ <mark>文件控制</mark>")


def test_real_documents_get_the_title_a_reader_sees(realdocs):
    """The scanned exam paper's heading carries a date (a title nonetheless); study notes that
    start with a sentence have no title (not their first sentence)."""
    import pypdfium2 as pdfium

    from archive.extract.doctype import classify
    from archive.ocr import ocr_pdf_page
    from archive.text import normalise

    def first_lines(name: str) -> list[str]:
        page = pdfium.PdfDocument(str(realdocs / name))[0]
        return normalise(page.get_textpage().get_text_range()).splitlines()

    assert classify(first_lines("certification-basics-notes.pdf"))[1] is None
    assert classify(first_lines("qms-syllabus.pdf"))[1] == "质量管理体系基础考试大纲"
    assert classify(first_lines("archive-filing-rules.pdf"))[1] == "中标华信审核案卷交档规范"
    scanned = ocr_pdf_page((realdocs / "exam-paper-scanned.pdf").read_bytes(), 1)
    title = classify(scanned.text.splitlines())[1]
    assert title and "认证通用基础" in title and "真题" in title
