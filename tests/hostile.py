"""A corpus of hostile PDFs, written byte by byte (or with pikepdf) so each attack is exactly what
it says: deep nesting, a huge page count, a decompression bomb, JavaScript, a broken
cross-reference table, a gigantic image. Each generator returns the file's path."""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Callable


def _pdf(objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF from numbered objects (1…n) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, trailer_extra, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _page_objects(content: bytes, resources: bytes = b"<< >>") -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources %s >>" % resources,
            _stream(content)]


def deep_nesting(path: Path, depth: int = 200_000) -> Path:
    """An array nested 200,000 levels deep inside the page dictionary (recursive parsers overflow)."""
    objs = _page_objects(b"BT ET")
    objs[2] = objs[2][:-2] + b" /Junk " + b"[" * depth + b"]" * depth + b" >>"
    path.write_bytes(_pdf(objs))
    return path


def huge_page_count(path: Path, pages: int = 200_000) -> Path:
    """A page tree claiming 200,000 pages, all the same blank page object."""
    kids = b" ".join(b"3 0 R" for _ in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            _stream(b"BT ET")]
    path.write_bytes(_pdf(objs))
    return path


def decompression_bomb(path: Path, inflated_mb: int = 1024) -> Path:
    """A content stream of ~1 MB that inflates to 1 GB of text operators."""
    packer = zlib.compressobj(9)
    chunk = b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n" * 28000     # ~1 MB of operators
    data = b"".join(packer.compress(chunk) for _ in range(inflated_mb)) + packer.flush()
    objs = _page_objects(b"", b"<< /Font << /F1 5 0 R >> >>")
    objs[3] = _stream(data, b"/Filter /FlateDecode ")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    path.write_bytes(_pdf(objs))
    return path


def javascript(path: Path) -> Path:
    """An open action and a page action running JavaScript (never to be executed)."""
    content = b"BT /F1 14 Tf 72 720 Td (Audit report with JavaScript) Tj ET"
    objs = _page_objects(content, b"<< /Font << /F1 5 0 R >> >>")
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /Names << /JavaScript << /Names [(x) 6 0 R] >> >> >>"
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objs.append(b"<< /S /JavaScript /JS (app.alert('pwned'); this.exportDataObject({cName: 'x', nLaunch: 2});) >>")
    path.write_bytes(_pdf(objs))
    return path


def broken_xref(path: Path) -> Path:
    """A cross-reference table whose offsets all point to the wrong place, and a wrong startxref."""
    data = bytearray(_pdf(_page_objects(b"BT /F1 12 Tf 72 720 Td (broken xref) Tj ET",
                                        b"<< /Font << /F1 5 0 R >> >>") +
                          [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]))
    start = data.index(b"xref\n")
    table = data[start:].replace(b" 00000 n", b" 00000 n").decode("latin-1")
    lines = table.split("\n")
    lines = [("%010d 00000 n " % (int(l[:10]) * 7 + 3)) if l.endswith(" n ") else l for l in lines]
    data[start:] = "\n".join(lines).encode("latin-1")
    data = data.replace(b"startxref\n%d" % start, b"startxref\n%d" % (start + 999))
    path.write_bytes(bytes(data))
    return path


def gigantic_image(path: Path, side: int = 60_000) -> Path:
    """A 60,000 × 60,000 pixel RGB image (10.8 GB decoded) drawn on an ordinary page; its
    compressed data is a few MB of zeros."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (side * 3)
    data = b"".join(packer.compress(row) for _ in range(side // 64)) + packer.flush()   # short data: truncated image
    image = _stream(data, b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                          b"/BitsPerComponent 8 /Filter /FlateDecode " % (side, side))
    objs = _page_objects(b"q 595 0 0 842 0 0 cm /Im1 Do Q", b"<< /XObject << /Im1 5 0 R >> >>")
    objs.append(image)
    path.write_bytes(_pdf(objs))
    return path


def giant_page(path: Path) -> Path:
    """A page of 14,400 × 14,400 points (the largest PDF allows): rendered at 1.5× it is a
    21,600-pixel square bitmap (1.9 GB)."""
    objs = _page_objects(b"BT /F1 400 Tf 72 7200 Td (giant) Tj ET", b"<< /Font << /F1 5 0 R >> >>")
    objs[2] = objs[2].replace(b"[0 0 595 842]", b"[0 0 14400 14400]")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    path.write_bytes(_pdf(objs))
    return path


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "deep_nesting": deep_nesting, "huge_page_count": huge_page_count, "decompression_bomb": decompression_bomb,
    "javascript": javascript, "broken_xref": broken_xref, "gigantic_image": gigantic_image, "giant_page": giant_page,
}


def write_all(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {name: make(folder / f"{name}.pdf") for name, make in HOSTILE.items()}
