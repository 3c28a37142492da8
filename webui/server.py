"""Serving the app in production: gunicorn with one worker process per core, threads in each.

Whoosh and jieba are pure Python, so threads of one process share one core (the GIL); worker
processes use them all. Each worker opens its own catalogue connections, searchers and upload
queue; the index is brought up to date once, in the master, before the workers start.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from archive.catalog import Catalog
from archive.home import Home
from indexer import build


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
    def __init__(self, root: Path, options: dict[str, Any]):
        self.root, self.options = root, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app(self.root)


def serve(home: Home, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None,
          threads: int = 4, timeout: int = 120) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM)."""
    prepare_home(home)
    _Gunicorn(home.root, {
        "bind": f"{host}:{port}", "workers": workers or default_workers(), "threads": threads,
        "worker_class": "gthread", "timeout": timeout, "graceful_timeout": 30,
        "accesslog": None, "errorlog": "-", "loglevel": "warning", "proc_name": "auditarchive",
        # Uploads: the request body is read by the app itself (size checked while streaming).
        "limit_request_line": 8190,
    }).run()
