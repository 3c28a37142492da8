"""The Flask app factory: pages (`webui.pages`), the JSON API (`webui.api`), and the state they
share (the data home, a catalogue connection per thread, the index, the upload queue).

`create_app(home)` opens (or creates) the catalogue, brings the index up to date if it is absent
or was built by another version, and queues uploads left unprocessed by a previous run.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request

from archive.accounts import Accounts
from archive.catalog import Catalog
from archive.home import Home
from archive.messages import MESSAGES, message
from archive.pagerender import Renderer
from archive.uploads import MAX_REQUEST_BYTES
from indexer import build
from indexer.pipeline import repair_interrupted, watch_interrupted

from .auth import csrf, init_auth
from .jobs import IngestQueue
from .labels import FILTERS, GLOBALS

log = logging.getLogger(__name__)


class AppState:
    """What every request needs, opened once per process (connections once per thread)."""

    def __init__(self, home: Home, start_queue: bool = True, reconcile_seconds: float = 5.0):
        self.home = home
        self._local = threading.local()
        self._lock = threading.Lock()
        self._handle: build.IndexHandle | None = None
        catalog = self.catalog()            # creates an empty catalogue in a new home
        build.ensure_index(catalog, home.index_dir)
        repair_interrupted(catalog, home.index_dir)     # an ingest killed before it indexed
        self.uploads = IngestQueue(home)
        self.renderer = Renderer()
        if start_queue:
            self.uploads.resume_pending(catalog)
        self.stop = threading.Event()
        if reconcile_seconds:
            threading.Thread(target=watch_interrupted, name="index-reconciler", daemon=True,
                             args=(home.catalog_path, home.index_dir, self.stop, reconcile_seconds)).start()

    def catalog(self) -> Catalog:
        """This thread's connection to the catalogue (sqlite connections are not shared)."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            cat = self._local.catalog = Catalog(self.home.catalog_path)
        return cat

    def accounts(self) -> Accounts:
        """This thread's connection to users, tokens and the access log."""
        store = getattr(self._local, "accounts", None)
        if store is None:
            store = self._local.accounts = Accounts(self.home.auth_path)
        return store

    def index(self) -> build.IndexHandle:
        """The search index (built from the catalogue first if this process found none)."""
        with self._lock:
            # Checked once per process, not per request: a writer committing meanwhile replaces
            # the index's table of contents, and reading it mid-swap raised FileNotFoundError.
            if self._handle is None:
                self._handle = build.ensure_index(self.catalog(), self.home.index_dir)
            return self._handle


def state() -> AppState:
    return current_app.extensions["auditarchive"]


def create_app(home: str | Path | None = None, config: dict[str, Any] | None = None) -> Flask:
    """The web app over the data home `home` (`--home`, $AUDITARCHIVE_HOME, ./auditarchive-data)."""
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,      # one request: 100 MB of files and their framing
        JSON_AS_ASCII=False,
        TEMPLATES_AUTO_RELOAD=False,
        START_UPLOAD_QUEUE=True,
        RECONCILE_SECONDS=5.0,        # how often to look for an ingest that died before indexing
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    located = Home.locate(home)
    app.extensions["auditarchive"] = AppState(located, app.config["START_UPLOAD_QUEUE"],
                                                  app.config["RECONCILE_SECONDS"])
    init_auth(app, located.root)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(GLOBALS)

    from . import api, api_mining, pages, pages_admin, pages_mining  # noqa: F401 — they add routes

    app.register_blueprint(pages.bp)
    app.register_blueprint(pages_admin.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)            # bearer tokens, never cookies: nothing for a forged request to ride on

    _register_errors(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        if request.endpoint != "static":
            # Everything but the styles and the script is private to the user who asked (page
            # images and originals included): no shared cache may keep it, no browser store it.
            response.headers["Cache-Control"] = "private, no-store"
            response.headers.pop("Expires", None)
            response.vary.update(("Cookie", "Authorization"))
        return response

    return app


_API_HTTP = {403: "api.forbidden", 404: "api.not_found"}      # the API's own wording for these


def _title(status: int) -> str:
    """The heading of an error page (请求有误, 找不到 …)."""
    return message(f"title.{status}" if f"title.{status}" in MESSAGES else "title.other")


def _http_message(status: int, api: bool) -> str:
    """What an HTTP error says (werkzeug's English description is never shown): the API's wording
    for 403 and 404, the pages' otherwise, the status's title when neither has one."""
    key = _API_HTTP.get(status) if api else None
    key = key or (f"http.{status}" if f"http.{status}" in MESSAGES else None)
    return message(key) if key else _title(status)


def _register_errors(app: Flask) -> None:
    """Errors as JSON under /api/, as a Chinese page elsewhere; never a stack trace."""
    from flask import jsonify, render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from indexer.build import IndexBusy
    from indexer.query import QueryError

    from .requests import ApiError

    def respond(status: int, code: str, text: str):
        if request.path.startswith("/api/"):
            response = jsonify({"error": {"code": code, "message": text}})
            response.status_code = status
            return response
        return render_template("error.html", status=status, title=_title(status),
                               message=text), status

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return respond(exc.status, exc.code, exc.message)

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError):
        return respond(400, "bad_query", str(exc))

    @app.errorhandler(IndexBusy)
    def busy(exc: IndexBusy):
        return respond(503, "busy", message("http.busy"))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return respond(400, "csrf", message("http.csrf"))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return respond(exc.code or 500, code, _http_message(exc.code or 500, request.path.startswith("/api/")))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return respond(500, "internal", message("http.internal"))

    @app.errorhandler(OSError)
    @app.errorhandler(sqlite3.OperationalError)
    def write_failed(exc: Exception):
        """A data home that turned read-only: what needs to write answers 503 (reads go on)."""
        if not state().home.is_write_failure(exc):
            return unexpected(exc)
        log.warning("cannot write to the data home on %s: %s", request.path, exc)
        return respond(503, "read_only", message("http.read_only"))
