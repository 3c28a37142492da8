"""Spreadsheets (.xlsx/.xlsm, .xls/.et, .ods) read with calamine (Rust): one page per sheet.

A page is the sheet's name, then each row that has something in it as one line (cells two spaces
apart, as a person sees columns), and the sheet's used range as one table (`Page.tables`).

calamine builds each sheet as a dense rectangle over its used range, in native code and with no
size check of its own: an xlsx with two cells in opposite corners asks for 17 billion cells and
the process aborts (no exception to catch). So every file is looked over in Python first and
calamine only gets one whose sheets are known to be small:
- xlsx and ods: the zip's declared sizes are bounded (calamine's zip reader refuses a member that
  inflates past its declared size, so what Python reads here is what calamine reads), and every
  cell tag's position is scanned to bound each sheet's rectangle;
- xls: olefile takes the Workbook stream out of the OLE2 container and its BIFF records are
  scanned the same way; calamine then reads a container rebuilt around that one stream, because
  its own container parser reserves memory for whatever sizes a file declares.
"""
from __future__ import annotations

import datetime
import io
import math
import re
import struct
import zipfile
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Iterator

from ..messages import message
from ..tables import join_lines
from ..text import normalise
from .base import Page, ReadError, Table

MAX_CELLS = 200_000                 # cells of one sheet's used range (the rectangle calamine builds)
MAX_SHEETS = 1_000
MAX_INFLATED = 256 << 20            # bytes all members of an xlsx/ods zip declare, together
MAX_MEMBERS = 10_000
# A BIFF8 sheet's DIMENSIONS record can say at most 65536 rows × 256 columns; calamine reserves
# room for what it says before reading a cell, so a larger claim is a crafted file.
MAX_XLS_DIMENSIONS = 65_536 * 256

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_sheet(data: bytes) -> list[Page]:
    """Every sheet of a workbook as a page (number = the sheet's position, hidden sheets too)."""
    import python_calamine as calamine

    if not data:
        raise ReadError("empty", message("pdf.empty"))
    if data[:8] == _OLE:
        data = _checked_xls(data)
    elif data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        _check_zip(data)
    else:
        raise ReadError("unsupported", message("sheet.not_sheet"))
    try:
        with _calamine_errors():
            workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        with workbook:
            metadata = workbook.sheets_metadata
            if len(metadata) > MAX_SHEETS:
                raise ReadError("too_large", message("sheet.too_many_sheets", count=len(metadata),
                                                     limit=MAX_SHEETS))
            pages: list[Page] = []
            cache: dict[str, str] = {}         # a register repeats its 男, √ and 湖南大学
            for index, sheet in enumerate(metadata):
                rows: list[list[Any]] = []
                if sheet.typ == calamine.SheetTypeEnum.WorkSheet:
                    with _calamine_errors():
                        found = workbook.get_sheet_by_index(index)
                    cells = found.height * found.width
                    if cells > MAX_CELLS:        # the scan above already refused such a file
                        raise ReadError("too_large", message("sheet.too_many_cells", where=sheet.name,
                                                             cells=cells, limit=MAX_CELLS))
                    with _calamine_errors():
                        rows = found.to_python(skip_empty_area=True)
                pages.append(sheet_page(index + 1, sheet.name, rows, cache))
            return pages
    except (ReadError, MemoryError):
        raise
    except Exception as exc:             # calamine's own errors, after the checks above
        raise _damaged(exc) from exc


def sheet_page(number: int, name: str, rows: list[list[Any]], cache: dict[str, str] | None = None) -> Page:
    """One sheet's page: its name, its non-empty rows as lines, its used range as a table."""
    cache = {} if cache is None else cache
    table = trimmed([[cell_text(value, cache) for value in row] for row in rows])
    lines = ["  ".join(cell for cell in row if cell) for row in table]
    lines = [line for line in lines if line]
    text = "\n".join([join_lines(normalise(name)), *lines]).strip()
    return Page(number, text, has_text=bool(lines), tables=[table] if lines else [])


def trimmed(table: Table) -> Table:
    """Without the empty rows and columns around the cells that hold something."""
    used_rows = [i for i, row in enumerate(table) if any(row)]
    if not used_rows:
        return []
    rows = table[used_rows[0]: used_rows[-1] + 1]
    used_cols = [j for row in rows for j, cell in enumerate(row) if cell]
    first, last = min(used_cols), max(used_cols)
    return [(row[first: last + 1] + [""] * (last + 1 - len(row)))[: last + 1 - first] for row in rows]


def cell_text(value: Any, cache: dict[str, str] | None = None) -> str:
    """A cell as a person reads it in Excel or WPS: 1.0 → "1", dates as YYYY-MM-DD, at most 15
    significant digits (what Excel keeps), TRUE/FALSE for logical values (what both show; 是/否
    would put words in the sheet that nobody typed, and searches for 是 would find them)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, datetime.timedelta):          # a duration, as Excel's [h]:mm:ss shows it
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    text = str(value)
    if text.isascii() and text.isprintable():     # what normalise makes of it, 100× faster
        return " ".join(text.split())
    found = cache.get(text) if cache is not None else None
    if found is None:
        found = join_lines(normalise(text))
        if cache is not None and len(cache) < 100_000:
            cache[text] = found
    return found


def number_text(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    text = f"{value:.15g}"
    if "e" in text and 1 <= abs(value) < 1e21:     # a long whole number, not 1.1e+17
        text = format(Decimal(text), "f")
    return text


# -- errors -----------------------------------------------------------------------------------

@contextmanager
def _calamine_errors() -> Iterator[None]:
    """calamine's exceptions as ReadError: a password → encrypted, anything else → damaged. A Rust
    panic arrives as pyo3's PanicException, which is not an Exception subclass."""
    try:
        yield
    except (ReadError, MemoryError):
        raise
    except BaseException as exc:
        if type(exc).__name__ == "PasswordError":
            raise ReadError("encrypted", message("sheet.encrypted")) from exc
        if isinstance(exc, Exception) or type(exc).__name__ == "PanicException":
            raise _damaged(exc) from exc
        raise


def _damaged(exc: BaseException) -> ReadError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ReadError("damaged", message("sheet.damaged", detail=detail))


def _cells(extent: list[int]) -> int:
    min_row, max_row, min_col, max_col = extent
    return (max_row - min_row + 1) * (max_col - min_col + 1)


def _too_many_cells(where: str, extent: list[int] | None) -> None:
    cells = _cells(extent) if extent else 0
    if cells > MAX_CELLS:
        raise ReadError("too_large", message("sheet.too_many_cells", where=where, cells=cells, limit=MAX_CELLS))


def _widen(extent: list[int] | None, row0: int, row1: int, col0: int, col1: int) -> list[int]:
    if extent is None:
        return [row0, row1, col0, col1]
    extent[0], extent[1] = min(extent[0], row0), max(extent[1], row1)
    extent[2], extent[3] = min(extent[2], col0), max(extent[3], col1)
    return extent


# -- xlsx and ods: the zip ---------------------------------------------------------------------

_PREFIX = rb"(?:[^\s<>/:=\"']++:)?"
# Attributes; a quoted value may hold '>' but never '<', so a failed match stops at the next tag.
_ATTRS = rb"((?:[^<>\"']++|\"[^<\"]*+\"|'[^<']*+')*+)"
# Every r attribute, however spelled (and some text that looks like one: more is only safer).
_ANY_R = re.compile(rb"r\s*=\s*[\"']\s*([A-Za-z]+)([0-9]+)")
_ODD_CELL_START = (b"<c>", b"<c/", b"<c\t", b"<c\n", b"<c\r")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_CELL = re.compile(rb"<c r=\"([A-Za-z]+)([0-9]+)\"([^<>]*)>(\s*</c\s*>)?")
# The general case: a row's start and end, a cell's start tag and whether it closes at once.
_XLSX_TAG = re.compile(rb"<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])" + _ATTRS + rb">(\s*+</" + _PREFIX + rb"c\s*>)?")
_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']\s*([A-Za-z]*)([0-9]*)\s*[\"']")
# ods: tables, rows and cells with their repeat counts.
_ODS_TAG = re.compile(rb"<(/?)" + _PREFIX + rb"(table|table-row|table-cell|covered-table-cell)(?=[\s/>])"
                      + _ATTRS + rb">(\s*+</" + _PREFIX + rb"(?:covered-)?table-cell\s*>)?")
_REPEATED = re.compile(rb"number-(?:rows|columns)-repeated\s*=\s*[\"']\s*([0-9]+)")


def _check_zip(data: bytes) -> None:
    """An xlsx or ods whose parts are small enough to inflate and whose sheets are small enough to
    lay out; ReadError otherwise (encrypted, xlsb, damaged, too large)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ReadError("too_large", message("sheet.too_many_parts", count=len(infos), limit=MAX_MEMBERS))
            if sum(info.file_size for info in infos) > MAX_INFLATED:
                raise ReadError("too_large", message("sheet.too_large", mb=MAX_INFLATED >> 20))
            names = {info.filename for info in infos}
            if "xl/workbook.bin" in names:
                raise ReadError("unsupported", message("sheet.xlsb"))
            if any(info.flag_bits & 1 for info in infos):
                raise ReadError("encrypted", message("sheet.encrypted"))
            if "xl/workbook.xml" not in names and "content.xml" not in names:
                raise ReadError("unsupported", message("sheet.not_sheet"))
            if "META-INF/manifest.xml" in names and b"encryption-data" in zf.read("META-INF/manifest.xml"):
                raise ReadError("encrypted", message("sheet.encrypted"))
            for info in infos:
                if info.is_dir():
                    continue
                part = _utf8(zf.read(info))
                # calamine reads worksheets wherever the workbook's relationships point: every part is
                # looked at (a part that is not a worksheet costs a quick search).
                _too_many_cells(info.filename, _xlsx_extent(part))
                if info.filename == "content.xml":
                    _well_formed(part, info.filename)
                    _check_ods(part)
    except ReadError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError,
            NotImplementedError, KeyError) as exc:
        raise _damaged(exc) from exc


def _well_formed(xml: bytes, name: str) -> None:
    """calamine's ods reader loops for ever when content.xml ends inside a table: expat (C, no tree
    built, any DTD refused) checks that the part is well-formed XML first."""
    from xml.parsers import expat

    def no_dtd(*_args: Any) -> None:
        raise ValueError("DTD")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = no_dtd
    try:
        parser.Parse(xml, True)
    except (expat.ExpatError, ValueError) as exc:
        raise ReadError("damaged", message("sheet.damaged", detail=f"{name}: {exc}"[:200])) from exc


def _utf8(part: bytes) -> bytes:
    """A UTF-16 part as UTF-8, so that the scan sees the tags calamine's XML reader decodes."""
    boms = (b"\xff\xfe", b"\xfe\xff")
    if part[:2] in boms or part[:4] in (b"<\0?\0", b"\0<\0?"):
        codec = "utf-16" if part[:2] in boms else "utf-16-le" if part[:1] == b"<" else "utf-16-be"
        return part.decode(codec, errors="replace").encode("utf-8")
    return part


_COLUMNS: dict[bytes, int] = {}


def _column(letters: bytes) -> int:
    col = _COLUMNS.get(letters)
    if col is None:
        col = 0
        for ch in letters.upper():
            col = col * 26 + ch - 64
        col -= 1
        if len(_COLUMNS) < 100_000:
            _COLUMNS[letters] = col
    return col


def _extent_of(refs: list[tuple[bytes, bytes]]) -> list[int] | None:
    if not refs:
        return None
    rows = [int(digits) - 1 for _, digits in refs]
    cols = [_column(letters) for letters in {letters for letters, _ in refs}]
    return [min(rows), max(rows), min(cols), max(cols)]


def _xlsx_extent(xml: bytes) -> list[int] | None:
    """The rectangle calamine lays a worksheet's valued cells out in (None: no cells). Three ways,
    the first that applies: when every cell tag is the usual `<c r="…"`, the rectangle of every
    r attribute in the part bounds it, and is usually small enough; if not, the cells that hold
    something are picked out; a part written any other way goes through `_xlsx_extent_exact`."""
    cells = xml.count(b"<c ")
    regular = (cells == xml.count(b'<c r="') and not any(odd in xml for odd in _ODD_CELL_START)
               and not _PREFIXED_CELL.search(xml))
    if not regular:
        return _xlsx_extent_exact(xml)
    if not cells:
        return None                          # no cell at all (an ods's content.xml, styles, images)
    bound = _extent_of(_ANY_R.findall(xml))
    if bound is None or _cells(bound) <= MAX_CELLS:
        return bound
    valued = []
    found = _CELL.findall(xml)
    if len(found) != cells:
        return _xlsx_extent_exact(xml)
    for letters, digits, rest, closed in found:
        if rest.count(b'"') % 2 or rest.count(b"'") % 2 or b"r=" in rest or b"r =" in rest:
            return _xlsx_extent_exact(xml)      # a quoted '>' or a second r: read it the long way
        if not closed and not rest.endswith(b"/"):
            valued.append((letters, digits))
    return _extent_of(valued)


def _xlsx_extent_exact(xml: bytes) -> list[int] | None:
    """calamine's own rules, tag by tag: a cell with `r` is where that says (the last one, when a
    crafted tag has two), one without follows the previous; a row's `r` sets the row, its end moves
    to the next; a cell that closes at once (or is self-closing) holds nothing."""
    extent = None
    row = col = 0
    for closing, name, attrs, empty in _XLSX_TAG.findall(xml):
        if attrs.endswith(b"/"):
            continue                                  # <row/>, <c/>: an empty element, skipped
        if closing:
            if name == b"row":
                row, col = row + 1, 0
            continue
        refs = _R.findall(attrs)
        if name == b"row":
            if refs and refs[-1][1]:
                row = int(refs[-1][1]) - 1
            continue
        places = [(int(digits) - 1, _column(letters)) for letters, digits in refs if letters and digits]
        at_row = row
        if places:
            at_row, col = places[-1]
        if not empty:
            for r, c in places or [(at_row, col)]:
                extent = _widen(extent, r, r, c, c)
        col += 1
    return extent


def _check_ods(xml: bytes) -> None:
    """Each table's rectangle in an ods content.xml, repeats counted: LibreOffice writes a sheet's
    empty remainder as one row repeated a million times, a crafted file can repeat a value."""
    stack: list[list[Any]] = []                # per open table: [row, extent, row's start, repeat]
    col = 0
    table: list[Any] = [0, None, 0, 1]
    for closing, name, attrs, empty in _ODS_TAG.findall(xml):
        self_closing = attrs.endswith(b"/")
        if name == b"table":
            if closing:
                if stack:
                    _too_many_cells(message("sheet.ods_table", number=len(stack)), stack.pop()[1])
                    table = stack[-1] if stack else [0, None, 0, 1]
            elif not self_closing:
                table = [0, None, 0, 1]
                stack.append(table)
            continue
        if not stack:
            continue
        if closing:
            if name == b"table-row":
                table[0] = table[2] + table[3]
            continue
        repeat = _REPEATED.search(attrs) if b"repeated" in attrs else None
        count = int(repeat.group(1)) if repeat else 1
        if name == b"table-row":
            if self_closing:
                table[0] += count
            else:
                table[2], table[3], col = table[0], count, 0
            continue
        if (not self_closing and not empty) or b"value-type" in attrs:
            table[1] = _widen(table[1], table[2], table[2] + table[3] - 1, col, col + count - 1)
        col += count
    for number, open_table in enumerate(stack, 1):
        _too_many_cells(message("sheet.ods_table", number=number), open_table[1])


# -- xls: the OLE2 container and its BIFF records ----------------------------------------------

_CELL_RECORDS = {0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x0006}   # NUMBER LABEL BOOLERR RK LABELSST FORMULA
_MULRK, _DIMENSIONS, _BOUNDSHEET, _FILEPASS, _SST, _EOF = 0x00BD, 0x0200, 0x0085, 0x002F, 0x00FC, 0x000A


def _checked_xls(data: bytes) -> bytes:
    """The xls's Workbook stream, scanned, in a container calamine can safely parse."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
        try:
            streams = {"/".join(path).lower(): path for path in ole.listdir(streams=True, storages=False)}
            if "encryptedpackage" in streams or "encryptioninfo" in streams:
                raise ReadError("encrypted", message("sheet.encrypted"))
            name = next((n for n in ("workbook", "book") if n in streams), None)
            if name is None:
                raise ReadError("unsupported", message("sheet.ole_not_excel"))
            stream = ole.openstream(streams[name]).read()
        finally:
            ole.close()
    except ReadError:
        raise
    except Exception as exc:                    # olefile raises OSError, ValueError, struct.error …
        raise _damaged(exc) from exc
    _scan_biff(stream)
    return single_stream_cfb("Workbook" if name == "workbook" else "Book", stream)


def _records(stream: bytes, pos: int) -> Iterator[tuple[int, bytes]]:
    """BIFF records from `pos` up to the first EOF record (or the end of the stream)."""
    end = len(stream)
    while pos + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, pos)
        yield kind, stream[pos + 4: pos + 4 + length]
        if kind == _EOF:
            return
        pos += 4 + length


def _scan_biff(stream: bytes) -> None:
    """Refuse what would make calamine reserve or lay out too much: an encrypted workbook (its
    records are ciphertext), a shared-string count the stream cannot hold, a sheet whose
    DIMENSIONS record or whose cells span more than the limits."""
    sheets = []
    for kind, data in _records(stream, 0):
        if kind == _FILEPASS:
            raise ReadError("encrypted", message("sheet.encrypted"))
        if kind == _BOUNDSHEET and len(data) >= 4:
            sheets.append(struct.unpack_from("<I", data)[0])
        elif kind == _SST and len(data) >= 8:
            unique = struct.unpack_from("<i", data, 4)[0]
            if unique < 0 or unique * 3 > len(stream):
                raise ReadError("damaged", message("sheet.damaged", detail=f"SST {unique}"))
    if len(sheets) > MAX_SHEETS:
        raise ReadError("too_large", message("sheet.too_many_sheets", count=len(sheets), limit=MAX_SHEETS))
    for number, pos in enumerate(sheets, 1):
        if pos >= len(stream):
            raise ReadError("damaged", message("sheet.damaged", detail=f"BOUNDSHEET {pos}"))
        _too_many_cells(message("sheet.xls_sheet", number=number), _biff_extent(stream, pos, number))


def _biff_extent(stream: bytes, pos: int, number: int) -> list[int] | None:
    """One sheet's cell records (from its BOF to its EOF), as calamine places them; the loop is
    inlined, a sheet can have hundreds of thousands of records."""
    unpack, end, cells = struct.unpack_from, len(stream), _CELL_RECORDS
    min_row = min_col = 1 << 20
    max_row = max_col = -1
    while pos + 4 <= end:
        kind, length = unpack("<HH", stream, pos)
        body = pos + 4
        pos = body + length
        if kind in cells:
            if length >= 4 and body + 4 <= end:
                row, col = unpack("<HH", stream, body)
                min_row, max_row = min(min_row, row), max(max_row, row)
                min_col, max_col = min(min_col, col), max(max_col, col)
        elif kind == _MULRK:
            if length >= 6 and pos <= end:
                row, first = unpack("<HH", stream, body)
                last = max(first, unpack("<H", stream, pos - 2)[0])
                min_row, max_row = min(min_row, row), max(max_row, row)
                min_col, max_col = min(min_col, first), max(max_col, last)
        elif kind == _DIMENSIONS:
            _check_dimensions(stream[body: pos], message("sheet.xls_sheet", number=number))
        elif kind == _EOF:
            break
    return [min_row, max_row, min_col, max_col] if max_row >= 0 else None


def _check_dimensions(data: bytes, where: str) -> None:
    """calamine reserves (last row − first row + 1) × (last col − first col + 1) cells, in u32
    arithmetic that wraps."""
    if len(data) == 14:
        first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH", data)
    elif len(data) == 10:
        first_row, end_row, first_col, end_col = struct.unpack_from("<HHHH", data)
    else:
        return
    if end_row < 1 or end_col < 1:
        return
    rows = ((end_row - 1 - first_row) % 2**32) + 1
    cols = ((end_col - 1 - first_col) % 2**32) + 1
    if rows * cols > MAX_XLS_DIMENSIONS:
        raise ReadError("too_large", message("sheet.too_many_cells", where=where, cells=rows * cols,
                                             limit=MAX_XLS_DIMENSIONS))


_END, _FREE, _FATSECT, _DIFSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFC, 0xFFFFFFFF


def single_stream_cfb(name: str, stream: bytes) -> bytes:
    """A compound file (MS-CFB version 3, 512-byte sectors) holding the one stream `name`: data
    sectors, one directory sector, the FAT, and DIFAT sectors when the FAT outgrows the header."""
    stream = stream.ljust(4096, b"\0")           # shorter streams would belong in a mini stream
    data_n = -(-len(stream) // 512)
    fat_n = difat_n = 0
    while True:
        total = data_n + 1 + fat_n + difat_n
        need_fat = -(-total // 128)
        need_difat = 0 if need_fat <= 109 else -(-(need_fat - 109) // 127)
        if (need_fat, need_difat) == (fat_n, difat_n):
            break
        fat_n, difat_n = need_fat, need_difat
    dir_at, fat_at = data_n, data_n + 1
    difat_at = fat_at + fat_n
    fat = [*range(1, data_n), _END, _END] + [_FATSECT] * fat_n + [_DIFSECT] * difat_n
    fat += [_FREE] * (fat_n * 128 - len(fat))
    fat_ids = list(range(fat_at, fat_at + fat_n))
    header_difat = fat_ids[:109] + [_FREE] * (109 - min(109, fat_n))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", _OLE, bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
                         0, fat_n, dir_at, 0, 4096, _END, 0, difat_at if difat_n else _END, difat_n)
    header += struct.pack("<109I", *header_difat)

    def entry(label: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (label + "\0").encode("utf-16-le") if label else b""
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1 if label else 0,
                           _NOSTREAM, _NOSTREAM, child, bytes(16), 0, 0, 0, start, size)

    directory = (entry("Root Entry", 5, 1, _END, 0) + entry(name, 2, _NOSTREAM, 0, len(stream))
                 + entry("", 0, _NOSTREAM, 0, 0) * 2)
    difat = b""
    rest = fat_ids[109:]
    for i in range(difat_n):
        chunk = rest[i * 127: (i + 1) * 127]
        nxt = difat_at + i + 1 if i + 1 < difat_n else _END
        difat += struct.pack("<128I", *chunk, *[_FREE] * (127 - len(chunk)), nxt)
    return (header + stream.ljust(data_n * 512, b"\0") + directory
            + struct.pack(f"<{len(fat)}I", *fat) + difat)
