"""Spreadsheets (archive/readers/sheet.py): workbooks built here with openpyxl (and turned into .xls
and .ods by LibreOffice when it can), the reference registers in ../shared/reference, and hostile
files that would make calamine abort the process if they reached it unchecked."""
from __future__ import annotations

import datetime
import io
import json
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from archive.readers.base import ReadError
from archive.readers.sheet import MAX_CELLS, cell_text, number_text, read_sheet, single_stream_cfb

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
SHEET1 = "xl/worksheets/sheet1.xml"


def _save(wb: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def register_workbook() -> bytes:
    """A register as bodies keep them: a merged title row, a two-row header with merged cells,
    numbers, dates and a hidden second sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "审核员名单"
    ws["B1"] = "××认证中心专职审核员"
    ws.merge_cells("B1:H1")
    ws.append([None, "序号", "姓名", "QMS", None, "注册日期", "在职", "备注"])
    ws.merge_cells("D2:E2")
    ws.append([None, None, None, "注册号", "专业代码", None, None, None])
    ws.append([None, 1, "周文斌", "2022-1-NQ89455", "03.04.01、33.02.01", datetime.date(2022, 11, 21), True,
               "第一行\n第二行"])
    ws.append([None, 2.0, "林雅琴", "2021-1-NQ89246", "17.10.02", datetime.datetime(2021, 9, 23, 0, 0), False, None])
    ws.append([None, 3, "錢衛國", 13976627625, 12.5, datetime.datetime(2024, 6, 24, 9, 30), None, "ＡＢＣ１２３"])
    ws["I20"].font = Font(bold=True)                 # formatting beyond the data: not part of the table
    hidden = wb.create_sheet("停用")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "史国平"
    hidden["C3"] = 0.1 + 0.2
    wb.create_sheet("空表")
    return _save(wb)


def test_register_pages_lines_and_tables():
    pages = read_sheet(register_workbook())
    assert [p.number for p in pages] == [1, 2, 3]
    first, hidden, empty = pages
    lines = first.text.split("\n")
    assert lines[0] == "审核员名单"                   # the sheet's name, then the rows
    assert lines[1] == "××认证中心专职审核员"            # the merged title, once
    assert lines[2] == "序号  姓名  QMS  注册日期  在职  备注"
    assert lines[3] == "注册号  专业代码"
    assert lines[4] == "1  周文斌  2022-1-NQ89455  03.04.01、33.02.01  2022-11-21  TRUE  第一行第二行"
    assert lines[5] == "2  林雅琴  2021-1-NQ89246  17.10.02  2021-09-23  FALSE"
    assert lines[6] == "3  钱卫国  13976627625  12.5  2024-06-24 09:30  ABC123"   # normalised: simplified, NFKC
    assert len(lines) == 7 and first.has_text and not first.has_images
    table = first.tables[0]
    assert len(first.tables) == 1 and len(table) == 6
    assert {len(row) for row in table} == {7}           # column A (empty) and the bold I20 trimmed away
    assert table[0] == ["××认证中心专职审核员", "", "", "", "", "", ""]
    assert table[1] == ["序号", "姓名", "QMS", "", "注册日期", "在职", "备注"]
    assert table[2] == ["", "", "注册号", "专业代码", "", "", ""]
    assert table[3][1:4] == ["周文斌", "2022-1-NQ89455", "03.04.01、33.02.01"]
    assert table[4][0] == "2" and table[5][3] == "12.5"
    assert hidden.text == "停用\n史国平\n0.3" and hidden.tables == [[["史国平", "", ""], ["", "", ""], ["", "", "0.3"]]]
    assert empty.text == "空表" and not empty.has_text and empty.tables == []


def test_cells_as_a_person_reads_them():
    assert [number_text(v) for v in (1.0, 2.5, 0.1 + 0.2, -0.0, 1e-7, 13953464097.0, -42.0)] == [
        "1", "2.5", "0.3", "0", "1e-07", "13953464097", "-42"]
    # Excel keeps 15 significant digits: an ID number typed as a number reads as Excel shows it
    assert number_text(110101197201119779.0) == "110101197201120000"
    assert number_text(float("nan")) == ""
    assert cell_text(True) == "TRUE" and cell_text(False) == "FALSE"
    assert cell_text(datetime.date(2024, 3, 5)) == "2024-03-05"
    assert cell_text(datetime.datetime(2024, 3, 5)) == "2024-03-05"
    assert cell_text(datetime.datetime(2024, 3, 5, 14, 30, 15)) == "2024-03-05 14:30:15"
    assert cell_text(datetime.time(9, 5)) == "09:05"
    assert cell_text(datetime.timedelta(hours=30, minutes=5)) == "30:05:00"
    assert cell_text("  a   b  ") == "a b" and cell_text("") == "" and cell_text(None) == ""
    assert cell_text("認證\n機構") == "认证机构" and cell_text("2020\n10.2") == "2020 10.2"


@pytest.mark.parametrize("name", ["example-auditor-register.xlsx", "example-code-competence.xlsx"])
def test_reference_registers(name):
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside the checkout)")
    pages = read_sheet(path.read_bytes())
    text = "\n".join(p.text for p in pages)
    cells = {cell for p in pages for table in p.tables for row in table for cell in row}
    if name == "example-auditor-register.xlsx":
        assert len(pages) == 1 and pages[0].text.startswith("审核员名单\n××认证中心专职审核员\n")
        for expected in ("周文斌", "林雅琴", "史国平", "2021-1-NE81408", "2022-1-NQ89455", "2024-2-NS84717",
                         "110101197201119779", "13953464097", "33.02.01、18.01.04", "2021-09-07"):
            assert expected in text and expected in cells
        assert "1  周文斌  13953464097  男" in text            # 序号 1.0 reads as 1
        header = pages[0].tables[0][2]
        assert header[:3] == ["", "", ""] and "EMS注册号" in header and "技术领域" in header
    else:
        assert [p.text.split("\n")[0] for p in pages] == ["q", "e", "s"]
        for expected in ("Q-17-10", "17.10.02 机加工", "E-18-01", "S-35-16", "35.16.02 其他建筑及工业清洗活动",
                         "林雅琴、孔令辉、严春华"):
            assert expected in text and expected in cells
        assert pages[0].tables[0][1] == ["", "", "17.10.01 金属的处理和涂覆", "", "", ""]


def test_a_large_sheet_is_read_whole_and_a_bit_larger_one_refused():
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(2000):
        ws.append([r, f"审核员{r}", "2021-1-NE81408", datetime.date(2024, 1, 1), 1.5, "√", "QMS", r * 2, "x", "y"])
    data = _save(wb)
    started = time.perf_counter()
    pages = read_sheet(data)
    assert time.perf_counter() - started < 3
    assert len(pages[0].tables[0]) == 2000 and "1999  审核员1999  2021-1-NE81408  2024-01-01" in pages[0].text
    ws.cell(row=MAX_CELLS // 10 + 2, column=10, value="far")       # the rectangle grows past the limit
    with pytest.raises(ReadError) as err:
        read_sheet(_save(wb))
    assert err.value.reason == "too_large" and str(MAX_CELLS) in str(err.value)


# -- hostile workbooks: each would make calamine ask for billions of cells (and abort) ------------

def _rezip(data: bytes, parts: dict[str, bytes]) -> bytes:
    """The same xlsx with parts replaced or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in src.namelist():
            zf.writestr(name, parts.get(name, src.read(name)))
        for name in parts.keys() - set(src.namelist()):
            zf.writestr(name, parts[name])
    return out.getvalue()


def _sheet_xml(rows: str, prefix: str = "") -> bytes:
    ns = f"xmlns{':' + prefix if prefix else ''}=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
    p = f"{prefix}:" if prefix else ""
    return f'<?xml version="1.0"?><{p}worksheet {ns}><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>'.encode()


def _small_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    return _save(wb)


def _ods(body: str, end: str = "</table:table>") -> bytes:
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="表1">{body}{end}</office:spreadsheet>'
               '</office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _xls(cells: list[tuple[int, int, float]], extra_globals: bytes = b"", dimensions: bytes | None = None,
         sheet_pos: int | None = None) -> bytes:
    """A BIFF8 workbook written record by record (BOF, BOUNDSHEET, EOF; a sheet of NUMBER cells),
    in a compound file."""
    name = "表一".encode("utf-16-le")
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))

    def globals_stream(pos: int) -> bytes:
        boundsheet = _record(0x0085, struct.pack("<IBBBB", pos, 0, 0, 2, 1) + name)
        return bof + extra_globals + boundsheet + _record(0x000A, b"")

    sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
    if dimensions is not None:
        sheet += _record(0x0200, dimensions)
    for row, col, value in cells:
        sheet += _record(0x0203, struct.pack("<HHHd", row, col, 0, value))
    sheet += _record(0x000A, b"")
    head = globals_stream(0)
    stream = globals_stream(len(head) if sheet_pos is None else sheet_pos) + sheet
    return single_stream_cfb("Workbook", stream)


def test_hand_made_xls_is_read():
    pages = read_sheet(_xls([(0, 0, 1.0), (1, 2, 2.5)]))
    assert len(pages) == 1 and pages[0].text == "表一\n1\n2.5"
    assert pages[0].tables == [[["1", "", ""], ["", "", "2.5"]]]


HOSTILE = {
    # two cells in opposite corners: 17 billion cells for calamine
    "corners.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>b</t></is></c></row>')}),
    # an empty string still counts as a value
    "empty-string.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576" t="inlineStr"><is><t></t></is></c></row>')}),
    # two r attributes: calamine takes the last
    "two-r.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c><c r="B1" r="XFD1048576"><v>2</v></c></row>')}),
    # the r after a quoted '>'; cells with no r, one in a far row
    "quoted.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c><c s="0" x="/>" r="XFD1048576"><v>2</v></c></row>')}),
    "no-r.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c><v>1</v></c><c/><c><v>2</v></c></row><row r="1048576"><c><v>3</v></c></row>')}),
    # a namespace prefix on every element
    "prefixed.xlsx": lambda: _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        '<x:row r="900000"><x:c r="ZZ900000"><x:v>2</x:v></x:c></x:row>', prefix="x")}),
    # a value repeated over a million rows and every column
    "repeated.ods": lambda: _ods('<table:table-row table:number-rows-repeated="1048576">'
                                 '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" '
                                 'office:value="1"/></table:table-row>'),
    # 50 million cells: under calamine's own limit of 100 million (3 GB)
    "far.ods": lambda: _ods('<table:table-row><table:table-cell office:value-type="string"><text:p>a</text:p>'
                            '</table:table-cell><table:table-cell table:number-columns-repeated="4998"/>'
                            '<table:table-cell office:value-type="string"><text:p>z</text:p></table:table-cell>'
                            '</table:table-row><table:table-row table:number-rows-repeated="9998">'
                            '<table:table-cell/></table:table-row><table:table-row><table:table-cell '
                            'office:value-type="string"><text:p>q</text:p></table:table-cell></table:table-row>'),
    # content.xml ending inside a table: calamine's ods reader loops for ever
    "unclosed.ods": lambda: _ods('<table:table-row><table:table-cell office:value-type="float" office:value="1"/>'
                                 '</table:table-row>', end=""),
    "corners.xls": lambda: _xls([(0, 0, 1.0), (65535, 255, 2.0)]),
    # DIMENSIONS claiming 4 billion rows: calamine reserves room for that before reading a cell;
    # more shared strings than the stream could hold; a sheet that starts past the stream's end
    "dimensions.xls": lambda: _xls([(0, 0, 1.0)], dimensions=struct.pack("<IIHHH", 0, 0xFFFFFFFF, 0, 255, 0)),
    "sst.xls": lambda: _xls([(0, 0, 1.0)], extra_globals=_record(0x00FC, struct.pack("<ii", 1, 0x7FFFFFFF))),
    "filepass.xls": lambda: _xls([(0, 0, 1.0)], extra_globals=_record(0x002F, struct.pack("<HHH", 1, 1, 1))),
    "boundsheet.xls": lambda: _xls([(0, 0, 1.0)], sheet_pos=10_000_000),
    "encrypted-ooxml.xlsx": lambda: single_stream_cfb("EncryptedPackage", b"\x00" * 8192),
    "other-ole.xls": lambda: single_stream_cfb("WordDocument", b"\x00" * 8192),
    "truncated.xlsx": lambda: register_workbook()[:3000],
    "junk.xlsx": lambda: b"PK\x03\x04" + bytes(range(256)) * 20,
    "junk.xls": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 20,
    "text.xlsx": lambda: "审核员名单，不是表格".encode(),
    "xlsb.xlsb": lambda: _rezip(_small_xlsx(), {"xl/workbook.bin": b"\x00"}),
    "empty.xlsx": lambda: b"",
}
EXPECTED = {
    "corners.xlsx": "too_large", "empty-string.xlsx": "too_large", "two-r.xlsx": "too_large",
    "quoted.xlsx": "too_large", "no-r.xlsx": "too_large", "prefixed.xlsx": "too_large",
    "repeated.ods": "too_large", "far.ods": "too_large", "unclosed.ods": "damaged", "corners.xls": "too_large", "dimensions.xls": "too_large",
    "sst.xls": "damaged", "filepass.xls": "encrypted", "boundsheet.xls": "damaged",
    "encrypted-ooxml.xlsx": "encrypted", "other-ole.xls": "unsupported", "truncated.xlsx": "damaged",
    "junk.xlsx": "damaged", "junk.xls": "damaged", "text.xlsx": "unsupported", "xlsb.xlsb": "unsupported",
    "empty.xlsx": "empty",
}

# Reads each file in a child process whose address space is capped: should a check let a hostile
# file through, calamine aborts that child (the test fails, the test run goes on).
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from archive.readers.base import ReadError
from archive.readers.sheet import read_sheet
out = {}
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    started = time.perf_counter()
    try:
        read_sheet(data)
        reason = "read"
    except ReadError as exc:
        reason = exc.reason
    out[path.rsplit("/", 1)[-1]] = [reason, time.perf_counter() - started]
print(json.dumps(out))
"""


def test_hostile_workbooks_are_refused_fast(tmp_path):
    paths = []
    for name, make in HOSTILE.items():
        (tmp_path / name).write_bytes(make())
        paths.append(str(tmp_path / name))
    done = subprocess.run([sys.executable, "-c", CHILD, *paths], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert {name: reason for name, (reason, _) in results.items()} == EXPECTED
    slow = {name: seconds for name, (_, seconds) in results.items() if seconds > 0.5}
    assert not slow


def test_hostile_messages_are_chinese():
    with pytest.raises(ReadError) as err:
        read_sheet(HOSTILE["corners.xlsx"]())
    assert "单元格" in str(err.value) and "200000" in str(err.value)
    with pytest.raises(ReadError) as err:
        read_sheet(HOSTILE["filepass.xls"]())
    assert str(err.value) == "电子表格已加密，需要密码才能打开"


def test_zip_bomb_refused_from_declared_sizes():
    """A part declaring 1 GB inflated is refused before anything is inflated."""
    data = bytearray(_small_xlsx())
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(b"PK\x01\x02")
    while at >= 0:                              # the central directory's uncompressed size
        if data[at + 46: at + 46 + struct.unpack_from("<H", data, at + 28)[0]] == name:
            struct.pack_into("<I", data, at + 24, 1 << 30)
        at = data.find(b"PK\x01\x02", at + 4)
    started = time.perf_counter()
    with pytest.raises(ReadError) as err:
        read_sheet(bytes(data))
    assert err.value.reason == "too_large" and time.perf_counter() - started < 0.5


def test_formatted_far_cells_do_not_count():
    """Excel and openpyxl write a formatted empty cell (self-closing, or closed at once); calamine
    skips it, and so does the check: a sheet formatted to XFD is still read."""
    data = _rezip(_small_xlsx(), {SHEET1: _sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>审核员</t></is></c><c r="XFD1" s="1"/></row>'
        '<row r="1048576"><c r="XFD1048576" s="1" t="n"></c></row>')})
    pages = read_sheet(data)
    assert pages[0].text == "Sheet\n审核员" and pages[0].tables == [[["审核员"]]]


# -- .xls and .ods as LibreOffice writes them --------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_xls_and_ods(tmp_path, fmt):
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "register.xlsx"
    source.write_bytes(register_workbook())
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(tmp_path / "out"), str(source)], capture_output=True, timeout=180)
    converted = tmp_path / "out" / f"register.{fmt}"
    if not converted.exists():
        pytest.skip(f"LibreOffice could not write .{fmt} (libreoffice-calc not installed?)")
    pages = read_sheet(converted.read_bytes())
    expected = read_sheet(source.read_bytes())
    if fmt == "ods":     # LibreOffice stores an xlsx's TRUE as the formula =TRUE() with the number 1
        for page in expected:
            page.text = page.text.replace("  TRUE  ", "  1  ").replace("  FALSE", "  0")
            page.tables = [[[{"TRUE": "1", "FALSE": "0"}.get(c, c) for c in row] for row in t] for t in page.tables]
    assert [p.text for p in pages] == [p.text for p in expected]
    assert [p.tables for p in pages] == [p.tables for p in expected]
