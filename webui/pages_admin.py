"""Logging in and out, and the administrator's pages: users and the access log."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Response, flash, get_flashed_messages, redirect, render_template, request, url_for

from archive.accounts import ROLE_NAMES, ROLES, AccountError, LoginThrottled, slow_down
from archive.messages import message

from .app import state
from .auth import audit, current_user, load_session_user, log_in, log_out, requires

bp = Blueprint("auth", __name__)
bp.before_request(load_session_user)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host): a login link cannot send anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return url_for("pages.search_page")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        try:
            user = state().accounts().authenticate(name, password, request.remote_addr)
        except LoginThrottled as exc:
            audit("login_locked", name)
            page = render_template("login.html", error=str(exc), name=name, next=request.form.get("next"))
            return Response(page, 429, headers={"Retry-After": str(exc.seconds)})
        if user is not None:
            log_in(user)
            audit("login")
            return redirect(_safe_next(request.form.get("next")))
        slow_down()
        audit("login_failed", name)
        error = message("account.wrong_login")
        return render_template("login.html", error=error, name=name, next=request.form.get("next")), 401
    return render_template("login.html", error=None, name="", next=request.args.get("next"))


@bp.post("/logout")
def logout() -> Response:
    if current_user():
        audit("logout")
    log_out()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires("search")
def own_password() -> str | Response:
    """Every user changes their own password: the current one first (counted like a login, so
    the form cannot be used to guess it), then the new one twice."""
    acc, user = state().accounts(), current_user()
    if request.method == "GET":
        return render_template("account_password.html", error=None,
                               flashed=get_flashed_messages(with_categories=True, category_filter=["message"]))
    new, again = request.form.get("new", ""), request.form.get("again", "")
    try:
        if acc.authenticate(user.name, request.form.get("current", ""), request.remote_addr) is None:
            slow_down()
            audit("password_failed", user.name)
            return render_template("account_password.html", error=message("account.wrong_password"), flashed=[]), 401
        if new != again:
            raise AccountError(message("account.passwords_differ"))
        acc.set_password(user.name, new)
    except LoginThrottled as exc:
        return Response(render_template("account_password.html", error=str(exc), flashed=[]), 429,
                        headers={"Retry-After": str(exc.seconds)})
    except AccountError as exc:
        return render_template("account_password.html", error=str(exc), flashed=[]), 400
    log_in(acc.user(user.name))          # this browser stays logged in; the user's other sessions end
    audit("password_changed", user.name)
    flash(message("account.password_changed_own"), "message")
    return redirect(url_for("auth.own_password"), code=303)


@bp.get("/admin/users")
@requires("manage_users")
def users() -> str:
    acc = state().accounts()
    flashed = get_flashed_messages(with_categories=True, category_filter=["message", "error"])
    return render_template("admin_users.html", users=acc.users(), tokens=acc.tokens(), roles=ROLES,
                           throttled=acc.throttled(), flashed=flashed)


@bp.post("/admin/users")
@requires("manage_users")
def users_post() -> Response:
    acc = state().accounts()
    action, name = request.form.get("action"), request.form.get("name", "").strip()
    try:
        if action == "add":
            acc.add_user(name, request.form.get("role", ""), request.form.get("password", ""))
            done = message("account.added", name=name)
        elif action == "role":
            role = request.form.get("role", "")
            acc.set_role(name, role)
            done = message("account.role_changed", name=name, role=ROLE_NAMES.get(role, role))
        elif action == "password":
            acc.set_password(name, request.form.get("password", ""))
            done = message("account.password_set", name=name)
        elif action in ("disable", "enable"):
            if name == current_user().name:
                raise AccountError(message("account.not_yourself"))
            acc.set_disabled(name, action == "disable")
            done = message("account.disabled" if action == "disable" else "account.enabled", name=name)
        elif action == "revoke":
            done = message("account.tokens_revoked", name=name, count=acc.revoke_tokens(name))
        elif action == "unlock":
            acc.unlock(name)
            done = message("account.unlocked", name=name)
        else:
            raise AccountError(message("account.unknown_action"))
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.users"), code=303)
    if name == current_user().name and action in ("role", "password"):
        log_in(acc.user(name))          # this browser stays logged in (with the new role); the others end
    audit(f"user_{action}", name)
    flash(done, "message")
    return redirect(url_for("auth.users"), code=303)


@bp.get("/admin/log")
@requires("manage_users")
def access_log() -> str:
    rows = state().accounts().access_log(limit=500, user=request.args.get("user") or None,
                                         action=request.args.get("action") or None)
    return render_template("admin_log.html", rows=rows, user=request.args.get("user", ""),
                           action=request.args.get("action", ""))
