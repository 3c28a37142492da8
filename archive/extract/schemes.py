"""Certification fields (认证领域) a text names: by standard number, Chinese name or abbreviation."""
from __future__ import annotations

import re

from .. import identifiers
from ..codes import FIELD_PREFIX_RE, PREFIX_FIELD

# Standard designations: a document that cites one is about that field wherever it is cited.
_STD = r"(?:GB\s*/?\s*T|ISO(?:\s*/\s*IEC)?|IEC|OHSAS)\s*"
STANDARDS: tuple[tuple[str, str], ...] = (
    ("QMS", rf"{_STD}19001|ISO\s*9001"),
    ("EMS", rf"{_STD}24001|ISO\s*14001"),
    ("OHSMS", rf"{_STD}(?:45001|28001)|ISO\s*45001|OHSAS\s*18001"),
    ("FSMS", rf"{_STD}22000"),
    ("HACCP", r"GB\s*/?\s*T\s*27341"),
    ("ISMS", rf"{_STD}(?:27001|22080)"),
    ("ITSMS", rf"{_STD}(?:20000|24405)"),
    ("EnMS", rf"{_STD}23331|ISO\s*50001"),
    ("IPMS", r"GB\s*/?\s*T\s*29490"),
    ("MMS", rf"{_STD}10012"),
    ("SERVICE", r"GB\s*/?\s*T\s*27922"),
)
# Names and abbreviations: only where a document states what it covers (labels, titles, tick
# boxes): in running text "HACCP小组" or "CCC认证产品" describe the company, not the audit.
NAMES: tuple[tuple[str, str], ...] = (
    ("QMS", r"质量管理体系|(?<![A-Za-z])QMS(?![A-Za-z])"),
    ("EMS", r"环境管理体系|(?<![A-Za-z])EMS(?![A-Za-z])"),
    ("OHSMS", r"职业健康安全管理体系|(?<![A-Za-z])OHS(?:MS)?(?![A-Za-z])"),
    ("FSMS", r"食品安全管理体系|(?<![A-Za-z])FSMS(?![A-Za-z])"),
    ("HACCP", r"(?<![A-Za-z])HACCP(?![A-Za-z])|危害分析与关键控制点"),
    ("ISMS", r"信息安全管理体系|(?<![A-Za-z])ISMS(?![A-Za-z])"),
    ("ITSMS", r"信息技术服务管理体系|(?<![A-Za-z])ITSMS(?![A-Za-z])"),
    ("EnMS", r"能源管理体系|(?<![A-Za-z])EnMS(?![A-Za-z])"),
    ("IPMS", r"知识产权管理体系|(?<![A-Za-z])IPMS(?![A-Za-z])"),
    ("MMS", r"测量管理体系|(?<![A-Za-z])MMS(?![A-Za-z])"),
    # 售后服务 alone is a process every company has; the certification is named as such.
    ("SERVICE", r"售后服务(?:认证|评价|管理体系|服务认证|体系认证)|商品售后服务评价"),
    ("PRODUCT", r"产品认证|CCC认证|强制性产品认证|有机产品认证"),
)
_STANDARDS = tuple((f, re.compile(p, re.I)) for f, p in STANDARDS)
_NAMES = tuple((f, re.compile(p, re.I)) for f, p in NAMES)
_COMBINED = re.compile(r"三体系|(?<![A-Za-z])QES(?![A-Za-z])|QEO(?![A-Za-z])|(?<![A-Za-z])Q/E/S(?![A-Za-z])|(?<![A-Za-z])QEMS(?![A-Za-z])")
_LETTERS = re.compile(r"(?<![A-Za-z0-9])([QES](?:\s*[/、+,]\s*[QES]){1,2})(?![A-Za-z0-9])")
ORDER = ("QMS", "EMS", "OHSMS", "FSMS", "HACCP", "ISMS", "ITSMS", "EnMS", "IPMS", "MMS",
         "SERVICE", "PRODUCT")


def _mask_identifiers(text: str) -> str:
    """Blank auditor registration numbers: `2019-2-EMS-1056789` names a person's field, not the doc's."""
    for start, end, _ in reversed(identifiers.find_reg_nos(text)):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


# `质量、环境、职业健康安全管理体系`: one 管理体系 shared by a list of field words.
_SHARED = re.compile(r"((?:(?:质量|环境|职业健康安全|食品安全|信息安全|能源|知识产权|测量)[、,，和及与/]){1,5}"
                     r"(?:质量|环境|职业健康安全|食品安全|信息安全|能源|知识产权|测量))管理体系")
_SHARED_WORD = {"质量": "QMS", "环境": "EMS", "职业健康安全": "OHSMS", "食品安全": "FSMS",
                "信息安全": "ISMS", "能源": "EnMS", "知识产权": "IPMS", "测量": "MMS"}


def fields_in(text: str, names: bool = True) -> list[str]:
    """The fields the text names, in the canonical order; `names=False` counts only standard
    designations (for running text)."""
    text = _mask_identifiers(text)
    found = {f for f, p in _STANDARDS if p.search(text)}
    if not names:
        return [f for f in ORDER if f in found]
    found |= {f for f, p in _NAMES if p.search(text)}
    for m in _SHARED.finditer(text):
        found |= {_SHARED_WORD[w] for w in re.split(r"[、,，和及与/]", m.group(1)) if w in _SHARED_WORD}
    if _COMBINED.search(text):
        found |= {"QMS", "EMS", "OHSMS"}
    for m in _LETTERS.finditer(text):
        found |= {PREFIX_FIELD[ch] for ch in re.findall(r"[QES]", m.group(1))}
    for m in FIELD_PREFIX_RE.finditer(text):
        found.add(PREFIX_FIELD[m.group(1).upper()])
    return [f for f in ORDER if f in found]
