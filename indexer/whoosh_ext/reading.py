"""What the match sets and searches read of Whoosh's internals, each with its plain-Whoosh
fallback, taken when the extensions are not in use (`whoosh_ext.active()`): a segment's posting
sidecar, a term's posting blocks read whole (not one posting at a time), the stored field
lengths, BM25F's per-field B, searchers that reuse unchanged segment readers, and a query
restricted to a set of documents.
"""
from __future__ import annotations

from itertools import accumulate
from pickle import loads
from typing import Iterable

import numpy as np
from whoosh import formats, scoring
from whoosh import query as wq
from whoosh.matching import NullMatcher, WrappingMatcher
from whoosh.searching import Searcher
from whoosh.util.numeric import length_to_byte

from archive.retry import GaveUp, retry

from . import active


def open_sidecar(reader):
    """The segment's posting sidecar (`sidecar.Sidecar`), or None: none, not readable, or plain
    Whoosh (whose segments have none)."""
    if not active():
        return None
    from .sidecar import open_sidecar as opened

    return opened(reader)


def raw_postings(reader, fieldname: str, btext: bytes):
    """A term's postings in one segment without the deletions filter (`MatchSets.query` removes
    those). Asked of the segment's term table: Whoosh's filter, made by `reader.postings`, has
    already moved its matcher past the deleted documents at the start of the list. Plain Whoosh:
    `reader.postings` (deleted documents left out; no match set holds them anyway)."""
    if not active():
        return reader.postings(fieldname, btext)
    from whoosh.codec.whoosh3 import W3LeafMatcher

    terms = getattr(reader, "_terms", None)
    if terms is not None and hasattr(terms, "matcher"):
        return terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    m = reader.postings(fieldname, btext)
    return m if isinstance(m, W3LeafMatcher) else getattr(m, "child", m)


def one_by_one(m) -> tuple[list[int], list[float], list]:
    """Ids, weights and raw values of every posting through the matcher's own accessors: the
    fallback of the block readers below for posting lists they cannot read directly."""
    ids, weights, values = [], [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        values.append(m.value())
        m.next()
    return ids, weights, values


def _readable_blocks(m) -> bool:
    if not active():
        return False
    from whoosh.codec.whoosh3 import W3LeafMatcher

    return isinstance(m, W3LeafMatcher) and not m._byteids and (m._fixedsize is None or m._fixedsize < 0)


def block_arrays(m) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """(segment-local ids, weights) of each block of a raw matcher's postings as arrays. Reads
    Whoosh's block tuple directly (ids delta-coded from 0 in each block; weights a tuple, one float
    for the whole block, or None for 1.0) instead of its per-posting accessors."""
    if _readable_blocks(m):
        while m.is_active():
            if m._data is None:
                m._read_data()
            raw_ids, raw_weights = m._data[0], m._data[1]
            ids = np.cumsum(np.array(raw_ids, dtype=np.int64))
            if raw_weights is None:
                weights = np.ones(len(ids))
            elif isinstance(raw_weights, float):
                weights = np.full(len(ids), raw_weights)
            else:
                weights = np.array(raw_weights, dtype=np.float64)
            yield ids, weights
            m._next_block()
    else:
        ids, weights, _ = one_by_one(m)
        yield np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def block_values(m) -> Iterable[tuple[np.ndarray, tuple]]:
    """(segment-local ids, raw posting values) of each block of a raw matcher's postings."""
    if _readable_blocks(m):
        while m.is_active():
            yield _current_block(m)
            m._next_block()
    else:
        ids, _, values = one_by_one(m)
        yield np.array(ids, dtype=np.int64), tuple(values)


def _current_block(m) -> tuple[np.ndarray, tuple]:
    """(segment-local ids, raw values) of the block a W3 matcher is on (ids are delta-coded)."""
    if m._data is None:
        m._read_data()
    return np.cumsum(np.array(m._data[0], dtype=np.int64)), m._data[2]


def block_directory(m) -> tuple[np.ndarray, np.ndarray] | None:
    """(file offset of each block, -1 for the first; last local id of each block) of a fresh
    matcher, from the block headers (None when its blocks cannot be read directly). Whoosh finds
    a block by reading every header before it; with this (cached per segment and term) a check
    of a few candidates reads just their blocks."""
    if not _readable_blocks(m) or not m.is_active():
        return None
    offsets, last_ids = [-1], [m.block_max_id()]
    while not m._lastblock:
        offsets.append(m._nextoffset)
        m._goto(m._nextoffset)
        last_ids.append(m.block_max_id())
    return np.array(offsets, dtype=np.int64), np.array(last_ids, dtype=np.int64)


def chosen_blocks(m, offsets: np.ndarray, holding: np.ndarray) -> Iterable[tuple[np.ndarray, tuple]]:
    """(segment-local ids, raw values) of the blocks marked in `holding` (of `block_directory`),
    jumping to each."""
    for k in np.flatnonzero(holding).tolist():
        if k:
            m._goto(int(offsets[k]))
        yield _current_block(m)


def positions(value: bytes) -> Iterable[int]:
    """Token positions from a Positions/Characters posting value: Whoosh's pickled deltas, read
    directly; plain Whoosh: through its formats' `decode_positions`."""
    if not active():
        try:
            return formats.Positions().decode_positions(value)
        except TypeError:                            # Characters: (position, start, end) deltas
            return formats.Characters().decode_positions(value)
    if not value.endswith(b"."):
        value += b"."
    codes = loads(value[4:])
    if codes and isinstance(codes[0], tuple):       # Characters: (position, start, end) deltas
        return accumulate(code[0] for code in codes)
    return accumulate(codes)                        # Positions: position deltas


def length_bytes(reader, fieldname: str) -> np.ndarray:
    """The stored length byte of a field for every document of one segment (0: unknown), read
    from its column; plain Whoosh: a document at a time through `doc_field_length`."""
    n = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None) if active() else None
    if perdoc is not None and hasattr(perdoc, "_cached_reader"):
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(n, dtype=np.uint8)
        return np.fromiter(column, dtype=np.uint8, count=n)
    return np.fromiter((length_to_byte(reader.doc_field_length(d, fieldname, 0) or 0) for d in range(n)),
                       dtype=np.uint8, count=n)


def bm25f_b(weighting: scoring.BM25F, searcher: Searcher, fieldname: str, btext: bytes) -> float:
    """BM25F's B for a field: its per-field value, else B; plain Whoosh: as its scorer of the
    term has it."""
    if active():
        return weighting._field_B.get(fieldname, weighting.B)
    return getattr(weighting.scorer(searcher, fieldname, btext), "B", weighting.B)


def reuse_readers(index, old: Searcher | None, attempts: int = 10) -> Searcher:
    """A searcher of the index's latest commit that reuses the old searcher's segment readers
    where a segment is unchanged: same id AND same deletions. Whoosh's own `refresh()` matches
    segments by id only, so a refreshed searcher missed deletions made since (an updated document
    was found twice, a removed one still found) and kept segments a merge had replaced.
    Plain Whoosh: a new searcher (the old one closed)."""
    if not active():
        if old is not None:
            old.close()
        return index.searcher(weighting=scoring.BM25F())
    from whoosh.index import TOC
    from whoosh.reading import EmptyReader, MultiReader, SegmentReader

    try:            # a writer may swap the table of contents as we read it
        toc = retry(lambda: TOC.read(index.storage, index.indexname, schema=index._schema), OSError,
                    attempts=attempts, longest=0.05)
    except GaveUp as exc:
        raise exc.__cause__ from None
    reusable = {}
    if old is not None:
        for reader, _ in old.reader().leaf_readers():
            segment = reader.segment()
            if segment is not None:
                reusable[(segment.segment_id(), segment.deleted_count())] = reader
    readers = []
    for segment in toc.segments:
        reader = reusable.pop((segment.segment_id(), segment.deleted_count()), None)
        readers.append(reader or SegmentReader(index.storage, toc.schema, segment, generation=toc.generation))
    for reader in reusable.values():
        reader.close()
    if not readers:
        combined = EmptyReader(toc.schema)
    elif len(readers) == 1:
        combined = readers[0]
        combined._gen = toc.generation     # a reused reader: unchanged segment, current commit
    else:
        combined = MultiReader(readers, generation=toc.generation)
    return Searcher(combined, fromindex=index, weighting=scoring.BM25F())


class AllowedMatcher(WrappingMatcher):
    """The child matcher restricted to the documents of a bytemap (global numbers from `offset`).
    Keeps the child's block-quality skipping (Whoosh's top-N pruning); jumps over documents
    outside the set with `skip_to`, so a sparse set costs little whatever the child matches."""

    def __init__(self, child, allowed: bytes, offset: int, boost: float = 1.0):
        self.child = child
        self.boost = boost
        self._allowed = allowed
        self._offset = offset
        self._find_next()

    def _replacement(self, newchild):
        return self.__class__(newchild, self._allowed, self._offset, self.boost)

    def copy(self):
        return self.__class__(self.child.copy(), self._allowed, self._offset, self.boost)

    def _find_next(self) -> None:
        child, allowed, off = self.child, self._allowed, self._offset
        while child.is_active():
            g = child.id() + off
            if allowed[g]:
                return
            nxt = allowed.find(1, g)
            if nxt < 0:
                while child.is_active():      # nothing allowed after: exhaust
                    child.skip_to(len(allowed) - off + 1)
                    if child.is_active():
                        child.next()
                return
            child.skip_to(nxt - off)

    def next(self):
        r = self.child.next()
        self._find_next()
        return r

    def skip_to(self, id):
        r = self.child.skip_to(id)
        self._find_next()
        return r

    def skip_to_quality(self, minquality):
        r = self.child.skip_to_quality(minquality / self.boost)
        self._find_next()
        return r

    def all_ids(self):
        allowed, off = self._allowed, self._offset
        return (d for d in self.child.all_ids() if allowed[d + off])


class Allowed(wq.WrappingQuery):
    """A query whose matches are restricted to a precomputed set (a bytemap over global document
    numbers): the filter and exact phrase checks applied without giving up top-N pruning."""

    def __init__(self, child: wq.Query, allowed: bytes, offsets: dict[int, int]):
        super().__init__(child)
        self.allowed = allowed
        self.offsets = offsets      # id(segment reader) → offset of its documents

    def _rewrap(self, child):
        return self.__class__(child, self.allowed, self.offsets)

    def matcher(self, searcher, context=None):
        off = self.offsets.get(id(searcher.reader()))
        m = self.child.matcher(searcher, context)
        if off is None or not m.is_active():
            return m if off is not None else NullMatcher()
        return AllowedMatcher(m, self.allowed, off)
