"""Ingest and index in one step: what the `ingest` command and the web upload both do.

The catalogue is written first (the source of truth), then exactly what the ingest wrote or
removed is indexed; when there is no current index, it is rebuilt from the catalogue instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from archive.catalog import Catalog
from archive.ingest import Ingestor, Summary

from . import build


def index_changes(catalog: Catalog, index_dir: Path, saved: list[str], removed: Iterable[str] = ()) -> int:
    """Index the documents an ingest saved and drop those it removed; returns the count indexed."""
    if not build.index_exists(index_dir):
        return build.reindex(catalog, index_dir)["indexed"]
    return build.update(catalog, build.open_index(index_dir), saved, remove=removed)


def ingest_and_index(catalog: Catalog, index_dir: Path, paths: list[str | Path], **ingestor_options) -> tuple[Summary, int]:
    """Ingest `paths` (files or folders) and index what changed: (summary, documents indexed)."""
    ingestor = Ingestor(catalog, **ingestor_options)
    summary = ingestor.run(paths)
    return summary, index_changes(catalog, index_dir, ingestor.saved, ingestor.removed)
