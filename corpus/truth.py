"""The ground truth of one document, recorded by the templates as they print."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class DocTruth:
    doc_type: str
    title: str | None = None
    org_name: str | None = None
    credit_code: str | None = None
    cert_nos: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    codes: list[str] = field(default_factory=list)
    code_table: str | None = None
    stage: str | None = None
    audit_start: dt.date | None = None
    audit_end: dt.date | None = None
    issue_date: dt.date | None = None
    expiry_date: dt.date | None = None
    scope: str | None = None
    auditors: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    def org(self, name: str, credit_code: str | None = None) -> None:
        self.org_name = self.org_name or name
        if credit_code:
            self.credit_code = credit_code

    def cert(self, cert_no: str) -> None:
        if cert_no not in self.cert_nos:
            self.cert_nos.append(cert_no)

    def add_fields(self, fields) -> None:
        self.fields.update(fields)

    def add_codes(self, codes: list[str], table: str) -> None:
        if not codes:
            return
        if self.code_table not in (None, table):
            raise ValueError("a document prints codes of one table only")
        self.code_table = table
        for c in codes:
            if c not in self.codes:
                self.codes.append(c)

    def dates(self, start: dt.date, end: dt.date) -> None:
        self.audit_start, self.audit_end = start, end

    def set_stage(self, stage: str | None) -> None:
        self.stage = stage

    def auditor(self, name: str, role: str | None = None, reg_no: str | None = None) -> None:
        """Add a named auditor; a later mention may add the role or registration number."""
        for a in self.auditors:
            if a["name"] == name:
                a["role"] = a["role"] or role
                a["reg_no"] = a["reg_no"] or reg_no
                return
        self.auditors.append({"name": name, "role": role, "reg_no": reg_no})

    def finding(self, clause: str | None, field_: str | None, severity: str | None, statement: str) -> None:
        self.findings.append({"clause": clause, "field": field_, "severity": severity,
                              "statement": statement})

    def to_dict(self, pages: int) -> dict:
        iso = lambda d: d.isoformat() if d else None     # noqa: E731
        return {
            "doc_type": self.doc_type,
            "title": self.title,
            "pages": pages,
            "org": {"name": self.org_name, "credit_code": self.credit_code},
            "cert_no": self.cert_nos[0] if self.cert_nos else None,
            "cert_nos": list(self.cert_nos),
            "fields": sorted(self.fields),
            "codes": list(self.codes),
            "code_table": self.code_table if self.codes else None,
            "stage": self.stage,
            "audit_start": iso(self.audit_start),
            "audit_end": iso(self.audit_end),
            "issue_date": iso(self.issue_date),
            "expiry_date": iso(self.expiry_date),
            "scope": self.scope,
            "auditors": [dict(a) for a in self.auditors],
            "findings": [dict(f) for f in self.findings],
            "ocr_pages": 0,
            "status": "ok",
        }
