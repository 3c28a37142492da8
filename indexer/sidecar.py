"""Posting lists beside each segment in a form numpy reads in place (the `.apo` file).

Whoosh keeps a term's postings as zlib-compressed pickles, one per block of 128. Decoding them is
what a query costs the first time a process meets a common word: at 100,000 documents ~100 ms for
a word in every document (800 blocks across the segments), several times that for the pairs of
a phrase. `SidecarFieldWriter` sees every posting Whoosh writes into a segment (new documents
and merges alike, in every process of a bulk build) and also writes them here, uncompressed and
fixed-width, so that `Sidecar.find` hands `matchsets` a term's document numbers, weights and
(for pair fields) positions as arrays over the segment's memory map: no decompression, no
unpickling, no copy.

Layout (little-endian): the magic; then per term its ids (uint32), weights (float32) and, for
`PackedPositions` fields, the count of positions of each posting (uint32) and the positions
(uint32); then a directory sorted by a 64-bit hash of (field, term): hashes (uint64), data
offsets (uint64), postings (uint32), positions (uint32); then the directory's offset and size
(two uint64) and the magic again. The file goes into the segment's compound file with Whoosh's
own files, and goes away with the segment. A segment without a readable sidecar (written before
it existed, or two of its terms hash alike) is read through Whoosh as before.
"""
from __future__ import annotations

import struct
import sys
from array import array
from hashlib import blake2b

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter

from .schema import PackedPositions

EXT = ".apo"
MAGIC = b"AAPOST01"
_FOOTER = struct.Struct("<QQ8s")
_EMPTY = np.zeros(0, dtype="<u4")


def term_hash(fieldname: str, btext: bytes) -> int:
    """The directory key of a term (collisions within a segment are detected when writing)."""
    return int.from_bytes(blake2b(fieldname.encode() + b"\0" + btext, digest_size=8).digest(), "little")


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
        self._prefix = b""
        self._keep_positions = False
        self._ids = array("I")
        self._weights = array("f")
        self._values: list[bytes] = []

    def start_field(self, fieldname, fieldobj):
        super().start_field(fieldname, fieldobj)
        self._prefix = fieldname.encode() + b"\0"
        self._keep_positions = isinstance(fieldobj.format, PackedPositions)

    def start_term(self, btext):
        super().start_term(btext)
        self._ids = array("I")
        self._weights = array("f")
        self._values = []

    def add(self, docnum, weight, vbytes, length):
        self._postwriter.add_posting(docnum, weight, vbytes, length)
        self._ids.append(docnum)
        self._weights.append(weight)
        if self._keep_positions:
            self._values.append(vbytes)

    def finish_term(self):
        super().finish_term()
        parts = [self._ids, self._weights]
        npos = 0
        if self._keep_positions:
            counts = array("I", [len(v) >> 2 for v in self._values])
            npos = sum(counts)
            parts.append(counts)
        if sys.byteorder != "little":
            for part in parts:
                part.byteswap()
        data = b"".join(p.tobytes() for p in parts)
        if self._keep_positions:
            data += b"".join(self._values)          # PackedPositions: little-endian already
        self._hashes.append(int.from_bytes(blake2b(self._prefix + self._btext, digest_size=8).digest(), "little"))
        self._offsets.append(self._side_at)
        self._counts.append(len(self._ids))
        self._npos.append(npos)
        self._side.write(data)
        self._side_at += len(data)

    def close(self):
        hashes = np.frombuffer(self._hashes, dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        size = len(hashes)
        if size > 1 and (hashes[1:] == hashes[:-1]).any():
            size = 0        # two terms hash alike: no directory, the segment is read through Whoosh
        directory_at = self._side_at
        if size:
            for values, dtype in ((hashes, "<u8"), (np.frombuffer(self._offsets, np.uint64)[order], "<u8"),
                                  (np.frombuffer(self._counts, np.uint32)[order], "<u4"),
                                  (np.frombuffer(self._npos, np.uint32)[order], "<u4")):
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
        if magic != MAGIC or directory_at + 24 * size + _FOOTER.size != len(view) or not size:
            raise ValueError("posting sidecar without a usable directory")
        self._view = view
        self._hashes = np.frombuffer(view, "<u8", size, directory_at)
        self._offsets = np.frombuffer(view, "<u8", size, directory_at + 8 * size)
        self._counts = np.frombuffer(view, "<u4", size, directory_at + 16 * size)
        self._npos = np.frombuffer(view, "<u4", size, directory_at + 20 * size)

    def find(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(segment-local ids, weights, positions per posting, positions) of a term, as read-only
        arrays over the file (the last two empty outside pair fields); None: not in the segment."""
        key = np.uint64(term_hash(fieldname, btext))
        i = int(np.searchsorted(self._hashes, key))
        if i >= len(self._hashes) or self._hashes[i] != key:
            return None
        at, n, npos = int(self._offsets[i]), int(self._counts[i]), int(self._npos[i])
        ids = np.frombuffer(self._view, "<u4", n, at)
        weights = np.frombuffer(self._view, "<f4", n, at + 4 * n)
        if not npos:
            return ids, weights, _EMPTY, _EMPTY
        counts = np.frombuffer(self._view, "<u4", n, at + 8 * n)
        positions = np.frombuffer(self._view, "<u4", npos, at + 12 * n)
        return ids, weights, counts, positions


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
