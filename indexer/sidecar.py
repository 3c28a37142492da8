"""Posting lists beside each segment in a form numpy reads in place (the `.apo` file).

Whoosh keeps a term's postings as zlib-compressed pickles, one per block of 128. Decoding them is
what a query costs the first time a process meets a common word: at 100,000 documents ~100 ms for
a word in every document (800 blocks across the segments), several times that for the pairs of
a phrase. `SidecarFieldWriter` sees every posting Whoosh writes into a segment (new documents
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
directory's offset and size (two uint64) and the magic again. The file goes into the segment's
compound file with Whoosh's own files, and goes away with the segment. A segment without a
readable sidecar (written before it existed, or two of its terms hash alike) is read through
Whoosh as before.
"""
from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from hashlib import blake2b

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3PostingsWriter

from .schema import PackedPositions, unpack_positions

EXT = ".apo"
MAGIC = b"AAPOST02"
_FOOTER = struct.Struct("<QQ8s")
_ENTRY = 8 + 8 + 4 + 4 + 1        # directory bytes per term
_EMPTY = np.zeros(0, dtype="<u2")
# how a term's arrays are stored (the directory's last column)
IDS_16, WEIGHTS_16, WEIGHTS_COUNTS, COUNTS_16, POSITIONS_16 = 1, 2, 4, 8, 16
_U16 = 1 << 16


def term_hash(fieldname: str, btext: bytes) -> int:
    """The directory key of a term (collisions within a segment are detected when writing)."""
    return int.from_bytes(blake2b(fieldname.encode() + b"\0" + btext, digest_size=8).digest(), "little")


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
        self.blocks.append((self._ids, self._weights, self._values))
        super()._write_block(last)

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
    """Whoosh's field writer, also writing each term's postings to the segment's sidecar."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._side = self._create_file(EXT)
        self._side.write(MAGIC)
        self._side_at = len(MAGIC)
        self._hashes = array("Q")
        self._offsets = array("Q")
        self._counts = array("I")
        self._npos = array("I")
        self._flags = array("B")
        self._keep_positions = False
        self._usable = True

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
        self._hashes.append(term_hash(self._fieldname, self._btext))
        self._offsets.append(self._side_at)
        self._counts.append(len(ids))
        self._npos.append(npos)
        self._flags.append(flags)
        self._side.write(data)
        self._side_at += len(data)

    def close(self):
        hashes = np.frombuffer(self._hashes, dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        size = len(hashes)
        if not self._usable or (size > 1 and (hashes[1:] == hashes[:-1]).any()):
            size = 0        # (or two terms hash alike) no directory: the segment is read through Whoosh
        directory_at = self._side_at
        if size:
            for values, dtype in ((hashes, "<u8"), (np.frombuffer(self._offsets, np.uint64)[order], "<u8"),
                                  (np.frombuffer(self._counts, np.uint32)[order], "<u4"),
                                  (np.frombuffer(self._npos, np.uint32)[order], "<u4"),
                                  (np.frombuffer(self._flags, np.uint8)[order], "u1")):
                self._side.write(values.astype(dtype).tobytes())
        self._side.write(_FOOTER.pack(directory_at, size, MAGIC))
        self._side.close()
        super().close()


class Sidecar:
    """A segment's sidecar over its bytes (a memoryview of the segment's map, or bytes)."""

    def __init__(self, buf) -> None:
        view = memoryview(buf)
        if len(view) < len(MAGIC) + _FOOTER.size or bytes(view[:len(MAGIC)]) != MAGIC:
            raise ValueError("not a posting sidecar")
        directory_at, size, magic = _FOOTER.unpack(view[len(view) - _FOOTER.size:])
        if magic != MAGIC or directory_at + _ENTRY * size + _FOOTER.size != len(view) or not size:
            raise ValueError("posting sidecar without a usable directory")
        self._view = view
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
        key = term_hash(fieldname, btext)
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
    except (ValueError, OSError, KeyError, struct.error):
        return None


def _field_writer(self, storage, segment):
    return SidecarFieldWriter(self, storage, segment)


def install() -> None:
    """Make every segment Whoosh writes carry a sidecar (idempotent)."""
    if W3Codec.field_writer is not _field_writer:
        W3Codec.field_writer = _field_writer
