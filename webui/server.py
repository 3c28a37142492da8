"""Serving the app in production: gunicorn with one worker process per core, threads in each.

Whoosh and jieba are pure Python, so threads of one process share one core (the GIL); worker
processes use them all. Each worker opens its own catalogue connections, searchers and upload
queue; the index is brought up to date once, in the master, before the workers start.

Each worker serves its connections through waitress (`webui.worker`): requests are read in an
event loop and a thread gets only a complete one, so slow clients cost sockets, not threads. A
request's head must arrive within HEAD_TIMEOUT s of its first byte, a connection silent for
IDLE_TIMEOUT s is closed, a worker holds up to CONNECTIONS connections and BODY_BUDGET bytes of
request bodies (503 beyond), and a body over the upload limit is refused with 413 before it is
read. Behind a reverse proxy in production (README).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from archive.catalog import Catalog
from archive.home import Home
from indexer import build

from .worker import BODY_BUDGET, CONNECTIONS, HEAD_TIMEOUT, IDLE_TIMEOUT  # noqa: F401 — the front's limits


def prepare_home(home: Home) -> None:
    """Create the catalogue if needed and (re)build the index when it is absent or stale."""
    catalog = Catalog(home.catalog_path)
    try:
        if not build.index_exists(home.index_dir):
            build.reindex(catalog, home.index_dir)
    finally:
        catalog.close()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class _Gunicorn(BaseApplication):
    def __init__(self, root: Path, options: dict[str, Any], front: dict[str, Any] | None = None):
        self.root, self.options = root, options
        self.front = front or {}            # read by webui.worker.WaitressWorker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app(self.root)


def serve(home: Home, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None,
          threads: int = 4, timeout: int = 120, head_timeout: float = HEAD_TIMEOUT,
          idle_timeout: int = IDLE_TIMEOUT, connections: int = CONNECTIONS, body_budget: int = BODY_BUDGET) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM): `workers` processes × `threads` threads each
    answering requests, up to `connections` open connections per process."""
    prepare_home(home)
    _Gunicorn(home.root, {
        "bind": f"{host}:{port}", "workers": workers or default_workers(), "threads": threads,
        "worker_class": "webui.worker.WaitressWorker", "worker_connections": connections,
        "timeout": timeout,                 # heartbeat: a worker silent this long is restarted
        "graceful_timeout": 30, "backlog": 2048,
        "accesslog": None, "errorlog": "-", "loglevel": "warning", "proc_name": "auditarchive",
    }, {"head_timeout": head_timeout, "idle_timeout": idle_timeout, "body_budget": body_budget}).run()
