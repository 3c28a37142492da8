"""The role table on every path that returns document text, and odd input that used to be a 500.

A viewer (查阅者) may search and read metadata, never page text: no path may quote the pages
(snippets, summaries, findings' statements, key control points, examples), and a search must not
tell a viewer which documents hold a word of their text. The leak test crawls what a viewer can
reach and looks for any run of 12 characters of page text that is not metadata."""
from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from test_webui import login

WINDOW = 12


def _api(client, token: str, path: str):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def viewer(live_server):
    c = live_server.app.test_client()
    login(c, "viewer", live_server.passwords["viewer"])
    return c


@pytest.fixture(scope="module")
def auditor(live_server):
    c = live_server.app.test_client()
    login(c, "auditor", live_server.passwords["auditor"])
    return c


@pytest.fixture(scope="module")
def corpus(live_server):
    """(page-text windows, metadata windows, document ids, case ids, busiest codes)."""
    from archive.catalog import Catalog
    from archive.codes import table as load_table
    from archive.mining.cases import build_cases

    db = sqlite3.connect(live_server.home / "catalog.db")
    texts = [re.sub(r"\s+", "", t or "") for (t,) in db.execute("select text from pages")]
    meta_strings: list[str] = []
    for row in db.execute("select title, org_name, scope, filename, path, cert_nos, codes from documents"):
        meta_strings += [str(v) for v in row if v]
    meta_strings += [n for row in db.execute("select id, names from organisations") for n in row if n]
    meta_strings += [n for (n,) in db.execute("select name from auditors") if n]
    for version in ("2020", "legacy"):
        meta_strings += [c.name for c in load_table(version).values()]
    ids = [i for (i,) in db.execute("select id from documents")]
    db.close()

    def windows(strings):
        out = set()
        for s in strings:
            s = re.sub(r"\s+", "", s)
            out.update(s[i:i + WINDOW] for i in range(0, max(0, len(s) - WINDOW + 1)))
        return out

    text_windows = {w for w in windows(texts) if len(re.findall(r"[\u4e00-\u9fff]", w)) >= 8}
    cat = Catalog(live_server.home / "catalog.db")
    cases = [c.id for c in build_cases(cat)]
    codes = [c for (c,) in cat.db.execute(
        "select code from document_codes group by code order by count(*) desc limit 4")]
    cat.close()
    return text_windows, windows(meta_strings), ids, cases, codes


def _visible_text(body: bytes, content_type: str) -> str:
    raw = body.decode("utf-8", "replace")
    if "json" in content_type:
        strings: list[str] = []

        def walk(v):
            if isinstance(v, str):
                strings.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(raw))
        return "\n".join(strings)
    raw = re.sub(r"<script.*?</script>|<style.*?</style>", " ", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", raw))


def _leaks(text: str, text_windows: set[str], meta_windows: set[str]) -> list[str]:
    found = []
    for line in text.split("\n"):
        s = re.sub(r"\s+", "", line)
        for i in range(0, len(s) - WINDOW + 1):
            w = s[i:i + WINDOW]
            if w in text_windows and w not in meta_windows:
                found.append(s[max(0, i - 10):i + WINDOW + 10])
                break
    return found


def _viewer_paths(live_server, corpus) -> list[tuple[str, bool]]:
    """(path, is_api) of what a viewer can reach that could quote documents."""
    _, _, ids, cases, codes = corpus
    words = ["管理评审", "不符合", "纠正措施", "审核", "记录", "检查", "培训"]
    paths: list[tuple[str, bool]] = []
    for w in words:
        paths += [(f"/api/v1/search?q={w}&per_page=50", True), (f"/?q={w}", False)]
    paths += [("/api/v1/search?q=&field=QMS&per_page=50", True), ("/", False), ("/stats", False),
              ("/api/v1/stats", True), ("/api/v1/matching", True)]
    for doc_id in ids:
        paths += [(f"/api/v1/documents/{doc_id}", True), (f"/documents/{doc_id}", False)]
    for doc_id in ids[:5]:
        paths.append((f"/api/v1/documents/{doc_id}/similar", True))
    for case_id in cases:
        paths += [(f"/api/v1/cases/{case_id}", True), (f"/cases/{case_id}", False)]
    for code in codes:
        paths += [(f"/api/v1/scopes/{code}/profile", True), (f"/scope/{code}", False)]
    return paths


def test_a_viewer_reads_no_page_text_anywhere(live_server, viewer, corpus):
    text_windows, meta_windows, *_ = corpus
    client = live_server.app.test_client()
    leaks = {}
    for path, is_api in _viewer_paths(live_server, corpus):
        response = _api(client, live_server.tokens["viewer"], path) if is_api else viewer.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found = _leaks(_visible_text(response.data, response.content_type), text_windows, meta_windows)
        if found:
            leaks[path] = found[:3]
    assert not leaks, leaks


def test_the_leak_test_finds_what_an_auditor_may_read(live_server, auditor, corpus):
    """The same crawl as an auditor finds page text: the check above can fail."""
    text_windows, meta_windows, _, cases, codes = corpus
    client = live_server.app.test_client()
    hits = 0
    for path in (f"/api/v1/cases/{cases[0]}", f"/api/v1/scopes/{codes[0]}/profile", "/api/v1/search?q=不符合"):
        response = _api(client, live_server.tokens["auditor"], path)
        hits += bool(_leaks(_visible_text(response.data, response.content_type), text_windows, meta_windows))
    assert hits >= 2


def test_a_viewer_cannot_probe_page_text_by_searching(live_server):
    """A word of the pages' text only (not in any title, organisation or scope) finds documents
    for an auditor, nothing for a viewer; metadata words still work for both."""
    client = live_server.app.test_client()

    def total(role, q):
        r = _api(client, live_server.tokens[role], f"/api/v1/search?q={q}")
        assert r.status_code == 200, r.data
        return r.get_json()

    body_only = "纠正措施"
    assert total("auditor", body_only)["total"] > 0
    found = total("viewer", body_only)
    assert found["total"] == 0 and found["content_hidden"] is True
    db = sqlite3.connect(live_server.home / "catalog.db")
    org = db.execute("select org_name from documents where org_name is not null limit 1").fetchone()[0]
    db.close()
    mine = total("viewer", org)
    assert mine["total"] > 0
    assert all(h["snippets"] == [] and h["matched_pages"] == [] for h in mine["hits"])
    assert all("statement" not in f for h in mine["hits"] for f in h["findings"])


def test_viewers_see_paths_from_the_ingest_root_admins_the_full_path(live_server):
    client = live_server.app.test_client()
    db = sqlite3.connect(live_server.home / "catalog.db")
    doc_id, path = db.execute("select id, path from documents where path like '%/%/%' limit 1").fetchone()
    db.close()
    shown = {role: _api(client, live_server.tokens[role], f"/api/v1/documents/{doc_id}").get_json()["path"]
             for role in ("viewer", "auditor", "admin")}
    assert shown["admin"] == path
    for role in ("viewer", "auditor"):
        assert not shown[role].startswith("/") and path.endswith(shown[role]) and "/" in shown[role]
    assert shown["viewer"] != Path(path).name      # the folders of the archive stay visible
    from archive.catalog import Catalog
    from archive.mining.cases import build_cases

    cat = Catalog(live_server.home / "catalog.db")
    case_id = build_cases(cat)[0].id
    cat.close()
    for role in ("viewer", "auditor"):
        case = _api(client, live_server.tokens[role], f"/api/v1/cases/{case_id}").get_json()["case"]
        paths = [d["path"] for a in case["audits"] for d in a["documents"]]
        assert paths and not any(p.startswith("/") for p in paths), role
    case = _api(client, live_server.tokens["admin"], f"/api/v1/cases/{case_id}").get_json()["case"]
    assert all(d["path"].startswith("/") for a in case["audits"] for d in a["documents"])


def test_the_viewers_document_page_has_no_statements(live_server, viewer):
    db = sqlite3.connect(live_server.home / "catalog.db")
    doc_id, statement = db.execute(
        "select doc_id, statement from findings where length(statement) > 15 limit 1").fetchone()
    db.close()
    page = viewer.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert html.escape(statement[:15]) not in page and statement[:15] not in page


# -- odd input that used to be a 500 ----------------------------------------------------------

def test_odd_page_numbers_and_query_syntax_in_filters(live_server, auditor):
    client = live_server.app.test_client()
    token = live_server.tokens["auditor"]
    db = sqlite3.connect(live_server.home / "catalog.db")
    doc_id = db.execute("select id from documents limit 1").fetchone()[0]
    db.close()
    r = _api(client, token, f"/api/v1/documents/{doc_id}/pages/²")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert auditor.get(f"/documents/{doc_id}?page=①").status_code == 200
    r = _api(client, token, "/api/v1/search?org=NOT NOT a")
    assert r.status_code == 200 and r.get_json()["total"] == 0
    everything = _api(client, token, "/api/v1/search?q=&field=QMS").get_json()["total"]
    assert everything > 0
    # a filter value is literal: `org=NOT a` is an organisation named so, not "all but a"
    assert _api(client, token, "/api/v1/search?q=&org=NOT a").get_json()["total"] == 0
    r = _api(client, token, "/api/v1/search?q=NOT NOT a")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_query"


def test_documents_open_by_the_short_ids_the_cli_prints(live_server, auditor):
    db = sqlite3.connect(live_server.home / "catalog.db")
    doc_id = db.execute("select id from documents limit 1").fetchone()[0]
    db.close()
    page = auditor.get(f"/documents/{doc_id[:12]}")
    assert page.status_code == 200 and doc_id in page.get_data(as_text=True)
    r = _api(live_server.app.test_client(), live_server.tokens["auditor"], f"/api/v1/documents/{doc_id[:12]}")
    assert r.status_code == 200 and r.get_json()["id"] == doc_id
    assert auditor.get("/documents/0123").status_code == 404            # too short to be one


def test_deep_json_and_lone_surrogates_are_400(live_server):
    client = live_server.app.test_client()
    headers = {"Authorization": f"Bearer {live_server.tokens['auditor']}", "Content-Type": "application/json"}
    deep = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post("/api/v1/scopes/suggest", data=deep, headers=headers)
    assert r.status_code == 400 and "error" in r.get_json()
    r = client.post("/api/v1/scopes/suggest", data='{"text": "\\ud800机加工"}', headers=headers)
    assert r.status_code == 400 and "error" in r.get_json()
    r = client.get("/api/v1/search?q=%ED%A0%80", headers=headers)     # decoded as U+FFFD
    assert r.status_code == 200 and "hits" in r.get_json()


def test_private_responses_are_not_cached(live_server, auditor):
    db = sqlite3.connect(live_server.home / "catalog.db")
    doc_id = db.execute("select id from documents where status = 'ok' limit 1").fetchone()[0]
    db.close()
    for response in (auditor.get(f"/documents/{doc_id}/pages/1.png"), auditor.get(f"/documents/{doc_id}"),
                     live_server.app.test_client().get(
                         f"/api/v1/documents/{doc_id}/pages/1?format=png",
                         headers={"Authorization": f"Bearer {live_server.tokens['auditor']}"})):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Authorization" in response.headers["Vary"] and "Cookie" in response.headers["Vary"]
    assert "public" in auditor.get("/static/style.css").headers.get("Cache-Control", "public")


# -- a small home of its own: originals changed, odd file names, an interrupted ingest ------------

@pytest.fixture
def small_home(tmp_path):
    from pdfmaker import make_pdf

    from archive.accounts import Accounts
    from archive.catalog import Catalog
    from indexer.pipeline import ingest_and_index

    archive = tmp_path / "archive" / "2021-某公司-Q初审"
    archive.mkdir(parents=True)
    make_pdf(archive / "审核报告.pdf", ["管理体系审核报告", "受审核方：杭州恒远机械有限公司", "审核发现：设备点检记录不全。"])
    make_pdf(archive / "报告\r\n附件.pdf", ["不符合报告", "受审核方：杭州恒远机械有限公司", "不符合事实：未保留校准记录。"])
    home = tmp_path / "home"
    catalog = Catalog(home / "catalog.db")
    summary, _ = ingest_and_index(catalog, home / "index", [tmp_path / "archive"], workers=0)
    assert summary.added == 2
    catalog.close()
    accounts = Accounts(home / "auth.db")
    accounts.add_user("auditor", "auditor", "auditor-password-1")
    token = accounts.create_token("auditor")
    accounts.close()
    return home, archive, token


def test_odd_stored_file_name_downloads_with_a_safe_header(small_home):
    from webui.app import create_app

    home, archive, token = small_home
    app = create_app(home, {"START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0})
    db = sqlite3.connect(home / "catalog.db")
    doc_id = db.execute("select id from documents where filename like '%附件%'").fetchone()[0]
    db.close()
    r = app.test_client().get(f"/api/v1/documents/{doc_id}/file", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert "\r" not in r.headers["Content-Disposition"] and "\n" not in r.headers["Content-Disposition"]


def test_a_replaced_original_is_refused_and_check_reports_it(small_home):
    from click.testing import CliRunner

    from webui.app import create_app
    from webui.cli import main

    home, archive, token = small_home
    app = create_app(home, {"START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0})
    db = sqlite3.connect(home / "catalog.db")
    doc_id = db.execute("select id from documents where filename = '审核报告.pdf'").fetchone()[0]
    db.close()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/documents/{doc_id}/file", headers=headers).status_code == 200
    assert CliRunner().invoke(main, ["--home", str(home), "check"]).exit_code == 0
    original = archive / "审核报告.pdf"
    original.write_bytes(original.read_bytes().replace(b"%%EOF", b"%%EOF\n% edited"))
    r = client.get(f"/api/v1/documents/{doc_id}/file", headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "original_changed"
    assert client.get(f"/api/v1/documents/{doc_id}/pages/1?format=png", headers=headers).status_code == 409
    result = CliRunner().invoke(main, ["--home", str(home), "check", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["originals"] == [{"doc_id": doc_id, "path": str(original), "reason": "changed"}]
    assert any("重新运行" in fix for fix in report["fixes"])
    original.unlink()
    r = client.get(f"/api/v1/documents/{doc_id}/file", headers=headers)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "original_missing"
    text = CliRunner().invoke(main, ["--home", str(home), "check"]).output
    assert "原件缺失：1" in text and "处理办法" in text


def test_the_server_indexes_what_an_interrupted_ingest_left(small_home, tmp_path):
    """An ingest killed after writing the catalogue: the running server finds its marker and
    brings the index in line, without waiting for the next ingest."""
    from pdfmaker import make_pdf

    from archive.catalog import Catalog
    from archive.ingest import Ingestor
    from indexer import pipeline
    from webui.app import create_app

    home, archive, token = small_home
    app = create_app(home, {"START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0.2})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def total():
        return client.get("/api/v1/search?q=&org=恒远", headers=headers).get_json()["total"]
    assert total() == 2
    make_pdf(archive / "监督审核报告.pdf", ["监督审核报告", "受审核方：杭州恒远机械有限公司", "审核发现：无。"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    marker = home / pipeline.PENDING / f"{dead.pid}-deadbeef"
    marker.parent.mkdir(exist_ok=True)
    marker.touch()
    catalog = Catalog(home / "catalog.db")
    Ingestor(catalog, workers=0).run([archive])            # written to the catalogue, never indexed
    catalog.close()
    deadline = time.monotonic() + 30
    while total() != 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert total() == 3
    assert not marker.exists()


def test_a_moved_archive_is_served_from_where_it_lies_now(small_home, tmp_path):
    import shutil

    from click.testing import CliRunner

    from archive.catalog import Catalog
    from indexer.pipeline import ingest_and_index
    from webui.app import create_app
    from webui.cli import main

    home, archive, token = small_home
    moved = tmp_path / "moved"
    shutil.move(str(archive.parent), moved)              # the whole archive folder, elsewhere
    catalog = Catalog(home / "catalog.db")
    ingest_and_index(catalog, home / "index", [moved], workers=0)
    doc_id = catalog.db.execute("select id from documents where filename = '审核报告.pdf'").fetchone()[0]
    catalog.close()
    app = create_app(home, {"START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0})
    r = app.test_client().get(f"/api/v1/documents/{doc_id}/file", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert CliRunner().invoke(main, ["--home", str(home), "check"]).exit_code == 0
