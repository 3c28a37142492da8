"""OCR of page images with rapidocr-onnxruntime (PP-OCRv4 models shipped in the wheel, no download).

Pipeline for one page: render it grey at about its scan resolution → find where text runs on a small
copy (detection only) → turn the page upright (text boxes standing tall mean 90°/270°; the line
classifier's vote decides 180°) → straighten the skew (the median slope of the long text boxes) →
detect the text lines at working size, cut them from the full-size image and recognise them → group the pieces into lines by their height on the page, left to right, a blank where a gap
is wide (a table row stays one line: `证书编号 03410Q10286R0S`) → normalise → repair digits inside
identifiers (`archive.ocrfix`). Ruled tables are found in the image too (its long horizontal and
vertical strokes → pdfplumber's cell algorithm, as `archive.tables` does for PDF objects) and the
pieces of text filled into their cells, so findings and team tables read as in a text PDF.

OCR costs seconds a page, so the engine is loaded once per process and results are cached by the
rendered page's hash (`archive.ocrcache`).
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .ocrfix import repair
from .text import normalise

# Bump when the pipeline changes what it reads: cached pages of another version are read again.
OCR_VERSION = 2
MIN_DPI, TARGET_DPI, MAX_DPI = 150, 200, 300    # render at the scan's own resolution, within these
PROBE_SIDE = 1024              # long side of the copy used to find orientation and skew
DET_SIDE = 1280                # long side the text detector works at
MIN_SKEW = 0.15                # degrees: less is left alone
TEXT_SCORE = 0.5               # recognition scores below this are dropped (rapidocr's default)

_engine: Any = None
_threads: int | None = None


def set_threads(threads: int | None) -> None:
    """Threads each OCR model may use in this process (workers × threads ≤ cores)."""
    global _threads, _engine
    if threads != _threads:
        _threads, _engine = threads, None


def engine() -> Any:
    """The rapidocr engine of this process, loaded on first use (~0.7 s)."""
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        kw: dict[str, Any] = {"text_score": TEXT_SCORE}
        threads = _threads or int(os.environ.get("AUDITARCHIVE_OCR_THREADS", "0") or 0)
        if threads:
            kw.update(intra_op_num_threads=threads, inter_op_num_threads=1)
        _engine = RapidOCR(**kw)
    return _engine


@dataclass
class OcrPage:
    """What OCR read on one page."""

    text: str                      # normalised lines in reading order (repaired, once returned)
    confidence: float | None       # recognition score, mean over characters; None: nothing read
    rotation: int                  # degrees (clockwise) the page was turned to stand upright
    skew: float                    # degrees the page was straightened by
    lines: int
    seconds: float
    tables: list[list[list[str]]] = field(default_factory=list)     # ruled tables: rows of cells
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- images ----------------------------------------------------------------------------------

def _image_dpi(page: pdfium.PdfPage) -> float | None:
    """The resolution of the largest image on the page (a scan's own dpi)."""
    best = None
    width_pt = page.get_width()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        try:
            px_w, px_h = obj.get_px_size()
        except Exception:  # noqa: BLE001 — an image PDFium cannot size: ignore it
            continue
        span = max(right - left, top - bottom)
        if span < width_pt * 0.5:
            continue
        dpi = max(px_w, px_h) / (span / 72)
        best = max(best or 0, dpi)
    return best


def render_page(page: pdfium.PdfPage) -> np.ndarray:
    """The page as a grey image (uint8, H×W) at its scan's resolution, kept within 150–300 dpi."""
    dpi = _image_dpi(page) or TARGET_DPI
    dpi = min(MAX_DPI, max(MIN_DPI, dpi))
    bitmap = page.render(scale=dpi / 72, grayscale=True, may_draw_forms=True)
    image = bitmap.to_numpy()
    if image.ndim == 3:
        image = image[..., 0]
    return np.ascontiguousarray(image)


def image_key(image: np.ndarray) -> str:
    """The cache key of a rendered page: its pixels and the pipeline's version."""
    h = hashlib.sha256(f"ocr{OCR_VERSION}:{image.shape}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def _bgr(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def _scaled(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    import cv2

    h, w = image.shape[:2]
    ratio = min(1.0, side / max(h, w))
    if ratio == 1.0:
        return image, 1.0
    return cv2.resize(image, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_AREA), ratio


def _detect(image: np.ndarray) -> np.ndarray:
    """Text boxes (N×4×2, clockwise from top-left) of a grey image."""
    boxes, _ = engine().text_det(_bgr(image))
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4, 2), np.float32)
    return np.asarray(boxes, np.float32)


def _box_sizes(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    width = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    height = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    return width, height


def _crops(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    return engine().get_crop_img_list(_bgr(image), list(boxes))


def _upside_down(image: np.ndarray, boxes: np.ndarray) -> bool:
    """The line classifier's vote over the longest boxes: do they read as turned by 180°?"""
    width, height = _box_sizes(boxes)
    wide = [i for i in np.argsort(-width) if width[i] > 2.5 * height[i]][:24]
    if not wide:
        return False
    _, votes, _ = engine().text_cls(_crops(image, boxes[wide]))
    turned = sum(score for label, score in votes if label == "180")
    upright = sum(score for label, score in votes if label == "0")
    return turned > upright * 1.5


def _rotate(image: np.ndarray, degrees: int) -> np.ndarray:
    """Turn clockwise by a multiple of 90°."""
    return np.ascontiguousarray(np.rot90(image, k=-(degrees // 90) % 4))


def orientation(small: np.ndarray) -> tuple[int, np.ndarray]:
    """Clockwise degrees (0, 90, 180, 270) that make the page upright, found on a small copy, and
    the text boxes of the copy turned by 0° or 90° (a half turn keeps the lines' slope)."""
    boxes = _detect(small)
    if len(boxes) == 0:
        return 0, boxes
    width, height = _box_sizes(boxes)
    lying = float(np.sum(width[width > 1.5 * height]))
    standing = float(np.sum(height[height > 1.5 * width]))
    turn = 0
    if standing > lying:              # lines run up or down the page: it was fed sideways
        turn = 90
        small = _rotate(small, 90)
        boxes = _detect(small)
    if len(boxes) and _upside_down(small, boxes):
        turn = (turn + 180) % 360
    return turn, boxes


def skew_angle(boxes: np.ndarray) -> float:
    """Degrees (counter-clockwise positive, as PIL and OpenCV turn) the text lines rise by."""
    if len(boxes) == 0:
        return 0.0
    width, height = _box_sizes(boxes)
    long = (width > 4 * height) & (width > 40)
    if not long.any():
        return 0.0
    dx = boxes[long, 1, 0] - boxes[long, 0, 0]
    dy = boxes[long, 1, 1] - boxes[long, 0, 1]
    angles = np.degrees(np.arctan2(-dy, dx))          # y grows downwards
    near = np.abs(angles) < 10                        # ruling lines and stray boxes aside
    if not near.any():
        return 0.0
    angles, weights = angles[near], width[long][near]
    order = np.argsort(angles)
    cum = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cum, cum[-1] / 2)])     # weighted median


def straighten(image: np.ndarray, angle: float) -> np.ndarray:
    """Turn the page back by its skew (`angle` degrees, as `skew_angle` measures it), on white."""
    import cv2

    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


# -- lines -----------------------------------------------------------------------------------

@dataclass
class _Piece:
    text: str
    score: float
    x0: float
    x1: float
    yc: float
    h: float


def assemble(pieces: list[_Piece]) -> list[str]:
    """Pieces of text → lines: pieces whose middles sit within half a line height of each other
    share a line, left to right, a blank where the gap is wider than about a character."""
    lines: list[list[_Piece]] = []
    for p in sorted(pieces, key=lambda p: p.yc):
        if lines:
            last = lines[-1]
            yc = sum(q.yc for q in last) / len(last)
            h = min(p.h, min(q.h for q in last))
            if abs(p.yc - yc) < 0.5 * h:
                last.append(p)
                continue
        lines.append([p])
    out = []
    for line in lines:
        line.sort(key=lambda p: p.x0)
        text = line[0].text
        for prev, p in zip(line, line[1:]):
            gap = p.x0 - prev.x1
            text += (" " if gap > 0.6 * min(p.h, prev.h) else "") + p.text
        out.append(text)
    return out


def recognise(image: np.ndarray) -> OcrPage:
    """OCR one grey page image: upright, straightened, read, lines assembled (not yet repaired)."""
    started = time.perf_counter()
    small, ratio = _scaled(image, PROBE_SIDE)
    turn, boxes = orientation(small)
    if turn:
        image = _rotate(image, turn)
    angle = skew_angle(boxes)
    if abs(angle) >= MIN_SKEW:
        image = straighten(image, angle)
    work, ratio = _scaled(image, DET_SIDE)
    boxes = _detect(work)
    pieces: list[_Piece] = []
    if len(boxes):
        full = boxes / ratio
        # The page is upright now: no per-line 180° classifier (it flips short odd lines, such as
        # a row of tick boxes, into garbage).
        results, _ = engine().text_rec(_crops(image, full))
        width, height = _box_sizes(full)
        for box, h, (text, score, *_rest) in zip(full, height, results):
            text = text.strip()
            if not text or float(score) < TEXT_SCORE:
                continue
            pieces.append(_Piece(text, float(score), float(box[:, 0].min()), float(box[:, 0].max()),
                                 float(box[:, 1].mean()), float(h)))
    lines = assemble(pieces)
    tables = ruled_tables(image, pieces) if pieces else []
    chars = sum(len(p.text) for p in pieces)
    confidence = sum(p.score * len(p.text) for p in pieces) / chars if chars else None
    return OcrPage(text=normalise("\n".join(lines)), confidence=None if confidence is None else round(confidence, 4),
                   rotation=turn, skew=round(angle if abs(angle) >= MIN_SKEW else 0.0, 2),
                   lines=len(lines), seconds=round(time.perf_counter() - started, 3), tables=tables)


# -- tables ------------------------------------------------------------------------------------

def _line_edges(image: np.ndarray) -> list[dict[str, Any]]:
    """Ruling lines of a grey page: strokes far longer than any character's, as pdfplumber edges
    in pixels."""
    import cv2

    from .tables import _edge_h, _edge_v

    h, w = image.shape[:2]
    ink = cv2.adaptiveThreshold(image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    edges = []
    long_h, long_v = max(40, w // 25), max(30, h // 60)
    for kernel, horizontal in (((long_h, 1), True), ((1, long_v), False)):
        mask = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        for x, y, bw, bh, _area in stats[1:count]:
            if horizontal:
                edges.append(_edge_h(float(x), float(x + bw), float(y + bh / 2)))
            else:
                edges.append(_edge_v(float(x + bw / 2), float(y), float(y + bh)))
    return edges


def ruled_tables(image: np.ndarray, pieces: list[_Piece]) -> list[list[list[str]]]:
    """Ruled tables of the (upright, straightened) page image, with the OCR'd pieces of text put
    into the cells their middles fall in; rows of cell strings as `archive.tables` gives them."""
    from pdfplumber.table import edges_to_intersections, intersections_to_cells, merge_edges

    from .tables import MAX_INTERSECTIONS, tables_from_cells

    edges = _line_edges(image)
    if len(edges) < 4:
        return []
    tol = image.shape[1] / 200                 # ~8 px at 200 dpi: pdfplumber's 3 points
    edges = merge_edges(edges, tol, tol, tol, tol)
    intersections = edges_to_intersections(edges, tol, tol)
    if len(intersections) > MAX_INTERSECTIONS:
        return []

    def text_of(cell: tuple[float, float, float, float]) -> str:
        x0, top, x1, bottom = cell
        return "\n".join(assemble([p for p in pieces if x0 <= (p.x0 + p.x1) / 2 <= x1 and top <= p.yc <= bottom]))

    return tables_from_cells(intersections_to_cells(intersections), text_of, min_rows=2)


# -- when to read a page ---------------------------------------------------------------------

def garbage_text(text: str) -> bool:
    """A text layer that says nothing readable: mostly symbols, private-use or replacement
    characters (broken font encodings, or a scanner's junk OCR layer)."""
    chars = [ch for ch in text if not ch.isspace()]
    if len(chars) < 20:
        return False
    good = sum(1 for ch in chars if "\u4e00" <= ch <= "\u9fff" or ch.isascii() and ch.isalnum()
               or ch in ",.;:()[]-/%、。,;:()《》“”'\"·" or "\u3000" <= ch <= "\u303f")
    return good / len(chars) < 0.5


def needs_ocr(mode: str, has_text: bool, has_marks: bool, text: str) -> bool:
    """Whether a page is read by OCR under `--ocr auto|always|never`."""
    if mode == "never":
        return False
    if mode == "always":
        return True
    return (not has_text and has_marks) or (has_text and garbage_text(text))


def ocr_pdf_page(data: bytes, number: int, cache: Any | None = None) -> OcrPage:
    """OCR page `number` (1-based) of a PDF given as bytes, through the cache when one is given."""
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[number - 1]
        try:
            image = render_page(page)
        finally:
            page.close()
    finally:
        pdf.close()
    return ocr_image(image, cache)


def ocr_image(image: np.ndarray, cache: Any | None = None) -> OcrPage:
    """OCR a prepared page image (a rendered PDF page, a flattened photo) through the cache."""
    key = image_key(image)
    result = cache.get(key) if cache is not None else None
    if result is not None:
        result.cached = True
    else:
        result = recognise(image)
        if cache is not None:
            cache.put(key, result)
    # The cache keeps what OCR read; repairs apply on the way out, so improving them needs no OCR.
    result.text = repair(result.text)
    result.tables = [[[repair(cell) for cell in row] for row in table] for table in result.tables]
    return result

