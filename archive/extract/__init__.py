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
from .schemes import ORDER, fields_in

if TYPE_CHECKING:          # the PDF readers are not loaded to read a query's stage words
    from ..pdf import Page

_ORG_SUFFIX = re.compile(
    r"(有限责任公司|股份有限公司|有限公司|公司|集团|厂|研究院|研究所|设计院|医院|学校|学院|大学|中心|合作社|"
    r"事务所|协会|商行|商店|门市部|经营部|分公司|Co\.,?\s*Ltd\.?|Limited|Inc\.?)$", re.I)
_ORG_SHAPE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9()·&.,\- ]{4,80}$")
_STRONG_ORG = ("受审核方", "受审核方名称", "组织名称", "受审核组织", "受审核组织名称", "获证组织",
               "获证组织名称", "申请组织", "申请组织名称")


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


def _clean_org(value: str) -> str:
    """An organisation name as registered: seal remarks dropped, Chinese (full-width) brackets."""
    value = re.sub(r"\((?:盖章|公章|签章|签字|印章|章)\)", "", value)
    value = re.split(r"\s{2,}|(?<=[公司厂])\s", value)[0]
    value = value.strip(" .,;:、")
    if re.search(r"[\u4e00-\u9fff]", value):
        value = re.sub(r"\(([^()]*[\u4e00-\u9fff][^()]*)\)", r"（\1）", value)
    return value


def _unwrap(value: str, next_line: str | None) -> str:
    """A name cut by a table cell's width: `…股份有限公` + next line `司`."""
    if next_line and not _ORG_SUFFIX.search(value):
        head = next_line.split(" ")[0]
        if len(head) <= 6 and _ORG_SUFFIX.search(value + head):
            return value + head
    return value


# `参加对南京某某有限公司的复评审核`: the organisation named in a sentence about its audit.
_PROSE_ORG = re.compile(r"对([^\s,;。:对]{4,60}?)的.{0,16}?(?:审核|认证)")


def find_org_name(lines: list[str]) -> str | None:
    pattern = labels.label_re(labels.ORG)
    for i, line in enumerate(lines):
        for m in pattern.finditer(line):
            label = compact(m.group(0)).rstrip(":")
            label = re.sub(r"\(.*", "", label)
            value = labels.cut_at_next_label(line[m.end():])
            if m.end() + len(value) >= len(line.rstrip()):
                value = _unwrap(value, lines[i + 1] if i + 1 < len(lines) else None)
            value = _clean_org(value)
            plain = value.replace("（", "(").replace("）", ")")
            if not value or not _ORG_SHAPE.match(plain) or not re.search(r"[\u4e00-\u9fff]", value):
                continue
            if _ORG_SUFFIX.search(value) or label in _STRONG_ORG:
                return value
    for line in lines[:12]:       # a letter's salutation: `致：某某有限公司` / `某某有限公司：`
        m = re.fullmatch(r"(?:致\s*:?\s*)?([^:\s]{4,60}?)\s*:?", line.strip())
        if m and (line.strip().endswith(":") or line.startswith("致")):
            value = _clean_org(m.group(1))
            if _ORG_SHAPE.match(value.replace("（", "(").replace("）", ")")) and _ORG_SUFFIX.search(value):
                return value
    whole = "\n".join(lines[:40])
    m = re.search(r"兹证明\s*:?\s*\n?\s*([^\n]{4,60}?)(?:\s|$|的)", whole)
    if m and _ORG_SUFFIX.search(_clean_org(m.group(1))):
        return _clean_org(m.group(1))
    for m in _PROSE_ORG.finditer(whole.replace("\n", "")):
        value = _clean_org(m.group(1))
        if _ORG_SUFFIX.search(value) and not value.startswith("贵"):
            return value
    return None


def _owner(lines: list[str], i: int) -> str | None:
    """The organisation a line sits with: a bare name line next to it (a letterhead's)."""
    for j in (i - 1, i + 1, i - 2):
        if 0 <= j < len(lines):
            line = lines[j].strip()
            if ":" not in line and " " not in line and _ORG_SUFFIX.search(line) and len(line) <= 40:
                return _clean_org(line)
    return None


def find_credit_code(lines: list[str], org_name: str | None) -> str | None:
    """The labelled credit code nearest the organisation's label. A code printed with another
    organisation's name (the certification body's letterhead or footer) is not the organisation's;
    an unlabelled code is not read."""
    codes = [(i, found[0]) for i, value in labels.find_values(lines, labels.CREDIT)
             if (found := identifiers.find_credit_codes(value.replace(" ", "")))]
    codes = [(i, c) for i, c in codes if (owner := _owner(lines, i)) is None or owner == org_name
             or (org_name and owner.endswith(org_name))]     # `兹证明某某公司` read as one line
    if not codes:
        return None
    org_lines = [i for i, _ in labels.find_values(lines, labels.ORG)]
    if not org_lines:
        return codes[0][1]
    return min(codes, key=lambda c: min(abs(c[0] - o) for o in org_lines))[1]


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
    lines = [line for p in pages for line in p.text.split("\n") if line.strip()]
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
