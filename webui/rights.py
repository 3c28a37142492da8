"""The role table applied to what a view returns: the rules live in `archive.visibility`; this
module asks the current user what they may see and applies them, the same way for pages and API."""
from __future__ import annotations

from typing import Any

from archive import visibility
from archive.models import Document

from .app import state
from .auth import current_user


def may_read_content() -> bool:
    """Page text, images and anything quoted from documents (auditors and admins)."""
    user = current_user()
    return bool(user and user.can("read_content"))


def sees_full_paths() -> bool:
    """Where originals lie on the server: admins only; others see the path from the ingest root."""
    user = current_user()
    return bool(user and user.can("manage_users"))


def _roots() -> list[str]:
    st = state()
    return [*st.catalog().ingest_roots(), str(st.home.files_dir)]


def shown_path(path: str, roots: list[str] | None = None) -> str:
    return path if sees_full_paths() else visibility.display_path(path, _roots() if roots is None else roots)


def shown_document(doc: Document | dict[str, Any]) -> dict[str, Any]:
    """A document object (or a search hit) as the current user may see it."""
    data = doc.to_dict() if isinstance(doc, Document) else dict(doc)
    if not may_read_content():
        data = visibility.document_metadata(data)
    if "path" in data and not sees_full_paths():
        data["path"] = shown_path(data["path"])
    return data


def shown_hits(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roots = None if sees_full_paths() else _roots()
    content = may_read_content()
    out = []
    for hit in hits:
        hit = dict(hit) if content else visibility.document_metadata(hit)
        if roots is not None and "path" in hit:
            hit["path"] = visibility.display_path(hit["path"], roots)
        out.append(hit)
    return out


def shown_search(result: dict[str, Any]) -> dict[str, Any]:
    out = dict(result)
    out["hits"] = shown_hits(result.get("hits", []))
    if not may_read_content():
        out[visibility.CONTENT_HIDDEN] = True
    return out


def _case_paths(case: dict[str, Any]) -> dict[str, Any]:
    """A case whose documents' paths are shown from the ingest root on (non-admins)."""
    if sees_full_paths():
        return case
    roots = _roots()
    out = dict(case)
    out["audits"] = [{**a, "documents": [{**d, "path": visibility.display_path(d["path"], roots)}
                                         if d.get("path") else d for d in a.get("documents", [])]}
                     for a in case.get("audits", [])]
    return out


def shown_case(case: dict[str, Any]) -> dict[str, Any]:
    case = _case_paths(case)
    return case if may_read_content() else visibility.case_metadata(case)


def shown_case_summary(summary: dict[str, Any]) -> dict[str, Any]:
    if isinstance(summary.get("case"), dict):
        summary = {**summary, "case": _case_paths(summary["case"])}
    return summary if may_read_content() else visibility.case_summary_metadata(summary)


def shown_profile(profile: dict[str, Any]) -> dict[str, Any]:
    return profile if may_read_content() else visibility.code_profile_metadata(profile)
