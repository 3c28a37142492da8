"""Small OFD files (GB/T 33190-2016) for tests and samples: each line of text becomes TextObjects.

`make_ofd` writes what an e-certificate producer writes, in the same parts and the same way: a
zip with OFD.xml → Doc_0/Document.xml (page area, fonts in PublicRes.xml) → one Content.xml per
page, each line a TextObject (Boundary, Size, Font) whose TextCode gives X/Y and a DeltaX per
character. Two or more spaces in a line split it into pieces set 30 mm apart (a label and its
value in two columns). `custom` goes into OFD.xml's DocInfo/CustomDatas; `tags` into a
CustomTags file: a str value is the tag's text, an int is an ObjectRef to that line (0-based) of
page 1, as e-invoices refer to the page's own text.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = "http://www.ofdspec.org/2016"
SIZE = 4.2          # mm, the font size (about 12 pt)
LEFT, TOP, LEADING = 20.0, 30.0, 9.0
GAP = 30.0          # mm between one piece of a line and the next


def _advance(char: str) -> float:
    return SIZE if ord(char) > 0x2E7F else SIZE / 2


def _text_object(object_id: int, x: float, y: float, text: str) -> str:
    deltas = " ".join(f"{_advance(c):g}" for c in text[:-1])
    width = sum(_advance(c) for c in text)
    delta = f' DeltaX="{deltas}"' if deltas else ""
    return (f'<ofd:TextObject ID="{object_id}" Boundary="{x:g} {y:g} {width + 1:g} {SIZE * 1.4:g}" '
            f'Font="1" Size="{SIZE:g}"><ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{SIZE:g}"{delta}>{escape(text)}</ofd:TextCode></ofd:TextObject>')


def make_ofd(path_or_none: str | Path | None, pages: list[list[str]], custom: dict | None = None,
             tags: dict[str, str | int] | None = None) -> bytes:
    """The OFD's bytes (also written to `path_or_none` when given)."""
    parts: dict[str, str] = {}
    next_id = 2                                  # 1 is the font
    first_page_lines: list[int] = []             # the first TextObject ID of each line of page 1
    page_entries = []
    for index, lines in enumerate(pages):
        objects = []
        for row, line in enumerate(lines):
            x, y = LEFT, TOP + row * LEADING
            for piece_no, piece in enumerate(p for p in re.split(r" {2,}", line) if p):
                if piece_no == 0 and index == 0:
                    first_page_lines.append(next_id)
                objects.append(_text_object(next_id, x, y, piece))
                x += sum(_advance(c) for c in piece) + GAP
                next_id += 1
        parts[f"Doc_0/Pages/Page_{index}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{NS}"><ofd:Content>'
            f'<ofd:Layer ID="{next_id}">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
        page_entries.append(f'<ofd:Page ID="{next_id + 1}" BaseLoc="Pages/Page_{index}/Content.xml"/>')
        next_id += 2
    custom_datas = ""
    if custom:
        items = "".join(f"<ofd:CustomData Name={quoteattr(str(k))}>{escape(str(v))}</ofd:CustomData>"
                        for k, v in custom.items())
        custom_datas = f"<ofd:CustomDatas>{items}</ofd:CustomDatas>"
    parts["OFD.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>0C1D4F7159954EEEDE517F7285E84DC4</ofd:DocID>"
        f"<ofd:Creator>ofdmaker</ofd:Creator><ofd:CreationDate>2024-05-20</ofd:CreationDate>{custom_datas}"
        f"</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    custom_tags = ""
    first_page_id = re.search(r'ID="(\d+)"', page_entries[0]).group(1) if page_entries else "0"
    if tags:
        fields = []
        for name, value in tags.items():
            if isinstance(value, int):
                inner = f'<cert:ObjectRef PageRef="{first_page_id}">{first_page_lines[value]}</cert:ObjectRef>'
            else:
                inner = escape(value)
            fields.append(f"<cert:{name}>{inner}</cert:{name}>")
        parts["Doc_0/Tags/CustomTag.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><cert:Certificate xmlns:cert="urn:example:certificate">'
            f'{"".join(fields)}</cert:Certificate>')
        parts["Doc_0/CustomTags.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags xmlns:ofd="{NS}">'
            f'<ofd:CustomTag NameSpace="urn:example:certificate"><ofd:FileLoc>Tags/CustomTag.xml</ofd:FileLoc>'
            f"</ofd:CustomTag></ofd:CustomTags>")
        custom_tags = "<ofd:CustomTags>CustomTags.xml</ofd:CustomTags>"
    parts["Doc_0/PublicRes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
        f'<ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
    parts["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{next_id}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
        f"</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
        f'<ofd:Pages>{"".join(page_entries)}</ofd:Pages>{custom_tags}</ofd:Document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text.encode("utf-8"))
    data = buffer.getvalue()
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data
