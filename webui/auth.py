"""Authentication and authorisation for pages and API, CSRF protection, and the access log.

Pages use a signed session cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS) after a login
with name and password; the API uses `Authorization: Bearer <token>` and never cookies (so it is
exempt from CSRF, which only cookies make possible). Every view names the permission it needs
(`archive.accounts.PERMISSIONS`); a missing login is 401 (pages: the login form), a missing
permission 403.

A session cookie carries a random session id and its user's session generation, and counts
only while that is the user's current generation and the session was not ended
(`Accounts.session_user`): logging out ends the session (a copied cookie too); a new password
or role, or disabling the user, ends all of that user's sessions. The access log is written
after the response is known, with its real status, one row per action and target a request,
and a row for every refusal (401, 403).
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Callable

from flask import Flask, Response, abort, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from archive.accounts import User

csrf = CSRFProtect()
SESSION_HOURS = 8
log = logging.getLogger(__name__)


def secret_key(home_root: Path) -> bytes:
    """The key that signs session cookies: made once per data home, readable by its owner only.
    The server's workers start together and each asks for it: the key is written whole to a
    file of its own and then linked into place, which only one of them can do, so that every
    worker reads the same complete key (creating it in place let one worker fail on the file
    another had just made, or read it still empty)."""
    path = home_root / "secret_key"
    if not path.exists():
        home_root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=home_root, prefix=".secret_key.")     # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            os.link(tmp, path)
        except FileExistsError:
            pass                                  # another worker's key is in place: use it
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def init_auth(app: Flask, home_root: Path) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(home_root)
    app.config.update(
        SESSION_COOKIE_NAME="auditarchive_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("AUDITARCHIVE_SECURE_COOKIES", "") == "1" or
        app.config.get("SESSION_COOKIE_SECURE", False),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    app.after_request(write_access_log)
    app.jinja_env.globals["can"] = lambda permission: bool(current_user() and current_user().can(permission))


def current_user() -> User | None:
    return g.get("user")


def load_session_user() -> None:
    """Pages: the user of the session cookie, if still enabled and the session not ended."""
    from .app import state

    g.user = state().accounts().session_user(session.get("user"), session.get("gen"), session.get("sid"))
    if g.user is None and "user" in session:
        session.clear()           # an ended session: its cookie is dropped


def log_in(user: User) -> None:
    from .app import state

    session.clear()               # a new session on login (no fixation)
    session.permanent = True
    session["user"] = user.name
    session["gen"] = state().accounts().session_generation(user.name)
    session["sid"] = secrets.token_urlsafe(18)
    g.user = user


def log_out() -> None:
    """End this session for good: not only is the cookie dropped, a copy of it stops working too."""
    from .app import state

    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        try:
            state().accounts().end_session(sid)
        except Exception as exc:              # a read-only data home: the cookie still goes
            log.warning("could not record the end of a session: %s", exc)
    session.clear()


def requires(permission: str) -> Callable:
    """A page that needs a login with `permission` (the login form otherwise; 403 without the right)."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not user.can(permission):
                abort(403)
            return view(*args, **kwargs)
        wrapper.permission = permission          # type: ignore[attr-defined]
        return wrapper
    return decorate


def audit(action: str, target: str = "", detail: str = "", user: str | None = None) -> None:
    """Add to the access log: who (`user`, else the request's user) did what to which document or
    query. Written once the response is known, with its status; the same action on the same
    target is recorded once a request (a page that searches several times is one search)."""
    entries = g.setdefault("audit_entries", [])
    if any(e["action"] == action and e["target"] == target for e in entries):
        return
    entries.append({"action": action, "target": target, "detail": detail, "user": user})


def write_access_log(response: Response) -> Response:
    """After every request: its access-log rows with the response's status, or one `refused` row
    for a 401 or 403 nobody recorded. A log that cannot be written (a read-only data home) costs
    only the row, never the response."""
    from .app import state

    entries = g.pop("audit_entries", [])
    if not entries and response.status_code in (401, 403):
        entries = [{"action": "refused", "target": request.path, "detail": request.method, "user": None}]
    if not entries:
        return response
    user = current_user()
    try:
        accounts = state().accounts()
        for e in entries:
            accounts.log(e["user"] or (user.name if user else None), e["action"], e["target"], e["detail"],
                         request.remote_addr, response.status_code)
    except Exception as exc:
        log.warning("could not write the access log: %s", exc)
    return response
