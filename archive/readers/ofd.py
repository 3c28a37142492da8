"""OFD (GB/T 33190-2016), China's fixed-layout format of e-certificates and e-invoices: its text.

An OFD is a zip of XML: OFD.xml → each DocBody's DocRoot (Doc_0/Document.xml) → its pages'
Content.xml (and the template pages they stand on), whose TextObjects place TextCodes at
coordinates in mm, y downwards. A page's text is those glyphs in reading order: grouped into lines
by baseline, top to bottom, left to right; close pieces joined, far apart ones two spaces apart.
The document's custom data (OFD.xml DocInfo/CustomDatas, Document.xml's CustomTags), where
e-certificates carry 证书编号 and the like, follows page 1's text as "名称：值" lines.

Not easyofd (the PyPI library): it writes the file into the working directory and extracts every
member there under its own name (`../` names, zip bombs on disk), and pulls in PyMuPDF, fontTools
and loguru to draw pages; text needs none of that.

The XML is hostile input: defusedxml refuses any DTD (so no entity expansion, no external
entities); members are read in memory by name, each and all together within declared-size limits
(zipfile stops a member at its declared size), so `../` names and zip bombs do not matter.
"""
from __future__ import annotations

import io
import math
import posixpath
import zipfile
from typing import Iterator
from xml.etree.ElementTree import Element, ParseError

from ..messages import message
from ..text import normalise
from .base import Page, ReadError

MAX_PART = 32 << 20                  # bytes one XML part may declare
MAX_INFLATED = 256 << 20             # bytes of all parts read from one file
MAX_PAGES = 5_000
MAX_MEMBERS = 20_000
FAR = 1.0                            # a gap wider than this many font sizes separates pieces
SAME_LINE = 0.4                      # baselines closer than this many font sizes are one line


def is_ofd(data: bytes) -> bool:
    """A zip whose OFD.xml has the root element ofd:OFD."""
    try:
        package = _Package(data)
        return _local(package.xml(package.entry()).tag) == "OFD"
    except (ReadError, zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return False


def read_ofd(data: bytes) -> list[Page]:
    """Every page's text in reading order; the custom data at the end of page 1."""
    if not data:
        raise ReadError("empty", message("pdf.empty"))
    try:
        package = _Package(data)
        return _read(package)
    except (ReadError, MemoryError):
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError,
            NotImplementedError, KeyError, IndexError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ReadError("damaged", message("ofd.damaged", detail=detail)) from exc


def _read(package: _Package) -> list[Page]:
    entry = package.entry()
    root = package.xml(entry)
    if _local(root.tag) != "OFD":
        raise ReadError("damaged", message("ofd.not_ofd", root=_local(root.tag)[:40]))
    fields: list[tuple[str, str]] = []
    pages: list[Page] = []
    for body in _children(root, "DocBody"):
        for info in _children(body, "DocInfo"):
            for datas in _children(info, "CustomDatas"):
                fields += [(item.get("Name", ""), (item.text or "").strip()) for item in _children(datas, "CustomData")]
        doc_root = _text(body, "DocRoot")
        if not doc_root:
            continue
        doc_path = package.find(posixpath.dirname(entry), doc_root)
        document = package.xml(doc_path)
        doc_dir = posixpath.dirname(doc_path)
        templates = {}
        for common in _children(document, "CommonData"):
            for template in _children(common, "TemplatePage"):
                if template.get("BaseLoc"):
                    templates[template.get("ID", "")] = template.get("BaseLoc", "")
        texts: dict[str, str] = {}           # TextObject ID → its text, for CustomTags' ObjectRefs
        for page in (p for pages_el in _children(document, "Pages") for p in _children(pages_el, "Page")):
            if len(pages) >= MAX_PAGES:
                raise ReadError("too_large", message("pdf.too_many_pages", count=f"{MAX_PAGES}+", limit=MAX_PAGES))
            pages.append(_page(package, doc_dir, page.get("BaseLoc", ""), templates, texts, len(pages) + 1))
        tags = _text(document, "CustomTags")
        if tags:
            fields += _custom_tags(package, doc_dir, tags, texts)
    if not pages:
        raise ReadError("damaged", message("ofd.no_pages"))
    lines, seen = [], set()
    for name, value in fields:
        line = normalise(f"{name}：{value}" if name else value)
        if value and line not in seen:
            seen.add(line)
            lines.append(line)
    if lines:
        first = pages[0]
        first.text = "\n".join(filter(None, [first.text, *lines]))
        first.has_text = True
    return pages


# -- a page --------------------------------------------------------------------------------------

# A glyph: (baseline y, left x, width, font size, character), in mm from the page's top left; a
# tuple, as a page can have tens of thousands.
_Glyph = tuple[float, float, float, float, str]


def _page(package: _Package, doc_dir: str, loc: str, templates: dict[str, str], texts: dict[str, str],
          number: int) -> Page:
    glyphs: list[_Glyph] = []
    has_images = False
    if loc:
        path = package.find(doc_dir, loc, missing_ok=True)
        content = package.xml(path) if path else None
        if content is not None:
            parts = [content]
            for template in _children(content, "Template"):
                tpl = templates.get(template.get("TemplateID", ""))
                tpl_path = package.find(doc_dir, tpl, missing_ok=True) if tpl else None
                if tpl_path and tpl_path != path:
                    parts.append(package.xml(tpl_path, keep=True))
            for part in parts:
                for obj in part.iter():
                    name = _local(obj.tag)
                    if name == "TextObject":
                        found = list(_glyphs(obj))
                        glyphs += found
                        if obj.get("ID"):
                            texts[obj.get("ID", "")] = "".join(g[4] for g in found)
                    elif name == "ImageObject":
                        has_images = True
    text = "\n".join(_lines(glyphs))
    return Page(number, text, has_text=bool(text.strip()), has_images=has_images)


def _numbers(value: str | None, count: int) -> list[float]:
    """An ST_Array of numbers; a delta list may say `g N v` for N times v."""
    out: list[float] = []
    tokens = (value or "").split()
    i = 0
    while i < len(tokens) and len(out) < count:
        if tokens[i] == "g" and i + 2 < len(tokens):
            repeat = min(max(int(float(tokens[i + 1])), 0), count - len(out))
            out += [float(tokens[i + 2])] * repeat
            i += 3
        else:
            out.append(float(tokens[i]))
            i += 1
    return [v if math.isfinite(v) else 0.0 for v in out]


def _glyphs(obj: Element) -> Iterator[_Glyph]:
    """A TextObject's characters at their page positions: Boundary's origin plus each TextCode's
    X/Y (advanced by DeltaX/DeltaY), through the object's CTM when it has one."""
    try:
        box = _numbers(obj.get("Boundary"), 4) + [0.0, 0.0]
        size = float(obj.get("Size") or 3.5)
        ctm = _numbers(obj.get("CTM"), 6) if obj.get("CTM") else []
    except ValueError:
        return
    a, b, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    size = abs(size) * scale if math.isfinite(size) and size else 3.5
    left, top = box[0] + e, box[1] + f
    x = y = 0.0
    for code in _children(obj, "TextCode"):
        chars = code.text or ""
        try:
            x = float(code.get("X") or x)
            y = float(code.get("Y") or y)
            dx = _numbers(code.get("DeltaX"), len(chars) - 1) if len(chars) > 1 else []
            dy = _numbers(code.get("DeltaY"), len(chars) - 1) if len(chars) > 1 else []
        except ValueError:
            continue
        for i, char in enumerate(chars):
            gx, gy = left + a * x + c * y, top + b * x + d * y
            step = dx[i] if i < len(dx) else None
            width = abs(step) * scale if step is not None else size * (0.5 if char.isascii() else 1.0)
            if math.isfinite(gx) and math.isfinite(gy):
                yield (gy, gx, width, size, char)
            x += step if step is not None else width / scale
            y += dy[i] if i < len(dy) else 0.0


def _lines(glyphs: list[_Glyph]) -> list[str]:
    """Glyphs as lines of text: by baseline top to bottom, then left to right; a gap wider than a
    character starts a new piece, pieces two spaces apart (each normalised on its own, so the two
    spaces stay)."""
    rows: list[list[_Glyph]] = []
    top = size = 0.0
    for glyph in sorted(glyphs):
        if rows and glyph[0] - top <= SAME_LINE * max(glyph[3], size):
            rows[-1].append(glyph)
        else:
            rows.append([glyph])
            top, size = glyph[0], glyph[3]
    lines = []
    for row in rows:
        row.sort(key=lambda g: g[1])
        pieces: list[list[str]] = [[]]
        last: _Glyph | None = None
        for glyph in row:
            if last is not None:
                if glyph[4] == last[4] and abs(glyph[1] - last[1]) < 0.2 * glyph[3]:
                    continue                  # the same character drawn twice (a fake bold)
                if glyph[1] - (last[1] + last[2]) > FAR * max(glyph[3], last[3]):
                    pieces.append([])
            pieces[-1].append(glyph[4])
            last = glyph
        line = "  ".join(p for p in (normalise("".join(piece)) for piece in pieces) if p)
        if line:
            lines.append(line)
    return lines


# -- custom data -------------------------------------------------------------------------------

def _custom_tags(package: _Package, doc_dir: str, loc: str, texts: dict[str, str]) -> list[tuple[str, str]]:
    """The fields of the document's custom tag files: each leaf element's name and text, or the
    text of the page objects it refers to (an e-invoice's tags point at TextObjects by ID)."""
    path = package.find(doc_dir, loc, missing_ok=True)
    if not path:
        return []
    index = package.xml(path)
    fields = []
    for tag in _children(index, "CustomTag"):
        file_loc = _text(tag, "FileLoc")
        tag_path = package.find(posixpath.dirname(path), file_loc, missing_ok=True) if file_loc else None
        if not tag_path:
            continue
        root = package.xml(tag_path)
        for element in root.iter():
            if element is root:
                continue
            kids = list(element)
            name = _local(element.tag)
            if kids and all(_local(kid.tag) == "ObjectRef" for kid in kids):
                value = "".join(texts.get((kid.text or "").strip(), "") for kid in kids)
            elif not kids and name != "ObjectRef":
                value = (element.text or "").strip()
            else:
                continue
            if value:
                fields.append((name, value))
    return fields


# -- the package -------------------------------------------------------------------------------

class _Package:
    """The zip's members, read in memory by name within the size limits."""

    def __init__(self, data: bytes):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ReadError("too_large", message("ofd.too_many_parts", count=len(infos), limit=MAX_MEMBERS))
        self.names = {info.filename: info for info in infos if not info.is_dir()}
        self.lower = {name.lower(): name for name in self.names}
        self.budget = MAX_INFLATED
        self.parsed: dict[str, Element] = {}

    def entry(self) -> str:
        """OFD.xml, the package's entry point (any case, at the top)."""
        name = self.lower.get("ofd.xml")
        if name is None:
            raise ReadError("damaged", message("ofd.missing_part", part="OFD.xml"))
        return name

    def find(self, base: str, loc: str, missing_ok: bool = False) -> str | None:
        """The member a location names: relative to the referring part's folder, or to the package
        root when it starts with '/' (or when only that way finds it)."""
        for candidate in (_resolve(base, loc), _resolve("", loc)):
            if candidate in self.names:
                return candidate
            if candidate.lower() in self.lower:
                return self.lower[candidate.lower()]
        if missing_ok:
            return None
        raise ReadError("damaged", message("ofd.missing_part", part=loc[:100]))

    def xml(self, name: str, keep: bool = False) -> Element:
        """A part's XML tree; with `keep`, kept for the next call (a template page serves many pages,
        while keeping every page's tree would hold the whole document in memory)."""
        import defusedxml.ElementTree as safe_xml
        from defusedxml import DefusedXmlException

        if name in self.parsed:
            return self.parsed[name]
        info = self.names[name]
        if info.file_size > MAX_PART or info.file_size > self.budget:
            raise ReadError("too_large", message("ofd.too_large", part=name[:100], mb=MAX_PART >> 20))
        raw = self.zip.read(info)
        self.budget -= len(raw)
        try:
            tree = safe_xml.fromstring(raw, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise ReadError("damaged", message("ofd.dtd", part=name[:100])) from exc
        except (ParseError, ValueError, LookupError) as exc:      # LookupError: an unknown encoding
            detail = " ".join(str(exc).split())[:200]
            raise ReadError("damaged", message("ofd.bad_xml", part=name[:100], detail=detail)) from exc
        if keep:
            self.parsed[name] = tree
        return tree


def _resolve(base: str, loc: str) -> str:
    """A location as a member name: `..` and `.` resolved inside the package, never above it."""
    loc = loc.strip().replace("\\", "/")
    parts = loc.split("/") if loc.startswith("/") else f"{base}/{loc}".split("/")
    out: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return "/".join(out)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else ""
