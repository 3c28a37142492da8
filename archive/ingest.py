"""Batch ingestion: find PDFs, skip what is unchanged, extract in worker processes, catalogue.

The per-file work (`process_file`) is a pure function of the file's bytes, so any executor can run
it (`archive.executors`: the local process pool, this process; `archive.cluster`: Dask workers),
under one scheduler (`Ingestor._schedule`). Only this process writes the catalogue, one
document per transaction as results arrive, so an interrupted run resumes where it stopped.
A file that fails (damaged, encrypted, too slow, crashing its worker) is recorded with its
reason and the batch goes on.

Pages to be read by OCR (`archive.ocr`) take seconds each, so a file goes in three
steps: the text pass (`process_file`, within `--timeout`) names the pages that need OCR; each
of those is a task of its own (`ocr_task`, with its own budget of `ocr_timeout` seconds a page),
spread over the workers and cached by page as it finishes (an interrupted batch redoes no page);
when a file's pages are all read, `finish_task` extracts its fields (within `--timeout`). A page
OCR cannot read (too slow, crashing) stays empty and the document says so in its warnings.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .catalog import Catalog
from .executors import Executor, InlineExecutor, PoolExecutor
from .extract import extract, wants_tables
from .limits import DEFAULT_MEMORY_MB, DEFAULT_OCR_TIMEOUT, DEFAULT_TIMEOUT, default_workers  # noqa: F401
from .messages import message
from .models import Document
from .ocr import needs_ocr
from .originals import file_stamp, member_stamp
from .pdf import Page
from .readers.base import ReadError
from .readers.containers import display_path, expand, is_ref, read_source, real_file
from .readers.dispatch import ARCHIVE_KINDS, EXTENSIONS, OCR_KINDS, ocr_page, read_pages, sniff, sniff_named

log = logging.getLogger(__name__)

# Bump when extraction changes: documents extracted by an older version are extracted again.
# 2: pages without a usable text layer are read by OCR.
EXTRACTOR_VERSION = 2
ENV_OCR_CACHE = "AUDITARCHIVE_OCR_CACHE"
OCR_MODES = ("auto", "always", "never")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(path: str | bytes) -> tuple[bytes | None, dict[str, Any] | None]:
    """The file's bytes: read from its path, from its archive (a member's reference), or as sent
    with the task (a cluster's `--send-bytes`)."""
    try:
        return read_source(path), None
    except ReadError as exc:
        return None, {"ok": False, "sha256": None, "reason": exc.reason, "message": str(exc)}
    except OSError as exc:
        return None, {"ok": False, "sha256": None, "reason": "unreadable",
                      "message": message("file.unreadable", detail=exc.strerror or exc)}


def process_file(path: str | bytes, ocr: str = "auto", cache: str | None = None,
                 split: bool = False) -> dict[str, Any]:
    """Read one file (or archive member) and extract its fields: the unit of work a worker runs.

    The format is found from the content (`archive.readers.dispatch.sniff`). Returns a picklable
    dict: {"ok": True, "sha256", "format", "size", "pages", "extracted", "seconds"} or {"ok": False,
    "sha256", "reason", "message"}. With `split`, a file with pages to OCR returns {"ok": True,
    "sha256", "format", "size", "ocr_todo": [page numbers], "read": [Page], "seconds"} instead, for
    the pool to OCR its pages as tasks of their own (`ocr_task`) and finish it (`finish_task`);
    otherwise OCR runs here, page after page.
    """
    started = time.perf_counter()
    data, failed = _read(path)
    if data is None:
        return failed  # type: ignore[return-value]
    digest = hashlib.sha256(data).hexdigest()
    try:
        kind = sniff_named(data, path if isinstance(path, str) else None)
        if kind in ARCHIVE_KINDS:        # archives are opened when planning; one met here is nested too deep
            raise ReadError("nested", message("archive.nested_too_deep"))
        pages = read_pages(data, kind, want_tables=wants_tables, cache=cache)
    except ReadError as exc:
        return {"ok": False, "sha256": digest, "reason": exc.reason, "message": str(exc)}
    todo = ([p.number for p in pages if needs_ocr(ocr, p.has_text, p.has_images, p.text)]
            if kind in OCR_KINDS else [])          # Word, sheets and OFD have no page image to read
    base = {"ok": True, "sha256": digest, "format": kind, "size": len(data)}
    if todo and split:
        return {**base, "ocr_todo": todo, "read": pages, "seconds": time.perf_counter() - started}
    read = {n: _ocr_page(data, kind, n, cache) for n in todo}
    return {**finish_task(digest, pages, read, time.perf_counter() - started), **base}


def _ocr_page(data: bytes, kind: str, number: int, cache: str | None) -> dict[str, Any]:
    from .ocrcache import shared

    try:
        return {"ok": True, **ocr_page(data, kind, number, shared(cache), cache).to_dict()}
    except ReadError as exc:
        return {"ok": False, "reason": exc.reason, "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 — one unreadable page must not lose the document
        return {"ok": False, "reason": "error", "message": f"{type(exc).__name__}: {exc}"}


def ocr_task(path: str | bytes, digest: str, number: int, cache: str | None) -> dict[str, Any]:
    """OCR one page of a file (a worker task of its own): its text, confidence, turn and skew."""
    data, failed = _read(path)
    if data is None:
        return failed  # type: ignore[return-value]
    if hashlib.sha256(data).hexdigest() != digest:
        return {"ok": False, "reason": "changed", "message": message("file.changed")}
    try:
        kind = sniff(data)
    except ReadError as exc:
        return {"ok": False, "reason": exc.reason, "message": str(exc)}
    return _ocr_page(data, kind, number, cache)


def finish_task(digest: str, pages: list[Page], read: dict[int, dict[str, Any]],
                seconds: float) -> dict[str, Any]:
    """Put the OCR'd text into the pages and extract the document's fields."""
    started = time.perf_counter()
    warnings = []
    rows = []
    for p in pages:
        row = {"number": p.number, "text": p.text, "has_text": int(p.has_text),
               "has_images": int(p.has_images), "ocr": 0, "ocr_confidence": None,
               "ocr_rotation": None, "ocr_skew": None}
        got = read.get(p.number)
        if got is not None and got.get("ok"):
            p.text = got["text"]
            if not p.has_text:          # the scan's own ruled tables, where the page wants them
                p.tables = (got.get("tables") or []) if wants_tables(p.text) else []
            row.update(text=got["text"], ocr=1, ocr_confidence=got["confidence"],
                       ocr_rotation=got["rotation"], ocr_skew=got["skew"])
        elif got is not None:
            warnings.append(message("ocr.page_failed", page=p.number, reason=got.get("reason"), detail=got.get("message")))
        rows.append(row)
    found = extract(pages)
    found.warnings += warnings
    return {
        "ok": True, "sha256": digest, "pages": rows, "extracted": asdict(found),
        "ocr_cached": sum(1 for r in read.values() if r.get("cached")),
        "ocr_failed": len(warnings),
        "seconds": seconds + time.perf_counter() - started
        + sum(r.get("seconds") or 0 for r in read.values() if not r.get("cached")),
    }


def ingest_roots(paths: Iterable[str | Path]) -> list[str]:
    """The folders a run was pointed at (a file's own folder), resolved."""
    out = []
    for raw in paths:
        p = Path(raw).resolve()
        out.append(str(p if p.is_dir() else p.parent))
    return out


_JUNK = {"thumbs.db", "desktop.ini", ".ds_store"}


def worth_reading(name: str) -> bool:
    """A name a folder walk reads: a document or archive extension, or none at all (the content
    decides); not a system file, a hidden file or a Word lock file (`~$报告.docx`)."""
    base = name.rsplit("/", 1)[-1]
    if not base or base.lower() in _JUNK or base.startswith((".", "~$")) or name.startswith("__MACOSX/"):
        return False
    suffix = os.path.splitext(base)[1].lower()
    return not suffix or suffix in EXTENSIONS


def discover(paths: Iterable[str | Path], problems: list[tuple[str, str]] | None = None,
             others: list[Path] | None = None) -> list[Path]:
    """Files to read under the given paths: in folders (recursively, following links to folders,
    each folder once) those whose names say document or archive (`worth_reading`), files named
    directly whatever their name; the format is decided from the content later. Folders that
    cannot be listed are added to `problems` as (path, message); files passed over to `others`."""
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
            problems.append((str(err.filename), message("folder.unreadable", detail=err.strerror or err)))

    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(message("path.missing", path=raw))
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
                q = Path(folder) / name
                if not q.is_file():
                    continue
                if worth_reading(name):
                    add(q)
                elif others is not None:
                    others.append(q)
    return found


Source = Path | str         # a file, or an archive member's reference (`archive.readers.containers.member_ref`)


def display(source: Source) -> Path:
    """Where people see a source: its path, or `<archive>/<member>`."""
    return Path(display_path(source)) if is_ref(source) else Path(source)


def source_stamp(source: Source, size: int | None = None) -> str:
    """A file's stamp, or an archive member's (`archive.originals.member_stamp`)."""
    if not is_ref(source):
        return file_stamp(Path(source).stat())
    return member_stamp(os.stat(real_file(source)), size)


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
    ocr_pages: int = 0                 # pages read by OCR in documents written (cached ones too)
    ocr_cached: int = 0                # of those, pages whose OCR came from the cache
    ocr_failed: int = 0                # pages OCR could not read (noted in the document's warnings)
    no_text: int = 0
    formats: dict[str, int] = field(default_factory=dict)   # documents written, by format read
    others: int = 0                    # files passed over: not documents by their names (notes, videos …)
    seconds: float = 0.0
    workers: int = 1
    cluster_workers: int | None = None  # Dask workers connected (a cluster run only)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.cluster_workers is None:
            del out["cluster_workers"]
        return out


def to_document(path: Path, result: dict[str, Any]) -> Document:
    found = dict(result["extracted"])
    pages = result["pages"]
    doc = Document.from_dict({**found, "id": result["sha256"], "path": str(path),
                              "filename": path.name, "pages": len(pages),
                              "format": result.get("format") or "pdf"})
    doc.ocr_pages = sum(1 for p in pages if p.get("ocr"))
    if pages and not any(p["has_text"] or p.get("ocr") and p["text"] for p in pages):
        doc.status = "no_text"
    return doc


Progress = Callable[[str, Path, dict[str, Any] | None], None]


class Ingestor:
    """Runs one batch against a catalogue; `run` can be called for several batches.

    Batches on one catalogue take turns (a lock file beside it), so two runs never do the same
    work twice or count a failure twice.
    """

    def __init__(self, catalog: Catalog, workers: int = 2, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, retry_failed: bool = False,
                 progress: Progress | None = None, ocr: str = "auto",
                 ocr_timeout: float = DEFAULT_OCR_TIMEOUT, ocr_cache: Path | str | None = None,
                 cluster: str | None = None, send_bytes: bool | None = None):
        """`ocr`: auto (pages without a usable text layer), always (every page), never.
        `cluster`: a Dask scheduler's address (`tcp://HOST:8786`): the tasks run on its workers
        instead of a local pool; `send_bytes` ships each file's bytes to them (None: only when a
        worker cannot read the path).
        `ocr_cache`: the OCR cache file (default `$AUDITARCHIVE_OCR_CACHE`, else `ocr-cache.db`
        beside the catalogue: data homes on one machine can share one, as the test suite does).
        `progress(event, path, info)` hears of every file (added, unchanged, skipped, failed)
        and of OCR: `ocr_queued` ({"pages": n}) and `ocr_page` ({"page", "cached", "seconds"})."""
        if ocr not in OCR_MODES:
            raise ValueError(f"ocr must be one of {', '.join(OCR_MODES)}, not {ocr!r}")
        from .ocrcache import FILENAME

        self.catalog = catalog
        self.workers = max(0, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.retry_failed = retry_failed
        self.progress = progress or (lambda event, path, info: None)
        self.ocr = ocr
        self.ocr_timeout = ocr_timeout
        self.ocr_cache = str(ocr_cache or os.environ.get(ENV_OCR_CACHE) or catalog.path.parent / FILENAME)
        self.cluster = cluster
        self.send_bytes = send_bytes
        self.saved: list[str] = []          # ids written by the last run (to index them)
        self.removed: list[str] = []        # ids the last run dropped (content replaced at a path)

    def plan(self, files: list[Path], summary: Summary) -> list[Source]:
        """Sources that need extracting: files, and the members of archives among them. A source
        seen before at the same path with the same stamp is unchanged without reading it; one that
        failed before with the same content and the same extractor is skipped (unless retrying).
        Workers hash the rest; this process only writes."""
        known = self.catalog.known_files(EXTRACTOR_VERSION)
        failed = {r["path"]: r for r in self.catalog.failures()}
        todo: list[Source] = []
        for path in files:
            expanded = expand(path, worth_reading)
            if expanded is None:
                sources: list[tuple[Source, int | None]] = [(path, None)]
            else:
                for shown, reason, text in expanded.problems:
                    prior = failed.get(shown)
                    if (prior and not self.retry_failed and prior["extractor_version"] == EXTRACTOR_VERSION
                            and prior["reason"] == reason):          # the same member, refused as before
                        summary.skipped_failed += 1
                        self.progress("skipped", Path(shown), None)
                        continue
                    self._fail(Path(shown), None, reason, text, summary)
                summary.others += len(expanded.others)
                summary.files += len(expanded.members) + len(expanded.problems) - 1   # members, not the archive
                sources = [(ref, size) for ref, size in expanded.members]
            for source, size in sources:
                shown = str(display(source))
                try:
                    stamp = source_stamp(source, size)
                    if known.get(shown) == stamp:
                        summary.unchanged += 1
                        self.progress("unchanged", display(source), None)
                        continue
                    prior = failed.get(shown)
                    if (prior and not self.retry_failed and prior["extractor_version"] == EXTRACTOR_VERSION
                            and prior["sha256"] == hashlib.sha256(read_source(source)).hexdigest()):
                        summary.skipped_failed += 1
                        self.progress("skipped", display(source), None)
                        continue
                except ReadError:
                    pass                      # read again by a worker, which reports why it cannot
                except OSError as exc:
                    self._fail(display(source), None, "unreadable",
                               message("file.unreadable", detail=exc.strerror or exc), summary)
                    continue
                todo.append(source)
        return todo

    def run(self, paths: Iterable[str | Path], files: list[Path] | None = None,
            problems: list[tuple[str, str]] | None = None, others: list[Path] | None = None) -> Summary:
        """Ingest `files` with the folders that could not be listed and the files passed over
        (default: what `discover(paths)` finds)."""
        started = time.perf_counter()
        paths = list(paths)
        self.saved, self.removed = [], []
        if files is None:
            problems, others = [], []
            files = discover(paths, problems, others)
        others = others or []
        self.catalog.record_roots(ingest_roots(paths))
        summary = Summary(files=len(files), workers=self.workers, others=len(others))
        with self.catalog.ingest_lock():
            for folder, message in problems or []:
                self._fail(Path(folder), None, "unreadable", message, summary)
            todo = self.plan(files, summary)
            log.info("ingest: %d file(s) found, %d to read (%d unchanged, %d skipped as failed before)",
                     len(files), len(todo), summary.unchanged, summary.skipped_failed)
            executor = self._executor()
            try:
                summary.workers = executor.workers
                summary.cluster_workers = getattr(executor, "cluster_workers", None)
                self._schedule(executor, todo, summary)
            finally:
                executor.close()
        summary.seconds = round(time.perf_counter() - started, 3)
        log.info("ingest done in %.1f s: %d added, %d updated, %d unchanged, %d failed", summary.seconds,
                 summary.added, summary.updated, summary.unchanged, len(summary.failed))
        return summary

    def _executor(self) -> Executor:
        """The pool of `workers` local processes, this process (`workers=0`), or the Dask cluster."""
        if self.cluster:
            from .cluster import DaskExecutor

            return DaskExecutor(self.cluster, memory_mb=self.memory_mb, send_bytes=self.send_bytes,
                                ocr_cache=self.ocr_cache)
        if self.workers == 0:
            return InlineExecutor()
        return PoolExecutor(self.workers, self.memory_mb)

    def _schedule(self, executor: Executor, todo: list[Source], summary: Summary) -> None:
        """Files, OCR pages and extractions as tasks over the executor. Work that finishes files
        comes first (extractions, then OCR pages), so results are stored early; a bounded number
        of tasks is in flight so that an interruption loses little."""
        pending: dict[int, tuple[str, Any]] = {}
        files = list(reversed(todo))
        ocr_pages: deque[tuple[_Scan, int]] = deque()
        finishing: list[_Scan] = []
        while files or ocr_pages or finishing or pending:
            while len(pending) < executor.slots * 2 and (finishing or ocr_pages or files):
                if finishing:
                    scan = finishing.pop()
                    ticket = executor.submit(finish_task, None, (scan.digest, scan.pages, scan.read,
                                                                 scan.seconds), self.timeout, message("task.extraction"))
                    pending[ticket] = ("finish", scan)
                elif ocr_pages:
                    scan, number = ocr_pages.popleft()
                    ticket = executor.submit(ocr_task, scan.path, (scan.digest, number, self.ocr_cache),
                                             self.ocr_timeout, message("task.ocr_page"))
                    pending[ticket] = ("ocr", (scan, number))
                else:
                    path = files.pop()
                    ticket = executor.submit(process_file, path, (self.ocr, self.ocr_cache, True),
                                             self.timeout, message("task.extraction"))
                    pending[ticket] = ("file", path)
            for ticket, result in executor.completed():
                kind, what = pending.pop(ticket)
                if kind == "ocr":
                    scan, number = what
                    scan.read[number] = result
                    self.progress("ocr_page", display(scan.path), {"page": number, "ok": result["ok"],
                                                          "cached": bool(result.get("cached")),
                                                          "seconds": result.get("seconds")})
                    if len(scan.read) == len(scan.todo):
                        finishing.append(scan)
                    continue
                path = what.path if kind == "finish" else what
                if kind == "file" and result["ok"] and "ocr_todo" in result:
                    scan = _Scan(path, result["sha256"], result["read"], result["ocr_todo"],
                                 result["seconds"], result["format"], result["size"])
                    ocr_pages.extend((scan, n) for n in scan.todo)      # first come, first read
                    self.progress("ocr_queued", display(path), {"pages": len(scan.todo)})
                    continue
                executor.release(path)
                if kind == "finish" and result["ok"]:
                    result.update(format=what.format, size=what.size)
                self._store(path, result, summary)

    def _fail(self, path: Path, digest: str | None, reason: str, message: str, summary: Summary) -> None:
        if digest is None and reason not in ("unreadable", "vanished"):
            try:
                digest = sha256_file(path)
            except OSError:
                pass
        self.catalog.record_failure(str(path), digest, reason, message, EXTRACTOR_VERSION)
        log.info("failed: %s [%s] %s", path, reason, message)      # the summary lists them all
        summary.failed.append(Failure(str(path), reason, message))
        self.progress("failed", path, {"reason": reason, "message": message})

    def _store(self, source: Source, result: dict[str, Any], summary: Summary) -> None:
        path = display(source)
        if not result["ok"]:
            self._fail(path, result.get("sha256"), result["reason"], result["message"], summary)
            return
        try:
            stamp = source_stamp(source, result.get("size"))
        except OSError as exc:
            self._fail(path, result["sha256"], "vanished",
                       message("file.vanished", detail=exc.strerror or exc), summary)
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
        log.debug("%s %s: %s, %d page(s), %d by OCR", "updated" if existed else "added", path,
                  doc.doc_type, doc.pages, doc.ocr_pages)
        if existed:
            summary.updated += 1
        else:
            summary.added += 1
        summary.pages += doc.pages
        summary.ocr_pages += doc.ocr_pages
        summary.ocr_cached += result.get("ocr_cached", 0)
        summary.ocr_failed += result.get("ocr_failed", 0)
        summary.no_text += doc.status == "no_text"
        summary.formats[doc.format] = summary.formats.get(doc.format, 0) + 1
        self.progress("added", path, {"pages": doc.pages, "format": doc.format})


@dataclass
class _Scan:
    """A file whose pages are being read by OCR in the pool."""
    path: Source
    digest: str
    pages: list[Page]
    todo: list[int]
    seconds: float
    format: str
    size: int
    read: dict[int, dict[str, Any]] = field(default_factory=dict)


