"""PDF → pages of normalised text (pypdfium2), plus ruled tables on the pages that need them.

pypdfium2 reads the text layer at hundreds of pages a second. Tables use pdfplumber's table
algorithm over objects PDFium parses (`archive.tables`), ~10× faster than pdfplumber's own
parsing, which `read_tables` keeps as the reference. Errors become `PdfError` with a reason a
person can act on (empty, not a PDF, encrypted, damaged).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .messages import message
from .readers.base import MIN_TEXT_CHARS, Page, ReadError
from .tables import Table, join_lines, page_tables
from .text import normalise


class PdfError(ReadError):
    """A file that cannot be read as a PDF."""


def check_signature(data: bytes) -> None:
    if not data:
        raise PdfError("empty", message("pdf.empty"))
    head = data[:1024]
    if b"%PDF-" not in head:
        raw = head[:32]
        try:
            sample = raw.decode("utf-8")
        except UnicodeDecodeError as exc:        # text cut inside a character is still text
            sample = raw[: exc.start].decode("utf-8") if exc.start >= len(raw) - 3 else ""
        sample = " ".join(sample.split())
        if not sample or not sample.isprintable():
            sample = message("pdf.not_pdf_bytes", hex=head[:8].hex(" "))
        raise PdfError("not_pdf", message("pdf.not_pdf", sample=repr(sample)))


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            raise PdfError("encrypted", message("pdf.encrypted")) from exc
        if b"%%EOF" not in data[-2048:]:
            raise PdfError("truncated", message("pdf.truncated", detail=text)) from exc
        raise PdfError("damaged", message("pdf.damaged", detail=text)) from exc


def _page_has_images(page: pdfium.PdfPage) -> bool:
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def read_pdf(data: bytes, want_tables: Callable[[str], bool] | None = None,
             max_pages: int = 5000) -> list[Page]:
    """Read every page's text; fill `tables` for pages where `want_tables(text)` is true."""
    check_signature(data)
    pdf = _open(data)
    try:
        count = len(pdf)
        if count == 0:
            raise PdfError("damaged", message("pdf.no_pages"))
        if count > max_pages:
            raise PdfError("too_large", message("pdf.too_many_pages", count=count, limit=max_pages))
        pages = []
        for index in range(count):
            page = pdf[index]
            tables: list[Table] = []
            try:
                textpage = page.get_textpage()
                try:
                    text = normalise(textpage.get_text_range())
                    has_text = sum(not ch.isspace() for ch in text) >= MIN_TEXT_CHARS
                    has_images = False if has_text else _page_has_images(page)
                    if has_text and want_tables and want_tables(text):
                        tables = page_tables(page, textpage)
                finally:
                    textpage.close()
            finally:
                page.close()
            pages.append(Page(index + 1, text, has_text, has_images, tables))
    finally:
        pdf.close()
    return pages


def read_tables(data: bytes, page_numbers: list[int]) -> dict[int, list[Table]]:
    """Ruled tables of the given pages (1-based) by pdfplumber alone: the slow reference that
    `archive.tables` is checked against."""
    import pdfplumber

    out: dict[int, list[Table]] = {}
    with pdfplumber.open(io.BytesIO(data), pages=page_numbers) as pdf:
        for page in pdf.pages:
            tables = []
            for table in page.extract_tables():
                rows = [[join_lines(normalise(cell or "")) for cell in row] for row in table]
                rows = [r for r in rows if any(r)]
                if rows:
                    tables.append(rows)
            out[page.page_number] = tables
            page.close()
    return out


def render_png(path: Path, page_number: int, scale: float = 1.5) -> bytes:
    """One page as PNG bytes (for the UI and OCR)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_number - 1]
        try:
            image = page.render(scale=scale).to_pil()
        finally:
            page.close()
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()
    finally:
        pdf.close()
