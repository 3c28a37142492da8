"""A document's pages with a query's matches marked: for reading a hit page by page.

The matches are the tokens of the words the query matched in this document (the same words the
result snippets mark), from the analyzer run over the document's text as it was indexed, so what is
marked is exactly what was found, including words jieba found inside longer ones. Text is returned as
segments (text, marked) so that the page that shows it escapes every piece itself.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from archive.catalog import Catalog

from .build import IndexHandle, learn_org_names
from .matchsets import for_searcher
from .search import matched_words, parser_for, searcher_for, text_spans, token_spans


@dataclass
class MarkedPage:
    number: int
    segments: list[tuple[str, bool]]
    matches: int = 0
    info: dict[str, Any] = field(default_factory=dict)     # has_text, ocr, ocr_confidence, rotation, skew

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "matches": self.matches,
                "segments": [{"text": t, "mark": m} for t, m in self.segments], **self.info}


# Text length from which marks come from the words' regex (as in result snippets, ~10 ms per
# 100,000 characters) instead of re-segmenting the text (~2 ms per 1,000 characters): a word is then
# also marked where jieba cut it differently.
EXACT_MARKS_CHARS = 100_000


def _spans(text: str, words: set[bytes]) -> list[tuple[int, int]]:
    spans = token_spans(text, words) if len(text) <= EXACT_MARKS_CHARS else text_spans(text, words)
    merged: list[tuple[int, int]] = []
    for s, e in spans:                  # overlapping matches (机械制造 and 机械) become one mark
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def matched_spans(handle: IndexHandle, catalog: Catalog, doc_id: str, q: str) -> tuple[list[tuple[int, int]], list[int]]:
    """(start, end) offsets in the document's body text of what `q` matched, and the page starts.
    Raises QueryError for a query that cannot be read."""
    learn_org_names(catalog)
    parsed = parser_for(handle).parse(q)
    if not parsed.text:
        return [], []
    with searcher_for(handle) as searcher:
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return [], []
        sets = for_searcher(searcher)
        # the match sets restricted to this one document: no walk over every other match
        for candidate in filter(None, (parsed.query, parsed.loose)):
            if sets.query(candidate, within=1 << docnum):
                words = matched_words(candidate, sets, [docnum])
                stored = searcher.stored_fields(docnum)
                return _spans(stored.get("body") or "", words), list(stored.get("page_starts") or [0])
    return [], []


def marked_pages(handle: IndexHandle | None, catalog: Catalog, doc_id: str, q: str = "") -> list[MarkedPage]:
    """Every page of the document, its matches of `q` marked (no marks without a query or index)."""
    pages = catalog.pages(doc_id)
    spans, starts = matched_spans(handle, catalog, doc_id, q) if (q.strip() and handle) else ([], [])
    by_page: dict[int, list[tuple[int, int]]] = {}
    for s, e in spans:
        page = bisect_right(starts, s)                  # 1-based
        offset = starts[page - 1]
        by_page.setdefault(page, []).append((s - offset, e - offset))
    out = []
    for row in pages:
        text = row["text"] or ""
        segments, at = [], 0
        marks = [(s, min(e, len(text))) for s, e in by_page.get(row["number"], []) if s < len(text)]
        for s, e in marks:
            if s < at:
                continue
            if s > at:
                segments.append((text[at:s], False))
            segments.append((text[s:e], True))
            at = e
        if at < len(text):
            segments.append((text[at:], False))
        out.append(MarkedPage(row["number"], segments, len(marks),
                              {"has_text": bool(row["has_text"]), "ocr": bool(row.get("ocr")),
                               "ocr_confidence": row.get("ocr_confidence"),
                               "ocr_rotation": row.get("ocr_rotation"), "ocr_skew": row.get("ocr_skew")}))
    return out
