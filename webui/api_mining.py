"""API endpoints over the mining layer: cases and scope lookups (contract in DESIGN.md)."""
from __future__ import annotations

import re

from flask import Response, jsonify, request

from archive.messages import message
from archive.mining.cases import find_cases, get_case
from archive.mining.matching import load_weights, matching_report
from archive.mining.percode import code_profile
from archive.mining.scopes import lookup_code, scope_query, suggest_codes
from archive.mining.summary import case_summary
from indexer.related import similar_cases

from .api import bp
from .app import state
from .auth import audit, requires
from .labels import TABLE_NAMES
from .requests import ApiError, json_body
from .rights import shown_case_summary, shown_profile

MAX_TEXT = 2000


@bp.get("/cases")
@requires("read_metadata")
def api_cases() -> Response:
    q = request.args.get("q", "").strip()
    if not q:
        raise ApiError(400, "bad_request", message("case.query_needed"))
    cases = find_cases(state().catalog(), q)
    return jsonify({"query": q, "cases": [{k: v for k, v in c.to_dict().items() if k != "audits"}
                                          | {"audits": [{"stage": a.stage, "start": a.start, "end": a.end,
                                                         "missing": a.missing} for a in c.audits]}
                                          for c in cases]})


@bp.get("/cases/<case_id>")
@requires("read_metadata")
def api_case(case_id: str) -> Response:
    st = state()
    audit("view_case", case_id, "api")
    case = get_case(st.catalog(), case_id) if re.fullmatch(r"[0-9a-f]{8}-[A-Za-z+]+-\d+", case_id) else None
    if case is None:
        raise ApiError(404, "not_found", message("case.not_found", case_id=case_id))
    return jsonify(shown_case_summary(case_summary(
        st.catalog(), case, similar=lambda c: similar_cases(st.index(), st.catalog(), c.to_dict()))))


@bp.get("/scopes/<code>")
@requires("search")
def api_scope(code: str) -> Response:
    table = request.args.get("table")
    if table not in (None, "2020", "legacy"):
        raise ApiError(400, "bad_request", message("code.bad_table"))
    info = lookup_code(code, table) if re.fullmatch(r"\d{2}(\.\d{2}){0,2}", code) else None
    if info is None:
        raise ApiError(404, "not_found", message("code.not_in_table", code=code, table=TABLE_NAMES.get(table or "", "")))
    return jsonify(info)


@bp.get("/scopes")
@requires("search")
def api_scopes() -> Response:
    st = state()
    q = request.args.get("q", "").strip()
    if not q or len(q) > MAX_TEXT:
        raise ApiError(400, "bad_request", message("scope.query", max=MAX_TEXT))
    return jsonify(scope_query(q, st.catalog(), st.home.models_dir))


@bp.post("/scopes/suggest")
@requires("search")
def api_suggest() -> Response:
    st = state()
    body = json_body(request)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise ApiError(400, "bad_request", message("scope.suggest_body", max=MAX_TEXT))
    limit = body.get("limit", 5)
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        raise ApiError(400, "bad_request", message("scope.suggest_limit"))
    return jsonify({"text": text, "matches": suggest_codes(text, st.catalog(), st.home.models_dir, limit)})


@bp.get("/scopes/<code>/profile")
@requires("read_metadata")
def api_code_profile(code: str) -> Response:
    table = request.args.get("table") or "2020"
    if table not in ("2020", "legacy") or not re.fullmatch(r"\d{2}(\.\d{2}){0,2}", code):
        raise ApiError(404, "not_found", message("code.bad", code=code) if table in ("2020", "legacy")
                       else message("code.bad_table"))
    if lookup_code(code, table) is None:
        raise ApiError(404, "not_found", message("code.not_in_table", code=code, table=TABLE_NAMES[table]))
    return jsonify(shown_profile(code_profile(state().catalog(), code, table)))


@bp.get("/matching")
@requires("search")
def api_matching() -> Response:
    st = state()
    codes = [c for c in request.args.getlist("code") if c]
    if any(not re.fullmatch(r"\d{2}(\.\d{2}){0,2}", c) for c in codes):
        raise ApiError(400, "bad_request", message("matching.bad_code"))
    return jsonify(matching_report(st.catalog(), load_weights(st.home.root), codes or None))


@bp.get("/exports/training")
@requires("export")
def api_training_export() -> Response:
    from .pages_mining import training_download

    return training_download(request.args)
