"""A cache of OCR results by rendered-page hash that survives runs (`ocr-cache.db` in the data home).

Workers write each page as soon as it is read, so a batch stopped halfway redoes no finished page,
and the same page met again (a copy, a re-ingest after `--retry-failed`, a newer extractor) costs
nothing. Its own SQLite file, not the catalogue: workers write it while the main process writes the
catalogue, and deleting it loses only time.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from .ocr import OcrPage

FILENAME = "ocr-cache.db"


class OcrCache:
    """Pages read by OCR, by `archive.ocr.image_key`. Safe to share between processes."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self.conn.execute("pragma journal_mode=wal")
        self.conn.execute("pragma synchronous=normal")
        self.conn.execute(
            "create table if not exists pages (key text primary key, text text, confidence real, "
            "rotation integer, skew real, lines integer, seconds real, created real, tables text)")

    def get(self, key: str) -> OcrPage | None:
        """The page read before, or None (also when the cache cannot be read: OCR goes on)."""
        try:
            row = self.conn.execute("select text, confidence, rotation, skew, lines, seconds, tables "
                                    "from pages where key = ?", [key]).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        return OcrPage(*row[:6], tables=json.loads(row[6] or "[]"))

    def put(self, key: str, page: OcrPage) -> None:
        """Keep a page; a cache that cannot be written (locked too long, disk full) costs only
        the saving."""
        try:
            self.conn.execute("insert or replace into pages values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [key, page.text, page.confidence, page.rotation, page.skew, page.lines,
                               page.seconds, time.time(), json.dumps(page.tables, ensure_ascii=False)])
        except sqlite3.Error:
            pass

    def __len__(self) -> int:
        return self.conn.execute("select count(*) from pages").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


_open: dict[str, OcrCache] = {}


def shared(path: Path | str | None) -> OcrCache | None:
    """One connection per process and path (workers keep theirs between tasks); None when the
    cache cannot be opened (OCR goes on without it)."""
    if path is None:
        return None
    key = str(path)
    if key not in _open:
        try:
            _open[key] = OcrCache(path)
        except (sqlite3.Error, OSError):
            return None
    return _open[key]
