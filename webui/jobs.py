"""The upload queue: one background thread ingests uploaded files one at a time and indexes them.

Uploads return at once; the file is stored first (archive.uploads) and its status is read from
the catalogue, so this queue holds only paths. Files stored but never ingested (the server
stopped) are queued again at start. Batch ingests from the command line share the catalogue's
ingest lock and the index writer's back-off, so both can run at the same time.
"""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from archive.catalog import Catalog
from archive.home import Home
from archive.uploads import stored_files, upload_status
from indexer.pipeline import ingest_and_index

log = logging.getLogger(__name__)


class IngestQueue:
    """A single worker thread over a queue of stored uploads."""

    def __init__(self, home: Home, timeout: float = 120.0):
        self.home = home
        self.timeout = timeout
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest-uploads", daemon=True)
            self._thread.start()

    def resume_pending(self, catalog: Catalog) -> int:
        """Queue the stored uploads the catalogue does not know yet (after a restart)."""
        pending = [p for p in reversed(stored_files(self.home.files_dir))
                   if upload_status(catalog, p)["status"] == "pending"]
        for path in pending:
            self.put(path)
        return len(pending)

    def put(self, path: Path) -> None:
        self._idle.clear()
        self._queue.put(path)
        self.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued upload is processed (tests, shutdown)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        catalog = Catalog(self.home.catalog_path)
        while True:
            path = self._queue.get()
            if path is None:
                break
            try:
                ingest_and_index(catalog, self.home.index_dir, [path], workers=1, timeout=self.timeout)
            except Exception:  # noqa: BLE001 — one upload must not stop the queue; its status stays pending
                log.exception("ingesting the upload %s failed", path)
            finally:
                self._queue.task_done()
                if self._queue.unfinished_tasks == 0:
                    self._idle.set()
