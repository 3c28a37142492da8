"""Field extraction: pages of normalised text (and tables) → the document object's fields.

Rules are written from the domain (the labels real forms use, table headers, identifier formats),
not from one template; a value that cannot be read with confidence stays `None`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from .. import codes as codes_mod
from .. import identifiers
from ..dates import find_date_range, find_dates
from ..models import Auditor, Finding, Org
from ..text import compact
from . import checkbox, doctype, labels, people, stage
from .findings import findings_from_form, findings_from_table
from .orgs import find_credit_code, find_org_name
from .schemes import ORDER, fields_in

if TYPE_CHECKING:          # the PDF readers are not loaded to read a query's stage words
    from ..pdf import Page

@dataclass
class Extracted:
    doc_type: str | None = None
    title: str | None = None
    org: Org = field(default_factory=Org)
    cert_no: str | None = None
    cert_nos: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    code_table: str | None = None
    stage: str | None = None
    audit_start: str | None = None
    audit_end: str | None = None
    issue_date: str | None = None
    expiry_date: str | None = None
    scope: str | None = None
    auditors: list[Auditor] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def wants_tables(page_text: str) -> bool:
    """Pages worth the slow table reader: a findings table or a team table header."""
    for line in page_text.split("\n"):
        c = compact(line)
        if len(c) > 60:
            continue
        if "条款" in c and re.search(r"描述|事实|不符合项", c) and not c.startswith("条款"):
            return True
        if "姓名" in c and re.search(r"身份|角色|职务|组别|分工", c):
            return True
    return False


# `对贵组织的质量管理体系进行…审核`, `建立的环境管理体系符合标准`: sentences that state the field.
_PROSE_FIELDS = re.compile(r"对贵(?:组织|公司|单位)的(.{2,120}?)进行|建立的(.{2,30}?)符合")


# Any label about what is certified: `申请认证的体系:`, `认证领域/体系:`, `审核依据标准:`.
_FIELD_LABEL = re.compile(r"^[^:]{0,10}(?:体系|领域|标准|依据|准则|认证项目)[^:]{0,4}:")


def find_fields(lines: list[str], title: str | None, text: str, audit_record: bool) -> list[str]:
    """Fields from where a document states them: labels, headings, tick boxes, code prefixes,
    the sentences of letters and certificates; and, for audit records, standards cited anywhere."""
    ticked = checkbox.drop_unticked(text)
    stated = [v for _, v in labels.find_values(lines, labels.FIELDS)]
    stated += [title or ""] + lines[:6]
    stated += [line for line in lines if _FIELD_LABEL.match(line)]
    stated += [line for line in ticked.split("\n") if checkbox.has_boxes(line)]
    stated += [m.field for m in codes_mod.find_codes(text) if m.field]
    joined = ticked.replace("\n", "")
    stated += [g for m in _PROSE_FIELDS.finditer(joined) for g in m.groups() if g]
    found = set(fields_in(checkbox.drop_unticked("\n".join(stated))))
    if audit_record:       # lines joined: a designation like GB/T 19001 may wrap
        found |= set(fields_in(joined, names=False))
    return [f for f in ORDER if f in found]


# A letter's sentence: `我公司定于2018年07月23日~25日对贵组织的QMS进行初审二阶段现场审核`.
_PROSE_AUDIT = re.compile(r"(?:定于|拟于|计划于|将于|兹定于)\s*(.{6,40}?)\s*(?:对贵|到贵|在贵|赴贵)")
_PROSE_STAGE = re.compile(r"进行(.{0,24}?)(?:现场)?审核|对[^,。]{2,60}?的([^,。的]{0,12}?)审核")


def audit_period(lines: list[str], text: str) -> tuple[date, date] | None:
    """The on-site audit period: a labelled date (range), else a notice letter's sentence."""
    for _, value in labels.find_values(lines, labels.AUDIT_DATES):
        found = find_date_range(value)
        if found:
            return found
    m = _PROSE_AUDIT.search(text.replace("\n", ""))
    return find_date_range(m.group(1)) if m else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _labelled_date(lines: list[str], labs: tuple[str, ...]) -> date | None:
    for _, value in labels.find_values(lines, labs):
        dates = find_dates(value)
        if dates:
            return dates[0]
    return None


def extract(pages: list[Page]) -> Extracted:
    """Everything the document object says about a document, read from its pages."""
    out = Extracted()
    lines = labels.join_wrapped_labels([line for p in pages for line in p.text.split("\n") if line.strip()])
    text = "\n".join(p.text for p in pages)
    tables = [t for p in pages for t in p.tables]
    if not lines:          # no text layer (a scan before OCR): nothing is known
        return out
    first = pages[0].text.split("\n") if pages else []
    out.doc_type, out.title = doctype.classify(first)

    name = find_org_name(lines)
    out.org = Org(name=name, credit_code=find_credit_code(lines, name))
    out.cert_nos = identifiers.find_cert_nos(text)
    out.cert_no = out.cert_nos[0] if out.cert_nos else None
    audit_record = out.doc_type not in (None, "other")
    out.fields = find_fields(lines, out.title, text, audit_record)
    out.stage = stage.find_stage(lines, out.title, headings=audit_record)
    if out.stage is None:
        m = _PROSE_STAGE.search(text.replace("\n", ""))
        said = next((g for g in m.groups() if g is not None), "") if m else ""
        out.stage = stage.single(said, text) if said else None

    found = audit_period(lines, text)
    if found:
        out.audit_start, out.audit_end = _iso(found[0]), _iso(found[1])
    issued = _labelled_date(lines, labels.ISSUED)
    expires = _labelled_date(lines, labels.EXPIRES)
    if out.doc_type == "certificate":
        out.issue_date, out.expiry_date = _iso(issued), _iso(expires)

    scope_hits = labels.find_values(lines, labels.SCOPE, colon_required=True)
    if scope_hits:
        i, first_value = scope_hits[0]
        line = lines[i]
        start = labels.label_re(labels.SCOPE, True).search(line)
        out.scope = labels.block_value(lines, i, labels.cut_at_next_label(line[start.end():])) \
            if start else first_value
        out.scope = out.scope or None

    mentioned = list(dict.fromkeys(m.code for m in codes_mod.find_codes(text)))
    # The table is read by the audit's (or certificate's) date; a form's release date says nothing.
    day = date.fromisoformat(out.audit_start) if out.audit_start else issued
    out.codes, out.code_table, warnings = codes_mod.resolve_codes(mentioned, day)
    out.warnings += warnings

    out.auditors = people.find_team(lines, tables)

    doc_field = out.fields[0] if len(out.fields) == 1 else None
    if out.doc_type in ("ncr", "observation"):
        out.findings = findings_from_form(lines, doc_field, out.doc_type == "observation")
    for table in tables:
        if out.doc_type in ("ncr", "observation") and out.findings:
            break
        out.findings += findings_from_table(table, doc_field)
    return out
