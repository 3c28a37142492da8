"""An electronic certificate in OFD (GB/T 33190-2016), made from its PDF.

Chinese bodies issue e-certificates as OFD: a zip whose OFD.xml names the document
(Doc_0/Document.xml), the document its pages (Pages/Page_N/Content.xml) and its public resources
(PublicRes.xml: the fonts). Every printed line of the PDF becomes a TextObject (Boundary, Font,
Size in millimetres, y downwards) holding one TextCode (X, Y of the baseline within the boundary,
DeltaX: the advance of each character); the certificate's double frame becomes two PathObjects.
The certificate number is also kept where systems look it up without reading the page: in
DocInfo's CustomDatas and in a custom tag file (CustomTags.xml → Tag_0.xml) that points at the
TextObject printing it.
"""
from __future__ import annotations

import ctypes
import hashlib
import io
import unicodedata
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

OFD_NS = "http://www.ofdspec.org/2016"
TAG_NS = "urn:hzuc:ofd:certificate"
MM = 25.4 / 72                       # mm per pt
FONT = ("宋体", "SimSun")


def _n(value: float) -> str:
    """A number as OFD writes it: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _deltas(values: list[float]) -> str:
    """DeltaX with runs of equal advances as "g <count> <advance>" (GB/T 33190 11.3)."""
    out: list[str] = []
    k = 0
    while k < len(values):
        j = k
        while j + 1 < len(values) and _n(values[j + 1]) == _n(values[k]):
            j += 1
        count = j - k + 1
        out.append(f"g {count} {_n(values[k])}" if count > 2 else " ".join([_n(values[k])] * count))
        k = j + 1
    return " ".join(out)


def _lines(page) -> list[dict]:
    """The printed lines of a PDF page: characters in drawing order, grouped while they share a
    baseline and follow each other; positions in mm from the top left."""
    import pypdfium2.raw as pdfium_c

    height = page.get_height()
    textpage = page.get_textpage()
    x, y = ctypes.c_double(), ctypes.c_double()
    lines: list[dict] = []
    try:
        for i in range(textpage.count_chars()):
            if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
                continue
            ch = textpage.get_text_range(i, 1)
            if not ch or ch in "\r\n":
                continue
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, i, ctypes.byref(x), ctypes.byref(y))
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
            left, _, right, _ = textpage.get_charbox(i)
            cx, cy = x.value * MM, (height - y.value) * MM
            last = lines[-1] if lines else None
            if (last and abs(last["y"] - cy) < 0.3 and cx >= last["xs"][-1] - 0.1
                    and cx - last["right"] < 3 * last["size"]):
                last["text"] += ch
                last["xs"].append(cx)
                last["right"] = max(last["right"], right * MM)
            else:
                lines.append({"text": ch, "xs": [cx], "y": cy, "size": size * MM,
                              "right": max(right, x.value) * MM, "left": min(left, x.value) * MM})
    finally:
        textpage.close()
    for line in lines:                               # trailing blanks are not printed
        while line["text"].endswith(" ") and len(line["text"]) > 1:
            line["text"] = line["text"][:-1]
            line["xs"].pop()
    return [line for line in lines if line["text"].strip()]


def _content(page, first_id: int, frame: bool, cert_nos: list[str]) -> tuple[str, int, dict[str, int]]:
    """Content.xml of one page, the next free ID, and the IDs of the TextObjects printing a number."""
    width, height = page.get_width() * MM, page.get_height() * MM
    next_id = first_id
    layer_id = next_id
    next_id += 1
    objects: list[str] = []
    found: dict[str, int] = {}
    if frame:
        for inset, line_w in ((12.0, 0.7), (15.0, 0.21)):
            w, h = width - 2 * inset, height - 2 * inset
            objects.append(f'<ofd:PathObject ID="{next_id}" Boundary="{_n(inset)} {_n(inset)} {_n(w)} {_n(h)}" '
                           f'LineWidth="{_n(line_w)}"><ofd:StrokeColor Value="0 0 0"/><ofd:AbbreviatedData>'
                           f'M 0 0 L {_n(w)} 0 L {_n(w)} {_n(h)} L 0 {_n(h)} C</ofd:AbbreviatedData></ofd:PathObject>')
            next_id += 1
    for line in _lines(page):
        size = line["size"]
        top = line["y"] - size * 0.88
        left = line["left"]
        box_w = max(line["right"] - left, size)
        xs = line["xs"]
        deltas = [b - a for a, b in zip(xs, xs[1:])]
        delta = f' DeltaX="{_deltas(deltas)}"' if deltas else ""
        objects.append(f'<ofd:TextObject ID="{next_id}" Boundary="{_n(left)} {_n(top)} {_n(box_w)} {_n(size * 1.2)}" '
                       f'Font="2" Size="{_n(size)}"><ofd:FillColor Value="0 0 0"/>'
                       f'<ofd:TextCode X="{_n(xs[0] - left)}" Y="{_n(size * 0.88)}"{delta}>{escape(line["text"])}'
                       f'</ofd:TextCode></ofd:TextObject>')
        squashed = "".join(unicodedata.normalize("NFKC", line["text"]).split()).upper()
        for no in cert_nos:
            if no.upper() in squashed:
                found.setdefault(no, next_id)
        next_id += 1
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Area><ofd:PhysicalBox>'
           f'0 0 {_n(width)} {_n(height)}</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="{layer_id}" '
           f'Type="Body">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
    return xml, next_id, found


def write_ofd(pdf: Path, truth: dict, meta, frame: bool = True) -> bytes:
    """The OFD of a certificate PDF; `truth` is its truth (certificate numbers, organisation, dates),
    `meta` its corpus.formats.Meta (title, author, time)."""
    import pypdfium2 as pdfium

    cert_nos: list[str] = list(truth.get("cert_nos") or [])
    doc = pdfium.PdfDocument(str(pdf))
    pages: list[str] = []
    refs: list[tuple[int, dict[str, int]]] = []
    page_ids: list[int] = []
    next_id = 3                                   # 1, 2: the font resources
    width = height = 0.0
    try:
        for k in range(len(doc)):
            page = doc[k]
            width, height = page.get_width() * MM, page.get_height() * MM
            page_ids.append(next_id)
            next_id += 1
            xml, next_id, found = _content(page, next_id, frame, cert_nos)
            page.close()
            pages.append(xml)
            refs.append((page_ids[-1], found))
    finally:
        doc.close()
    doc_id = hashlib.md5(("|".join(cert_nos) + meta.title).encode("utf-8")).hexdigest()
    day = meta.saved.strftime("%Y-%m-%d")
    custom = "".join(f'<ofd:CustomData Name={quoteattr("证书编号" if i == 0 else f"证书编号{i + 1}")}>'
                     f"{escape(no)}</ofd:CustomData>" for i, no in enumerate(cert_nos))
    org = (truth.get("org") or {}).get("name") or ""
    custom += f'<ofd:CustomData Name="获证组织">{escape(org)}</ofd:CustomData>' if org else ""
    files: list[tuple[str, str]] = []
    files.append(("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" '
                  f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID><ofd:Title>'
                  f'{escape(meta.title)}</ofd:Title><ofd:Author>{escape(meta.company)}</ofd:Author>'
                  f'<ofd:CreationDate>{day}</ofd:CreationDate><ofd:ModDate>{day}</ofd:ModDate>'
                  f'<ofd:Creator>{escape(meta.company)}电子证书系统</ofd:Creator><ofd:CreatorVersion>2.3</ofd:CreatorVersion>'
                  f'<ofd:CustomDatas>{custom}</ofd:CustomDatas></ofd:DocInfo>'
                  f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>'))
    page_list = "".join(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{k}/Content.xml"/>' for k, pid in enumerate(page_ids))
    files.append(("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{OFD_NS}">'
                  f'<ofd:CommonData><ofd:MaxUnitID>{next_id - 1}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>'
                  f'0 0 {_n(width)} {_n(height)}</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml'
                  f'</ofd:PublicRes></ofd:CommonData><ofd:Pages>{page_list}</ofd:Pages>'
                  f'<ofd:CustomTags>CustomTags.xml</ofd:CustomTags></ofd:Document>'))
    files.append(("Doc_0/PublicRes.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{OFD_NS}" '
                  f'BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" FontName="{FONT[0]}" FamilyName="{FONT[0]}"/>'
                  f'</ofd:Fonts></ofd:Res>'))
    for k, xml in enumerate(pages):
        files.append((f"Doc_0/Pages/Page_{k}/Content.xml", xml))
    files.append(("Doc_0/CustomTags.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:CustomTags xmlns:ofd="{OFD_NS}">'
                  f'<ofd:CustomTag NameSpace="{TAG_NS}"><ofd:FileLoc>Tags/Tag_0.xml</ofd:FileLoc>'
                  f'</ofd:CustomTag></ofd:CustomTags>'))
    tags = []
    for pid, found in refs:
        for no, obj in found.items():
            tags.append(f'<zs:Certificate><zs:证书编号>{escape(no)}</zs:证书编号><zs:ObjectRef PageRef="{pid}">{obj}'
                        f'</zs:ObjectRef></zs:Certificate>')
    files.append(("Doc_0/Tags/Tag_0.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<zs:Certificates xmlns:zs="{TAG_NS}">'
                  f'{"".join(tags)}</zs:Certificates>'))
    buf = io.BytesIO()
    stamp = (max(meta.saved.year, 1980), meta.saved.month, meta.saved.day, meta.saved.hour, meta.saved.minute, 0)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files:
            zi = zipfile.ZipInfo(name, date_time=stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, text.encode("utf-8"))
    return buf.getvalue()
