"""The Flask app factory: pages (`webui.pages`), the JSON API (`webui.api`), and the state they
share (the data home, a catalogue connection per thread, the index, the upload queue).

`create_app(home)` opens (or creates) the catalogue, brings the index up to date if it is absent
or was built by another version, and queues uploads left unprocessed by a previous run.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from archive.accounts import Accounts
from archive.catalog import Catalog
from archive.home import Home
from archive.pagerender import Renderer
from archive.uploads import MAX_UPLOAD_BYTES
from indexer import build
from indexer.pipeline import repair_interrupted

from .auth import csrf, init_auth
from .jobs import IngestQueue
from .labels import FILTERS, GLOBALS

log = logging.getLogger(__name__)


class AppState:
    """What every request needs, opened once per process (connections once per thread)."""

    def __init__(self, home: Home, start_queue: bool = True):
        self.home = home
        self._local = threading.local()
        self._lock = threading.Lock()
        self._handle: build.IndexHandle | None = None
        catalog = self.catalog()            # creates an empty catalogue in a new home
        if not build.index_exists(home.index_dir):
            log.info("building the search index from the catalogue at %s", home.catalog_path)
            build.reindex(catalog, home.index_dir)
        repair_interrupted(catalog, home.index_dir)     # an ingest killed before it indexed
        self.uploads = IngestQueue(home)
        self.renderer = Renderer()
        if start_queue:
            self.uploads.resume_pending(catalog)

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
                if not build.index_exists(self.home.index_dir):
                    build.reindex(self.catalog(), self.home.index_dir)
                self._handle = build.open_index(self.home.index_dir)
            return self._handle


def state() -> AppState:
    return current_app.extensions["auditarchive"]


def create_app(home: str | Path | None = None, config: dict[str, Any] | None = None) -> Flask:
    """The web app over the data home `home` (`--home`, $AUDITARCHIVE_HOME, ./auditarchive-data)."""
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES * 4 + 1024 * 1024,   # a few PDFs a request
        JSON_AS_ASCII=False,
        TEMPLATES_AUTO_RELOAD=False,
        START_UPLOAD_QUEUE=True,
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    located = Home.locate(home)
    app.extensions["auditarchive"] = AppState(located, app.config["START_UPLOAD_QUEUE"])
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
        return response

    return app


_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权访问", 429: "尝试次数过多", 404: "找不到", 405: "不支持的请求方法",
           413: "文件过大", 422: "无法处理", 500: "服务器内部错误"}

_PAGE_MESSAGES = {403: "当前账号的角色无权执行此操作；如需权限请联系管理员。", 404: "找不到这个页面或文件。",
                  405: "不支持这种请求方式。", 413: "上传的内容过大（单个文件不超过 100 MB）。"}


def _register_errors(app: Flask) -> None:
    """Errors as JSON under /api/, as a Chinese page elsewhere; never a stack trace."""
    from flask import jsonify, render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from indexer.build import IndexBusy
    from indexer.query import QueryError

    from .requests import ApiError

    def respond(status: int, code: str, message: str):
        if request.path.startswith("/api/"):
            response = jsonify({"error": {"code": code, "message": message}})
            response.status_code = status
            return response
        return render_template("error.html", status=status, title=_TITLES.get(status, "出错了"),
                               message=message), status

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return respond(exc.status, exc.code, exc.message)

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError):
        return respond(400, "bad_query", str(exc))

    @app.errorhandler(IndexBusy)
    def busy(exc: IndexBusy):
        return respond(503, "busy", "the index is being written by another process; try again shortly")

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return respond(400, "csrf", "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if not request.path.startswith("/api/"):
            message = _PAGE_MESSAGES.get(exc.code or 500, message)
        elif exc.code == 403:
            message = "the token's user lacks the permission this endpoint needs"
        return respond(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return respond(500, "internal", "an internal error occurred; it was logged")
