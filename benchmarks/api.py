"""Latency of /api/v1/search under concurrent clients, against `auditarchive serve` on loopback.

    .venv/bin/python benchmarks/api.py [--home DIR] [--clients 8] [--seconds 30] [--slow N] [--json OUT]

Without --home, the sample archive (corpus/sample, made by `make sample` or generated here) is
ingested into a temporary home. The server runs as its own process (`auditarchive serve`: a
worker process per core, 4 threads each), or is one already running over --home (--port); the
clients are threads of this process, each with a keep-alive connection, sending a mix of
one-word, two-word, filtered, phrase and browse queries (facets and snippets included, as the UI
asks for them). Prints requests/s, median, p95 and p99 latency and errors.

--slow N runs twice: once as above, then again while N slow-loris connections are held open (each
sends a request line, then one header line a second and never ends its head; one the server closes
is opened again at once), and prints the normal clients' errors and latency for both.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUERIES = [
    {"q": "管理评审"}, {"q": "不符合"}, {"q": "纠正措施"}, {"q": "内部审核"}, {"q": "培训"},
    {"q": "管理评审 不符合"}, {"q": "文件 控制"}, {"q": "监视 测量"}, {"q": "供方 评价"},
    {"q": "不符合", "field": "QMS"}, {"q": "审核", "code": "17"}, {"q": "记录", "stage": "stage2"},
    {"q": "不符合", "type": "ncr", "year": "2020-2025"}, {"q": "环境因素", "field": "EMS"},
    {"q": '"纠正措施"'}, {"q": '"管理评审"'}, {"q": "焊接 OR 铸造"}, {"q": "审核 NOT 观察项"},
    {"code": "17.10"}, {"type": "certificate", "sort": "date"}, {"q": "clause:8.5"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_home(home: Path | None, work: Path) -> Path:
    if home is not None:
        return home
    sample = ROOT / "corpus" / "sample"
    if not (sample / "truth.json").exists():
        sample = work / "sample"
        subprocess.run([BIN / "python", "-m", "corpus.generate", "--out", sample], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    home = work / "home"
    subprocess.run([BIN / "auditarchive", "--home", home, "ingest", sample, "--json"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return home


def start_server(home: Path, port: int, workers: int | None = None) -> subprocess.Popen:
    extra = ["--workers", str(workers)] if workers else []
    proc = subprocess.Popen([BIN / "auditarchive", "--home", home, "serve", "--port", str(port), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server stopped: {proc.stderr.read().decode()}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def search_path(rng: random.Random, _docs: list[str]) -> str:
    params = dict(rng.choice(QUERIES), page=str(rng.choice([1, 1, 1, 2])))
    return "/api/v1/search?" + urllib.parse.urlencode(params)


def mixed_path(rng: random.Random, docs: list[str]) -> str:
    """What a reading user does: mostly searches, then documents, their pages, similar ones,
    statistics, scope lookups."""
    roll, doc = rng.random(), rng.choice(docs)
    if roll < 0.5 or not docs:
        return search_path(rng, docs)
    if roll < 0.7:
        return f"/api/v1/documents/{doc}"
    if roll < 0.82:
        return f"/api/v1/documents/{doc}/pages/1"
    if roll < 0.9:
        return f"/api/v1/documents/{doc}/similar"
    if roll < 0.95:
        return "/api/v1/scopes?" + urllib.parse.urlencode({"q": rng.choice(["塑料制品", "17.10", "机械加工"])})
    return "/api/v1/stats"


MIXES = {"search": search_path, "mixed": mixed_path}


def client(port: int, token: str, stop: float, seed: int, out: list[tuple[float, int]],
           mix: str = "search", docs: list[str] | None = None) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    pick = MIXES[mix]
    while time.monotonic() < stop:
        path = pick(rng, docs or [])
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            if status == 200:
                json.loads(body)
        except (OSError, http.client.HTTPException, ValueError):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out.append((time.perf_counter() - started, status))
    conn.close()


def document_ids(port: int, token: str) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": "审核", "per_page": 100}),
                 headers={"Authorization": f"Bearer {token}"})
    hits = json.loads(conn.getresponse().read())["hits"]
    conn.close()
    return [h["id"] for h in hits]


class SlowClients:
    """`n` slow-loris connections held open: each sends a request line, then one header line every
    `interval` seconds, never ending its head. One the server closes is opened again at once."""

    def __init__(self, port: int, n: int, interval: float = 1.0):
        self.port, self.n, self.interval = port, n, interval
        self.socks: list[socket.socket | None] = [None] * n
        self.opened_at = [0.0] * n
        self.lifetimes: list[float] = []        # seconds a connection lived before the server closed it
        self.failed_connects = 0
        self.lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, i: int) -> None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.sendall(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            self.failed_connects += 1
            return
        self.socks[i], self.opened_at[i] = s, time.monotonic()

    def _closed(self, i: int) -> None:
        s = self.socks[i]
        self.socks[i] = None
        self.lifetimes.append(time.monotonic() - self.opened_at[i])
        s.close()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            for i in range(self.n):
                if self.socks[i] is None:
                    self._open(i)
            poller = select.poll()                  # not select(): descriptors may pass 1023
            for s in self.socks:
                if s is not None:
                    poller.register(s, select.POLLIN)
            readable = {fd for fd, _ in poller.poll(0)}
            for i, s in enumerate(self.socks):
                if s is None:
                    continue
                try:
                    if s.fileno() in readable and not s.recv(4096):
                        raise ConnectionResetError
                    s.sendall(f"X-Slow-{n}: {'x' * 16}\r\n".encode())
                    self.lines += 1
                except OSError:
                    self._closed(i)
            self._stop.wait(self.interval)

    def start(self) -> "SlowClients":
        for i in range(self.n):
            self._open(i)
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(timeout=30)
        still_open = sum(1 for s in self.socks if s is not None)
        for s in self.socks:
            if s is not None:
                s.close()
        life = sorted(self.lifetimes)
        return {"slow": self.n, "closed_by_server": len(life), "still_open_at_end": still_open,
                "median_life_s": round(statistics.median(life), 1) if life else None,
                "max_life_s": round(life[-1], 1) if life else None,
                "failed_connects": self.failed_connects, "header_lines_sent": self.lines}


def run(port: int, token: str, clients: int, seconds: float, mix: str = "search",
        docs: list[str] | None = None) -> dict:
    docs = document_ids(port, token) if docs is None else docs
    # warm up every worker: the first searches load jieba's dictionary and open the index
    warm = [threading.Thread(target=client, args=(port, token, time.monotonic() + 4, -i, [], mix, docs))
            for i in range(4)]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    results: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, token, stop, i + 1, results[i], mix, docs))
               for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    samples = [s for r in results for s in r]
    ok = sorted(t for t, status in samples if status == 200)
    errors = [status for _, status in samples if status != 200]
    q = statistics.quantiles(ok, n=100) if len(ok) >= 100 else [float("nan")] * 99
    return {"clients": clients, "mix": mix, "seconds": round(elapsed, 1), "requests": len(samples),
            "requests_per_s": round(len(samples) / elapsed, 1), "errors": len(errors),
            "error_statuses": sorted(set(errors)),
            "median_ms": round(statistics.median(ok) * 1000, 1) if ok else None,
            "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
            "max_ms": round(ok[-1] * 1000, 1) if ok else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an ingested data home (default: the sample, ingested)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--mix", choices=sorted(MIXES), default="search",
                        help="search: only /search; mixed: searches, documents, pages, similar, scopes, stats")
    parser.add_argument("--workers", type=int, help="server worker processes (default: one per core)")
    parser.add_argument("--slow", type=int, default=0, metavar="N",
                        help="run again while N slow-loris connections are held open; print both")
    parser.add_argument("--port", type=int,
                        help="measure a server already running on this port over --home (default: start one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    a = parser.parse_args(argv)
    if a.port and not a.home:
        parser.error("--port needs the --home that server serves (for the benchmark's token)")
    with tempfile.TemporaryDirectory(prefix="aa-api-bench-") as tmp:
        home = prepare_home(a.home, Path(tmp))
        subprocess.run([BIN / "auditarchive", "--home", home, "users", "add", "benchmark", "--role", "auditor",
                        "--generate"], capture_output=True)
        token = subprocess.run([BIN / "auditarchive", "--home", home, "tokens", "create", "benchmark"],
                               check=True, capture_output=True, text=True).stdout.strip()
        port = a.port or free_port()
        server = None if a.port else start_server(home, port, a.workers)
        try:
            docs = document_ids(port, token)
            figures = run(port, token, a.clients, a.seconds, a.mix, docs)
            if a.slow:
                slow = SlowClients(port, a.slow).start()
                try:
                    time.sleep(2)                   # every slow connection is half-way through its head
                    with_slow = run(port, token, a.clients, a.seconds, a.mix, docs)
                finally:
                    loris = slow.stop()
                figures = {"without_slow": figures, "with_slow": with_slow, "slow_clients": loris}
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            subprocess.run([BIN / "auditarchive", "--home", home, "tokens", "revoke", "benchmark"],
                           capture_output=True)
    figures.update(cpus=os.cpu_count(), load_average=round(os.getloadavg()[0], 2))
    if a.slow:
        _print_run(figures["without_slow"], "without slow clients")
        _print_run(figures["with_slow"], f"with {a.slow} slow clients")
        w, s, loris = figures["without_slow"], figures["with_slow"], figures["slow_clients"]
        print(f"normal clients: errors {w['errors']} -> {s['errors']}, p95 {w['p95_ms']} -> {s['p95_ms']} ms, "
              f"requests/s {w['requests_per_s']} -> {s['requests_per_s']}")
        print(f"slow clients: {loris['closed_by_server']} connections closed by the server (median life "
              f"{loris['median_life_s']} s, max {loris['max_life_s']} s), {loris['still_open_at_end']} open at the "
              f"end, {loris['failed_connects']} connects failed")
    else:
        _print_run(figures)
    print(f"load average after: {figures['load_average']} on {figures['cpus']} cores")
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))
    return 0


def _print_run(figures: dict, label: str = "") -> None:
    prefix = f"[{label}] " if label else ""
    print(f"{prefix}{figures['clients']} clients ({figures['mix']}) for {figures['seconds']} s: "
          f"{figures['requests']} requests, {figures['requests_per_s']}/s, {figures['errors']} errors"
          + (f" {figures['error_statuses']}" if figures["errors"] else ""))
    print(f"{prefix}latency: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, "
          f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")


if __name__ == "__main__":
    sys.exit(main())
