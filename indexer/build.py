"""Building the index from the catalogue: open (and rebuild on a version change), update, reindex,
check. The catalogue is the source of truth; the index can always be rebuilt from it.

One writer at a time: a second writer waits with back-off (uploads and batch runs share the
index). `reindex` commits every `chunk` documents, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import gc
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh import index as windex
from whoosh.analysis import Analyzer
from whoosh.index import LockError
from whoosh.writing import IndexWriter

from archive.catalog import Catalog
from archive.retry import GaveUp, retry

from . import dictionary, whoosh_ext
from .schema import build_schema, to_record, version

log = logging.getLogger(__name__)

VERSION_FILE = "VERSION"
BULK = 2000          # documents from which a build uses several processes
# A bulk commit's documents. Each commit leaves one segment per process (fewer, larger segments
# cost every query less) and starts its processes afresh (their caches of jieba's cuts empty):
# 16,000 built at 121.6 documents/s against 111.8-113.6 in two commits of 8,000, peaking at
# 1.3 GB a process (postings are kept in arrays, `whoosh_ext.arraypool`: ~60 bytes a posting).
BULK_STEP = 16_000
# Memory for Whoosh's own posting pool (before it spills sorted runs to disk and merges them in
# Python, which halved the build rate with 256 MB): only used where `arraypool` is not.
POOL_MB = 2048       # at most; a quarter of the memory shared by the processes on a smaller machine


# Merging. Whoosh merges segments by re-adding every posting in Python (~70 documents/s), and its
# default policy (MERGE_SMALL: a Fibonacci bound on the running total of the smallest segments)
# rewrote 88,000 of 96,000 bulk-built documents in one commit (stopped after 20 minutes). Here
# small segments (uploads, small batches) are merged with each other, smallest first and a bounded
# number of documents at a time, and the large ones a bulk build leaves are never rewritten.
SMALL_SEGMENT = 1_000     # documents; a segment below it is merged with others
MERGE_AT = 8              # small segments that make a commit merge some of them
MERGE_MAX_DOCS = 4_000    # documents one merge rewrites at most


def merge_small_segments(writer, segments: list) -> list:
    """Whoosh merge policy (`commit(mergetype=…)`): the segments to keep as they are; the ones
    merged are added to the writer's new segment."""
    from whoosh.reading import SegmentReader

    small = sorted((s for s in segments if s.doc_count_all() < SMALL_SEGMENT), key=lambda s: s.doc_count_all())
    if len(small) < MERGE_AT:
        return segments
    chosen: list = []
    total = 0
    for segment in small:
        if len(chosen) >= 2 and total + segment.doc_count_all() > MERGE_MAX_DOCS:
            break
        chosen.append(segment)
        total += segment.doc_count_all()
    for segment in chosen:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    merged = {id(s) for s in chosen}
    return [s for s in segments if id(s) not in merged]


def _pool_mb(procs: int) -> int:
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError, AttributeError):
        return 256
    return max(128, min(POOL_MB, physical // (4 * procs)))


class IndexBusy(Exception):
    """Another process held the index writer lock for longer than we were willing to wait."""


@dataclass
class IndexHandle:
    """An open index and the analyzer name it was built with."""

    index: windex.Index
    directory: Path
    analyzer_name: str = "jieba"


def _version_path(directory: Path) -> Path:
    return directory / VERSION_FILE


def open_index(directory: Path, analyzer: Analyzer | None = None, analyzer_name: str = "jieba",
               create: bool = True) -> IndexHandle:
    """Open the index at `directory`; create it, or rebuild it empty when its version is stale.

    A rebuilt index is empty: `reindex` (or `sync`) fills it from the catalogue. Applies the
    Whoosh extensions first where this Whoosh is theirs (`whoosh_ext.install`).
    """
    whoosh_ext.install()
    directory = Path(directory)
    wanted = version(analyzer_name)
    current = _version_path(directory).read_text().strip() if _version_path(directory).exists() else None
    if windex.exists_in(str(directory)) and current == wanted:
        return IndexHandle(windex.open_dir(str(directory)), directory, analyzer_name)
    if not create:
        raise FileNotFoundError(f"no current index at {directory}: run `auditarchive reindex`")
    if current is not None:
        log.warning("the index at %s was built by another version (%s, now %s): it is rebuilt from the "
                    "catalogue", directory, current, wanted)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    ix = windex.create_in(str(directory), build_schema(analyzer))
    _version_path(directory).write_text(wanted + "\n")
    return IndexHandle(ix, directory, analyzer_name)


def index_exists(directory: Path, analyzer_name: str = "jieba") -> bool:
    directory = Path(directory)

    def current() -> bool:
        return (windex.exists_in(str(directory)) and _version_path(directory).exists()
                and _version_path(directory).read_text().strip() == version(analyzer_name))
    try:        # a writer may swap the table of contents while we read it
        return retry(current, FileNotFoundError, attempts=5)
    except GaveUp:
        return windex.exists_in(str(directory))


def writer(handle: IndexHandle, wait: float = 60.0, procs: int = 1) -> IndexWriter:
    """The index writer, waiting with exponential back-off while another process holds it.
    `procs` > 1 analyses documents in that many processes (bulk builds, which inherit the Whoosh
    extensions: `whoosh_ext.install`)."""
    whoosh_ext.install()

    def take() -> IndexWriter:
        if procs > 1:        # each process writes its own segment; `reindex` merges after
            return handle.index.writer(procs=procs, multisegment=True, limitmb=_pool_mb(procs))
        return handle.index.writer()
    try:
        return retry(take, LockError, wait=wait)
    except GaveUp:
        raise IndexBusy(f"the index at {handle.directory} is locked by another writer "
                        f"(waited {wait:g} s)") from None


_learned: dict[str, int] = {}


def learn_org_names(catalog: Catalog) -> None:
    """Teach jieba the catalogue's organisation names (index and query side must agree); read
    again only when the catalogue has organisations this process has not seen."""
    count = catalog.db.execute("select count(*) from organisations").fetchone()[0]
    if _learned.get(str(catalog.path)) == count:
        return
    dictionary.add_org_names(catalog.org_names())
    _learned[str(catalog.path)] = count


def _records(catalog: Catalog, ids: Iterable[str]) -> Iterable[dict]:
    stamps = catalog.document_stamps()
    for doc_id in ids:
        doc = catalog.get_document(doc_id)
        if doc is None:
            continue
        record = to_record(doc, catalog.page_texts(doc_id))
        record["stamp"] = stamps.get(doc_id)
        yield record


def indexed_stamps(handle: IndexHandle) -> dict[str, str | None]:
    """id → stamp of every document in the index."""
    with handle.index.searcher() as searcher:
        return {f["id"]: f.get("stamp") for _, f in searcher.reader().iter_docs()}


# Python's cycle collector runs every 700 net allocations and walks the young objects each time:
# analysing a document allocates ~100,000 short-lived objects (tokens, spans, postings), none of
# them in cycles. While a writer runs it collects 70 times less often (a bulk build's processes
# are forked inside and inherit it): 8,000 documents in two processes 107.8 → 118.3 documents/s.
WRITING_GC_THRESHOLD = (50_000, 50, 50)


@contextmanager
def _fewer_collections():
    before = gc.get_threshold()
    gc.set_threshold(*WRITING_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def update(catalog: Catalog, handle: IndexHandle, ids: list[str], remove: Iterable[str] = (),
           wait: float = 60.0, procs: int = 1, new: bool = False) -> int:
    """(Re)index the given documents and remove others, in one commit. Returns the count indexed.
    `new` says none of `ids` is in the index yet (no delete needed: bulk builds)."""
    ids, remove = list(ids), list(remove)
    if not ids and not remove:
        return 0
    learn_org_names(catalog)
    with _fewer_collections():
        w = writer(handle, wait, procs)
        names = set(handle.index.schema.names())
        try:
            for doc_id in remove:
                w.delete_by_term("id", doc_id)
            count = 0
            for record in _records(catalog, ids):
                record = {k: v for k, v in record.items() if k in names}   # baselines lack `bodyp`
                if new:
                    w.add_document(**record)
                else:
                    w.update_document(**record)
                count += 1
            w.commit(mergetype=merge_small_segments)
        except BaseException:
            w.cancel()
            raise
    log.debug("index: %d document(s) written, %d removed (%d process(es))", count, len(remove), procs)
    return count


@dataclass
class Consistency:
    missing: list[str] = field(default_factory=list)    # in the catalogue, not in the index
    extra: list[str] = field(default_factory=list)      # in the index, not in the catalogue
    stale: list[str] = field(default_factory=list)      # in both, but changed in the catalogue since

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)

    def to_dict(self) -> dict[str, object]:
        return {"clean": self.clean, "missing": self.missing, "extra": self.extra, "stale": self.stale}


def check(catalog: Catalog, handle: IndexHandle) -> Consistency:
    """Documents in one of catalogue and index but not the other, or changed since indexed."""
    in_catalog, in_index = catalog.document_stamps(), indexed_stamps(handle)
    return Consistency(sorted(set(in_catalog) - set(in_index)), sorted(set(in_index) - set(in_catalog)),
                       sorted(i for i in set(in_catalog) & set(in_index) if in_catalog[i] != in_index[i]))


def ensure_index(catalog: Catalog, directory: Path) -> IndexHandle:
    """The index at `directory`, built from the catalogue first when there is none or it was
    built by another version (schema, analyzer, dictionary, Whoosh): what every reader of the
    index (the CLI, the app, the server before its workers start) does before searching."""
    if not index_exists(directory):
        reindex(catalog, directory)
    return open_index(directory)


def reindex(catalog: Catalog, directory: Path, full: bool = False, chunk: int = 500,
            progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Bring the index in line with the catalogue, committing every `chunk` documents.

    `full` starts from an empty index; otherwise only what is missing or stale is written, so a
    run that was interrupted resumes where it stopped.
    """
    if full and Path(directory).exists():
        shutil.rmtree(directory)
    handle = open_index(directory)
    state = check(catalog, handle)
    done = 0
    if state.extra or state.stale:
        done += update(catalog, handle, state.stale, remove=state.extra)
    todo = state.missing
    # A bulk build analyses in two processes (jieba is most of the cost) in larger commits.
    procs = min(2, os.cpu_count() or 1) if len(todo) >= BULK else 1
    step = max(chunk, BULK_STEP) if procs > 1 else chunk
    for start in range(0, len(todo), step):
        done += update(catalog, handle, todo[start:start + step], procs=procs, new=True)
        if progress:
            progress(done, len(todo) + len(state.stale))
    if procs > 1:
        w = writer(handle)       # merges the small segments a bulk build's last commit can leave
        w.commit(mergetype=merge_small_segments)
    return {"indexed": done, "removed": len(state.extra), "documents": catalog.document_count()}
