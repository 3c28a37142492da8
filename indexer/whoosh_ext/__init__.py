"""Everything that patches Whoosh or reads its private names, in one place.

The extensions (what makes builds and searches fast: benchmarks/README.md) depend on the insides
of one Whoosh version, WHOOSH_VERSION. `install()`, called where an index is opened, written or
searched (never on import), applies them on that version only; otherwise, or with
AUDITARCHIVE_WHOOSH_EXT=0, it logs one warning and everything runs on plain Whoosh (`reading`
holds the plain fallbacks). `engine()` is part of the index's version, so an index is rebuilt
when it changes. PRIVATE_NAMES lists what is used of Whoosh's insides (tested to exist).

- `nocopy`: segment files read in place, not copied (BufferFile)
- `lengths`: field lengths read once per commit (FieldWriter.add_postings)
- `sidecar`: each segment's postings also in a file numpy reads in place (W3Codec.field_writer)
- `pairpostings`: word pairs written to the sidecar only (SegmentWriter.add_document …)
- `arraypool`: Whoosh's posting pool as arrays (SegmentWriter.__init__)
- `reading`: what match sets and searches read of Whoosh's insides, with plain fallbacks
"""
from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import threading

import whoosh

WHOOSH_VERSION = "2.7.5"          # what the extensions were written for: the pin in pyproject.toml
ENV = "AUDITARCHIVE_WHOOSH_EXT"   # 0 (or off, no, false): plain Whoosh whatever its version

# (module, name) of everything the extensions patch or read of Whoosh that is not its public API:
# names with a leading underscore, replaced methods, and internal attributes and constants.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    # nocopy: BufferFile.__init__ replaced; it sets what Whoosh's sets
    ("whoosh.filedb.structfile", "BufferFile.__init__"),
    ("whoosh.filedb.structfile", "BufferFile._buf"),
    ("whoosh.filedb.structfile", "BufferFile._name"),
    ("whoosh.filedb.structfile", "BufferFile.file"),
    ("whoosh.filedb.structfile", "BufferFile.onclose"),
    ("whoosh.filedb.structfile", "BufferFile.is_real"),
    ("whoosh.filedb.structfile", "BufferFile.is_closed"),
    # lengths
    ("whoosh.codec.base", "FieldWriter.add_postings"),
    # sidecar: the field writer replaced, the postings writer subclassed
    ("whoosh.codec.whoosh3", "W3Codec.field_writer"),
    ("whoosh.codec.whoosh3", "W3Codec._blocklimit"),
    ("whoosh.codec.whoosh3", "WHOOSH3_HEADER_MAGIC"),
    ("whoosh.codec.whoosh3", "W3FieldWriter._codec"),
    ("whoosh.codec.whoosh3", "W3FieldWriter._create_file"),
    ("whoosh.codec.whoosh3", "W3FieldWriter._postwriter"),
    ("whoosh.codec.whoosh3", "W3FieldWriter._fieldname"),
    ("whoosh.codec.whoosh3", "W3FieldWriter._btext"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._postfile"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._blocklimit"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._byteids"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._compression"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._inlinelimit"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._terminfo"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._blockcount"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._ids"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._weights"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._values"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._maxweight"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._minlength"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._maxlength"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._write_block"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._new_block"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._mini_ids"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._mini_weights"),
    ("whoosh.codec.whoosh3", "W3PostingsWriter._mini_values"),
    # pairpostings and arraypool: the segment writer's methods replaced, its pool
    ("whoosh.writing", "SegmentWriter.__init__"),
    ("whoosh.writing", "SegmentWriter.add_document"),
    ("whoosh.writing", "SegmentWriter.add_postings_to_pool"),
    ("whoosh.writing", "SegmentWriter._process_posts"),
    ("whoosh.writing", "SegmentWriter._tempstorage"),
    ("whoosh.writing", "SegmentWriter.newsegment"),
    ("whoosh.writing", "SegmentWriter.fieldwriter"),
    ("whoosh.writing", "SegmentWriter.pool"),
    ("whoosh.writing", "SegmentWriter.docnum"),
    ("whoosh.writing", "PostingPool.limit"),
    ("whoosh.writing", "PostingPool.fieldnames"),
    ("whoosh.writing", "PostingPool.current"),
    ("whoosh.writing", "PostingPool.runs"),
    # reading: sidecars, posting blocks, lengths, BM25F, readers reused, restricted queries
    ("whoosh.reading", "SegmentReader._storage"),
    ("whoosh.reading", "SegmentReader._terms"),
    ("whoosh.reading", "SegmentReader._perdoc"),
    ("whoosh.reading", "SegmentReader._gen"),
    ("whoosh.codec.whoosh3", "W3PerDocReader._cached_reader"),
    ("whoosh.codec.whoosh3", "_lenfield"),
    ("whoosh.codec.whoosh3", "LENGTHS_COLUMN"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._byteids"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._fixedsize"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._data"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._read_data"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._next_block"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._lastblock"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._nextoffset"),
    ("whoosh.codec.whoosh3", "W3LeafMatcher._goto"),
    ("whoosh.scoring", "BM25F._field_B"),
    ("whoosh.index", "FileIndex._schema"),
    ("whoosh.index", "TOC.read"),
    ("whoosh.matching", "WrappingMatcher._replacement"),
    ("whoosh.query", "WrappingQuery._rewrap"),
)

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: bool | None = None        # None: not decided yet; then whether the extensions are in use


def _refusal() -> str | None:
    """Why the extensions must not be applied in this process, or None."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return (f"{ENV}={os.environ[ENV]}: the Whoosh extensions (indexer.whoosh_ext) are not "
                f"applied; indexing and search run on plain Whoosh {whoosh.versionstring()} "
                f"(slower searches and builds)")
    if whoosh.versionstring() != WHOOSH_VERSION:
        return (f"Whoosh {whoosh.versionstring()} is installed but the extensions in "
                f"indexer.whoosh_ext were written for Whoosh {WHOOSH_VERSION}: they are not "
                f"applied; indexing and search run on plain Whoosh (slower searches and builds; "
                f"an index written by another Whoosh version is rebuilt: `auditarchive reindex`)")
    return None


def enabled() -> bool:
    """Whether the extensions may be applied here (Whoosh's version, the environment); changes
    nothing."""
    return _refusal() is None


def install() -> bool:
    """Apply the extensions once per process if Whoosh is the version they were written for;
    otherwise log why not (once) and leave Whoosh as it is. Returns whether they are in use.
    Idempotent and thread-safe."""
    global _state
    if _state is not None:
        return _state
    with _lock:
        if _state is None:
            reason = _refusal()
            if reason is not None:
                log.warning(reason)
                _state = False
            else:
                from . import arraypool, lengths, nocopy, pairpostings, sidecar

                for module in (lengths, nocopy, sidecar, pairpostings, arraypool):
                    module.install()
                _state = True
    return _state


def active() -> bool:
    """Whether the extensions are in use (`install` decides on first use)."""
    return _state if _state is not None else install()


def engine() -> str:
    """The engine that writes and reads indexes here, for the index's version: Whoosh's version,
    and `plain` without the extensions (their segments differ: sidecars, pairs outside Whoosh)."""
    return f"whoosh {whoosh.versionstring()}" + ("" if enabled() else " plain")


def missing(names: tuple[tuple[str, str], ...] = PRIVATE_NAMES) -> list[tuple[str, str]]:
    """The names that the installed Whoosh lacks: a module attribute, a class attribute, or an
    instance attribute that the class (or a class it derives from) assigns as `self.<name>`."""
    out = []
    for module_name, dotted in names:
        try:
            found: object = importlib.import_module(module_name)
        except ImportError:
            out.append((module_name, dotted))
            continue
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            if hasattr(found, part):
                found = getattr(found, part)
            elif i == len(parts) - 1 and inspect.isclass(found) and _assigns(found, part):
                break
            else:
                out.append((module_name, dotted))
                break
    return out


def _assigns(cls: type, name: str) -> bool:
    pattern = re.compile(rf"\bself\.{re.escape(name)}\s*(:[^=\n]+)?(=(?!=)|,)")
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if pattern.search(source):
            return True
    return False
