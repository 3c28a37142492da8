"""Is the original still the file that was catalogued?

A document's id is the SHA-256 of its file. Whatever lies at the catalogued path today may be
another file (replaced, edited, moved over): serving it as the document would hand out bytes no
one catalogued. The stamp recorded at ingest (size, modification and change times) says cheaply
that a file is unchanged; when it differs, the content is hashed and compared with the id.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .catalog import Catalog
from .models import Document
from .readers.base import ReadError
from .readers.containers import read_source, real_file, ref_for_display

# What a downloaded original is, by the format read from its content.
MIME_TYPES = {
    "pdf": "application/pdf", "doc": "application/msword", "wordml": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "rtf": "application/rtf", "odt": "application/vnd.oasis.opendocument.text",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "ofd": "application/ofd", "image": "application/octet-stream",
}


class OriginalUnavailable(Exception):
    """The original cannot be served: `reason` is `missing` or `changed`."""

    def __init__(self, reason: str, path: str):
        self.reason, self.path = reason, path
        super().__init__(f"{reason}: {path}")


def file_stamp(stat: os.stat_result) -> str:
    """What says a file is unchanged without reading it: size, modification and change times
    (copying with preserved times still changes the change time)."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


def member_stamp(archive: os.stat_result, size: int | None) -> str:
    """An archive member's stamp: its size with its archive's times (an archive rewritten is
    looked at again; its unchanged members cost a hash, not an extraction)."""
    return f"{size}:{archive.st_mtime_ns}:{archive.st_ctime_ns}"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _member_state(shown: str, doc_id: str, recorded: str | None) -> str:
    """A member of an archive: its archive's times and the member's size say unchanged; else its
    bytes are hashed."""
    ref = ref_for_display(shown)
    if ref is None:
        return "missing"
    try:
        data = read_source(ref)
    except (OSError, ReadError):
        return "missing"
    if recorded is not None and recorded == member_stamp(os.stat(real_file(ref)), len(data)):
        return "ok"
    return "ok" if hashlib.sha256(data).hexdigest() == doc_id else "changed"


def _state(path: Path, doc_id: str, recorded: str | None) -> str:
    """`ok`, `missing` or `changed`."""
    try:
        stat = path.stat()
    except NotADirectoryError:           # `<archive>/<member>`: the archive is a file
        return _member_state(str(path), doc_id, recorded)
    except OSError:
        return "missing"
    if not path.is_file():
        return "missing"
    if recorded is not None and file_stamp(stat) == recorded:
        return "ok"
    try:
        return "ok" if sha256_of(path) == doc_id else "changed"
    except OSError:
        return "missing"


def verified_original(catalog: Catalog, doc: Document) -> Path:
    """A path that still holds the document's bytes: where it was first catalogued, else any other
    path the same content was ingested from (a moved or copied archive); OriginalUnavailable
    (`changed` when a file lies at the first path but holds other bytes, else `missing`)."""
    rows = catalog.db.execute("select path, stamp from files where doc_id = ?", [doc.id]).fetchall()
    stamps = dict(rows)
    states = {}
    for path in [doc.path] + sorted(p for p in stamps if p != doc.path):
        states[path] = _state(Path(path), doc.id, stamps.get(path))
        if states[path] == "ok":
            return Path(path)
    raise OriginalUnavailable(states[doc.path], doc.path)


@dataclass
class OriginalProblem:
    doc_id: str
    path: str
    reason: str            # missing | changed

    def to_dict(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "path": self.path, "reason": self.reason}


def check_originals(catalog: Catalog) -> Iterator[OriginalProblem]:
    """Every document none of whose catalogued paths still holds its bytes, named by its first
    path: gone (`missing`) or replaced there (`changed`). A path left behind by a moved archive
    is no problem while another path holds the same bytes."""
    paths: dict[str, list[tuple[str, str]]] = {}
    for path, doc_id, stamp in catalog.db.execute("select path, doc_id, stamp from files order by path"):
        paths.setdefault(doc_id, []).append((path, stamp))
    for doc_id, first in catalog.db.execute("select id, path from documents order by path"):
        known = dict(paths.get(doc_id, []))
        states = {p: _state(Path(p), doc_id, known.get(p)) for p in [first] + sorted(set(known) - {first})}
        if "ok" not in states.values():
            yield OriginalProblem(doc_id, first, states[first])


def servable_original(catalog: Catalog, doc: Document) -> Path:
    """A file on disk holding the document's bytes, to send or render: the original itself, or for
    a member of an archive a private copy named by its hash in the data home (`renditions/`),
    written once. OriginalUnavailable as `verified_original`."""
    path = verified_original(catalog, doc)
    if path.is_file():
        return path
    copy = catalog.path.parent / "renditions" / f"{doc.id}.original"
    if not copy.is_file():
        ref = ref_for_display(str(path))
        if ref is None:
            raise OriginalUnavailable("missing", doc.path)
        try:
            data = read_source(ref)
        except (OSError, ReadError):
            raise OriginalUnavailable("missing", doc.path) from None
        copy.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = copy.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        os.replace(partial, copy)
    return copy


def page_image_source(catalog: Catalog, doc: Document) -> tuple[str, Path]:
    """What a page image is drawn from: ("pdf", a PDF file) for PDFs and the formats LibreOffice
    converts (their rendition), ("image", the file) for photos and scans; ReadError `no_image` for
    formats without fixed pages (Word read directly, spreadsheets, OFD)."""
    from .messages import message
    from .readers.dispatch import CONVERTED
    from .readers.office import convert_to_pdf, rendition_path

    path = servable_original(catalog, doc)
    if doc.format == "pdf":
        return "pdf", path
    if doc.format == "image":
        return "image", path
    if doc.format in CONVERTED:
        renditions = catalog.path.parent / "renditions"
        convert_to_pdf(path.read_bytes(), doc.format, renditions)       # made once, then read from there
        return "pdf", rendition_path(renditions, doc.id)
    raise ReadError("no_image", message("document.no_page_image"))


def original_on_disk(doc: Document) -> bool:
    """Whether the original (or the archive holding it) is still where it was catalogued (checked
    cheaply; serving it verifies the bytes)."""
    path = Path(doc.path)
    return path.is_file() or any(parent.is_file() for parent in path.parents)


def has_page_images(doc: Document) -> bool:
    """Whether the document view offers page images: a format with fixed pages (PDF, a converted
    Word file, a photo) whose original is still on disk."""
    from .readers.dispatch import CONVERTED

    return doc.format in ("pdf", "image", *CONVERTED) and original_on_disk(doc)
