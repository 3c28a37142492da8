"""Search over a real Whoosh index built from a real catalogue of the seeded sample archive.

Expected results come from the catalogue (what was extracted), not from the engine: every filter
must return exactly the documents whose catalogue record has the property.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pdfmaker import make_pdf

from archive.catalog import Catalog
from archive.identifiers import cert_lookup_key
from archive.ingest import Ingestor
from archive.text import normalise
from indexer import build
from indexer.query import MAX_QUERY_CHARS, QueryError
from indexer.search import SearchRequest, search, similar


@pytest.fixture(scope="module")
def env(sample_home):
    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    docs = list(catalog.iter_documents())
    return handle, catalog, docs


def reference_index(catalog: Catalog, directory: Path, ids: list[str]) -> build.IndexHandle:
    """The same documents in an index whose text fields keep their word positions, so that
    Whoosh itself checks phrases there (the real index matches phrases through its pair fields
    and keeps no word positions): Whoosh's matching and scoring on it are what the match sets of
    the real index must give."""
    from whoosh import index as windex

    from indexer.schema import build_schema

    directory.mkdir(parents=True)
    ref = build.IndexHandle(windex.create_in(str(directory), build_schema(positions=True)), directory)
    build.update(catalog, ref, ids)
    return ref


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory):
    handle, catalog, docs = env
    with handle.index.searcher() as searcher:      # in the real index's order
        order = [fields["id"] for fields in searcher.all_stored_fields()]
    return reference_index(catalog, tmp_path_factory.mktemp("ref") / "index", order)


def assert_same_as_reference(handle: build.IndexHandle, ref: build.IndexHandle, query) -> int:
    """The match set, facets and BM25F top ten of `query` on the real index equal Whoosh's
    exhaustive matching and scoring on the reference index (documents compared by id; ties in
    score may come in another order). Returns the number of matches."""
    from whoosh import scoring

    from indexer.matchsets import docnums, for_searcher
    from indexer.search import count_facets

    with handle.index.searcher(weighting=scoring.BM25F()) as searcher, \
            ref.index.searcher(weighting=scoring.BM25F()) as oracle:
        sets = for_searcher(searcher)
        bits = sets.query(query)
        found = docnums(bits, sets.size)
        ids = [searcher.stored_fields(d)["id"] for d in found]
        want = sorted(oracle.docs_for_query(query))
        assert sorted(ids) == sorted(oracle.stored_fields(d)["id"] for d in want)
        assert sets.facets(bits, ("field", "code", "stage", "type", "year")) == count_facets(oracle, want)
        every = sorted(((round(h.score, 6), h["id"]) for h in oracle.search(query, limit=None)),
                       key=lambda x: -x[0])
        top = sets.top(query, bits, 10)
        assert top is not None
        got = [(round(v, 6), searcher.stored_fields(d)["id"]) for v, d in top]
        assert [v for v, _ in got] == [v for v, _ in every[:10]]
        if got:
            floor = got[-1][0]
            assert {i for v, i in got if v > floor} == {i for v, i in every if v > floor}
            assert {i for v, i in got if v == floor} <= {i for v, i in every if v == floor}
        return len(found)


def ids(handle, catalog, q="", per_page=100, **filters) -> set[str]:
    result = search(handle, catalog, SearchRequest(q=q, filters=filters, per_page=per_page))
    assert result["total"] <= per_page, "raise per_page for this test"
    return {h["id"] for h in result["hits"] if not h["partial"]}


def test_index_matches_catalogue(env):
    handle, catalog, docs = env
    assert build.check(catalog, handle).clean
    assert search(handle, catalog, SearchRequest(per_page=1))["total"] == len(docs)


@pytest.mark.parametrize("code_len", [2, 5, 8])
def test_code_filter_is_hierarchical(env, code_len):
    handle, catalog, docs = env
    code = next(c for d in docs for c in d.codes)[:code_len]
    want = {d.id for d in docs if any(c.startswith(code) for c in d.codes)}
    assert want and ids(handle, catalog, code=code) == want


def test_clause_filter_is_hierarchical(env):
    handle, catalog, docs = env
    clause = next(f.clause for d in docs for f in d.findings if f.clause and f.clause.count(".") == 2)
    parent = clause.rsplit(".", 1)[0]
    for value in (clause, parent):
        want = {d.id for d in docs if any(f.clause and (f.clause == value or f.clause.startswith(value + "."))
                                          for f in d.findings)}
        assert ids(handle, catalog, clause=value) == want


@pytest.mark.parametrize("spelled", ["QMS", "qms", "质量管理体系"])
def test_field_filter_accepts_names(env, spelled):
    handle, catalog, docs = env
    want = {d.id for d in docs if "QMS" in d.fields}
    result = search(handle, catalog, SearchRequest(filters={"field": spelled}, per_page=1))
    assert result["total"] == len(want)


@pytest.mark.parametrize("spelled,stage", [("surveillance1", "surveillance1"), ("监一", "surveillance1"),
                                           ("二阶段", "stage2")])
def test_stage_filter(env, spelled, stage):
    handle, catalog, docs = env
    want = {d.id for d in docs if d.stage == stage}
    assert ids(handle, catalog, stage=spelled) == want


def test_type_year_and_date_filters(env):
    handle, catalog, docs = env
    want = {d.id for d in docs if d.doc_type == "ncr"}
    assert ids(handle, catalog, type="ncr") == want
    year = next(d.audit_start[:4] for d in docs if d.audit_start)
    when = lambda d: d.audit_start or d.issue_date  # noqa: E731
    assert ids(handle, catalog, year=year) == {d.id for d in docs if when(d) and when(d)[:4] == year}
    lo, hi = f"{year}-03-01", f"{year}-09-30"
    assert ids(handle, catalog, date=f"{lo}..{hi}") == {d.id for d in docs if when(d) and lo <= when(d) <= hi}
    both = ids(handle, catalog, q="type:ncr", year=year)
    assert both == {d.id for d in docs if d.doc_type == "ncr" and when(d) and when(d)[:4] == year}


def test_certificate_numbers_match_whatever_their_spelling(env):
    handle, catalog, docs = env
    cert = next(d.cert_no for d in docs if d.cert_no and d.doc_type == "certificate")
    want = {d.id for d in docs if cert_lookup_key(cert) in {cert_lookup_key(c) for c in d.cert_nos}}
    fullwidth = cert.translate({i: i + 0xFEE0 for i in range(0x21, 0x7F)})
    for spelled in (cert, cert.lower(), cert.replace("-", ""), fullwidth):
        assert ids(handle, catalog, cert=spelled) == want, spelled
    # Typed as free text, the number finds the same documents (and maybe more that mention it).
    assert want <= ids(handle, catalog, q=cert.lower())


def test_short_name_finds_the_organisation(env):
    from indexer.dictionary import short_names

    handle, catalog, docs = env
    full = next(d.org.name for d in docs if d.org.name and len(d.org.name) > 8)
    want = {d.id for d in docs if d.org.name == full}
    for short in short_names(full)[:3]:
        got = ids(handle, catalog, org=short)
        assert want <= got, short
        assert all(full in (d.org.name or "") or short in (d.org.name or "")
                   for d in docs if d.id in got)


def test_phrases_return_what_a_substring_search_returns(env):
    handle, catalog, docs = env
    texts = {d.id: normalise("".join(p["text"].replace("\n", "") for p in catalog.pages(d.id)))
             for d in docs}
    phrases = ["管理评审", "纠正措施", "不合格品", "内部审核", "顾客满意", "作业指导书", "关键控制点",
               "合规义务", "重要环境因素", "首次会议"]
    agree, report = 0, []
    for phrase in phrases:
        want = {i for i, t in texts.items() if phrase in t}
        got = ids(handle, catalog, q=f'"{phrase}"', per_page=100) if len(want) <= 100 else None
        if got is None:
            got_total = search(handle, catalog, SearchRequest(q=f'"{phrase}"', per_page=1))["total"]
            agree += got_total == len(want)
        else:
            agree += got == want
            if got != want:
                report.append((phrase, len(want), len(got - want), len(want - got)))
    assert agree >= len(phrases) - 1, report


def test_free_text_and_or_not(env):
    handle, catalog, docs = env
    a = ids(handle, catalog, q="管理评审")
    b = ids(handle, catalog, q="内部审核")
    assert ids(handle, catalog, q="管理评审 内部审核") == a & b
    assert ids(handle, catalog, q="管理评审 OR 内部审核") == a | b
    assert ids(handle, catalog, q="管理评审 NOT 内部审核") == a - b


def test_synonyms_and_traditional_characters(env):
    handle, catalog, docs = env
    qms = search(handle, catalog, SearchRequest(q="QMS", per_page=1))["total"]
    assert qms >= search(handle, catalog, SearchRequest(q="质量管理体系", per_page=1))["total"] > 0
    assert ids(handle, catalog, q="管理評審") == ids(handle, catalog, q="管理评审")
    assert ids(handle, catalog, q="不合格") >= ids(handle, catalog, q='"不合格"')


def test_hits_carry_snippets_pages_and_facets(env):
    handle, catalog, docs = env
    result = search(handle, catalog, SearchRequest(q="纠正措施", per_page=5))
    assert result["hits"] and result["query_ms"] >= 0
    hit = result["hits"][0]
    assert hit["score"] > 0 and hit["matched_pages"]
    for snip in hit["snippets"]:
        assert "<mark>" in snip["html"] and snip["page"] in hit["matched_pages"]
    assert all("statement" not in f for f in hit["findings"])
    facets = result["facets"]
    assert set(facets) == {"field", "code", "stage", "type", "year"}
    assert sum(facets["type"].values()) == result["total"]
    levels = {len(k) for k in facets["code"]}
    assert levels <= {2, 5, 8} and 2 in levels


def test_paging_and_date_sort(env):
    handle, catalog, docs = env
    first = search(handle, catalog, SearchRequest(q="审核", per_page=5, page=1))
    second = search(handle, catalog, SearchRequest(q="审核", per_page=5, page=2))
    assert first["total"] == second["total"] > 10
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    dated = search(handle, catalog, SearchRequest(q="审核", per_page=20, sort="date"))
    dates = [h["audit_start"] or h["issue_date"] for h in dated["hits"]]
    dates = [d for d in dates if d]
    assert dates == sorted(dates, reverse=True)


def test_undated_documents_come_last_in_both_date_orders(env):
    handle, catalog, docs = env
    undated = {d.id for d in docs if not (d.audit_start or d.issue_date)}
    assert undated and len(undated) < len(docs)
    for sort in ("date", "date_asc"):
        every = search(handle, catalog, SearchRequest(q="", filters={"field": None}, per_page=100, sort=sort))
        ids = [h["id"] for h in every["hits"]]
        if every["total"] > 100:
            every = search(handle, catalog, SearchRequest(q="", per_page=100, sort=sort,
                                                          page=-(-every["total"] // 100)))
            ids = [h["id"] for h in every["hits"]]
        flags = [i in undated for i in ids]
        assert flags == sorted(flags), sort          # dated first, then the undated
        dates = [h["audit_start"] or h["issue_date"] for h in every["hits"] if h["id"] not in undated]
        assert dates == sorted(dates, reverse=sort == "date")


MATCH_QUERIES = ["审核", "纠正措施 记录", "审核报告", "不符合 OR 观察项", "审核 NOT 记录",
                 "(记录 OR 文件) NOT 培训", '"审核组长"', '"纠正措施" 记录', "质量管理体系", "QMS 审核",
                 # an AND inside an OR (a word the analyzer splits, a bracket, a NOT): its words
                 # score only where that branch matches
                 "二阶段 OR 审核 OR 拟于", "(审核 记录) OR 培训", "培训 OR (NOT 记录)", "NOT 记录",
                 "外部供方评价 OR 管理评审"]


@pytest.mark.parametrize("q", MATCH_QUERIES)
def test_match_sets_facets_and_ranking_are_whooshs(env, reference, q):
    """The bitset match sets, the facet counts from them and the BM25F top ten equal what Whoosh
    gives by walking its matchers (phrases by their word positions) and scoring every match."""
    from indexer.search import parser_for

    handle, catalog, docs = env
    parsed = parser_for(handle).parse(q)
    total = assert_same_as_reference(handle, reference, parsed.query)
    assert total
    result = search(handle, catalog, SearchRequest(q=q, per_page=10))
    assert result["total"] == total == sum(result["facets"]["type"].values())


@pytest.mark.parametrize("reading", ["whole", "blocks"])
def test_phrases_through_the_pair_field_equal_position_checks(env, reference, monkeypatch, reading):
    """Phrases are looked up as word pairs (`bodyp`; longer ones by the positions of their pairs):
    the documents must be exactly those Whoosh finds by checking word positions (in the
    reference index), for phrases of two to five words cut from the documents themselves."""
    import random

    from whoosh import query as wq

    from indexer import matchsets
    from indexer.analysis import tokens
    from indexer.matchsets import docnums, for_searcher

    handle, catalog, docs = env
    matchsets.segment_cache.clear()
    if reading == "blocks":          # never decode a term's positions whole: jump to the blocks
        monkeypatch.setattr(matchsets, "WHOLE_POSITIONS_SHARE", 2.0)
        monkeypatch.setattr(matchsets, "WHOLE_POSITIONS_BLOCKS", 10**9)
    else:
        monkeypatch.setattr(matchsets, "WHOLE_POSITIONS_SHARE", 0.0)
    rng = random.Random(5)
    phrases: set[tuple[str, ...]] = set()
    for doc in rng.sample(docs, 12):
        words = tokens("".join(p["text"] for p in catalog.pages(doc.id))[:600], "query")
        for n in (2, 2, 3, 4, 5):
            if len(words) > n:
                at = rng.randrange(len(words) - n)
                phrases.add(tuple(words[at:at + n]))
    phrases |= {("审核", "组长"), ("不", "符合"), ("管理", "评审"), ("a", "级")}
    titled = {("审核", "报告"), ("不符合", "报告"), ("二阶段", "审核"), ("审核", "计划"), ("首次", "会议")}
    with handle.index.searcher() as searcher, reference.index.searcher() as oracle:
        assert {"bodyp", "titlep", "orgp", "kindp", "findingsp", "scopep"} <= set(searcher.schema.names())
        assert not searcher.schema["body"].format.supports("positions")
        sets = for_searcher(searcher)
        found = 0
        for fieldname, words in [("body", w) for w in sorted(phrases)] + \
                [(f, w) for f in ("title", "kind", "findings") for w in sorted(titled)]:
            q = wq.Phrase(fieldname, list(words))
            want = sorted(oracle.stored_fields(d)["id"] for d in oracle.docs_for_query(q))
            got = sorted(searcher.stored_fields(d)["id"] for d in docnums(sets.query(q), sets.size))
            assert got == want, (fieldname, words)
            found += bool(want)
        assert found >= (len(phrases) + 15) // 2      # the rest cross punctuation: no match either way


def test_filters_count_in_total(env):
    handle, catalog, docs = env
    code = next(c for d in docs for c in d.codes)[:5]
    result = search(handle, catalog, SearchRequest(q="审核", filters={"code": code}, per_page=5))
    assert result["total"] == sum(result["facets"]["type"].values())
    assert all(code in h["codes"] or any(c.startswith(code) for c in h["codes"]) for h in result["hits"])


def test_similar_documents(env):
    handle, catalog, docs = env
    report = next(d for d in docs if d.doc_type == "audit_report")
    found = similar(handle, catalog, report.id, top=5)
    assert found and report.id not in {d["id"] for d in found}
    assert sum(d["doc_type"] == "audit_report" for d in found) >= 3


@pytest.mark.parametrize("q,filters,message", [
    ('"管理评审', {}, "缺少右引号"),
    ("(管理评审", {}, "括号不成对"),
    ("管理评审 OR", {}, "AND、OR 和 NOT"),
    ("code:17.1x", {}, "专业代码的格式"),
    ("管理评审 code:", {}, "code: 需要一个值"),
    ("stage: 管理评审", {}, "没有审核阶段"),
    ('code:"" 审核', {}, "code: 需要一个值"),
    ("", {"year": "20x3"}, "年份"),
    ("", {"stage": "第五阶段"}, "审核阶段"),
    ("", {"field": "XYZ"}, "认证领域"),
    ("", {"date": "2023-13-01..2023-12-31"}, "日期"),
    ("", {"date": "2023-06-01..2023-01-01"}, "起止颠倒"),
    ("审" * (MAX_QUERY_CHARS + 1), {}, "超过上限"),
    ('"管理评审 内部审核"~3', {}, "不支持"),
    ('"管理 评审"~3', {}, "不支持"),           # segmented into one word: refused all the same
    ('"管理评审"~2 审核', {}, "不支持"),
    ("", {"code": "99.99"}, "没有专业代码 99.99"),
    ("code:17.99.01 审核", {}, "没有专业代码"),
    ("foo:bar 审核", {}, "没有名为 foo 的筛选条件"),
])
def test_bad_queries_are_clear_errors(env, q, filters, message):
    handle, catalog, _ = env
    with pytest.raises(QueryError, match=message):
        search(handle, catalog, SearchRequest(q=q, filters=filters))


def test_partial_fill_keeps_identifiers_whole(env):
    """The page-1 fill ("any of the words") ORs the words typed, never the letter and digit runs
    of an identifier: F0A199 must not become f OR 0 OR a OR 199."""
    from whoosh import query as wq

    from indexer.search import parser_for

    handle, _, _ = env
    for q in ("F0A199 管理评审", "设备F0A199", '"数控车床" F0A199'):
        loose = parser_for(handle).parse(q).loose
        singles = {t.text for t in loose.leaves() if isinstance(t, wq.Term) and t.text in ("f", "0", "a", "199")}
        assert not singles, q
        assert any(isinstance(t, wq.Phrase) and t.words == ["f", "0", "a", "199"] for t in loose.leaves()), q


def test_filters_with_a_blank_after_the_colon_and_filters_inside_quotes(env):
    from indexer.search import parser_for

    handle, _, _ = env
    parser = parser_for(handle)
    assert parser.parse("审核 org: 宁波").applied == {"org": ["宁波"]}
    assert parser.parse("审核 code： 17.10").applied == {"code": ["17.10"]}        # full-width colon
    quoted = parser.parse('"审核 code: 17.10"')
    assert quoted.applied == {} and quoted.text == '"审核 code: 17.10"'


def test_field_letters_before_codes_are_text_not_filters(env):
    from indexer.search import parser_for

    handle, _, _ = env
    parser = parser_for(handle)
    for q in ("QMS:17.10.02", "Q:17.10.02 E:17.10.02", "GB/T 19001:2016", '"foo:bar"', "http://example"):
        assert parser.parse(q).applied == {}, q


def test_bad_paging_is_an_error(env):
    handle, catalog, _ = env
    with pytest.raises(QueryError):
        search(handle, catalog, SearchRequest(q="审核", page=0))
    with pytest.raises(QueryError):
        search(handle, catalog, SearchRequest(q="审核", per_page=1000))


# -- building -------------------------------------------------------------------------------------

@pytest.fixture
def small(tmp_path: Path):
    """A fresh catalogue of a few hand-made documents (with markup in their text)."""
    folder = tmp_path / "pdfs"
    folder.mkdir()
    make_pdf(folder / "a.pdf", ["不符合报告", "受审核方：宁波恒达精密机械有限公司",
                                "不符合事实描述：作业指导书中写有 <script>alert('x')</script> 字样。",
                                None, "第二页：数控车床的点检记录缺失。"])
    make_pdf(folder / "b.pdf", ["审核报告", "受审核方：杭州西湖电子有限公司", "管理评审按计划实施。"])
    make_pdf(folder / "c.pdf", ["审核计划", "受审核方：苏州吴中纺织有限公司", "首次会议 08:30"])
    catalog = Catalog(tmp_path / "home" / "catalog.db")
    Ingestor(catalog, workers=0).run([folder])
    yield tmp_path / "home", catalog
    catalog.close()


def test_markup_in_documents_is_escaped_and_pages_are_named(small):
    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    hit = search(handle, catalog, SearchRequest(q="alert"))["hits"][0]
    html = " ".join(s["html"] for s in hit["snippets"])
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark>alert</mark>" in html
    second = search(handle, catalog, SearchRequest(q="数控车床"))["hits"][0]
    assert second["matched_pages"] == [2] and second["snippets"][0]["page"] == 2


def test_document_view_marks_the_tokens_found(small):
    """The document view marks the tokens of the words the query matched in that document (from
    the analyzer over its text, as indexed), on the page they are on, and nothing else."""
    from indexer.highlight import marked_pages

    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    doc_id = search(handle, catalog, SearchRequest(q="数控车床"))["hits"][0]["id"]
    pages = marked_pages(handle, catalog, doc_id, "数控车床 点检 OR 不存在的词")
    marked = {(p.number, text) for p in pages for text, mark in p.segments if mark}
    assert marked == {(2, "数控车床"), (2, "点检")}
    page = next(p for p in pages if p.number == 2)
    assert "".join(text for text, _ in page.segments) == catalog.pages(doc_id)[1]["text"]
    assert not any(mark for p in marked_pages(handle, catalog, doc_id, '"点检 缺失"') for _, mark in p.segments)


def test_a_matched_phrase_is_marked_as_a_whole(small):
    """A phrase is marked where it occurs, not word by word: `"数控车床的点检"` must not mark
    every 的 of the text (snippets and the document view alike)."""
    from indexer.highlight import marked_pages

    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    result = search(handle, catalog, SearchRequest(q='"数控车床的点检"'))
    assert result["total"] == 1
    marks = re.findall(r"<mark>(.*?)</mark>", " ".join(s["html"] for s in result["hits"][0]["snippets"]))
    assert marks == ["数控车床的点检"]
    pages = marked_pages(handle, catalog, result["hits"][0]["id"], '"数控车床的点检" 缺失')
    assert [(p.number, text) for p in pages for text, mark in p.segments if mark] == \
        [(2, "数控车床的点检"), (2, "缺失")]


def test_phrase_marks_cross_what_the_analyzer_skips_but_not_a_sentence():
    from indexer.search import phrase_key, text_spans

    text = "符合GB/T 19001-2016，见ISO\n9001。纠正措施的\n有效性；纠正措施。的有效性"
    marked = lambda *words: [text[a:b] for a, b in text_spans(text, {phrase_key([w.encode() for w in words])})]  # noqa: E731
    assert marked("gb", "t", "19001") == ["GB/T 19001"]
    assert marked("iso", "9001") == ["ISO\n9001"]
    assert marked("纠正措施", "的", "有效性") == ["纠正措施的\n有效性"]


def test_commits_merge_small_segments_and_leave_large_ones(small, monkeypatch):
    """Small segments (uploads) are merged with each other once there are MERGE_AT of them; a
    large one (a bulk build's) is never rewritten. Whoosh's default policy merged by a Fibonacci
    bound on the running total and rewrote almost a whole bulk-built index in one commit."""
    home, catalog = small
    monkeypatch.setattr(build, "SMALL_SEGMENT", 2)
    monkeypatch.setattr(build, "MERGE_AT", 3)
    doc_ids = catalog.document_ids()
    handle = build.open_index(home / "index")
    build.update(catalog, handle, doc_ids[:2], new=True)
    large = [s.segment_id() for s in handle.index._segments()]
    seen = []
    for _ in range(4):                     # each re-index of one document: a new 1-document segment
        build.update(catalog, handle, [doc_ids[2]])
        seen.append(sorted(s.doc_count_all() for s in handle.index._segments()))
    segments = handle.index._segments()
    assert large[0] in [s.segment_id() for s in segments]          # the large one kept as it was
    assert max(len(x) for x in seen) <= 3 + 1 and len(seen[-1]) < len(seen[-2])   # MERGE_AT small ones + the new one
    assert len(segments) < 5 and build.check(catalog, handle).clean
    assert search(handle, catalog, SearchRequest(q="审核计划"))["total"] >= 1


def test_reindex_resumes_after_an_interruption(small):
    home, catalog = small
    calls = []

    def stop_after_first_chunk(done, total):
        calls.append(done)
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        build.reindex(catalog, home / "index", chunk=1, progress=stop_after_first_chunk)
    handle = build.open_index(home / "index")
    state = build.check(catalog, handle)
    assert len(state.missing) == 2 and not state.extra      # one chunk was committed
    result = build.reindex(catalog, home / "index", chunk=1)
    assert result["indexed"] == 2
    assert build.check(catalog, build.open_index(home / "index")).clean


def test_check_reports_missing_extra_and_stale(small):
    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    doc_ids = catalog.document_ids()
    catalog.db.execute("update documents set ingested_at = 'later' where id = ?", [doc_ids[0]])
    catalog.db.conn.commit()
    build.update(catalog, handle, [], remove=[doc_ids[1]])
    state = build.check(catalog, handle)
    assert state.missing == [doc_ids[1]] and state.stale == [doc_ids[0]] and not state.extra
    build.reindex(catalog, home / "index")
    assert build.check(catalog, build.open_index(home / "index")).clean


def test_searches_after_documents_are_updated_and_removed(small):
    """A re-indexed document leaves a deletion in its old segment: searches keep working and the
    match sets, facets and ranking stay Whoosh's (deleted documents in no set, no score)."""
    from indexer.search import parser_for

    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    doc_ids = catalog.document_ids()
    ref = reference_index(catalog, home / "reference", doc_ids)
    before = search(handle, catalog, SearchRequest(q="受审核方"))["total"]
    for index in (handle, ref):               # the same changes in both
        build.update(catalog, index, [doc_ids[0]])                  # update_document: delete + add
        build.update(catalog, index, [], remove=[doc_ids[1]])
    result = search(handle, catalog, SearchRequest(q="受审核方"))
    assert result["total"] == before - 1 and doc_ids[1] not in {h["id"] for h in result["hits"]}
    with handle.index.searcher() as searcher:
        assert searcher.reader().has_deletions()
    for q in ("受审核方", "宁波恒达", '"点检记录"', "管理评审 OR 首次会议"):
        assert_same_as_reference(handle, ref, parser_for(handle).parse(q).query)


def test_an_empty_index_answers_every_search(tmp_path):
    catalog = Catalog(tmp_path / "catalog.db")
    handle = build.open_index(tmp_path / "index")
    for q in ("审核", '"管理 评审"', "审核 NOT 记录", ""):
        result = search(handle, catalog, SearchRequest(q=q))
        assert result["total"] == 0 and result["hits"] == []


def test_a_new_schema_version_rebuilds_the_index(small):
    home, catalog = small
    build.reindex(catalog, home / "index")
    (home / "index" / build.VERSION_FILE).write_text("old\n")
    assert not build.index_exists(home / "index")
    handle = build.open_index(home / "index")
    assert len(build.check(catalog, handle).missing) == 3
    build.reindex(catalog, home / "index")
    assert build.check(catalog, build.open_index(home / "index")).clean


def test_a_second_writer_waits_then_gives_up(small):
    home, catalog = small
    build.reindex(catalog, home / "index")
    handle = build.open_index(home / "index")
    held = build.writer(handle)
    try:
        with pytest.raises(build.IndexBusy):
            build.update(catalog, handle, catalog.document_ids()[:1], wait=0.3)
        timer = threading.Timer(0.3, held.cancel)
        timer.start()
        assert build.update(catalog, handle, catalog.document_ids()[:1], wait=10) == 1
        timer.join()
    finally:
        if not getattr(held, "is_closed", True):
            held.cancel()


def test_cli_search_json_and_check(small):
    home, _ = small
    cli = [sys.executable, "-m", "webui.cli", "--home", str(home)]
    root = Path(__file__).resolve().parent.parent
    res = subprocess.run(cli + ["search", "管理评审", "--json"], capture_output=True, text=True,
                         cwd=root, timeout=120)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"total", "page", "per_page", "query_ms", "hits", "facets"} <= set(data)
    assert data["total"] == 1 and data["hits"][0]["org"]["name"] == "杭州西湖电子有限公司"
    bad = subprocess.run(cli + ["search", "--code", "x1"], capture_output=True, text=True, cwd=root)
    assert bad.returncode == 2 and "专业代码的格式" in bad.stderr
    ok = subprocess.run(cli + ["check"], capture_output=True, text=True, cwd=root)
    assert ok.returncode == 0 and "一致" in ok.stdout


def test_bulk_build_in_two_processes(small, monkeypatch):
    """The multi-process path large rebuilds take gives the same index."""
    home, catalog = small
    monkeypatch.setattr(build, "BULK", 2)
    result = build.reindex(catalog, home / "index", full=True)
    assert result["indexed"] == 3
    handle = build.open_index(home / "index")
    assert build.check(catalog, handle).clean
    assert search(handle, catalog, SearchRequest(q="管理评审"))["total"] == 1


def test_segment_files_are_read_in_place_as_bytesio_would_read_them():
    """Whoosh's BufferFile copied each segment file into memory (BytesIO); `whoosh_ext.nocopy`
    reads the buffer in place and must read exactly what BytesIO reads."""
    import io
    import pickle
    import random

    from whoosh.filedb.structfile import BufferFile

    from indexer import whoosh_ext
    from indexer.whoosh_ext.nocopy import MemoryFile

    assert whoosh_ext.install()
    data = b"".join(pickle.dumps((i, "审核" * i, [i] * (i % 7)), 2) + b"\nline %d\n" % i for i in range(200))
    f = BufferFile(memoryview(data))
    assert isinstance(f.file, MemoryFile)
    rng = random.Random(1)
    ours, theirs = MemoryFile(memoryview(data)), io.BytesIO(data)
    for _ in range(2000):
        op = rng.choice(["read", "readline", "seek", "peek"])
        if op == "read":
            n = rng.choice([-1, 0, 1, 5, 300])
            assert ours.read(n) == theirs.read(n)
        elif op == "readline":
            n = rng.choice([-1, 3])
            assert ours.readline(n) == theirs.readline(n)
        elif op == "seek":
            pos = rng.randrange(len(data) + 10)
            assert ours.seek(pos) == theirs.seek(pos)
        else:
            assert theirs.getvalue()[theirs.tell():].startswith(ours.peek(1))
        assert ours.tell() == theirs.tell()
    ours.seek(0)
    assert pickle.load(ours) == (0, "", [])                  # the C unpickler through peek/read
    assert ours.readline() == b"\n" and ours.readline() == b"line 0\n"     # consumed no further
    assert pickle.load(ours) == (1, "审核", [1])
