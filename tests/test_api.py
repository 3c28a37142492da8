"""The JSON API against a real server on a loopback port; every response is checked against the
OpenAPI document the server itself publishes, and every documented operation is exercised."""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pdfmaker import make_pdf

EXERCISED: set[tuple[str, str]] = set()


class Reply:
    def __init__(self, status: int, headers: Any, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(server, method: str, path: str, token: str | None = "default", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    if token:
        request.add_header("Authorization", f"Bearer {server.token if token == 'default' else token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


@pytest.fixture(scope="module")
def spec(live_server) -> dict:
    reply = call(live_server, "GET", "/api/v1/openapi.json", token=None)
    assert reply.status == 200
    return reply.json()


def conforms(spec: dict, reply: Reply, template: str, method: str = "get") -> Any:
    """Check a reply against the operation's documented response; returns the decoded body."""
    EXERCISED.add((template, method))
    responses = spec["paths"][template][method]["responses"]
    assert str(reply.status) in responses, f"{template} answered {reply.status}, which is not documented"
    content = responses[str(reply.status)]["content"]
    ctype = reply.headers.get("Content-Type", "").split(";")[0]
    assert ctype in content, f"{template} answered {ctype}; documented: {list(content)}"
    if ctype != "application/json":
        return reply.body
    schema = dict(content[ctype]["schema"], components=spec["components"])
    data = reply.json()
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, f"{template}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return data


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{name}"\r\nContent-Type: application/pdf\r\n\r\n'.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def q(**params: Any) -> str:
    return "?" + urllib.parse.urlencode(params)


# -- search ---------------------------------------------------------------------------------------

def test_search_shape_facets_and_timing(live_server, spec):
    data = conforms(spec, call(live_server, "GET", "/api/v1/search" + q(q="管理评审")), "/search")
    assert data["total"] > 0 and data["hits"]
    assert data["query_ms"] >= 0 and data["page"] == 1 and data["per_page"] == 10
    assert set(data["facets"]) == {"field", "code", "stage", "type", "year"}
    assert any("<mark>" in s["html"] for h in data["hits"] for s in h["snippets"])
    assert all("statement" not in f for h in data["hits"] for f in h["findings"])


def test_search_filters_and_paging(live_server, spec):
    first = conforms(spec, call(live_server, "GET", "/api/v1/search" + q(type="ncr", per_page=5)), "/search")
    second = conforms(spec, call(live_server, "GET", "/api/v1/search" + q(type="ncr", per_page=5, page=2)), "/search")
    assert first["total"] == second["total"] > 5
    assert all(h["doc_type"] == "ncr" for h in first["hits"] + second["hits"])
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    by_code = conforms(spec, call(live_server, "GET", "/api/v1/search" + q(code="17")), "/search")
    assert all(any(c.startswith("17.") for c in h["codes"]) for h in by_code["hits"])


@pytest.mark.parametrize("params, fragment", [
    ({"q": '"unclosed'}, "引号"), ({"q": "x" * 401}, "上限"), ({"q": "审核", "per_page": 0}, "per_page"),
    ({"q": "审核", "page": "two"}, "page"), ({"q": "审核", "sort": "size"}, "sort"),
])
def test_bad_search_is_400_with_a_message(live_server, spec, params, fragment):
    reply = call(live_server, "GET", "/api/v1/search" + q(**params))
    data = conforms(spec, reply, "/search")
    assert reply.status == 400 and data["error"]["message"]
    assert fragment in data["error"]["message"].lower() or fragment in json.dumps(params)


# -- documents ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def some_hit(live_server) -> dict:
    hits = call(live_server, "GET", "/api/v1/search" + q(q="不符合", type="ncr")).json()["hits"]
    return next(h for h in hits if h["filename"].endswith(".pdf"))         # a PDF: it has page images


def test_a_word_document_has_text_pages_and_no_page_image(live_server, spec):
    hits = call(live_server, "GET", "/api/v1/search" + q(q="不符合", type="ncr", limit=50)).json()["hits"]
    word = next(h for h in hits if h["filename"].endswith(".docx"))
    doc = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{word['id']}"), "/documents/{doc_id}")
    assert doc["format"] == "docx" and doc["pages"] >= 1
    page = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{word['id']}/pages/1"), "/documents/{doc_id}/pages/{n}")
    assert page["text"]
    refused = call(live_server, "GET", f"/api/v1/documents/{word['id']}/pages/1?format=png")
    assert refused.status == 422 and refused.json()["error"]["code"] == "unrenderable"
    assert "没有页面图像" in refused.json()["error"]["message"]
    original = call(live_server, "GET", f"/api/v1/documents/{word['id']}/file")
    assert original.status == 200 and original.body[:2] == b"PK"
    assert original.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument")


def test_document_page_similar_and_file(live_server, spec, some_hit, sample_home):
    doc_id = some_hit["id"]
    doc = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{doc_id}"), "/documents/{doc_id}")
    assert doc["id"] == doc_id and all("statement" in f for f in doc["findings"])

    page = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{doc_id}/pages/1" + q(q="不符合")),
                    "/documents/{doc_id}/pages/{n}")
    assert page["text"] and page["marks"]
    assert {page["text"][m["start"]:m["end"]] for m in page["marks"]} <= {"不符合", "不合格"}   # a synonym

    png = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{doc_id}/pages/1?format=png"),
                   "/documents/{doc_id}/pages/{n}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    similar = conforms(spec, call(live_server, "GET", f"/api/v1/documents/{doc_id}/similar"),
                       "/documents/{doc_id}/similar")
    assert similar["hits"] and doc_id not in {h["id"] for h in similar["hits"]}

    reply = call(live_server, "GET", f"/api/v1/documents/{doc_id}/file")
    original = conforms(spec, reply, "/documents/{doc_id}/file")
    full = call(live_server, "GET", f"/api/v1/documents/{doc_id}", token=live_server.tokens["admin"]).json()
    assert original == Path(full["path"]).read_bytes()           # admins see where it lies
    assert full["path"].endswith(doc["path"]) and not doc["path"].startswith("/")
    assert "attachment" in reply.headers["Content-Disposition"]


@pytest.mark.parametrize("path, template", [
    ("/api/v1/documents/" + "0" * 64, "/documents/{doc_id}"),
    ("/api/v1/documents/not-an-id", "/documents/{doc_id}"),
    ("/api/v1/documents/" + "0" * 64 + "/similar", "/documents/{doc_id}/similar"),
    ("/api/v1/documents/" + "0" * 64 + "/file", "/documents/{doc_id}/file"),
])
def test_unknown_document_is_404(live_server, spec, path, template):
    reply = call(live_server, "GET", path)
    assert reply.status == 404
    assert conforms(spec, reply, template)["error"]["code"] == "not_found"


def test_page_out_of_range_is_404(live_server, spec, some_hit):
    for n in (0, some_hit["pages"] + 1, "x"):
        reply = call(live_server, "GET", f"/api/v1/documents/{some_hit['id']}/pages/{n}")
        assert reply.status == 404
        conforms(spec, reply, "/documents/{doc_id}/pages/{n}")


# -- uploads ------------------------------------------------------------------------------------

def wait_for(live_server, spec, sha256: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = conforms(spec, call(live_server, "GET", f"/api/v1/uploads/{sha256}"), "/uploads/{sha256}")
        if status["status"] != "pending" or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def test_upload_is_ingested_indexed_and_found(live_server, spec, tmp_path):
    marker = "鲲鹏" + uuid.uuid4().hex[:6].upper()
    pdf = make_pdf(tmp_path / "upload.pdf", ["审核报告", "受审核方：杭州远航测绘科技有限公司",
                                              f"审核发现：现场抽查{marker}项目的测绘成果记录，未见校核签字。"])
    body, headers = multipart([("../../etc/现场审核报告.pdf", pdf.read_bytes())])
    reply = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers)
    assert reply.status == 202
    item = conforms(spec, reply, "/documents", "post")["uploads"][0]
    assert item["filename"] == "现场审核报告.pdf"          # path parts dropped, Chinese kept
    stored = live_server.home / "files" / item["sha256"] / item["filename"]
    assert stored.read_bytes() == pdf.read_bytes()

    status = wait_for(live_server, spec, item["sha256"])
    assert status["status"] == "ingested", status
    found = call(live_server, "GET", "/api/v1/search" + q(q=marker)).json()
    assert [h["id"] for h in found["hits"] if not h["partial"]] == [status["document_id"]]

    again = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers)
    assert again.status == 202 and again.json()["uploads"][0]["duplicate"] is True


@pytest.mark.parametrize("name, data, code", [
    ("note.pdf", b"hello, not a pdf", "not_pdf"), ("empty.pdf", b"", "empty"),
])
def test_refused_upload_is_400(live_server, spec, name, data, code):
    body, headers = multipart([(name, data)])
    reply = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers)
    assert reply.status == 400
    assert conforms(spec, reply, "/documents", "post")["error"]["code"] == "upload_refused"
    assert reply.json()["uploads"][0]["error"]["code"] == code


def test_broken_pdf_upload_fails_with_its_reason(live_server, spec, tmp_path):
    pdf = make_pdf(tmp_path / "whole.pdf", ["审核计划", "受审核方：某某公司"]).read_bytes()
    body, headers = multipart([("截断.pdf", pdf[: len(pdf) // 2])])
    item = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers).json()["uploads"][0]
    status = wait_for(live_server, spec, item["sha256"])
    assert status["status"] == "failed" and status["reason"] in ("truncated", "damaged")


def test_unknown_upload_is_404(live_server, spec):
    reply = call(live_server, "GET", "/api/v1/uploads/" + "f" * 64)
    assert reply.status == 404
    conforms(spec, reply, "/uploads/{sha256}")


# -- cases and scope lookups --------------------------------------------------------------------

def test_cases_and_a_case_summary(live_server, spec):
    org = call(live_server, "GET", "/api/v1/search" + q(type="audit_report")).json()["hits"][0]["org"]["name"]
    listing = conforms(spec, call(live_server, "GET", "/api/v1/cases" + q(q=org)), "/cases")
    assert listing["cases"] and all(c["org"]["name"] == org for c in listing["cases"])
    case_id = listing["cases"][0]["id"]
    summary = conforms(spec, call(live_server, "GET", f"/api/v1/cases/{urllib.parse.quote(case_id)}"),
                       "/cases/{case_id}")
    assert summary["case"]["id"] == case_id and summary["case"]["audits"]
    own = {d["id"] for a in summary["case"]["audits"] for d in a["documents"]}
    assert all(x["doc_id"] in own for x in summary["summary"])        # sentences from its own reports
    for bad in ("/api/v1/cases/" + "0" * 8 + "-QMS-1", "/api/v1/cases/nonsense"):
        reply = call(live_server, "GET", bad)
        assert reply.status == 404
        conforms(spec, reply, "/cases/{case_id}")
    reply = call(live_server, "GET", "/api/v1/cases")
    assert reply.status == 400
    conforms(spec, reply, "/cases")


def test_scope_lookups(live_server, spec):
    info = conforms(spec, call(live_server, "GET", "/api/v1/scopes/17.10"), "/scopes/{code}")
    assert info["name"] and info["level"] == "middle" and all(c["code"].startswith("17.10.") for c in info["children"])
    reply = call(live_server, "GET", "/api/v1/scopes/99.99")
    assert reply.status == 404
    conforms(spec, reply, "/scopes/{code}")

    words = conforms(spec, call(live_server, "GET", "/api/v1/scopes" + q(q="塑料制品")), "/scopes")
    assert words["kind"] == "words" and words["matches"][0]["code"].startswith("14")
    by_code = conforms(spec, call(live_server, "GET", "/api/v1/scopes" + q(q="17.10.02")), "/scopes")
    assert by_code["matches"][0]["code"] == "17.10.02"
    reply = call(live_server, "GET", "/api/v1/scopes")
    assert reply.status == 400
    conforms(spec, reply, "/scopes")

    body = json.dumps({"text": "数控机床零部件的机械加工"}).encode()
    suggested = conforms(spec, call(live_server, "POST", "/api/v1/scopes/suggest", body=body,
                                    headers={"Content-Type": "application/json"}), "/scopes/suggest", "post")
    assert "17.10.02" in [m["code"] for m in suggested["matches"][:3]]
    for bad in (b"{}", b"not json", json.dumps({"text": "x", "limit": 0}).encode()):
        reply = call(live_server, "POST", "/api/v1/scopes/suggest", body=bad,
                     headers={"Content-Type": "application/json"})
        assert reply.status == 400
        conforms(spec, reply, "/scopes/suggest", "post")


def test_code_profile_and_matching(live_server, spec):
    code = call(live_server, "GET", "/api/v1/search" + q(type="audit_report")).json()["facets"]["code"]
    minor = next(c for c in code if len(c) == 8)
    profile = conforms(spec, call(live_server, "GET", f"/api/v1/scopes/{minor}/profile"), "/scopes/{code}/profile")
    assert profile["code"] == minor and profile["organisations"]
    reply = call(live_server, "GET", "/api/v1/scopes/99.99.99/profile")
    assert reply.status == 404
    conforms(spec, reply, "/scopes/{code}/profile")
    report = conforms(spec, call(live_server, "GET", "/api/v1/matching"), "/matching")
    assert report["codes"] and set(report["flagged"]) == {r["code"] for r in report["codes"] if r["flagged"]}
    ps = [r["P"] for r in report["codes"] if r["P"] is not None]
    assert ps == sorted(ps)                                       # lowest P first
    one = conforms(spec, call(live_server, "GET", "/api/v1/matching" + q(code=minor)), "/matching")
    assert [r["code"] for r in one["codes"]] == [minor]
    reply = call(live_server, "GET", "/api/v1/matching" + q(code="x"))
    assert reply.status == 400
    conforms(spec, reply, "/matching")


# -- statistics, authentication, errors ---------------------------------------------------------

def test_stats(live_server, spec):
    data = conforms(spec, call(live_server, "GET", "/api/v1/stats"), "/stats")
    assert data["overview"]["documents"] >= 1
    assert sum(r["documents"] for r in data["by_year"]) <= data["overview"]["documents"]


@pytest.mark.parametrize("token", [None, "aa_not-a-real-token", "Basic abc"])
def test_every_endpoint_needs_a_valid_token(live_server, spec, some_hit, token):
    paths = ["/api/v1/search" + q(q="审核"), f"/api/v1/documents/{some_hit['id']}", f"/api/v1/documents/{some_hit['id']}/file",
             f"/api/v1/documents/{some_hit['id']}/pages/1", f"/api/v1/documents/{some_hit['id']}/similar",
             "/api/v1/stats", "/api/v1/uploads/" + "0" * 64]
    for path in paths:
        reply = call(live_server, "GET", path, token=token if token != "Basic abc" else None,
                     headers={"Authorization": "Basic abc"} if token == "Basic abc" else None)
        assert reply.status == 401, path
        assert reply.json()["error"]["code"] == "unauthorized"
        assert "Bearer" in reply.headers["WWW-Authenticate"]
    assert call(live_server, "POST", "/api/v1/documents", token=None, body=b"").status == 401


def test_a_viewer_token_reads_metadata_never_originals(live_server, spec, some_hit):
    viewer = live_server.tokens["viewer"]
    doc_id = some_hit["id"]
    assert call(live_server, "GET", f"/api/v1/documents/{doc_id}", token=viewer).status == 200
    assert call(live_server, "GET", "/api/v1/search" + q(q="审核"), token=viewer).status == 200
    for path, template in ((f"/api/v1/documents/{doc_id}/file", "/documents/{doc_id}/file"),
                           (f"/api/v1/documents/{doc_id}/pages/1", "/documents/{doc_id}/pages/{n}"),
                           (f"/api/v1/documents/{doc_id}/pages/1?format=png", "/documents/{doc_id}/pages/{n}"),
                           ("/api/v1/uploads/" + "0" * 64, "/uploads/{sha256}")):
        reply = call(live_server, "GET", path, token=viewer)
        assert reply.status == 403, path
        assert conforms(spec, reply, template)["error"]["code"] == "forbidden"
        assert b"%PDF" not in reply.body and b"PNG" not in reply.body
    body, headers = multipart([("a.pdf", b"%PDF-1.4 x")])
    reply = call(live_server, "POST", "/api/v1/documents", token=viewer, body=body, headers=headers)
    assert reply.status == 403
    conforms(spec, reply, "/documents", "post")


def test_errors_are_json_never_a_trace(live_server):
    for method, path, status in (("GET", "/api/v1/nothing-here", 404), ("DELETE", "/api/v1/search", 405)):
        reply = call(live_server, method, path)
        assert reply.status == status
        assert reply.headers["Content-Type"].startswith("application/json")
        assert "Traceback" not in reply.body.decode()


def test_training_export(live_server, spec):
    """The training pack download (its formats and anonymisation: tests/test_training.py)."""
    reply = call(live_server, "GET", "/api/v1/exports/training" + q(field="QMS", format="md", anonymise="1"))
    assert reply.status == 200 and conforms(spec, reply, "/exports/training").startswith("# ".encode())
    reply = call(live_server, "GET", "/api/v1/exports/training" + q(code="98.76"))
    assert reply.status == 404 and conforms(spec, reply, "/exports/training")["error"]["code"] == "not_found"


def test_every_documented_operation_was_exercised(spec):
    """Runs last in this module: the tests above must have called every operation of the spec."""
    if not EXERCISED:
        pytest.skip("checks what the module's other tests called: run it with them")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented <= EXERCISED, f"not exercised: {sorted(documented - EXERCISED)}"


def test_openapi_paths_are_served(live_server, spec):
    """Every documented path answers something other than the router's 404 for unknown routes."""
    for path in spec["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "0" * 64, path).replace("pages/" + "0" * 64, "pages/1")
        method = next(iter(spec["paths"][path])).upper()
        reply = call(live_server, method, "/api/v1" + concrete)
        assert reply.status != 405, path


@pytest.mark.slow
def test_the_serve_command_answers_with_several_workers(live_server, spec):
    """`auditarchive serve` itself (gunicorn, 2 worker processes) on the same data home."""
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "auditarchive"
    proc = subprocess.Popen([str(exe), "--home", str(live_server.home), "serve", "--port", str(port),
                             "--workers", "2", "--threads", "2"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

        class Remote:
            url, token = f"http://127.0.0.1:{port}", live_server.token
        page = call(Remote, "GET", "/", token=None)
        assert page.status == 200 and "审核档案检索" in page.body.decode()
        for _ in range(4):               # reaches both workers
            data = conforms(spec, call(Remote, "GET", "/api/v1/search" + q(q="管理评审")), "/search")
            assert data["total"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
