"""Ingest and index in one step: what the `ingest` command and the web upload both do.

The catalogue is written first (the source of truth), then exactly what the ingest wrote or
removed is indexed; when there is no current index, it is rebuilt from the catalogue instead.

A run killed between the two steps would leave documents in the catalogue that the index never
hears of (the next run finds their files unchanged and indexes nothing). So each run leaves a
marker beside the index while it works (`index-pending/<pid>-<random>`), removed once its
changes are indexed; a run that finds a marker of a process that no longer exists first brings
the whole index in line with the catalogue (`reindex`, which only writes what is missing or stale).
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from archive.catalog import Catalog
from archive.ingest import Ingestor, Summary

from . import build

PENDING = "index-pending"
log = logging.getLogger(__name__)


def _pending_dir(index_dir: Path) -> Path:
    return Path(index_dir).parent / PENDING


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_interrupted(catalog: Catalog, index_dir: Path) -> int:
    """If an earlier run died between catalogue and index, reconcile them; returns the count
    of documents written to the index (0 when nothing was interrupted)."""
    folder = _pending_dir(index_dir)
    dead = [m for m in folder.glob("*") if not _alive(int(m.name.split("-", 1)[0]))] if folder.is_dir() else []
    if not dead:
        return 0
    done = build.reindex(catalog, index_dir)["indexed"]
    for marker in dead:
        marker.unlink(missing_ok=True)
    return done


def interrupted(index_dir: Path) -> bool:
    """Is there a marker of a run that died before it indexed what it wrote? (a glob: cheap)"""
    folder = _pending_dir(index_dir)
    return folder.is_dir() and any(not _alive(int(m.name.split("-", 1)[0])) for m in folder.glob("*"))


def watch_interrupted(catalog_path: Path, index_dir: Path, stop: threading.Event,
                      interval: float = 5.0) -> None:
    """Until `stop` is set, repair the index whenever a run that wrote the catalogue died before
    indexing it: a running server must not show fewer documents than the catalogue holds until
    the next ingest. Meant for a daemon thread; an index another process is writing is tried
    again at the next look."""
    while not stop.wait(interval):
        if not interrupted(index_dir):
            continue
        catalog = Catalog(catalog_path)
        try:
            done = repair_interrupted(catalog, index_dir)
            log.warning("an interrupted ingest left %d documents unindexed; they are indexed now", done)
        except build.IndexBusy:
            log.info("index busy; the interrupted ingest is repaired at the next look")
        except Exception:       # a broken index or catalogue must not kill the server's thread
            log.exception("repairing the index after an interrupted ingest failed")
        finally:
            catalog.close()


@contextmanager
def pending(catalog: Catalog, index_dir: Path) -> Iterator[None]:
    """Mark a catalogue write whose index update is still to come (see the module docstring)."""
    repair_interrupted(catalog, index_dir)
    folder = _pending_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"{os.getpid()}-{secrets.token_hex(4)}"
    marker.touch()
    try:
        yield
    except BaseException:
        raise                     # the marker stays: the next run repairs
    marker.unlink(missing_ok=True)


def index_changes(catalog: Catalog, index_dir: Path, saved: list[str], removed: Iterable[str] = ()) -> int:
    """Index the documents an ingest saved and drop those it removed; returns the count indexed."""
    if not build.index_exists(index_dir):
        return build.reindex(catalog, index_dir)["indexed"]
    return build.update(catalog, build.open_index(index_dir), saved, remove=removed)


def ingest_and_index(catalog: Catalog, index_dir: Path, paths: list[str | Path], **ingestor_options) -> tuple[Summary, int]:
    """Ingest `paths` (files or folders) and index what changed: (summary, documents indexed)."""
    ingestor = Ingestor(catalog, **ingestor_options)
    with pending(catalog, index_dir):
        summary = ingestor.run(paths)
        indexed = index_changes(catalog, index_dir, ingestor.saved, ingestor.removed)
    return summary, indexed
