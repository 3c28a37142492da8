"""Reading what a request asks for, shared by pages and API: search parameters, a document by
id, a page number, the original file. Each refusal is an ApiError with the status it deserves."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from archive.catalog import Catalog
from archive.messages import message
from archive.models import Document
from archive.originals import MIME_TYPES, OriginalUnavailable, page_image_source, servable_original
from archive.pagerender import Renderer
from archive.readers.base import ReadError
from indexer.search import MAX_PER_PAGE, SearchRequest

FILTER_PARAMS = ("code", "field", "stage", "type", "org", "clause", "year", "cert", "date")
MAX_PAGE = 1000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32


def json_body(request) -> object:
    """The request's JSON body, refused with a 400 when it is not JSON a person would send:
    too long, nested too deep (Python's parser recurses), or holding a lone surrogate (which
    cannot be written out again as UTF-8)."""
    import json

    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(400, "bad_request", message("request.json_too_large", kb=MAX_JSON_BYTES // 1024))
    depth = deepest = 0
    for byte in raw:                       # brackets inside strings only overcount: refused anyway
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise ApiError(400, "bad_request", message("request.json_too_deep", depth=MAX_JSON_DEPTH))
    try:
        text = raw.decode("utf-8")
        value = json.loads(text) if text.strip() else None
        json.dumps(value, ensure_ascii=False).encode("utf-8")     # lone surrogates fail here
    except (UnicodeError, ValueError, RecursionError):
        raise ApiError(400, "bad_request", message("request.json_invalid")) from None
    return value


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", message("request.not_integer", name=name, value=raw[:20])) from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", message("request.out_of_range", name=name, low=low, high=high))
    return value


def search_request(args: Mapping[str, str], per_page: int = 10, content: bool = True) -> SearchRequest:
    """A SearchRequest from query-string parameters (q, the filters, sort, page, per_page);
    `content`: whether the user may read page text (`webui.rights.may_read_content`)."""
    filters = {name: args.get(name) or None for name in FILTER_PARAMS}
    return SearchRequest(q=args.get("q", ""), filters=filters,
                         page=_int(args, "page", 1, 1, MAX_PAGE),
                         per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE),
                         sort=args.get("sort") or "relevance", content=content)


def document_or_404(catalog: Catalog, doc_id: str) -> Document:
    """The document of a full id or of a prefix of at least 8 characters (the CLI prints 12)
    that only one document's id starts with."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", doc_id):
        raise ApiError(404, "not_found", message("document.bad_id"))
    if len(doc_id) < 64:
        ids = catalog.ids_starting_with(doc_id, limit=2)
        if len(ids) > 1:
            raise ApiError(404, "ambiguous", message("document.ambiguous", prefix=doc_id))
        doc_id = ids[0] if ids else doc_id
    doc = catalog.get_document(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", message("document.not_found", doc_id=doc_id))
    return doc


def page_number(raw: str, pages: int) -> int:
    # ASCII digits only: str.isdigit() also accepts ² and ①, which int() then refuses
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= max(pages, 1):
        raise ApiError(404, "not_found", message("document.no_page", pages=pages))
    return int(raw)


def download_name(filename: str) -> str:
    """A file name safe in a Content-Disposition header: no control characters (a CR or LF in a
    stored name would split the header), no path separators."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", filename).strip() or "document"
    return cleaned[:200]


def original_path(catalog: Catalog, doc: Document) -> Path:
    """The original file, where it was ingested from (never modified, never moved by us), when
    it still holds the document's bytes: a file replaced at that path is not this document. A
    member of an archive is served from a private copy (`archive.originals.servable_original`)."""
    try:
        return servable_original(catalog, doc)
    except OriginalUnavailable as exc:
        if exc.reason == "missing":
            raise ApiError(404, "original_missing", message("original.missing")) from None
        raise ApiError(409, "original_changed", message("original.changed")) from None


def page_png(renderer: Renderer, catalog: Catalog, doc: Document, number: int, scale: float) -> bytes:
    """A page's image: a PDF's page, a converted Word file's PDF page, a photo's frame; 422 with
    the reason when it cannot be drawn (damaged, too big, a format without fixed pages)."""
    try:
        kind, path = page_image_source(catalog, doc)
        return renderer.png(path, number, scale=scale, kind=kind)
    except OriginalUnavailable as exc:
        if exc.reason == "missing":
            raise ApiError(404, "original_missing", message("original.missing")) from None
        raise ApiError(409, "original_changed", message("original.changed")) from None
    except ReadError as exc:
        raise ApiError(422, "unrenderable", message("document.unrenderable", detail=exc)) from None


def original_mimetype(doc: Document) -> str:
    return MIME_TYPES.get(doc.format, "application/octet-stream")
