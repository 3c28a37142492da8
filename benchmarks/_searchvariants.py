"""What-if variants of `indexer.search.search`, measured beside it by `benchmarks/search.py --variants`
to put numbers on suggested changes. Nothing here is used by the project.

- `reused_searcher(handle)`: the project's `search`, unchanged, but `handle.index.searcher()` hands
  out one searcher kept open (as a server would) and the organisation names are learned once: the
  fixed cost of opening a searcher and re-reading the names per call.
- `one_pass_search(...)`: `search` with its matching done once. `search_page` with `terms=True`
  runs the query, then again for `len()` (the top-N collector skips blocks, so it cannot count),
  then again for `results.docs()` (the facets), and records the matched terms of every matching
  document. Here a collector records every (filtered) match while the unoptimised top-N collector
  scores it; facets and `total` come from that list, the matched body terms are read for the ten
  hits only (the query's matcher moved to each hit), not recorded for every match. Also reuses one searcher. Gives the
  same hits, scores, facets and snippets as `search` (the benchmark checks), and a `total` that
  respects filters.
- `FacetTable`: facet counting over a per-searcher table of each document's facet values as small
  integers (decoded once per searcher), counted with `collections.Counter` over an `array`, instead
  of unpacking each matching document's packed column per query.
"""
from __future__ import annotations

import time
from array import array
from collections import Counter
from contextlib import contextmanager
from typing import Any

from whoosh import collectors, scoring


@contextmanager
def reused_searcher(handle, catalog):
    """Within the block, `search` reuses one open searcher and learns organisation names once."""
    import indexer.build as build
    import indexer.search as isearch

    index = handle.index
    shared = index.searcher(weighting=scoring.BM25F())
    original_searcher = index.searcher
    original_learn = isearch.learn_org_names
    build.learn_org_names(catalog)

    class Shared:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return shared

        def __exit__(self, *exc):
            return False

    index.searcher = lambda *a, **k: Shared()
    isearch.learn_org_names = lambda catalog: None
    try:
        yield
    finally:
        index.searcher = original_searcher
        isearch.learn_org_names = original_learn
        shared.close()


class _TopOfAll(collectors.TopCollector):
    """The top N without pruning: Whoosh's top-N collector, even without block-quality skipping,
    replaces its matcher with one that drops documents unable to reach the N-th score
    (`matcher.replace(minscore)`), so it would not see every match; minscore stays 0 here."""

    def __init__(self, limit: int):
        super().__init__(limit=limit, usequality=False)

    def _collect(self, global_docnum, score):
        key = super()._collect(global_docnum, score)
        self.minscore = 0
        return key


class _AllMatches(collectors.WrappingCollector):
    """Passes every match on to the child collector and keeps its global document number."""

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.docnums: list[int] = []

    def collect(self, sub_docnum):
        self.docnums.append(self.offset + sub_docnum)
        return self.child.collect(sub_docnum)

    def all_ids(self):
        return self.docnums

    def count(self):
        return len(self.docnums)


class FacetTable:
    """Every document's facet values as small integers, decoded once per searcher."""

    def __init__(self, searcher):
        from indexer.schema import unpack_facets

        column = searcher.reader().column_reader("facets")
        self.names: list[tuple[str, str]] = []
        ids: dict[tuple[str, str], int] = {}
        self.docs: list[array] = []
        for docnum in range(searcher.reader().doc_count_all()):
            row = array("H")
            for pair in unpack_facets(column[docnum]):
                k = ids.get(pair)
                if k is None:
                    k = ids[pair] = len(self.names)
                    self.names.append(pair)
                row.append(k)
            self.docs.append(row)

    def count(self, docnums, facet_names) -> dict[str, dict[str, int]]:
        joined = array("H")
        for d in docnums:
            joined.extend(self.docs[d])   # noqa: PERF401 — array.extend per document is the fast path
        counts: dict[str, Counter] = {name: Counter() for name in facet_names}
        for k, n in Counter(joined).items():
            name, value = self.names[k]
            counts[name][value] = n
        return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in counts.items()}


class OnePass:
    """`search` with one matching pass, a reused searcher and (optionally) the facet table."""

    def __init__(self, handle, catalog, facet_table: bool = False):
        from indexer.build import learn_org_names

        self.handle, self.catalog = handle, catalog
        self.searcher = handle.index.searcher(weighting=scoring.BM25F())
        self.facets = FacetTable(self.searcher) if facet_table else None
        learn_org_names(catalog)

    def close(self) -> None:
        self.searcher.close()

    def _run(self, q, filter_q, limit: int, sortedby=None, reverse=False):
        s = self.searcher
        if sortedby:
            top = collectors.SortingCollector(sortedby, limit=limit, reverse=reverse)
        else:
            top = _TopOfAll(limit)
        allm = _AllMatches(top)
        c = collectors.FilterCollector(allm, allow=filter_q) if filter_q is not None else allm
        s.search_with_collector(q, c)
        results = c.results()
        results.docset = set(allm.docnums)
        results._total = len(allm.docnums)
        return results, allm.docnums

    def _words(self, query, docnums) -> set:
        """The body terms the query matched in the given documents (the hits), found by running the
        query's matcher over those documents only (`terms=True` records them for every match)."""
        words: set = set()
        wanted = sorted(docnums)
        for sub, offset in self.searcher.leaf_searchers():
            local = [d - offset for d in wanted if offset <= d < offset + sub.doc_count_all()]
            if not local:
                continue
            m = query.matcher(sub)
            for d in local:
                if not m.is_active():
                    break
                if m.id() < d:
                    m.skip_to(d)
                if m.is_active() and m.id() == d:
                    words.update(t for f, t in m.matching_terms(d) if f == "body")
        return words

    def search(self, request) -> dict[str, Any]:
        from indexer.search import FACETS, _hits, count_facets, parser_for

        started = time.perf_counter()
        request.validate()
        parsed = parser_for(self.handle).parse(request.q, request.filters)
        browse = not parsed.text
        sort = request.sort if not (browse and request.sort == "relevance") else "date"
        s = self.searcher
        results, docnums = self._run(parsed.query, parsed.filter, request.page * request.per_page,
                                     "date" if sort != "relevance" else None, sort == "date")
        start = (request.page - 1) * request.per_page
        page = results[start:start + request.per_page]
        words = self._words(parsed.query, [h.docnum for h in page]) if not browse else set()
        hits = _hits(s, self.catalog, page, words, request.snippets, browse)
        facets = (self.facets.count(docnums, FACETS) if self.facets is not None
                  else count_facets(s, docnums))
        total = len(docnums)
        short = request.per_page - len(hits)
        loose = getattr(parsed, "loose", None)
        if request.page == 1 and short > 0 and loose is not None and sort == "relevance":
            seen = {h["id"] for h in hits}
            more = s.search(loose, limit=request.per_page + len(seen), filter=parsed.filter)
            extra = [h for h in _hits(s, self.catalog, more, self._words(loose, [h.docnum for h in more]),
                                      request.snippets, False)
                     if h["id"] not in seen][:short]
            for h in extra:
                h["partial"] = True
            hits += extra
        return {"total": total, "page": request.page, "per_page": request.per_page,
                "query_ms": round((time.perf_counter() - started) * 1000, 1), "sort": sort,
                "query": {"text": parsed.text, "filters": parsed.applied}, "hits": hits, "facets": facets}


# -- analysis: caching jieba's cut per text block ------------------------------------------------

@contextmanager
def cached_jieba_blocks(dt, limit: int = 500_000):
    """Within the block, `dt.cut` (accurate mode with HMM, what the analyzer calls) caches the words of
    each block it cuts. jieba itself splits the text at every character outside
    `re_han_default` (punctuation, blanks) and cuts each block on its own, so a block always gives
    the same words: the cache changes nothing but the time. Yields hit statistics."""
    import jieba

    re_han, re_skip = jieba.re_han_default, jieba.re_skip_default
    cut_dag = dt._Tokenizer__cut_DAG
    original = type(dt).cut
    cache: dict[str, tuple[str, ...]] = {}
    stats = {"blocks": 0, "hits": 0, "chars": 0, "hit_chars": 0}

    def cut(sentence, cut_all=False, HMM=True, use_paddle=False):
        if cut_all or not HMM or use_paddle:
            yield from original(dt, sentence, cut_all, HMM, use_paddle)
            return
        for blk in re_han.split(sentence):
            if not blk:
                continue
            if re_han.match(blk):
                stats["blocks"] += 1
                stats["chars"] += len(blk)
                words = cache.get(blk)
                if words is None:
                    if len(cache) >= limit:
                        cache.clear()
                    words = cache[blk] = tuple(cut_dag(blk))
                else:
                    stats["hits"] += 1
                    stats["hit_chars"] += len(blk)
                yield from words
            else:
                for x in re_skip.split(blk):
                    if re_skip.match(x):
                        yield x
                    else:
                        yield from x

    dt.cut = cut
    try:
        yield stats
    finally:
        del dt.cut


def analysis_experiment(catalog, n: int) -> dict[str, Any]:
    """Analysis alone (every text field as Whoosh indexes it) over the first `n` documents, without and
    with the block cache; the token streams must be identical."""
    from indexer.analysis import ensure_jieba, index_analyzer
    from indexer.build import _records, learn_org_names
    from indexer.schema import TEXT_FIELDS

    learn_org_names(catalog)
    dt = ensure_jieba()
    records = list(_records(catalog, catalog.document_ids()[:n]))
    chars = sum(len(r.get(f) or "") for r in records for f in TEXT_FIELDS)
    an = index_analyzer()

    def run() -> tuple[float, int]:
        h = 0
        t = time.perf_counter()
        for r in records:
            for f in TEXT_FIELDS:
                for tok in an(r.get(f) or "", positions=True, chars=True, mode="index"):
                    h = hash((h, tok.text, tok.pos, tok.startchar))
        return time.perf_counter() - t, h

    plain_s, plain_h = run()
    with cached_jieba_blocks(dt) as stats:
        cached_s, cached_h = run()
    return {"documents": len(records), "chars": chars, "plain_docs_per_s": round(len(records) / plain_s, 1),
            "plain_chars_per_s": round(chars / plain_s), "cached_docs_per_s": round(len(records) / cached_s, 1),
            "block_hit_rate": round(stats["hits"] / max(1, stats["blocks"]), 3),
            "char_hit_rate": round(stats["hit_chars"] / max(1, stats["chars"]), 3),
            "identical_tokens": plain_h == cached_h}
