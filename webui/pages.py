"""The HTML pages: 检索 search, 文档 document, 范围 scope browser, 统计 statistics, 上传 upload.

Each view reads the request, calls the layers below and renders a template; the query lives in
the URL so every search can be bookmarked and shared.
"""
from __future__ import annotations

import io
import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from archive import stats
from archive.messages import message
from archive.mining.percode import code_profile
from archive.originals import has_page_images, original_on_disk
from archive.uploads import (
    TOO_LARGE_MESSAGE,
    UploadError,
    refuse_announced_length,
    request_limit,
    store_upload,
    stored_files,
    upload_status,
)
from indexer.highlight import marked_pages
from indexer.query import QueryError
from indexer.search import search, similar

from .app import state
from .auth import audit, csrf, current_user, load_session_user, requires
from .facets import code_facet_tree, facet_lists
from .labels import TABLE_NAMES
from .requests import (
    FILTER_PARAMS,
    ApiError,
    document_or_404,
    download_name,
    original_mimetype,
    original_path,
    page_number,
    page_png,
    search_request,
)
from .rights import may_read_content, shown_document, shown_hits, shown_profile, shown_search

bp = Blueprint("pages", __name__)
bp.before_request(load_session_user)
RECENT_UPLOADS = 50


def url_with(**changes: Any) -> str:
    """This search's URL with some parameters changed (None removes one); back to page 1 unless
    the page is what changes."""
    args = {k: v for k, v in request.args.items() if v}
    if "page" not in changes:
        args.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("pages.search_page", **args)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"url_with": url_with}


@bp.get("/")
@requires("search")
def search_page() -> str:
    st = state()
    args = request.args
    active = {k: args[k] for k in FILTER_PARAMS if args.get(k)}
    context: dict[str, Any] = {"q": args.get("q", ""), "active": active, "sort": args.get("sort") or "relevance",
                               "result": None, "error": None}
    if not context["q"].strip() and not active:
        context["overview"] = stats.overview(st.catalog())
        req = search_request({"sort": "date", "per_page": "10"}, content=may_read_content())
        context["recent"] = shown_search(search(st.index(), st.catalog(), req))
        return render_template("search.html", **context)
    audit("search", context["q"], " ".join(f"{k}:{v}" for k, v in active.items()))
    try:
        result = shown_search(search(st.index(), st.catalog(), search_request(args, content=may_read_content())))
    except QueryError as exc:
        context["error"] = str(exc)
        return render_template("search.html", **context), 400      # type: ignore[return-value]
    context.update(result=result, facets=facet_lists(result["facets"]),
                   code_tree=code_facet_tree(result["facets"]["code"], active.get("code")),
                   pages=_paging(result))
    return render_template("search.html", **context)


def _paging(result: dict[str, Any]) -> dict[str, Any]:
    last = max(1, -(-result["total"] // result["per_page"]))
    page = result["page"]
    window = sorted({1, last, *range(max(1, page - 3), min(last, page + 3) + 1)})
    return {"page": page, "last": last, "window": window}


@bp.get("/documents/<doc_id>")
@requires("read_metadata")
def document_page(doc_id: str) -> str:
    st = state()
    doc = document_or_404(st.catalog(), doc_id)
    audit("view", doc.id, doc.filename)
    q = request.args.get("q", "")
    target = request.args.get("page", "")
    content = current_user().can("read_content")
    try:
        pages = marked_pages(st.index(), st.catalog(), doc.id, q) if content else []
        query_error = None
    except QueryError as exc:
        pages, query_error = marked_pages(None, st.catalog(), doc.id), str(exc)
    try:
        alike = similar(st.index(), st.catalog(), doc.id, top=8)
    except KeyError:
        alike = []
    hit_pages = [p.number for p in pages if p.matches]
    open_page = int(target) if re.fullmatch(r"[0-9]{1,6}", target) else (hit_pages[0] if hit_pages else None)
    return render_template("document.html", doc=shown_document(doc), pages=pages, q=q, query_error=query_error,
                           similar=shown_hits(alike), hit_pages=hit_pages, open_page=open_page,
                           original_exists=original_on_disk(doc), page_images=has_page_images(doc), content=content)


@bp.get("/documents/<doc_id>/pages/<n>.png")
@requires("read_content")
def page_image(doc_id: str, n: str) -> Response:
    doc = document_or_404(state().catalog(), doc_id)
    number = page_number(n, doc.pages)
    png = page_png(state().renderer, state().catalog(), doc, number, scale=1.5)
    return send_file(io.BytesIO(png), mimetype="image/png", max_age=0)


@bp.get("/documents/<doc_id>/file")
@requires("download")
def original_file(doc_id: str) -> Response:
    doc = document_or_404(state().catalog(), doc_id)
    audit("download", doc.id, doc.filename)
    return send_file(original_path(state().catalog(), doc), mimetype=original_mimetype(doc), as_attachment=True,
                     download_name=download_name(doc.filename), max_age=0)


@bp.get("/scope")
@requires("search")
def scope_tree() -> str:
    version = "legacy" if request.args.get("table") == "legacy" else "2020"
    show_all = request.args.get("all") == "1"
    tree = stats.code_tree(state().catalog(), version)
    return render_template("scope.html", tree=tree, version=version, show_all=show_all)


@bp.get("/scope/<code>")
@requires("search")
def scope_code(code: str) -> str:
    if not re.fullmatch(r"\d{2}(\.\d{2}){0,2}", code):
        raise ApiError(404, "not_found", message("code.bad", code=code))
    st = state()
    version = "legacy" if request.args.get("table") == "legacy" else "2020"
    name = stats.code_name(code, version)
    if name is None:
        raise ApiError(404, "not_found", message("code.not_in_table", code=code, table=TABLE_NAMES[version]))
    node = _find_node(stats.code_tree(st.catalog(), version), code)
    page = request.args.get("page", "1")
    documents = shown_search(search(st.index(), st.catalog(), search_request(
        {"code": code, "sort": "date", "page": page, "per_page": "20"}, content=may_read_content())))
    profile = shown_profile(code_profile(st.catalog(), code, version))
    return render_template("scope_code.html", code=code, name=name, version=version, node=node,
                           path=stats.code_path(code, version), documents=documents, profile=profile,
                           pages=_paging(documents))


def _find_node(tree: list[stats.CodeNode], code: str) -> stats.CodeNode | None:
    for node in tree:
        if node.code == code:
            return node
        if code.startswith(node.code + "."):
            return _find_node(node.children, code)
    return None


@bp.get("/stats")
@requires("search")
def stats_page() -> str:
    cat = state().catalog()
    return render_template("stats.html", overview=stats.overview(cat), by_year=stats.documents_by_year(cat),
                           by_field_year=stats.documents_by_field_year(cat),
                           clauses=stats.findings_by_clause(cat, 20), codes=stats.busiest_codes(cat, 20))


@bp.get("/upload")
@requires("upload")
def upload_page() -> str:
    st = state()
    recent = [upload_status(st.catalog(), p) for p in stored_files(st.home.files_dir)[:RECENT_UPLOADS]]
    refused = get_flashed_messages(category_filter=["upload_refused"])     # from the server, never the URL
    sent = set(request.args.getlist("sent"))
    return render_template("upload.html", recent=recent, refused=refused, sent=sent,
                           pending=any(r["status"] == "pending" for r in recent))


@bp.post("/upload")
@csrf.exempt                # checked in the view, once the request is known to be within the limit
@requires("upload")
def upload_post() -> Response:
    from werkzeug.exceptions import RequestEntityTooLarge

    st = state()
    # Over the limit: refused by its Content-Length before a byte is read (the CSRF check reads
    # the whole form, so it comes after), or cut at the limit while a body without a length is parsed.
    request.max_content_length = request_limit(request.max_content_length)
    try:
        refuse_announced_length(request.content_length, request.max_content_length)
        csrf.protect()
        items = request.files.getlist("files")
    except (UploadError, RequestEntityTooLarge):
        raise ApiError(413, "too_large", TOO_LARGE_MESSAGE) from None
    sent, refused, why = [], [], []
    for item in items:
        if not item.filename:
            continue
        try:
            stored = store_upload(st.home.files_dir, item.filename, item.stream)
        except UploadError as exc:
            refused.append(item.filename)
            why.append(exc.message)
            continue
        sent.append(stored.sha256)
        audit("upload", stored.sha256, stored.filename)
        if upload_status(st.catalog(), stored.path)["status"] == "pending":
            st.uploads.put(stored.path)
    if not sent and not refused:
        refused, why = [message("upload.none_chosen")], [message("upload.choose_files")]
    for filename, reason in list(zip(refused, why))[:5]:       # kept short: they travel in the session cookie
        flash({"filename": filename[:60], "message": reason[:100]}, "upload_refused")
    if len(refused) > 5:
        flash({"filename": message("upload.more_refused", count=len(refused) - 5), "message": message("upload.only_first")},
              "upload_refused")
    return redirect(url_for("pages.upload_page", sent=sent), code=303)
