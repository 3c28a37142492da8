"""Specialty codes (专业代码 / 业务范围分类): the two real code tables and reading codes in text.

Codes are written `NN.NN.NN`, with risk sub-codes (`17.10.02/2`), field prefixes
(`Q:17.10.02 E:17.10.02`) and several a line. A document's codes are read in the table its date
implies (legacy before `TABLE_2020_FROM`); where that cannot be decided the result says "ambiguous".
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

# The current table applies to documents dated on or after this day; the legacy table before.
TABLE_2020_FROM = date(2020, 1, 1)

CODE_RE = re.compile(r"(?<![\d.])(\d{2})\.(\d{2})\.(\d{2})(?:\s*/\s*(\d{1,2}))?(?![\d])(?!\.\d)")
FIELD_PREFIX_RE = re.compile(r"(?<![A-Za-z])(Q|E|S|OH|F|H|I|IS|EN|SV|FW)\s*[:：]\s*(?=\d{2}\.\d{2})", re.I)
PREFIX_FIELD = {"Q": "QMS", "E": "EMS", "S": "OHSMS", "OH": "OHSMS", "F": "FSMS", "H": "HACCP",
                "I": "ISMS", "IS": "ISMS", "EN": "EnMS", "SV": "SERVICE", "FW": "SERVICE"}

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class CodeEntry:
    code: str
    name: str
    level: str            # major / middle / minor
    parent: str | None


def _read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def table_2020() -> dict[str, CodeEntry]:
    """The current table: 39 major, 280 middle, 615 minor codes."""
    return {r["code"]: CodeEntry(r["code"], r["name"], r["level"], r["parent"] or None)
            for r in _read_csv("scope_codes_2020.csv")}


@lru_cache(maxsize=1)
def table_legacy() -> dict[str, CodeEntry]:
    """The older CNAS table (minor codes only; parents are implied by the digits)."""
    return {r["code"]: CodeEntry(r["code"], r["name"], "minor", r["code"][:5])
            for r in _read_csv("scope_codes_legacy_cnas.csv")}


def table(version: str) -> dict[str, CodeEntry]:
    return table_2020() if version == "2020" else table_legacy()


@dataclass(frozen=True)
class CodeMention:
    code: str                 # NN.NN.NN
    risk: str | None          # the risk sub-code after "/", if written
    field: str | None         # from a Q:/E:/S: prefix, if written


def find_codes(text: str) -> list[CodeMention]:
    """Every code-shaped token in normalised text, with its risk sub-code and field prefix."""
    prefixes = [(m.end(), PREFIX_FIELD[m.group(1).upper()]) for m in FIELD_PREFIX_RE.finditer(text)]
    out = []
    for m in CODE_RE.finditer(text):
        field = None
        for end, fld in prefixes:
            if end <= m.start():
                field = fld
        out.append(CodeMention(f"{m.group(1)}.{m.group(2)}.{m.group(3)}", m.group(4), field))
    return out


def version_for_date(day: date | None) -> str | None:
    if day is None:
        return None
    return "2020" if day >= TABLE_2020_FROM else "legacy"


def resolve_codes(codes: list[str], day: date | None) -> tuple[list[str], str | None, list[str]]:
    """Validate codes against the tables.

    Codes in neither table are dropped (with a warning). The version is the table the date
    implies when every code is in it; "ambiguous" when the date is unknown and the codes exist in
    both tables, or when some code exists only in the other table (kept, with a warning).
    Returns (valid codes in order, version or None, warnings).
    """
    new, old = table_2020(), table_legacy()
    warnings = [f"code {c} is in neither code table" for c in codes if c not in new and c not in old]
    valid = [c for c in codes if c in new or c in old]
    if not valid:
        return [], None, warnings
    implied = version_for_date(day)
    if implied:
        tab = new if implied == "2020" else old
        stray = [c for c in valid if c not in tab]
        for c in stray:
            warnings.append(f"code {c} is not in the {implied} table its date implies")
        return valid, ("ambiguous" if stray else implied), warnings
    all_new, all_old = all(c in new for c in valid), all(c in old for c in valid)
    version = "ambiguous" if all_new == all_old else ("2020" if all_new else "legacy")
    return valid, version, warnings


def prefixes(code: str) -> list[str]:
    """`17.10.02` → [`17`, `17.10`, `17.10.02`]: what a hierarchical code filter matches."""
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
