"""Build small real PDFs for tests: Chinese text lines and ruled tables with an embedded CJK font."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "WQYTest"
_registered = False

Block = Union[str, list, None]   # a line of text, a table (list of rows), or None for a page break


def _font() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))
        _registered = True


def make_pdf(path: Path, blocks: Sequence[Block], font_size: int = 10) -> Path:
    """Write `blocks` to `path`: strings become paragraphs (literal text, markup included), lists
    become gridded tables, None a page break."""
    _font()
    style = ParagraphStyle("t", fontName=FONT, fontSize=font_size, leading=font_size * 1.5)
    story = []
    for block in blocks:
        if block is None:
            story.append(PageBreak())
        elif isinstance(block, str):
            story.append(Paragraph(escape(block), style) if block else Spacer(1, 8))
        else:
            rows = [[Paragraph(escape(str(c)), style) for c in row] for row in block]
            table = Table(rows)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"),
                                       ("FONTNAME", (0, 0), (-1, -1), FONT)]))
            story.append(table)
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1).build(story)
    return path
