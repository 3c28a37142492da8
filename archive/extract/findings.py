"""Findings: nonconformities and observations, each with clause, field, severity and statement.

Two sources: the labelled blocks of an NCR form (条款 / 不符合事实描述 / 严重程度), and findings
tables in audit reports (a header naming 条款 and 描述 columns).
"""
from __future__ import annotations

import re

from .. import clauses
from ..codes import PREFIX_FIELD
from ..models import Finding
from ..text import compact
from . import checkbox, labels
from .schemes import fields_in

MINOR = ("一般", "轻微", "次要", "minor", "轻度")
MAJOR = ("严重", "主要", "major", "重大")


def severity_of(text: str) -> str | None:
    c = compact(checkbox.resolve(text)).lower()
    is_minor = any(w in c for w in MINOR)
    is_major = any(w in c for w in MAJOR) and not re.search(r"(不|非)严重", c)
    if is_minor == is_major:
        return None
    return "minor" if is_minor else "major"


def _statement_values(lines: list[str]) -> list[tuple[int, str]]:
    pattern = labels.label_re(labels.STATEMENT)
    out = []
    for i, line in enumerate(lines):
        m = pattern.search(line)
        if m and (m.start() == 0 or line[: m.start()].strip() == ""):
            out.append((i, labels.block_value(lines, i, line[m.end():])))
    return [(i, v) for i, v in out if len(v) >= 4]


def findings_from_form(lines: list[str], doc_field: str | None, observation: bool) -> list[Finding]:
    """NCR / observation forms: one finding per 条款 label, matched with its statement and severity."""
    standards = [(i, f[0]) for i, v in labels.find_values(lines, labels.FIELDS)
                 if len(f := fields_in(v)) == 1]

    def field_near(line_no: int, lo: int, hi: int) -> str | None:
        """The standard stated in the finding's own block, nearest its clause line."""
        near = sorted(((abs(i - line_no), f) for i, f in standards if lo < i < hi))
        return near[0][1] if near else doc_field

    clause_hits = []
    for i, value in labels.find_values(lines, labels.CLAUSE):
        own = fields_in(value) if value else []
        found = clauses.find_clauses(value, own[0] if own else doc_field)
        if found:
            clause_hits.append((i, found[0], own[0] if len(own) == 1 else None))
    statements = _statement_values(lines)
    severities = [(i, severity_of(v)) for i, v in labels.find_values(lines, labels.SEVERITY)]
    severities = [(i, s) for i, s in severities if s]
    if not clause_hits and not statements:
        return []
    anchors = clause_hits or [(i, None, None) for i, _ in statements]
    out = []
    for k, (line_no, clause, field) in enumerate(anchors):
        nxt = anchors[k + 1][0] if k + 1 < len(anchors) else len(lines)
        prev = anchors[k - 1][0] if k else -1
        field = field or field_near(line_no, prev, nxt)
        statement = next((v for i, v in statements if line_no <= i < nxt), None)
        if statement is None:
            statement = next((v for i, v in statements if prev < i < line_no), None)
        severity = None
        if not observation:
            severity = next((s for i, s in severities if line_no <= i < nxt), None)
            if severity is None:
                severity = next((s for i, s in severities if prev < i < line_no), None)
        out.append(Finding(clause=clause, field=field, severity=severity, statement=statement))
    return out


_H_CLAUSE = ("条款", "条款号", "标准条款", "不符合条款", "对应条款")
_H_TEXT = ("不符合事实", "事实描述", "描述", "不符合项描述", "不符合事实描述", "内容", "问题描述",
           "不符合项")
_H_SEV = ("严重程度", "性质", "类型", "程度", "类别", "级别", "不符合类型", "不符合性质")
_H_FIELD = ("体系", "领域", "标准", "认证领域", "管理体系", "审核依据")


def _col(header: list[str], words: tuple[str, ...]) -> int | None:
    cells = [compact(c) for c in header]
    for i, c in enumerate(cells):
        if c in words:
            return i
    for i, c in enumerate(cells):
        if any(w in c for w in words):
            return i
    return None


def findings_from_table(table: list[list[str]], doc_field: str | None) -> list[Finding]:
    for h, header in enumerate(table[:2]):
        c_clause, c_text = _col(header, _H_CLAUSE), _col(header, _H_TEXT)
        if c_clause is None or c_text is None or c_clause == c_text:
            continue
        c_sev, c_field = _col(header, _H_SEV), _col(header, _H_FIELD)
        out = []
        for row in table[h + 1:]:
            cell = lambda c: row[c] if c is not None and c < len(row) else ""
            letter = compact(cell(c_field)).upper() if c_field is not None else ""
            field = PREFIX_FIELD.get(letter) or (fields_in(cell(c_field)) or [None])[0]
            field = field or (fields_in(cell(c_clause)) or [doc_field])[0]
            found = clauses.find_clauses(cell(c_clause), field)
            statement = cell(c_text).strip()
            if not found or not statement:
                continue
            out.append(Finding(clause=found[0], field=field, severity=severity_of(cell(c_sev)),
                               statement=statement))
        return out
    return []
