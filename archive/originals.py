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


class OriginalUnavailable(Exception):
    """The original cannot be served: `reason` is `missing` or `changed`."""

    def __init__(self, reason: str, path: str):
        self.reason, self.path = reason, path
        super().__init__(f"{reason}: {path}")


def file_stamp(stat: os.stat_result) -> str:
    """What says a file is unchanged without reading it: size, modification and change times
    (copying with preserved times still changes the change time)."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _state(path: Path, doc_id: str, recorded: str | None) -> str:
    """`ok`, `missing` or `changed`."""
    try:
        stat = path.stat()
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
