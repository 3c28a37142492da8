"""Reading Whoosh segments without copying them into memory.

Whoosh opens each file inside a compound segment (`.seg`) as a `BufferFile` over the segment's
mmap and wraps it in `io.BytesIO`, which copies it: every segment a searcher opened was read whole
into the process's own memory (benchmarks/README.md). Whoosh reads those files through the
buffer's `get` (a slice) almost always; the few sequential reads left (headers, pickles) are
served here by `MemoryFile` from the memoryview itself.
"""
from __future__ import annotations

from whoosh.filedb import structfile

PEEK_BYTES = 256     # a block header's pickle is ~30 bytes; more is copied for nothing


class MemoryFile:
    """The read side of a file over a buffer (read, peek, readline, seek, tell), without a copy."""

    def __init__(self, buf) -> None:
        self._buf = memoryview(buf) if not isinstance(buf, memoryview) else buf
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._buf) if size is None or size < 0 else min(len(self._buf), self._pos + size)
        data = bytes(self._buf[self._pos:end])
        self._pos = max(self._pos, end)
        return data

    def peek(self, size: int = 0) -> bytes:
        """Bytes ahead, not consumed: lets pickle's C unpickler read a header at once and skip
        what it used, instead of calling `read` once per opcode."""
        return bytes(self._buf[self._pos:self._pos + PEEK_BYTES])     # pickle asks for 128 kB

    def readline(self, size: int | None = -1) -> bytes:
        limit = len(self._buf) if size is None or size < 0 else min(len(self._buf), self._pos + size)
        at = self._pos
        while at < limit and self._buf[at] != 0x0A:
            at += 1
        return self.read(min(at + 1, limit) - self._pos)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = 0 if whence == 0 else self._pos if whence == 1 else len(self._buf)
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __iter__(self):
        while self._pos < len(self._buf):
            yield self.readline()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._buf = memoryview(b"")


def _buffer_file_init(self, buf, name=None, onclose=None) -> None:
    """`BufferFile.__init__` with a `MemoryFile` where Whoosh made a BytesIO copy."""
    self._buf = buf
    self._name = name
    self.file = MemoryFile(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def install() -> None:
    """Make Whoosh's BufferFile read without copying (idempotent)."""
    if structfile.BufferFile.__init__ is not _buffer_file_init:
        structfile.BufferFile.__init__ = _buffer_file_init
