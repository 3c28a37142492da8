"""Clause numbers of the management-system standards (GB/T 19001, 24001, 45001 in Chinese)."""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

# 8.5.1, 9.2, 10.2; ISMS Annex A controls (A.5.1); standard numbers and years are never clauses.
CLAUSE_RE = re.compile(r"(?<![\d.A-Za-z/-])((?:A\.)?\d{1,2}(?:\.\d{1,2}){0,3})(?![\d]|\.\d)")
_STANDARD_REF = re.compile(
    r"(?:GB\s*/?\s*T|ISO(?:\s*/\s*IEC)?|IEC|OHSAS|RB\s*/?\s*T|CNAS|CCAA)[\s\-]*[\d.\-:]+(?:\s*[-:]\s*\d{4})?", re.I)

DATA_DIR = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def clause_titles() -> dict[tuple[str, str], str]:
    """(field, clause) → Chinese title, e.g. ("QMS", "8.5.1") → 生产和服务提供的控制."""
    with (DATA_DIR / "iso_clauses_qes_zh.csv").open(
            encoding="utf-8-sig", newline="") as fh:
        return {(r["system"], r["clause"]): r["title"] for r in csv.DictReader(fh)}


def is_known(clause: str, field: str | None) -> bool:
    titles = clause_titles()
    if field:
        return (field, clause) in titles if field in ("QMS", "EMS", "OHSMS") else True
    return any((f, clause) in titles for f in ("QMS", "EMS", "OHSMS"))


def find_clauses(text: str, field: str | None = None) -> list[str]:
    """Clause numbers in text (standard numbers and years removed first), in order; clauses of
    the field's standard first when the field is one whose clause table we have."""
    text = _STANDARD_REF.sub(" ", text)
    text = re.sub(r"(?<![A-Za-z])([QES])(?=\d{1,2}\.)", r"\1 ", text)
    text = re.sub(r"(?:19|20)\d{2}\s*[年.\-/]\s*\d{1,2}(?:\s*[月.\-/]\s*\d{1,2}\s*日?)?", " ", text)
    out = []
    for m in CLAUSE_RE.finditer(text):
        clause = m.group(1)
        if "." not in clause and not (clause.isdigit() and 4 <= int(clause) <= 10):
            continue
        if clause not in out:
            out.append(clause)
    return sorted(out, key=lambda c: not is_known(c, field))
