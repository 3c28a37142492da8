"""Batch ingestion: find PDFs, skip what is unchanged, extract in worker processes, catalogue.

The per-file work (`process_file`) is a pure function of the file's bytes, so any executor can run
it (the local process pool here; a cluster later). Only this process writes the catalogue, one
document per transaction as results arrive, so an interrupted run resumes where it stopped.
A file that fails (damaged, encrypted, too slow, crashing its worker) is recorded with its
reason and the batch goes on.
"""
from __future__ import annotations

import hashlib
import os
import resource
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .catalog import Catalog
from .extract import extract, wants_tables
from .models import Document
from .pdf import PdfError, read_pdf

# Bump when extraction changes: documents extracted by an older version are extracted again.
EXTRACTOR_VERSION = 1
DEFAULT_TIMEOUT = 120.0            # seconds a file may take in its worker
DEFAULT_MEMORY_MB = 3072           # address-space limit of a worker


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def process_file(path: str) -> dict[str, Any]:
    """Read one file and extract its fields: the unit of work a worker runs.

    Returns a picklable dict: {"ok": True, "sha256", "pages", "extracted", "seconds"} or
    {"ok": False, "sha256", "reason", "message"}.
    """
    started = time.perf_counter()
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        pages = read_pdf(data, want_tables=wants_tables)
    except PdfError as exc:
        return {"ok": False, "sha256": digest, "reason": exc.reason, "message": str(exc)}
    found = extract(pages)
    return {
        "ok": True, "sha256": digest,
        "pages": [{"number": p.number, "text": p.text, "has_text": int(p.has_text),
                   "has_images": int(p.has_images), "ocr": 0, "ocr_confidence": None} for p in pages],
        "extracted": asdict(found),
        "seconds": time.perf_counter() - started,
    }


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """PDF files under the given paths (folders recursively; files named directly always count)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        candidates = [p] if p.is_file() else sorted(
            q for q in p.rglob("*") if q.is_file() and q.suffix.lower() == ".pdf")
        for q in candidates:
            q = q.resolve()
            if q not in seen:
                seen.add(q)
                found.append(q)
    return found


@dataclass
class Failure:
    path: str
    reason: str
    message: str


@dataclass
class Summary:
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_failed: int = 0
    failed: list[Failure] = field(default_factory=list)
    pages: int = 0
    ocr_pages: int = 0
    no_text: int = 0
    seconds: float = 0.0
    workers: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _worker_init(memory_mb: int) -> None:
    """Cap a worker's memory so a decompression bomb costs that worker, not the machine."""
    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def to_document(path: Path, result: dict[str, Any]) -> Document:
    found = dict(result["extracted"])
    pages = result["pages"]
    doc = Document.from_dict({**found, "id": result["sha256"], "path": str(path),
                              "filename": path.name, "pages": len(pages)})
    if pages and not any(p["has_text"] for p in pages):
        doc.status = "no_text"
    return doc


Progress = Callable[[str, Path, dict[str, Any] | None], None]


class Ingestor:
    """Runs one batch against a catalogue; `run` can be called for several batches."""

    def __init__(self, catalog: Catalog, workers: int = 2, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, retry_failed: bool = False,
                 progress: Progress | None = None):
        self.catalog = catalog
        self.workers = max(0, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.retry_failed = retry_failed
        self.progress = progress or (lambda event, path, info: None)
        self.saved: list[str] = []          # ids written by the last run (to index them)

    def plan(self, files: list[Path], summary: Summary) -> list[tuple[Path, str | None]]:
        """Files that need extracting. A file seen before at the same path with the same size and
        modification time is unchanged without reading it; one that failed before is skipped if
        its content is the same. Workers hash the rest (the main process only writes)."""
        known = self.catalog.known_files(EXTRACTOR_VERSION)
        failed = {r["path"]: r for r in self.catalog.failures()}
        todo: list[tuple[Path, str | None]] = []
        for path in files:
            stat = path.stat()
            if known.get(str(path)) == (stat.st_size, stat.st_mtime):
                summary.unchanged += 1
                self.progress("unchanged", path, None)
                continue
            prior = failed.get(str(path))
            if prior and not self.retry_failed and prior["sha256"] == sha256_file(path):
                summary.skipped_failed += 1
                self.progress("skipped", path, None)
                continue
            todo.append((path, None))
        return todo

    def run(self, paths: Iterable[str | Path]) -> Summary:
        started = time.perf_counter()
        self.saved = []
        files = discover(paths)
        summary = Summary(files=len(files), workers=self.workers)
        todo = self.plan(files, summary)
        if self.workers == 0:
            for path, digest in todo:
                try:
                    result = process_file(str(path))
                except Exception as exc:  # noqa: BLE001 — a bug in one file must not stop the batch
                    result = {"ok": False, "sha256": digest, "reason": "error",
                              "message": f"{type(exc).__name__}: {exc}"}
                self._store(path, digest, result, summary)
        else:
            self._run_pool(todo, summary)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _run_pool(self, todo: list[tuple[Path, str]], summary: Summary) -> None:
        from pebble import ProcessExpired, ProcessPool

        with ProcessPool(max_workers=self.workers, initializer=_worker_init,
                         initargs=(self.memory_mb,)) as pool:
            pending: dict[Future, tuple[Path, str | None]] = {}
            queue = list(reversed(todo))
            while queue or pending:
                # Keep a bounded number of tasks in flight so results are stored as they come.
                while queue and len(pending) < self.workers * 4:
                    path, digest = queue.pop()
                    future = pool.schedule(process_file, args=(str(path),), timeout=self.timeout)
                    pending[future] = (path, digest)
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    path, digest = pending.pop(future)
                    try:
                        result = future.result()
                    except TimeoutError:
                        result = {"ok": False, "sha256": digest, "reason": "timeout",
                                  "message": f"extraction took longer than {self.timeout:g} s"}
                    except ProcessExpired as exc:
                        result = {"ok": False, "sha256": digest, "reason": "crashed",
                                  "message": f"the worker died (exit code {exc.exitcode})"}
                    except MemoryError:
                        result = {"ok": False, "sha256": digest, "reason": "memory",
                                  "message": f"extraction needed more than {self.memory_mb} MB"}
                    except Exception as exc:  # noqa: BLE001
                        result = {"ok": False, "sha256": digest, "reason": "error",
                                  "message": f"{type(exc).__name__}: {exc}"}
                    self._store(path, digest, result, summary)

    def _store(self, path: Path, digest: str | None, result: dict[str, Any], summary: Summary) -> None:
        stat = path.stat()
        if not result["ok"]:
            self.catalog.record_failure(str(path), result.get("sha256") or digest or sha256_file(path),
                                        result["reason"], result["message"])
            summary.failed.append(Failure(str(path), result["reason"], result["message"]))
            self.progress("failed", path, result)
            return
        if self.catalog.has_document(result["sha256"], EXTRACTOR_VERSION):
            # The same content is catalogued already (a copy, or a moved file): note the path.
            self.catalog.record_path(str(path), result["sha256"], stat.st_size, stat.st_mtime)
            summary.unchanged += 1
            self.progress("unchanged", path, None)
            return
        doc = to_document(path, result)
        existed = self.catalog.has_document(doc.id)
        self.catalog.save_document(doc, result["pages"], stat.st_size, stat.st_mtime,
                                   EXTRACTOR_VERSION, result["seconds"])
        self.saved.append(doc.id)
        if existed:
            summary.updated += 1
        else:
            summary.added += 1
        summary.pages += doc.pages
        summary.ocr_pages += doc.ocr_pages
        summary.no_text += doc.status == "no_text"
        self.progress("added", path, {"pages": doc.pages})


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
