"""Ingestion's tasks on a Dask distributed cluster (`auditarchive ingest --cluster tcp://HOST:8786`).

The client (the ingesting process) schedules exactly as with the local pool and alone writes the
catalogue and the index; Dask workers only run `process_file`, `ocr_task` and `finish_task` and
send back their compact results. Dask cannot stop a running task, so on the worker each task runs
in a child process of a one-per-worker pebble pool (`new_pool`: memory-capped, started fresh, not
forked from the worker) with the task's time limit: a hostile PDF that overruns or crashes costs
that child, never the Dask worker, and the task comes back as a `timeout` or `crashed` failure.
A worker lost mid-task (killed, its machine gone) is Dask's business: it reruns the task
elsewhere, and a task that has killed `distributed.scheduler.allowed-failures` workers (3 by
default) comes back as `KilledWorker`, recorded as `crashed`, so it cannot hang the batch.

Files travel by path when the workers can read it (a shared or identical folder tree); with
`send_bytes`, or from the first task whose path a worker cannot read, the client scatters each
file's bytes to the cluster once and its tasks read them from there.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from .executors import Result, failure, new_pool
from .messages import message
from .readers.base import ReadError
from .readers.containers import read_source, real_file

log = logging.getLogger(__name__)

ENV_CACHE = "AUDITARCHIVE_OCR_CACHE"            # a worker's own OCR cache file, when set
NO_WORKERS_WAIT = float(os.environ.get("AUDITARCHIVE_CLUSTER_WAIT", "300"))   # s without workers
_UNREACHABLE = "unreachable"


class ClusterError(RuntimeError):
    """The cluster itself failed (scheduler gone, no workers): the run stops; what was stored stays."""


# -- on the worker ---------------------------------------------------------------------------------

_lock = threading.Lock()
_pool: tuple[tuple[int, int, int], Any] | None = None


def _allow_children() -> None:
    """A worker started by a Dask nanny is a daemonic process, which multiprocessing forbids to
    start children (same as `distributed.worker.daemon: false`; the nanny still ends it)."""
    import multiprocessing

    me = multiprocessing.current_process()
    if me.daemon:
        me._config["daemon"] = False     # the public setter refuses once the process has started


def _child_environ(threads: int) -> None:
    """The children's environment as a local pool's: a Dask nanny sets MALLOC_TRIM_THRESHOLD_ (glibc
    then trims the heap at every large free: OCR, all large arrays, ran 3-4x slower) and one thread
    for OpenMP, MKL and OpenBLAS. Only the children started after this see it."""
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def _worker_pool(slots: int, memory_mb: int, ocr_threads: int) -> Any:
    """This worker's pool of children (kept between tasks: OCR models load once per child)."""
    global _pool
    key = (slots, memory_mb, ocr_threads)
    with _lock:
        if _pool is None or _pool[0] != key or not _pool[1].active:
            _allow_children()
            _child_environ(ocr_threads)
            if _pool is not None:
                _pool[1].stop()
            _pool = (key, new_pool(slots, memory_mb, ocr_threads, fresh=True))
        return _pool[1]


def _local_cache(client_cache: str | None) -> str | None:
    """The OCR cache this worker uses: `$AUDITARCHIVE_OCR_CACHE`, the client's own file when its
    folder is here (same machine, or a shared data home), else one under ~/.cache."""
    if os.environ.get(ENV_CACHE):
        return os.environ[ENV_CACHE]
    if client_cache and os.access(os.path.dirname(client_cache) or ".", os.W_OK):
        return client_cache
    return str(Path.home() / ".cache" / "auditarchive" / "ocr-cache.db")


def run_task(fn: Callable[..., Result], source: str | bytes | None, args: tuple, timeout: float,
             what: str, memory_mb: int, threads_on_host: dict[str, int],
             client_cache: str | None) -> Result:
    """A Dask task: `fn(source, *args)` in a child process within `timeout`; a failure dict when
    the child overran, crashed or raised. A path this worker cannot read comes back as
    `unreachable`, for the client to send the bytes instead."""
    from distributed import get_worker

    from .executors import outcome

    if isinstance(source, str) and not os.access(real_file(source), os.R_OK):
        return failure(_UNREACHABLE, message("cluster.unreachable_path", path=source))
    worker = get_worker()
    slots = max(1, worker.state.nthreads)
    sharing = threads_on_host.get(urlparse(worker.address).hostname or "", slots)
    pool = _worker_pool(slots, memory_mb, max(1, (os.cpu_count() or 1) // max(1, sharing)))
    cache = _local_cache(client_cache)
    args = tuple(cache if a == client_cache and client_cache else a for a in args)
    future = pool.schedule(fn, args=((source,) if source is not None else ()) + args, timeout=timeout)
    return outcome(future, timeout, what, memory_mb)


def noop() -> Result:
    """The lightest task: what a round trip through the cluster costs."""
    return {"ok": True}


# -- on the client ---------------------------------------------------------------------------------

class DaskExecutor:
    """The `archive.executors.Executor` contract over a Dask scheduler's workers."""

    def __init__(self, address: str, memory_mb: int, send_bytes: bool | None = None,
                 ocr_cache: str | None = None, connect_timeout: float = 30.0):
        from distributed import Client

        self.memory_mb = memory_mb
        self.send_bytes = bool(send_bytes)
        self.auto_bytes = send_bytes is None
        self.ocr_cache = ocr_cache
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(message("cluster.no_scheduler", address=address, detail=exc)) from None
        self._tickets = 0
        self._pending: dict[Any, tuple[int, Callable, Path | None, tuple, float, str]] = {}
        self._shipped: dict[Path, Any] = {}
        self._ready: list[tuple[int, Result]] = []
        self._done: queue.Queue = queue.Queue()
        self._threads: tuple[float, dict[str, int]] = (0.0, {})
        self._wait_for_workers()

    def _wait_for_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=NO_WORKERS_WAIT)
        except TimeoutError:
            self.client.close()
            raise ClusterError(message("cluster.no_workers", seconds=NO_WORKERS_WAIT)) from None

    def _nthreads(self) -> dict[str, int]:
        """Threads of each worker (asked at most every 2 s: workers come and go)."""
        at, known = self._threads
        if time.monotonic() - at > 2 or not known:
            try:
                known = dict(self.client.nthreads())
            except Exception as exc:  # noqa: BLE001 — the scheduler itself is gone
                raise ClusterError(message("cluster.lost", detail=f"{type(exc).__name__}: {exc}")) from None
            self._threads = (time.monotonic(), known)
        return known

    @property
    def cluster_workers(self) -> int:
        return len(self._nthreads())

    @property
    def workers(self) -> int:
        return max(1, sum(self._nthreads().values()))

    @property
    def slots(self) -> int:
        return self.workers

    def _threads_on_host(self) -> dict[str, int]:
        hosts: dict[str, int] = {}
        for address, n in self._nthreads().items():
            host = urlparse(address).hostname or ""
            hosts[host] = hosts.get(host, 0) + n
        return hosts

    def _ship(self, source: Path) -> Any:
        if source not in self._shipped:
            self._shipped[source] = self.client.scatter(read_source(source), hash=False)
        return self._shipped[source]

    def submit(self, fn: Callable[..., Result], source: Path | None, args: tuple, timeout: float,
               what: str) -> int:
        self._tickets += 1
        self._start(self._tickets, fn, source, args, timeout, what)
        return self._tickets

    def _start(self, ticket: int, fn: Callable[..., Result], source: Path | None, args: tuple,
               timeout: float, what: str) -> None:
        sent: Any = None
        if source is not None:
            try:
                sent = self._ship(source) if self.send_bytes else str(source)
            except OSError as exc:
                self._ready.append((ticket, failure("unreadable", message("file.unreadable", detail=exc.strerror or exc))))
                return
            except ReadError as exc:
                self._ready.append((ticket, failure(exc.reason, str(exc))))
                return
        future = self.client.submit(run_task, fn, sent, tuple(args), timeout, what, self.memory_mb,
                                    self._threads_on_host(), self.ocr_cache, pure=False,
                                    key=f"{fn.__name__}-{uuid.uuid4().hex}")
        self._pending[future] = (ticket, fn, source, args, timeout, what)
        future.add_done_callback(self._done.put)      # called from the client's event loop

    def completed(self) -> list[tuple[int, Result]]:
        while not self._ready:
            if not self._pending:
                return []
            try:
                done = [self._done.get(timeout=10)]
            except queue.Empty:
                self._still_workers()
                continue
            while not self._done.empty():
                done.append(self._done.get())
            for future in done:
                if future not in self._pending:
                    continue
                ticket, fn, source, args, timeout, what = self._pending.pop(future)
                result = self._result(future)
                if result.get("reason") == _UNREACHABLE and source is not None and self.auto_bytes:
                    if not self.send_bytes:
                        log.warning("a worker cannot read %s: sending the files' bytes to the cluster", source)
                    self.send_bytes = True
                    self._start(ticket, fn, source, args, timeout, what)
                    continue
                self._ready.append((ticket, result))
        ready, self._ready = self._ready, []
        return ready

    def _still_workers(self) -> bool:
        """Wait for workers while there are none; give up after `NO_WORKERS_WAIT` seconds."""
        self._threads = (0.0, {})
        if not self._nthreads():
            self._wait_for_workers()
        return True

    def _result(self, future: Any) -> Result:
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            raise ClusterError(message("cluster.cancelled"))
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            return failure("crashed", "the task was running on Dask workers that died, "
                                      f"each time (allowed-failures): {exc}")
        return failure("error", f"{type(exc).__name__}: {exc}")

    def release(self, source: Path) -> None:
        self._shipped.pop(source, None)

    def run(self, fn: Callable[..., Result], *args: Any) -> Result:
        """One task through the whole path, waited for (benchmarks: the per-task overhead)."""
        self.submit(fn, None, args, 60, fn.__name__)
        return self.completed()[0][1]

    def close(self) -> None:
        try:
            if self._pending:
                self.client.cancel(list(self._pending))
        finally:
            self._pending.clear()
            self._shipped.clear()
            self.client.close()
