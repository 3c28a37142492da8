"""Word documents → pages of normalised text and tables, without LibreOffice.

Three containers hold WordprocessingML: a .docx (zip of XML parts), the "Word XML document"
(pkg:package: the same parts in one XML file, which Word 2007+ saves and business systems export
under a .doc name) and Word 2003 XML (w:wordDocument: its own namespace, w:vmerge/w:hmerge,
headers inside w:sectPr, pictures as base64 w:binData). One walker reads all three: it dispatches
on local names, so the namespaces share it.

Text reads like the document: paragraphs in order, a table row's cells on one line (a merged
cell's text once, the table's rows keeping their columns, as `archive.tables` gives a PDF's), text
boxes after the paragraph that anchors them (the mc:Choice copy, never also the mc:Fallback one),
headers and footers once on the first page, footnotes where they are referenced. Pages end where
Word marked them: w:lastRenderedPageBreak (where Word last laid out a new page), page breaks,
w:pageBreakBefore and section breaks that start a new page; a break that would leave a page empty
is the same break written twice and is not counted.

The input is hostile: no DTD (a "billion laughs" is refused at once), no network, no entity
expansion, parts' declared sizes checked before inflating and what is inflated capped, base64
pictures cut out before parsing.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from typing import Callable, Iterable

from lxml import etree

from ..messages import message
from ..text import normalise
from .base import MIN_TEXT_CHARS, Page, ReadError, Table

# Inflated XML read from one document, all parts together. lxml's tree takes ~9× the XML and the
# walk ~0.4 s a MB: 64 MB is a document of thousands of pages and stays within a worker's 3 GB
# and 120 s (archive.limits). Word 2003 XML is measured without its base64 pictures, which are
# cut out first; the file itself may hold up to MAX_WORDML_FILE bytes of them.
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_WORDML_FILE = 512 * 1024 * 1024
MAX_SPAN = 64                         # a cell spans at most this many grid columns

W06 = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W03 = "http://schemas.microsoft.com/office/word/2003/wordml"
WSTRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
_W = frozenset((W06, W03, WSTRICT))
WX = "http://schemas.microsoft.com/office/word/2003/auxHint"
AML = "http://schemas.microsoft.com/aml/2001/core"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"
PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
R_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Property elements and others whose content is not document text.
_SKIP = frozenset((
    "pPr", "rPr", "tblPr", "tblGrid", "trPr", "tcPr", "tblPrEx", "sdtPr", "sdtEndPr", "sectPr",
    "delText", "instrText", "delInstrText", "fldData", "moveFrom", "del", "commentReference",
    "annotationRef", "bookmarkStart", "bookmarkEnd", "proofErr", "permStart", "permEnd",
    "commentRangeStart", "commentRangeEnd", "rubyPr", "rt", "footnoteRef", "endnoteRef",
    "separator", "continuationSeparator", "lastRenderedPageBreak", "binData", "control"))
_SYMBOL_FONTS = ("symbol", "wingdings", "webdings")
# Wingdings 2 draws other shapes at the codes `archive.text` reads as Wingdings; forms use its boxes.
_WINGDINGS2 = {0x4F: "✗", 0x50: "✓", 0x52: "☑", 0x53: "☒", 0x54: "☒", 0xA3: "□"}
_TRUE = ("", "1", "true", "on")


_SPLIT: dict[str, tuple[str, str]] = {}


def _split(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an element's tag; ("", "") for comments and entities."""
    if not isinstance(tag, str):
        return "", ""
    found = _SPLIT.get(tag)
    if found is None:
        ns, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
        found = (ns, local)
        if len(_SPLIT) < 10_000:              # hostile files may invent any number of names
            _SPLIT[tag] = found
    return found


def _attr(el: etree._Element, name: str) -> str | None:
    """A w:-namespaced attribute in whichever WordprocessingML namespace the element uses."""
    ns = _split(el.tag)[0]
    value = el.get(f"{{{ns}}}{name}")
    if value is None:
        for other in (W06, W03, WSTRICT, WX):
            value = el.get(f"{{{other}}}{name}")
            if value is not None:
                break
    return value


_TAGS: dict[str, frozenset[str]] = {}


def _child(el: etree._Element | None, local: str) -> etree._Element | None:
    """The first child w:`local` (in any WordprocessingML namespace)."""
    if el is None:
        return None
    tags = _TAGS.get(local)
    if tags is None:
        tags = _TAGS[local] = frozenset(f"{{{ns}}}{local}" for ns in _W)
    for c in el:
        if c.tag in tags:
            return c
    return None


def _props(el: etree._Element | None) -> dict[str, etree._Element]:
    """The w: children of a property element (w:tcPr …) by local name, in one pass."""
    out: dict[str, etree._Element] = {}
    if el is not None:
        for c in el:
            ns, name = _split(c.tag)
            if ns in _W:
                out.setdefault(name, c)
    return out


def _val(el: etree._Element | None) -> str | None:
    return None if el is None else _attr(el, "val")


def _on(el: etree._Element | None) -> bool:
    """A toggle property (w:vanish, w:pageBreakBefore …) that is present and not switched off."""
    return el is not None and (_attr(el, "val") or "").lower() in _TRUE


def _int(value: str | None, default: int, low: int = 0, high: int = 1 << 30) -> int:
    if not value:
        return default
    try:
        return min(max(int(value), low), high)
    except ValueError:
        return default


def _join_cell(lines: list[str]) -> str:
    """A cell's paragraphs as one string: kept apart by a blank, as lines of one cell."""
    parts = (" ".join(line.split()) for text in lines for line in text.split("\n"))
    return " ".join(p for p in parts if p)


# -- where content goes ------------------------------------------------------------------------

class _Sink:
    """Content of a cell, text box, header or note: lines, tables, pictures. A page break inside
    is only noted (a table row that holds one starts the next page)."""

    splits = False

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tables: list[Table] = []
        self.notes: list[str] = []
        self.images = False
        self.broke = False

    def line(self, text: str) -> None:
        self.lines.append(text)

    def page_break(self) -> None:
        self.broke = True

    def take(self, other: _Sink) -> None:
        """What a nested sink found besides its lines."""
        self.tables += other.tables
        self.notes += other.notes
        self.images |= other.images
        self.broke |= other.broke


class _Pages(_Sink):
    """The document body: content goes to the current page; a break starts the next one."""

    splits = True

    def __init__(self) -> None:
        super().__init__()
        self.done: list[_Sink] = []

    def has_content(self) -> bool:
        return bool(self.images or self.tables or any(line.strip() for line in self.lines))

    def page_break(self) -> None:
        if self.has_content():            # else: the same break written twice (br + lastRendered)
            page = _Sink()
            page.lines, page.tables, page.notes, page.images = self.lines, self.tables, self.notes, self.images
            self.done.append(page)
            self.lines, self.tables, self.notes, self.images = [], [], [], False

    def finish(self) -> list[_Sink]:
        last = _Sink()
        last.lines, last.tables, last.notes, last.images = self.lines, self.tables, self.notes, self.images
        pages = self.done + [last]
        while len(pages) > 1 and not (pages[-1].images or any(x.strip() for x in pages[-1].lines + pages[-1].notes)):
            pages.pop()                  # a break at the very end: no page follows it
        return pages


# -- list numbers (docx): "1）", "一、", "①" that Word draws and does not store ---------------------

_CHINESE = "零一二三四五六七八九"


def _chinese(n: int) -> str:
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = ("" if tens == 1 else _CHINESE[tens]) + "十" if tens else ""
    return head + (_CHINESE[ones] if ones else "")


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = ""
    for value, digits in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out += digits * count
    return out


def _letter(n: int) -> str:
    """A, B … Z, AA, BB … as Word counts in letters."""
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1) if 0 < n <= 780 else str(n)


_FORMATS: dict[str, Callable[[int], str]] = {
    "decimal": str, "decimalFullWidth": str, "decimalHalfWidth": str, "arabicAbjad": str,
    "decimalZero": lambda n: f"{n:02d}", "upperRoman": _roman, "lowerRoman": lambda n: _roman(n).lower(),
    "upperLetter": _letter, "lowerLetter": lambda n: _letter(n).lower(),
    "chineseCounting": _chinese, "chineseCountingThousand": _chinese, "ideographDigital": _chinese,
    "taiwaneseCounting": _chinese, "taiwaneseCountingThousand": _chinese, "chineseLegalSimplified": _chinese,
    "decimalEnclosedCircle": lambda n: chr(0x2460 + n - 1) if 0 < n <= 20 else f"({n})",
    "decimalEnclosedCircleChinese": lambda n: chr(0x2460 + n - 1) if 0 < n <= 20 else f"({n})",
    "decimalEnclosedParen": lambda n: f"({n})", "decimalEnclosedFullstop": lambda n: f"{n}.",
    "ideographTraditional": lambda n: "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10],
    "ideographZodiac": lambda n: "子丑寅卯辰巳午未申酉戌亥"[(n - 1) % 12],
}
_LEVEL_REF = re.compile(r"%([1-9])")


class _Numbering:
    """Counters of the lists in numbering.xml, advanced paragraph by paragraph (direct w:numPr
    only: numbering that comes from a paragraph style is not drawn)."""

    def __init__(self, root: etree._Element | None):
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}
        self.counters: dict[str, list[int | None]] = {}
        self.started: set[tuple[str, int]] = set()
        if root is None:
            return
        for el in root:
            ns, name = _split(el.tag)
            if ns not in _W:
                continue
            if name == "abstractNum":
                levels = {}
                for lvl in el:
                    if _split(lvl.tag)[1] != "lvl":
                        continue
                    props = _props(lvl)
                    start = _int(_val(props.get("start")), 1, 0, 1 << 20)
                    fmt, text = _val(props.get("numFmt")), _val(props.get("lvlText"))
                    levels[_int(_attr(lvl, "ilvl"), 0, 0, 8)] = (start, fmt or "decimal", text or "")
                self.levels[_attr(el, "abstractNumId") or ""] = levels
            elif name == "num":
                abstract = _child(el, "abstractNumId")
                overrides = {}
                for over in el:
                    start = _child(over, "startOverride") if _split(over.tag)[1] == "lvlOverride" else None
                    if start is not None:
                        overrides[_int(_attr(over, "ilvl"), 0, 0, 8)] = _int(_attr(start, "val"), 1, 0, 1 << 20)
                if abstract is not None:
                    self.nums[_attr(el, "numId") or ""] = (_attr(abstract, "val") or "", overrides)

    def label(self, num_id: str, level: int) -> str:
        """The number Word draws before this paragraph ("" when none)."""
        if num_id not in self.nums:
            return ""
        abstract, overrides = self.nums[num_id]
        levels = self.levels.get(abstract, {})
        if level not in levels:
            return ""
        counters = self.counters.setdefault(abstract, [None] * 9)
        if (num_id, level) not in self.started:
            self.started.add((num_id, level))
            if level in overrides:
                counters[level] = overrides[level] - 1
        start, fmt, text = levels[level]
        counters[level] = start if counters[level] is None else counters[level] + 1  # type: ignore[operator]
        for deeper in range(level + 1, 9):
            counters[deeper] = None
        if fmt == "none":
            return ""
        if fmt == "bullet":
            return text

        def number(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            k_start, k_fmt, _ = levels.get(k, (1, "decimal", ""))
            value = counters[k] if counters[k] is not None else k_start
            return _FORMATS.get(k_fmt, str)(value)  # type: ignore[arg-type]

        return _LEVEL_REF.sub(number, text)


# -- the walker --------------------------------------------------------------------------------

class _Walker:
    """Reads WordprocessingML blocks (paragraphs, tables) into a sink."""

    def __init__(self, numbering: _Numbering | None = None, notes: dict[str, list[str]] | None = None,
                 styles: etree._Element | None = None):
        self.numbering = numbering
        self.notes = notes or {}
        self.breaking: set[etree._Element] = set()     # section ends followed by a section on a new page
        self.break_styles, self.default_style = _break_styles(styles)

    # blocks
    def blocks(self, parent: etree._Element, out: _Sink) -> None:
        for el in parent:
            ns, name = _split(el.tag)
            if ns in _W:
                if name == "p":
                    self.paragraph(el, out)
                elif name == "tbl":
                    self.table(el, out)
                elif name == "sectPr":
                    if el in self.breaking:
                        out.page_break()
                elif name not in _SKIP:
                    self.blocks(el, out)          # sdt, sdtContent, customXml, ins, smartTag …
            elif ns == MC:
                self.alternate(el, lambda chosen: self.blocks(chosen, out))
            elif ns == AML and _is_comment(el):
                continue
            elif name:
                self.blocks(el, out)              # wx:sect, wx:sub-section, aml:content, custom XML

    def alternate(self, el: etree._Element, use: Callable[[etree._Element], None]) -> None:
        """mc:AlternateContent: the first mc:Choice only (its mc:Fallback is a copy of it)."""
        if _split(el.tag)[1] != "AlternateContent":
            return
        for option in el:
            ns, name = _split(option.tag)
            if ns == MC and name in ("Choice", "Fallback"):
                use(option)
                return

    # paragraphs
    def paragraph(self, p: etree._Element, out: _Sink) -> None:
        ppr = _props(_child(p, "pPr"))
        explicit = ppr.get("pageBreakBefore")
        if explicit is not None:
            if _on(explicit):
                out.page_break()
        elif self.break_styles:
            style = ppr.get("pStyle")
            if (_val(style) if style is not None else self.default_style) in self.break_styles:
                out.page_break()
        label = self.list_label(ppr)
        buf: list[str] = []
        extra: list[str] = []

        def page_break() -> None:
            if out.splits:
                out.line("".join(buf))
                buf.clear()
            out.page_break()

        self.inline(p, buf, extra, out, page_break)
        text = "".join(buf)
        out.line(f"{label} {text}" if label and text.strip() else text)
        for line in extra:
            out.line(line)
        section = ppr.get("sectPr")
        if section is not None and section in self.breaking:
            out.page_break()

    def list_label(self, ppr: dict[str, etree._Element]) -> str:
        num = ppr.get("numPr")
        if num is not None and self.numbering is not None:
            num_id = _val(_child(num, "numId"))
            if num_id is not None:
                return self.numbering.label(num_id, _int(_val(_child(num, "ilvl")), 0, 0, 8))
        listpr = ppr.get("listPr")          # Word 2003 XML writes the number it drew
        if listpr is not None:
            for el in listpr:
                ns, name = _split(el.tag)
                if ns == WX and name == "t":
                    return _attr(el, "val") or ""
        return ""

    def inline(self, parent: etree._Element, buf: list[str], extra: list[str], out: _Sink,
               page_break: Callable[[], None]) -> None:
        for el in parent:
            ns, name = _split(el.tag)
            if ns in _W:
                if name == "t":
                    buf.append(el.text or "")
                elif name == "r":
                    rpr = _child(el, "rPr")
                    if _on(_child(rpr, "vanish")):
                        continue
                    font = _symbol_font(rpr)
                    start = len(buf)
                    self.inline(el, buf, extra, out, page_break)
                    if font:             # "R" typed in Wingdings 2 is a ticked box
                        buf[start:] = ["".join(_symbol_char(ord(c), font) for c in "".join(buf[start:]))]
                elif name in ("tab", "ptab"):
                    buf.append("\t")
                elif name in ("br", "cr"):
                    if (_attr(el, "type") or "") == "page":
                        page_break()
                    else:
                        buf.append("\n")
                elif name == "lastRenderedPageBreak":
                    page_break()
                elif name == "noBreakHyphen":
                    buf.append("-")
                elif name == "sym":
                    buf.append(_symbol(el))
                elif name == "fldChar":
                    buf.append(_checkbox(el))
                elif name in ("footnoteReference", "endnoteReference"):
                    out.notes += self.notes.get(f"{name[:-9]}:{_attr(el, 'id')}", [])
                elif name in ("footnote", "endnote"):      # Word 2003 XML: the note itself, inline
                    note = _Sink()
                    self.blocks(el, note)
                    out.notes += [line for line in note.lines if line.strip()]
                elif name in ("drawing", "pict", "object"):
                    self.graphic(el, extra, out)
                elif name == "binData":
                    out.images = True
                elif name == "ruby":
                    base = _child(el, "rubyBase")
                    if base is not None:
                        self.inline(base, buf, extra, out, page_break)
                elif name not in _SKIP:
                    self.inline(el, buf, extra, out, page_break)     # hyperlink, smartTag, ins, sdt …
            elif ns == MC:
                self.alternate(el, lambda chosen: self.inline(chosen, buf, extra, out, page_break))
            elif ns == MATH and name == "t":
                buf.append(el.text or "")
            elif ns == AML and _is_comment(el):
                continue
            elif name:
                self.inline(el, buf, extra, out, page_break)    # aml:content, st1:chsdate, wx:…

    def graphic(self, el: etree._Element, extra: list[str], out: _Sink) -> None:
        """A drawing, VML picture or embedded object: note pictures, read text boxes."""
        for child in el:
            ns, name = _split(child.tag)
            if not name:
                continue
            if ns == MC:
                self.alternate(child, lambda chosen: self.graphic(chosen, extra, out))
            elif name == "txbxContent":
                box = _Sink()
                self.blocks(child, box)
                extra += box.lines
                box.broke = False            # a text box floats: its breaks are not the page's
                out.take(box)
            elif name in ("blip", "imagedata", "binData") or (name == "pic" and "picture" in ns):
                out.images = True
                self.graphic(child, extra, out)
            else:
                self.graphic(child, extra, out)

    # tables
    def table(self, tbl: etree._Element, out: _Sink) -> None:
        slot = len(out.tables)
        rows: list[list[str]] = []
        for tr in _rows(tbl):
            trpr = _props(_child(tr, "trPr"))
            cells = [""] * _int(_val(trpr.get("gridBefore")), 0, 0, MAX_SPAN)
            found = _Sink()
            for tc in _cells(tr):
                # A merged cell's text is in its first cell; the cells it covers are empty
                # (w:vMerge / w:hMerge "continue", Word 2003 w:vmerge / w:hmerge) and stay "".
                span = _int(_val(_child(_child(tc, "tcPr"), "gridSpan")), 1, 1, MAX_SPAN)
                cell = _Sink()
                self.blocks(tc, cell)
                found.take(cell)
                cells += [_join_cell(cell.lines)] + [""] * (span - 1)
            if found.broke and out.splits:             # the row starts the next page
                if rows and (table := _finish_table(rows)):
                    out.tables.insert(slot, table)
                rows = []
                out.page_break()
                slot = len(out.tables)
                found.broke = False
            out.line("  ".join(c for c in cells if c))
            out.take(found)
            rows.append(cells)
        if rows:
            table = _finish_table(rows)
            if table:
                out.tables.insert(slot, table)


def _break_styles(styles: etree._Element | None) -> tuple[set[str], str | None]:
    """Paragraph styles that start a new page (w:pageBreakBefore, also through w:basedOn), and
    the default paragraph style's id."""
    if styles is None:
        return set(), None
    own: dict[str, bool | None] = {}
    based: dict[str, str] = {}
    default = None
    for style in styles:
        ns, name = _split(style.tag)
        if ns not in _W or name != "style" or (_attr(style, "type") or "paragraph") != "paragraph":
            continue
        sid = _attr(style, "styleId") or ""
        if (_attr(style, "default") or "").lower() in ("1", "true", "on"):
            default = sid
        flag = _child(_child(style, "pPr"), "pageBreakBefore")
        own[sid] = None if flag is None else _on(flag)
        parent = _child(style, "basedOn")
        if parent is not None:
            based[sid] = _attr(parent, "val") or ""
    out = set()
    for sid in own:
        current: str | None = sid
        for _ in range(20):                   # basedOn chains are short; a cycle ends here
            if current is None or current not in own:
                break
            if own[current] is not None:
                if own[current]:
                    out.add(sid)
                break
            current = based.get(current)
    return out, default


def _rows(tbl: etree._Element) -> Iterable[etree._Element]:
    """w:tr elements of a table, also those wrapped in content controls or custom XML."""
    for el in tbl:
        ns, name = _split(el.tag)
        if name == "tr":
            yield el
        elif name and name not in _SKIP and name not in ("tbl", "p"):
            yield from _rows(el)


def _cells(tr: etree._Element) -> Iterable[etree._Element]:
    for el in tr:
        ns, name = _split(el.tag)
        if name == "tc":
            yield el
        elif name and name not in _SKIP and name not in ("tbl", "p", "tr"):
            yield from _cells(el)


def _finish_table(rows: list[list[str]]) -> Table:
    """Rows of normalised cells, all as wide as the widest; rows with no text dropped (as the PDF
    table reader does)."""
    width = max(len(r) for r in rows)
    filled = [c for row in rows for c in row if c]
    done = normalise("\n".join(filled)).split("\n") if filled else []
    if len(done) != len(filled):                 # a cell that normalises to nothing: one by one
        done = [normalise(c) for c in filled]
    it = iter(done)
    out = []
    for row in rows:
        cells = [next(it) if c else "" for c in row] + [""] * (width - len(row))
        if any(cells):
            out.append(cells)
    return out


def _is_comment(el: etree._Element) -> bool:
    """Word 2003 XML: an aml:annotation that is a comment, not part of the text."""
    return _split(el.tag)[1] == "annotation" and "Comment" in (_attr(el, "type") or "")


def _symbol(el: etree._Element) -> str:
    """w:sym: a character of a symbol font (☑, □ …)."""
    try:
        code = int(_attr(el, "char") or "", 16)
    except ValueError:
        return ""
    return _symbol_char(code, (_attr(el, "font") or "").lower())


def _symbol_char(code: int, font: str) -> str:
    """A character drawn in a symbol font: Wingdings 2's boxes as those boxes, other symbol fonts'
    as U+F0xx, which `archive.text` turns into what Wingdings draws; other characters as they are."""
    low = code - 0xF000 if 0xF000 <= code < 0xF100 else code
    if font.startswith("wingdings 2") and low in _WINGDINGS2:
        return _WINGDINGS2[low]
    if 0x20 <= low < 0x100 and font.startswith(_SYMBOL_FONTS):
        return chr(0xF000 + low)
    return chr(code) if 0 < code < 0x110000 else ""


def _symbol_font(rpr: etree._Element | None) -> str:
    """The symbol font (lower case) a run's Latin characters are drawn in, "" for a text font."""
    fonts = _child(rpr, "rFonts")
    if fonts is None:
        return ""
    name = (_attr(fonts, "ascii") or _attr(fonts, "hAnsi") or "").lower()
    return name if name.startswith(_SYMBOL_FONTS) else ""


def _checkbox(el: etree._Element) -> str:
    """A legacy check-box form field draws ☑/☐ from its w:ffData, with no text in the runs."""
    if (_attr(el, "fldCharType") or "") != "begin":
        return ""
    box = _child(_child(el, "ffData"), "checkBox")
    if box is None:
        return ""
    state = _child(box, "checked")
    if state is None:
        state = _child(box, "default")
    checked = state is not None and (_attr(state, "val") or "1").lower() in _TRUE
    return "☑" if checked else "☐"


# -- pages ------------------------------------------------------------------------------------

def _breaking_sections(body: etree._Element) -> list[etree._Element]:
    """The section ends after which the next section starts on a new page (a section's w:type
    says how it starts; the default is a new page)."""
    sections = [el for el in body.iter(*(f"{{{ns}}}sectPr" for ns in _W))
                if _split(el.getparent().tag)[1] != "sectPrChange"]
    out = []
    for current, following in zip(sections, sections[1:]):
        kind = _child(following, "type")
        value = (_attr(kind, "val") or "") if kind is not None else ""
        if value.lower().replace("-", "") not in ("continuous", "nextcolumn"):
            out.append(current)
    return out


def _make_pages(pages: list[_Sink], header: _Sink, footer: _Sink) -> list[Page]:
    out = []
    for i, page in enumerate(pages):
        lines = page.lines + page.notes
        tables = page.tables
        if i == 0:
            lines = header.lines + lines + footer.lines
            tables = header.tables + tables + footer.tables
        text = normalise("\n".join(lines))
        out.append(Page(i + 1, text, _has_text(text), page.images, tables))
    return out


def _has_text(text: str) -> bool:
    """archive.pdf's rule: at least MIN_TEXT_CHARS visible characters (counted only that far)."""
    count = 0
    for ch in text:
        if not ch.isspace():
            count += 1
            if count >= MIN_TEXT_CHARS:
                return True
    return False


def _add_once(target: _Sink, part: _Sink, seen: set[str]) -> None:
    """Headers and footers once: the same text in several sections (or first/odd/even) once."""
    key = "\n".join(line.strip() for line in part.lines if line.strip())
    if key and key not in seen:
        seen.add(key)
        target.lines += part.lines
        target.tables += part.tables


def _read_body(document: etree._Element, walker_for: Callable[[etree._Element], _Walker],
               header: _Sink, footer: _Sink) -> list[Page]:
    """The body's pages; `walker_for(body)` reads the headers and footers and gives the walker."""
    body = _child(document, "body")
    if body is None:
        return _make_pages([_Sink()], header, footer)
    walker = walker_for(body)
    pages = _Pages()
    walker.blocks(body, pages)
    return _make_pages(pages.finish(), header, footer)


def _guarded(read: Callable[[], list[Page]]) -> list[Page]:
    """libxml2 caps nesting at 256 levels, so recursion stays shallow; should Python's limit still
    be reached (a caller deep in its own stack), the file is refused, not the caller crashed."""
    try:
        return read()
    except RecursionError as exc:
        raise ReadError("damaged", message("word.damaged", detail="nested too deeply")) from exc


# -- parsing XML safely -------------------------------------------------------------------------

def _parser() -> etree.XMLParser:
    """No DTD loaded, no entity expanded, nothing fetched, libxml2's size and depth limits on."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def _parse(data: bytes, part: str) -> etree._Element:
    try:
        tree = etree.parse(io.BytesIO(data), _parser())
    except (etree.LxmlError, ValueError) as exc:
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
            raise ReadError("damaged", message("word.dtd")) from exc
        raise ReadError("damaged", message("word.bad_xml", part=part, detail=str(exc)[:200])) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ReadError("damaged", message("word.dtd"))
    return tree.getroot()


# -- docx and the flat package: parts, relationships ---------------------------------------------

class _Package:
    """Parts of an OOXML package by name ("word/document.xml")."""

    def xml(self, name: str) -> etree._Element | None:
        raise NotImplementedError

    def rels(self, name: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, target part name) of part `name` ("" for the package)."""
        folder, base = posixpath.split(name)
        root = self.xml(posixpath.join(folder, "_rels", base + ".rels"))
        out: dict[str, tuple[str, str]] = {}
        if root is None:
            return out
        for rel in root:
            if _split(rel.tag) != (RELS, "Relationship") or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target") or ""
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(folder, target))
            out[rel.get("Id") or ""] = (rel.get("Type") or "", target)
        return out


class _ZipPackage(_Package):
    """A .docx: parts inflated on demand, their declared sizes checked first, all of them together
    capped at MAX_XML_BYTES (zipfile never returns more than a member's declared size)."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.infos = {}
        for info in zf.infolist():
            self.infos.setdefault(info.filename.replace("\\", "/").lstrip("/").lower(), info)
        self.budget = MAX_XML_BYTES
        self.parsed: dict[str, etree._Element | None] = {}

    def xml(self, name: str) -> etree._Element | None:
        key = name.lower()
        if key not in self.parsed:
            self.parsed[key] = self._read(key)
        return self.parsed[key]

    def _read(self, name: str) -> etree._Element | None:
        info = self.infos.get(name)
        if info is None or info.is_dir():
            return None
        if info.file_size > self.budget:
            raise ReadError("too_large", message("word.too_large", limit=MAX_XML_BYTES >> 20, part=name))
        try:
            with self.zf.open(info) as f:
                data = f.read(self.budget + 1)
        except RuntimeError as exc:          # zip-level password
            raise ReadError("encrypted", message("word.encrypted")) from exc
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError) as exc:
            raise ReadError("damaged", message("word.damaged", detail=f"{name}: {exc}"[:200])) from exc
        if len(data) > self.budget:
            raise ReadError("too_large", message("word.too_large", limit=MAX_XML_BYTES >> 20, part=name))
        self.budget -= len(data)
        return _parse(data, name)


class _FlatPackage(_Package):
    """The "Word XML document" (pkg:package): every part in one file, XML parts inline."""

    def __init__(self, root: etree._Element):
        self.parts: dict[str, etree._Element] = {}
        for part in root:
            if _split(part.tag) != (PKG, "part"):
                continue
            name = (part.get(f"{{{PKG}}}name") or "").lstrip("/").lower()
            for data in part:
                if _split(data.tag) == (PKG, "xmlData") and len(data):
                    self.parts.setdefault(name, data[0])

    def xml(self, name: str) -> etree._Element | None:
        return self.parts.get(name.lower())


def _rel_target(rels: dict[str, tuple[str, str]], kind: str) -> str | None:
    for rel_type, target in rels.values():
        if rel_type.rsplit("/", 1)[-1] == kind:
            return target
    return None


def _note_texts(pkg: _Package, target: str | None, kind: str) -> dict[str, list[str]]:
    """Footnotes or endnotes by "footnote:<id>"; separators left out."""
    root = pkg.xml(target) if target else None
    out: dict[str, list[str]] = {}
    if root is None:
        return out
    walker = _Walker()
    for note in root:
        ns, name = _split(note.tag)
        if ns not in _W or name != kind or (_attr(note, "type") or "normal") != "normal":
            continue
        sink = _Sink()
        walker.blocks(note, sink)
        lines = [line for line in sink.lines if line.strip()]
        if lines:
            out[f"{kind}:{_attr(note, 'id')}"] = lines
    return out


def _read_package(pkg: _Package) -> list[Page]:
    main = next((target for rel_type, target in pkg.rels("").values()
                 if rel_type.endswith("/officeDocument")), "word/document.xml")
    document = pkg.xml(main)
    if document is None:
        raise ReadError("damaged", message("word.no_document", part=main))
    ns, name = _split(document.tag)
    if ns not in _W or name != "document":
        raise ReadError("damaged", message("word.not_word", root=name or "?"))
    rels = pkg.rels(main)
    numbering = pkg.xml(_rel_target(rels, "numbering") or "")
    notes = {**_note_texts(pkg, _rel_target(rels, "footnotes"), "footnote"),
             **_note_texts(pkg, _rel_target(rels, "endnotes"), "endnote")}
    walker = _Walker(_Numbering(numbering), notes, pkg.xml(_rel_target(rels, "styles") or ""))
    header, footer, seen = _Sink(), _Sink(), set()

    def walker_for(body: etree._Element) -> _Walker:
        walker.breaking = set(_breaking_sections(body))
        for section in body.iter(*(f"{{{n}}}sectPr" for n in _W)):
            for ref in section:
                kind = _split(ref.tag)[1]
                if kind not in ("headerReference", "footerReference"):
                    continue
                rid = next((ref.get(f"{{{r}}}id") for r in R_NS if ref.get(f"{{{r}}}id")), None)
                target = rels.get(rid or "", ("", ""))[1]
                root = pkg.xml(target) if target else None
                if root is not None:
                    part = _Sink()
                    walker.blocks(root, part)
                    _add_once(header if kind == "headerReference" else footer, part, seen)
        return walker

    return _read_body(document, walker_for, header, footer)


def _ole_error(data: bytes) -> ReadError:
    """An OLE2 compound file: a password-protected docx (EncryptedPackage inside) or an old .doc."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        return ReadError("encrypted", message("word.encrypted"))
    return ReadError("damaged", message("word.old_doc"))


def _sample(data: bytes) -> str:
    text = data[:16].decode("latin-1")
    return repr(text) if text.isprintable() else data[:8].hex(" ")


def read_docx(data: bytes) -> list[Page]:
    """Pages of a .docx: body paragraphs and tables in order, headers/footers once, text boxes."""
    if not data:
        raise ReadError("empty", message("word.empty"))
    if data[:8] == _OLE:
        raise _ole_error(data)
    if data[:2] != b"PK":
        raise ReadError("damaged", message("word.not_zip", sample=_sample(data)))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        if b"PK\x05\x06" not in data[-(65536 + 22):]:
            raise ReadError("truncated", message("word.truncated")) from exc
        raise ReadError("damaged", message("word.damaged", detail=str(exc)[:200])) from exc
    with zf:
        return _guarded(lambda: _read_package(_ZipPackage(zf)))


# -- Word 2003 XML and the flat package -------------------------------------------------------------

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
# Chinese business systems declare gb2312 and write GBK (or GB18030) characters: read the superset.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030",
             "euc-cn": "gb18030", "gb_2312-80": "gb18030", "big5": "big5hkscs"}
# Base64 pictures (Word 2003 w:binData, the flat package's pkg:binaryData) are cut out before
# parsing: they can be megabytes (over libxml2's text-node limit) and are never text.
_BINARY = re.compile(rb"(<(?:[\w.-]+:)?bin(?:ary)?Data\b[^>]*>)[^<]+")


def _utf16(data: bytes) -> str | None:
    """The codec of a UTF-16 file (with or without its byte-order mark), else None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if data[:2] == b"<\x00" or (data[:1] == b"\x00" and data[1:2] != b"\x00"):
        return "utf-16-le" if data[:1] == b"<" else "utf-16-be"
    return None


def _prepare(data: bytes) -> bytes:
    """The XML as UTF-8 without its declaration, base64 pictures emptied. Python decodes, not
    libxml2, so a declared encoding that is a subset of the real one (gb2312 for GBK) or a wrong
    one (UTF-8 declared, GBK written) still reads."""
    codec = _utf16(data)
    if codec:
        data = data.decode(codec, errors="replace").lstrip("\ufeff").encode("utf-8")
        declared = "utf-8"
    elif data.startswith(b"\xef\xbb\xbf"):
        data, declared = data[3:], "utf-8"
    else:
        head = _DECLARATION.match(data)
        found = _ENCODING.search(head.group(0)) if head else None
        declared = found.group(1).decode("ascii").lower() if found else "utf-8"
        if declared.startswith(("utf-16", "utf-32", "ucs", "unicode")):
            declared = "utf-8"                  # declared so, but no UTF-16 bytes: ASCII-compatible
    data = _DECLARATION.sub(b"", _BINARY.sub(rb"\1", data), count=1)
    try:                                        # valid UTF-8 is UTF-8, whatever was declared
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    codec = _SUPERSET.get(declared, declared)
    try:
        for attempt in (codec, "gb18030"):      # not UTF-8: most often GBK, whatever was declared
            try:
                return data.decode(attempt).encode("utf-8")
            except UnicodeDecodeError:
                pass
        return data.decode(codec, errors="replace").encode("utf-8")
    except LookupError as exc:
        raise ReadError("damaged", message("word.bad_xml", part="XML", detail=f"encoding {declared}")) from exc


def is_wordml(head: bytes) -> bool:
    """Whether a file's first bytes (~4 KB) are a Word XML document: Word 2003 XML (root
    w:wordDocument) or the flat package Word 2007+ saves (pkg:package holding a Word document)."""
    codec = _utf16(head)
    if codec:
        text = head[: len(head) // 2 * 2].decode(codec, errors="ignore")
    else:
        text = head.decode("latin-1")          # the markers sought are ASCII in any such encoding
    text = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    prolog = ""
    while True:
        m = re.match(r"(<\?.*?\?>|<!--.*?-->)\s*", text, re.S)
        if not m:
            break
        prolog += m.group(1)
        text = text[m.end():]
    root = re.match(r"<(?:[\w.-]+:)?(wordDocument|package)\b([^>]*)", text)
    if not root:
        return False
    if root.group(1) == "wordDocument":
        return W03 in root.group(2)
    if PKG not in root.group(2):
        return False
    progid = re.search(r"progid\s*=\s*[\"']([^\"']*)", prolog)
    if progid:
        return progid.group(1).startswith("Word.")
    return "wordprocessingml" in text or "word/document.xml" in text


def _read_wordml2003(root: etree._Element) -> list[Page]:
    header, footer, seen = _Sink(), _Sink(), set()
    walker = _Walker(styles=_child(root, "styles"))

    def walker_for(body: etree._Element) -> _Walker:
        walker.breaking = set(_breaking_sections(body))
        for section in body.iter(f"{{{W03}}}sectPr"):
            for part in section:
                kind = _split(part.tag)[1]
                if kind in ("hdr", "ftr"):
                    sink = _Sink()
                    walker.blocks(part, sink)
                    _add_once(header if kind == "hdr" else footer, sink, seen)
        return walker

    return _read_body(root, walker_for, header, footer)


def read_wordml(data: bytes) -> list[Page]:
    """Pages of a Word XML document: Word 2003 XML (w:wordDocument) or the flat package
    (pkg:package) Word 2007+ writes; both are what business systems save under a .doc name."""
    if not data:
        raise ReadError("empty", message("word.empty"))
    if data[:8] == _OLE:
        raise _ole_error(data)
    if len(data) > MAX_WORDML_FILE:
        raise ReadError("too_large", message("word.too_large", limit=MAX_WORDML_FILE >> 20, part="XML"))
    xml = _prepare(data)
    if len(xml) > MAX_XML_BYTES:
        raise ReadError("too_large", message("word.too_large", limit=MAX_XML_BYTES >> 20, part="XML"))
    root = _parse(xml, "XML")
    ns, name = _split(root.tag)
    if ns == W03 and name == "wordDocument":
        return _guarded(lambda: _read_wordml2003(root))
    if ns == PKG and name == "package":
        return _guarded(lambda: _read_package(_FlatPackage(root)))
    raise ReadError("damaged", message("word.not_wordml", root=name or "?"))
