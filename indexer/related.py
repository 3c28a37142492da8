"""Cases like a case: the organisations whose documents the index finds most like the case's own
audit reports (more-like-this), each with its best matching document."""
from __future__ import annotations

from typing import Any

from archive.catalog import Catalog

from .build import IndexHandle
from .search import similar

REPORT_TYPES = ("audit_report", "ncr", "checklist")


def similar_cases(handle: IndexHandle, catalog: Catalog, case: dict[str, Any], top: int = 5) -> list[dict[str, Any]]:
    """[{org, doc_id, title, doc_type, score}] for other organisations, best first."""
    own_org = (case.get("org") or {}).get("name")
    docs = [d for a in case.get("audits", []) for d in a.get("documents", []) if d.get("doc_type") in REPORT_TYPES]
    docs.sort(key=lambda d: REPORT_TYPES.index(d["doc_type"]))
    best: dict[str, dict[str, Any]] = {}
    for d in docs[:3]:
        try:
            hits = similar(handle, catalog, d["id"], top=top * 3)
        except KeyError:             # not indexed yet
            continue
        for h in hits:
            org = h["org"]["name"]
            if not org or org == own_org:
                continue
            if org not in best or h["score"] > best[org]["score"]:
                best[org] = {"org": org, "doc_id": h["id"], "title": h["title"] or h["filename"],
                             "doc_type": h["doc_type"], "fields": h["fields"], "codes": h["codes"],
                             "score": h["score"]}
    return sorted(best.values(), key=lambda x: -x["score"])[:top]
