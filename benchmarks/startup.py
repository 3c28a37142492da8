"""Start-up: what a command costs before it answers, and a fresh server's first pages.

    .venv/bin/python benchmarks/startup.py --home auditarchive-data [--runs 5] [--json OUT]

Times each CLI command end to end (a new process each run: imports, jieba's dictionary, the
catalogue, the model) and reports the median and the spread; then starts `auditarchive serve` on a
free loopback port and times the first request of a case, a code's profile and a search in each
worker, and the same request again (warm). Goals (issue 22): CLI under 0.5 s, first pages under
0.5 s. Prints figures; it is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(ROOT / ".venv" / "bin" / "auditarchive")]


def _timed(args: list[str], home: Path) -> float:
    started = time.perf_counter()
    subprocess.run(CLI + ["--home", str(home), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, cwd=ROOT)
    return time.perf_counter() - started


def _sample_refs(home: Path) -> dict[str, str]:
    db = sqlite3.connect(home / "catalog.db")
    org = db.execute("select name from organisations where name is not null limit 1").fetchone()[0]
    code = db.execute("select code from document_codes group by code order by count(*) desc limit 1").fetchone()[0]
    db.close()
    return {"org": org, "code": code}


def cli_figures(home: Path, runs: int) -> dict[str, dict[str, float]]:
    refs = _sample_refs(home)
    commands = {"search": ["search", "管理评审"], "list": ["list", "--json"],
                "case": ["case", refs["org"]], "scope (code)": ["scope", refs["code"]],
                "scope (text)": ["scope", "数控机床零部件的机械加工"], "code": ["code", refs["code"]]}
    out = {}
    for name, args in commands.items():
        _timed(args, home)                           # the OS's file cache, jieba's cache file
        times = [_timed(args, home) for _ in range(runs)]
        out[name] = {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
                     "max_s": round(max(times), 3)}
        print(f"{name:14} median {out[name]['median_s']:.2f} s (min {out[name]['min_s']:.2f}, "
              f"max {out[name]['max_s']:.2f})", flush=True)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def server_figures(home: Path) -> dict[str, dict[str, float]]:
    subprocess.run(CLI + ["--home", str(home), "users", "bootstrap"], capture_output=True, check=True, cwd=ROOT)
    token = subprocess.run(CLI + ["--home", str(home), "tokens", "create", "admin"], capture_output=True,
                           text=True, check=True, cwd=ROOT).stdout.strip().split()[-1]
    refs = _sample_refs(home)
    port = _free_port()
    server = subprocess.Popen(CLI + ["--home", str(home), "serve", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start within 120 s") from None
                time.sleep(0.2)
        ready = time.perf_counter()
        cases = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/v1/cases?q={urllib.request.quote(refs['org'])}",
            headers={"Authorization": f"Bearer {token}"}), timeout=60).read())["cases"]
        paths = {"case": f"/api/v1/cases/{cases[0]['id']}" if cases else None,
                 "code profile": f"/api/v1/scopes/{refs['code']}/profile",
                 "search": "/api/v1/search?q=" + urllib.request.quote("管理评审")}
        out = {}
        for name, path in paths.items():
            if path is None:
                continue
            # a request per worker process at least: connections are spread over the workers
            first = [_get(base + path, token) for _ in range(os.cpu_count() or 2)]
            warm = [_get(base + path, token) for _ in range(3)]
            out[name] = {"first_s": round(max(first), 3), "warm_s": round(statistics.median(warm), 3)}
            print(f"{name:14} first {out[name]['first_s']:.2f} s, warm {out[name]['warm_s']:.3f} s", flush=True)
        out["_since_ready_s"] = {"value": round(time.perf_counter() - ready, 2)}
        return out
    finally:
        server.terminate()
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "auditarchive-data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not (args.home / "catalog.db").exists():
        raise SystemExit(f"no catalogue in {args.home}: run `make ingest` first (or pass --home)")
    print(f"CLI, {args.runs} runs each after one warm-up:")
    figures = {"cli": cli_figures(args.home, args.runs)}
    print("server, first request in each worker and warm:")
    figures["server"] = server_figures(args.home)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
