"""Dates as audit records write them, read into ISO-8601.

`2023年5月10日`, `2023-05-10`, `2023.05.10`, `2023/5/10`, and ranges whose end is written short:
`2023年5月10日至12日`, `2023.05.10~05.12`, `2023-05-10 至 2023-05-12`. Text must be normalised.
"""
from __future__ import annotations

import re
from datetime import date

_FULL = r"((?:19|20)\d{2})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?|([-./])(\d{1,2})\4(\d{1,2}))"
FULL_DATE_RE = re.compile(rf"(?<!\d){_FULL}(?!\d)")
_SEP = r"\s*(?:上午|下午|全天|\d{1,2}:\d{2})?\s*(?:至|到|~|-|—|–|起至)\s*"
# What may follow a range separator: a full date, month+day, or a day.
_END_RE = re.compile(
    rf"{_SEP}(?:{_FULL}|(\d{{1,2}})\s*(?:月\s*(\d{{1,2}})\s*日?|[./](\d{{1,2}}))|(\d{{1,2}})\s*日)(?![\d年月./])")


def _make(y: str, m: str, d: str) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def _full(match: re.Match, offset: int = 0) -> date | None:
    g = match.groups()[offset: offset + 6]
    year, month, day = g[0], g[1] or g[4], g[2] or g[5]
    return _make(year, month, day)


def find_dates(text: str) -> list[date]:
    """Every full date in the text, in order."""
    return [d for m in FULL_DATE_RE.finditer(text) if (d := _full(m))]


def find_date_range(text: str) -> tuple[date, date] | None:
    """The first date in the text and, when a range follows it, its end (else the same day)."""
    for m in FULL_DATE_RE.finditer(text):
        start = _full(m)
        if not start:
            continue
        end = start
        tail = _END_RE.match(text, m.end())
        if tail:
            g = tail.groups()
            if g[0]:
                end = _make(g[0], g[1] or g[4], g[2] or g[5]) or start
            elif g[6]:
                end = _make(str(start.year), g[6], g[7] or g[8]) or start
            elif g[9]:
                end = _make(str(start.year), str(start.month), g[9]) or start
        if end < start or (end - start).days > 60:
            end = start
        return start, end
    return None
