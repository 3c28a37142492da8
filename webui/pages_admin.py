"""Logging in and out, and the administrator's pages: users and the access log."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Response, redirect, render_template, request, url_for

from archive.accounts import ROLES, AccountError, slow_down

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
        except AccountError:
            audit("login_locked", name, status=429)
            return render_template("login.html", error="尝试次数过多，请 15 分钟后再试。", name=name), 429
        if user is not None:
            log_in(user)
            state().accounts().log(user.name, "login", "", "", request.remote_addr)
            return redirect(_safe_next(request.form.get("next")))
        slow_down()
        audit("login_failed", name, status=401)
        error = "用户名或密码不正确。"
        return render_template("login.html", error=error, name=name, next=request.form.get("next")), 401
    return render_template("login.html", error=None, name="", next=request.args.get("next"))


@bp.post("/logout")
def logout() -> Response:
    if current_user():
        audit("logout")
    log_out()
    return redirect(url_for("auth.login"))


@bp.get("/admin/users")
@requires("manage_users")
def users() -> str:
    acc = state().accounts()
    return render_template("admin_users.html", users=acc.users(), tokens=acc.tokens(), roles=ROLES,
                           message=request.args.get("message"), error=request.args.get("error"))


@bp.post("/admin/users")
@requires("manage_users")
def users_post() -> Response:
    acc = state().accounts()
    action, name = request.form.get("action"), request.form.get("name", "").strip()
    try:
        if action == "add":
            acc.add_user(name, request.form.get("role", ""), request.form.get("password", ""))
            message = f"已添加用户 {name}"
        elif action == "role":
            acc.set_role(name, request.form.get("role", ""))
            message = f"已修改 {name} 的角色"
        elif action == "password":
            acc.set_password(name, request.form.get("password", ""))
            message = f"已重设 {name} 的密码"
        elif action in ("disable", "enable"):
            if name == current_user().name:
                raise AccountError("不能停用自己的账号")
            acc.set_disabled(name, action == "disable")
            if action == "disable":
                acc.revoke_tokens(name)
            message = f"已{'停用' if action == 'disable' else '启用'} {name}"
        elif action == "revoke":
            message = f"已吊销 {name} 的 {acc.revoke_tokens(name)} 个 API 令牌"
        else:
            raise AccountError("未知操作")
    except AccountError as exc:
        return redirect(url_for("auth.users", error=str(exc)), code=303)
    audit(f"user_{action}", name)
    return redirect(url_for("auth.users", message=message), code=303)


@bp.get("/admin/log")
@requires("manage_users")
def access_log() -> str:
    rows = state().accounts().access_log(limit=500, user=request.args.get("user") or None,
                                         action=request.args.get("action") or None)
    return render_template("admin_log.html", rows=rows, user=request.args.get("user", ""),
                           action=request.args.get("action", ""))
