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


def normalise(text: str) -> str:
    """Normalise one page (or any string) of extracted text; keeps line structure."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).translate(_MARKERS)
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = to_simplified(text)
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def compact(text: str) -> str:
    """Remove all whitespace: for matching labels that layouts split with spaces (受 审 核 方)."""
    return re.sub(r"\s+", "", text)
