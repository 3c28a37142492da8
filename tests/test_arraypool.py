"""The array posting pool (`indexer.whoosh_ext.arraypool`) must write the segments Whoosh's own pool writes:
the same terms, term statistics and posting blocks, byte for byte, for new documents, merges and
deletions; and its tuples, where something asks for them, in Whoosh's order."""
from __future__ import annotations

import random

from whoosh.writing import SegmentWriter

from indexer import build
from indexer.whoosh_ext import arraypool


def segment_contents(handle: build.IndexHandle) -> list[dict]:
    """Per segment (in order): each term's statistics and the bytes of its posting blocks."""
    out = []
    with handle.index.searcher() as searcher:
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            postfile = reader._terms._postfile
            terms = {}
            for fieldname, btext in reader.all_terms():
                info = reader.term_info(fieldname, btext)
                stats = {k: v for k, v in vars(info).items() if k not in ("_offset", "_length")}
                length = getattr(info, "_length", None)
                length = length[0] if isinstance(length, tuple) else length       # (as Whoosh reads it)
                blocks = postfile.get(info._offset, length) if length else None
                terms[(fieldname, btext)] = (stats, blocks)
            out.append({"docs": reader.doc_count_all(), "deleted": sorted(reader.deleted_docs_set)
                        if reader.has_deletions() else [], "terms": terms})
    return out


def build_in_steps(catalog, directory, ids: list[str]) -> build.IndexHandle:
    """Small commits (merged as they grow), then two documents indexed again (deletions)."""
    handle = build.open_index(directory)
    for start in range(0, len(ids), 15):
        build.update(catalog, handle, ids[start:start + 15], new=True)
    build.update(catalog, handle, ids[3:5])
    return handle


def test_segments_are_the_ones_whooshs_pool_writes(sample_home, tmp_path, monkeypatch):
    home, catalog, _ = sample_home
    monkeypatch.setattr(build, "SMALL_SEGMENT", 40)
    monkeypatch.setattr(build, "MERGE_AT", 3)
    ids = catalog.document_ids()[:120]
    ours = segment_contents(build_in_steps(catalog, tmp_path / "arrays", ids))
    monkeypatch.setattr(SegmentWriter, "__init__", arraypool._whoosh_init)
    whooshs = segment_contents(build_in_steps(catalog, tmp_path / "whoosh", ids))
    assert len(ours) == len(whooshs) and any(s["docs"] > 15 for s in ours)      # merges happened
    assert any(s["deleted"] for s in ours)
    for mine, theirs in zip(ours, whooshs):
        assert mine["docs"] == theirs["docs"] and mine["deleted"] == theirs["deleted"]
        assert mine["terms"].keys() == theirs["terms"].keys()
        for key, found in mine["terms"].items():
            assert found == theirs["terms"][key], key
    assert sum(len(s["terms"]) for s in ours) > 5_000


def test_the_pools_tuples_come_in_whooshs_order(tmp_path):
    """Iterated (a field writer of Whoosh's own), or after `save` (runs on disk), the pool gives
    Whoosh's sorted tuples."""
    from whoosh.filedb.filestore import FileStorage

    storage = FileStorage(str(tmp_path)).create()
    rng = random.Random(5)
    items = [(rng.choice(["body", "code", "title"]), rng.choice([b"a", b"b", b"c", "审核".encode()]),
              doc, float(rng.randint(1, 4)), rng.choice([b"", b"\x00\x00\x00\x02"])) for doc in range(300)]
    for save_at in (None, 120):
        pool = arraypool.ArrayPool(storage, None)
        for i, item in enumerate(items):
            if i == save_at:
                pool.save()
            pool.add(item)
        assert list(pool.iter_postings()) == sorted(items)
        assert pool.fieldnames == {"body", "code", "title"}


def test_spelling_words_are_not_postings(tmp_path):
    from whoosh.filedb.filestore import FileStorage

    pool = arraypool.ArrayPool(FileStorage(str(tmp_path)).create(), None)
    pool.add(("body", b"a", -1, 1.0, b""))
    assert list(pool.iter_postings()) == []
