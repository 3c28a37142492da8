"""Facet counts shaped for the sidebar: labelled value lists, and the specialty-code facet as a
tree (major → middle → minor) with the code table's names."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.stats import code_name

from .labels import FIELD_NAMES, STAGE_NAMES, TYPE_NAMES

_LABELS = {"field": FIELD_NAMES, "stage": STAGE_NAMES, "type": TYPE_NAMES}


def facet_lists(facets: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """[{name, items: [{value, label, count}]}] for every facet but the code tree; years newest first."""
    out = []
    for name in ("field", "stage", "type", "year"):
        counts = facets.get(name) or {}
        items = [{"value": v, "label": _LABELS.get(name, {}).get(v, v), "count": n} for v, n in counts.items()]
        if name == "year":
            items.sort(key=lambda i: i["value"], reverse=True)
        out.append({"name": name, "items": items})
    return out


@dataclass
class CodeFacet:
    code: str
    name: str
    count: int
    open: bool = False
    active: bool = False
    children: list["CodeFacet"] = field(default_factory=list)


def code_facet_tree(counts: dict[str, int], active: str | None = None) -> list[CodeFacet]:
    """The code facet's three levels nested; the branch holding the active filter is open."""
    nodes: dict[str, CodeFacet] = {}
    roots: list[CodeFacet] = []
    for code in sorted(counts, key=lambda c: (len(c), -counts[c], c)):
        node = CodeFacet(code, code_name(code) or "", counts[code])
        if active:
            node.active = code == active
            node.open = active == code or active.startswith(code + ".")
        nodes[code] = node
        parent = nodes.get(code.rsplit(".", 1)[0]) if "." in code else None
        (parent.children if parent else roots).append(node)
    return roots
