"""Ruled tables read with pdfplumber's table algorithm over objects that pypdfium2 parses.

pdfplumber finds tables well but spends ~75 ms a page parsing the content stream in Python
(pdfminer). Here PDFium (C++) supplies the ruling lines (path segments) and the text inside
each cell; pdfplumber's own functions turn the lines into intersections, cells and tables.
The result has pdfplumber's shape (rows of cell strings) at a small fraction of the cost.
"""
from __future__ import annotations

import ctypes
from typing import Any, Callable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import Table as _PlumberTable
from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

from .text import normalise

Table = list[list[str]]
SNAP = 3.0          # pdfplumber's default snap and join tolerances, in points
MIN_EDGE = 3.0
THIN = 2.0          # a rectangle thinner than this is a drawn line
# Finding cells is quadratic in the ruling lines' crossings; a real form has a few hundred. A page
# ruled like graph paper is not read as tables (its text is still read).
MAX_INTERSECTIONS = 10_000


def _edge_h(x0: float, x1: float, y: float) -> dict[str, Any]:
    x0, x1 = sorted((x0, x1))
    return {"x0": x0, "x1": x1, "top": y, "bottom": y, "width": x1 - x0, "height": 0.0,
            "orientation": "h", "object_type": "line"}


def _edge_v(x: float, top: float, bottom: float) -> dict[str, Any]:
    top, bottom = sorted((top, bottom))
    return {"x0": x, "x1": x, "top": top, "bottom": bottom, "width": 0.0,
            "height": bottom - top, "orientation": "v", "object_type": "line"}


def _to_page(obj: pdfium.PdfObject) -> tuple[float, ...]:
    """The object's matrix composed with those of the forms (XObjects) it sits in."""
    m = obj.get_matrix()
    container = getattr(obj, "container", None)
    while container is not None:
        m = m.multiply(container.get_matrix())
        container = getattr(container, "container", None)
    return m.get()


def _segments(obj: pdfium.PdfObject, page_height: float) -> list[tuple[float, float, float, float]]:
    """The straight pieces of a path object, in top-down page coordinates."""
    a, b, c, d, e, f = _to_page(obj)
    count = pdfium_c.FPDFPath_CountSegments(obj.raw)
    x, y = ctypes.c_float(), ctypes.c_float()
    points: list[tuple[float, float, int, bool]] = []
    for i in range(count):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj.raw, i)
        pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
        px, py = a * x.value + c * y.value + e, b * x.value + d * y.value + f
        points.append((px, page_height - py, pdfium_c.FPDFPathSegment_GetType(seg),
                       bool(pdfium_c.FPDFPathSegment_GetClose(seg))))
    out = []
    start = prev = None
    for px, py, kind, close in points:
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or prev is None:
            start = prev = (px, py)
            continue
        if kind == pdfium_c.FPDF_SEGMENT_LINETO:
            out.append((prev[0], prev[1], px, py))
        prev = (px, py)
        if close and start is not None:
            out.append((px, py, start[0], start[1]))
            prev = start
    return out


def page_edges(page: pdfium.PdfPage) -> list[dict[str, Any]]:
    """Horizontal and vertical ruling edges of a page: drawn lines and the sides of rectangles."""
    height = page.get_height()
    edges = []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=3):
        if getattr(obj, "level", 0) > 0:          # inside a form: its own coordinates
            edges += [_edge_from_segment(*seg) for seg in _segments(obj, height)
                      if _edge_from_segment(*seg)]
            continue
        left, bottom, right, top = obj.get_bounds()
        if right - left < THIN and top - bottom >= MIN_EDGE:          # a thin vertical bar
            edges.append(_edge_v((left + right) / 2, height - top, height - bottom))
            continue
        if top - bottom < THIN and right - left >= MIN_EDGE:          # a thin horizontal bar
            edges.append(_edge_h(left, right, height - (top + bottom) / 2))
            continue
        edges += [e for seg in _segments(obj, height) if (e := _edge_from_segment(*seg))]
    return edges


def _edge_from_segment(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any] | None:
    if abs(y0 - y1) < 0.5 and abs(x1 - x0) >= MIN_EDGE:
        return _edge_h(x0, x1, y0)
    if abs(x0 - x1) < 0.5 and abs(y1 - y0) >= MIN_EDGE:
        return _edge_v(x0, y0, y1)
    return None


def join_lines(text: str) -> str:
    """Undo the wrapping of a cell: Chinese joins directly, `2020\\n10.2` keeps a blank."""
    import re

    return re.sub(r"(?<=[0-9A-Za-z.,;:])\n(?=[0-9A-Za-z])", " ", text).replace("\n", "")


def page_tables(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> list[Table]:
    """Every ruled table of the page as rows of normalised cell text ("" for empty cells)."""
    edges = page_edges(page)
    if len(edges) < 4:
        return []
    edges = merge_edges(edges, SNAP, SNAP, SNAP, SNAP)
    edges = [e for e in edges if (e["width"] if e["orientation"] == "h" else e["height"]) >= MIN_EDGE]
    intersections = edges_to_intersections(edges, 1, 1)
    if len(intersections) > MAX_INTERSECTIONS:
        return []
    height = page.get_height()

    def text_of(cell: tuple[float, float, float, float]) -> str:
        x0, top, x1, bottom = cell
        return textpage.get_text_bounded(left=x0, bottom=height - bottom, right=x1, top=height - top)

    return tables_from_cells(intersections_to_cells(intersections), text_of)


def tables_from_cells(cells: list, text_of: Callable[[tuple[float, float, float, float]], str],
                      min_rows: int = 1) -> list[Table]:
    """pdfplumber's grouping of ruled cells into tables and rows, each cell's raw text (from
    `text_of(x0, top, x1, bottom)`: the text layer, or OCR'd pieces) normalised and joined; rows
    with no text dropped, tables with fewer than `min_rows` rows left out."""
    tables = []
    for group in cells_to_tables(cells):
        rows = []
        for row in _PlumberTable(None, group).rows:
            texts = ["" if cell is None else join_lines(normalise(text_of(cell))) for cell in row.cells]
            if any(texts):
                rows.append(texts)
        if len(rows) >= min_rows:
            tables.append(rows)
    return tables
