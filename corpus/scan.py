"""Scanned copies of generated PDFs: what a paper archive run through a scanner looks like.

Each chosen page is rendered (pypdfium2) to a grey image, tilted by up to ±2°, blurred, given paper
tone, sensor noise and specks, sometimes turned by 90° (fed sideways), and written back as an
image-only page (JPEG inside the PDF, as scanners do). Other pages keep their text layer, so a
document can be partly scanned (a signed last page). The truth of a scanned page is the text its
original's text layer held. Deterministic: a seeded `random.Random` drives everything, and PDFs are
written without dates.
"""
from __future__ import annotations

import hashlib
import io
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

SCAN_DPI = 200
MAX_SKEW = 2.0               # degrees either way
ROTATED_SHARE = 0.15         # pages fed sideways (turned by 90°)


@dataclass
class ScannedPage:
    number: int              # 1-based
    rotation: int            # clockwise degrees the page was turned by (0 or 90; tests: any)
    skew: float              # degrees, counter-clockwise
    text: str                # the original's text, line by line as the eye reads the page

    def to_dict(self) -> dict:
        return {"number": self.number, "rotation": self.rotation, "skew": round(self.skew, 2),
                "text": self.text}


def visual_text(page: pdfium.PdfPage) -> str:
    """A page's text in visual lines, left to right, a blank at gaps wider than about a character:
    the order OCR reads in (the text layer's order follows table cells instead)."""
    textpage = page.get_textpage()
    chars = []
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch or ch.isspace():
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        if top - bottom <= 0:
            continue
        chars.append((ch, left, right, (top + bottom) / 2, top - bottom))
    textpage.close()
    lines: list[list[tuple]] = []
    for c in sorted(chars, key=lambda c: -c[3]):
        if lines:
            last = lines[-1]
            yc = sum(x[3] for x in last) / len(last)
            if abs(c[3] - yc) < 0.5 * min(c[4], min(x[4] for x in last)):
                last.append(c)
                continue
        lines.append([c])
    out = []
    for line in lines:
        line.sort(key=lambda c: c[1])
        text = line[0][0]
        for prev, c in zip(line, line[1:]):
            text += (" " if c[1] - prev[2] > 0.6 * max(c[4], prev[4]) else "") + c[0]
        out.append(text)
    return "\n".join(out)


def degrade(image: Image.Image, rng: random.Random, skew: float, rotation: int) -> Image.Image:
    """A clean grey rendering → what a scanner returns: tilt, blur, tone, noise, specks, turn."""
    noise = np.random.default_rng(rng.randrange(2**32))
    image = image.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.35, 0.8)))
    px = np.asarray(image, dtype=np.float32)
    paper, ink = rng.uniform(228, 248), rng.uniform(10, 45)
    px = ink + px * (paper - ink) / 255.0                         # grey paper, grey ink
    px += noise.normal(0.0, rng.uniform(3.0, 7.0), px.shape)      # sensor noise
    specks = noise.random(px.shape) < rng.uniform(0.0002, 0.0008)  # dust
    px[specks] = noise.uniform(0, 120, int(specks.sum()))
    image = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8), "L")
    if rotation:
        image = image.rotate(-rotation, expand=True)             # PIL turns counter-clockwise
    return image


def _image_pdf(images: list[Image.Image]) -> bytes:
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=SCAN_DPI,
                   quality=60, title=None, creationDate=None, modDate=None)
    return buf.getvalue()


def scan_pdf(path: Path, rng: random.Random, pages: list[int] | None = None,
             turns: dict[int, tuple[int, float]] | None = None) -> list[ScannedPage]:
    """Replace `path` by a scan of it; `pages` (1-based) says which pages are scanned (default all);
    `turns` may set a page's (clockwise turn in degrees, skew) instead of drawing them.
    Returns what each scanned page showed."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        chosen = pages or list(range(1, len(pdf) + 1))
        scanned, images = [], []
        for number in chosen:
            page = pdf[number - 1]
            text = visual_text(page)
            bitmap = page.render(scale=SCAN_DPI / 72, grayscale=True)
            image = bitmap.to_pil().convert("L")
            page.close()
            skew = rng.uniform(-MAX_SKEW, MAX_SKEW)
            rotation = 90 if rng.random() < ROTATED_SHARE else 0
            if turns and number in turns:
                rotation, skew = turns[number]
            images.append(degrade(image, rng, skew, rotation))
            scanned.append(ScannedPage(number, rotation, skew, text))
        scan = pdfium.PdfDocument(_image_pdf(images))
        out = pdfium.PdfDocument.new()
        by_number = {p.number: i for i, p in enumerate(scanned)}
        for number in range(1, len(pdf) + 1):
            if number in by_number:
                out.import_pages(scan, [by_number[number]])
            else:
                out.import_pages(pdf, [number - 1])
        buf = io.BytesIO()
        out.save(buf)
        out.close()
        scan.close()
    finally:
        pdf.close()
    path.write_bytes(_without_stamps(buf.getvalue()))
    return scanned


def _without_stamps(data: bytes) -> bytes:
    """PDFium writes the time and a random file ID: replace both, keeping their lengths (the
    cross-reference offsets stay right), so the same seed gives the same bytes."""
    data = re.sub(rb"/CreationDate\(D:\d{14}", b"/CreationDate(D:20000101000000", data)
    digest = hashlib.md5(data[: data.rfind(b"trailer")]).hexdigest().upper().encode()
    return re.sub(rb"/ID\[<[0-9A-F]{32}><[0-9A-F]{32}>\]", b"/ID[<" + digest + b"><" + digest + b">]", data)
