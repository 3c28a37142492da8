"""Latency of /api/v1/search under concurrent clients, against `auditarchive serve` on loopback.

    .venv/bin/python benchmarks/api.py [--home DIR] [--clients 8] [--seconds 30] [--json OUT]

Without --home, the sample archive (corpus/sample, made by `make sample` or generated here) is
ingested into a temporary home. The server runs as its own process (`auditarchive serve`, waitress
with 8 threads); the clients are threads of this process, each with a keep-alive connection,
sending a mix of one-word, two-word, filtered, phrase and browse queries (facets and snippets
included, as the UI asks for them). Prints requests/s, median, p95 and p99 latency and errors.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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
                raise SystemExit(f"the server stopped: {proc.stderr.read().decode()}")
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


def run(port: int, token: str, clients: int, seconds: float, mix: str = "search") -> dict:
    docs = document_ids(port, token)
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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    a = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aa-api-bench-") as tmp:
        home = prepare_home(a.home, Path(tmp))
        subprocess.run([BIN / "auditarchive", "--home", home, "users", "add", "benchmark", "--role", "auditor",
                        "--generate"], capture_output=True)
        token = subprocess.run([BIN / "auditarchive", "--home", home, "tokens", "create", "benchmark"],
                               check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        server = start_server(home, port, a.workers)
        try:
            figures = run(port, token, a.clients, a.seconds, a.mix)
        finally:
            server.terminate()
            server.wait(timeout=30)
            subprocess.run([BIN / "auditarchive", "--home", home, "tokens", "revoke", "benchmark"],
                           capture_output=True)
    figures.update(cpus=os.cpu_count(), load_average=round(os.getloadavg()[0], 2))
    print(f"{figures['clients']} clients ({figures['mix']}) for {figures['seconds']} s: {figures['requests']} requests, "
          f"{figures['requests_per_s']}/s, {figures['errors']} errors")
    print(f"latency: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, "
          f"max {figures['max_ms']} ms")
    print(f"load average after: {figures['load_average']} on {figures['cpus']} cores")
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
