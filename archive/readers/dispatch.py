"""Which reader a file needs, decided by its content (magic bytes, a zip's members, an XML root),
never by its name: business systems save Word 2003 XML as `.doc`, people rename files, and a text
file named `.docx` must fail as what it is.

`sniff` names the format; `read_pages` turns the bytes into pages (formats LibreOffice converts are
read from their PDF rendition, so pages, tables and page images work as for PDFs); `ocr_page` reads
one page without a text layer (a scanned PDF page, a photo) through the OCR.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Callable

from ..messages import message
from .base import Page, ReadError
from .containers import archive_kind

# The formats a body files, as `sniff` names them; `FORMAT_NAMES` in archive.messages says them in Chinese.
DOCUMENT_KINDS = ("pdf", "docx", "wordml", "doc", "rtf", "odt", "xlsx", "xls", "ods", "ofd", "image")
ARCHIVE_KINDS = ("zip", "7z")
CONVERTED = ("doc", "rtf", "odt")           # read through LibreOffice's PDF rendition
SHEETS = ("xlsx", "xls", "ods")
OCR_KINDS = ("pdf", "image", *CONVERTED)   # formats whose pages have an image the OCR can read

# Names worth a look when a folder is walked: everything else is sniffed only when named directly or
# without an extension (a folder also holds notes, videos, Thumbs.db … that are not documents).
EXTENSIONS = {
    ".pdf", ".doc", ".docx", ".docm", ".dot", ".dotx", ".xml", ".rtf", ".odt", ".wps", ".wpt",
    ".xls", ".xlsx", ".xlsm", ".ods", ".et", ".ofd", ".jpg", ".jpeg", ".png", ".tif", ".tiff",
    ".bmp", ".webp", ".zip", ".7z", ".rar",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"BM", b"GIF87a", b"GIF89a")


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _ole_kind(data: bytes) -> str:
    """An OLE2 compound file: Word, Excel, an encrypted OOXML package, or something else."""
    if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
        raise ReadError("encrypted", message("format.office_encrypted"))
    if _utf16("WordDocument") in data:
        return "doc"
    if _utf16("Workbook") in data or _utf16("Book\x00") in data:
        return "xls"
    raise ReadError("unsupported", message("format.ole_other"))


def zip_kind(data: bytes | str) -> str:
    """What a zip holds: a docx, xlsx, OFD or OpenDocument file, or other files (an archive)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as zf:
            names = set(zf.namelist())
            lower = {n.lower() for n in names}
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "ofd.xml" in lower:
                return "ofd"
            if "mimetype" in names:
                mimetype = zf.read("mimetype")[:100]
                if mimetype.endswith(b"opendocument.text"):
                    return "odt"
                if mimetype.endswith(b"opendocument.spreadsheet"):
                    return "ods"
            if "ppt/presentation.xml" in names:
                raise ReadError("unsupported", message("format.presentation"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return "zip"            # a damaged zip is reported by the archive reader, with its reason
    return "zip"


def sniff(data: bytes) -> str:
    """The file's format by content: one of DOCUMENT_KINDS or ARCHIVE_KINDS; ReadError otherwise
    (reason `empty`, `unsupported`, `encrypted`)."""
    if not data:
        raise ReadError("empty", message("pdf.empty"))
    head = data[:4096]
    if b"%PDF-" in data[:1024]:
        return "pdf"
    archive = archive_kind(head)
    if archive is not None:
        return zip_kind(data) if archive == "zip" else archive
    if head[:4] == b"Rar!":
        raise ReadError("unsupported", message("format.rar"))
    if head[:8] == _OLE:
        return _ole_kind(data)
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:5] == b"{\\rtf":
        return "rtf"
    from .word import is_wordml

    if is_wordml(head):
        return "wordml"
    raise ReadError("unsupported", message("format.unknown", sample=_sample(head)))


def sniff_named(data: bytes, name: str | None) -> str:
    """`sniff`, except that a file named `.pdf` whose content is no known format fails as a PDF
    would (`not_pdf`, naming what its first bytes are): what its name promised is what it broke."""
    try:
        return sniff(data)
    except ReadError as exc:
        if exc.reason == "unsupported" and name and name.lower().endswith(".pdf"):
            from ..pdf import check_signature

            check_signature(data)
        raise


# The extension a stored copy gets when its own name does not say what it is.
DEFAULT_SUFFIX = {"pdf": ".pdf", "docx": ".docx", "wordml": ".xml", "doc": ".doc", "rtf": ".rtf", "odt": ".odt",
                  "xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "ofd": ".ofd", "image": ".jpg", "zip": ".zip",
                  "7z": ".7z"}


def sniff_file(path: Path | str) -> str:
    """`sniff` for a file on disk, reading no more than it needs (a zip's directory, an OLE file whole)."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
        if archive_kind(head) == "zip":
            return zip_kind(str(path))
        if head[:8] == _OLE:
            head += fh.read()
    return sniff(head)


def _sample(head: bytes) -> str:
    """The file's first characters when they are text, else its first bytes in hex: what it is, to a person."""
    raw = head[:24]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw[: exc.start].decode("utf-8") if exc.start >= len(raw) - 3 else ""
    text = " ".join(text.split())
    if text and text.isprintable():
        return repr(text)
    return message("pdf.not_pdf_bytes", hex=head[:8].hex(" "))


def renditions_dir(cache: str | None) -> Path | None:
    """Where converted PDFs are kept: beside the OCR cache, in the data home (or a worker's cache folder)."""
    return Path(cache).parent / "renditions" if cache else None


def rendition(data: bytes, kind: str, cache: str | None) -> bytes:
    """The PDF LibreOffice makes of a Word-family file, made once per content."""
    from .office import convert_to_pdf

    return convert_to_pdf(data, kind, renditions_dir(cache))


def read_pages(data: bytes, kind: str, want_tables: Callable[[str], bool] | None = None,
               cache: str | None = None) -> list[Page]:
    """Every page's text (and tables) of a document of `kind`; an image's pages come back empty,
    for the OCR to read. Tables are kept on the pages `want_tables` asks for, whatever the format,
    so that a checklist's table in Word is read as it is in a PDF (not as findings)."""
    pages = _read_pages(data, kind, want_tables, cache)
    if want_tables is not None and kind != "pdf":
        for page in pages:
            if page.tables and not want_tables(page.text):
                page.tables = []
    return pages


def _read_pages(data: bytes, kind: str, want_tables: Callable[[str], bool] | None, cache: str | None) -> list[Page]:
    from ..pdf import read_pdf

    if kind == "pdf":
        return read_pdf(data, want_tables=want_tables)
    if kind in CONVERTED:
        return read_pdf(rendition(data, kind, cache), want_tables=want_tables)
    if kind == "docx":
        from .word import read_docx

        return read_docx(data)
    if kind == "wordml":
        from .word import read_wordml

        return read_wordml(data)
    if kind in SHEETS:
        from .sheet import read_sheet

        return read_sheet(data)
    if kind == "ofd":
        from .ofd import read_ofd

        return read_ofd(data)
    if kind == "image":
        from .image import frame_count

        return [Page(n, "", False, True) for n in range(1, frame_count(data) + 1)]
    raise ReadError("unsupported", message("format.unknown", sample=kind))


def ocr_page(data: bytes, kind: str, number: int, cache: Any | None, cache_path: str | None = None):
    """OCR one page: a PDF's (or a converted file's PDF rendition's) or an image's frame."""
    if kind == "image":
        from .image import ocr_image_page

        return ocr_image_page(data, number, cache)
    from ..ocr import ocr_pdf_page

    pdf = rendition(data, kind, cache_path) if kind in CONVERTED else data
    return ocr_pdf_page(pdf, number, cache)
