"""What `auditarchive serve` needs from waitress beyond its public API, kept in one place.

`webui.worker` serves each gunicorn worker's listening sockets with `waitress.create_server(app,
map=..., sockets=[...], **adjustments)` and turns waitress's event loop itself. waitress reads
requests without a thread and closes connections idle for `channel_timeout`, but it has no
deadline for a request's head (a client sending one header line a second keeps its connection
forever), it buffers every body it is sent (before the app can look at the request) on as many
connections as it holds, and it answers its own errors (413 for a body over
`max_request_body_size`) in English plain text. This module adds the head deadline, a budget for
the bodies a worker buffers at once (one that would exceed it is answered 503 as soon as its head
ends, before its body is read), Chinese errors, and the few steps of a graceful stop.

It relies on these waitress 3.0 names (`REQUIRED`; tests/test_server.py checks they are there):

- `waitress.wasyncore.loop(timeout, use_poll, map, count)` and `close_all(map, ignore_all)`;
- `waitress.server.BaseWSGIServer`: `channel_class` (the class of each accepted connection),
  `accepting`, `task_dispatcher.shutdown(cancel_pending, timeout)`;
- `waitress.channel.HTTPChannel`: `received(data)`, `error_task_class`, `parser_class` (called
  as `parser_class(adj)`), and on an instance `request` (the request being read, or None),
  `requests` (read, not yet answered), `total_outbufs_len` and `will_close` (the loop's next pass
  closes the connection);
- `waitress.parser.HTTPRequestParser`: `received(data)` (returns the bytes it consumed),
  `parse_header(header_plus)` (the request line and headers, before any is read),
  `headers_finished`, `completed` and `error` (a request completed with an error is answered by
  the error task, then the connection is closed), `expect_continue` (the channel sends
  "100 Continue" when it is set once the head is done, even for a request completed with an
  error: cleared for those), `content_length`, `chunked`, `body_bytes_received`, `path`;
- `waitress.task.ErrorTask`: `execute()`, `request`, `status`, `response_headers`,
  `content_length`, `set_close_on_finish()`, `write(data)`; `waitress.utilities.Error`: `code`, `reason`.
"""
from __future__ import annotations

import html
import json
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error

from archive.uploads import MAX_REQUEST_BYTES, TOO_LARGE_MESSAGE

REQUIRED: dict[Any, tuple[str, ...]] = {
    wasyncore: ("loop", "close_all"),
    BaseWSGIServer: ("channel_class", "accepting", "readable"),
    HTTPChannel: ("received", "error_task_class", "parser_class", "request", "will_close", "total_outbufs_len",
                  "readable", "writable"),
    HTTPRequestParser: ("headers_finished", "completed", "error", "received", "content_length", "chunked",
                        "body_bytes_received", "expect_continue", "parse_header"),
    ErrorTask: ("execute", "set_close_on_finish", "write", "status", "content_length"),
    Error: ("code", "reason"),
}
INSTANCE_REQUIRED: dict[type, tuple[str, ...]] = {      # set in __init__: checked on live objects
    HTTPChannel: ("requests", "server"),
    HTTPRequestParser: ("headers",),
    BaseWSGIServer: ("task_dispatcher",),
    ErrorTask: ("request", "response_headers"),
}

_MESSAGES = {400: ("bad_request", "请求格式有误，无法解析。"), 413: ("too_large", TOO_LARGE_MESSAGE),
             431: ("header_too_large", "请求头过大。"), 501: ("not_implemented", "不支持这种传输编码。"),
             500: ("internal", "服务器内部错误，已记录。"),
             503: ("busy", "服务器正在接收其他上传，暂时无法接收更多内容，请稍后重试。")}
_TITLES = {400: "请求有误", 413: "文件过大", 431: "请求头过大", 501: "不支持的请求", 500: "服务器内部错误",
           503: "服务器繁忙"}
SMALL_BODY = 1024 * 1024        # bodies up to this size are never refused for the budget


class BodiesBusy(Error):
    code = 503
    reason = "Service Unavailable"


class ChineseErrorTask(ErrorTask):
    """waitress's own error answers (413 for a body over the limit, 503 for one over the budget,
    400 for a request it cannot parse, 431 for a head over the limit) in the app's shape:
    `{"error": {"code", "message"}}` under /api/, a short Chinese page elsewhere. The connection
    is closed after it."""

    def execute(self) -> None:
        error = self.request.error
        code, message = _MESSAGES.get(error.code, ("bad_request", "请求无法处理。"))
        if (getattr(self.request, "path", "") or "").startswith("/api/"):
            body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
            kind = "application/json"
        else:
            title = _TITLES.get(error.code, "请求有误")
            body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
                    f"</head><body><h1>{title}</h1><p>{html.escape(message)}</p></body></html>").encode()
            kind = "text/html; charset=utf-8"
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", kind), ("X-Content-Type-Options", "nosniff"),
                                      ("Content-Security-Policy", "default-src 'none'")])
        if error.code == 503:
            self.response_headers.append(("Retry-After", "30"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def _body_size(request: HTTPRequestParser) -> int:
    """The body a request holds or will hold (a chunked one still arriving: the most it may)."""
    if request.chunked and not request.completed:
        return MAX_REQUEST_BYTES
    return max(request.content_length or 0, request.body_bytes_received or 0)


def bodies_in_flight(socket_map: dict, but: HTTPRequestParser | None = None) -> int:
    """Bytes of request bodies this worker holds or has accepted to receive: those arriving and
    those read but not yet answered (their buffers live until the answer)."""
    total = 0
    for obj in list(socket_map.values()):
        if not isinstance(obj, HTTPChannel):
            continue
        reading = obj.request
        if reading is not None and reading is not but and reading.headers_finished and not reading.completed:
            total += _body_size(reading)
        total += sum(_body_size(r) for r in list(obj.requests) if r is not but)
    return total


class BudgetedParser(HTTPRequestParser):
    """A request whose body would take the worker's bodies in flight over the budget is completed
    with a 503 as soon as its head ends: its body is never read (the connection is closed after).
    A request refused when its head ends (this 503, waitress's 413) is never sent "100 Continue"."""

    def __init__(self, adj, socket_map: dict, budget: int | None):
        super().__init__(adj)
        self.socket_map, self.budget = socket_map, budget

    def parse_header(self, header_plus: bytes) -> None:
        """A request line with raw UTF-8 in its target (`curl '…/search?q=管理评审'`, as the
        README shows) is read as a browser would send it, percent-encoded: waitress refuses
        non-ASCII targets with a 400, where gunicorn took them."""
        line, sep, rest = header_plus.partition(b"\r\n")
        if any(byte >= 0x80 for byte in line):
            line = b"".join(b"%%%02X" % byte if byte >= 0x80 else bytes([byte]) for byte in line)
        super().parse_header(line + sep + rest)

    def received(self, data: bytes) -> int:
        head_was_done = self.headers_finished
        consumed = super().received(data)
        if (self.budget and not head_was_done and self.headers_finished and not self.completed
                and self.error is None):
            size = _body_size(self)
            if size > SMALL_BODY and bodies_in_flight(self.socket_map, but=self) + size > self.budget:
                self.error = BodiesBusy(f"bodies in flight over the budget of {self.budget} bytes")
                self.completed = True
        if self.error is not None:
            self.expect_continue = False        # refused: the client must not be asked for the body
        return consumed


class Channel(HTTPChannel):
    """A connection that remembers when the request it is reading began (its first byte) and
    reads requests with `BudgetedParser`. `install()` sets the class's map and budget."""

    error_task_class = ChineseErrorTask
    head_started = 0.0
    socket_map: dict = {}
    body_budget: int | None = None

    def parser_class(self, adj) -> BudgetedParser:          # waitress calls self.parser_class(adj)
        return BudgetedParser(adj, self.socket_map, self.body_budget)

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.head_started = time.monotonic()
        return super().received(data)


def servers(socket_map: dict) -> list[BaseWSGIServer]:
    return [obj for obj in socket_map.values() if isinstance(obj, BaseWSGIServer)]


def install(socket_map: dict, body_budget: int | None = None) -> None:
    """Make every server of `socket_map` (from `create_server(map=socket_map)`) use `Channel`,
    with at most `body_budget` bytes of request bodies in flight (None: no budget). One map a
    process (a gunicorn worker has one)."""
    Channel.socket_map, Channel.body_budget = socket_map, body_budget
    for server in servers(socket_map):
        server.channel_class = Channel


def loop_once(socket_map: dict, timeout: float) -> None:
    """One pass of waitress's event loop (poll(2): no FD_SETSIZE limit), at most `timeout` s."""
    wasyncore.loop(timeout=timeout, use_poll=True, map=socket_map, count=1)


def _reading_head(channel: Channel) -> bool:
    request = channel.request
    return request is not None and not request.headers_finished and not request.completed and not channel.requests


def close_slow_heads(socket_map: dict, deadline: float, now: float | None = None) -> int:
    """Close the connections whose current request began more than `deadline` s ago and has not
    finished its head yet (slow-loris clients); returns how many."""
    now = time.monotonic() if now is None else now
    closed = 0
    for obj in list(socket_map.values()):
        if isinstance(obj, Channel) and not obj.will_close and _reading_head(obj) \
                and now - obj.head_started > deadline:
            obj.will_close = True              # closed by the loop's next pass
            closed += 1
    return closed


def stop_accepting(socket_map: dict) -> None:
    for server in servers(socket_map):
        server.accepting = False


def close_idle(socket_map: dict) -> int:
    """While stopping: close every connection that is not being answered, not writing an answer
    and not receiving a body (idle keep-alive, half-sent heads); returns how many are still busy."""
    busy = 0
    for obj in list(socket_map.values()):
        if not isinstance(obj, HTTPChannel) or obj.will_close:
            continue
        if obj.requests or obj.total_outbufs_len or (obj.request is not None and not _reading_head(obj)):
            busy += 1
        else:
            obj.will_close = True
    return busy


def shutdown(server: Any, socket_map: dict, timeout: float) -> None:
    """Stop the threads (waiting at most `timeout` s for running requests) and close every socket."""
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
    wasyncore.close_all(socket_map, ignore_all=True)


def missing_names() -> list[str]:
    """The names of `REQUIRED` this waitress lacks (empty when all are there)."""
    return [f"{getattr(owner, '__name__', owner)}.{name}" for owner, names in REQUIRED.items()
            for name in names if not hasattr(owner, name)]
