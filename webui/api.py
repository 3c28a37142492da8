"""The JSON API under /api/v1 (contract in DESIGN.md; the OpenAPI document is `webui.openapi`).

Every endpoint but the OpenAPI document needs `Authorization: Bearer <token>`
(`auditarchive tokens create NAME`). Errors are `{"error": {"code", "message"}}` with their HTTP
status: a query that cannot be read is 400, an unknown document 404, never a 500 with a trace.
"""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, send_file, url_for

from archive import stats
from archive.messages import message
from archive.uploads import (
    TOO_LARGE_MESSAGE,
    UploadError,
    find_upload,
    refuse_announced_length,
    request_limit,
    store_upload,
    upload_status,
)
from indexer.highlight import matched_spans
from indexer.search import search, similar

from .app import state
from .auth import audit, requires
from .openapi import openapi_document
from .requests import (
    ApiError,
    document_or_404,
    download_name,
    original_mimetype,
    original_path,
    page_number,
    page_png,
    search_request,
)
from .rights import may_read_content, shown_document, shown_hits, shown_search

bp = Blueprint("api", __name__)
PUBLIC = {"api.openapi"}


def error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="auditarchive"'
    return response


@bp.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "unauthorized", message("api.token_needed"))
    user = state().accounts().token_user(token.strip())
    if user is None:
        return error(401, "unauthorized", message("api.token_invalid"))
    g.user = user
    return None


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/search")
@requires("search")
def api_search() -> Response:
    st = state()
    audit("search", request.args.get("q", ""), "api " + "&".join(f"{k}={v}" for k, v in request.args.items() if k != "q"))
    result = search(st.index(), st.catalog(), search_request(request.args, content=may_read_content()))
    return jsonify(shown_search(result))


@bp.get("/documents/<doc_id>")
@requires("read_metadata")
def document(doc_id: str) -> Response:
    audit("view", doc_id, "api")
    return jsonify(shown_document(document_or_404(state().catalog(), doc_id)))


@bp.get("/documents/<doc_id>/pages/<n>")
@requires("read_content")
def page(doc_id: str, n: str) -> Response:
    st = state()
    doc = document_or_404(st.catalog(), doc_id)
    number = page_number(n, doc.pages)
    if request.args.get("format", "json") == "png":
        png = page_png(st.renderer, st.catalog(), doc, number, scale=_scale(request.args.get("scale")))
        return send_file(io.BytesIO(png), mimetype="image/png", max_age=0)
    if request.args.get("format", "json") != "json":
        raise ApiError(400, "bad_request", message("request.page_format"))
    row = next((p for p in st.catalog().pages(doc.id) if p["number"] == number), None)
    if row is None:
        raise ApiError(404, "not_found", message("document.no_page_text", doc_id=doc.id, number=number))
    out: dict[str, Any] = {"document_id": doc.id, "number": number, "text": row["text"] or "",
                           "has_text": bool(row["has_text"]), "ocr": bool(row.get("ocr")),
                           "ocr_confidence": row.get("ocr_confidence"), "ocr_rotation": row.get("ocr_rotation"),
                           "ocr_skew": row.get("ocr_skew")}
    q = request.args.get("q", "")
    if q.strip():
        spans, starts = matched_spans(st.index(), st.catalog(), doc.id, q)
        offset = starts[number - 1] if number - 1 < len(starts) else 0
        end = starts[number] if number < len(starts) else float("inf")
        out["marks"] = [{"start": s - offset, "end": e - offset} for s, e in spans if offset <= s < end]
    return jsonify(out)


def _scale(raw: str | None) -> float:
    try:
        value = float(raw) if raw else 1.5
    except ValueError:
        raise ApiError(400, "bad_request", message("request.scale")) from None
    if not 0.5 <= value <= 3:
        raise ApiError(400, "bad_request", message("request.scale"))
    return value


@bp.get("/documents/<doc_id>/similar")
@requires("read_metadata")
def api_similar(doc_id: str) -> Response:
    st = state()
    doc = document_or_404(st.catalog(), doc_id)
    try:
        hits = similar(st.index(), st.catalog(), doc.id, top=10)
    except KeyError:
        raise ApiError(404, "not_indexed", message("document.not_indexed", doc_id=doc.id)) from None
    return jsonify({"document_id": doc.id, "hits": shown_hits(hits)})


@bp.get("/documents/<doc_id>/file")
@requires("download")
def file(doc_id: str) -> Response:
    doc = document_or_404(state().catalog(), doc_id)
    audit("download", doc.id, "api " + doc.filename)
    return send_file(original_path(state().catalog(), doc), mimetype=original_mimetype(doc), as_attachment=True,
                     download_name=download_name(doc.filename), max_age=0)


@bp.post("/documents")
@requires("upload")
def upload() -> tuple[Response, int]:
    from werkzeug.exceptions import RequestEntityTooLarge

    st = state()
    # Over the limit: refused by its Content-Length before a byte is read, or cut at the limit
    # while a body without a length is parsed (werkzeug stops at request.max_content_length).
    request.max_content_length = request_limit(request.max_content_length)
    try:
        refuse_announced_length(request.content_length, request.max_content_length)
        files = request.files.getlist("file")
    except (UploadError, RequestEntityTooLarge):
        raise ApiError(413, "too_large", TOO_LARGE_MESSAGE) from None
    if not files:
        raise ApiError(400, "bad_request", message("upload.no_file"))
    items: list[dict[str, Any]] = []
    for item in files:
        try:
            stored = store_upload(st.home.files_dir, item.filename, item.stream)
        except UploadError as exc:
            items.append({"filename": item.filename, "error": {"code": exc.reason, "message": exc.message}})
            continue
        audit("upload", stored.sha256, "api " + stored.filename)
        status = upload_status(st.catalog(), stored.path)
        if status["status"] == "pending":
            st.uploads.put(stored.path)
        items.append({**status, "duplicate": stored.duplicate,
                      "status_url": url_for("api.upload_state", sha256=stored.sha256)})
    accepted = [i for i in items if "error" not in i]
    if not accepted:
        response = jsonify({"error": {"code": "upload_refused", "message": items[0]["error"]["message"]},
                            "uploads": items})
        return response, 413 if items[0]["error"]["code"] == "too_large" else 400
    return jsonify({"uploads": items}), 202


@bp.get("/uploads/<sha256>")
@requires("upload")
def upload_state(sha256: str) -> Response:
    st = state()
    path = find_upload(st.home.files_dir, sha256)
    if path is None:
        raise ApiError(404, "not_found", message("upload.not_found", sha256=sha256))
    return jsonify(upload_status(st.catalog(), path))


@bp.get("/stats")
@requires("search")
def api_stats() -> Response:
    cat = state().catalog()
    return jsonify({"overview": stats.overview(cat), "by_year": stats.documents_by_year(cat),
                    "by_field_year": stats.documents_by_field_year(cat),
                    "findings_by_clause": stats.findings_by_clause(cat),
                    "busiest_codes": stats.busiest_codes(cat)})
