"""Audit stage from the many ways forms write it (一阶段, 监一, 第二次监督审核, 复评 …)."""
from __future__ import annotations

import re

from ..text import compact
from . import checkbox, labels

_N = {"一": 1, "1": 1, "首": 1, "二": 2, "2": 2, "两": 2, "三": 3, "3": 3}
PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("stage1", re.compile(r"(第?[一1]阶段|阶段[一1]|stage ?1|初审一|一审)", re.I)),
    ("stage2", re.compile(r"(第?[二2]阶段|阶段[二2]|stage ?2|初审二|二审)", re.I)),
    ("surveillance", re.compile(r"第?([一二三123首])次(监督|年度监督)|监督审核?\(?第?([一二三123])次?\)?|监([一二三123])(?!体)|监督\s*([123])|surveillance ?([123])", re.I)),
    ("recertification", re.compile(r"再认证|再次认证|复评|重新认证|换证审核|再注册|recertification", re.I)),
    ("special", re.compile(r"特殊审核|变更审核|扩(项|大范围)审核|转换审核|转证审核|专项审核|缩小范围")),
)
_COUNT = re.compile(r"(?:监督)?(?:次数|频次|第)\s*[:]?\s*([一二三123])\s*次?")


def stages_in(text: str) -> list[str]:
    """Every distinct stage named in a piece of text, in order of appearance."""
    c = compact(checkbox.resolve(text))
    found: list[tuple[int, str]] = []
    for name, pattern in PATTERNS:
        for m in pattern.finditer(c):
            if name == "surveillance":
                digit = next(g for g in m.groups() if g)
                name_n = f"surveillance{_N[digit]}"
                found.append((m.start(), name_n))
            else:
                found.append((m.start(), name))
    out: list[str] = []
    for _, name in sorted(found):
        if name not in out:
            out.append(name)
    return out


def single(text: str, context: str) -> str | None:
    stages = stages_in(text)
    if len(stages) == 1:
        return stages[0]
    if not stages:
        c = compact(checkbox.resolve(text))
        if re.search(r"监督", c):
            count = _COUNT.search(compact(context))
            if count:
                return f"surveillance{_N[count.group(1)]}"
    return None


def find_stage(lines: list[str], title: str | None, headings: bool = True) -> str | None:
    """Stage from a 审核类型-style label first, then the title, then (if `headings`) the heading lines."""
    context = "\n".join(lines[:60])
    for _, value in labels.find_values(lines, labels.STAGE):
        stage = single(value, context)
        if stage:
            return stage
    if title:
        stage = single(title, context)
        if stage:
            return stage
    for line in lines[:8] if headings else []:
        if ":" in line:
            continue
        stage = single(line, context)
        if stage:
            return stage
    return None
