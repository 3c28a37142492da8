"""Figures about the archive as a whole, read from the catalogue: totals, documents by field and
year, findings by clause, the busiest specialty codes, and the code tree with the archive's counts.

Everything here is one or two SQL statements over the catalogue (no index needed), so the
statistics and scope pages stay correct even while the index is being rebuilt.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog
from .codes import table_2020, table_legacy

# The year of a document: its audit, else its certificate's issue date.
_YEAR = "substr(coalesce(d.audit_start, d.issue_date), 1, 4)"


def code_name(code: str, version: str | None = None) -> str | None:
    """The name of a code in the table it was read in (2020 unless said otherwise)."""
    first, second = (table_legacy(), table_2020()) if version == "legacy" else (table_2020(), table_legacy())
    entry = first.get(code) or second.get(code)
    return entry.name if entry else None


def overview(catalog: Catalog) -> dict[str, int]:
    """Totals shown at the top of the statistics page."""
    q = lambda sql: catalog.db.execute(sql).fetchone()[0] or 0  # noqa: E731
    return {
        "documents": q("select count(*) from documents"),
        "pages": q("select sum(pages) from documents"),
        "ocr_pages": q("select sum(ocr_pages) from documents"),
        "organisations": q("select count(*) from organisations"),
        "certificates": q("select count(*) from certificates"),
        "audits": q("select count(*) from audits"),
        "auditors": q("select count(*) from auditors"),
        "findings": q("select count(*) from findings"),
        "failures": q("select count(*) from failures"),
    }


def documents_by_year(catalog: Catalog) -> list[dict[str, Any]]:
    """[{year, documents}] oldest first; documents without a date are left out."""
    rows = catalog.db.execute(
        f"select {_YEAR} as year, count(*) from documents d where year is not null "
        "group by year order by year").fetchall()
    return [{"year": y, "documents": n} for y, n in rows]


def documents_by_field_year(catalog: Catalog) -> dict[str, Any]:
    """A field × year table of document counts: {"years": [...], "fields": {field: {year: n}},
    "totals": {field: n}} (a document in two fields counts in both)."""
    rows = catalog.db.execute(
        f"select f.value as field, {_YEAR} as year, count(*) from documents d, json_each(d.fields) f "
        "group by field, year").fetchall()
    years = sorted({y for _, y, _ in rows if y})
    table: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for fld, year, n in rows:
        table.setdefault(fld, {})[year or "—"] = n
        totals[fld] = totals.get(fld, 0) + n
    order = sorted(table, key=lambda f: -totals[f])
    return {"years": years, "fields": {f: table[f] for f in order}, "totals": {f: totals[f] for f in order}}


def findings_by_clause(catalog: Catalog, limit: int = 20) -> list[dict[str, Any]]:
    """The clauses most often cited by nonconformities, per standard (clause 8.2 of ISO 14001 is
    not clause 8.2 of ISO 45001), with their major count and the clause's title."""
    from .clauses import clause_titles

    titles = clause_titles()
    rows = catalog.db.execute(
        "select field, clause, count(*) as n, sum(severity = 'major') as majors "
        "from findings where clause is not null "
        "group by field, clause order by n desc, field, clause limit ?", [limit]).fetchall()
    return [{"clause": c, "field": f, "label": f"{f} {c}" if f else c, "title": titles.get((f, c)),
             "findings": n, "major": m or 0, "fields": [f] if f else []}
            for f, c, n, m in rows]


def busiest_codes(catalog: Catalog, limit: int = 20) -> list[dict[str, Any]]:
    """The minor codes with the most documents, with their organisations."""
    rows = catalog.db.execute(
        "select c.code, c.code_table, count(distinct c.doc_id) as docs, count(distinct d.org_id) "
        "from document_codes c join documents d on d.id = c.doc_id "
        "group by c.code order by docs desc, c.code limit ?", [limit]).fetchall()
    return [{"code": code, "name": code_name(code, version), "documents": docs, "organisations": orgs}
            for code, version, docs, orgs in rows]


@dataclass
class CodeNode:
    """One code of the tree with the archive's counts (documents, organisations) under it."""

    code: str
    name: str
    level: str
    documents: int = 0
    organisations: int = 0
    children: list["CodeNode"] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level, "documents": self.documents,
                "organisations": self.organisations, "children": [c.to_dict() for c in self.children]}


def _counts(catalog: Catalog, column: str, version: str) -> dict[str, tuple[int, int]]:
    rows = catalog.db.execute(
        f"select c.{column}, count(distinct c.doc_id), count(distinct d.org_id) from document_codes c "
        "join documents d on d.id = c.doc_id where coalesce(c.code_table, '2020') = ? "
        f"group by c.{column}", [version]).fetchall()
    return {code: (docs, orgs) for code, docs, orgs in rows}


def code_tree(catalog: Catalog, version: str = "2020") -> list[CodeNode]:
    """The whole code table (2020: 39 → 280 → 615; legacy: its minor codes under their digits)
    as a tree, each node with the documents and organisations of the archive under it."""
    counts: dict[str, tuple[int, int]] = {}
    for column in ("major", "middle", "code"):
        counts.update(_counts(catalog, column, version))
    nodes: dict[str, CodeNode] = {}
    roots: list[CodeNode] = []
    entries = table_2020() if version == "2020" else table_legacy()
    if version != "2020":       # the legacy table lists minor codes only: add their parents
        names = {e.code[:2]: code_name(e.code[:2]) or "" for e in entries.values()}
        names |= {e.code[:5]: "" for e in entries.values()}
        parents = [(c, n, "major" if len(c) == 2 else "middle") for c, n in sorted(names.items())]
    else:
        parents = []
    for code, name, level in parents + [(e.code, e.name, e.level) for e in entries.values()]:
        docs, orgs = counts.get(code, (0, 0))
        node = CodeNode(code, name, level, docs, orgs)
        nodes[code] = node
        parent = nodes.get(code.rsplit(".", 1)[0]) if "." in code else None
        (parent.children if parent else roots).append(node)
    return roots


def code_path(code: str, version: str = "2020") -> list[dict[str, str]]:
    """The code and its parents, top first, with names: for breadcrumbs."""
    parts = code.split(".")
    return [{"code": c, "name": code_name(c, version) or ""}
            for c in (".".join(parts[:i]) for i in range(1, len(parts) + 1))]
