"""Authentication and authorisation for pages and API, CSRF protection, and the access log.

Pages use a signed session cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS) after a login
with name and password; the API uses `Authorization: Bearer <token>` and never cookies (so it is
exempt from CSRF, which only cookies make possible). Every view names the permission it needs
(`archive.accounts.PERMISSIONS`); a missing login is 401 (pages: the login form), a missing
permission 403.
"""
from __future__ import annotations

import functools
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Callable

from flask import Flask, abort, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from archive.accounts import User

csrf = CSRFProtect()
SESSION_HOURS = 8


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
    app.jinja_env.globals["can"] = lambda permission: bool(current_user() and current_user().can(permission))


def current_user() -> User | None:
    return g.get("user")


def load_session_user() -> None:
    """Pages: the user of the session cookie, if still enabled."""
    from .app import state

    g.user = state().accounts().user(session.get("user"))


def log_in(user: User) -> None:
    session.clear()               # a new session on login (no fixation)
    session.permanent = True
    session["user"] = user.name


def log_out() -> None:
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


def audit(action: str, target: str = "", detail: str = "", status: int = 200) -> None:
    """Add to the access log: who did what to which document or query."""
    from .app import state

    user = current_user()
    state().accounts().log(user.name if user else None, action, target, detail, request.remote_addr, status)
