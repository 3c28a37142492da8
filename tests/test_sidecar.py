"""Posting sidecars (`indexer.whoosh_ext.sidecar`): each segment's `.apo` must hold exactly the postings
Whoosh holds (ids, weights) for segments written by a bulk build, by uploads and by merges, and
searches must give the same answers with and without them; the word pairs, kept there only
(`indexer.whoosh_ext.pairpostings`), must be exactly the analyzer's; a segment without a usable sidecar is
read through Whoosh."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pdfmaker import make_pdf
from whoosh import query as wq

from archive.catalog import Catalog
from archive.ingest import Ingestor
from indexer import build, matchsets
from indexer.matchsets import docnums, for_searcher
from indexer.schema import PackedPositions, to_record
from indexer.search import SearchRequest, search
from indexer.whoosh_ext import pairpostings, reading, sidecar

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
                        reading.raw_postings(reader, fieldname, btext), True)
                    got = matchsets._sidecar_positions(found, everyone, 0)
                    assert np.array_equal(got[0], docs) and np.array_equal(got[1], positions)
                else:
                    assert not found[2].size and not found[3].size
                compared += 1
            assert side.find("body", "不在索引里的词".encode()) is None
    return compared


def assert_sidecar_pairs_are_the_analyzers(handle: build.IndexHandle, catalog: Catalog) -> int:
    """Every live document's word pairs, in every pair field, are in its segment's sidecar with
    exactly the analyzer's positions, and nowhere in Whoosh's postings. Returns pairs compared."""
    compared = 0
    with handle.index.searcher() as searcher:
        names = pairpostings.pair_names(searcher.schema)
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            side = sidecar.open_sidecar(reader)
            assert side is not None and side.holds_pairs
            live = {d: f["id"] for d, f in reader.iter_docs()}
            for name in names:
                assert not any(field == name for field, _ in reader.all_terms())
                held: dict[int, dict[str, list[int]]] = {d: {} for d in live}
                for btext in side.pair_terms(name):
                    ids, _, counts, positions = side.find(name, btext)
                    starts = np.concatenate([[0], np.cumsum(counts.astype(np.int64))])
                    for i, doc in enumerate(ids.tolist()):
                        if doc in held:
                            held[doc][btext.decode()] = positions[starts[i]:starts[i + 1]].tolist()
                analyzer = searcher.schema[name].analyzer
                for doc, doc_id in live.items():
                    document = catalog.get_document(doc_id)
                    record = to_record(document, [p["text"] for p in catalog.pages(doc_id)])
                    expected = analyzer.pair_positions(record[name], True)
                    assert held[doc] == expected, (doc_id, name)
                    compared += len(expected)
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


def test_the_sample_index_sidecars_hold_whooshs_postings_and_the_pairs(sample_home):
    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    assert assert_sidecars_hold_whooshs_postings(handle, sample=4000) >= 3000       # all the words
    # The pairs are compared with the analyzer in a process of its own: jieba's dictionary is
    # process-wide, and other tests in this one taught it other catalogues' organisation names.
    out = subprocess.run([sys.executable, __file__, str(home)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) > 50_000



def whooshs_own_index(catalog: Catalog, directory: Path, monkeypatch) -> build.IndexHandle:
    """The catalogue indexed by Whoosh's own field writer: no sidecars, pairs in Whoosh."""
    from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter

    with monkeypatch.context() as m:
        m.setattr(W3Codec, "field_writer", lambda self, storage, segment: W3FieldWriter(self, storage, segment))
        build.reindex(catalog, directory, full=True)
    return build.open_index(directory)


def test_phrase_checks_find_the_same_documents_as_with_pairs_in_whoosh(sample_home, tmp_path, monkeypatch):
    """Phrases of two to five words (pair positions lined up) find the same documents whether
    the pairs come from the sidecars or from Whoosh's own postings."""
    from indexer.analysis import tokens

    home, catalog, _ = sample_home
    handle = build.open_index(home / "index")
    plain = whooshs_own_index(catalog, tmp_path / "plain", monkeypatch)
    rng = random.Random(11)
    docs = rng.sample(list(catalog.iter_documents()), 15)
    phrases = []
    for doc in docs:
        words = tokens("".join(p["text"] for p in catalog.pages(doc.id))[:800], "query")
        for n in (2, 3, 4, 5):
            if len(words) > n:
                at = rng.randrange(len(words) - n)
                phrases.append(words[at:at + n])
    found = {}
    for name, index in (("sidecars", handle), ("whoosh", plain)):
        matchsets.segment_cache.clear()
        with index.index.searcher() as searcher:
            sets = for_searcher(searcher)
            assert all(s is not None for s in sets.sidecars()) == (name == "sidecars")
            ids = {d: f["id"] for d, f in searcher.reader().iter_docs()}
            found[name] = [sorted(ids[d] for d in docnums(sets.query(wq.Phrase("body", list(p))), sets.size))
                           for p in phrases]
    assert found["sidecars"] == found["whoosh"]
    assert sum(map(bool, found["sidecars"])) >= len(phrases) // 2        # most of them occur


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
    assert assert_sidecar_pairs_are_the_analyzers(handle, catalog) > 50
    assert answers(handle, catalog, True, monkeypatch) == answers(handle, catalog, False, monkeypatch)
    # the bulk path: two processes, each writing its own segment
    monkeypatch.setattr(build, "BULK", 2)
    build.reindex(catalog, home / "index", full=True)
    handle = build.open_index(home / "index")
    assert assert_sidecars_hold_whooshs_postings(handle) > 100
    assert assert_sidecar_pairs_are_the_analyzers(handle, catalog) > 50
    with_sidecars = answers(handle, catalog, True, monkeypatch)
    assert with_sidecars == answers(handle, catalog, False, monkeypatch)
    # (审核 is in every document through 受审核方; two of them have no 计划)
    assert [total for _, total, _, _ in with_sidecars] == [6, 3, 2, 2, 2, 2, 0, 6]


def test_segments_without_a_sidecar_and_colliding_hashes(uploads, tmp_path, monkeypatch):
    """A segment written without a sidecar (before it existed) is read through Whoosh, its pairs
    included; terms that hash alike are written with the next seed; merging such segments moves
    every pair into the new sidecar; a damaged sidecar is refused, not trusted."""
    from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter

    home, catalog = uploads
    doc_ids = catalog.document_ids()
    handle = build.open_index(home / "index")
    build.update(catalog, handle, doc_ids[:2], new=True)
    with monkeypatch.context() as m:                 # an old segment: Whoosh's own field writer
        m.setattr(W3Codec, "field_writer", lambda self, storage, segment: W3FieldWriter(self, storage, segment))
        build.update(catalog, handle, doc_ids[2:4], new=True)
    real = sidecar.blake2b
    with monkeypatch.context() as m:                 # every term hashes alike without a seed
        m.setattr(sidecar, "blake2b", lambda data, digest_size, salt=None:
                  real(data, digest_size=digest_size, salt=salt) if salt else _Same())
        build.update(catalog, handle, doc_ids[4:], new=True)
    with handle.index.searcher() as searcher:
        sides = [sidecar.open_sidecar(leaf.reader()) for leaf, _ in searcher.leaf_searchers()]
    assert sorted(side is not None for side in sides) == [False, True, True]
    assert sorted(side._seed for side in sides if side is not None) == [0, 1]
    expected = answers(build.open_index(fresh_index(catalog, tmp_path / "fresh")), catalog, True, monkeypatch)
    assert answers(handle, catalog, True, monkeypatch) == expected
    assert answers(handle, catalog, False, monkeypatch) == expected
    w = build.writer(handle)                         # one segment of the three
    w.commit(optimize=True)
    handle = build.open_index(home / "index")
    assert len(handle.index._segments()) == 1
    assert assert_sidecar_pairs_are_the_analyzers(handle, catalog) > 50
    # (a merge copies documents' field lengths as Whoosh quantised them: scores move a little)
    assert matches(answers(handle, catalog, True, monkeypatch)) == matches(expected)
    for damaged in (b"", b"junk", sidecar.MAGIC + b"\0" * 40, sidecar.MAGIC + bytes(sidecar._FOOTER.size)):
        with pytest.raises(ValueError):
            sidecar.Sidecar(damaged)


def matches(answered: list) -> list:
    """Each query's total, facets and matched ids, without the ranking."""
    return [(q, total, facets, sorted(i for i, _ in hits)) for q, total, facets, hits in answered]


def fresh_index(catalog: Catalog, directory: Path) -> Path:
    build.reindex(catalog, directory, full=True)
    return directory


class _Same:
    def digest(self) -> bytes:
        return b"\x01" * 8


if __name__ == "__main__":          # the pair check for test_the_sample_index_sidecars_…, in a fresh process
    _catalog = Catalog(Path(sys.argv[1]) / "catalog.db")
    build.learn_org_names(_catalog)                       # as the index was built
    print(assert_sidecar_pairs_are_the_analyzers(build.open_index(Path(sys.argv[1]) / "index"), _catalog))
