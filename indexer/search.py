"""Running searches: BM25F ranking, filters, facet counts, page-aware snippets, paging, sorting,
similar documents. Returns the JSON API's search object (DESIGN.md, contract).

Snippets are cut from the stored text around the character offsets stored in the postings
("pinpoint"), never by re-running jieba over the hit, and name the page each one comes from.
Facets are counted from one packed column per document over every matching document.
"""
from __future__ import annotations

import html
import threading
import time
from contextlib import contextmanager
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator

from whoosh import scoring
from whoosh.searching import Searcher

from archive.catalog import Catalog

from .build import IndexHandle, learn_org_names
from .query import ParsedQuery, QueryError, QueryParser
from .schema import unpack_facets

SORTS = ("relevance", "date", "date_asc")
MAX_PER_PAGE = 100
SNIPPET_CHARS = 110
FACETS = ("field", "code", "stage", "type", "year")
_parsers: dict[int, QueryParser] = {}
_local = threading.local()


@contextmanager
def searcher_for(handle: IndexHandle) -> Iterator[Searcher]:
    """A searcher kept open between searches (opening one costs tens of milliseconds on a large
    index), one per thread, refreshed when a writer has committed since."""
    cache: dict[int, Searcher] = _local.__dict__.setdefault("searchers", {})
    key = id(handle.index)
    current = cache.get(key)
    if current is None:
        current = handle.index.searcher(weighting=scoring.BM25F())
    else:
        # refresh() reuses the unchanged segment readers and closes the rest itself: closing
        # the old searcher here would close readers the fresh one still uses (ReaderClosed).
        current = current.refresh()
    cache[key] = current
    yield current


@dataclass
class SearchRequest:
    q: str = ""
    filters: dict[str, str | None] | None = None     # code, field, stage, type, org, clause, year, cert, date
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    snippets: int = 2

    def validate(self) -> None:
        if self.page < 1:
            raise QueryError("page starts at 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(f"per_page is between 1 and {MAX_PER_PAGE}")
        if self.sort not in SORTS:
            raise QueryError(f"sort is one of {', '.join(SORTS)}")


def parser_for(handle: IndexHandle) -> QueryParser:
    key = id(handle.index)
    if key not in _parsers:
        _parsers[key] = QueryParser(handle.index.schema)
    return _parsers[key]


def _char_offsets(searcher: Searcher, docnum: int, fieldname: str, words: set[bytes]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the matched words in one document, from the postings."""
    spans: list[tuple[int, int]] = []
    for word in words:
        postings = searcher.postings(fieldname, word)
        postings.skip_to(docnum)
        if postings.is_active() and postings.id() == docnum:
            spans += [(s, e) for _, s, e in postings.value_as("characters")]
    return sorted(set(spans))


def _windows(spans: list[tuple[int, int]], count: int) -> list[list[tuple[int, int]]]:
    """Group matches into windows of about SNIPPET_CHARS; the windows with most matches first."""
    groups: list[list[tuple[int, int]]] = []
    for span in spans:
        if groups and span[1] - groups[-1][0][0] <= SNIPPET_CHARS:
            groups[-1].append(span)
        else:
            groups.append([span])
    groups.sort(key=lambda g: (-len({e - s for s, e in g}) - len(g), g[0][0]))
    return sorted(groups[:count], key=lambda g: g[0][0])


def _snippet_html(text: str, group: list[tuple[int, int]], lo: int, hi: int) -> str:
    """The text between lo and hi, HTML-escaped, with the matches marked."""
    out, at = [], lo
    for s, e in group:
        if s < at:
            continue
        out.append(html.escape(text[at:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        at = e
    out.append(html.escape(text[at:hi]))
    return ("…" if lo > 0 else "") + "".join(out).replace("\n", " ") + ("…" if hi < len(text) else "")


def snippets(searcher: Searcher, hit, words: set[bytes], count: int) -> tuple[list[dict], list[int]]:
    """Snippets of a hit's body text with their page numbers, and every page that matched."""
    text: str = hit.get("body") or ""
    starts: list[int] = hit.get("page_starts") or [0]
    spans = _char_offsets(searcher, hit.docnum, "body", words) if words else []
    page_of = lambda pos: bisect_right(starts, pos)  # noqa: E731 — 1-based page of a position
    pages = sorted({page_of(s) for s, _ in spans})
    out = []
    for group in _windows(spans, count):
        page = page_of(group[0][0])
        page_start = starts[page - 1]
        page_end = starts[page] if page < len(starts) else len(text)
        middle = (group[0][0] + group[-1][1]) // 2
        lo = max(page_start, middle - SNIPPET_CHARS // 2)
        hi = min(page_end, lo + SNIPPET_CHARS)
        group = [(s, min(e, hi)) for s, e in group if s < hi]
        out.append({"page": page, "html": _snippet_html(text, group, lo, hi)})
    if not out and text:
        end = starts[1] if len(starts) > 1 else len(text)
        out.append({"page": 1, "html": _snippet_html(text, [], 0, min(end, SNIPPET_CHARS))})
    return out, pages


def count_facets(searcher: Searcher, docnums) -> dict[str, dict[str, int]]:
    """Facet counts over the matching documents, from the packed facet column."""
    column = searcher.reader().column_reader("facets")
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for docnum in docnums:
        for name, value in unpack_facets(column[docnum]):
            counts[name][value] += 1
    return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in counts.items()}


def hit_document(catalog: Catalog, doc_id: str) -> dict[str, Any] | None:
    """The document object of a hit; findings without their full statements (the API contract)."""
    doc = catalog.get_document(doc_id)
    if doc is None:
        return None
    data = doc.to_dict()
    data["findings"] = [{k: v for k, v in f.items() if k != "statement"} for f in data["findings"]]
    return data


def _hits(searcher: Searcher, catalog: Catalog, results, words: set[bytes], count: int,
          browse: bool, skip: set[str] = frozenset(), limit: int | None = None) -> list[dict[str, Any]]:
    """Document objects with score, snippets and matched pages for the hits not in `skip`."""
    out: list[dict[str, Any]] = []
    for hit in results:
        if limit is not None and len(out) >= limit:
            break
        if hit["id"] in skip:
            continue
        doc = hit_document(catalog, hit["id"])
        if doc is None:       # indexed but gone from the catalogue: `check` reports it
            continue
        doc["score"] = round(float(hit.score), 4) if hit.score is not None and not browse else None
        doc["snippets"], doc["matched_pages"] = snippets(searcher, hit, words, count)
        doc["partial"] = False
        out.append(doc)
    return out


def search(handle: IndexHandle, catalog: Catalog, request: SearchRequest) -> dict[str, Any]:
    """Run one search; raises QueryError for a query or request that cannot be run."""
    started = time.perf_counter()
    request.validate()
    learn_org_names(catalog)
    parsed: ParsedQuery = parser_for(handle).parse(request.q, request.filters)
    browse = not parsed.text
    sort = request.sort if not (browse and request.sort == "relevance") else "date"
    kwargs: dict[str, Any] = {"filter": parsed.filter, "terms": True}
    if sort != "relevance":
        kwargs["sortedby"] = "date"
        kwargs["reverse"] = sort == "date"
    with searcher_for(handle) as searcher:
        page = searcher.search_page(parsed.query, request.page, pagelen=request.per_page, **kwargs)
        words = {t for f, t in page.results.matched_terms() if f == "body"} if not browse else set()
        hits = _hits(searcher, catalog, page, words, request.snippets, browse)
        facets = count_facets(searcher, page.results.docs())
        total = page.total
        short = request.per_page - len(hits)
        if request.page == 1 and short > 0 and parsed.loose is not None and sort == "relevance":
            # Fewer documents hold every word than fill a page: add those holding some of them,
            # ranked below and marked, so related documents are not hidden.
            seen = {h["id"] for h in hits}
            more = searcher.search(parsed.loose, limit=request.per_page + len(seen),
                                   filter=parsed.filter, terms=True)
            extra_words = {t for f, t in more.matched_terms() if f == "body"}
            extra = _hits(searcher, catalog, more, extra_words, request.snippets, False,
                          skip=seen, limit=short)
            for h in extra:
                h["partial"] = True
            hits += extra
    return {"total": total, "page": request.page, "per_page": request.per_page,
            "query_ms": round((time.perf_counter() - started) * 1000, 1), "sort": sort,
            "query": {"text": parsed.text, "filters": parsed.applied}, "hits": hits, "facets": facets}


def similar(handle: IndexHandle, catalog: Catalog, doc_id: str, top: int = 10) -> list[dict[str, Any]]:
    """Documents most like one document (more-like-this over the body text)."""
    with searcher_for(handle) as searcher:
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            raise KeyError(doc_id)
        out = []
        for hit in searcher.more_like(docnum, "body", top=top, numterms=12):
            doc = hit_document(catalog, hit["id"])
            if doc is not None:
                doc["score"] = round(float(hit.score), 4)
                out.append(doc)
        return out
