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
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return {"ok": False, "sha256": None, "reason": "unreadable",
                "message": f"cannot read the file: {exc.strerror or exc}"}
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


def discover(paths: Iterable[str | Path], problems: list[tuple[str, str]] | None = None) -> list[Path]:
    """PDF files under the given paths: folders recursively (following links to folders, each
    folder once), files named directly whatever their name. Folders that cannot be listed are
    added to `problems` as (path, message)."""
    found: list[Path] = []
    seen: set[Path] = set()
    visited: set[str] = set()

    def add(q: Path) -> None:
        q = q.resolve()
        if q not in seen:
            seen.add(q)
            found.append(q)

    def unreadable(err: OSError) -> None:
        if problems is not None:
            problems.append((str(err.filename), f"cannot list the folder: {err.strerror or err}"))

    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        if not p.is_dir():
            add(p)
            continue
        for folder, dirs, files in os.walk(p, followlinks=True, onerror=unreadable):
            real = os.path.realpath(folder)
            if real in visited:            # a link loop, or a folder reached twice
                dirs[:] = []
                continue
            visited.add(real)
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(".pdf"):
                    q = Path(folder) / name
                    if q.is_file():
                        add(q)
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


def file_stamp(stat: os.stat_result) -> str:
    """What says a file is unchanged without reading it: size, modification and change times
    (copying with preserved times still changes the change time)."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


class Ingestor:
    """Runs one batch against a catalogue; `run` can be called for several batches.

    Batches on one catalogue take turns (a lock file beside it), so two runs never do the same
    work twice or count a failure twice.
    """

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
        self.removed: list[str] = []        # ids the last run dropped (content replaced at a path)

    def plan(self, files: list[Path], summary: Summary) -> list[Path]:
        """Files that need extracting. A file seen before at the same path with the same stamp is
        unchanged without reading it; one that failed before with the same content and the same
        extractor is skipped (unless retrying). Workers hash the rest; this process only writes."""
        known = self.catalog.known_files(EXTRACTOR_VERSION)
        failed = {r["path"]: r for r in self.catalog.failures()}
        todo: list[Path] = []
        for path in files:
            try:
                stamp = file_stamp(path.stat())
                if known.get(str(path)) == stamp:
                    summary.unchanged += 1
                    self.progress("unchanged", path, None)
                    continue
                prior = failed.get(str(path))
                if (prior and not self.retry_failed and prior["extractor_version"] == EXTRACTOR_VERSION
                        and prior["sha256"] == sha256_file(path)):
                    summary.skipped_failed += 1
                    self.progress("skipped", path, None)
                    continue
            except OSError as exc:
                self._fail(path, None, "unreadable", f"cannot read the file: {exc.strerror or exc}", summary)
                continue
            todo.append(path)
        return todo

    def run(self, paths: Iterable[str | Path], files: list[Path] | None = None,
            problems: list[tuple[str, str]] | None = None) -> Summary:
        """Ingest `files` with the folders that could not be listed (default: what
        `discover(paths)` finds)."""
        started = time.perf_counter()
        self.saved, self.removed = [], []
        if files is None:
            problems = []
            files = discover(paths, problems)
        summary = Summary(files=len(files), workers=self.workers)
        with self.catalog.ingest_lock():
            for folder, message in problems or []:
                self._fail(Path(folder), None, "unreadable", message, summary)
            todo = self.plan(files, summary)
            if self.workers == 0:
                for path in todo:
                    try:
                        result = process_file(str(path))
                    except Exception as exc:  # noqa: BLE001 — a bug in one file must not stop the batch
                        result = {"ok": False, "sha256": None, "reason": "error",
                                  "message": f"{type(exc).__name__}: {exc}"}
                    self._store(path, result, summary)
            else:
                self._run_pool(todo, summary)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _run_pool(self, todo: list[Path], summary: Summary) -> None:
        from pebble import ProcessExpired, ProcessPool

        with ProcessPool(max_workers=self.workers, initializer=_worker_init,
                         initargs=(self.memory_mb,)) as pool:
            pending: dict[Future, Path] = {}
            queue = list(reversed(todo))
            while queue or pending:
                # Keep a bounded number of tasks in flight so results are stored as they come.
                while queue and len(pending) < self.workers * 4:
                    path = queue.pop()
                    pending[pool.schedule(process_file, args=(str(path),), timeout=self.timeout)] = path
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    path = pending.pop(future)
                    try:
                        result = future.result()
                    except TimeoutError:
                        result = {"ok": False, "reason": "timeout",
                                  "message": f"extraction took longer than {self.timeout:g} s"}
                    except ProcessExpired as exc:
                        result = {"ok": False, "reason": "crashed",
                                  "message": f"the worker died (exit code {exc.exitcode})"}
                    except MemoryError:
                        result = {"ok": False, "reason": "memory",
                                  "message": f"extraction needed more than {self.memory_mb} MB"}
                    except Exception as exc:  # noqa: BLE001
                        result = {"ok": False, "reason": "error",
                                  "message": f"{type(exc).__name__}: {exc}"}
                    self._store(path, result, summary)

    def _fail(self, path: Path, digest: str | None, reason: str, message: str, summary: Summary) -> None:
        if digest is None and reason not in ("unreadable", "vanished"):
            try:
                digest = sha256_file(path)
            except OSError:
                pass
        self.catalog.record_failure(str(path), digest, reason, message, EXTRACTOR_VERSION)
        summary.failed.append(Failure(str(path), reason, message))
        self.progress("failed", path, {"reason": reason, "message": message})

    def _store(self, path: Path, result: dict[str, Any], summary: Summary) -> None:
        if not result["ok"]:
            self._fail(path, result.get("sha256"), result["reason"], result["message"], summary)
            return
        try:
            stamp = file_stamp(path.stat())
        except OSError as exc:
            self._fail(path, result["sha256"], "vanished",
                       f"the file went away while it was read: {exc.strerror or exc}", summary)
            return
        if self.catalog.has_document(result["sha256"], EXTRACTOR_VERSION):
            # The same content is catalogued already (a copy, or a moved file): note the path.
            self.removed += self.catalog.record_path(str(path), result["sha256"], stamp)
            summary.unchanged += 1
            self.progress("unchanged", path, None)
            return
        doc = to_document(path, result)
        existed = self.catalog.has_document(doc.id)
        self.removed += self.catalog.save_document(doc, result["pages"], stamp, EXTRACTOR_VERSION,
                                                   result["seconds"])
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
