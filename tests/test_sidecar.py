"""Posting sidecars (`indexer.sidecar`): each segment's `.apo` must hold exactly the postings
Whoosh holds (ids, weights, pair positions) for segments written by a bulk build, by uploads and
by merges, and searches must give the same answers with and without them; a segment without a
usable sidecar is read through Whoosh."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq

from archive.catalog import Catalog
from archive.ingest import Ingestor
from indexer import build, matchsets, sidecar
from indexer.matchsets import docnums, for_searcher
from indexer.schema import PackedPositions
from indexer.search import SearchRequest, search
from pdfmaker import make_pdf

QUERIES = ["审核", "管理评审", "不符合 报告", "审核 NOT 计划", '"数控车床的点检"', '"管理评审按计划实施"',
           "code:17", "受审核方 OR 首次会议"]


def assert_sidecars_hold_whooshs_postings(handle: build.IndexHandle, sample: int | None = None) -> int:
    """Every segment has a sidecar and, for its terms (all, or `sample` of each segment's chosen
    at random), the same ids, weights and positions as Whoosh's blocks. Returns terms compared."""
    compared = 0
    rng = random.Random(3)
    with handle.index.searcher() as searcher:
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            side = sidecar.open_sidecar(reader)
            assert side is not None, reader.segment().segment_id()
            terms = list(reader.all_terms())
            if sample is not None and len(terms) > sample:
                terms = rng.sample(terms, sample)
            everyone = np.ones(reader.doc_count_all(), dtype=bool)
            for fieldname, btext in terms:
                found = side.find(fieldname, btext)
                assert found is not None, (fieldname, btext)
                ids, weights = matchsets._segment_postings(reader, fieldname, btext)
                assert np.array_equal(found[0], ids) and np.array_equal(found[1].astype(np.float64), weights)
                if isinstance(searcher.schema[fieldname].format, PackedPositions):
                    docs, positions = matchsets._all_positions(
                        matchsets._raw_postings(reader, fieldname, btext), True)
                    got = matchsets._sidecar_positions(found, everyone, 0)
                    assert np.array_equal(got[0], docs) and np.array_equal(got[1], positions)
                else:
                    assert not found[2].size and not found[3].size
                compared += 1
            assert side.find("body", "不在索引里的词".encode()) is None
    return compared


def answers(handle: build.IndexHandle, catalog: Catalog, use_sidecars: bool, monkeypatch) -> list:
    """Totals, facets and ranked ids of QUERIES, with or without reading the sidecars."""
    monkeypatch.setattr(matchsets, "USE_SIDECARS", use_sidecars)
    matchsets.segment_cache.clear()
    out = []
    for q in QUERIES:
        result = search(handle, catalog, SearchRequest(q=q, per_page=20))
        out.append((q, result["total"], result["facets"], [(h["id"], round(h["score"], 6)) for h in result["hits"]]))
    return out


def test_the_sample_index_sidecars_hold_whooshs_postings(sample_home):
    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    assert assert_sidecars_hold_whooshs_postings(handle, sample=4000) >= 4000


def test_phrase_checks_read_the_same_documents_from_sidecars(sample_home, monkeypatch):
    """Phrases of three to five words (pair positions lined up) find the same documents whether
    the pair positions come from the sidecars or from Whoosh's blocks."""
    from indexer.analysis import tokens

    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    rng = random.Random(11)
    docs = rng.sample(list(catalog.iter_documents()), 15)
    phrases = []
    for doc in docs:
        words = tokens("".join(p["text"] for p in catalog.pages(doc.id))[:800], "query")
        for n in (3, 4, 5):
            if len(words) > n:
                at = rng.randrange(len(words) - n)
                phrases.append(words[at:at + n])
    found = {}
    for use in (True, False):
        monkeypatch.setattr(matchsets, "USE_SIDECARS", use)
        matchsets.segment_cache.clear()
        with handle.index.searcher() as searcher:
            sets = for_searcher(searcher)
            assert all(s is not None for s in sets.sidecars()) == use
            found[use] = [docnums(sets.query(wq.Phrase("body", list(p))), sets.size) for p in phrases]
    assert found[True] == found[False]
    assert sum(map(bool, found[True])) >= len(phrases) // 2        # most of them occur


@pytest.fixture
def uploads(tmp_path: Path):
    """A catalogue of six small documents, indexed one commit at a time (uploads) so that small
    segments are merged, with one document re-indexed (a deletion in an older segment)."""
    folder = tmp_path / "pdfs"
    folder.mkdir()
    texts = [["不符合报告", "受审核方：宁波恒达精密机械有限公司", "第二页：数控车床的点检记录缺失。"],
             ["审核报告", "受审核方：杭州西湖电子有限公司", "管理评审按计划实施。"],
             ["审核计划", "受审核方：苏州吴中纺织有限公司", "首次会议 08:30"],
             ["审核报告", "受审核方：温州瓯江阀门有限公司", "管理评审按计划实施，数控车床的点检记录齐全。"],
             ["不符合报告", "受审核方：嘉兴南湖食品有限公司", "不符合事实：未保存管理评审记录。"],
             ["审核计划", "受审核方：湖州织里童装有限公司", "末次会议 16:00，首次会议 08:30"]]
    for i, lines in enumerate(texts):
        make_pdf(folder / f"d{i}.pdf", lines)
    catalog = Catalog(tmp_path / "home" / "catalog.db")
    Ingestor(catalog, workers=0).run([folder])
    yield tmp_path / "home", catalog
    catalog.close()


def test_uploads_merges_and_bulk_builds_write_sidecars(uploads, monkeypatch):
    home, catalog = uploads
    monkeypatch.setattr(build, "SMALL_SEGMENT", 3)
    monkeypatch.setattr(build, "MERGE_AT", 3)
    doc_ids = catalog.document_ids()
    handle = build.open_index(home / "index")
    for doc_id in doc_ids:
        build.update(catalog, handle, [doc_id], new=True)
    build.update(catalog, handle, [doc_ids[1]])                     # deleted in its old segment
    counts = sorted(s.doc_count_all() for s in handle.index._segments())
    assert any(c > 1 for c in counts), counts                      # some segments were merged
    assert assert_sidecars_hold_whooshs_postings(handle) > 100
    assert answers(handle, catalog, True, monkeypatch) == answers(handle, catalog, False, monkeypatch)
    # the bulk path: two processes, each writing its own segment
    monkeypatch.setattr(build, "BULK", 2)
    build.reindex(catalog, home / "index", full=True)
    handle = build.open_index(home / "index")
    assert assert_sidecars_hold_whooshs_postings(handle) > 100
    with_sidecars = answers(handle, catalog, True, monkeypatch)
    assert with_sidecars == answers(handle, catalog, False, monkeypatch)
    # (审核 is in every document through 受审核方; two of them have no 计划)
    assert [total for _, total, _, _ in with_sidecars] == [6, 3, 2, 2, 2, 2, 0, 6]


def test_segments_without_a_usable_sidecar_are_read_through_whoosh(uploads, monkeypatch):
    """A segment written without a sidecar (before it existed), or whose terms' hashes collide,
    is read through Whoosh; a damaged sidecar is refused, not trusted."""
    from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter

    home, catalog = uploads
    doc_ids = catalog.document_ids()
    handle = build.open_index(home / "index")
    build.update(catalog, handle, doc_ids[:2], new=True)
    with monkeypatch.context() as m:                 # an old segment: Whoosh's own field writer
        m.setattr(W3Codec, "field_writer", lambda self, storage, segment: W3FieldWriter(self, storage, segment))
        build.update(catalog, handle, doc_ids[2:4], new=True)
    with monkeypatch.context() as m:                 # every term hashes alike: no directory
        m.setattr(sidecar, "blake2b", lambda data, digest_size: _Same())
        build.update(catalog, handle, doc_ids[4:], new=True)
    with handle.index.searcher() as searcher:
        usable = [sidecar.open_sidecar(leaf.reader()) is not None for leaf, _ in searcher.leaf_searchers()]
    assert sorted(usable) == [False, False, True]
    assert answers(handle, catalog, True, monkeypatch) == answers(handle, catalog, False, monkeypatch)
    for damaged in (b"", b"junk", sidecar.MAGIC + b"\0" * 40, sidecar.MAGIC + bytes(sidecar._FOOTER.size)):
        with pytest.raises(ValueError):
            sidecar.Sidecar(damaged)


class _Same:
    def digest(self) -> bytes:
        return b"\x01" * 8
