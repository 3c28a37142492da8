"""Images as documents: scans (.png .tif .jpg .bmp .webp), multi-page TIFFs, and phone photos of paper forms.

A scan is a page already: Pillow's many pixel formats (palette, CMYK, 16-bit, 1-bit fax TIFF,
transparency) only need turning into the grey image the OCR reads, as `archive.ocr.render_page` gives
it for a PDF page. A phone photo is not a scan: the sheet lies on a desk at an angle under uneven
light, and the phone stores it sideways with an EXIF tag. Its outline is found and warped to an
upright rectangle of the page's own shape, and the light evened out, so the OCR sees what a scanner
would have given (`flatten_photo`).

Images are hostile input like any file: only the formats above are opened (Pillow would also hand
EPS to Ghostscript), a declared size above `MAX_PIXELS` is refused before anything is decoded (a
decompression bomb is a tiny file), and every Pillow failure becomes a `ReadError`.
"""
from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .. import ocr
from ..messages import message
from .base import ReadError

MAX_PIXELS = 80_000_000          # a 12 MP phone photo is far below; an A0 scan at 300 dpi is 140 MP
MAX_FRAMES = 500
MAX_SIDE = round(297 / 25.4 * ocr.MAX_DPI)   # 3508 px: an A4 page at the most render_page renders
FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP", "GIF", "JPEG2000")    # JPEG opens a phone's MPO too
PROBE_SIDE = 640                 # long side of the copy the page's outline is looked for on
MIN_PAGE_SHARE = 0.1             # an outline must cover this share of the frame
MIN_EDGE_CONTRAST = 15           # grey levels the page is brighter than the desk along its edges
UNEVEN = 0.7                     # paper this much darker in a fifth of the frame than in its brightest parts
A4 = math.sqrt(2)
A4_SNAP = 0.04                   # an aspect ratio within 4 % of A4's is A4's (most forms are)
INSET = 0.01                     # share of each side cut off the warped page (the desk along its edge)
PAPER = 0.92                     # share of the background's brightness that becomes white


# -- decoding -----------------------------------------------------------------------------------

def _too_large(pixels: int) -> ReadError:
    return ReadError("too_large", message("image.too_large", megapixels=round(pixels / 1e6),
                                          limit=MAX_PIXELS // 1_000_000))


def _failure(exc: BaseException) -> ReadError:
    """The ReadError for what Pillow raised while opening or decoding."""
    if isinstance(exc, ReadError):
        return exc
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return _too_large(int(found.group(1)) if found else MAX_PIXELS + 1)
    if isinstance(exc, MemoryError):
        return ReadError("memory", message("image.memory"))
    detail = f"{type(exc).__name__}: {exc}"[:200]
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return ReadError("truncated", message("image.truncated", detail=detail))
    return ReadError("damaged", message("image.damaged", detail=detail))


@contextlib.contextmanager
def _pillow() -> Iterator[None]:
    """Pillow at work on untrusted bytes: its decompression-bomb warning is an error, its warnings
    about corrupt metadata are not printed (what matters about the file ends as a ReadError), and
    whatever it raises becomes a ReadError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except Exception as exc:  # noqa: BLE001 — Pillow raises anything on a broken file
        raise _failure(exc) from exc


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ReadError("empty", message("image.empty"))
    with _pillow():
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    _check_size(image)
    return image


def _check_size(image: Image.Image) -> None:
    w, h = image.size
    if w <= 0 or h <= 0:
        raise ReadError("damaged", message("image.damaged", detail=f"{w}×{h}"))
    if w * h > MAX_PIXELS:
        raise _too_large(w * h)


def _count(image: Image.Image) -> int:
    """Frames of an open image: the pages of a TIFF; anything else is one page (a phone's MPO
    JPEG carries a preview as its second frame, an animated GIF is not a document)."""
    if image.format != "TIFF":
        return 1
    count = 1
    while True:
        try:
            image.seek(count)
        except EOFError:
            return count
        count += 1
        if count > MAX_FRAMES:
            raise ReadError("too_large", message("image.too_many_frames", limit=MAX_FRAMES))


def _load(image: Image.Image) -> None:
    """Decode the current frame, refusing a frame above MAX_PIXELS (a TIFF's later frames are not
    checked by Pillow's open)."""
    _check_size(image)
    image.load()


def frame_count(data: bytes) -> int:
    """How many pages the image file holds (a TIFF's frames), after checking the first decodes."""
    image = _open(data)
    try:
        with _pillow():
            count = _count(image)
            image.seek(0)
            if image.format in ("JPEG", "MPO"):       # decoding at 1/8 scale still reads every byte
                image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
            _load(image)
        return count
    finally:
        image.close()


def _pixels(image: Image.Image) -> np.ndarray:
    """Any Pillow mode → uint8 grey (H×W) or RGB (H×W×3); transparency over white paper, 16-bit and
    float stretched to 0–255."""
    mode = image.mode
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode.startswith("I") or mode == "F":
        values = np.asarray(image, dtype=np.float32)
        if values.ndim == 3:
            values = values[..., 0]
        low, high = min(0.0, float(values.min())), float(values.max())
        if high > 255 or low < 0:
            values = (values - low) * (255.0 / max(high - low, 1e-6))
        elif high <= 1.0 and mode == "F":
            values = values * 255.0
        return np.clip(values, 0, 255).astype(np.uint8)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("LA", "La", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("RGB"))


def _decode(data: bytes, number: int) -> np.ndarray:
    """Frame `number` (1-based) upright (EXIF orientation applied), grey or RGB uint8, its long side
    at most MAX_SIDE."""
    image = _open(data)
    try:
        with _pillow():
            if number != 1:
                count = _count(image)
                if not 1 <= number <= count:
                    raise ReadError("no_page", message("image.no_such_frame", frames=count))
                image.seek(number - 1)
            w, h = image.size
            ratio = min(1.0, MAX_SIDE / max(w, h))
            if image.format in ("JPEG", "MPO") and ratio < 1:
                image.draft(None, (max(1, round(w * ratio)), max(1, round(h * ratio))))
            _load(image)
            try:
                upright = ImageOps.exif_transpose(image)
            except Exception:  # noqa: BLE001 — a broken EXIF block: keep the stored orientation
                upright = image
            factor = int(max(upright.size) / MAX_SIDE)
            if factor >= 2 and upright.mode in ("L", "RGB", "RGBA", "LA", "CMYK", "I", "F"):
                upright = upright.reduce(factor)          # a huge scan: shrink before converting
            pixels = np.array(_pixels(upright))           # a writable copy
    finally:
        image.close()
    return _shrink(pixels, MAX_SIDE)[0]


def _grey(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


# -- the page in a photo ------------------------------------------------------------------------

def _shrink(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """A copy whose long side is at most `side`, and its scale."""
    import cv2

    h, w = image.shape[:2]
    ratio = min(1.0, side / max(h, w))
    if ratio == 1.0:
        return image, ratio
    return cv2.resize(image, (max(1, round(w * ratio)), max(1, round(h * ratio))), interpolation=cv2.INTER_AREA), ratio


def _paper(image: np.ndarray) -> tuple[np.ndarray, float]:
    """A small copy where paper is bright and the desk dark: the darkest channel (white paper is
    bright in all three, wood or a coloured desk is not), and its scale."""
    small, ratio = _shrink(image, PROBE_SIDE)
    if small.ndim == 3:
        small = small[..., :3].min(axis=2)
    return np.ascontiguousarray(small), ratio


def _order(points: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (clockwise on screen)."""
    centre = points.mean(axis=0)
    points = points[np.argsort(np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0]))]
    return np.roll(points, -int(np.argmin(points.sum(axis=1))), axis=0).astype(np.float32)


def _on_border(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether the segment a–b runs along one of the frame's edges."""
    h, w = shape[:2]
    margin = 0.02 * min(h, w)
    return any(abs(a[k] - edge) < margin and abs(b[k] - edge) < margin
               for k, edge in ((0, 0), (0, w - 1), (1, 0), (1, h - 1)))


def _meet(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """Where the lines a–b and c–d cross (None when they meet at less than 20°)."""
    r, s = b - a, d - c
    cross = float(r[0] * s[1] - r[1] * s[0])
    if abs(cross) <= math.sin(math.radians(20)) * float(np.linalg.norm(r) * np.linalg.norm(s)):
        return None
    t = float((c - a)[0] * s[1] - (c - a)[1] * s[0]) / cross
    return a + t * r


def _cut_corner(polygon: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """A sheet with a corner beyond the frame: its outline is a pentagon (or hexagon) one of whose
    sides is the frame's edge; the sheet's four sides are the others, and the lost corner is where
    the two next to the frame's edge meet."""
    n = len(polygon)
    sides = [(polygon[i], polygon[(i + 1) % n]) for i in range(n)]
    kept = [side for side in sides if not _on_border(*side, shape)]
    if len(kept) != 4:
        return None
    corners = []
    for i in range(4):
        corner = _meet(*kept[i - 1], *kept[i])
        if corner is None:
            return None
        corners.append(corner)
    quad = np.array(corners, np.float32)
    h, w = shape[:2]
    if np.any(quad < -0.5 * min(h, w)) or np.any(quad[:, 0] > 1.5 * w) or np.any(quad[:, 1] > 1.5 * h):
        return None
    return _order(quad)


def _quad(contour: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The quadrilateral a region's outline is: its hull simplified to four corners (a corner beyond
    the frame found where its sides meet), else the smallest rectangle around it."""
    import cv2

    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True).reshape(-1, 2).astype(np.float32)
        if len(approx) == 4:
            return _order(approx)
        if len(approx) < 4:
            break
        if len(approx) <= 6:
            quad = _cut_corner(approx, shape)
            if quad is not None:
                return quad
    return _order(cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32))


def _plausible(quad: np.ndarray, region: float, shape: tuple[int, ...]) -> bool:
    """A sheet's shape: convex, a fair share of the frame, no sliver, corners near right angles,
    and fitting the region it was drawn around (as far as it lies in the frame)."""
    import cv2

    h, w = shape[:2]
    area = cv2.contourArea(quad)
    if area < MIN_PAGE_SHARE * h * w or not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return False
    frame = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    seen, _ = cv2.intersectConvexConvex(quad, frame)
    if seen <= 0 or not 0.85 <= region / seen <= 1.15:
        return False
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        if np.linalg.norm(c - b) < 0.1 * min(h, w):
            return False
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(cos) > math.cos(math.radians(35)):
            return False
    return True


def _edges_contrast(paper: np.ndarray, quad: np.ndarray) -> bool:
    """Whether the page stands out from what is around it: along every side that is not the frame's
    own edge, just inside is brighter than just outside; at least two such sides."""
    h, w = paper.shape
    step = max(3.0, 0.02 * min(h, w))
    centre = quad.mean(axis=0)
    inner = 0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        if _on_border(a, b, paper.shape):
            continue
        side = b - a
        normal = np.array([side[1], -side[0]]) / (np.linalg.norm(side) + 1e-9)
        if np.dot(normal, (a + b) / 2 - centre) < 0:
            normal = -normal                                  # outwards
        inside, outside = [], []
        for t in np.linspace(0.15, 0.85, 15):
            p = a + t * side
            xo, yo = (p + step * normal).round().astype(int)
            xi, yi = (p - step * normal).round().astype(int)
            if 0 <= xo < w and 0 <= yo < h and 0 <= xi < w and 0 <= yi < h:
                inside.append(paper[yi, xi])
                outside.append(paper[yo, xo])
        if len(inside) < 5:
            continue                                          # the side runs along the frame's edge
        inner += 1
        if float(np.median(inside)) - float(np.median(outside)) < MIN_EDGE_CONTRAST:
            return False
    return inner >= 2


def _outline(paper: np.ndarray) -> np.ndarray | None:
    """The page's corners in the small paper image, or None: bright regions (at Otsu's threshold and
    below it, for a page partly in shadow) and closed edges are candidates; the largest plausible
    quadrilateral that stands out from its surroundings wins."""
    import cv2

    h, w = paper.shape
    if min(h, w) < 48:
        return None
    blur = cv2.GaussianBlur(paper, (5, 5), 0)
    k = max(3, round(max(h, w) / 60)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    closed = cv2.morphologyEx(blur, cv2.MORPH_CLOSE, kernel)          # the text gone, the page left
    contours: list[np.ndarray] = []
    otsu, _ = cv2.threshold(closed, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for level in (otsu, otsu * 0.8, otsu * 0.6):
        mask = cv2.morphologyEx((closed > level).astype(np.uint8), cv2.MORPH_OPEN, kernel)
        found, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contours += sorted(found, key=cv2.contourArea, reverse=True)[:2]
    edges = cv2.dilate(cv2.Canny(closed, 20, 60), np.ones((3, 3), np.uint8))
    found, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours += sorted(found, key=cv2.contourArea, reverse=True)[:3]
    best, best_area = None, 0.0
    for contour in contours:
        region = cv2.contourArea(cv2.convexHull(contour))
        if region < MIN_PAGE_SHARE * h * w:
            continue
        quad = _quad(contour, paper.shape)
        area = cv2.contourArea(quad)
        if area > best_area and _plausible(quad, region, paper.shape) and _edges_contrast(closed, quad):
            best, best_area = quad, area
    return best


def _uneven(paper: np.ndarray) -> bool:
    """Light that falls off across the frame: the paper's brightness (the bright end of each cell of
    a 6×6 grid, text aside) drops well below its brightest in a fifth of the cells."""
    h, w = paper.shape
    if min(h, w) < 48:
        return False
    levels = [np.percentile(paper[i * h // 6:(i + 1) * h // 6, j * w // 6:(j + 1) * w // 6], 90)
              for i in range(6) for j in range(6)]
    return float(np.percentile(levels, 20)) < UNEVEN * float(np.percentile(levels, 95))


def _analyse(image: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """(looks like a photo, the page's corners in `image`'s pixels or None)."""
    paper, ratio = _paper(image)
    quad = _outline(paper)
    if quad is not None:
        return True, quad / ratio
    return _uneven(paper), None


def looks_like_photo(image: np.ndarray) -> bool:
    """A photo of a sheet (its outline with a desk around it, or strongly uneven light) rather than a
    flat scan or screenshot (the page fills the frame, evenly lit)."""
    return _analyse(image)[0]


# -- flattening ---------------------------------------------------------------------------------

def _aspect(quad: np.ndarray, shape: tuple[int, ...]) -> float:
    """Width / height of the sheet whose image is `quad`: the camera's focal length is estimated from
    the perspective (Zhang & He, "Whiteboard scanning and image enhancement", 2007; principal point
    at the frame's centre), kept within what phones have; an aspect within A4_SNAP of A4's is A4's."""
    h, w = shape[:2]
    long = float(max(h, w))
    tl, tr, br, bl = (p.astype(np.float64) - (w / 2, h / 2) for p in quad)
    m1, m2, m3, m4 = (np.append(p, 1.0) for p in (tl, tr, bl, br))
    ratio = 0.0
    with np.errstate(all="ignore"):
        k2 = np.dot(np.cross(m1, m4), m3) / np.dot(np.cross(m2, m4), m3)
        k3 = np.dot(np.cross(m1, m4), m2) / np.dot(np.cross(m3, m4), m2)
        n2, n3 = k2 * m2 - m1, k3 * m3 - m1
    if np.all(np.isfinite(n2)) and np.all(np.isfinite(n3)):
        denom = n2[2] * n3[2]
        f2 = -(n2[0] * n3[0] + n2[1] * n3[1]) / denom if abs(denom) > 1e-12 else -1.0
        f2 = float(np.clip(f2, (0.5 * long) ** 2, (4 * long) ** 2)) if f2 > 0 else (0.8 * long) ** 2
        top = n2[0] ** 2 + n2[1] ** 2 + f2 * n2[2] ** 2
        bottom = n3[0] ** 2 + n3[1] ** 2 + f2 * n3[2] ** 2
        ratio = math.sqrt(top / bottom) if bottom > 0 and top > 0 else 0.0
    if not 0.2 < ratio < 5:           # degenerate: the mean of opposite sides
        ratio = float((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl))
                      / (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)))
    for a4 in (A4, 1 / A4):
        if abs(ratio / a4 - 1) < A4_SNAP:
            return a4
    return ratio


def _warp(grey: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral cut out and warped to an upright rectangle of the sheet's aspect, as large
    as its longest side was (at most MAX_SIDE), a thin margin along its edge cut off."""
    import cv2

    tl, tr, br, bl = quad
    ratio = _aspect(quad, grey.shape)
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr),
                 np.linalg.norm(tr - tl) / ratio, np.linalg.norm(br - bl) / ratio)
    height = min(height, MAX_SIDE, MAX_SIDE / ratio)
    width = height * ratio
    mx, my = INSET * width, INSET * height
    target = np.array([[-mx, -my], [width - mx, -my], [width - mx, height - my], [-mx, height - my]], np.float32)
    size = (max(1, round(width - 2 * mx)), max(1, round(height - 2 * my)))
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    # A corner beyond the photo's frame comes out blank, as paper.
    return cv2.warpPerspective(grey, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=255)


def _even_light(grey: np.ndarray) -> np.ndarray:
    """Divide the page by its own background (the text closed away on a small copy, smoothed) so
    paper is white everywhere and ink dark, under a shadow as in full light."""
    import cv2

    h, w = grey.shape
    small, _ = _shrink(grey, 800)
    k = max(3, round(max(small.shape) / 40)) | 1       # wider than a character's strokes
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    background = cv2.GaussianBlur(background, (0, 0), k / 4)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    out = grey.astype(np.float32) * (255.0 / PAPER) / np.maximum(background.astype(np.float32), 8.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _flatten(image: np.ndarray, quad: np.ndarray | None) -> np.ndarray:
    grey = _grey(image)
    if quad is not None:
        grey = _warp(grey, quad)
    return np.ascontiguousarray(_even_light(grey))


def flatten_photo(image: np.ndarray) -> np.ndarray:
    """A photo of a sheet (grey, or RGB) → the grey page as a scanner would give it: the outline
    found and warped upright to the page's aspect, the light evened out. Without an outline the
    light is evened out on the whole frame."""
    return _flatten(image, _analyse(image)[1])


# -- the reader ---------------------------------------------------------------------------------

def load_frame(data: bytes, number: int) -> np.ndarray:
    """Frame `number` (1-based) as the grey uint8 page `archive.ocr.recognise` reads: upright by its
    EXIF tag, at most MAX_SIDE long, flattened when it looks like a photo."""
    pixels = _decode(data, number)
    photo, quad = _analyse(pixels)
    return _flatten(pixels, quad) if photo else _grey(pixels)


def ocr_image_page(data: bytes, number: int, cache: Any | None = None) -> ocr.OcrPage:
    """OCR frame `number` (1-based) of an image file, through the cache when one is given (as
    `archive.ocr.ocr_pdf_page` does for a PDF page)."""
    return ocr.ocr_image(load_frame(data, number), cache)
