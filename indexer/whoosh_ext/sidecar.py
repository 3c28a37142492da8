"""Posting lists beside each segment in a form numpy reads in place (the `.apo` file).

Whoosh keeps a term's postings as zlib-compressed pickles, one per block of 128: decoding them is
what a query costs the first time a process meets a common word (benchmarks/README.md, fourth
round). `SidecarFieldWriter` sees every posting Whoosh writes into a segment (new documents
and merges alike, in every process of a bulk build) and also writes them here, uncompressed and
fixed-width, so that `Sidecar.find` hands `matchsets` a term's document numbers, weights and
(for pair fields) positions as arrays over the segment's memory map: no decompression, no
unpickling, no copy.

Layout (little-endian): the magic; then per term its ids, its weights (unless they equal the
positions' counts, as in pair fields) and, for `PackedPositions` fields, the count of positions of
each posting and the positions, each array as uint16 where its values fit (ids below 65,536,
weights that are small whole numbers: a term's frequency; otherwise uint32, float32 weights);
then a directory sorted by a 64-bit hash of (field, term): hashes (uint64), data offsets
(uint64), postings (uint32), positions (uint32), how each array is stored (uint8); then the
directory's offset and size, the offset of the pair terms, the hash seed (four uint64) and the
magic again. The file goes into the segment's compound file with Whoosh's own files, and goes
away with the segment.

Word pairs (`pairpostings`) are written here only, not through Whoosh: their terms are listed
too (per pair field: the count, the offsets and the UTF-8 bytes of its terms), so that a merge
can copy them. Two terms that hash alike are written again with the next seed. A segment
without a readable sidecar (written before it existed) is read through Whoosh as before, pairs
included; sidecars of the previous format (AAPOST02: no pair terms, seed 0) are still read.
"""
from __future__ import annotations

import logging
import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from hashlib import blake2b

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3FieldWriter, W3PostingsWriter
from whoosh.compat import dumps
from whoosh.system import pack_int
from whoosh.util.numeric import length_to_byte

from ..schema import PackedPositions, unpack_positions
from .arraypool import SortedPostings
from .pairpostings import PairPostings

log = logging.getLogger(__name__)
EXT = ".apo"
MAGIC = b"AAPOST03"
OLD_MAGIC = b"AAPOST02"           # before pairs were kept out of Whoosh: read as it is
_FOOTER = struct.Struct("<QQQQ8s")
_OLD_FOOTER = struct.Struct("<QQ8s")
_COUNT = struct.Struct("<I")
_NAME = struct.Struct("<H")
SMALL_PICKLE = 200                # bytes: a block's pickle below it is not compressed
MAX_SEED = 8                      # distinct terms never hash alike under 8 seeds; equal ones would
_ENTRY = 8 + 8 + 4 + 4 + 1        # directory bytes per term
_EMPTY = np.zeros(0, dtype="<u2")
# how a term's arrays are stored (the directory's last column)
IDS_16, WEIGHTS_16, WEIGHTS_COUNTS, COUNTS_16, POSITIONS_16 = 1, 2, 4, 8, 16
_U16 = 1 << 16


def term_hash(fieldname: str, btext: bytes, seed: int = 0) -> int:
    """The directory key of a term. Two terms of a segment that hash alike (one chance in ~10^7
    for a segment of a million terms) make the writer try the next seed."""
    data = fieldname.encode() + b"\0" + btext
    digest = blake2b(data, digest_size=8, salt=seed.to_bytes(8, "little")) if seed else \
        blake2b(data, digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def _uint_bytes(values: np.ndarray, top: int, flag: int) -> tuple[bytes, int]:
    """Unsigned integers (at most `top`) as uint16 bytes with `flag` when they fit, else uint32."""
    return (values.astype("<u2").tobytes(), flag) if top < _U16 else (values.astype("<u4").tobytes(), 0)


def _term_bytes(ids: array, weights: array, values: list[bytes] | None) -> tuple[bytes, int, int]:
    """(data, flags, number of positions) of one term's postings. Most terms have one posting
    (a pair met once): those are packed without numpy."""
    if len(ids) == 1:
        return _one_posting(ids[0], weights[0], values[0] if values is not None else None)
    data, flags = _uint_bytes(np.frombuffer(ids, np.uint32), ids[-1], IDS_16)     # ids ascend
    parts = [data]
    w = np.frombuffer(weights, np.float32)
    counts = np.fromiter(map(len, values), np.uint32, len(values)) >> 2 if values is not None else None
    if counts is not None and np.array_equal(w, counts):
        flags |= WEIGHTS_COUNTS               # a pair field's weight is its count of positions
    else:
        whole = w.astype(np.uint16)           # a term's frequency; anything else stays float32
        if np.array_equal(whole, w):
            parts.append(whole.astype("<u2").tobytes())
            flags |= WEIGHTS_16
        else:
            parts.append(w.astype("<f4").tobytes())
    if counts is None:
        return b"".join(parts), flags, 0
    data, flag = _uint_bytes(counts, int(counts.max()), COUNTS_16)
    parts.append(data)
    flags |= flag
    positions = unpack_positions(b"".join(values))
    if positions.size:
        data, flag = _uint_bytes(positions, int(positions.max()), POSITIONS_16)
        parts.append(data)
        flags |= flag
    return b"".join(parts), flags, int(positions.size)


_H, _I, _F = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<f")


def _one_posting(docnum: int, weight: float, value: bytes | None) -> tuple[bytes, int, int]:
    """`_term_bytes` of a term with a single posting."""
    data, flags = (_H.pack(docnum), IDS_16) if docnum < _U16 else (_I.pack(docnum), 0)
    count = len(value) >> 2 if value is not None else 0
    if value is not None and weight == count:
        flags |= WEIGHTS_COUNTS
    elif weight.is_integer() and 0 <= weight < _U16:
        data += _H.pack(int(weight))
        flags |= WEIGHTS_16
    else:
        data += _F.pack(weight)
    if value is None:
        return data, flags, 0
    if count < _U16:
        data += _H.pack(count)
        flags |= COUNTS_16
    else:
        data += _I.pack(count)
    if count:
        positions = struct.unpack(f"<{count}I", value)
        if max(positions) < _U16:
            data += struct.pack(f"<{count}H", *positions)
            flags |= POSITIONS_16
        else:
            data += value
    return data, flags, count


class _BlockKeepingWriter(W3PostingsWriter):
    """Whoosh's postings writer, keeping the arrays of each block it writes (Whoosh makes new
    ones for the next block): the sidecar takes a term's postings a block at a time, not one
    Python call per posting."""

    def start_postings(self, format_, terminfo):
        super().start_postings(format_, terminfo)
        self.blocks: list[tuple[array, array, list]] = []

    def _write_block(self, last=False):
        """Whoosh's block, written in one call; a block whose pickle is small is stored
        uncompressed (the block says so: Whoosh's reader decompresses by the block's own level).
        zlib makes a pickle of a few postings longer, not shorter, and costs more than the rest of
        writing it; a bulk segment's blocks are mostly of one to a few postings."""
        self.blocks.append((self._ids, self._weights, self._values))
        postfile = self._postfile
        if not self._blockcount:
            postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        ids = self._ids
        data = dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 2)
        comp = self._compression if len(data) >= SMALL_PICKLE else 0
        if comp:
            data = zlib.compress(data, comp)
        info = dumps((len(ids), ids[-1], self._maxweight, comp, length_to_byte(self._minlength),
                      length_to_byte(self._maxlength)), 2)
        size = len(info) + len(data)
        postfile.write(pack_int(-size if last else size) + info + data)
        self._blockcount += 1
        self._new_block()

    def term_postings(self) -> tuple[array, array, list]:
        """(ids, weights, values) of the term being written: before `finish_postings`."""
        blocks = self.blocks + [(self._ids, self._weights, self._values)] if self._ids else self.blocks
        if len(blocks) == 1:
            return blocks[0]
        ids, weights, values = array("I"), array("f"), []
        for i, w, v in blocks:
            ids.extend(i)
            weights.extend(w)
            values.extend(v)
        return ids, weights, values


class SidecarFieldWriter(W3FieldWriter):
    """Whoosh's field writer, also writing each term's postings to the segment's sidecar; and,
    there only, the word pairs the segment writer hands to `pairs` (`pairpostings`)."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self.pairs = PairPostings()
        self._side = self._create_file(EXT)
        self._side.write(MAGIC)
        self._side_at = len(MAGIC)
        self._keys: list[tuple[str, bytes]] = []
        self._offsets = array("Q")
        self._counts = array("I")
        self._npos = array("I")
        self._flags = array("B")
        self._keep_positions = False
        self._usable = True

    def add_postings(self, schema, lengths, items):
        """Whoosh's, or a block at a time from an `arraypool.ArrayPool`'s sorted postings."""
        if isinstance(items, SortedPostings):
            return items.write(self, schema, lengths)
        return super().add_postings(schema, lengths, items)

    def start_field(self, fieldname, fieldobj):
        super().start_field(fieldname, fieldobj)
        plain = self._postwriter
        self._postwriter = _BlockKeepingWriter(plain._postfile, plain._blocklimit, plain._byteids,
                                               plain._compression, plain._inlinelimit)
        self._keep_positions = isinstance(fieldobj.format, PackedPositions)

    def finish_term(self):
        ids, weights, values = self._postwriter.term_postings()
        super().finish_term()
        if self._keep_positions and len(values) != len(ids):
            # a posting without positions (Whoosh keeps no empty value): values and ids do not line up
            self._usable = False
            values = [b""] * len(ids)
        data, flags, npos = _term_bytes(ids, weights, values if self._keep_positions else None)
        self._keys.append((self._fieldname, self._btext))
        self._offsets.append(self._side_at)
        self._counts.append(len(ids))
        self._npos.append(npos)
        self._flags.append(flags)
        self._side.write(data)
        self._side_at += len(data)

    def _write_pairs(self) -> tuple[list, int]:
        """Write the pairs' postings and their terms; (directory columns, terms offset)."""
        encoded = self.pairs.encode()
        self.pairs = PairPostings()           # (the arrays can go: a bulk segment's are ~100 MB)
        columns = []
        for field in encoded:
            ids, counts, positions = field.widths
            flags = WEIGHTS_COUNTS | (IDS_16 if ids == 2 else 0) | (COUNTS_16 if counts == 2 else 0) | \
                (POSITIONS_16 if positions == 2 else 0)       # a pair's weight is its count
            columns.append((field.offsets + self._side_at, field.counts, field.npos,
                            np.full(len(field.texts), flags, np.uint8)))
            self._side.write(field.data.tobytes())
            self._side_at += field.data.size
        terms_at = self._side_at
        out = [_COUNT.pack(len(encoded))]
        for field in encoded:
            name = field.fieldname.encode()
            lengths = np.fromiter(map(len, field.texts), np.int64, len(field.texts))
            ends = np.concatenate([[0], np.cumsum(lengths)]).astype("<u4")
            out += [_NAME.pack(len(name)), name, _COUNT.pack(len(field.texts)), ends.tobytes(), b"".join(field.texts)]
            self._keys.extend((field.fieldname, t) for t in field.texts)
        data = b"".join(out)
        self._side.write(data)
        self._side_at += len(data)
        return columns, terms_at

    def close(self):
        pair_columns, terms_at = self._write_pairs()
        offsets = np.concatenate([np.frombuffer(self._offsets, np.uint64)] + [c[0].astype(np.uint64) for c in pair_columns])
        counts = np.concatenate([np.frombuffer(self._counts, np.uint32)] + [c[1].astype(np.uint32) for c in pair_columns])
        npos = np.concatenate([np.frombuffer(self._npos, np.uint32)] + [c[2].astype(np.uint32) for c in pair_columns])
        flags = np.concatenate([np.frombuffer(self._flags, np.uint8)] + [c[3] for c in pair_columns])
        seed, hashes, order = 0, None, None
        while self._usable and seed < MAX_SEED:
            hashes = np.fromiter((term_hash(f, t, seed) for f, t in self._keys), np.uint64, len(self._keys))
            order = np.argsort(hashes, kind="stable")
            hashes = hashes[order]
            if not (hashes.size > 1 and (hashes[1:] == hashes[:-1]).any()):
                break
            seed += 1
        # No directory (a posting Whoosh wrote without positions, or equal terms): read through Whoosh
        size = len(self._keys) if self._usable and seed < MAX_SEED else 0
        directory_at = self._side_at
        if size:
            for values, dtype in ((hashes, "<u8"), (offsets[order], "<u8"), (counts[order], "<u4"),
                                  (npos[order], "<u4"), (flags[order], "u1")):
                self._side.write(values.astype(dtype).tobytes())
        self._side.write(_FOOTER.pack(directory_at, size, terms_at, seed, MAGIC))
        self._side.close()
        super().close()


class Sidecar:
    """A segment's sidecar over its bytes (a memoryview of the segment's map, or bytes)."""

    def __init__(self, buf) -> None:
        view = memoryview(buf)
        magic = bytes(view[:len(MAGIC)])
        footer = _FOOTER if magic == MAGIC else _OLD_FOOTER if magic == OLD_MAGIC else None
        if len(view) < len(MAGIC) + _OLD_FOOTER.size or footer is None:
            raise ValueError("not a posting sidecar")
        if len(view) < len(MAGIC) + footer.size:
            raise ValueError("posting sidecar cut short")
        values = footer.unpack(view[len(view) - footer.size:])
        directory_at, size, magic_again = values[0], values[1], values[-1]
        self._terms_at, self._seed = (values[2], values[3]) if footer is _FOOTER else (None, 0)
        if magic_again != magic or directory_at + _ENTRY * size + footer.size != len(view) or not size:
            raise ValueError("posting sidecar without a usable directory")
        if self._terms_at is not None and not len(MAGIC) <= self._terms_at <= directory_at:
            raise ValueError("posting sidecar with its pair terms out of place")
        self._view = view
        self._directory_at = directory_at
        # The directory is read a value at a time (a binary search, then one entry): through
        # memoryview casts, which read unaligned values as they are (the sidecar sits anywhere in
        # the compound file); numpy's searchsorted copied the whole unaligned column every call.
        columns = []
        at = directory_at
        for code, width in (("Q", 8), ("Q", 8), ("I", 4), ("I", 4), ("B", 1)):
            raw = view[at:at + width * size]
            if sys.byteorder == "little" or width == 1:
                columns.append(raw.cast("B").cast(code))
            else:
                columns.append(np.frombuffer(raw, "<" + {"Q": "u8", "I": "u4"}[code]).tolist())
            at += width * size
        self._hashes, self._offsets, self._counts, self._npos, self._flags = columns
        self._size = size

    def find(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(segment-local ids, weights, positions per posting, positions) of a term, as read-only
        arrays over the file (the last two empty outside pair fields); None: not in the segment."""
        key = term_hash(fieldname, btext, self._seed)
        i = bisect_left(self._hashes, key)
        if i >= self._size or self._hashes[i] != key:
            return None
        at, n, npos, flags = self._offsets[i], self._counts[i], self._npos[i], self._flags[i]
        view = self._view
        dtype = "<u2" if flags & IDS_16 else "<u4"
        ids = np.frombuffer(view, dtype, n, at)
        at += ids.nbytes
        weights = None
        if not flags & WEIGHTS_COUNTS:
            weights = np.frombuffer(view, "<u2" if flags & WEIGHTS_16 else "<f4", n, at)
            at += weights.nbytes
        if not npos and weights is not None:
            return ids, weights, _EMPTY, _EMPTY
        counts = np.frombuffer(view, "<u2" if flags & COUNTS_16 else "<u4", n, at)
        at += counts.nbytes
        positions = np.frombuffer(view, "<u2" if flags & POSITIONS_16 else "<u4", npos, at)
        return ids, counts if weights is None else weights, counts, positions

    @property
    def holds_pairs(self) -> bool:
        """Whether the segment's word pairs are here only (not in Whoosh's postings)."""
        return self._terms_at is not None

    def pair_terms(self, fieldname: str) -> list[bytes]:
        """The terms of a pair field written here (merges copy them); [] for the old format."""
        if self._terms_at is None:
            return []
        view, at = self._view, self._terms_at
        (fields,) = _COUNT.unpack_from(view, at)
        at += _COUNT.size
        for _ in range(fields):
            (length,) = _NAME.unpack_from(view, at)
            name = bytes(view[at + _NAME.size:at + _NAME.size + length]).decode()
            at += _NAME.size + length
            (count,) = _COUNT.unpack_from(view, at)
            at += _COUNT.size
            ends = np.frombuffer(view, "<u4", count + 1, at).astype(np.int64)
            at += 4 * (count + 1)
            if name == fieldname:
                blob = bytes(view[at:at + int(ends[-1])])
                return [blob[a:b] for a, b in zip(ends[:-1].tolist(), ends[1:].tolist())]
            at += int(ends[-1])
        return []


def open_sidecar(reader) -> Sidecar | None:
    """The sidecar of a segment reader, or None (no such file, or not readable)."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    storage = getattr(reader, "_storage", None)
    if segment is None or storage is None:
        return None
    name = segment.make_filename(EXT)
    try:
        if not storage.file_exists(name):
            return None
        f = storage.open_file(name)
        buf = getattr(f, "_buf", None)          # a compound segment: a view of its map
        if buf is None:
            try:
                buf = f.read()
            finally:
                f.close()
        return Sidecar(buf)
    except (ValueError, OSError, KeyError, struct.error) as error:
        # Read through Whoosh; the segment's word pairs were kept here only: phrases miss it
        log.warning("segment %s: posting sidecar not readable (%s); phrases cannot match in it "
                    "until `auditarchive reindex`", segment.segment_id(), error)
        return None


def _field_writer(self, storage, segment):
    return SidecarFieldWriter(self, storage, segment)


def install() -> None:
    """Make every segment Whoosh writes carry a sidecar (idempotent)."""
    if W3Codec.field_writer is not _field_writer:
        W3Codec.field_writer = _field_writer
