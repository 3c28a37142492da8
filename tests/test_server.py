"""`auditarchive serve` against hostile clients (issue 24, items 2 and 5).

The real server runs as a subprocess on a free loopback port over a copy of the sample home. Slow
clients (one header line a second) and silent connections must not starve the others, and are
closed by the request-head deadline; an upload announcing more than the limit is refused with 413
before a byte of its body is sent, and a streamed one is cut at the limit. Every socket is on
127.0.0.1, every wait is bounded, and the server is stopped with SIGTERM at the end.
"""
from __future__ import annotations

import http.client
import io
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import copy_home
from pdfmaker import make_pdf
from test_api import multipart

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).parent / "auditarchive"
SLOW_CLIENTS = 40           # each sends one header line a second
SILENT_CLIENTS = 200        # connect and send nothing
WORKERS, THREADS = 2, 4     # 8 threads in all: far fewer than the connections above


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 10, headers: dict | None = None) -> tuple[int, bytes, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), time.monotonic() - started
    finally:
        conn.close()


class Served:
    """`auditarchive serve` in a subprocess (stderr to a file, so a chatty server never blocks)."""

    def __init__(self, home: Path, workers: int = WORKERS, threads: int = THREADS):
        from archive.accounts import Accounts

        self.home, self.port = home, free_port()
        accounts = Accounts(home / "auth.db")
        if accounts.user("uploader") is None:
            accounts.add_user("uploader", "auditor", "uploader-password-1")
        self.token = accounts.create_token("uploader")
        accounts.close()
        self.log = (home / f"serve-{self.port}.log").open("w+b")
        self.proc = subprocess.Popen([str(EXE), "--home", str(home), "serve", "--port", str(self.port),
                                      "--workers", str(workers), "--threads", str(threads)],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, f"the server stopped: {self.stderr()}"
            assert time.monotonic() < deadline, "the server did not answer within 120 s"
            try:
                if get(self.port, "/login", timeout=5)[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        # every worker loads the app (jieba, the index) on its first request: warm them all
        for _ in range(4 * workers):
            get(self.port, "/api/v1/openapi.json", timeout=30)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self, timeout: float = 45) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"the server did not stop within {timeout} s of SIGTERM") from None
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(sample_home, tmp_path_factory):
    served = Served(copy_home(sample_home[0], tmp_path_factory.mktemp("served") / "home"))
    yield served
    served.stop()


def read_response(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response from a raw socket: (status, headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


# -- slow clients ---------------------------------------------------------------------------------

def test_slow_clients_neither_starve_the_others_nor_stay_open(server):
    from webui.server import HEAD_TIMEOUT

    slow: list[socket.socket] = []
    silent: list[socket.socket] = []
    closed_after: dict[int, float] = {}
    stop = threading.Event()
    try:
        for _ in range(SLOW_CLIENTS):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(s)
        opened = time.monotonic()
        for _ in range(SILENT_CLIENTS):
            silent.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))

        def dribble() -> None:
            n = 0
            while not stop.is_set() and time.monotonic() < opened + HEAD_TIMEOUT + 15:
                n += 1
                live = [i for i in range(len(slow)) if i not in closed_after]
                readable, _, _ = select.select([slow[i] for i in live], [], [], 0)
                for i in live:
                    s = slow[i]
                    try:
                        if s in readable and not s.recv(4096):
                            raise ConnectionResetError("closed by the server")
                        s.sendall(f"X-Slow-{n}: {'x' * 20}\r\n".encode())
                    except OSError:
                        closed_after[i] = time.monotonic() - opened
                if len(closed_after) == len(slow):
                    return
                stop.wait(1.0)

        dribbler = threading.Thread(target=dribble, daemon=True)
        dribbler.start()
        time.sleep(2)                       # every slow client is now half-way through its head
        latencies = []
        for _ in range(5):
            for path in ("/login", "/api/v1/openapi.json"):
                try:
                    status, _, seconds = get(server.port, path, timeout=10)
                except OSError as exc:
                    pytest.fail(f"GET {path} failed while {SLOW_CLIENTS} slow clients were connected: {exc!r}")
                assert status == 200, path
                latencies.append(seconds)
            time.sleep(0.5)
        assert max(latencies) < 2.0, latencies
        assert len(closed_after) == 0, "a slow client was closed before its head deadline"
        dribbler.join(timeout=HEAD_TIMEOUT + 20)
        assert len(closed_after) == SLOW_CLIENTS, \
            f"{SLOW_CLIENTS - len(closed_after)} slow clients still open {HEAD_TIMEOUT + 15} s after their first byte"
        assert HEAD_TIMEOUT - 1 <= min(closed_after.values()) and max(closed_after.values()) <= HEAD_TIMEOUT + 6, \
            sorted(closed_after.values())
        assert get(server.port, "/login", timeout=5)[0] == 200
    finally:
        stop.set()
        for s in slow + silent:
            s.close()


# -- uploads over the limit -----------------------------------------------------------------------

HUGE = 390 * 1024 * 1024


@pytest.mark.parametrize("path, kind", [("/api/v1/documents", "json"), ("/upload", "html")])
def test_an_upload_announcing_more_than_the_limit_is_413_before_its_body(server, path, kind):
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {HUGE}\r\n"
            "Expect: 100-continue\r\n\r\n")                    # as curl sends it: never "100 Continue"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(head.encode())
        try:
            status, headers, body = read_response(s, timeout=5)
        except socket.timeout:
            pytest.fail("no answer within 5 s: the server waits for the body")
        elapsed = time.monotonic() - started
    assert status == 413 and elapsed < 3, (status, elapsed)
    if kind == "json":
        error = json.loads(body)["error"]
        assert error["code"] == "too_large" and "100 MB" in error["message"], error
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
    else:
        assert headers["content-type"].startswith("text/html") and "100 MB" in body.decode(), body[:300]
    assert not list((server.home / "files").rglob("*")) if (server.home / "files").exists() else True


def test_a_streamed_upload_is_cut_at_the_limit(server):
    from archive.uploads import MAX_REQUEST_BYTES

    head = (f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"0" * (1 << 20))
    sent, answer = 0, None
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode())
        try:
            while sent < 3 * MAX_REQUEST_BYTES:
                if select.select([s], [], [], 0)[0]:
                    answer = read_response(s, timeout=5)
                    break
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass                            # the server closed the connection mid-body
        if answer is None:
            try:
                answer = read_response(s, timeout=5)
            except (OSError, IndexError, ValueError):
                pass                        # reset before the 413 could be read: allowed
    assert sent <= MAX_REQUEST_BYTES + 32 * (1 << 20), f"the server read {sent >> 20} MB"
    if answer is not None:
        assert answer[0] == 413, answer[:2]
    assert get(server.port, "/login", timeout=5)[0] == 200


def test_an_upload_within_the_limit_is_accepted(server, tmp_path):
    pdf = make_pdf(tmp_path / "ok.pdf", ["审核报告", "受审核方：宁波慢速客户端测试有限公司", "审核发现：无。"])
    body, headers = multipart([("小文件.pdf", pdf.read_bytes())])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/api/v1/documents", body=body, headers={**headers, "Authorization": f"Bearer {server.token}"})
    response = conn.getresponse()
    reply = json.loads(response.read())
    conn.close()
    assert response.status == 202, reply
    assert reply["uploads"][0]["filename"] == "小文件.pdf"


# -- the app refuses early by itself (whatever server it runs under) ------------------------------

MULTIPART = "multipart/form-data; boundary=x"     # set in the environ: the test client would pick its own


class Exploding(io.RawIOBase):
    """A request body that must never be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        raise AssertionError("the body of a request over the limit was read")


class Endless(io.RawIOBase):
    """A streamed multipart body without a length whose file part never ends; counts what was read."""

    HEAD = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b'Content-Type: application/pdf\r\n\r\n%PDF-1.4\n')

    def __init__(self, stop_after: int) -> None:
        self.read_bytes, self.stop_after = 0, stop_after

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.read_bytes >= self.stop_after:      # bounded even when nothing stops reading
            return 0
        data = (self.HEAD if self.read_bytes == 0 else b"") + b"0" * len(b)
        n = len(b)
        b[:] = data[:n]
        self.read_bytes += n
        return n


@pytest.fixture(scope="module")
def app_client(live_server):
    from webui.app import create_app

    app = create_app(live_server.home, {"START_UPLOAD_QUEUE": False})
    return app


def _login(app, live_server):
    import re

    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post("/login", data={"name": "auditor", "password": live_server.passwords["auditor"],
                                        "csrf_token": token})
    assert reply.status_code == 302
    return client


def test_the_api_refuses_by_content_length_without_reading(app_client, live_server):
    reply = app_client.test_client().post(
        "/api/v1/documents", headers={"Authorization": f"Bearer {live_server.token}"},
        environ_overrides={"wsgi.input": Exploding(), "CONTENT_LENGTH": str(HUGE), "CONTENT_TYPE": MULTIPART})
    assert reply.status_code == 413
    error = reply.get_json()["error"]
    assert error["code"] == "too_large" and "100 MB" in error["message"]


def test_the_upload_page_refuses_by_content_length_before_the_csrf_check_reads_the_form(app_client, live_server):
    client = _login(app_client, live_server)
    reply = client.post("/upload", environ_overrides={"wsgi.input": Exploding(), "CONTENT_LENGTH": str(HUGE),
                                                      "CONTENT_TYPE": MULTIPART})
    assert reply.status_code == 413
    assert "100 MB" in reply.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/documents", "/upload"])
def test_a_streamed_body_is_read_no_further_than_the_limit(live_server, path):
    from archive.uploads import MAX_REQUEST_BYTES
    from webui.app import create_app

    app = create_app(live_server.home, {"START_UPLOAD_QUEUE": False, "MAX_CONTENT_LENGTH": None})
    client = _login(app, live_server) if path == "/upload" else app.test_client()
    body = Endless(3 * MAX_REQUEST_BYTES)
    reply = client.post(path, headers={"Authorization": f"Bearer {live_server.token}"},
                        environ_overrides={"wsgi.input": io.BufferedReader(body, 1 << 16), "CONTENT_TYPE": MULTIPART,
                                           "wsgi.input_terminated": True})
    assert reply.status_code == 413, reply.get_data(as_text=True)[:300]
    assert MAX_REQUEST_BYTES - (1 << 20) <= body.read_bytes <= MAX_REQUEST_BYTES + (1 << 20), body.read_bytes


# -- clean stop -----------------------------------------------------------------------------------

def test_sigterm_stops_the_server_while_clients_are_connected(sample_home, tmp_path):
    served = Served(copy_home(sample_home[0], tmp_path / "home"), workers=1, threads=2)
    idle = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    half = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    half.sendall(b"GET /login HTTP/1.1\r\n")
    try:
        started = time.monotonic()
        assert served.stop(timeout=45) == 0, served.stderr()
        assert time.monotonic() - started < 40
    finally:
        idle.close()
        half.close()


# -- the waitress internals the front relies on ---------------------------------------------------

def test_the_waitress_names_the_front_relies_on_are_still_there():
    from waitress import create_server

    from webui import waitress_hooks as hooks

    assert hooks.missing_names() == []
    socket_map: dict = {}
    server = create_server(lambda environ, start_response: [], map=socket_map, host="127.0.0.1", port=0,
                           threads=1, asyncore_use_poll=True)
    hooks.install(socket_map)
    try:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")           # a head begun, not finished
            deadline = time.monotonic() + 5
            channels: list = []
            while not channels and time.monotonic() < deadline:
                hooks.loop_once(socket_map, 0.1)
                channels = [c for c in socket_map.values() if isinstance(c, hooks.Channel) and c.request]
            assert len(channels) == 1, "waitress no longer builds its connections from server.channel_class"
            channel = channels[0]
            task = hooks.ChineseErrorTask(channel, channel.request)
            live = {hooks.HTTPChannel: channel, hooks.HTTPRequestParser: channel.request,
                    hooks.BaseWSGIServer: server, hooks.ErrorTask: task}
            for owner, names in hooks.INSTANCE_REQUIRED.items():
                for name in names:
                    assert hasattr(live[owner], name), f"{owner.__name__}.{name}"
            assert channel.head_started and not channel.request.headers_finished
            assert hooks.close_slow_heads(socket_map, 0.5, now=time.monotonic() + 1) == 1
            client.settimeout(0.1)
            closed = False
            while not closed and time.monotonic() < deadline:
                hooks.loop_once(socket_map, 0.1)
                try:
                    closed = client.recv(100) == b""
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
            assert closed, "setting will_close no longer closes the connection"
    finally:
        hooks.shutdown(server, socket_map, timeout=1)


def test_bodies_over_the_workers_budget_are_answered_503_before_they_are_read():
    from waitress import create_server

    from webui import waitress_hooks as hooks

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(body)]

    socket_map: dict = {}
    server = create_server(app, map=socket_map, host="127.0.0.1", port=0, threads=1, asyncore_use_poll=True)
    mb = 1 << 20
    hooks.install(socket_map, body_budget=5 * mb)              # room for two bodies of 2 MB
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            hooks.loop_once(socket_map, 0.05)

    loop = threading.Thread(target=serve, daemon=True)
    loop.start()

    def head(length: int, path: str = "/api/v1/documents", expect: bool = True) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", server.effective_port), timeout=5)
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n".encode()
                  + (b"Expect: 100-continue\r\n" if expect else b"") + b"\r\n")
        return s

    CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

    def invited(s: socket.socket) -> bool:
        """Whether the server asked for the body (100 Continue) and said nothing else."""
        s.settimeout(2)
        got = b""
        while len(got) < len(CONTINUE) and (chunk := s.recv(len(CONTINUE) - len(got))):
            got += chunk
        return got == CONTINUE and not select.select([s], [], [], 0.2)[0]

    opened: list[socket.socket] = []
    try:
        opened += [head(2 * mb), head(2 * mb)]
        assert all(invited(s) for s in opened), "an admitted body was refused"
        third = head(2 * mb)
        opened.append(third)
        status, headers, body = read_response(third, timeout=5)   # 503 at once, no 100 Continue first
        error = json.loads(body)["error"]
        assert status == 503 and headers["retry-after"] and error["code"] == "busy", (status, error)
        small = head(100, "/small", expect=False)               # small bodies are never refused
        opened.append(small)
        small.sendall(b"x" * 100)
        assert read_response(small, timeout=5)[:1] == (200,)
        opened[0].close()                                       # a body given up frees its share
        time.sleep(0.3)
        fourth = head(2 * mb)
        opened.append(fourth)
        assert invited(fourth), "the budget was not freed by a closed connection"
        fourth.sendall(b"y" * (2 * mb))
        assert read_response(fourth, timeout=5)[2] == b"read %d" % (2 * mb)
    finally:
        stop.set()
        loop.join(timeout=5)
        for s in opened:
            s.close()
        hooks.shutdown(server, socket_map, timeout=1)


def test_a_very_long_query_is_the_apis_json_error_and_logged_as_refused(server):
    """An 8 KB query string reaches the app (not the front's HTML "URI Too Long" page) and is
    refused as the API refuses any unreadable query: 400 with a JSON error."""
    from urllib.parse import quote

    q = quote("审核" * 1400)                         # ~8 KB once percent-encoded... and more
    assert len(q) > 8000
    status, body, _ = get(server.port, f"/api/v1/search?q={q}", headers={"Authorization": f"Bearer {server.token}"})
    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "bad_query" and error["message"]


def test_a_request_line_with_raw_utf8_is_read_as_percent_encoded(server):
    """`curl 'http://…/api/v1/search?q=管理评审'` (the README's example) sends the query's UTF-8
    bytes unencoded: answered like the percent-encoded request a browser sends."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall("GET /api/v1/search?q=管理评审&per_page=1 HTTP/1.1\r\nHost: x\r\n".encode()
                     + f"Authorization: Bearer {server.token}\r\nConnection: close\r\n\r\n".encode())
        status, _, body = read_response(sock, timeout=30)
    finally:
        sock.close()
    assert status == 200, body[:300]
    assert json.loads(body)["query"]["text"] == "管理评审"
