"""Per specialty code: who was certified in it, the audits, the auditors who audited it, and its
most frequent nonconformities with example statements (what an auditor preparing an audit in the
code asks of the archive). A code matches itself and every code below it (`17.10` → 17.10.02).

Codes are read in one table version (the 2020 table unless told): a case coded in the legacy table
counts for the legacy code of the same number, never for the 2020 code (their meanings differ).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ..catalog import Catalog
from ..clauses import clause_titles
from . import records as rec
from .cases import Case, build_cases
from .scopes import lookup_code
from .summary import key_control_points, laws_and_standards


def cases_in_code(catalog: Catalog, code: str, version: str = "2020",
                  cases: list[Case] | None = None) -> list[Case]:
    """The cases coded with `code` or a code below it, in `version`, oldest first."""
    if cases is None:
        org_ids = [r[0] for r in catalog.db.execute(
            "select distinct d.org_id from document_codes c join documents d on d.id = c.doc_id "
            "where d.org_id is not null and (c.code = ? or c.code like ?)", [code, code + ".%"])]
        cases = build_cases(catalog, org_ids) if org_ids else []
    found = [c for c in cases if c.code_table in (version, None)
             and any(k == code or k.startswith(code + ".") for k in c.codes)]
    return sorted(found, key=lambda c: (c.start or "", c.id))


def code_profile(catalog: Catalog, code: str, version: str = "2020", clauses: int = 10,
                 examples: int = 3, cases: list[Case] | None = None) -> dict[str, Any]:
    """Everything the archive knows about one code (see the module docstring)."""
    found = cases_in_code(catalog, code, version, cases)
    return {"code": code, "table": version, "info": lookup_code(code, version),
            **cases_profile(catalog, found, clauses, examples)}


def cases_profile(catalog: Catalog, found: list[Case], clauses: int = 10, examples: int = 3,
                  field: str | None = None) -> dict[str, Any]:
    """The profile of any set of cases (a code's, a field's): organisations, audits, auditors,
    frequent nonconformity clauses (of `field` only, when given), key control points, laws."""
    orgs: dict[str, dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    auditors: dict[str, dict[str, Any]] = {}
    clause_count: Counter[tuple[str | None, str]] = Counter()
    statements: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for c in found:
        o = orgs.setdefault(c.org["id"], {**c.org, "cases": 0, "first_audit": c.start, "fields": []})
        o["cases"] += 1
        o["fields"] = sorted(set(o["fields"]) | set(c.fields))
        for a in c.audits:
            audits.append({"case_id": c.id, "org": c.org["name"], "fields": c.fields, "stage": a.stage,
                           "start": a.start, "end": a.end,
                           "leader": next((m["name"] for m in a.team if m["role"] == "leader"), None)})
            for m in a.team:
                p = auditors.setdefault(m["name"], {"name": m["name"], "reg_no": m["reg_no"], "audits": 0,
                                                    "roles": Counter(), "organisations": set(), "last": None})
                p["reg_no"] = p["reg_no"] or m["reg_no"]
                p["audits"] += 1
                p["roles"][m["role"] or "unknown"] += 1
                p["organisations"].add(c.org["id"])
                p["last"] = max(filter(None, (p["last"], a.start)), default=None)
            for f in a.findings:
                if f["kind"] != "nonconformity" or not f["clause"] or (field and f["field"] != field):
                    continue
                key = (f["field"], f["clause"])
                clause_count[key] += 1
                if f["statement"] and len(statements[key]) < examples and f["statement"] not in statements[key]:
                    statements[key].append(f["statement"])
    titles = clause_titles()
    report_ids = [d["id"] for c in found for a in c.audits for d in a.documents if d["doc_type"] == "audit_report"]
    texts = rec.page_texts(catalog, report_ids)
    first = found[0] if found else None
    return {
        "organisations": sorted(orgs.values(), key=lambda o: (o["first_audit"] or "", o["name"] or "")),
        "cases": [{"id": c.id, "org": c.org["name"], "fields": c.fields, "cycle": c.cycle,
                   "start": c.start, "end": c.end, "scope": c.scope, "codes": c.codes} for c in found],
        "first_case": {"id": first.id, "org": first.org["name"], "start": first.start} if first else None,
        "audits": sorted(audits, key=lambda a: (a["start"] or "", a["org"] or "")),
        "auditors": sorted(({**p, "roles": dict(p["roles"]), "organisations": len(p["organisations"])}
                            for p in auditors.values()), key=lambda p: (-p["audits"], p["name"])),
        "nonconformities": [{"field": fld, "clause": cl, "title": titles.get((fld, cl)), "count": n,
                             "examples": statements[(fld, cl)]}
                            for (fld, cl), n in sorted(clause_count.items(), key=lambda kv: (-kv[1], kv[0][1]))][:clauses],
        "key_control_points": [{"point": p.point, "reports": len(p.doc_ids), "notes": p.notes[:3]}
                               for p in key_control_points(texts)][:15],
        "laws_and_standards": [p.point for p in laws_and_standards(texts)][:15],
    }
