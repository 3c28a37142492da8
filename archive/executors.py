"""Where ingestion's per-file tasks run: the contract, in-process, and the local process pool.

`Ingestor` schedules the work (text pass → OCR page tasks → extraction) the same way whatever runs
it; an executor only runs `fn(source, *args)` within a time limit and hands back, as tasks
complete, each one's result dict or a failure dict saying why there is none
({"ok": False, "reason": "timeout" | "crashed" | "memory" | "error", "message"}). The Dask
executor lives in `archive.cluster`.
"""
from __future__ import annotations

import os
import resource
import sys
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any, Callable, Protocol

from .messages import message

Result = dict[str, Any]


class Executor(Protocol):
    """Runs tasks; a task that died or ran out of time becomes a failure result, never an
    exception. `source` (a file) is passed as the task's first argument in whatever form the
    executor can deliver (a path, or the file's bytes)."""

    workers: int

    @property
    def slots(self) -> int:
        """How many tasks can run at once (the scheduler keeps about twice that in flight)."""

    def submit(self, fn: Callable[..., Result], source: Path | None, args: tuple, timeout: float,
               what: str) -> int:
        """Start `fn(source, *args)` (or `fn(*args)` without a source); returns a ticket."""

    def completed(self) -> list[tuple[int, Result]]:
        """Block until at least one task is done; its ticket and result (or failure)."""

    def release(self, source: Path) -> None:
        """No task will need `source` again (drop what was shipped for it)."""

    def close(self) -> None:
        """Stop the workers (or disconnect)."""


def failure(reason: str, message: str) -> Result:
    return {"ok": False, "reason": reason, "message": message}


def worker_init(memory_mb: int, ocr_threads: int | None = None) -> None:
    """Cap a worker's memory so a decompression bomb costs that worker, not the machine; share the
    cores between the workers' OCR models."""
    from . import ocr

    ocr.set_threads(ocr_threads)
    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def outcome(future: Future, timeout: float, what: str, memory_mb: int) -> Result:
    """A pebble task's result, or a failure saying why the worker gave none."""
    from pebble import ProcessExpired

    try:
        return future.result()
    except TimeoutError:
        return failure("timeout", message("task.timeout", what=what, seconds=timeout))
    except ProcessExpired as exc:
        return failure("crashed", message("task.crashed", code=exc.exitcode))
    except MemoryError:
        return failure("memory", message("task.memory", what=what, mb=memory_mb))
    except Exception as exc:  # noqa: BLE001
        return failure("error", f"{type(exc).__name__}: {exc}")


def new_pool(workers: int, memory_mb: int, ocr_threads: int, fresh: bool = False) -> Any:
    """A pebble pool of limited workers. A process that has run OCR itself holds onnxruntime's
    thread pools (and a Dask worker its event loop: `fresh`): a forked child would inherit their
    locks and hang, so workers then start from a fresh process instead."""
    import multiprocessing

    from pebble import ProcessPool

    fresh = fresh or "onnxruntime" in sys.modules
    context = multiprocessing.get_context("forkserver" if fresh else None)
    return ProcessPool(max_workers=workers, initializer=worker_init,
                       initargs=(memory_mb, ocr_threads), context=context)


class _Tickets:
    """Numbered tasks and their results, shared by the executors below."""

    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next


class InlineExecutor:
    """Runs each task in this process as it is submitted: no time or memory limit (`--workers 0`)."""

    workers = 0
    slots = 1

    def __init__(self) -> None:
        self._tickets = _Tickets()
        self._done: list[tuple[int, Result]] = []

    def submit(self, fn: Callable[..., Result], source: Path | None, args: tuple, timeout: float,
               what: str) -> int:
        ticket = self._tickets.take()
        try:
            result = fn(*((str(source),) if source is not None else ()), *args)
        except Exception as exc:  # noqa: BLE001 — a bug in one file must not stop the batch
            result = failure("error", f"{type(exc).__name__}: {exc}")
        self._done.append((ticket, result))
        return ticket

    def completed(self) -> list[tuple[int, Result]]:
        done, self._done = self._done, []
        return done

    def release(self, source: Path) -> None:
        pass

    def close(self) -> None:
        pass


class PoolExecutor:
    """The local pebble pool: each task within its time limit in a memory-capped worker; a
    worker that crashes or overruns is replaced and its task is a failure."""

    def __init__(self, workers: int, memory_mb: int):
        self.workers = workers
        self.memory_mb = memory_mb
        self._pool = new_pool(workers, memory_mb, max(1, (os.cpu_count() or 1) // workers))
        self._tickets = _Tickets()
        self._pending: dict[Future, tuple[int, float, str]] = {}

    @property
    def slots(self) -> int:
        return self.workers

    def submit(self, fn: Callable[..., Result], source: Path | None, args: tuple, timeout: float,
               what: str) -> int:
        ticket = self._tickets.take()
        future = self._pool.schedule(fn, args=((str(source),) if source is not None else ()) + tuple(args),
                                     timeout=timeout)
        self._pending[future] = (ticket, timeout, what)
        return ticket

    def completed(self) -> list[tuple[int, Result]]:
        done, _ = wait(list(self._pending), return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            ticket, timeout, what = self._pending.pop(future)
            out.append((ticket, outcome(future, timeout, what, self.memory_mb)))
        return out

    def release(self, source: Path) -> None:
        pass

    def close(self) -> None:
        self._pool.close()
        self._pool.join()
