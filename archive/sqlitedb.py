"""Opening the project's SQLite files (catalogue, accounts) the same way everywhere."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils


def open_db(path: Path) -> sqlite_utils.Database:
    """A connection in WAL mode (readers never wait for the one writer), waiting up to 30 s for
    a lock, usable from the thread that holds it or another (each object is used by one thread
    at a time), with synchronous=NORMAL (safe in WAL mode, much faster commits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=30, check_same_thread=False))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db
