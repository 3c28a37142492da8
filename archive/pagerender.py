"""Page images for people (the web UI and API), rendered where a hostile PDF cannot hurt.

A page may claim 14,400 × 14,400 points (a 1.9 GB bitmap at 1.5×) or hold an image that
decodes to gigabytes; rendering it inside the web server would stall or kill it. So the scale
is capped (no side over MAX_SIDE_PX pixels), and the rendering runs in a small pool of worker
processes with an address-space limit and a time limit: a page that exceeds them is an error
with a reason, and the server goes on.
"""
from __future__ import annotations

import io
import multiprocessing
import resource
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from .messages import message
from .pdf import PdfError
from .readers.base import ReadError

MAX_SIDE_PX = 2400
RENDER_TIMEOUT = 20.0
RENDER_MEMORY_MB = 1024


def capped_scale(width_pt: float, height_pt: float, scale: float) -> float:
    """The requested scale, lowered so that neither side exceeds MAX_SIDE_PX pixels."""
    longest = max(width_pt, height_pt, 1.0)
    return min(scale, MAX_SIDE_PX / longest)


def render_page(path: str, page_number: int, scale: float = 1.5) -> bytes:
    """One page as PNG bytes, at most MAX_SIDE_PX pixels a side (runs in a worker)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PdfError("damaged", message("pdf.cannot_open", detail=exc)) from None
    try:
        if not 1 <= page_number <= len(pdf):
            raise PdfError("no_page", message("pdf.no_such_page", pages=len(pdf)))
        page = pdf[page_number - 1]
        try:
            width, height = page.get_size()
            bitmap = page.render(scale=capped_scale(width, height, scale))
            image = bitmap.to_pil()
        finally:
            page.close()
        buf = io.BytesIO()
        image.save(buf, format="PNG", optimize=False)
        return buf.getvalue()
    finally:
        pdf.close()


def render_image_frame(path: str, page_number: int, scale: float = 1.5) -> bytes:
    """A photo's or scan's frame as PNG, as prepared for OCR (turned upright, flattened), at most
    MAX_SIDE_PX pixels a side; `scale` 1.5 is full size (the same call as for a PDF page)."""
    import cv2

    from .readers.image import frame_count, load_frame

    data = Path(path).read_bytes()
    frames = frame_count(data)
    if not 1 <= page_number <= frames:
        raise PdfError("no_page", message("pdf.no_such_page", pages=frames))
    image = load_frame(data, page_number)
    side = min(MAX_SIDE_PX, max(image.shape[:2]) * scale / 1.5)
    factor = side / max(image.shape[:2])
    if factor < 1:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise PdfError("damaged", message("document.no_page_image"))
    return png.tobytes()


def _render_in_worker(path: str, page_number: int, scale: float,
                      kind: str = "pdf") -> tuple[str, bytes | str, str]:
    """("ok", png, "") or ("error", reason, message): PdfError does not cross a process boundary
    (it cannot be unpickled), so the outcome is sent as plain values."""
    try:
        if kind == "image":
            return "ok", render_image_frame(path, page_number, scale), ""
        return "ok", render_page(path, page_number, scale), ""
    except ReadError as exc:
        return "error", exc.reason, str(exc)


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Renderer:
    """A pool of rendering processes (started on first use), each with a memory limit."""

    def __init__(self, workers: int = 1, timeout: float = RENDER_TIMEOUT, memory_mb: int = RENDER_MEMORY_MB):
        self.workers, self.timeout, self.memory_mb = workers, timeout, memory_mb
        self._pool = None
        self._lock = threading.Lock()

    def _get_pool(self):
        from pebble import ProcessPool

        with self._lock:
            if self._pool is None:
                # spawned, not forked: the server is threaded (a fork copies other threads' locks
                # mid-use) and a forked worker inherits every open descriptor of the process
                # (a test's browser driver pipe kept open by it never saw its end: a hang)
                self._pool = ProcessPool(max_workers=self.workers, initializer=_limit_memory,
                                         initargs=(self.memory_mb,),
                                         context=multiprocessing.get_context("spawn"))
            return self._pool

    def png(self, path: Path, page_number: int, scale: float = 1.5, kind: str = "pdf") -> bytes:
        """The page (of a PDF, or `kind` "image": a photo's frame) as PNG; raises PdfError (reason
        timeout, memory, crashed, damaged, …)."""
        from pebble import ProcessExpired

        future = self._get_pool().schedule(_render_in_worker, args=(str(path), page_number, scale, kind),
                                           timeout=self.timeout)
        try:
            outcome, value, detail = future.result()
        except FutureTimeout:
            raise PdfError("timeout", message("render.timeout", seconds=self.timeout)) from None
        except MemoryError:
            raise PdfError("memory", message("render.memory", mb=self.memory_mb)) from None
        except ProcessExpired as exc:
            raise PdfError("crashed", message("render.crashed", code=exc.exitcode)) from None
        except Exception as exc:  # noqa: BLE001 — whatever PDFium raised, the page cannot be shown
            raise PdfError("damaged", f"{type(exc).__name__}: {exc}") from None
        if outcome != "ok":
            raise PdfError(str(value), detail)
        return value                      # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join()
                self._pool = None
