"""Pages over the mining layer: 案例 cases (search, timeline and summary) and the scope lookup."""
from __future__ import annotations

import io
import re
from typing import Any

from flask import Response, flash, get_flashed_messages, redirect, render_template, request, url_for

from archive.messages import message, weight_name
from archive.mining.cases import find_cases, get_case, list_cases
from archive.mining.matching import load_weights, matching_report, save_weights
from archive.mining.scopes import scope_query
from archive.mining.summary import case_summary
from archive.models import FIELDS
from indexer.related import similar_cases

from .app import state
from .auth import audit, requires
from .labels import TABLE_NAMES
from .pages import bp
from .requests import ApiError
from .rights import shown_case_summary

MAX_LISTED = 200
CASES_PER_PAGE = 50


@bp.get("/cases")
@requires("read_metadata")
def cases_page() -> str:
    st = state()
    args = request.args
    q = args.get("q", "").strip()
    if q:
        cases = find_cases(st.catalog(), q)
        return render_template("cases.html", q=q, cases=cases[:MAX_LISTED], more=max(0, len(cases) - MAX_LISTED))
    field_, code, year = args.get("field") or None, args.get("code") or None, args.get("year") or None
    if field_ and field_ not in FIELDS:
        raise ApiError(400, "bad_request", message("cases.unknown_field", field=field_))
    if code and not re.fullmatch(r"\d{2}(\.\d{2}){0,2}", code):
        raise ApiError(400, "bad_request", message("code.format"))
    if year and not re.fullmatch(r"\d{4}", year):
        raise ApiError(400, "bad_request", message("cases.bad_year"))
    page = int(args["page"]) if re.fullmatch(r"[0-9]{1,4}", args.get("page", "")) and int(args["page"]) > 0 else 1
    listing = list_cases(st.catalog(), field_, code, year, args.get("incomplete") == "1",
                         offset=(page - 1) * CASES_PER_PAGE, limit=CASES_PER_PAGE)
    last = max(1, -(-listing.total // CASES_PER_PAGE))
    active = {"field": field_, "code": code, "year": year, "incomplete": "1" if args.get("incomplete") == "1" else None}

    def link(**changes: Any) -> str:
        """This list's URL with one filter toggled (or another page)."""
        values = {k: v for k, v in {**active, "page": None, **changes}.items() if v}
        return url_for("pages.cases_page", **values)
    return render_template("cases.html", q="", cases=listing.cases, listing=listing, page=min(page, last),
                           last=last, active=active, link=link)


@bp.get("/cases/<case_id>")
@requires("read_metadata")
def case_page(case_id: str) -> str:
    st = state()
    audit("view_case", case_id)
    case = get_case(st.catalog(), case_id) if re.fullmatch(r"[0-9a-f]{8}-[A-Za-z+]+-\d+", case_id) else None
    if case is None:
        raise ApiError(404, "not_found", message("case.not_found", case_id=case_id))
    summary = shown_case_summary(
        case_summary(st.catalog(), case, similar=lambda c: similar_cases(st.index(), st.catalog(), c.to_dict())))
    return render_template("case.html", s=summary, c=summary["case"])


@bp.get("/scope/lookup")
@requires("search")
def scope_lookup() -> str:
    st = state()
    q = request.args.get("q", "").strip()
    result: dict[str, Any] | None = None
    if q:
        if len(q) > 400:
            raise ApiError(400, "bad_request", message("scope.query_too_long", max=400))
        result = scope_query(q, st.catalog(), st.home.models_dir)
    return render_template("scope_lookup.html", q=q, result=result)


SCALAR_WEIGHTS = ("alpha", "cooperation_weight", "cluster_weight", "policy_weight", "integration", "capacity",
                  "threshold", "window_years", "default_availability", "default_cooperation")
MAP_WEIGHTS = ("availability", "cooperation", "policy")


@bp.get("/matching")
@requires("search")
def matching_page() -> str:
    st = state()
    weights = load_weights(st.home.root)
    report = matching_report(st.catalog(), weights)
    return render_template("matching.html", report=report, formula=message("matching.formula"),
                           weights=weights.to_dict(), scalars=SCALAR_WEIGHTS,
                           maps=MAP_WEIGHTS, only_flagged=request.args.get("flagged") == "1",
                           flashed=get_flashed_messages(with_categories=True, category_filter=["message", "error"]))


def _map_lines(raw: str) -> dict[str, float]:
    """'name = 0.5' lines → {name: 0.5} (blank lines ignored)."""
    out: dict[str, float] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.rpartition("=")
        if not sep or not key.strip():
            raise ValueError(message("weights.map_line", line=line.strip()))
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ValueError(message("weights.map_value", line=line.strip())) from None
    return out


def _number(key: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(message("weights.not_number", label=weight_name(key), key=key, value=raw.strip()[:20])) from None


@bp.post("/matching")
@requires("manage_users")
def matching_weights() -> Response:
    st = state()
    try:
        updates: dict[str, Any] = {k: _number(k, request.form[k]) for k in SCALAR_WEIGHTS if request.form.get(k, "").strip()}
        updates |= {k: _map_lines(request.form.get(k, "")) for k in MAP_WEIGHTS}
        weights = load_weights(st.home.root).with_updates(updates)
    except (ValueError, TypeError) as exc:
        flash(message("weights.invalid", detail=exc), "error")          # from the server, never from the URL
        return redirect(url_for("pages.matching_page"), code=303)
    save_weights(st.home.root, weights)
    audit("matching_weights", "", ", ".join(f"{k}={updates[k]}" for k in SCALAR_WEIGHTS if k in updates))
    flash(message("weights.saved"), "message")
    return redirect(url_for("pages.matching_page"), code=303)


# -- training packs (培训资料): the page download and /api/v1/exports/training share this ---------

TRAINING_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "md": "text/markdown; charset=utf-8"}


def training_download(args) -> Response:
    """Check code/field/format/anonymise (400 bad, 404 unknown code), build the pack, send it."""
    from flask import send_file

    from archive.mining.scopes import lookup_code
    from archive.mining.training import CODE_SHAPE, TrainingError, build_pack, file_name, render, resolve_field

    code, fld = args.get("code", "").strip(), args.get("field", "").strip()
    fmt, version = args.get("format", "docx") or "docx", args.get("table") or "2020"
    anonymise = args.get("anonymise", "") in ("1", "true", "yes", "on")
    if bool(code) == bool(fld) or fmt not in TRAINING_TYPES or version not in ("2020", "legacy") \
            or args.get("anonymise", "") not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ApiError(400, "bad_request", message("training.bad_request"))
    try:
        if code and not CODE_SHAPE.match(code):
            raise ApiError(400, "bad_request", message("code.bad", code=code[:20]))
        if code and lookup_code(code, version) is None:
            raise ApiError(404, "not_found", message("code.not_in_table", code=code, table=TABLE_NAMES[version]))
        fld = resolve_field(fld) if fld else None
        pack = build_pack(state().catalog(), code=code or None, field=fld, version=version, anonymise=anonymise)
    except TrainingError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    audit("export", code or fld or "", message("log.export_training", format=fmt, anonymised="，脱敏" if anonymise else ""))
    return send_file(io.BytesIO(render(pack, fmt)), mimetype=TRAINING_TYPES[fmt], as_attachment=True,
                     download_name=file_name(code or fld or "", fmt, anonymise), max_age=0)


@bp.get("/export/training")
@requires("export")
def training_export() -> Response:
    return training_download(request.args)
