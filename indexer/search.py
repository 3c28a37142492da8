"""Running searches: BM25F ranking, filters, facet counts, page-aware snippets, paging, sorting,
similar documents. Returns the JSON API's search object (DESIGN.md, contract).

Snippets are cut from the stored text around the matched words, found in it by one regex over
its normalised form (never by re-running jieba over the hit, nor by reading every matched word's
postings for every hit shown), and name the page each one comes from.
Matching documents are found and counted as bitsets (`indexer.matchsets`), not by Whoosh's
matchers; facets are counted from one bitset per facet value.
"""
from __future__ import annotations

import html
import re
import threading
import time
from bisect import bisect_right
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from whoosh import collectors, sorting
from whoosh import query as wq
from whoosh.searching import Results, Searcher

from archive.catalog import Catalog
from archive.messages import message
from archive.text import readable_symbols

from . import whoosh_ext
from .analysis import index_analyzer, normalise_chars
from .build import IndexHandle, learn_org_names
from .matchsets import MatchSets, bits_of, bytemap, docnums, for_searcher
from .query import ParsedQuery, QueryError, QueryParser
from .schema import schema_date_default, unpack_facets
from .whoosh_ext import reading

SORTS = ("relevance", "date", "date_asc")
MAX_PER_PAGE = 100
SNIPPET_CHARS = 110
FACETS = ("field", "code", "stage", "type", "year")
_parsers: dict[tuple[int, bool], QueryParser] = {}
_local = threading.local()


@contextmanager
def searcher_for(handle: IndexHandle) -> Iterator[Searcher]:
    """A searcher kept open between searches (opening every segment costs seconds on a large
    index), one per thread, renewed when a writer has committed since (`renew`)."""
    cache: dict[int, Searcher] = _local.__dict__.setdefault("searchers", {})
    key = id(handle.index)
    current = cache.get(key)
    if current is None:
        current = renew(handle.index, None)
    elif not current.up_to_date():
        current = renew(handle.index, current)
    cache[key] = current
    yield current


def renew(index, old: Searcher | None, attempts: int = 10) -> Searcher:
    """A searcher of the index's latest commit, reusing the old searcher's segment readers where a
    segment is unchanged (`whoosh_ext.reading.reuse_readers`: Whoosh's own `refresh()` misses
    deletions made since)."""
    return reading.reuse_readers(index, old, attempts)


@dataclass
class SearchRequest:
    q: str = ""
    filters: dict[str, str | None] | None = None     # code, field, stage, type, org, clause, year, cert, date
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    snippets: int = 2
    # False for a role that may not read page text: free text is matched against metadata
    # only, and hits carry no snippets, matched pages or statements (`archive.visibility`)
    content: bool = True

    def validate(self) -> None:
        if self.page < 1:
            raise QueryError(message("query.page"))
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(message("query.per_page", max=MAX_PER_PAGE))
        if self.sort not in SORTS:
            raise QueryError(message("query.sort", choices="、".join(SORTS)))


def parser_for(handle: IndexHandle, content: bool = True) -> QueryParser:
    key = (id(handle.index), content)
    if key not in _parsers:
        _parsers[key] = QueryParser(handle.index.schema, content=content)
    return _parsers[key]


_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LAYOUT_BREAK = r"[^\S\n]*\n?[^\S\n]*"      # blanks and at most one line break (never a page break)


def _word_pattern(word: str) -> str:
    """A word as a regex over normalised text: a layout break may sit between two characters of
    which one is Han (the analyzer joins those); a letter or digit at an edge must not continue a
    longer run of its kind (`a` is not marked inside `qms`, `1` not in 2021, `8.5` not in 18.55;
    `qms` is inside qms2021, as the analyzer cuts it)."""
    out = [re.escape(word[0])]
    for before, after in zip(word, word[1:]):
        if _HAN_CHAR.match(before) or _HAN_CHAR.match(after):
            out.append(_LAYOUT_BREAK)
        out.append(re.escape(after))
    pattern = "".join(out)
    for edge, guard in ((word[0], "(?<![{}])"), (word[-1], "(?![{}])")):
        if edge.isascii() and edge.isalnum():
            run = "a-z" if edge.isalpha() else "0-9"
            pattern = guard.format(run) + pattern if guard.startswith("(?<") else pattern + guard.format(run)
    return pattern


PHRASE_JOIN = b"\x00"      # in a set of matched words: the words of a phrase, marked as a whole
# between two words of a phrase in the text: what the analyzer skips (blanks, a line break,
# marks such as the / of GB/T), a few characters at most
_PHRASE_GAP = r"[^\w\n。!?;、…｡︒]{0,4}(?:\n[^\w\n。!?;、…｡︒]{0,4})?"   # (not across a sentence)


def phrase_key(words: list[bytes]) -> bytes:
    """A matched phrase as one entry of a set of matched words (`matched_words`)."""
    return PHRASE_JOIN.join(words)


@lru_cache(maxsize=256)
def _words_pattern(words: frozenset[bytes]) -> re.Pattern | None:
    """One regex finding any of the words (and phrases: their words in a row, with at most
    a few marks, blanks and a line break between) in normalised text, longest first."""
    texts = sorted({w.decode("utf-8") for w in words} - {""}, key=lambda w: (-len(w.replace("\0", "")), w))
    return re.compile("|".join(_PHRASE_GAP.join(_word_pattern(part) for part in w.split("\0"))
                               for w in texts)) if texts else None


def text_spans(text: str, words: set[bytes]) -> list[tuple[int, int]]:
    """(start, end) of the matched words in a hit's text, found in its normalised form (one
    character for one, so offsets are the original's): a regex over a few thousand characters
    instead of reading the postings of every matched word for every hit shown."""
    pattern = _words_pattern(frozenset(words)) if words else None
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(normalise_chars(text))]


def token_spans(text: str, words: set[bytes]) -> list[tuple[int, int]]:
    """(start, end) of every token of the matched words in a text, from the analyzer as it
    indexed the text (stacked words included): exactly the tokens found, for the document view."""
    if not words:
        return []
    spans = list(index_analyzer().spans(text, True))
    found = {(s, e) for word, _, s, e in spans if word.encode("utf-8") in words}
    phrases = [w.split(PHRASE_JOIN) for w in words if PHRASE_JOIN in w]
    if phrases:
        at: dict[int, dict[bytes, tuple[int, int]]] = {}
        for word, pos, s, e in spans:
            at.setdefault(pos, {}).setdefault(word.encode("utf-8"), (s, e))
        for parts in phrases:           # the phrase where its words are at consecutive positions
            for pos, here in at.items():
                if parts[0] in here and all(parts[i] in at.get(pos + i, ()) for i in range(1, len(parts))):
                    found.add((here[parts[0]][0], at[pos + len(parts) - 1][parts[-1]][1]))
    return sorted(found)


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
    """The text between lo and hi, HTML-escaped, with the matches marked (symbol-font characters
    of documents catalogued before they were read as such shown as what they draw)."""
    text = readable_symbols(text)
    out, at = [], lo
    for s, e in group:
        if s < at:
            continue
        out.append(html.escape(text[at:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        at = e
    out.append(html.escape(text[at:hi]))
    return ("…" if lo > 0 else "") + "".join(out).replace("\n", " ") + ("…" if hi < len(text) else "")


def snippets(hit, words: set[bytes], count: int) -> tuple[list[dict], list[int]]:
    """Snippets of a hit's body text with their page numbers, and every page that matched."""
    text: str = hit.get("body") or ""
    starts: list[int] = hit.get("page_starts") or [0]
    spans = text_spans(text, words)      # ~10 ms for 100,000 characters
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


def _hits(searcher: Searcher, catalog: Catalog, hits, words: set[bytes], count: int,
          browse: bool, skip: set[str] = frozenset(), limit: int | None = None,
          content: bool = True) -> list[dict[str, Any]]:
    """Document objects with score, snippets and matched pages for the hits not in `skip`
    (without `content`: no snippets and no matched pages, which quote or locate page text)."""
    out: list[dict[str, Any]] = []
    for hit in hits:
        if limit is not None and len(out) >= limit:
            break
        if hit["id"] in skip:
            continue
        doc = hit_document(catalog, hit["id"])
        if doc is None:       # indexed but gone from the catalogue: `check` reports it
            continue
        # a hit of a date-sorted list carries its sort key, not a score
        scored = isinstance(hit.score, (int, float)) and not isinstance(hit.score, bool)
        doc["score"] = round(float(hit.score), 4) if scored and not browse else None
        doc["snippets"], doc["matched_pages"] = snippets(hit, words, count) if content else ([], [])
        doc["partial"] = False
        out.append(doc)
    return out


def _rank_query(q: wq.Query) -> wq.Query:
    """The query scored for the ranking: phrases as the AND of their words (the phrase itself is
    checked by the exact match set the ranking is restricted to), the rest unchanged. Scoring a
    phrase in Whoosh checks positions in every candidate document; this scores the words."""
    if isinstance(q, wq.Phrase):
        if len(q.words) < 2:
            return q.normalize()
        return wq.And([wq.Term(q.fieldname, w, boost=q.boost) for w in q.words])
    if q.is_leaf():
        return q
    return q.apply(_rank_query)


def _date_order(newest_first: bool) -> sorting.FacetType:
    """Documents by date, undated ones last either way: Whoosh's date column gives a document
    without a date its largest value, which put the undated first in newest-first lists."""
    undated = schema_date_default()

    def key(value):
        dated = value != undated
        return (dated, value) if newest_first else (not dated, value)
    return sorting.TranslateFacet(key, sorting.FieldFacet("date"))


def _top(searcher: Searcher, query: wq.Query, allowed: int | None, sets: MatchSets, limit: int,
         sort: str = "relevance"):
    """The best `limit` documents of `query` among the documents of `allowed` (None: no
    restriction), by score (Whoosh's top-N collector with block-quality pruning) or by date."""
    plain = allowed is not None and not whoosh_ext.active()
    if allowed is not None and not plain:
        offsets = {id(r): off for r, off in sets.leaves}
        query = reading.Allowed(query, bytemap(allowed, sets.size), offsets)
    if sort != "relevance":
        collector = collectors.SortingCollector(_date_order(sort == "date"), limit=limit, reverse=sort == "date")
    else:
        collector = collectors.TopCollector(limit, usequality=True)
        # Whoosh's matcher replacement (a union turned into AndMaybe/intersection as the minimum
        # score rises) loses documents and score contributions: at 10,000 documents 6 of 40 top
        # tens differed from exhaustive scoring. Block-quality skipping alone is exact.
        collector.replace = 0
    if plain:                  # plain Whoosh (`whoosh_ext`): its own filter
        chosen = set(docnums(allowed, sets.size))
        collector = collectors.FilterCollector(collector, allow=chosen) if chosen else collector
        query = query if chosen else wq.NullQuery
    # needs_current: unions as trees of matchers that skip by block quality (without it Whoosh
    # preloads and scores every posting of a many-clause OR)
    searcher.search_with_collector(query, collector, context=searcher.context(needs_current=True))
    return collector.results()


def matched_words(query: wq.Query, sets: MatchSets, docnums: list[int]) -> set[bytes]:
    """The body terms of the branches of `query` that match in the given documents (the hits
    shown), read from the match sets: a term counts where its posting list holds the document, a
    phrase (`phrase_key`: marked as a whole, not word by word) where the phrase matched, an AND's
    words where the whole AND matched (what Whoosh's `matched_terms` reports: `审核 OR 不存在的词`
    marks no 的 where 不存在的词 is absent)."""
    words: set[bytes] = set()

    def walk(q: wq.Query, docs: list[int]) -> None:
        if not docs or isinstance(q, wq.Not):
            return
        if isinstance(q, (wq.And, wq.AndNot)):
            found = sets.within(q, bits_of(docs, sets.size))
            docs = [d for d in docs if found >> d & 1]
            if isinstance(q, wq.AndNot):
                walk(q.a, docs)
                return
        if isinstance(q, wq.Term):
            if q.fieldname == "body":
                bits = sets.term("body", q.text)
                if any(bits >> d & 1 for d in docs):
                    words.add(sets.to_bytes("body", q.text))
            return
        if isinstance(q, wq.Phrase):
            if q.fieldname == "body":
                bits = sets.phrase_bits(q)
                if bits is None:
                    bits = sets.phrase("body", list(q.words), bits_of(docs, sets.size))
                if any(bits >> d & 1 for d in docs):
                    words.add(phrase_key([sets.to_bytes("body", w) for w in q.words]))
            return
        if not q.is_leaf():
            for child in q.children():
                walk(child, docs)
    walk(query, list(docnums))
    return words


def search(handle: IndexHandle, catalog: Catalog, request: SearchRequest) -> dict[str, Any]:
    """Run one search; raises QueryError for a query or request that cannot be run.

    The set of matching documents is computed exactly as bitsets (`indexer.matchsets`): `total`
    (filters included) and the facet counts come from it. The ranking scores the documents of that
    set with Whoosh's BM25F (`MatchSets.top`, the same scores as Whoosh's exhaustive search);
    queries it cannot score (coordination, sort by date) go to a Whoosh collector restricted to
    the set."""
    started = time.perf_counter()
    request.validate()
    learn_org_names(catalog)
    parsed: ParsedQuery = parser_for(handle, request.content).parse(request.q, request.filters)
    browse = not parsed.text
    sort = request.sort if not (browse and request.sort == "relevance") else "date"
    with searcher_for(handle) as searcher:
        sets = for_searcher(searcher)
        filter_bits = sets.query(parsed.filter) if parsed.filter is not None else None
        matched = sets.query(parsed.query, within=filter_bits)
        limit = request.page * request.per_page
        top = sets.top(parsed.query, matched, limit) if sort == "relevance" else None
        if top is not None:
            results = Results(searcher, parsed.query, top)
        else:
            rank = _rank_query(parsed.query)
            exact = rank == parsed.query and filter_bits is None
            results = _top(searcher, rank, None if exact else matched, sets, limit, sort)
        start = (request.page - 1) * request.per_page
        page = results[start:start + request.per_page]
        words = matched_words(parsed.query, sets, [h.docnum for h in page]) if not browse else set()
        hits = _hits(searcher, catalog, page, words, request.snippets, browse, content=request.content)
        facets = sets.facets(matched, FACETS)
        total = matched.bit_count()
        short = request.per_page - len(hits)
        partial_total = 0
        if request.page == 1 and short > 0 and parsed.loose is not None and sort == "relevance":
            # Fewer documents hold every word than fill a page: add those holding some of them,
            # ranked below and marked, so related documents are not hidden.
            seen = {h["id"] for h in hits}
            loose_rank = _rank_query(parsed.loose)
            loose_allowed = None
            loose_bits = sets.query(parsed.loose, within=filter_bits)
            if loose_rank != parsed.loose or filter_bits is not None:
                loose_allowed = loose_bits
            partial_total = (loose_bits & ~matched).bit_count()   # counted apart from `total`
            more = _top(searcher, loose_rank, loose_allowed, sets, request.per_page + len(seen))
            extra_words = matched_words(parsed.loose, sets, [h.docnum for h in more])
            extra = _hits(searcher, catalog, more, extra_words, request.snippets, False,
                          skip=seen, limit=short, content=request.content)
            for h in extra:
                h["partial"] = True
            hits += extra
    return {"total": total, "partial_total": partial_total, "page": request.page, "per_page": request.per_page,
            "query_ms": round((time.perf_counter() - started) * 1000, 1), "sort": sort,
            "query": {"text": parsed.text, "filters": parsed.applied}, "hits": hits, "facets": facets,
            **({} if request.content else {"content_hidden": True})}


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
