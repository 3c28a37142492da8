"""The gunicorn worker of `auditarchive serve`: gunicorn manages the processes (one per core,
restarts, signals, the heartbeat), waitress serves each worker's share of the listening sockets.

waitress reads requests in one event loop and hands a thread only a complete request (head and
body buffered, bodies over 512 KB in a temporary file), so a slow or silent client costs a socket,
never a thread: `--threads N` threads per process answer requests, up to `CONNECTIONS` clients per
process may be connected. On top of waitress (`webui.waitress_hooks`): a request's head must be
complete within `HEAD_TIMEOUT` s of its first byte; a connection that sends nothing for
`IDLE_TIMEOUT` s (between requests, or in the middle of a body) is closed; a body over
`MAX_REQUEST_BYTES` is refused with 413 by its Content-Length, before it is read, or cut there when
it comes without one (chunked). Bodies are buffered before the app sees the request (its login
check included), so a worker holds at most `BODY_BUDGET` bytes of them at once: a request whose
body would go over is answered 503 (Retry-After) when its head ends, before its body is read.

gunicorn's stock workers do not fit: gthread gives each connection a thread that then blocks in
the parser while a slow client dribbles its head, so a dozen such clients stop the server; the
ASGI worker would need a WSGI bridge that again buffers in threads.
"""
from __future__ import annotations

import logging
import os
import resource
import time

from gunicorn.workers.base import Worker
from waitress import create_server

from archive.uploads import MAX_REQUEST_BYTES

from . import waitress_hooks as hooks

HEAD_TIMEOUT = 15           # s from a request's first byte to the end of its head
IDLE_TIMEOUT = 30           # s without a byte from a connection (keep-alive, or a body under way)
CONNECTIONS = 1000          # open connections per worker process
BODY_BUDGET = 4 * MAX_REQUEST_BYTES     # request bodies a worker buffers at once (temporary files)
MAX_HEADER_BYTES = 64 * 1024
_RESERVED_FDS = 256         # the catalogue, the index, logs, the render pool…
_SCAN_EVERY = 0.5           # s between two looks for heads past their deadline


def raise_file_limit(connections: int) -> int:
    """Raise the soft limit on open files to fit `connections` sockets (up to the hard limit);
    returns how many connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + _RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        except (ValueError, OSError):
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, soft - _RESERVED_FDS))


class WaitressWorker(Worker):
    """A gunicorn worker serving its sockets through waitress (see the module's docstring)."""

    def init_process(self) -> None:
        options = getattr(self.app, "front", {})
        self.head_timeout = float(options.get("head_timeout", HEAD_TIMEOUT))
        self.idle_timeout = int(options.get("idle_timeout", IDLE_TIMEOUT))
        self.body_budget = int(options.get("body_budget", BODY_BUDGET))
        self.connections = raise_file_limit(self.cfg.worker_connections or CONNECTIONS)
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)   # "task queue depth" under load
        super().init_process()

    def adjustments(self) -> dict:
        return {
            "threads": self.cfg.threads,
            "connection_limit": self.connections,
            "channel_timeout": self.idle_timeout,
            "cleanup_interval": max(1, min(5, self.idle_timeout // 4)),
            "max_request_body_size": MAX_REQUEST_BYTES + 1,      # waitress refuses from this size on
            "max_request_header_size": MAX_HEADER_BYTES,
            "backlog": self.cfg.backlog,
            "asyncore_use_poll": True,          # select() cannot watch descriptors above 1023
            # Behind a reverse proxy on this machine (README: deployment), the client's address
            # and scheme come from the proxy's X-Forwarded-For / X-Forwarded-Proto; such headers
            # from anyone else are dropped.
            "trusted_proxy": "127.0.0.1", "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True,
            "ident": "auditarchive",
        }

    def run(self) -> None:
        socket_map: dict = {}
        server = create_server(self.wsgi, map=socket_map, sockets=[s.sock for s in self.sockets],
                               **self.adjustments())
        hooks.install(socket_map, self.body_budget)
        try:
            next_scan = 0.0
            while self.alive:
                self.notify()
                hooks.loop_once(socket_map, 1.0)
                now = time.monotonic()
                if now >= next_scan:
                    hooks.close_slow_heads(socket_map, self.head_timeout, now)
                    next_scan = now + _SCAN_EVERY
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
            self.drain(socket_map)
        finally:
            hooks.shutdown(server, socket_map, timeout=5)

    def drain(self, socket_map: dict) -> None:
        """Graceful stop (SIGTERM): accept no more, close idle connections, let the requests under
        way finish (uploads still arriving included) for at most graceful_timeout seconds."""
        hooks.stop_accepting(socket_map)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline:
            self.notify()
            if not hooks.close_idle(socket_map):
                hooks.loop_once(socket_map, 0)          # let the closes happen
                return
            hooks.loop_once(socket_map, 0.2)
            hooks.close_slow_heads(socket_map, self.head_timeout)
        self.log.warning("stopping with requests still under way after %s s", self.cfg.graceful_timeout)
