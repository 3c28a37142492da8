"""The HTML pages through Flask's test client (fast): what they show, escaping, errors, headers."""
from __future__ import annotations

import re

import pytest

from conftest import HOSTILE_TEXT


@pytest.fixture(scope="module")
def client(live_server):
    return live_server.app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True)


def test_landing_page_shows_the_archive(client):
    page = text(client.get("/"))
    assert "档案概况" in page and "最近的文件" in page and "检索式" in page


def test_search_page_keeps_the_query_and_shows_facets(client):
    response = client.get("/?q=管理评审&field=QMS&sort=date")
    page = text(response)
    assert response.status_code == 200
    assert 'value="管理评审"' in page
    assert '<option value="date" selected>' in page
    assert 'name="field" value="QMS"' in page           # the active filter survives a new query
    assert "认证领域：QMS 质量管理体系" in page
    for facet in ("field", "stage", "type", "year", "code"):
        assert f'data-facet="{facet}"' in page
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", page)     # dates the local way


def test_bad_query_is_a_400_page_with_the_reason(client):
    response = client.get('/?q="unclosed')
    assert response.status_code == 400
    assert "检索式有误" in text(response) and "Traceback" not in text(response)


def test_hostile_text_is_escaped_everywhere(client):
    raw = "<script>alert"
    page = text(client.get("/?q=恶意脚本"))
    assert raw not in page and "&lt;script&gt;alert" in page
    doc_id = re.search(r'/documents/([0-9a-f]{64})', page).group(1)
    doc_page = text(client.get(f"/documents/{doc_id}?q=恶意脚本"))
    assert raw not in doc_page and "&lt;script&gt;alert" in doc_page
    assert "<img src=x" not in doc_page
    listing = text(client.get("/upload")) + text(client.get("/scope")) + text(client.get("/stats"))
    assert raw not in listing
    assert HOSTILE_TEXT not in page + doc_page


def test_security_headers(client):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = text(response)
    assert "<script>" not in page.replace('<script src="/static/app.js" defer></script>', "")  # no inline script


@pytest.mark.parametrize("path", ["/documents/" + "0" * 64, "/documents/zzz", "/scope/99.99", "/scope/abc",
                                  "/no-such-page"])
def test_unknown_things_are_404_pages(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "找不到" in text(response) and "Traceback" not in text(response)


def test_document_page_marks_the_query_and_offers_the_original(client):
    hit = re.search(r'/documents/([0-9a-f]{64})\?q=[^"#]*page=(\d+)', text(client.get("/?q=纠正措施&type=ncr")))
    doc_id, page_no = hit.groups()
    page = text(client.get(f"/documents/{doc_id}?q=纠正措施&page={page_no}"))
    assert f'id="p{page_no}"' in page and "<mark>" in page
    assert f"/documents/{doc_id}/file" in page
    image = client.get(f"/documents/{doc_id}/pages/{page_no}.png")
    assert image.status_code == 200 and image.data[:4] == b"\x89PNG"
    download = client.get(f"/documents/{doc_id}/file")
    assert download.data[:5] == b"%PDF-" and "attachment" in download.headers["Content-Disposition"]


def test_scope_pages(client):
    tree = text(client.get("/scope"))
    assert "2020 版" in tree and 'data-code="' in tree
    everything = text(client.get("/scope?all=1"))
    assert everything.count('data-code="') == 39 + 280 + 615
    code = re.search(r'data-code="(\d{2}\.\d{2})"', tree).group(1)
    page = text(client.get(f"/scope/{code}"))
    assert "组织" in page and "审核员" in page and "li class=\"hit\"" in page


def test_upload_page_refuses_non_pdf_with_a_reason(client):
    import io

    response = client.post("/upload", data={"files": (io.BytesIO(b"hello"), "notes.pdf")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = text(response)
    assert response.status_code == 200
    assert "未接收 notes.pdf" in page and "不是 PDF" in page


def test_case_pages(client):
    org = re.search(r'<span class="org">([^<]+)</span>', text(client.get("/?q=审核报告&type=audit_report"))).group(1)
    listing = text(client.get("/cases", query_string={"q": org}))
    case_link = re.search(r'href="(/cases/[^"]+)"', listing).group(1)
    page = text(client.get(case_link))
    assert org in page and "审核时间线" in page and "审核报告摘要" in page and "关键控制点" in page
    assert client.get("/cases/00000000-QMS-1").status_code == 404


def test_scope_lookup_page(client):
    page = text(client.get("/scope/lookup", query_string={"q": "数控机床零部件的机械加工"}))
    assert "推荐代码" in page and 'data-code="17.10.02"' in page
    page = text(client.get("/scope/lookup", query_string={"q": "17.10.02"}))
    assert "机加工" in page and "上级" in page
