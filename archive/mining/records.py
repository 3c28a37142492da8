"""Reading the catalogue for mining: light document rows, teams, findings and page text in bulk.

Mining reads many documents at once; `Catalog.get_document` builds one full object per call, so
these read the same tables in a few queries instead (read-only; the catalogue stays the truth).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..catalog import Catalog

_CHUNK = 500


@dataclass
class Record:
    """One catalogued document, as mining needs it (no pages, team or findings)."""

    id: str
    path: str
    filename: str
    doc_type: str | None
    title: str | None
    org_id: str | None
    org_name: str | None
    credit_code: str | None
    cert_no: str | None
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

    def brief(self) -> dict[str, Any]:
        """What a timeline shows of a document."""
        return {"id": self.id, "doc_type": self.doc_type, "title": self.title,
                "filename": self.filename, "path": self.path, "cert_nos": self.cert_nos}


_COLUMNS = ("id, path, filename, doc_type, title, org_id, org_name, credit_code, cert_no, cert_nos, "
            "fields, codes, code_table, stage, audit_start, audit_end, issue_date, expiry_date, scope")


def _record(row: tuple) -> Record:
    (doc_id, path, filename, doc_type, title, org_id, org_name, credit, cert_no, cert_nos, fields,
     codes, code_table, stage, start, end, issued, expires, scope) = row
    return Record(doc_id, path, filename, doc_type, title, org_id, org_name, credit, cert_no,
                  json.loads(cert_nos or "[]"), json.loads(fields or "[]"), json.loads(codes or "[]"),
                  code_table, stage, start, end, issued, expires, scope)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i: i + _CHUNK]


def load_records(catalog: Catalog, org_ids: Iterable[str] | None = None) -> list[Record]:
    """Documents with status ok, of the given organisations (all when None), in path order."""
    sql = f"select {_COLUMNS} from documents where status = 'ok'"
    if org_ids is None:
        return [_record(r) for r in catalog.db.execute(sql + " order by path")]
    out: list[Record] = []
    for chunk in _chunks(sorted(set(org_ids))):
        out += [_record(r) for r in catalog.db.execute(
            sql + f" and org_id in ({','.join('?' * len(chunk))})", chunk)]
    return sorted(out, key=lambda r: r.path)


def teams(catalog: Catalog, doc_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """doc id → its auditors [{name, role, reg_no, id}] in printed order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(doc_ids):
        for doc_id, aid, name, reg_no, role in catalog.db.execute(
                "select da.doc_id, a.id, a.name, a.reg_no, da.role from document_auditors da "
                f"join auditors a on a.id = da.auditor_id where da.doc_id in ({','.join('?' * len(chunk))}) "
                "order by da.doc_id, da.ord", chunk):
            out[doc_id].append({"name": name, "role": role, "reg_no": reg_no, "id": aid})
    return out


def findings(catalog: Catalog, doc_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """doc id → its findings [{clause, field, severity, statement}] in printed order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(doc_ids):
        for doc_id, clause, fld, severity, statement in catalog.db.execute(
                "select doc_id, clause, field, severity, statement from findings "
                f"where doc_id in ({','.join('?' * len(chunk))}) order by doc_id, ord", chunk):
            out[doc_id].append({"clause": clause, "field": fld, "severity": severity,
                                "statement": statement})
    return out


def page_texts(catalog: Catalog, doc_ids: list[str]) -> dict[str, list[str]]:
    """doc id → the normalised text of its pages, in page order."""
    out: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(doc_ids):
        for doc_id, text in catalog.db.execute(
                f"select doc_id, text from pages where doc_id in ({','.join('?' * len(chunk))}) "
                "order by doc_id, number", chunk):
            out[doc_id].append(text or "")
    return out
