"""Pages over the mining layer: 案例 cases (search, timeline and summary) and the scope lookup."""
from __future__ import annotations

import re
from typing import Any

from flask import render_template, request

from archive.mining.cases import find_cases, get_case
from archive.mining.scopes import scope_query
from archive.mining.summary import case_summary
from indexer.related import similar_cases

from .app import state
from .auth import audit, requires
from .pages import bp
from .requests import ApiError

MAX_LISTED = 200


@bp.get("/cases")
@requires("read_metadata")
def cases_page() -> str:
    st = state()
    q = request.args.get("q", "").strip()
    cases = find_cases(st.catalog(), q) if q else []
    return render_template("cases.html", q=q, cases=cases[:MAX_LISTED], more=max(0, len(cases) - MAX_LISTED))


@bp.get("/cases/<case_id>")
@requires("read_metadata")
def case_page(case_id: str) -> str:
    st = state()
    audit("view_case", case_id)
    case = get_case(st.catalog(), case_id) if re.fullmatch(r"[0-9a-f]{8}-[A-Za-z+]+-\d+", case_id) else None
    if case is None:
        raise ApiError(404, "not_found", f"没有案例 {case_id}")
    summary = case_summary(st.catalog(), case, similar=lambda c: similar_cases(st.index(), st.catalog(), c.to_dict()))
    return render_template("case.html", s=summary, c=summary["case"])


@bp.get("/scope/lookup")
@requires("search")
def scope_lookup() -> str:
    st = state()
    q = request.args.get("q", "").strip()
    result: dict[str, Any] | None = None
    if q:
        if len(q) > 400:
            raise ApiError(400, "bad_request", "查询不能超过 400 个字符")
        result = scope_query(q, st.catalog(), st.home.models_dir)
    return render_template("scope_lookup.html", q=q, result=result)
