"""Whoosh's posting pool as arrays, and the postings written a block at a time.

Whoosh's segment writer keeps every posting as a tuple in a sorting pool, sorts the tuples when
it commits, and hands them one at a time to the field writer, which checks each, adds it to the
current block and updates the block's statistics (~10 µs a posting). `ArrayPool` keeps the
postings in arrays as they come (a term number, the document, the weight, the value if there is
one); at commit the writer's `add_postings` gets a `SortedPostings`, ordered with numpy, and fills
each block of 128 postings with slices, with the same statistics Whoosh computes, so that the
files are the ones Whoosh would write (benchmarks/README.md, fifth round).
"""
from __future__ import annotations

from array import array

import numpy as np
from whoosh.writing import PostingPool, SegmentWriter


class ArrayPool(PostingPool):
    """A posting pool over arrays. Only the whole-segment path (`iter_postings` then
    `add_postings` of a field writer that takes `SortedPostings`) is fast; `save` (Whoosh's
    single-segment multiprocess writer) turns the arrays back into Whoosh's sorted runs."""

    def __init__(self, tempstore, segment, limitmb: int = 128, **kwargs) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self._reset()

    def _reset(self) -> None:
        self.terms: dict[tuple[str, bytes], int] = {}
        self.tids = array("I")
        self.docs = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []           # each posting's value (b"": none)

    def add(self, item) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        if docnum < 0:                           # Whoosh's spelling words: not postings
            return
        terms = self.terms
        key = (fieldname, tbytes)
        tid = terms.get(key)
        if tid is None:
            tid = terms[key] = len(terms)
            self.fieldnames.add(fieldname)
        self.values.append(vbytes or b"")
        self.tids.append(tid)
        self.docs.append(docnum)
        self.weights.append(weight)

    def _tuples(self):
        keys = list(self.terms)
        values = self.values
        for i, (tid, doc, weight) in enumerate(zip(self.tids, self.docs, self.weights)):
            fieldname, tbytes = keys[tid]
            yield fieldname, tbytes, doc, weight, values[i]

    def save(self) -> None:
        self.current.extend(self._tuples())
        self._reset()
        super().save()

    def iter_postings(self):
        if self.runs:                            # (after `save`): Whoosh's merge of its runs
            self.current.extend(self._tuples())
            self._reset()
            return super().iter_postings()
        postings = SortedPostings(self)
        self._reset()
        return postings


class SortedPostings:
    """A pool's postings ordered by field, term and document. Iterating yields Whoosh's tuples
    (any field writer takes them); `write` fills a W3 field writer's blocks a slice at a time."""

    def __init__(self, pool: ArrayPool) -> None:
        keys = list(pool.terms)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), np.int64)
        rank[order] = np.arange(len(keys))
        tids = np.frombuffer(pool.tids, np.uint32)
        docs = np.frombuffer(pool.docs, np.uint32)
        postings = np.lexsort((docs, rank[tids])) if tids.size else np.zeros(0, np.int64)
        self.keys = [keys[i] for i in order]                 # terms in order
        self.docs = docs[postings]
        self.weights = np.frombuffer(pool.weights, np.float64)[postings]
        counts = np.bincount(rank[tids], minlength=len(keys)) if tids.size else np.zeros(0, np.int64)
        self.ends = np.cumsum(counts)                         # each term's postings end here
        values = pool.values
        self.values = [values[i] for i in postings.tolist()]

    def __iter__(self):
        start = 0
        values = self.values
        for (fieldname, tbytes), end in zip(self.keys, self.ends.tolist()):
            for i in range(start, end):
                yield fieldname, tbytes, int(self.docs[i]), float(self.weights[i]), values[i]
            start = end

    def write(self, fieldwriter, schema, lengths) -> None:
        """Write every term through `fieldwriter` (a W3FieldWriter): Whoosh's `add_postings`,
        with each block's arrays cut from the sorted ones and its statistics (highest weight,
        shortest and longest field length) computed for all blocks at once."""
        if not self.keys:
            return
        limit = fieldwriter._codec._blocklimit
        ends = self.ends
        counts = np.diff(ends, prepend=0)
        blocks_of = -(-counts // limit)
        first_block = np.cumsum(blocks_of) - blocks_of
        term_of = np.repeat(np.arange(len(counts)), blocks_of)
        starts = (ends - counts)[term_of] + (np.arange(term_of.size) - first_block[term_of]) * limit
        # each posting's field length (Whoosh's statistics skip none and 0 alike)
        ndocs = int(self.docs.max()) + 1
        doc_lengths = np.zeros(self.docs.size, np.int64)
        keys = self.keys
        edges = [0] + [i for i in range(1, len(keys)) if keys[i][0] != keys[i - 1][0]] + [len(keys)]
        for first, last in zip(edges, edges[1:]):         # each field's terms (they are together)
            a, b = (int(ends[first - 1]) if first else 0), int(ends[last - 1])
            doc_lengths[a:b] = _doc_lengths(lengths, keys[first][0], ndocs)[self.docs[a:b]]
        max_weight = np.maximum(np.maximum.reduceat(self.weights, starts), 0).tolist()
        big = np.iinfo(np.int64).max
        min_length = np.minimum.reduceat(np.where(doc_lengths > 0, doc_lengths, big), starts).tolist()
        max_length = np.maximum.reduceat(doc_lengths, starts).tolist()
        ids = self.docs.astype("=u4").tobytes()
        weights = self.weights.astype("=f4").tobytes()
        values = self.values
        has_values = any(values)
        block = 0
        start = 0
        current = None
        for (fieldname, tbytes), end in zip(self.keys, ends.tolist()):
            if fieldname != current:
                if current is not None:
                    fieldwriter.finish_field()
                fieldwriter.start_field(fieldname, schema[fieldname])
                current = fieldname
            fieldwriter.start_term(tbytes)
            postwriter = fieldwriter._postwriter
            for a in range(start, end, limit):
                b = min(a + limit, end)
                if postwriter._ids:              # the previous block is full (Whoosh's add_posting)
                    postwriter._write_block()
                block_ids = array("I")
                block_ids.frombytes(ids[4 * a:4 * b])
                block_weights = array("f")
                block_weights.frombytes(weights[4 * a:4 * b])
                postwriter._ids = block_ids
                postwriter._weights = block_weights
                postwriter._values = [v for v in values[a:b] if v] if has_values else []
                postwriter._maxweight = max_weight[block]
                shortest = min_length[block]
                postwriter._minlength = None if shortest == big else shortest
                postwriter._maxlength = max_length[block]
                block += 1
            fieldwriter.finish_term()
            start = end
        fieldwriter.finish_field()


def _doc_lengths(lengths, fieldname: str, ndocs: int) -> np.ndarray:
    """Every document's length of a field as the per-document reader gives it (0 for none:
    Whoosh's block statistics skip a missing length and a zero alike)."""
    if not lengths:
        return np.zeros(ndocs, np.int64)
    dfl = lengths.doc_field_length
    return np.fromiter((dfl(d, fieldname) or 0 for d in range(ndocs)), np.int64, ndocs)


def _segment_writer_init(self, *args, **kwargs) -> None:
    _whoosh_init(self, *args, **kwargs)
    if hasattr(self.fieldwriter, "pairs"):      # a field writer of ours: takes SortedPostings
        self.pool = ArrayPool(self._tempstorage, self.newsegment, limitmb=self.pool.limit >> 20)


_whoosh_init = getattr(SegmentWriter.__init__, "whoosh", SegmentWriter.__init__)
_segment_writer_init.whoosh = _whoosh_init       # type: ignore[attr-defined]


def install() -> None:
    """Give every segment writer whose field writer takes `SortedPostings` an ArrayPool."""
    SegmentWriter.__init__ = _segment_writer_init
