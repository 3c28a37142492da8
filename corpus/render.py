"""PDF layout for the sample archive: a small story builder over reportlab's platypus.

Text is wrapped here, not by reportlab, so that identifiers (certificate numbers, registration
numbers, codes, dates) are never broken across lines. Every string passes through the builder's
`conv` (traditional characters for some organisations). PDFs are written with `invariant=1`, so
the same story gives the same bytes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Flowable, PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_NAME = "WQY"
FONT_PACKAGE = "fonts-wqy-microhei"

_registered = False


def ensure_font() -> None:
    """Register WenQuanYi Micro Hei (embedded in every PDF) once per process."""
    global _registered
    if _registered:
        return
    if not Path(FONT_PATH).exists():
        raise RuntimeError(f"font {FONT_PATH} not found: install the Debian package {FONT_PACKAGE} "
                           f"(apt-get install {FONT_PACKAGE})")
    pdfmetrics.registerFont(TTFont(FONT_NAME, FONT_PATH, subfontIndex=0))
    _registered = True


def text_width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_NAME, size)


# Runs that must not be split: ASCII or full-width letters, digits and the joiners inside ids.
_TOKEN = re.compile(r"[■□√][^\s■□√]+|[0-9A-Za-z０-９Ａ-Ｚａ-ｚ][0-9A-Za-z０-９Ａ-Ｚａ-ｚ.．\-－/／:：_~～]*[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]"
                    r"|[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]|.", re.S)
_NO_LINE_START = set("，。、；：？！）》」』”’%）,.;:!?)]】～-")
_NO_LINE_END = set("（《「『“‘([【")


def wrap_text(text: str, width: float, size: float, first_width: float | None = None) -> list[str]:
    """Greedy line breaking for Chinese text that keeps identifiers and punctuation rules intact."""
    out: list[str] = []
    for k, para in enumerate(text.split("\n")):
        tokens = _TOKEN.findall(para)
        # glue closing punctuation to the token before it, opening punctuation to the one after
        glued: list[str] = []
        for tok in tokens:
            if glued and (tok[0] in _NO_LINE_START or glued[-1][-1] in _NO_LINE_END):
                glued[-1] += tok
            else:
                glued.append(tok)
        line = ""
        limit = first_width if (k == 0 and first_width is not None) else width
        for tok in glued:
            if line and text_width(line + tok, size) > limit:
                out.append(line.rstrip())
                line = tok.lstrip()
                limit = width
            else:
                line += tok
        out.append(line.rstrip())
    return out


class Lines(Flowable):
    """Pre-wrapped lines of text; splits between lines at page breaks."""

    def __init__(self, lines: list[str], size: float, leading: float, align: str = "left",
                 indent: float = 0.0):
        super().__init__()
        self.lines, self.size, self.leading, self.align, self.indent = lines, size, leading, align, indent

    def wrap(self, avail_width, avail_height):
        self.width = avail_width
        self.height = len(self.lines) * self.leading
        return self.width, self.height

    def split(self, avail_width, avail_height):
        n = int(avail_height // self.leading)
        if n <= 0 or n >= len(self.lines):
            return []
        return [Lines(self.lines[:n], self.size, self.leading, self.align, self.indent),
                Lines(self.lines[n:], self.size, self.leading, self.align, 0.0)]

    def draw(self):
        c = self.canv
        c.setFont(FONT_NAME, self.size)
        for i, line in enumerate(self.lines):
            y = self.height - (i + 1) * self.leading + (self.leading - self.size) * 0.6
            if self.align == "center":
                c.drawCentredString(self.width / 2, y, line)
            elif self.align == "right":
                c.drawRightString(self.width, y, line)
            else:
                c.drawString(self.indent if i == 0 else 0.0, y, line)


@dataclass
class Layout:
    """Page furniture of one form design."""
    header_left: str | None = None
    header_right: str | None = None
    footer: str | None = "第 {p} 页 共 {n} 页"     # {p} page, {n} pages; None: no footer
    landscape: bool = False
    margin: float = 20 * mm
    frame: bool = False                           # a double border (certificates)


def _canvas_maker(layout: Layout, conv: Callable[[str], str]):
    class NumberedCanvas(rl_canvas.Canvas):
        """Defers pages so that the footer can print the page count."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved: list[dict] = []

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._furniture(total)
                super().showPage()
            super().save()

        def _furniture(self, total: int):
            w, h = self._pagesize
            m = layout.margin
            if layout.frame:
                self.setLineWidth(2)
                self.rect(12 * mm, 12 * mm, w - 24 * mm, h - 24 * mm)
                self.setLineWidth(0.6)
                self.rect(15 * mm, 15 * mm, w - 30 * mm, h - 30 * mm)
            self.setFont(FONT_NAME, 8.5)
            if layout.header_left or layout.header_right:
                if layout.header_left:
                    self.drawString(m, h - 12 * mm, conv(layout.header_left))
                if layout.header_right:
                    self.drawRightString(w - m, h - 12 * mm, conv(layout.header_right))
                self.setLineWidth(0.5)
                self.line(m, h - 13.5 * mm, w - m, h - 13.5 * mm)
            if layout.footer:
                text = conv(layout.footer.format(p=self._pageNumber, n=total))
                self.drawCentredString(w / 2, 10 * mm, text)

    return NumberedCanvas


@dataclass
class Story:
    """What a template prints, in order. `conv` converts every printed string."""
    conv: Callable[[str], str] = field(default=lambda s: s)
    items: list = field(default_factory=list)
    width: float = A4[0] - 40 * mm

    def _lines(self, text: str, size: float, width: float | None = None) -> list[str]:
        return wrap_text(self.conv(text), width or self.width, size)

    def title(self, text: str, size: float = 16, space: float = 6) -> None:
        self.items.append(Lines(self._lines(text, size), size, size * 1.45, "center"))
        self.items.append(Spacer(1, space))

    def heading(self, text: str, size: float = 11.5) -> None:
        self.items.append(Spacer(1, 4))
        self.items.append(Lines(self._lines(text, size), size, size * 1.6))

    def para(self, text: str, size: float = 10.5, indent: bool = True) -> None:
        first = 2 * size if indent else 0.0
        lines = wrap_text(self.conv(text), self.width, size, first_width=self.width - first)
        self.items.append(Lines(lines, size, size * 1.65, "left", first))

    def line(self, text: str, size: float = 10.5, align: str = "left") -> None:
        self.items.append(Lines(self._lines(text, size), size, size * 1.65, align))

    def spacer(self, height: float = 6) -> None:
        self.items.append(Spacer(1, height))

    def page_break(self) -> None:
        self.items.append(PageBreak())

    def table(self, rows: list[list[str]], widths: list[float], size: float = 9.5,
              header_rows: int = 1, spans: list[tuple] | None = None, shade_labels: bool = False,
              align_center: bool = False) -> None:
        """A grid table; `widths` are fractions of the text width; cell text is pre-wrapped."""
        col_w = [self.width * f for f in widths]
        pad = 4.0
        data = []
        for row in rows:
            cells = []
            for j, cell in enumerate(row):
                w = col_w[j]
                if spans:       # a spanned cell gets the width of the columns it covers
                    for (c0, r0), (c1, _r1) in spans:
                        if c0 == j and r0 == len(data):
                            w = sum(col_w[c0:c1 + 1])
                cells.append("\n".join(wrap_text(self.conv(cell), w - 2 * pad, size)) if cell else "")
            data.append(cells)
        style = [
            ("FONT", (0, 0), (-1, -1), FONT_NAME, size),
            ("LEADING", (0, 0), (-1, -1), size * 1.35),
            ("GRID", (0, 0), (-1, -1), 0.6, "#000000"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), pad),
            ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ]
        if header_rows:
            style.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), "#E8E8E8"))
            style.append(("ALIGN", (0, 0), (-1, header_rows - 1), "CENTER"))
        if shade_labels:
            style.append(("BACKGROUND", (0, 0), (0, -1), "#F0F0F0"))
        if align_center:
            style.append(("ALIGN", (0, 0), (-1, -1), "CENTER"))
        for (c0, r0), (c1, r1) in spans or []:
            style.append(("SPAN", (c0, r0), (c1, r1)))
        self.items.append(Table(data, colWidths=col_w, repeatRows=header_rows, style=TableStyle(style)))
        self.items.append(Spacer(1, 6))


def render(path: Path, story: Story, layout: Layout, encrypt=None) -> int:
    """Write `story` to `path`; returns the number of pages."""
    ensure_font()
    size = landscape(A4) if layout.landscape else A4
    doc = SimpleDocTemplate(str(path), pagesize=size, leftMargin=layout.margin,
                            rightMargin=layout.margin, topMargin=18 * mm, bottomMargin=16 * mm,
                            invariant=1, encrypt=encrypt, title="", author="", creator="")
    doc.build(list(story.items), canvasmaker=_canvas_maker(layout, story.conv))
    return doc.page


def text_width_for(layout: Layout) -> float:
    size = landscape(A4) if layout.landscape else A4
    return size[0] - 2 * layout.margin
