"""What a role that may not read document content sees: metadata, never text from the pages.

The role table (README, `archive.accounts.PERMISSIONS`) lets a viewer search and read metadata
but never page text. Page text leaks through more than the page view: snippets, the pages a word
matched on, summary sentences, findings' statements, key control points and audit points with
their notes, laws cited, and example statements all quote documents. These functions take the
JSON-ready objects the archive and mining layers return and drop every such part, so that the
API, the pages and exports can apply one rule. What stays: the document object's extracted
fields (organisation, certificate, fields, codes, stage, dates, team, findings' clause and
severity), counts, and names of codes and clauses from the reference tables.

Paths: the folder an original was ingested from says where the body's archive lives on the
server; a non-admin sees the path from the ingest root on (`display_path`).
"""
from __future__ import annotations

import copy
from pathlib import PurePath
from typing import Any, Iterable

CONTENT_HIDDEN = "content_hidden"    # set on an object whose document text was left out


def _without_statements(findings: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k != "statement"} for f in findings or []]


def document_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    """A document object (or a search hit) without text from its pages: findings keep their
    clause, field and severity; snippets and matched pages are emptied."""
    out = dict(doc)
    if "findings" in out:
        out["findings"] = _without_statements(out["findings"])
    if "snippets" in out:
        out["snippets"] = []
    if "matched_pages" in out:
        out["matched_pages"] = []
    return out


def search_result_metadata(result: dict[str, Any]) -> dict[str, Any]:
    """A search object whose hits carry no snippets, matched pages or statements."""
    out = dict(result)
    out["hits"] = [document_metadata(h) for h in result.get("hits", [])]
    out[CONTENT_HIDDEN] = True
    return out


def case_metadata(case: dict[str, Any]) -> dict[str, Any]:
    """A case (`Case.to_dict()`) without its findings' statements."""
    out = copy.deepcopy(case)
    for audit in out.get("audits") or []:
        if isinstance(audit, dict) and "findings" in audit:
            audit["findings"] = _without_statements(audit["findings"])
    return out


def case_summary_metadata(summary: dict[str, Any]) -> dict[str, Any]:
    """`case_summary(...)` without summary sentences, key control points, audit points, laws
    cited and statements: the case's audits, teams, records and similar cases stay."""
    out = dict(summary)
    if isinstance(out.get("case"), dict):
        out["case"] = case_metadata(out["case"])
    for key in ("summary", "key_control_points", "audit_points", "laws_and_standards"):
        if key in out:
            out[key] = []
    out[CONTENT_HIDDEN] = True
    return out


def code_profile_metadata(profile: dict[str, Any]) -> dict[str, Any]:
    """`code_profile(...)` with its nonconformities counted but not quoted, and without key
    control points and laws (they are read from the reports' text)."""
    out = dict(profile)
    if "nonconformities" in out:
        out["nonconformities"] = [{**n, "examples": []} for n in out["nonconformities"] or []]
    for key in ("key_control_points", "laws_and_standards"):
        if key in out:
            out[key] = []
    out[CONTENT_HIDDEN] = True
    return out


def display_path(path: str, roots: Iterable[str]) -> str:
    """`path` from the ingest root that holds it on (`样本/2019-…/审核报告.pdf`): the folder names
    of the archive, not where it lies on the server. A path under no known root shows its file
    name only."""
    p = PurePath(path)
    best: PurePath | None = None
    for raw in roots:
        root = PurePath(raw)
        if p != root and p.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    if best is None:
        return p.name
    return str(PurePath(best.name or "/") / p.relative_to(best))
