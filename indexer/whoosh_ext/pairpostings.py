"""Word-pair postings kept out of Whoosh: gathered as arrays while a segment is written, then
sorted and laid out with numpy straight into the segment's sidecar (`sidecar`).

Pairs (`schema.PairField`) are two thirds of a document's postings and most of a segment's
terms, nearly all met in one document. Through Whoosh each posting was a tuple in its sorting
pool and each term its own pickled, compressed block and hash-table entry (benchmarks/README.md,
fifth round). Only `matchsets` reads
pairs (phrases), from the sidecar; so, when the segment's field writer keeps a sidecar, the
writer hands the pairs to it instead of to Whoosh (`install`). Merges copy them from the
source segments' sidecars (or, for a segment written before, from Whoosh's postings).
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from whoosh.writing import SegmentWriter

from ..schema import PairField, unpack_positions

_U16 = 1 << 16


@dataclass
class EncodedField:
    """One pair field's terms and their sidecar data: `offsets` are relative to `data`."""

    fieldname: str
    texts: list[bytes]
    data: np.ndarray          # uint8
    offsets: np.ndarray       # int64, one a term
    counts: np.ndarray        # postings a term
    npos: np.ndarray          # positions a term
    widths: tuple[int, int, int]  # bytes an id, a count, a position (2 or 4: the whole field)


class FieldPairs:
    """The pair postings of one field of a segment being written, in the order they came."""

    def __init__(self) -> None:
        self.terms: dict[str, int] = {}
        self.tids = array("I")
        self.docs = array("I")
        self.counts = array("I")
        self.positions = array("I")

    def add(self, docnum: int, found: dict[str, list[int]]) -> None:
        """A document's pairs (`JiebaPairTokenizer.pair_positions`)."""
        terms = self.terms
        self.tids.extend([terms.setdefault(p, len(terms)) for p in found])
        self.docs.extend(repeat(docnum, len(found)))
        starts = found.values()
        self.counts.extend(map(len, starts))
        for s in starts:
            self.positions.extend(s)

    def add_postings(self, text: str, docs: np.ndarray, counts: np.ndarray, positions: np.ndarray) -> None:
        """A term's postings in ascending document order (merges)."""
        tid = self.terms.setdefault(text, len(self.terms))
        self.tids.extend(repeat(tid, len(docs)))
        self.docs.frombytes(docs.astype("<u4").tobytes())
        self.counts.frombytes(counts.astype("<u4").tobytes())
        self.positions.frombytes(positions.astype("<u4").tobytes())

    def encode(self, fieldname: str) -> EncodedField:
        """Every term's postings as the sidecar stores them: ids, then the count of positions of
        each posting, then the positions; uint16 where every value of the field fits. Documents
        come in ascending order, so a stable sort by term keeps each term's postings in order."""
        texts = [t.encode("utf-8") for t in self.terms]
        n_terms = len(texts)
        tids = np.frombuffer(self.tids, np.uint32).astype(np.int64)
        docs = np.frombuffer(self.docs, np.uint32)
        counts = np.frombuffer(self.counts, np.uint32).astype(np.int64)
        positions = np.frombuffer(self.positions, np.uint32)
        order = np.argsort(tids, kind="stable")
        tids, docs = tids[order], docs[order]
        pos_from = (np.cumsum(counts) - counts)[order]
        counts = counts[order]
        pos_to = np.cumsum(counts) - counts
        total = int(counts.sum())
        positions = positions[np.repeat(pos_from - pos_to, counts) + np.arange(total)]

        wi = 2 if not docs.size or int(docs.max()) < _U16 else 4
        wc = 2 if not counts.size or int(counts.max()) < _U16 else 4
        wp = 2 if not positions.size or int(positions.max()) < _U16 else 4
        term_postings = np.bincount(tids, minlength=n_terms)
        term_npos = np.bincount(tids, weights=counts, minlength=n_terms).astype(np.int64)
        term_bytes = term_postings * (wi + wc) + term_npos * wp
        term_at = np.cumsum(term_bytes) - term_bytes
        data = np.zeros(int(term_bytes.sum()), np.uint8)
        first_posting = np.cumsum(term_postings) - term_postings
        k = np.arange(tids.size) - first_posting[tids]
        _scatter(data, term_at[tids] + k * wi, docs, wi)
        _scatter(data, term_at[tids] + term_postings[tids] * wi + k * wc, counts, wc)
        owner = np.repeat(tids, counts)
        first_position = np.cumsum(term_npos) - term_npos
        kp = np.arange(total) - first_position[owner]
        _scatter(data, term_at[owner] + term_postings[owner] * (wi + wc) + kp * wp, positions, wp)
        return EncodedField(fieldname, texts, data, term_at, term_postings, term_npos, (wi, wc, wp))


def _scatter(out: np.ndarray, at: np.ndarray, values: np.ndarray, width: int) -> None:
    """Write each value as `width` little-endian bytes at its byte offset in `out`."""
    if not values.size:
        return
    raw = values.astype(f"<u{width}").view(np.uint8).reshape(-1, width)
    out[at[:, None] + np.arange(width)] = raw


class PairPostings:
    """The pair postings of a segment being written, by field."""

    def __init__(self) -> None:
        self.fields: dict[str, FieldPairs] = {}

    def field(self, fieldname: str) -> FieldPairs:
        found = self.fields.get(fieldname)
        if found is None:
            found = self.fields[fieldname] = FieldPairs()
        return found

    def encode(self) -> list[EncodedField]:
        return [self.fields[name].encode(name) for name in sorted(self.fields) if self.fields[name].terms]


_names: dict[int, tuple[object, tuple[str, ...]]] = {}


def pair_names(schema) -> tuple[str, ...]:
    """The schema's pair fields (remembered per schema object)."""
    found = _names.get(id(schema))
    if found is None or found[0] is not schema:
        found = _names[id(schema)] = (schema, tuple(n for n, f in schema.items() if isinstance(f, PairField)))
    return found[1]  # type: ignore[return-value]


def _add_document(self: SegmentWriter, **fields) -> None:
    """Whoosh's add_document, with the pair fields given to the field writer's sidecar."""
    pairs: PairPostings | None = getattr(self.fieldwriter, "pairs", None)
    names = pair_names(self.schema) if pairs is not None else ()
    values = [(name, fields.pop(name)) for name in names if name in fields]
    docnum = self.docnum
    _whoosh_add_document(self, **fields)
    for name, value in values:
        if value:
            found = self.schema[name].analyzer.pair_positions(value, True)
            if found:
                pairs.field(name).add(docnum, found)  # type: ignore[union-attr]


def _add_postings_to_pool(self: SegmentWriter, reader, startdoc: int, docmap) -> None:
    """Whoosh's merge of another segment's postings, with its pairs given to the sidecar: from
    the segment's sidecar, or from Whoosh's postings if the segment was written before."""
    pairs: PairPostings | None = getattr(self.fieldwriter, "pairs", None)
    names = set(pair_names(self.schema)) if pairs is not None else set()
    if not names:
        return _whoosh_add_postings_to_pool(self, reader, startdoc, docmap)
    add_post = self.pool.add
    for item in self._process_posts(reader.iter_postings(), startdoc, docmap):
        if item[0] in names:
            starts = unpack_positions(item[4] or b"")
            pairs.field(item[0]).add_postings(item[1].decode("utf-8"), np.array([item[2]]),
                                              np.array([starts.size]), starts)
        else:
            add_post(item)
    from .sidecar import open_sidecar

    side = open_sidecar(reader)
    if side is None:
        return
    n = reader.doc_count_all()
    if docmap is None:
        new = np.arange(startdoc, startdoc + n, dtype=np.int64)
    else:
        new = np.full(n, -1, dtype=np.int64)
        if docmap:
            old = np.fromiter(docmap.keys(), np.int64, len(docmap))
            new[old] = np.fromiter(docmap.values(), np.int64, len(docmap))
    for name in sorted(names):
        target = pairs.field(name)
        for btext in side.pair_terms(name):
            found = side.find(name, btext)
            if found is None:
                continue
            ids, _, counts, positions = found
            mapped = new[ids]
            keep = mapped >= 0
            if keep.all():
                target.add_postings(btext.decode("utf-8"), mapped, counts, positions)
            elif keep.any():
                target.add_postings(btext.decode("utf-8"), mapped[keep], counts[keep],
                                    positions[np.repeat(keep, counts.astype(np.int64))])


# Whoosh's own methods (kept on ours, so that a second import does not wrap ours)
_whoosh_add_document = getattr(SegmentWriter.add_document, "whoosh", SegmentWriter.add_document)
_whoosh_add_postings_to_pool = getattr(SegmentWriter.add_postings_to_pool, "whoosh",
                                       SegmentWriter.add_postings_to_pool)
_add_document.whoosh = _whoosh_add_document                       # type: ignore[attr-defined]
_add_postings_to_pool.whoosh = _whoosh_add_postings_to_pool       # type: ignore[attr-defined]


def install() -> None:
    """Route pair fields to the sidecar in every segment writer (idempotent)."""
    SegmentWriter.add_document = _add_document
    SegmentWriter.add_postings_to_pool = _add_postings_to_pool
