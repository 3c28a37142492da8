"""Reading what a request asks for, shared by pages and API: search parameters, a document by
id, a page number, the original file. Each refusal is an ApiError with the status it deserves."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from archive.catalog import Catalog
from archive.models import Document
from indexer.search import MAX_PER_PAGE, SearchRequest

FILTER_PARAMS = ("code", "field", "stage", "type", "org", "clause", "year", "cert", "date")
MAX_PAGE = 1000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name} is between {low} and {high}")
    return value


def search_request(args: Mapping[str, str], per_page: int = 10) -> SearchRequest:
    """A SearchRequest from query-string parameters (q, the filters, sort, page, per_page)."""
    filters = {name: args.get(name) or None for name in FILTER_PARAMS}
    return SearchRequest(q=args.get("q", ""), filters=filters,
                         page=_int(args, "page", 1, 1, MAX_PAGE),
                         per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE),
                         sort=args.get("sort") or "relevance")


def document_or_404(catalog: Catalog, doc_id: str) -> Document:
    if not re.fullmatch(r"[0-9a-f]{64}", doc_id):
        raise ApiError(404, "not_found", "a document id is the 64-character SHA-256 of its file")
    doc = catalog.get_document(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no document {doc_id}")
    return doc


def page_number(raw: str, pages: int) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= max(pages, 1):
        raise ApiError(404, "not_found", f"the document has pages 1 to {pages}")
    return int(raw)


def original_path(doc: Document) -> Path:
    """The original PDF, where it was ingested from (never modified, never moved by us)."""
    path = Path(doc.path)
    if not path.is_file():
        raise ApiError(404, "original_missing", f"the original file is no longer at {doc.path}")
    return path
