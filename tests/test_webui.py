"""The HTML pages through Flask's test client (fast): what they show, escaping, errors, headers."""
from __future__ import annotations

import re

import pytest
from conftest import HOSTILE_TEXT


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text(client.get(path))).group(1)


def login(client, name: str, password: str, expect: int = 302):
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": csrf(client)})
    assert response.status_code == expect, text(response)[:300]
    return response


@pytest.fixture(scope="module")
def client(live_server):
    c = live_server.app.test_client()
    login(c, "auditor", live_server.passwords["auditor"])
    return c


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
    hits = re.findall(r'/documents/([0-9a-f]{64})\?q=[^"#]*page=(\d+)', text(client.get("/?q=纠正措施&type=ncr")))
    pages = ((doc_id, page_no, text(client.get(f"/documents/{doc_id}?q=纠正措施&page={page_no}")))
             for doc_id, page_no in hits)
    doc_id, page_no, page = next(hit for hit in pages if " · PDF · " in hit[2])       # a PDF: page images
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

    response = client.post("/upload", data={"files": (io.BytesIO(b"hello"), "notes.pdf"),
                                            "csrf_token": csrf(client, "/upload")},
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


# -- access control ----------------------------------------------------------------------------------

def test_pages_need_a_login(live_server):
    anonymous = live_server.app.test_client()
    for path in ("/", "/stats", "/scope", "/cases", "/upload", "/admin/users", "/?q=审核"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert "登录" in text(anonymous.get("/login"))


def test_login_failures_and_lockout(live_server):
    c = live_server.app.test_client()
    response = login(c, "viewer", "wrong-password", expect=401)
    assert "不正确" in text(response)
    for _ in range(5):
        login(c, "nobody-here", "wrong-password", expect=401)
    response = login(c, "nobody-here", "wrong-password", expect=429)
    assert "过多" in text(response)
    assert any(r["action"] == "login_locked" for r in live_server.app.extensions["auditarchive"].accounts().access_log())


def test_forms_need_the_csrf_token(client):
    import io

    response = client.post("/upload", data={"files": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "CSRF" in text(response)


def test_a_viewer_sees_metadata_but_never_the_originals(live_server, client):
    doc_id = re.search(r'/documents/([0-9a-f]{64})', text(client.get("/?q=纠正措施&type=ncr"))).group(1)
    viewer = live_server.app.test_client()
    login(viewer, "viewer", live_server.passwords["viewer"])
    page = text(viewer.get(f"/documents/{doc_id}?q=纠正措施"))
    assert "受审核组织" in page and "只能查看元数据" in page
    assert f"/documents/{doc_id}/file" not in page and "<mark>" not in page and 'class="page' not in page
    for path in (f"/documents/{doc_id}/file", f"/documents/{doc_id}/pages/1.png", "/upload", "/admin/users",
                 "/admin/log"):
        assert viewer.get(path).status_code == 403, path
    assert viewer.get("/?q=纠正措施").status_code == 200


def test_admin_manages_users_and_reads_the_access_log(live_server, client):
    admin = live_server.app.test_client()
    login(admin, "admin", live_server.passwords["admin"])
    token = csrf(admin, "/admin/users")
    response = admin.post("/admin/users", data={"action": "add", "name": "新审核员", "role": "viewer",
                                                "password": "a-long-password", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"   # flashed
    assert "新审核员" in text(admin.get("/admin/users"))
    weak = admin.post("/admin/users", data={"action": "add", "name": "weak", "role": "viewer",
                                            "password": "short", "csrf_token": token})
    assert weak.status_code == 303 and "密码至少需要 10 个字符" in text(admin.get("/admin/users"))
    newcomer = live_server.app.test_client()
    login(newcomer, "新审核员", "a-long-password")
    client.get("/?q=管理评审")
    log = text(admin.get("/admin/log", query_string={"user": "auditor", "action": "search"}))
    assert "管理评审" in log
    assert client.get("/admin/users").status_code == 403          # an auditor is not an admin


def test_logout_ends_the_session(live_server):
    c = live_server.app.test_client()
    login(c, "auditor", live_server.passwords["auditor"])
    assert c.get("/").status_code == 200
    response = c.post("/logout", data={"csrf_token": csrf(c, "/")})
    assert response.status_code == 302
    assert c.get("/").status_code == 302


def test_login_redirects_only_within_the_site(live_server):
    c = live_server.app.test_client()
    response = c.post("/login", data={"name": "auditor", "password": live_server.passwords["auditor"],
                                      "csrf_token": csrf(c), "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_session_cookie_flags(live_server):
    c = live_server.app.test_client()
    response = c.post("/login", data={"name": "auditor", "password": live_server.passwords["auditor"],
                                      "csrf_token": csrf(c)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_scope_code_page_shows_the_codes_profile(client):
    code = re.search(r'data-code="(\d{2}\.\d{2}\.\d{2})"', text(client.get("/scope"))).group(1)
    page = text(client.get(f"/scope/{code}"))
    assert "审核过此代码的审核员" in page and "常见不符合条款" in page and "关键控制点" in page


def test_matching_page_and_weights(live_server, client):
    page = text(client.get("/matching"))
    assert "X = Σ" in page and "P = k·X / Y" in page and 'data-code="' in page
    assert "充分性 X" in page and "难度 Y" in page and "匹配度 P" in page and "匹配度（P）" in page
    assert "保存权重" not in page                            # only an admin sets weights
    assert client.post("/matching", data={"csrf_token": csrf(client, "/matching"), "threshold": "0.9"}).status_code == 403
    admin = live_server.app.test_client()
    login(admin, "admin", live_server.passwords["admin"])
    token = csrf(admin, "/matching")
    ok = admin.post("/matching", data={"csrf_token": token, "threshold": "5", "policy": "17.10.02 = 0.5"})
    assert ok.status_code == 303 and "message" not in ok.headers["Location"]    # flashed, not in the URL
    flagged = text(admin.get("/matching?flagged=1"))
    assert "低于阈值 5.0" in flagged or "低于阈值 5" in flagged
    assert "权重已保存" in flagged
    bad = admin.post("/matching", data={"csrf_token": token, "policy": "17.10.02 = 3"})
    assert bad.status_code == 303 and "error" not in bad.headers["Location"]   # policy lies within 0–1
    assert "权重有误" in text(admin.get("/matching"))
    assert "伪造" not in text(admin.get("/matching?message=伪造的消息&error=伪造"))
    admin.post("/matching", data={"csrf_token": token, "threshold": "0.8", "policy": ""})


def test_scanned_pages_show_their_ocr_confidence(live_server, client):
    from archive.catalog import Catalog

    catalog = Catalog(live_server.home / "catalog.db")
    row = catalog.db.execute("select id from documents where ocr_pages > 0 limit 1").fetchone()
    catalog.close()
    assert row, "the sample holds scanned documents"
    page = text(client.get(f"/documents/{row[0]}"))
    assert "OCR" in page and "置信度" in page and "OCR " in page
