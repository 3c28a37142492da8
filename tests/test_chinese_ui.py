"""Every string a user reads is Chinese (issue 22, item 13): the templates hold no English prose,
and the errors the search, the API and the pages can produce are said in Chinese (the API keeps
its English `code` beside the Chinese `message`). The texts live in `archive.messages`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_webui import login

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "webui" / "templates"
HAN = re.compile(r"[\u4e00-\u9fff]")

# ASCII words a Chinese auditor expects to read as they are: standards and management systems,
# file formats, bodies, the query language's operators, the product's name, product names.
ALLOWED_WORDS = {
    "QMS", "EMS", "OHSMS", "FSMS", "ISMS", "HACCP", "ISO", "PDF", "OCR", "API", "CSV", "XLSX", "DOCX", "CNAS",
    "CCAA", "IAF", "NACE", "CSRF", "SHA", "JSON", "AND", "NOT", "auditarchive", "Markdown", "Word", "Excel",
    "docx", "xlsx", "Dask", "Ctrl", "UTF", "http",
    # file formats and the programs that make or read them, named as their users name them
    "doc", "xls", "xlsm", "ods", "odt", "rtf", "wps", "ofd", "OFD", "ODS", "ODT", "RTF", "WPS", "XML", "zip", "RAR",
    "xlsb", "JPEG", "PNG", "TIFF", "BMP", "WebP", "Office", "PowerPoint", "LibreOffice",
}


def visible_template_text(source: str) -> str:
    """What a template shows as literal text: Jinja comments, statements and expressions, tags
    with their attributes, the contents of <code> (what people type: filters, commands) and of
    <script>/<style>, and character references removed."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<(code|script|style)\b[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    return re.sub(r"&[a-z]+;|&#\d+;", " ", text)


def test_templates_show_no_english_words():
    found = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        words = set(re.findall(r"[A-Za-z]{3,}", visible_template_text(path.read_text(encoding="utf-8"))))
        if words - ALLOWED_WORDS:
            found[path.name] = sorted(words - ALLOWED_WORDS)
    assert not found, f"English words shown by templates: {found}"


def test_the_scan_finds_english_where_there_is_some():
    """The scan itself: prose outside tags is found, attributes, Jinja and <code> are not."""
    sample = ('<h1 class="title">统计 <small>statistics</small></h1>{{ value or "none" }}{% if x %}'
              '<code>code:17.10</code>{% endif %} QMS')
    assert set(re.findall(r"[A-Za-z]{3,}", visible_template_text(sample))) - ALLOWED_WORDS == {"statistics"}


def test_every_message_is_chinese():
    from archive.messages import FACTOR_NAMES, FAILURE_NAMES, MESSAGES, WEIGHT_NAMES

    for key, text in {**MESSAGES, **{f"failure.{k}": v for k, v in FAILURE_NAMES.items()},
                      **{f"weight.{k}": v for k, v in WEIGHT_NAMES.items()},
                      **{f"factor.{k}": v for k, v in FACTOR_NAMES.items()}}.items():
        fixed = re.sub(r"\{[^{}]*\}", " ", text)          # what is said, placeholders left out
        assert HAN.search(fixed) or not re.search(r"[A-Za-z]", fixed), f"{key} is not Chinese: {text!r}"
        assert not _english_words(fixed), f"{key} holds English: {text!r}"


# -- what the app produces -------------------------------------------------------------------------

BAD_QUERIES = ['"管理评审', "(管理评审", "管理评审 OR", "code:17.1x", "管理评审 code:", "stage: 管理评审",
               'code:"" 审核', "foo:bar 审核", '"管理评审 内部审核"~3', "code:99.99", "clause:x8", "org:、",
               "审" * 401]
BAD_FILTERS = [{"year": "20x3"}, {"year": "2023-1900"}, {"stage": "第五阶段"}, {"field": "XYZ"}, {"type": "报表"},
               {"date": "2023-13-01..2023-12-31"}, {"date": "2023-06-01..2023-01-01"}, {"date": "..."},
               {"date": "2023/01/01"}]


def _english_words(text: str, echoed: str = "") -> set[str]:
    """Words of 4+ ASCII letters that are neither a name people type (filters, parameters,
    commands, options, the values the query language takes), nor an allowed word, nor part of
    what the request itself said (`echoed`)."""
    from archive.models import DOC_TYPES, FIELDS, STAGES
    from indexer.query import FILTERS

    typed = {*FILTERS, *DOC_TYPES, *FIELDS, *STAGES, "page", "per_page", "sort", "relevance", "date_asc", "scope",
             "format", "json", "png", "scale", "limit", "text", "table", "legacy", "file", "multipart", "form",
             "data", "anonymise", "Authorization", "Bearer", "tokens", "create", "users", "ingest", "reindex",
             "failures", "home", "retry-failed", "role", "availability", "alpha", "threshold", "code", "field",
             "multipart/form-data", "auditarchive", "admin", "auditor", "viewer"}
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_/-]*", re.sub(r"「[^」]*」|'[^']*'|\"[^\"]*\"", " ", text)))
    return {w for w in words if sum(c.isalpha() for c in w) >= 4 and w.strip("-") not in typed
            and w not in ALLOWED_WORDS and w not in echoed}


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory):
    """The app over an empty data home, with an admin and its API token."""
    from archive.accounts import Accounts
    from webui.app import create_app

    home = tmp_path_factory.mktemp("chinese-ui")
    accounts = Accounts(home / "auth.db")
    accounts.add_user("admin", "admin", "a-long-admin-password")
    token = accounts.create_token("admin")
    accounts.close()
    app = create_app(home, {"TESTING": True, "START_UPLOAD_QUEUE": False, "RECONCILE_SECONDS": 0})
    return app, token


def test_query_errors_are_chinese(empty_app):
    from indexer.query import QueryError
    from indexer.search import SearchRequest, parser_for

    app, _ = empty_app
    handle = app.extensions["auditarchive"].index()
    parser = parser_for(handle)
    said = []
    for q in BAD_QUERIES:
        with pytest.raises(QueryError) as err:
            parser.parse(q)
        said.append(str(err.value))
    for filters in BAD_FILTERS:
        with pytest.raises(QueryError) as err:
            parser.parse("", filters)
        said.append(str(err.value))
    for request in (SearchRequest(q="审核", page=0), SearchRequest(q="审核", per_page=1000),
                    SearchRequest(q="审核", sort="size")):
        with pytest.raises(QueryError) as err:
            request.validate()
        said.append(str(err.value))
    for text in said:
        assert HAN.search(text) and not _english_words(text), text


def test_api_and_page_errors_are_chinese(empty_app):
    app, token = empty_app
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    calls = [
        ("get", "/api/v1/search?q=%22unclosed", {}, 400, "bad_query"),
        ("get", "/api/v1/search?q=审核&page=two", {}, 400, "bad_request"),
        ("get", "/api/v1/search?q=审核&per_page=0", {}, 400, "bad_request"),
        ("get", "/api/v1/search?q=审核&sort=size", {}, 400, "bad_query"),
        ("get", "/api/v1/documents/xyz", {}, 404, "not_found"),
        ("get", "/api/v1/documents/" + "12" * 32, {}, 404, "not_found"),
        ("get", "/api/v1/uploads/" + "34" * 32, {}, 404, "not_found"),
        ("get", "/api/v1/cases", {}, 400, "bad_request"),
        ("get", "/api/v1/cases/00001234-QMS-1", {}, 404, "not_found"),
        ("get", "/api/v1/scopes/99.99", {}, 404, "not_found"),
        ("get", "/api/v1/scopes/17?table=new", {}, 400, "bad_request"),
        ("get", "/api/v1/scopes", {}, 400, "bad_request"),
        ("get", "/api/v1/scopes/x/profile", {}, 404, "not_found"),
        ("get", "/api/v1/matching?code=x", {}, 400, "bad_request"),
        ("get", "/api/v1/exports/training", {}, 400, "bad_request"),
        ("get", "/api/v1/exports/training?code=98.76", {}, 404, "not_found"),
        ("get", "/api/v1/no-such-endpoint", {}, 404, "not_found"),
        ("post", "/api/v1/documents", {}, 400, "bad_request"),
        ("post", "/api/v1/scopes/suggest", {"json": {"text": ""}}, 400, "bad_request"),
        ("post", "/api/v1/scopes/suggest", {"json": {"text": "机械加工", "limit": 500}}, 400, "bad_request"),
        ("post", "/api/v1/scopes/suggest", {"data": b"[" * 40, "content_type": "application/json"}, 400,
         "bad_request"),
        ("delete", "/api/v1/stats", {}, 405, "method_not_allowed"),
    ]
    for method, path, kwargs, status, code in calls:
        reply = getattr(client, method)(path, headers=auth, **kwargs)
        error = reply.get_json()["error"]
        assert reply.status_code == status and error["code"] == code, (path, reply.status_code, error)
        assert HAN.search(error["message"]) and not _english_words(error["message"], path), (path, error)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        error = client.get("/api/v1/stats", headers=headers).get_json()["error"]
        assert error["code"] == "unauthorized" and HAN.search(error["message"]), error
    refused = client.post("/api/v1/documents", headers=auth, data={"file": (__import__("io").BytesIO(b"hello"), "a.pdf")})
    item = refused.get_json()["uploads"][0]["error"]
    assert item["code"] == "not_pdf" and HAN.search(item["message"]) and not _english_words(item["message"])

    page = app.test_client()
    login(page, "admin", "a-long-admin-password")
    for path in ("/documents/xyz", "/scope/x", "/scope/99.99", "/cases/nothing", "/no-such-page",
                 "/?q=%22unclosed", "/cases?year=20x3"):
        body = page.get(path).get_data(as_text=True)
        shown = re.sub(r"<[^>]*>", " ", body.split("<main>")[1].split("</main>")[0])
        assert HAN.search(shown) and not _english_words(shown, path), (path, shown)
