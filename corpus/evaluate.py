"""Score extracted documents against the sample archive's ground truth (truth.json).

Accuracy per field = the share of documents whose extracted value equals the truth exactly
(both unknown counts as equal). Lists whose order carries no meaning are compared as sets.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable

Getter = Callable[[dict[str, Any]], Any]


def _sorted(items: Iterable[tuple]) -> list[tuple]:
    """Sort tuples that may hold None (None sorts first)."""
    return sorted(items, key=lambda t: tuple((v is not None, v or "") for v in t))


def _team(d: dict[str, Any]) -> Any:
    return _sorted((a["name"], a.get("role")) for a in d.get("auditors") or [])


def _findings(d: dict[str, Any]) -> Any:
    return _sorted((f.get("clause"), f.get("severity")) for f in d.get("findings") or [])


FIELDS: dict[str, Getter] = {
    "doc_type": lambda d: d.get("doc_type"),
    "org_name": lambda d: (d.get("org") or {}).get("name"),
    "credit_code": lambda d: (d.get("org") or {}).get("credit_code"),
    "cert_no": lambda d: d.get("cert_no"),
    "fields": lambda d: sorted(d.get("fields") or []),
    "codes": lambda d: sorted(d.get("codes") or []),
    "stage": lambda d: d.get("stage"),
    "audit_dates": lambda d: (d.get("audit_start"), d.get("audit_end")),
    "auditors": _team,
    "auditor_reg_nos": lambda d: _sorted((a["name"], a.get("reg_no")) for a in d.get("auditors") or []),
    "findings": _findings,
    "finding_fields": lambda d: _sorted((f.get("clause"), f.get("field")) for f in d.get("findings") or []),
}
# The fields the ingestion issue holds to ≥ 0.95.
REQUIRED = ("doc_type", "org_name", "credit_code", "cert_no", "fields", "codes", "stage",
            "audit_dates", "auditors", "findings")


def score(truth: dict[str, dict[str, Any]], extracted: dict[str, dict[str, Any]]
          ) -> tuple[dict[str, float], list[tuple[str, str, Any, Any]]]:
    """(accuracy per field, mismatches as (relpath, field, truth, got)) over the truth's documents."""
    hits: Counter[str] = Counter()
    misses: list[tuple[str, str, Any, Any]] = []
    for rel, want in truth.items():
        got = extracted.get(rel, {})
        for name, get in FIELDS.items():
            if get(want) == get(got):
                hits[name] += 1
            else:
                misses.append((rel, name, get(want), get(got)))
    n = max(1, len(truth))
    return {name: hits[name] / n for name in FIELDS}, misses


def by_relpath(docs: Iterable[dict[str, Any]], root: str) -> dict[str, dict[str, Any]]:
    """Index document objects by their path relative to the sample's root folder."""
    from pathlib import Path

    base = Path(root).resolve()
    out = {}
    for d in docs:
        try:
            out[Path(d["path"]).resolve().relative_to(base).as_posix()] = d
        except ValueError:
            continue
    return out
