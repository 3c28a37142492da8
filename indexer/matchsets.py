"""Exact match sets as bitsets: what a query matches, counted without scoring.

Whoosh finds the set of matching documents by walking its matchers one document at a time (and
`search(..., terms=True)` walks it three times: to score, to count, to list for the facets). At
100,000 documents a common word matches tens of thousands of them, which costs seconds in Python.
Here a query's match set is computed as a Python int used as a bitset over global document numbers:
each term's posting list is read as numpy arrays (ids, weights) from the segment's sidecar
(`whoosh_ext.sidecar`: in place, nothing decoded), or else decoded from Whoosh's blocks once per
segment and process (`SegmentCache`; what reads Whoosh's insides is in `whoosh_ext.reading`),
and/or/not are integer operations; facet counts are popcounts of the match set against one bitset
per facet value; the BM25F ranking is array arithmetic over the postings. Two-word phrases are one
lookup in the field's pair field (`bodyp`, `titlep` …); longer ones AND their pairs, then check that the positions of a few pairs
line up in the documents left (the pairs' positions from the sidecar, or from Whoosh's blocks
where a segment has none).

`MatchSets(searcher)` is kept per searcher (`for_searcher`); it caches the bitsets of recent terms.
Anything this module does not know how to evaluate falls back to Whoosh's own matcher, so the sets
are always those Whoosh would give (the tests compare them).
"""
from __future__ import annotations

import heapq
import re
import threading
from collections import OrderedDict
from itertools import chain
from typing import TYPE_CHECKING, Iterable

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from .analysis import pair_term
from .schema import PackedPositions, pair_field, unpack_facets, unpack_positions
from .whoosh_ext import reading

if TYPE_CHECKING:
    from .whoosh_ext.sidecar import Sidecar

# A term's positions are decoded whole (and kept) when a check needs more than this share of its
# blocks in a segment, or more than this many of them; otherwise just those blocks are read.
WHOLE_POSITIONS_SHARE = 0.25
WHOLE_POSITIONS_BLOCKS = 16
SINGLE_CHECKS = 8         # phrase checks document by document before checking the rest at once
TERM_CACHE = 512          # term bitsets kept per searcher (a 100k-document bitset is 12.5 kB)
SEGMENT_CACHE_BYTES = 256 << 20    # decoded postings, lengths, facets kept per process (all searchers)
USE_SIDECARS = True       # read postings from each segment's sidecar where it has one (`sidecar`)
_ONE = re.compile(b"\x01")
# byte → the 8 bytes (0 or 1) of its bits, least significant first: bitset → one byte per document
_EXPAND = [bytes((b >> i) & 1 for i in range(8)) for b in range(256)]


def bits_of(ids: Iterable[int], size: int) -> int:
    """The bitset of some document numbers."""
    ba = bytearray((size >> 3) + 1)
    for d in ids:
        ba[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(ba, "little")


def bytemap(bits: int, size: int) -> bytes:
    """One byte (0 or 1) per document: membership tests and scans at C speed."""
    raw = bits.to_bytes((size >> 3) + 1, "little")
    return b"".join([_EXPAND[b] for b in raw])[:size]


def from_mask(mask: np.ndarray) -> int:
    """The bitset of a boolean array over document numbers."""
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def to_mask(bits: int, size: int) -> np.ndarray:
    """A boolean array over document numbers from a bitset."""
    raw = np.frombuffer(bits.to_bytes((size >> 3) + 1, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:size].view(bool)


def docnums(bits: int, size: int) -> list[int]:
    """The document numbers in a bitset, ascending."""
    return [m.start() for m in _ONE.finditer(bytemap(bits, size))]


class SegmentCache:
    """What was decoded from a segment, shared by every searcher of the process and kept across
    refreshes: a segment never changes once written (deletions are read per searcher), so after
    an upload's commit only the new small segment is read again, not the whole index. Entries are
    keyed by the segment's id; least recently used ones go beyond `limit` bytes."""

    def __init__(self, limit: int = SEGMENT_CACHE_BYTES):
        self.limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple, make):
        """The cached value of `key`, or `make()` (computed outside the lock) kept as it."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = make()
        # arrays' data plus what holding an entry costs (key, node, array headers: ~600 bytes)
        size = _nbytes(value) + 600 + sum(len(k) for k in key if isinstance(k, (bytes, str)))
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
                while self._bytes > self.limit and len(self._items) > 1:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return value

    def peek(self, key: tuple):
        """The cached value of `key`, or None (nothing computed)."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(_nbytes(v) + 64 for v in value.values())
    return 64


segment_cache = SegmentCache()


class MatchSets:
    """Match sets, facet bitsets and term bitsets for one searcher (one view of the index)."""

    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self.size = searcher.doc_count_all()
        self.leaves = [(s.reader(), offset) for s, offset in searcher.leaf_searchers()
                       if s.reader().doc_count_all()]          # (an empty index: none)
        deleted = [off + d for r, off in self.leaves if r.has_deletions() for d in _deleted(r)]
        self.all = (1 << self.size) - 1
        self.live = self.all & ~bits_of(deleted, self.size) if deleted else self.all
        self._terms: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self._segids = [_segment_key(r) for r, _ in self.leaves]
        self._phrases: dict[tuple, tuple[int, int]] = {}    # phrase → (matched, checked) bitsets
        self._norm_cache: dict[tuple, np.ndarray] = {}
        self._facets: list[tuple[str, str, int]] | None = None
        self._sidecars: list[Sidecar | None] | None = None

    def sidecars(self, fieldname: str | None = None) -> list[Sidecar | None]:
        """Each segment's posting sidecar (None: read through Whoosh), opened on first use.
        Without USE_SIDECARS (comparisons), a pair field's only where its pairs are nowhere else."""
        if self._sidecars is None:
            self._sidecars = [reading.open_sidecar(r) for r, _ in self.leaves]
        if USE_SIDECARS:
            return self._sidecars
        pairs = fieldname is not None and isinstance(self.searcher.schema[fieldname].format, PackedPositions)
        return [s if pairs and s is not None and s.holds_pairs else None for s in self._sidecars]

    # -- terms and queries ------------------------------------------------------------------------

    def term(self, fieldname: str, text) -> int:
        """The documents holding a term (deleted ones included; `query` removes them)."""
        field = self.searcher.schema[fieldname]
        btext = text if isinstance(text, bytes) else field.to_bytes(text)
        key = (fieldname, btext)
        bits = self._terms.get(key)
        if bits is not None:
            self._terms.move_to_end(key)
            return bits
        ids, _ = self.postings(fieldname, btext)
        mask = np.zeros(self.size, dtype=bool)
        mask[ids] = True
        bits = from_mask(mask)
        self._terms[key] = bits
        if len(self._terms) > TERM_CACHE:
            self._terms.popitem(last=False)
        return bits

    def postings(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Global document numbers (ascending) and weights of a term's postings in every segment,
        deletions included. Each segment's part is decoded once per process (`segment_cache`),
        so that ranking and match sets are array operations, not a Python loop per posting."""
        id_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for (reader, off), segid, side in zip(self.leaves, self._segids, self.sidecars(fieldname)):
            key = (segid, "postings", fieldname, btext)
            if side is not None:            # read in place (nothing to decode); kept as arrays
                ids, weights = segment_cache.get(key, lambda: _sidecar_postings(side, fieldname, btext))
                if not ids.size:
                    continue
            else:
                if (fieldname, btext) not in reader:
                    continue
                ids, weights = segment_cache.get(key, lambda: _segment_postings(reader, fieldname, btext))
            id_parts.append(ids + off if off else ids)
            weight_parts.append(weights)
        if not id_parts:
            return np.zeros(0, np.int32), np.zeros(0, np.float64)
        if len(id_parts) == 1:
            return id_parts[0], weight_parts[0]
        return np.concatenate(id_parts), np.concatenate(weight_parts)

    # -- ranking ----------------------------------------------------------------------------------

    def top(self, q: wq.Query, allowed: int, limit: int) -> list[tuple[float, int]] | None:
        """The best `limit` (score, document number) pairs among the documents of `allowed`, with
        Whoosh's BM25F scores (the sum over the query's positive terms present in a document, each
        times its boosts; phrases score as their words); None when the query has parts scored
        otherwise (coordination, max), which the caller leaves to Whoosh."""
        leaves: list[tuple] = []
        if not _scoring_leaves(q, 1.0, leaves, self.searcher.schema):
            return None
        weighting = self.searcher.weighting
        if type(weighting).__name__ != "BM25F":
            return None
        constant = sum(boost for fieldname, _, boost, cond in leaves if fieldname is None and not cond)
        size = self.size
        scores = np.zeros(size)
        # every document of the set matches, so every one has a score (a query of NOT alone: the
        # constant)
        touched = to_mask(allowed, size).copy()
        # A leaf scores only where its conditions hold (`_scoring_leaves`): the phrase it is a word
        # of matched, the AND branch of an OR it sits in matched. An OR's phrase alternative was
        # checked only where the plain word did not match (`_eval`); elsewhere its words' scores
        # are kept apart (`pending`) and the phrase is checked, document by document, only for
        # documents that could still enter the top with them (an exact threshold, as in max-score
        # pruning).
        pending: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        maps: dict[tuple, tuple[np.ndarray, np.ndarray | None]] = {}
        for fieldname, btext, boost, cond in leaves:
            if fieldname is None and not cond:
                continue
            if cond not in maps:
                maps[cond] = self._condition(cond, allowed)
            known, unknown = maps[cond]
            if fieldname is None:          # a NOT inside an OR's branch: 1 where the branch holds
                scores[known] += boost
                continue
            field = self.searcher.schema[fieldname]
            ids, weights = self.postings(fieldname, btext)
            if not len(ids):
                continue                   # absent (Whoosh never scores it; idf of nothing)
            if field.scorable:
                idf = self.searcher.idf(fieldname, btext)
                k1 = weighting.K1
                norms = self._norms(fieldname, reading.bm25f_b(weighting, self.searcher, fieldname, btext), k1)
                # the same operations, in the same order, as Whoosh's BM25F
                contribution = (boost * idf * (k1 + 1)) * weights / (weights + norms[ids])
            else:
                contribution = boost * weights
            here = known[ids]
            scores[ids[here]] += contribution[here]
            if unknown is not None:
                sums, seen = pending.get(cond) or pending.setdefault(
                    cond, (np.zeros(size), np.zeros(size, dtype=bool)))
                later = unknown[ids] & ~here
                sums[ids[later]] += contribution[later]
                seen[ids[later]] = True
        if not any(seen.any() for _, seen in pending.values()):
            candidates = np.flatnonzero(touched)
            return _best(candidates, scores[candidates] + constant, limit)
        bound = scores.copy()
        for sums, _ in pending.values():
            bound += sums
        candidates = np.flatnonzero(touched)
        order = np.lexsort((candidates, -bound[candidates]))
        ordered, uppers = candidates[order], bound[candidates][order]
        best: list[tuple[float, int]] = []           # a min-heap of (score, -docnum)
        verified: dict[tuple, np.ndarray] | None = None    # after too many single checks: all at once
        for i in range(len(ordered)):
            g, upper = int(ordered[i]), float(uppers[i])
            if len(best) >= limit and upper < best[0][0]:
                break
            if verified is None and i >= SINGLE_CHECKS:
                floor = best[0][0] if len(best) >= limit else float("-inf")
                rest = bits_of(ordered[i:][uppers[i:] >= floor].tolist(), size)
                verified = {cond: to_mask(self.phrase(cond[0][1], list(cond[0][2]), rest), size)
                            for cond in pending}
            score = float(scores[g])
            for cond, (sums, seen) in pending.items():
                if seen[g] and (verified[cond][g] if verified is not None
                                else self._phrase_at(cond[0][1], list(cond[0][2]), g)):
                    score += float(sums[g])
            item = (score, -g)
            if len(best) < limit:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
        return [(v + constant, -ng) for v, ng in sorted(best, reverse=True)]

    def _condition(self, cond: tuple, allowed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(documents of `allowed` where the conditions are known to hold, documents where a lone
        phrase condition was not checked yet, or None)."""
        size = self.size
        if not cond:
            return to_mask(allowed, size), None
        if len(cond) == 1 and cond[0][0] == "phrase":
            bits, checked = self._phrases.get(cond[0][1:], (0, 0))
            return (to_mask(allowed & bits, size),
                    to_mask(allowed & ~checked, size) if allowed & ~checked else None)
        bits = allowed
        for kind, *what in cond:
            bits &= self.phrase(what[0], list(what[1]), bits) if kind == "phrase" else self._eval(what[0], bits)
            if not bits:
                break
        return to_mask(bits, size), None

    def _phrase_at(self, fieldname: str, words: list[str], g: int) -> bool:
        """Whether the phrase occurs in one document (blocks without it are skipped unread)."""
        return bool(self.phrase(fieldname, words, 1 << g))

    def _norms(self, fieldname: str, b: float, k1: float) -> np.ndarray:
        """K1 * (1 - B + B * length / average length) of every document for one field (the part of
        BM25's denominator that depends on the document), from the lengths Whoosh stores."""
        key = (fieldname, b, k1)
        cached = self._norm_cache.get(key)
        if cached is not None:
            return cached
        avg = self.searcher.avg_field_length(fieldname) or 1
        table = np.array([k1 * ((1 - b) + b * (byte_to_length(i) if i else 1) / avg) for i in range(256)])
        parts: list[np.ndarray] = []
        for (reader, _), segid in zip(self.leaves, self._segids):
            lengths = segment_cache.get((segid, "lengths", fieldname), lambda: reading.length_bytes(reader, fieldname))
            parts.append(table[lengths])
        norms = np.concatenate(parts) if parts else np.zeros(0)
        self._norm_cache[key] = norms
        return norms

    def to_bytes(self, fieldname: str, text) -> bytes:
        return text if isinstance(text, bytes) else self.searcher.schema[fieldname].to_bytes(text)

    def query(self, q: wq.Query, within: int | None = None) -> int:
        """The live documents `q` matches (among `within`), exactly as Whoosh would match them."""
        self._phrases = {}
        mask = self.live if within is None else within & self.live
        return self._eval(q, mask) & mask

    def within(self, q: wq.Query, mask: int) -> int:
        """The live documents of `mask` that `q` matches (the phrases of the last `query` stay
        known: `phrase_bits`)."""
        mask &= self.live
        return self._eval(q, mask) & mask

    def phrase_bits(self, q: wq.Phrase) -> int | None:
        """The documents a phrase of the last `query` matched (among those it was checked in)."""
        found = self._phrases.get((q.fieldname, tuple(q.words)))
        return found[0] if found else None

    def _eval(self, q: wq.Query, mask: int) -> int:
        """The documents of `mask` that `q` matches (documents outside `mask` may be included
        or not: callers intersect). `mask` lets costly parts (phrases) look at fewer documents."""
        if isinstance(q, wq.Term):
            if q.fieldname not in self.searcher.schema:
                return 0
            return self.term(q.fieldname, q.text)
        if isinstance(q, (wq.And, wq.Or, wq.DisjunctionMax)) and not getattr(q, "minmatch", 0):
            subs = q.subqueries
            if not subs:
                return 0
            if isinstance(q, wq.And):
                # cheap parts first, so that phrases are checked in fewer documents
                bits = mask
                for s in sorted(subs, key=_cost):
                    bits &= (~self._eval(s.query, bits)) if isinstance(s, wq.Not) else self._eval(s, bits)
                    if not bits:
                        break
                return bits
            bits = 0
            for s in sorted(subs, key=_cost):
                # a document already matched need not be checked by a costlier alternative (a
                # NOT alternative: the documents of the mask its query does not match)
                bits |= self._eval(s, mask & ~bits)
            return bits
        elif isinstance(q, wq.AndNot):
            bits = self._eval(q.a, mask)
            return bits & ~self._eval(q.b, bits)
        elif isinstance(q, wq.AndMaybe):
            return self._eval(q.a, mask)
        elif isinstance(q, wq.Not):
            return mask & ~self._eval(q.query, mask)
        elif isinstance(q, wq.Every) and not q.fieldname:
            return self.all
        elif q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return 0
        elif isinstance(q, wq.Phrase) and q.slop == 1:
            if len(q.words) == 2 and pair_field(q.fieldname) in self.searcher.schema:
                mask = self.all            # one term lookup: known for every document
            bits = self.phrase(q.fieldname, list(q.words), mask)
            key = (q.fieldname, tuple(q.words))
            old_bits, old_checked = self._phrases.get(key, (0, 0))
            self._phrases[key] = (old_bits | bits, old_checked | mask)
            return bits
        elif isinstance(q, wq.ConstantScoreQuery):
            return self._eval(q.child, mask)
        # anything else: Whoosh's own matcher
        return bits_of(self.searcher.docs_for_query(q), self.size)

    def phrase(self, fieldname: str, words: list[str], mask: int | None = None) -> int:
        """Documents (of `mask`) where the words occur at consecutive positions (Whoosh's
        Phrase, slop 1)."""
        if fieldname not in self.searcher.schema:
            return 0
        field = self.searcher.schema[fieldname]
        try:
            btexts = [field.to_bytes(w) for w in words]
        except ValueError:
            return 0
        if len(btexts) == 1:
            return self.term(fieldname, btexts[0])
        cand = self.all if mask is None else mask
        pairs = pair_field(fieldname)
        if pairs not in self.searcher.schema:            # no pair field: the words' positions
            for bt in btexts:
                cand &= self.term(fieldname, bt)
                if not cand:
                    return 0
            return self._aligned(fieldname, [(bt, i) for i, bt in enumerate(btexts)], cand)
        terms = [self.to_bytes(pairs, pair_term(a, b)) for a, b in zip(words, words[1:])]
        for bt in terms:
            cand &= self.term(pairs, bt)
            if not cand:
                return 0
        if len(terms) == 1:
            return cand                # exact: the pair field holds every adjacent pair
        # The pairs at even offsets and the last one cover every word; where their positions line
        # up, the whole phrase is there (each pair fixes two words at their positions).
        cover = list(range(0, len(terms), 2))
        if cover[-1] != len(terms) - 1:
            cover.append(len(terms) - 1)
        return self._aligned(pairs, [(terms[i], i) for i in cover], cand)

    def _aligned(self, fieldname: str, terms: list[tuple[bytes, int]], cand: int) -> int:
        """Documents of `cand` with a start position p where each (term, offset) occurs at
        p + offset. Positions are read for the candidates only, rarest term first; each term
        narrows the candidates and their possible starts, kept as one sorted array of
        (document << 32 | start) keys and intersected by binary search."""
        terms = sorted(terms, key=lambda t: self.term(fieldname, t[0]).bit_count())
        allowed = to_mask(cand, self.size)
        allowed_ids = np.flatnonzero(allowed)
        packed = isinstance(self.searcher.schema[fieldname].format, PackedPositions)
        keys: np.ndarray | None = None
        for btext, offset in terms:
            doc_parts, pos_parts = [], []
            for (reader, off), segid, side in zip(self.leaves, self._segids, self.sidecars(fieldname)):
                first = int(np.searchsorted(allowed_ids, off))
                if first >= allowed_ids.size or allowed_ids[first] >= off + reader.doc_count_all():
                    continue              # no candidate in this segment
                if packed and side is not None:
                    found = side.find(fieldname, btext)
                    if found is not None:
                        docs, positions = _sidecar_positions(found, allowed, off)
                        doc_parts.append(docs)
                        pos_parts.append(positions)
                    continue
                if (fieldname, btext) not in reader:
                    continue
                for docs, positions in self._positions_in(reader, off, segid, fieldname, btext, allowed,
                                                          allowed_ids, packed):
                    doc_parts.append(docs)
                    pos_parts.append(positions)
            if not doc_parts:
                return 0
            docs, positions = np.concatenate(doc_parts), np.concatenate(pos_parts)
            keep = positions >= offset
            here = (docs[keep] << 32) | (positions[keep] - offset)
            # ascending already (documents in order, each one's positions in order): no sort
            if here.size > 1 and not (here[1:] >= here[:-1]).all():
                here.sort()
            if keys is None:
                keys = here
            elif here.size:
                at = np.minimum(np.searchsorted(here, keys), here.size - 1)
                keys = keys[here[at] == keys]
            else:
                return 0
            if not keys.size:
                return 0
            allowed = np.zeros(self.size, dtype=bool)
            allowed[keys >> 32] = True
            allowed_ids = np.unique(keys >> 32)
        return from_mask(allowed)

    def _positions_in(self, reader, off: int, segid: tuple, fieldname: str, btext: bytes,
                      allowed: np.ndarray, allowed_ids: np.ndarray, packed: bool):
        """(global document, position) of a term's occurrences in one segment's documents of
        `allowed`. A term whose candidates are in many of its blocks (WHOLE_POSITIONS_SHARE,
        WHOLE_POSITIONS_BLOCKS) is decoded whole once and kept (`segment_cache`: a common
        pair such as `gb t` is a few MB); otherwise only the blocks holding candidates are read
        (`reading.block_directory`)."""
        key = (segid, "positions", fieldname, btext)
        whole = segment_cache.peek(key)
        if whole is None:
            directory = segment_cache.get((segid, "blocks", fieldname, btext),
                                          lambda: reading.block_directory(reading.raw_postings(reader, fieldname, btext)))
            holding = _holding_blocks(directory, allowed_ids - off) if directory is not None else None
            needed = int(holding.sum()) if holding is not None else 0
            if holding is None or needed > WHOLE_POSITIONS_SHARE * holding.size or needed > WHOLE_POSITIONS_BLOCKS:
                whole = segment_cache.get(key, lambda: _all_positions(reading.raw_postings(reader, fieldname, btext), packed))
            else:
                m = reading.raw_postings(reader, fieldname, btext)
                yield from _block_positions(reading.chosen_blocks(m, directory[0], holding), allowed, off, packed)
                return
        docs, positions = whole
        docs = docs.astype(np.int64) + off
        keep = allowed[docs]
        yield docs[keep], positions[keep].astype(np.int64)

    # -- facets -----------------------------------------------------------------------------------

    def facets(self, bits: int, names: Iterable[str]) -> dict[str, dict[str, int]]:
        """Facet counts over the documents of `bits`, from one bitset per facet value."""
        if self._facets is None:
            self._facets = self._facet_bits()
        counts: dict[str, dict[str, int]] = {name: {} for name in names}
        for name, value, fbits in self._facets:
            if name in counts:
                n = (fbits & bits).bit_count()
                if n:
                    counts[name][value] = n
        return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in counts.items()}

    def _facet_bits(self) -> list[tuple[str, str, int]]:
        """One bitset per facet value, from each segment's members (decoded once per process)."""
        members: dict[tuple[str, str], list[np.ndarray]] = {}
        for (reader, off), segid in zip(self.leaves, self._segids):
            local = segment_cache.get((segid, "facets"), lambda: _segment_facets(reader))
            for value, docs in local.items():
                members.setdefault(value, []).append(docs + off)
        out = []
        for (name, value), parts in members.items():
            mask = np.zeros(self.size, dtype=bool)
            for docs in parts:
                mask[docs] = True
            out.append((name, value, from_mask(mask)))
        return out


def _deleted(reader) -> Iterable[int]:
    """The deleted document numbers of a segment (whoosh-reloaded keeps them as a set)."""
    found = getattr(reader, "deleted_docs_set", None)
    if found is not None:
        return found
    return (d for d in range(reader.doc_count_all()) if reader.is_deleted(d))


def _segment_key(reader) -> tuple:
    """A segment's identity for the cache (its random id, and its size as a guard)."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    if segment is None:
        return ("reader", id(reader))
    return (segment.segment_id(), reader.doc_count_all())


def _segment_postings(reader, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment: local ids (int32) and weights, all blocks decoded."""
    m = reading.raw_postings(reader, fieldname, btext)
    id_parts, weight_parts = [], []
    for ids, weights in reading.block_arrays(m):
        id_parts.append(ids)
        weight_parts.append(weights)
    if not id_parts:
        return np.zeros(0, np.int32), np.zeros(0, np.float64)
    return np.concatenate(id_parts).astype(np.int32), np.concatenate(weight_parts)


def _sidecar_postings(side: Sidecar, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment from its sidecar: local ids (int32) and weights (empty:
    not in the segment, kept too so that the next query does not look again)."""
    found = side.find(fieldname, btext)
    if found is None:
        return _NO_IDS, _NO_WEIGHTS
    return found[0].astype(np.int32), found[1].astype(np.float64)


_NO_IDS, _NO_WEIGHTS = np.zeros(0, np.int32), np.zeros(0, np.float64)


def _sidecar_positions(found: tuple, allowed: np.ndarray, off: int) -> tuple[np.ndarray, np.ndarray]:
    """(global document, position) of a sidecar term's occurrences in the documents of `allowed`."""
    ids, _, counts, positions = found
    docs = ids.astype(np.int64) + off
    keep = allowed[docs]
    if keep.all():
        return np.repeat(docs, counts), positions.astype(np.int64)
    return np.repeat(docs[keep], counts[keep]), positions[np.repeat(keep, counts)].astype(np.int64)


def _segment_facets(reader) -> dict[tuple[str, str], np.ndarray]:
    """(facet, value) → local document numbers, from one segment's packed facet column."""
    column = reader.column_reader("facets")
    members: dict[tuple[str, str], list[int]] = {}
    unpacked: dict[bytes, list] = {}
    for docnum, raw in enumerate(column):
        lists = unpacked.get(raw)
        if lists is None:
            lists = unpacked[raw] = [members.setdefault(p, []) for p in unpack_facets(raw)]
        for lst in lists:
            lst.append(docnum)
    return {value: np.array(docs, dtype=np.int32) for value, docs in members.items()}


def _best(candidates: np.ndarray, values: np.ndarray, limit: int) -> list[tuple[float, int]]:
    """The `limit` best (score, document number) pairs: highest score first, then lowest number.
    Scores equal to 9 decimals count as ties (sums of the same terms in another order, as Whoosh
    itself adds them differently per segment, differ in the last bits)."""
    ranked = np.round(values, 9)
    if len(candidates) > limit:
        kth = np.partition(ranked, len(ranked) - limit)[len(ranked) - limit]
        keep = ranked >= kth
        candidates, values, ranked = candidates[keep], values[keep], ranked[keep]
    order = np.lexsort((candidates, -ranked))[:limit]
    return [(float(values[i]), int(candidates[i])) for i in order]


def _cost(q: wq.Query) -> int:
    """Phrases (positions read per document) after everything else."""
    if isinstance(q, wq.Phrase):
        return 2
    return 1 if any(isinstance(x, wq.Phrase) for x in q.leaves()) else 0


def _scoring_leaves(q: wq.Query, boost: float, out: list, schema, cond: tuple = ()) -> bool:
    """Collect (field, term bytes, boost, conditions) of the terms that add to a document's score
    (field None: a constant, 1 for a NOT as Whoosh's InverseMatcher scores it). A term adds only
    where its conditions hold: ("phrase", field, words) for a phrase's words, ("match", query) for
    an AND, AND NOT or NOT that is one alternative of an OR (its words count only where that
    branch matched, as Whoosh scores a branch only when it matches). False for a query not scored
    as a plain sum (Whoosh's coordination, max, or unknown queries)."""
    if isinstance(q, wq.Term):
        if q.fieldname in schema:
            try:
                out.append((q.fieldname, schema[q.fieldname].to_bytes(q.text), boost * q.boost, cond))
            except ValueError:
                pass
        return True
    if isinstance(q, wq.Phrase):
        if q.fieldname in schema and q.slop == 1:
            inner = cond + (("phrase", q.fieldname, tuple(q.words)),)
            out.extend((q.fieldname, schema[q.fieldname].to_bytes(w), boost * q.boost, inner) for w in q.words)
            return True
        return False
    if isinstance(q, wq.Not):
        out.append((None, None, boost * q.boost, cond))
        return True
    if isinstance(q, wq.AndNot):
        return _scoring_leaves(q.a, boost * q.boost, out, schema, cond)
    if isinstance(q, wq.ConstantScoreQuery):
        return False
    if isinstance(q, wq.DisjunctionMax) or getattr(q, "scale", None) or getattr(q, "minmatch", 0):
        return False
    if isinstance(q, wq.And):
        return all(_scoring_leaves(s, boost * q.boost, out, schema, cond) for s in q.subqueries)
    if isinstance(q, wq.Or):
        for s in q.subqueries:
            branch = cond + (("match", s),) if isinstance(s, (wq.And, wq.AndNot, wq.Not)) else cond
            if not _scoring_leaves(s, boost * q.boost, out, schema, branch):
                return False
        return True
    return False


def _holding_blocks(directory: tuple[np.ndarray, np.ndarray], local: np.ndarray) -> np.ndarray:
    """Which blocks of a directory hold some of the sorted segment-local ids `local`."""
    offsets, last_ids = directory
    first_ids = np.concatenate(([0], last_ids[:-1] + 1))
    return np.searchsorted(local, first_ids) < np.searchsorted(local, last_ids, side="right")


def _all_positions(m, packed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(segment-local document, position) of every occurrence of a term in one segment."""
    docs, positions = [], []
    for d, p in _block_positions(reading.block_values(m), None, 0, packed):
        docs.append(d)
        positions.append(p)
    if not docs:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate(docs).astype(np.int32), np.concatenate(positions).astype(np.int32)


def _block_positions(blocks: Iterable[tuple[np.ndarray, tuple]], allowed: np.ndarray | None, off: int,
                     packed: bool) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """(document of each position, position) for the postings of `blocks` (segment-local ids,
    raw values) whose global document (local + `off`) is in `allowed` (None: all, ids kept
    local); `packed`: `PackedPositions` values, decoded a block at a time."""
    for ids, values in blocks:
        ids = ids + off
        sel = np.flatnonzero(allowed[ids]) if allowed is not None else np.arange(len(ids))
        if not sel.size:
            continue
        chosen = values if sel.size == len(values) else [values[j] for j in sel.tolist()]
        if packed:
            counts = np.fromiter(map(len, chosen), dtype=np.int64, count=len(chosen)) >> 2
            positions = unpack_positions(b"".join(chosen)).astype(np.int64)
        else:
            lists = [list(reading.positions(v)) for v in chosen]
            counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
            positions = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
        yield np.repeat(ids[sel], counts), positions


def for_searcher(searcher: Searcher) -> MatchSets:
    """The MatchSets of a searcher, made on first use and kept with it."""
    sets = getattr(searcher, "_auditarchive_sets", None)
    if sets is None:
        sets = MatchSets(searcher)
        searcher._auditarchive_sets = sets
    return sets
