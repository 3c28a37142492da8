"""Helpers shared by the mining tests: the truth's audits by catalogued document, catalogue copies."""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path


def truth_by_doc(catalog, root: Path, truth: dict) -> dict[str, dict]:
    """Catalogued document id → the truth's audit it belongs to."""
    audit_of = {rel: a for a in truth["audits"] for rel in a["documents"]}
    out = {}
    for doc_id, path in catalog.db.execute("select id, path from documents"):
        rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        if rel in audit_of:
            out[doc_id] = audit_of[rel]
    return out


def clusters(assignment: dict[str, object]) -> set[frozenset[str]]:
    groups: dict[object, set[str]] = defaultdict(set)
    for key, value in assignment.items():
        groups[value].add(key)
    return {frozenset(g) for g in groups.values()}


def copy_catalog(catalog, dest: Path):
    """A private copy of a catalogue (the SQLite backup API: WAL content included)."""
    from archive.catalog import Catalog

    dest.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(dest)
    catalog.db.conn.backup(target)
    target.close()
    return Catalog(dest)


def delete_document(catalog, doc_id: str) -> None:
    """Remove a document and what hangs on it, as if it had never been filed."""
    with catalog.db.conn:
        for table in ("pages", "document_codes", "document_auditors", "findings", "certificates", "files"):
            catalog.db.execute(f"delete from [{table}] where doc_id = ?", [doc_id])
        catalog.db.execute("delete from documents where id = ?", [doc_id])
