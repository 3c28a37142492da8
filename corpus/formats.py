"""The formats a certification body really files, written from the same `Story` as the PDF.

A template prints a story; `render_tracked` renders it to PDF as `render.render` does and notes where
each page starts (which line of a paragraph, which row of a table), so that a Word file can mark
those places as Word does when it saves (`w:lastRenderedPageBreak`) and a reader counts the pages
the PDF has. `blocks` turns the story back into paragraphs and tables (pre-wrapped lines joined, the
spans of a table kept); the writers lay them out:

- `write_docx`: a .docx made with python-docx (centred titles, real tables with merged cells, page
  breaks, the form's header and a footer with PAGE/NUMPAGES fields);
- `write_wordml`: Word 2003 XML (w:wordDocument), what business systems export under a `.doc` name;
  it holds no rendered page breaks, so a reader sees the explicit breaks only (`explicit_pages`);
- `flat_package`: the "Word XML document" (pkg:package) Word 2007+ saves, also named `.doc`;
- `DocBatch`: binary Word 97 `.doc`, a batch of .docx converted by LibreOffice in one run, in the
  background, with the pages LibreOffice lays them out on (what the reader will count);
- `photograph`: a phone photo of a one-page form on a desk (`.jpg`);
- `zip_folder`: a project folder zipped with GBK names and no UTF-8 flag, as Chinese Windows tools do.

OFD is `corpus.ofd`. Same seed, same bytes (fixed zip times, seeded generators), except LibreOffice's
.doc files, which carry its own time stamps.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Spacer, Table

from .render import _NO_LINE_END, _NO_LINE_START, _TOKEN, Layout, Lines, Story, render, text_width

EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "wordml": ".doc", "doc": ".doc", "image": ".jpg", "ofd": ".ofd"}
SOFFICE = "soffice"
SOFFICE_TIMEOUT = 240            # seconds for one LibreOffice run (its first start makes a profile)


# -- rendering with page starts -----------------------------------------------------------------

@dataclass(frozen=True)
class PageStart:
    page: int                # 2 … pages
    item: int                # index in story.items
    unit: int                # the line of a Lines, the row of a Table, that opens the page
    hard: bool               # right after a PageBreak (the Word file has an explicit break there)


@dataclass
class Rendition:
    pages: int
    starts: list[PageStart]


class _TrackedLines(Lines):
    """Lines that note the page they are drawn on; their split parts do too."""

    _track: tuple[list, int, int]

    def split(self, avail_width, avail_height):
        parts = Lines.split(self, avail_width, avail_height)
        log, item, offset = self._track
        first = len(parts[0].lines) if parts else 0
        for k, part in enumerate(parts):
            part.__class__ = _TrackedLines
            part._track = (log, item, offset + (first if k else 0))
        return parts

    def draw(self):
        log, item, offset = self._track
        log.append((self.canv._doctemplate.page, item, offset))
        super().draw()


class _TrackedTable(Table):
    """A table that notes the page each part is drawn on and which rows the part holds (reportlab
    splits a table by `self.__class__(rows …)`, so the parts are tracked tables sharing the rows)."""

    _log: list
    _rows: dict[int, tuple[int, int]]

    def draw(self):
        found = [self._rows[id(row)] for row in self._cellvalues if id(row) in self._rows]
        if found:
            self._log.append((self.canv._doctemplate.page, found[0][0], [k for _, k in found]))
        super().draw()


def render_tracked(path: Path, story: Story, layout: Layout, encrypt=None) -> Rendition:
    """`render.render` (the same PDF, byte for byte) that also returns where each page starts."""
    log: list = []
    rows: dict[int, tuple[int, int]] = {}
    table_cls = type("_TrackedTable", (_TrackedTable,), {"_log": log, "_rows": rows})
    items = []
    for i, item in enumerate(story.items):
        if isinstance(item, Lines):
            item = copy.copy(item)
            item.__class__ = _TrackedLines
            item._track = (log, i, 0)
        elif isinstance(item, Table):
            item = copy.copy(item)
            item.__class__ = table_cls
            for k, row in enumerate(item._cellvalues):
                rows[id(row)] = (i, k)
        else:
            item = copy.copy(item)
        item.__dict__.pop("_postponed", None)       # left by an earlier build: would fail this one
        items.append(item)
    pages = render(path, Story(conv=story.conv, items=items, width=story.width), layout, encrypt=encrypt)
    return Rendition(pages, _starts(story, log, pages))


def _starts(story: Story, log: list, pages: int) -> list[PageStart]:
    starts: list[PageStart] = []
    drawn: dict[int, int] = {}             # table item → last row drawn
    page, prev = 1, -1
    for at, item, unit in log:
        if isinstance(unit, list):         # a table part: its first row not repeated from the header
            first = unit[0] if item not in drawn else next((k for k in unit if k > drawn[item]), unit[-1])
            drawn[item] = max(unit)
            unit = first
        if at > page:
            hard = unit == 0 and any(isinstance(story.items[j], PageBreak) for j in range(prev + 1, item))
            starts.append(PageStart(at, item, unit, hard))
            page = at
        prev = item
    if len(starts) != pages - 1 or [s.page for s in starts] != list(range(2, pages + 1)):
        raise RuntimeError(f"a page without text: starts {starts} for {pages} pages")
    return starts


# -- the story as paragraphs and tables -----------------------------------------------------------

@dataclass
class Para:
    text: str
    size: float
    leading: float
    align: str = "left"
    indent: float = 0.0                   # first-line indent, pt
    before: float = 0.0                   # space before, pt
    breaks: tuple[int, ...] = ()          # offsets in `text` where a rendered page starts


@dataclass
class Grid:
    widths: list[float]                   # pt
    rows: list[list[str]]                 # a spanned cell's text in its first cell, the rest ""
    spans: list[tuple[tuple[int, int], tuple[int, int]]]   # ((c0, r0), (c1, r1)), as reportlab's SPAN
    size: float
    header_rows: int = 0
    fills: dict[tuple[int, int], str] = field(default_factory=dict)     # (row, col) → "E8E8E8"
    align: dict[tuple[int, int], str] = field(default_factory=dict)     # (row, col) → center/right
    page_rows: set[int] = field(default_factory=set)                    # rows that open a rendered page
    before: float = 0.0
    borders: bool = True


@dataclass
class Break:
    """An explicit page break."""


Block = Para | Grid | Break


def _first_token(line: str) -> str:
    """The first unbreakable piece of a line, as `render.wrap_text` glued it."""
    tokens = _TOKEN.findall(line)
    if not tokens:
        return ""
    tok = tokens[0]
    for nxt in tokens[1:]:
        if nxt[0] in _NO_LINE_START or tok[-1] in _NO_LINE_END:
            tok += nxt
        else:
            break
    return tok


def unwrap(lines: list[str], width: float, size: float, first_width: float | None = None
           ) -> list[tuple[str, list[int]]]:
    """Pre-wrapped lines joined back into paragraphs: [(text, offset of each line in it)]. A line
    that ended although the next one's first piece would have fitted ended a paragraph of its own
    (a newline in the text). A blank lost at the wrap between two ASCII letters or digits is put back."""
    out: list[tuple[str, list[int]]] = []
    text, offsets = "", []
    for k, line in enumerate(lines):
        if k == 0:
            text, offsets = line, [0]
            continue
        prev = lines[k - 1]
        limit = first_width if (k == 1 and first_width is not None) else width
        tok = _first_token(line)
        if tok and text_width(prev + " " + tok, size) <= limit:        # a newline, not a wrap
            out.append((text, offsets))
            text, offsets = line, [0]
            continue
        sep = " " if (prev and line and prev[-1].isascii() and prev[-1].isalnum()
                      and line[0].isascii() and line[0].isalnum()) else ""
        offsets.append(len(text) + len(sep))
        text += sep + line
    if lines:
        out.append((text, offsets))
    return out


def _fills(table: Table, nrows: int, ncols: int) -> dict[tuple[int, int], str]:
    out: dict[tuple[int, int], str] = {}
    for cmd in getattr(table, "_bkgrndcmds", []):
        if cmd[0] != "BACKGROUND" or not isinstance(cmd[3], str):
            continue
        (c0, r0), (c1, r1) = cmd[1], cmd[2]
        c0, c1 = c0 % ncols, c1 % ncols
        r0, r1 = r0 % nrows, r1 % nrows
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                out[(r, c)] = cmd[3].lstrip("#").upper()
    return out


def _grid(table: Table, page_rows: set[int]) -> Grid:
    values = table._cellvalues
    nrows, ncols = len(values), len(values[0]) if values else 0
    widths = [float(w) for w in table._colWidths]
    spans = [(tuple(c[1]), tuple(c[2])) for c in getattr(table, "_spanCmds", []) if c[0] == "SPAN"]
    style = table._cellStyles[0][0] if nrows and ncols else None
    size = float(style.fontsize) if style else 9.5
    pad = float(style.leftPadding) if style else 4.0
    rows, align = [], {}
    for r, row in enumerate(values):
        cells = []
        for c, cell in enumerate(row):
            w = widths[c]
            for (c0, r0), (c1, _r1) in spans:
                if (c0, r0) == (c, r):
                    w = sum(widths[c0:c1 + 1])
            text = str(cell or "")
            paras = unwrap(text.split("\n"), w - 2 * pad, size) if text else [("", [0])]
            cells.append("\n".join(p for p, _ in paras))
            a = table._cellStyles[r][c].alignment.lower()
            if a in ("center", "centre", "right"):
                align[(r, c)] = "center" if a.startswith("cent") else "right"
        rows.append(cells)
    return Grid(widths, rows, spans, size, int(table.repeatRows or 0), _fills(table, nrows, ncols), align,
                page_rows)


def blocks(story: Story, rendition: Rendition) -> list[Block]:
    """The story as paragraphs, tables and explicit page breaks, with the rendered page starts."""
    soft: dict[int, list[int]] = {}
    for s in rendition.starts:
        if not s.hard:
            soft.setdefault(s.item, []).append(s.unit)
    out: list[Block] = []
    space = 0.0
    for i, item in enumerate(story.items):
        if isinstance(item, Spacer):
            space += float(item.height)
        elif isinstance(item, PageBreak):
            out.append(Break())
            space = 0.0
        elif isinstance(item, Lines):
            first = story.width - item.indent if item.indent else None
            paras = unwrap(item.lines, story.width, item.size, first)
            line_no = 0
            for k, (text, offsets) in enumerate(paras):
                breaks = tuple(offsets[j] for j in range(len(offsets)) if line_no + j in soft.get(i, ()))
                out.append(Para(text, item.size, item.leading, item.align, item.indent if k == 0 else 0.0,
                                space if k == 0 else 0.0, breaks))
                line_no += len(offsets)
            space = 0.0
        elif isinstance(item, Table):
            grid = _grid(item, set(soft.get(i, ())))
            grid.before = space
            out.append(grid)
            space = 0.0
    return out


_PAIR = re.compile(r"^([^：:\s]{2,8})([：:] ?)(\S.*)$")


def pair_tables(items: list[Block], rng: random.Random, width: float) -> list[Block]:
    """Runs of three or more "标签：值" lines laid out as a 2- or 4-column table, as many Word forms
    do (the label keeps its colon: what is printed stays the same)."""
    out: list[Block] = []
    run: list[Para] = []

    def flush() -> None:
        if len(run) < 3:
            out.extend(run)
        else:
            style = rng.choice(["grid2", "grid2", "plain2", "grid4"])
            pairs = [_PAIR.match(p.text).groups() for p in run]          # type: ignore[union-attr]
            cols = 4 if style == "grid4" and all(len(v) <= 24 for _, _, v in pairs) else 2
            per = cols // 2
            rows, page_rows = [], set()
            for k in range(0, len(pairs), per):
                row: list[str] = []
                for label, colon, value in pairs[k:k + per]:
                    row += [label + colon.strip(), value]
                rows.append(row + [""] * (cols - len(row)))
                if any(p.breaks for p in run[k:k + per]):
                    page_rows.add(len(rows) - 1)
            widths = [0.22, 0.78] if cols == 2 else [0.16, 0.34, 0.16, 0.34]
            out.append(Grid([width * f for f in widths], rows, [], run[0].size, 0, {}, {}, page_rows,
                            run[0].before, borders=style != "plain2"))
        run.clear()

    for b in items:
        if (isinstance(b, Para) and b.align == "left" and not b.indent and b.breaks in ((), (0,))
                and _PAIR.match(b.text) and (not run or not b.before)):
            run.append(b)
            continue
        flush()
        out.append(b)
    flush()
    return out


def explicit_pages(items: list[Block]) -> int:
    """The pages a reader counts in a Word file without rendered page breaks: explicit breaks that
    have text on both sides."""
    pages, content = 1, False
    for b in items:
        if isinstance(b, Break):
            if content:
                pages += 1
                content = False
        elif (isinstance(b, Para) and b.text.strip()) or (isinstance(b, Grid) and any(any(r) for r in b.rows)):
            content = True
    return pages if content else max(1, pages - 1)


# -- what every Word file shares ----------------------------------------------------------------

@dataclass
class Meta:
    """Document properties: what the person who saved the file left in it."""
    title: str
    author: str
    company: str
    saved: dt.datetime
    pages: int
    revision: int = 1


def _footer_parts(footer: str) -> list[tuple[str, str]]:
    """"第 {p} 页 共 {n} 页" → [("text", "第 "), ("PAGE", ""), ("text", " 页 共 "), ("NUMPAGES", "") …]."""
    out = []
    for piece in re.split(r"(\{[pn]\})", footer):
        if piece == "{p}":
            out.append(("PAGE", ""))
        elif piece == "{n}":
            out.append(("NUMPAGES", ""))
        elif piece:
            out.append(("text", piece))
    return out


def _page_size(layout: Layout) -> tuple[float, float]:
    """(width, height) in pt."""
    w, h = 210 * mm, 297 * mm
    return (h, w) if layout.landscape else (w, h)


def _twips(pt: float) -> int:
    return round(pt * 20)


def _conv_text(story: Story, text: str | None) -> str:
    return story.conv(text) if text else ""


# -- .docx ----------------------------------------------------------------------------------------

def write_docx(items: list[Block], story: Story, layout: Layout, meta: Meta, when: dt.datetime) -> bytes:
    """A .docx of the blocks, with the rendered page starts marked (w:lastRenderedPageBreak).
    python-docx makes the package, the section, header and footer parts, the tables (cells merged
    with `merge`) and the properties; paragraphs and runs are written as XML (python-docx's
    property setters took two thirds of the time)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document(io.BytesIO(_template()))
    section = doc.sections[0]
    width, height = _page_size(layout)
    section.orientation = WD_ORIENT.LANDSCAPE if layout.landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Pt(width), Pt(height)
    section.left_margin = section.right_margin = Pt(layout.margin)
    section.top_margin, section.bottom_margin = Pt(18 * mm), Pt(16 * mm)
    section.header_distance, section.footer_distance = Pt(10 * mm), Pt(8 * mm)
    text_w = width - 2 * layout.margin
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")

    if layout.header_left or layout.header_right:
        runs = _x_run(_conv_text(story, layout.header_left), 8.5) if layout.header_left else ""
        if layout.header_right:
            runs += _x_run("\t" + _conv_text(story, layout.header_right), 8.5)
        ppr = ('<w:pPr><w:pStyle w:val="Header"/><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" '
               f'w:color="auto"/></w:pBdr><w:tabs><w:tab w:val="right" w:pos="{_twips(text_w)}"/></w:tabs></w:pPr>')
        _x_replace(section.header.paragraphs[0]._p, f"<w:p>{ppr}{runs}</w:p>")
    if layout.footer:
        runs = "".join(_x_run(_conv_text(story, text), 8.5) if kind == "text"
                       else _x_field(kind, "1" if kind == "PAGE" else str(meta.pages), 8.5)
                       for kind, text in _footer_parts(layout.footer))
        ppr = '<w:pPr><w:pStyle w:val="Footer"/><w:jc w:val="center"/></w:pPr>'
        _x_replace(section.footer.paragraphs[0]._p, f"<w:p>{ppr}{runs}</w:p>")
    if layout.frame:
        _x_page_borders(section._sectPr)

    body = doc.element.body
    for b in items:
        if isinstance(b, Break):
            body.sectPr.addprevious(_x('<w:p><w:r><w:br w:type="page"/></w:r></w:p>'))
        elif isinstance(b, Para):
            cuts = sorted(set(b.breaks) | {0})
            runs = "".join(_x_run(b.text[start:cuts[k + 1] if k + 1 < len(cuts) else len(b.text)], b.size,
                                  bold=b.size >= 15, rendered_break=start in b.breaks)
                           for k, start in enumerate(cuts))
            body.sectPr.addprevious(_x(_x_para(runs, b.align, b.before, b.leading, b.indent)))
        else:
            if b.before:
                body.sectPr.addprevious(_x(_x_para("", leading=max(b.before, 1))))
            _docx_table(doc, b, WD_TABLE_ALIGNMENT.CENTER)
            body.sectPr.addprevious(_x(_x_para("", leading=6)))

    props = doc.core_properties
    props.title, props.author, props.last_modified_by = meta.title, meta.author, meta.author
    props.comments, props.subject, props.keywords, props.category = "", "", "", ""
    props.created, props.modified = when - dt.timedelta(minutes=37), when
    props.revision = meta.revision
    _word_statistics(doc, meta)
    buf = io.BytesIO()
    doc.save(buf)
    return stamp_zip(buf.getvalue(), when)


W06 = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_KEEP_STYLES = {"Normal", "Header", "HeaderChar", "Footer", "FooterChar", "DefaultParagraphFont", "TableNormal",
                "NoList", "TableGrid", "Title", "TitleChar"}


@functools.lru_cache(maxsize=1)
def _template() -> bytes:
    """python-docx's default template as a form's Normal.dotm would be: the styles a form uses
    (its 160 built-in styles are 438 KB, twice: styles.xml and stylesWithEffects.xml), no thumbnail.
    Made once a process; every .docx starts from it (a fifth of the time to open and save)."""
    from docx import Document
    from docx.oxml.ns import qn

    doc = Document()
    styles = doc.styles.element
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:styleId")) not in _KEEP_STYLES:
            styles.remove(style)
    latent = styles.find(qn("w:latentStyles"))
    if latent is not None:
        styles.remove(latent)
    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            package.rels.pop(rid)
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.rels.pop(rid)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _x(xml: str):
    """One WordprocessingML element from its XML (the w: prefix declared here)."""
    from docx.oxml.parser import parse_xml

    return parse_xml(f'<w:x xmlns:w="{W06}">{xml}</w:x>')[0]


def _x_replace(old, xml: str) -> None:
    old.addprevious(_x(xml))
    old.getparent().remove(old)


def _x_run(text: str, size: float, bold: bool = False, rendered_break: bool = False) -> str:
    """A run; `rendered_break`: Word's mark that the run starts a page it laid out."""
    half = round(size * 2)
    rpr = f'<w:rPr>{"<w:b/><w:bCs/>" if bold else ""}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
    mark = "<w:lastRenderedPageBreak/>" if rendered_break else ""
    body = "<w:tab/>".join(f'<w:t xml:space="preserve">{escape(part)}</w:t>' if part else ""
                           for part in text.split("\t"))
    return f"<w:r>{rpr}{mark}{body}</w:r>"


def _x_para(runs: str, align: str = "left", before: float = 0.0, leading: float | None = None,
            indent: float = 0.0) -> str:
    spacing = f'<w:spacing w:before="{_twips(before)}" w:after="0"'
    spacing += f' w:line="{_twips(leading)}" w:lineRule="exact"/>' if leading else "/>"
    ind = f'<w:ind w:firstLine="{_twips(indent)}"/>' if indent else ""
    jc = f'<w:jc w:val="{align}"/>' if align in ("center", "right") else ""
    return f"<w:p><w:pPr>{spacing}{ind}{jc}</w:pPr>{runs}</w:p>"


def _x_field(instr: str, result: str, size: float) -> str:
    half = round(size * 2)
    rpr = f'<w:rPr><w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
    return (f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{rpr}<w:instrText xml:space="preserve"> '
            f'{instr} </w:instrText></w:r><w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
            f'<w:r>{rpr}<w:t>{result}</w:t></w:r><w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>')


def _x_page_borders(sect_pr) -> None:
    """The certificate's double frame."""
    sides = "".join(f'<w:{side} w:val="double" w:sz="12" w:space="24" w:color="auto"/>'
                    for side in ("top", "left", "bottom", "right"))
    sect_pr.find(f"{{{W06}}}pgMar").addnext(_x(f'<w:pgBorders w:offsetFrom="page">{sides}</w:pgBorders>'))


def _grid_cells(tr) -> list[tuple[int, object]]:
    """(grid column, w:tc) of a row."""
    out, col = [], 0
    for tc in tr.tc_lst:
        out.append((col, tc))
        span = tc.tcPr.find(f"{{{W06}}}gridSpan") if tc.tcPr is not None else None
        col += int(span.get(f"{{{W06}}}val")) if span is not None else 1
    return out


def _docx_table(doc, grid: Grid, center) -> None:
    from docx.shared import Pt

    nrows, ncols = len(grid.rows), len(grid.widths)
    table = doc.add_table(rows=nrows, cols=ncols)
    if grid.borders:
        table.style = doc.styles["Table Grid"]
    table.alignment = center
    table.autofit = False
    for c, w in enumerate(grid.widths):
        table.columns[c].width = Pt(w)
    table._tbl.tblPr.append(_x('<w:tblLayout w:type="fixed"/>'))
    covered = set()
    for (c0, r0), (c1, r1) in grid.spans:
        table.cell(r0, c0).merge(table.cell(r1, c1))
        covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)} - {(r0, c0)}
    for r, tr in enumerate(table._tbl.tr_lst):
        if r < grid.header_rows:
            tr.get_or_add_trPr().append(_x("<w:tblHeader/>"))
        for k, (col, tc) in enumerate(_grid_cells(tr)):
            align = grid.align.get((r, col)) or ("center" if r < grid.header_rows else "left")
            texts = [""] if (r, col) in covered else grid.rows[r][col].split("\n")
            mark = k == 0 and r in grid.page_rows
            paras = [_x_para(_x_run(text, grid.size, rendered_break=mark and i == 0) if text or (mark and i == 0)
                             else "", align) for i, text in enumerate(texts)]
            for p in tc.p_lst:
                tc.remove(p)
            for p in paras:
                tc.append(_x(p))
            tcpr = tc.get_or_add_tcPr()
            fill = grid.fills.get((r, col))
            if fill:
                tcpr.append(_x(f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'))
            tcpr.append(_x('<w:vAlign w:val="center"/>'))


_APP = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Template>Normal.dotm'
        '</Template><TotalTime>{minutes}</TotalTime><Pages>{pages}</Pages><Words>{words}</Words>'
        '<Characters>{chars}</Characters><Application>Microsoft Office Word</Application><DocSecurity>0'
        '</DocSecurity><Lines>{lines}</Lines><Paragraphs>{paras}</Paragraphs><ScaleCrop>false</ScaleCrop>'
        '<Company>{company}</Company><LinksUpToDate>false</LinksUpToDate><CharactersWithSpaces>{chars}'
        '</CharactersWithSpaces><SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>'
        '<AppVersion>16.0000</AppVersion></Properties>')


def _word_statistics(doc, meta: Meta) -> None:
    """What Word leaves in a package that python-docx's template does not: its statistics in
    app.xml (pages, characters …)."""
    package = doc.part.package
    text = "".join(t.text or "" for t in doc.element.body.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"))
    chars = len(re.sub(r"\s", "", text))
    paras = len(doc.element.body.findall(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"))
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = _APP.format(minutes=meta.revision * 7, pages=meta.pages, words=chars, chars=chars,
                                     lines=max(1, chars // 38), paras=paras, company=escape(meta.company)
                                     ).encode("utf-8")


def stamp_zip(data: bytes, when: dt.datetime) -> bytes:
    """The zip with every member's DOS time set to `when` (zipfile stamps the current time; the same
    seed must give the same bytes): the local headers and the central directory patched in place."""
    dos_time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    dos_date = ((max(when.year, 1980) - 1980) << 9) | (when.month << 5) | when.day
    stamp = dos_time.to_bytes(2, "little") + dos_date.to_bytes(2, "little")
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            out[info.header_offset + 10:info.header_offset + 14] = stamp
    end = out.rfind(b"PK\x05\x06")
    pos = int.from_bytes(out[end + 16:end + 20], "little")
    while out[pos:pos + 4] == b"PK\x01\x02":
        out[pos + 12:pos + 16] = stamp
        n, m, c = (int.from_bytes(out[pos + k:pos + k + 2], "little") for k in (28, 30, 32))
        pos += 46 + n + m + c
    return bytes(out)


# -- the flat "Word XML document" ----------------------------------------------------------------

PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"


def flat_package(docx: bytes) -> bytes:
    """The docx's parts in one XML file (pkg:package), as Word 2007+ saves "Word XML document"."""
    zf = zipfile.ZipFile(io.BytesIO(docx))
    types = zf.read("[Content_Types].xml").decode("utf-8")
    overrides = dict(re.findall(r'<Override PartName="([^"]+)" ContentType="([^"]+)"', types))
    defaults = dict(re.findall(r'<Default Extension="([^"]+)" ContentType="([^"]+)"', types))
    parts = []
    for name in zf.namelist():
        if name == "[Content_Types].xml" or name.startswith("customXml/"):
            continue
        part = "/" + name
        ctype = overrides.get(part) or defaults.get(name.rsplit(".", 1)[-1], "application/xml")
        body = zf.read(name).decode("utf-8")
        body = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", body)
        if name.endswith(".rels"):
            body = re.sub(r'<Relationship [^>]*Target="(?:\.\./)?customXml/[^"]*"/>', "", body)
        pad = ' pkg:padding="512"' if name == "_rels/.rels" else (' pkg:padding="256"' if name.endswith(".rels")
                                                                   else "")
        parts.append(f'<pkg:part pkg:name="{part}" pkg:contentType="{ctype}"{pad}><pkg:xmlData>{body}'
                     f'</pkg:xmlData></pkg:part>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<?mso-application progid="Word.Document"?>\n'
            f'<pkg:package xmlns:pkg="{PKG}">' + "".join(parts) + "</pkg:package>").encode("utf-8")


# -- Word 2003 XML ----------------------------------------------------------------------------------

W03 = "http://schemas.microsoft.com/office/word/2003/wordml"
_W03_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<?mso-application progid="Word.Document"?>\n'
    f'<w:wordDocument xmlns:w="{W03}" xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:w10="urn:schemas-microsoft-com:office:word" '
    'xmlns:sl="http://schemas.microsoft.com/schemaLibrary/2003/core" '
    'xmlns:aml="http://schemas.microsoft.com/aml/2001/core" '
    'xmlns:wx="http://schemas.microsoft.com/office/word/2003/auxHint" '
    'xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:dt="uuid:C2F41010-65B3-11d1-A29F-00AA00C14882" w:macrosPresent="no" w:embeddedObjPresent="no" '
    'w:ocxPresent="no" xml:space="preserve">'
    '<w:ignoreSubtree w:val="http://schemas.microsoft.com/office/word/2003/wordml/sp2"/>')
_W03_FONTS = (
    '<w:fonts><w:defaultFonts w:ascii="Times New Roman" w:fareast="宋体" w:h-ansi="Times New Roman" '
    'w:cs="Times New Roman"/><w:font w:name="宋体"><w:altName w:val="SimSun"/>'
    '<w:panose-1 w:val="02010600030101010101"/><w:charset w:val="86"/><w:family w:val="Auto"/>'
    '<w:pitch w:val="variable"/><w:sig w:usb-0="00000003" w:usb-1="288F0000" w:usb-2="00000016" '
    'w:usb-3="00000000" w:csb-0="00040001" w:csb-1="00000000"/></w:font></w:fonts>')
_W03_STYLES = (
    '<w:styles><w:versionOfBuiltInStylenames w:val="4"/><w:latentStyles w:defLockedState="off" '
    'w:latentStyleCount="156"/><w:style w:type="paragraph" w:default="on" w:styleId="a"><w:name w:val="Normal"/>'
    '<wx:uiName wx:val="正文"/><w:pPr><w:widowControl w:val="off"/><w:jc w:val="both"/></w:pPr><w:rPr>'
    '<wx:font wx:val="Times New Roman"/><w:kern w:val="2"/><w:sz w:val="21"/><w:sz-cs w:val="24"/>'
    '<w:lang w:val="EN-US" w:fareast="ZH-CN" w:bidi="AR-SA"/></w:rPr></w:style>'
    '<w:style w:type="character" w:default="on" w:styleId="a0"><w:name w:val="Default Paragraph Font"/>'
    '<wx:uiName wx:val="默认段落字体"/></w:style>'
    '<w:style w:type="table" w:default="on" w:styleId="a1"><w:name w:val="Normal Table"/>'
    '<wx:uiName wx:val="普通表格"/><w:rPr><wx:font wx:val="Times New Roman"/><w:lang w:val="EN-US" '
    'w:fareast="ZH-CN" w:bidi="AR-SA"/></w:rPr><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
    '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
    '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="a3"><w:name w:val="header"/><wx:uiName wx:val="页眉"/>'
    '<w:basedOn w:val="a"/><w:pPr><w:pStyle w:val="a3"/><w:pBdr><w:bottom w:val="single" w:sz="6" '
    'wx:bdrwidth="15" w:space="1" w:color="auto"/></w:pBdr><w:tabs><w:tab w:val="center" w:pos="4153"/>'
    '<w:tab w:val="right" w:pos="8306"/></w:tabs><w:snapToGrid w:val="off"/><w:jc w:val="center"/></w:pPr>'
    '<w:rPr><w:sz w:val="18"/><w:sz-cs w:val="18"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="a4"><w:name w:val="footer"/><wx:uiName wx:val="页脚"/>'
    '<w:basedOn w:val="a"/><w:pPr><w:pStyle w:val="a4"/><w:tabs><w:tab w:val="center" w:pos="4153"/>'
    '<w:tab w:val="right" w:pos="8306"/></w:tabs><w:snapToGrid w:val="off"/><w:jc w:val="left"/></w:pPr>'
    '<w:rPr><w:sz w:val="18"/><w:sz-cs w:val="18"/></w:rPr></w:style>'
    '<w:style w:type="table" w:styleId="a5"><w:name w:val="Table Grid"/><wx:uiName wx:val="网格型"/>'
    '<w:basedOn w:val="a1"/><w:pPr><w:widowControl w:val="off"/><w:jc w:val="both"/></w:pPr><w:rPr>'
    '<wx:font wx:val="Times New Roman"/></w:rPr><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblBorders>'
    + "".join(f'<w:{s} w:val="single" w:sz="4" wx:bdrwidth="10" w:space="0" w:color="auto"/>'
              for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
    + '</w:tblBorders><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
    '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
    '</w:styles>')
_W03_DOCPR = (
    '<w:docPr><w:view w:val="print"/><w:zoom w:percent="100"/><w:doNotEmbedSystemFonts/>'
    '<w:bordersDontSurroundHeader/><w:bordersDontSurroundFooter/><w:defaultTabStop w:val="420"/>'
    '<w:drawingGridVerticalSpacing w:val="156"/><w:displayHorizontalDrawingGridEvery w:val="0"/>'
    '<w:displayVerticalDrawingGridEvery w:val="2"/><w:punctuationKerning/>'
    '<w:characterSpacingControl w:val="CompressPunctuation"/><w:optimizeForBrowser/>'
    '<w:validateAgainstSchema/><w:saveInvalidXML w:val="off"/><w:ignoreMixedContent w:val="off"/>'
    '<w:alwaysShowPlaceholderText w:val="off"/><w:compat><w:spaceForUL/><w:balanceSingleByteDoubleByteWidth/>'
    '<w:doNotLeaveBackslashAlone/><w:ulTrailSpace/><w:doNotExpandShiftReturn/><w:adjustLineHeightInTable/>'
    '<w:breakWrappedTables/><w:snapToGridInCell/><w:wrapTextWithPunct/><w:useAsianBreakRules/>'
    '<w:dontGrowAutofit/><w:useFELayout/></w:compat></w:docPr>')


def _w03_run(text: str, size: float, bold: bool = False) -> str:
    half = round(size * 2)
    b = "<w:b/><w:b-cs/>" if bold else ""
    fe = any(ord(ch) > 0x2E7F for ch in text)
    font = '<w:rFonts w:hint="fareast"/><wx:font wx:val="宋体"/>' if fe else ""
    parts = text.split("\t")
    body = "<w:tab/>".join(f"<w:t>{escape(p)}</w:t>" for p in parts)
    return f'<w:r><w:rPr>{font}{b}<w:sz w:val="{half}"/><w:sz-cs w:val="{half}"/></w:rPr>{body}</w:r>'


def _w03_ppr(align: str = "left", before: float = 0.0, leading: float | None = None, indent: float = 0.0,
             style: str | None = None, extra: str = "") -> str:
    out = f'<w:pStyle w:val="{style}"/>' if style else ""
    out += extra
    if before or leading:
        attrs = f' w:before="{_twips(before)}"' if before else ""
        if leading:
            attrs += f' w:line="{_twips(leading)}" w:line-rule="at-least"'
        out += f"<w:spacing{attrs}/>"
    if indent:
        out += f'<w:ind w:first-line="{_twips(indent)}"/>'
    out += f'<w:jc w:val="{ {"center": "center", "right": "right"}.get(align, "left") }"/>'
    return f"<w:pPr>{out}</w:pPr>"


def _w03_field(instr: str, result: str, size: float) -> str:
    half = round(size * 2)
    rpr = f'<w:rPr><w:sz w:val="{half}"/><w:sz-cs w:val="{half}"/></w:rPr>'
    return (f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{rpr}<w:instrText> {instr} </w:instrText>'
            f'</w:r><w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{rpr}<w:t>{result}</w:t></w:r>'
            f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>')


def _w03_table(grid: Grid) -> str:
    ncols = len(grid.widths)
    origin: dict[tuple[int, int], tuple[int, int]] = {}      # (r, c) → (colspan, rowspan)
    covered: dict[tuple[int, int], str] = {}                  # "h": left out of the row, "v": vmerge
    vcols: dict[tuple[int, int], int] = {}                    # a vmerge continuation's column span
    for (c0, r0), (c1, r1) in grid.spans:
        origin[(r0, c0)] = (c1 - c0 + 1, r1 - r0 + 1)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    covered[(r, c)] = "v" if c == c0 else "h"
                    if c == c0:
                        vcols[(r, c)] = c1 - c0 + 1
    borders = "" if grid.borders else (
        "<w:tblBorders>" + "".join(f'<w:{s} w:val="nil"/>' for s in ("top", "left", "bottom", "right",
                                                                    "insideH", "insideV")) + "</w:tblBorders>")
    style = '<w:tblStyle w:val="a5"/>' if grid.borders else ""
    # No w:jc in w:tblPr and no exact line heights: LibreOffice 7.4's Word 2003 import lays a centred
    # table out one character wide, and drops paragraphs of exact height (Word shows both fine).
    out = [f'<w:tbl><w:tblPr>{style}<w:tblW w:w="0" w:type="auto"/>{borders}'
           '<w:tblLayout w:type="Fixed"/><w:tblLook w:val="01E0"/></w:tblPr><w:tblGrid>'
           + "".join(f'<w:gridCol w:w="{_twips(w)}"/>' for w in grid.widths) + "</w:tblGrid>"]
    for r in range(len(grid.rows)):
        trpr = "<w:trPr><w:tblHeader/></w:trPr>" if r < grid.header_rows else ""
        out.append(f"<w:tr>{trpr}")
        for c in range(ncols):
            kind = covered.get((r, c))
            if kind == "h":
                continue
            cols, rows = origin.get((r, c), (1, 1))
            if kind == "v":
                cols = vcols[(r, c)]
            w = sum(grid.widths[c:c + cols])
            props = f'<w:tcW w:w="{_twips(w)}" w:type="dxa"/>'
            if cols > 1:
                props += f'<w:gridSpan w:val="{cols}"/>'
            if kind == "v":
                props += "<w:vmerge/>"
            elif rows > 1:
                props += '<w:vmerge w:val="restart"/>'
            if (r, c) in grid.fills:
                props += f'<w:shd w:val="clear" w:color="auto" w:fill="{grid.fills[(r, c)]}"/>'
            props += '<w:vAlign w:val="center"/>'
            align = grid.align.get((r, c)) or ("center" if r < grid.header_rows else "left")
            texts = [""] if kind else grid.rows[r][c].split("\n")
            paras = []
            for text in texts:
                run = _w03_run(text, grid.size) if text else ""
                paras.append(f"<w:p>{_w03_ppr(align)}{run}</w:p>")
            out.append(f"<w:tc><w:tcPr>{props}</w:tcPr>{''.join(paras)}</w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def write_wordml(items: list[Block], story: Story, layout: Layout, meta: Meta, when: dt.datetime) -> bytes:
    """Word 2003 XML (w:wordDocument) as business systems export it: no rendered page breaks (the
    reader sees `explicit_pages(items)` pages), headers and footers inside w:sectPr."""
    width, height = _page_size(layout)
    text_w = width - 2 * layout.margin
    created = (when - dt.timedelta(minutes=41)).strftime("%Y-%m-%dT%H:%M:00Z")
    saved = when.strftime("%Y-%m-%dT%H:%M:00Z")
    out = [_W03_HEAD,
           f"<o:DocumentProperties><o:Title>{escape(meta.title)}</o:Title><o:Author>{escape(meta.author)}"
           f"</o:Author><o:LastAuthor>{escape(meta.author)}</o:LastAuthor><o:Revision>{meta.revision}"
           f"</o:Revision><o:TotalTime>{meta.revision * 6}</o:TotalTime><o:Created>{created}</o:Created>"
           f"<o:LastSaved>{saved}</o:LastSaved><o:Pages>{meta.pages}</o:Pages><o:Company>"
           f"{escape(meta.company)}</o:Company><o:Version>11.5606</o:Version></o:DocumentProperties>",
           _W03_FONTS, _W03_STYLES, _W03_DOCPR, "<w:body><wx:sect>"]
    for b in items:
        if isinstance(b, Break):
            out.append('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')
        elif isinstance(b, Para):
            run = _w03_run(b.text, b.size, bold=b.size >= 15) if b.text else ""
            out.append(f"<w:p>{_w03_ppr(b.align, b.before, b.leading, b.indent)}{run}</w:p>")
        else:
            if b.before:
                out.append(f"<w:p>{_w03_ppr(leading=max(b.before, 1))}</w:p>")
            out.append(_w03_table(b))
            out.append(f"<w:p>{_w03_ppr(leading=6)}</w:p>")
    sect = []
    if layout.header_left or layout.header_right:
        tab = f'<w:tabs><w:tab w:val="clear" w:pos="4153"/><w:tab w:val="right" w:pos="{_twips(text_w)}"/></w:tabs>'
        runs = _w03_run(_conv_text(story, layout.header_left), 8.5) if layout.header_left else ""
        if layout.header_right:
            runs += _w03_run("\t" + _conv_text(story, layout.header_right), 8.5)
        sect.append(f'<w:hdr w:type="odd"><w:p>{_w03_ppr("left", style="a3", extra=tab)}{runs}</w:p></w:hdr>')
    if layout.footer:
        runs = ""
        for kind, text in _footer_parts(layout.footer):
            runs += (_w03_run(_conv_text(story, text), 8.5) if kind == "text"
                     else _w03_field(kind, "1" if kind == "PAGE" else str(meta.pages), 8.5))
        sect.append(f'<w:ftr w:type="odd"><w:p>{_w03_ppr("center", style="a4")}{runs}</w:p></w:ftr>')
    orient = ' w:orient="landscape"' if layout.landscape else ""
    sect.append(f'<w:pgSz w:w="{_twips(width)}" w:h="{_twips(height)}"{orient}/>'
                f'<w:pgMar w:top="{_twips(18 * mm)}" w:right="{_twips(layout.margin)}" '
                f'w:bottom="{_twips(16 * mm)}" w:left="{_twips(layout.margin)}" w:header="{_twips(10 * mm)}" '
                f'w:footer="{_twips(8 * mm)}" w:gutter="0"/>')
    if layout.frame:
        sect.append('<w:pgBorders w:offset-from="page">' + "".join(
            f'<w:{s} w:val="double" w:sz="12" wx:bdrwidth="45" w:space="24" w:color="auto"/>'
            for s in ("top", "left", "bottom", "right")) + "</w:pgBorders>")
    sect.append('<w:cols w:space="425"/><w:docGrid w:type="lines" w:line-pitch="312"/>')
    out.append(f"<w:sectPr>{''.join(sect)}</w:sectPr></wx:sect></w:body></w:wordDocument>")
    return "".join(out).encode("utf-8")


# -- binary Word 97 .doc through LibreOffice ----------------------------------------------------------

def _soffice(exe: str, profile: Path, target: str, outdir: Path, files: list[Path]) -> None:
    """One LibreOffice run converting `files` to `target`, with its own profile, killed (its whole
    process group) when it outlasts SOFFICE_TIMEOUT."""
    cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
           "--nodefault", "--nolockcheck", "--convert-to", target, "--outdir", str(outdir), *map(str, files)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=SOFFICE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"LibreOffice did not convert {len(files)} files to {target} in {SOFFICE_TIMEOUT} s"
                           ) from None
    missing = [f.name for f in files if not (outdir / (f.stem + "." + target)).exists()]
    if proc.returncode or missing:
        raise RuntimeError(f"LibreOffice failed to convert {missing or files} to {target}: "
                           f"{err.decode('utf-8', 'replace')[-400:]}")


def _soffice_exe() -> str:
    exe = shutil.which(SOFFICE)
    if not exe:
        raise RuntimeError("LibreOffice (soffice) not found: install the Debian package libreoffice-writer "
                           "(apt-get install libreoffice-writer)")
    return exe


def _convert(jobs: list[tuple[bytes, Path]], work: Path) -> list[tuple[Path, Path]]:
    """LibreOffice's two runs in `work`: each .docx to a binary .doc, then each .doc to PDF (to
    count the pages it lays the .doc out on, as the reader's conversion will). Returns (doc, pdf)."""
    exe = _soffice_exe()
    (work / "in").mkdir()
    sources = []
    for k, (data, _) in enumerate(jobs):
        sources.append(work / "in" / f"d{k:02d}.docx")
        sources[-1].write_bytes(data)
    _soffice(exe, work / "profile", "doc", work / "doc", sources)
    docs = [work / "doc" / f"d{k:02d}.doc" for k in range(len(jobs))]
    _soffice(exe, work / "profile", "pdf", work / "pdf", docs)
    return [(doc, work / "pdf" / f"{doc.stem}.pdf") for doc in docs]


def convert_to_doc(jobs: list[tuple[bytes, Path]]) -> dict[Path, int]:
    """Write each .docx (bytes) as a binary Word 97 .doc at its path; returns the pages LibreOffice
    lays each .doc out on. (`DocBatch` does the same in the background.)"""
    batch = DocBatch()
    for data, dest in jobs:
        batch.add(data, dest)
    return batch.wait()


class DocBatch:
    """Binary .doc files converted in one LibreOffice run, in a background thread, so that the
    sample goes on being generated meanwhile (LibreOffice takes seconds to start). The thread only
    runs LibreOffice; the PDFs are opened in `wait`, in the caller's thread (PDFium is not
    thread-safe, and the generator renders and scans with it meanwhile)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[bytes, Path]] = []
        self.thread: threading.Thread | None = None
        self.work: Path | None = None
        self.done: list[tuple[Path, Path]] = []
        self.error: BaseException | None = None

    def add(self, docx: bytes, dest: Path) -> None:
        if self.thread:
            raise RuntimeError("the batch is already converting")
        self.jobs.append((docx, dest))

    def start(self) -> None:
        if self.jobs and not self.thread:
            self.work = Path(tempfile.mkdtemp(prefix="corpus-lo-"))
            self.thread = threading.Thread(target=self._run, name="corpus-soffice", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.done = _convert(self.jobs, self.work)            # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 — raised again in wait()
            self.error = exc

    def wait(self) -> dict[Path, int]:
        """Wait for LibreOffice; put each .doc at its path; its pages."""
        import pypdfium2 as pdfium

        self.start()
        if not self.thread:
            return {}
        self.thread.join()
        try:
            if self.error:
                raise self.error
            pages: dict[Path, int] = {}
            for (_, dest), (doc, pdf_path) in zip(self.jobs, self.done):
                pdf = pdfium.PdfDocument(str(pdf_path))
                pages[dest] = len(pdf)
                pdf.close()
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(doc, dest)
            return pages
        finally:
            shutil.rmtree(self.work, ignore_errors=True)       # type: ignore[arg-type]


# -- phone photos -----------------------------------------------------------------------------------

PHONES = (("HUAWEI", "VOG-AL00"), ("Xiaomi", "Redmi K30"), ("OPPO", "PCAM00"), ("vivo", "V1938CT"),
          ("Apple", "iPhone 11"), ("HONOR", "BKL-AL20"))


def _desk(h: int, w: int, rng: random.Random, noise) -> "np.ndarray":  # noqa: F821
    """A darker textured surface: a base colour, slow blotches, grain along one direction, fine noise."""
    import cv2
    import numpy as np

    base = np.array(rng.choice([(96, 70, 48), (118, 92, 66), (72, 74, 80), (44, 52, 72), (58, 44, 36)]),
                    np.float32)
    blotch = cv2.resize(noise.normal(0, 1, (6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(noise.normal(0, 1, (h // 3, 12)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    grain = 10 * blotch + 7 * grain + 3 * noise.standard_normal((h, w), dtype=np.float32)
    return grain[..., None] + base


def photograph(pdf: Path, rng: random.Random, when: dt.datetime) -> tuple[bytes, dict]:
    """A phone photo of the PDF's first page: the sheet lies on a desk, a little turned and seen at a
    slant, lit unevenly and casting a soft shadow; slightly blurred, noisy, JPEG. Sometimes stored
    sideways with an EXIF orientation tag. Returns the JPEG and its entry for truth's `scans`: the
    page's text, and the rotation and skew a reader finds once it has applied the EXIF tag and
    flattened the sheet (both 0), with the photo's own tilt under `photo`."""
    import cv2
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    from .scan import visual_text

    doc = pdfium.PdfDocument(str(pdf))
    try:
        page = doc[0]
        text = visual_text(page)
        dpi = rng.uniform(160, 185)
        sheet = np.asarray(page.render(scale=dpi / 72).to_pil().convert("RGB"))
        page.close()
    finally:
        doc.close()
    noise = np.random.default_rng(rng.randrange(2**32))
    h, w = sheet.shape[:2]
    frame_w, frame_h = round(w * rng.uniform(1.22, 1.34)), round(h * rng.uniform(1.13, 1.2))
    desk = _desk(frame_h, frame_w, rng, noise)
    tilt = rng.uniform(-4.0, 4.0)
    scale = min(frame_w / w, frame_h / h) * rng.uniform(0.8, 0.86)
    hw, hh = w * scale / 2, h * scale / 2
    keystone = rng.uniform(0.0, 0.05)                        # the phone leans back: the far edge is shorter
    corners = np.array([[-hw * (1 - keystone), -hh], [hw * (1 - keystone), -hh], [hw, hh], [-hw, hh]])
    corners += np.array([[rng.uniform(-1, 1) * 0.008 * w * scale, rng.uniform(-1, 1) * 0.008 * h * scale]
                         for _ in range(4)])
    a = np.radians(tilt)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    centre = np.array([frame_w / 2 + rng.uniform(-0.03, 0.03) * frame_w,
                       frame_h / 2 + rng.uniform(-0.025, 0.025) * frame_h])
    dst = (corners @ rot.T + centre).astype(np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(sheet, matrix, (frame_w, frame_h), flags=cv2.INTER_AREA).astype(np.float32)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR)
    offset = np.float32([[1, 0, rng.uniform(4, 14)], [0, 1, rng.uniform(6, 16)]])
    shadow = cv2.GaussianBlur(cv2.warpAffine(mask, offset, (frame_w, frame_h)), (0, 0), frame_w * 0.008)
    desk *= (1 - 0.5 * shadow)[..., None]
    photo = warped - desk
    photo *= mask[..., None]
    photo += desk                                                       # the sheet over the desk
    angle = rng.uniform(0, 2 * np.pi)
    xs = (np.arange(frame_w, dtype=np.float32) / frame_w - 0.5) * np.float32(np.cos(angle))
    ys = (np.arange(frame_h, dtype=np.float32) / frame_h - 0.5) * np.float32(np.sin(angle))
    light = 0.93 - np.float32(rng.uniform(0.12, 0.2)) * (ys[:, None] + xs[None, :])   # brighter towards the lamp
    tint = np.array([1.0, rng.uniform(0.97, 0.99), rng.uniform(0.9, 0.95)], np.float32)
    photo *= light[..., None]
    photo *= tint
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 0.8))
    photo += np.float32(rng.uniform(2.0, 3.5)) * noise.standard_normal(photo.shape, dtype=np.float32)
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    orientation = rng.choice([1, 1, 6, 8])
    if orientation == 6:                     # stored turned left: a viewer turns it right (90° clockwise)
        image = image.transpose(Image.Transpose.ROTATE_90)
    elif orientation == 8:
        image = image.transpose(Image.Transpose.ROTATE_270)
    make, model = rng.choice(PHONES)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    exif[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0112] = orientation
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=rng.randint(80, 90), exif=exif.tobytes())
    entry = {"number": 1, "rotation": 0, "skew": 0.0, "text": text,
             "photo": {"orientation": orientation, "tilt": round(tilt, 2), "dpi": round(dpi)}}
    return buf.getvalue(), entry


# -- a zipped project folder -------------------------------------------------------------------------

def gbk_zip(entries: list[tuple[str, bytes | None, tuple[int, ...]]]) -> bytes:
    """A zip whose member names are GBK bytes without the UTF-8 flag (bit 11), as zip tools on Chinese
    Windows write them: written under ASCII placeholders of the same byte length, whose bytes are then
    replaced in the local headers and the central directory. `entries`: (name, data or None for a
    folder, DOS date_time)."""
    raw_names, holders = [], []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, (name, data, stamp) in enumerate(entries):
            raw = name.encode("gbk")
            folder = data is None
            if len(raw) < 8:
                raise ValueError(f"member name too short for a placeholder: {name!r}")
            holder = (f"{k:06d}" + "_" * len(raw))[: len(raw) - 1] + ("/" if folder else "_")
            zi = zipfile.ZipInfo(holder, date_time=stamp)
            zi.create_system, zi.create_version, zi.extract_version = 0, 20, 20     # MS-DOS, 2.0
            zi.external_attr = 0x10 if folder else 0x20                              # directory / archive
            zi.compress_type = zipfile.ZIP_STORED if folder else zipfile.ZIP_DEFLATED
            zf.writestr(zi, b"" if folder else data)
            raw_names.append(raw)
            holders.append(holder.encode("ascii"))
    data = bytearray(buf.getvalue())
    by_holder = dict(zip(holders, raw_names))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        for info in zf.infolist():
            at = info.header_offset + 30
            n = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
            data[at:at + n] = by_holder[bytes(data[at:at + n])]
    end = data.rfind(b"PK\x05\x06")
    pos = int.from_bytes(data[end + 16:end + 20], "little")
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, m, c = (int.from_bytes(data[pos + k:pos + k + 2], "little") for k in (28, 30, 32))
        data[pos + 46:pos + 46 + n] = by_holder[bytes(data[pos + 46:pos + 46 + n])]
        pos += 46 + n + m + c
    return bytes(data)


def zip_folder(root: Path, folder: str, when: dt.datetime) -> tuple[str, dict[str, str]]:
    """Zip `root/folder` (its name as the members' first folder) into `root/<folder>.zip` and remove
    the folder. Returns the zip's path and {file's old path: its truth key `<zip path>/<member>`}."""
    src = root / folder
    top = PurePosixPath(folder).name
    zip_rel = f"{folder}.zip"
    entries: list[tuple[str, bytes | None, tuple[int, ...]]] = []
    keys: dict[str, str] = {}
    minute = 0

    def stamp() -> tuple[int, ...]:
        t = when + dt.timedelta(minutes=minute)
        return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second // 2 * 2)

    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        sub = Path(dirpath).relative_to(src).as_posix()
        prefix = top if sub == "." else f"{top}/{sub}"
        entries.append((prefix + "/", None, stamp()))
        for name in sorted(filenames):
            minute += 3
            entries.append((f"{prefix}/{name}", (Path(dirpath) / name).read_bytes(), stamp()))
            old = PurePosixPath(folder, sub, name).as_posix() if sub != "." else f"{folder}/{name}"
            keys[old] = f"{zip_rel}/{prefix}/{name}"
    (root / zip_rel).write_bytes(gbk_zip(entries))
    shutil.rmtree(src)
    return zip_rel, keys


# -- which document is filed in which format ---------------------------------------------------------

DOCX_SHARE = 0.16                 # of all documents
WORDML_SHARE = 0.09
FLAT_SHARE = 0.3                  # of the Word XML files: the flat package Word 2007+ saves, not Word 2003 XML
PAIR_TABLES = 0.35                # Word files whose "标签：值" lines become a table


# Photos are of simplified-Chinese forms: the OCR model drops traditional characters it does not
# know (benchmarks/ocr.py), which would measure the model, not the photo.
_PROBE = "认证审核报告书"


def quotas(n_orgs: int, photos: bool = True) -> dict[str, int]:
    """The rare formats, few because each costs seconds at ingest: binary .doc (LibreOffice) and
    photos (OCR); one OFD certificate. A sample of fewer than 4 organisations (quick tests) holds no
    binary .doc, so that it needs no LibreOffice; `photos=False` (nothing scanned) none either."""
    return {"doc": 0 if n_orgs < 4 else min(4, max(1, n_orgs // 8)),
            "image": min(3, max(1, n_orgs // 10)) if photos else 0, "ofd": 1}


@dataclass
class Entry:
    """A document rendered as PDF, waiting for its format."""
    rel: str
    story: Story
    layout: Layout
    truth: dict                     # its truth (the dict in truth.json's documents)
    rendition: Rendition
    scanned: bool
    author: str
    company: str
    date: dt.date


class Converter:
    """Chooses each document's format from the seed and writes it: binary .doc while the sample is
    being generated (LibreOffice converts them in the background), the others at the end."""

    def __init__(self, root: Path, seed: int, n_orgs: int, photos: bool = True):
        self.root, self.seed, self.n_orgs = root, seed, n_orgs
        self.quota = quotas(n_orgs, photos)
        # about 18 documents an organisation: the quota is usually met in the first half of the
        # sample, so that LibreOffice works while the rest is generated
        self.p_doc = min(1.0, 10 * self.quota["doc"] / (18 * max(1, n_orgs)))
        self.entries: list[Entry] = []
        self.chosen: dict[str, str] = {}
        self.batch = DocBatch()
        self.doc_dest: dict[str, Path] = {}

    def _rng(self, rel: str, what: str) -> random.Random:
        return random.Random(f"{self.seed}:{what}:{rel}")

    def _when(self, e: Entry) -> dt.datetime:
        r = self._rng(e.rel, "saved")
        return dt.datetime.combine(e.date, dt.time(r.randint(8, 17), r.randint(0, 59), r.randint(0, 59)))

    def _meta(self, e: Entry, pages: int) -> Meta:
        title = e.truth.get("title") or ""
        return Meta(title, e.author, e.company, self._when(e), pages, self._rng(e.rel, "revision").randint(1, 6))

    def add(self, e: Entry) -> None:
        """A rendered document; a few short ones become binary .doc at once."""
        self.entries.append(e)
        if (not e.scanned and len(self.batch.jobs) < self.quota["doc"] and e.rendition.pages <= 3
                and self._rng(e.rel, "doc").random() < self.p_doc):
            self._binary_doc(e)

    def _binary_doc(self, e: Entry) -> None:
        self.chosen[e.rel] = "doc"
        self.doc_dest[e.rel] = self.root / _renamed(e.rel, "doc")
        self.batch.add(self._docx(e, pairs=False), self.doc_dest[e.rel])
        if len(self.batch.jobs) >= self.quota["doc"]:
            self.batch.start()

    def _items(self, e: Entry, pairs: bool = True) -> list[Block]:
        items = blocks(e.story, e.rendition)
        r = self._rng(e.rel, "pairs")
        if pairs and r.random() < PAIR_TABLES:
            items = pair_tables(items, r, e.story.width)
        return items

    def _docx(self, e: Entry, pairs: bool = True) -> bytes:
        return write_docx(self._items(e, pairs), e.story, e.layout, self._meta(e, e.rendition.pages), self._when(e))

    def choose(self) -> dict[str, str]:
        """rel → format for every document not left a PDF."""
        ranked = sorted((e for e in self.entries if not e.scanned),
                        key=lambda e: self._rng(e.rel, "rank").random())
        free = [e for e in ranked if e.rel not in self.chosen]
        for e in [e for e in free if e.rendition.pages <= 3][: self.quota["doc"] - len(self.batch.jobs)]:
            self._binary_doc(e)
        self.batch.start()
        certs = [e for e in ranked if e.rel not in self.chosen and e.truth["doc_type"] == "certificate"]
        certs.sort(key=lambda e: len(e.truth["cert_nos"]) > 1)         # one certificate printed, if any
        for e in certs[: self.quota["ofd"]]:
            self.chosen[e.rel] = "ofd"
        photos = [e for e in ranked if e.rel not in self.chosen and e.rendition.pages == 1
                  and e.truth["doc_type"] != "certificate" and e.story.conv(_PROBE) == _PROBE]
        for e in photos[: self.quota["image"]]:
            self.chosen[e.rel] = "image"
        rest = [e for e in ranked if e.rel not in self.chosen]
        n_docx = -(-len(self.entries) * DOCX_SHARE // 1)
        n_xml = -(-len(self.entries) * WORDML_SHARE // 1)
        for k, e in enumerate(rest[: int(n_docx + n_xml)]):
            self.chosen[e.rel] = "docx" if k < n_docx else "wordml"
        return dict(self.chosen)

    def write(self, documents: dict[str, dict], scans: dict[str, list[dict]]) -> dict[str, str]:
        """Write every chosen format in place of its PDF; the truth (documents, scans) follows.
        Returns {old path: new path}."""
        from .ofd import write_ofd

        self.choose()
        renames: dict[str, str] = {}
        for e in self.entries:
            fmt = self.chosen.get(e.rel)
            if fmt is None:
                continue
            new = _renamed(e.rel, fmt)
            pdf = self.root / e.rel
            truth = documents[e.rel]
            pages = e.rendition.pages
            if fmt == "docx":
                (self.root / new).write_bytes(self._docx(e))
            elif fmt == "wordml":
                if self._rng(e.rel, "flat").random() < FLAT_SHARE:
                    (self.root / new).write_bytes(flat_package(self._docx(e)))
                else:
                    items = self._items(e)
                    pages = explicit_pages(items)
                    (self.root / new).write_bytes(write_wordml(items, e.story, e.layout, self._meta(e, pages),
                                                               self._when(e)))
            elif fmt == "image":
                data, entry = photograph(pdf, self._rng(e.rel, "photo"), self._when(e))
                (self.root / new).write_bytes(data)
                scans[new] = [entry]
                truth["ocr_pages"] = 1
            elif fmt == "ofd":
                (self.root / new).write_bytes(write_ofd(pdf, e.truth, self._meta(e, pages), e.layout.frame))
            truth["pages"] = pages
            truth["format"] = fmt
            renames[e.rel] = new
        done = self.batch.wait()
        for rel, dest in self.doc_dest.items():
            documents[rel]["pages"] = done[dest]
            documents[rel]["format"] = "doc"
        for old, new in renames.items():
            (self.root / old).unlink()
            documents[new] = documents.pop(old)
        return renames


def _renamed(rel: str, fmt: str) -> str:
    return rel.rsplit(".", 1)[0] + EXTENSIONS[fmt]
