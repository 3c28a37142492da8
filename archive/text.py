"""Text normalisation: what every extractor and the index see instead of the raw text layer.

Pipeline: drop control characters → NFKC (full-width digits, letters and punctuation become
ASCII) → traditional → simplified (OpenCC t2s) → unify line ends and blanks.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\ufeff\ufffe\uffff]")
_BLANKS = re.compile(r"[ \t\u00a0\u2002-\u200b\u3000]+")
# Dashes and tildes written between dates and numbers, unified to one form each.
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u301c": "~",
                         "\uff5e": "~"})


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (phrase-aware, OpenCC)."""
    return _t2s().convert(text)


# Circled and parenthesised list markers: NFKC would make ①8.5.1 read as 18.5.1.
_MARKERS = str.maketrans({**{chr(0x2460 + i): f"({i + 1}) " for i in range(20)},
                          **{chr(0x2474 + i): f"({i + 1}) " for i in range(20)},
                          **{chr(0x2488 + i): f"{i + 1}. " for i in range(20)}})

# Word writes characters of the Symbol and Wingdings fonts as U+F020–U+F0FF (the font's own code
# plus F000): bullets, boxes and ticks that show as empty boxes anywhere else. The common ones
# become the character they draw (one for one, so offsets hold); the rest a bullet.
_SYMBOL_FONT = str.maketrans({
    **{chr(c): "•" for c in range(0xF020, 0xF100)},
    "\uf06c": "●", "\uf06e": "■", "\uf06f": "□", "\uf071": "❑", "\uf075": "◆", "\uf076": "❖",
    "\uf0a1": "○", "\uf0a7": "▪", "\uf0a8": "□", "\uf0b7": "•", "\uf0d8": "➢", "\uf0e8": "➔",
    "\uf0fb": "✗", "\uf0fc": "✓", "\uf0fd": "☒", "\uf0fe": "☑"})


def readable_symbols(text: str) -> str:
    """Symbol-font private-use characters as the characters they draw (one for one)."""
    return text.translate(_SYMBOL_FONT)


def normalise(text: str) -> str:
    """Normalise one page (or any string) of extracted text; keeps line structure."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).translate(_MARKERS)
    text = text.translate(_SYMBOL_FONT)
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = to_simplified(text)
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def compact(text: str) -> str:
    """Remove all whitespace: for matching labels that layouts split with spaces (受 审 核 方)."""
    return re.sub(r"\s+", "", text)
