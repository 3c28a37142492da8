"""The document object of DESIGN.md (contract) as data classes, and its vocabularies.

Everything that leaves the `archive` layer as JSON goes through `Document.to_dict()`, so the
shape lives in one place. Unknown values are `None` or `[]`, never guesses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FIELDS = ("QMS", "EMS", "OHSMS", "FSMS", "HACCP", "ISMS", "ITSMS", "EnMS", "IPMS", "MMS",
          "SERVICE", "PRODUCT")
STAGES = ("stage1", "stage2", "surveillance1", "surveillance2", "surveillance3",
          "recertification", "special")
DOC_TYPES = ("application", "contract_review", "audit_programme", "audit_notice", "audit_plan",
             "checklist", "attendance", "document_review", "ncr", "observation", "audit_report",
             "decision", "certificate", "other")
ROLES = ("leader", "member", "expert")
SEVERITIES = ("minor", "major")
STATUSES = ("ok", "no_text", "failed")


@dataclass
class Org:
    name: str | None = None
    credit_code: str | None = None


@dataclass
class Auditor:
    name: str
    role: str | None = None
    reg_no: str | None = None


@dataclass
class Finding:
    clause: str | None
    field: str | None = None
    severity: str | None = None
    statement: str | None = None


@dataclass
class Document:
    """One ingested document: what the file is and what it says."""

    id: str
    path: str
    filename: str
    pages: int = 0
    format: str = "pdf"                    # archive.readers.dispatch.DOCUMENT_KINDS, read from the content
    doc_type: str | None = None
    title: str | None = None
    org: Org = field(default_factory=Org)
    cert_no: str | None = None
    cert_nos: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    code_table: str | None = None          # "2020", "legacy", or "ambiguous"
    stage: str | None = None
    audit_start: str | None = None
    audit_end: str | None = None
    issue_date: str | None = None          # certificates: 发证日期
    expiry_date: str | None = None         # certificates: 有效期至
    scope: str | None = None               # 认证范围 wording
    auditors: list[Auditor] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ocr_pages: int = 0
    status: str = "ok"
    warnings: list[str] = field(default_factory=list)   # what extraction doubted (e.g. codes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Document":
        data = dict(data)
        data["org"] = Org(**(data.get("org") or {}))
        data["auditors"] = [Auditor(**a) for a in data.get("auditors") or []]
        data["findings"] = [Finding(**f) for f in data.get("findings") or []]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
