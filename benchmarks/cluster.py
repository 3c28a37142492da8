"""Ingest on Dask against the local pool, on the same files in one run: pages/s with the local
pool (2 workers), 1 Dask worker and 2 Dask workers, for text-layer files and for scans (OCR, no
cache), and the per-task overhead (a no-op round trip).

    .venv/bin/python benchmarks/cluster.py [--sample corpus/sample] [--files 150] [--scans 2]

The scheduler and workers are started here as separate processes on loopback (`dask scheduler`,
`dask worker --nthreads 1`), as on a real cluster but on this machine's cores: with 2 cores the
2-worker cluster and the 2-worker pool share the same two. A cluster's workers are warmed first
(their first task starts the child process that runs tasks, imports and loads the OCR models): the
cold start is reported apart. Results: benchmarks/out/cluster.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


class LocalCluster:
    """A scheduler and `workers` Dask workers as process groups of their own."""

    def __init__(self, folder: Path, workers: int):
        self.folder, self.workers, self.procs = folder, workers, []

    def __enter__(self) -> str:
        info = self.folder / "scheduler.json"
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(info))
        while not info.exists() or not info.read_text().strip():
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for n in range(self.workers):
            self._start("worker", self.address, "--nthreads", "1", "--no-dashboard", "--name", f"w{n}")
        from distributed import Client

        with Client(self.address, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=90)
        return self.address

    def _start(self, *args: str) -> None:
        self.procs.append(subprocess.Popen([str(BIN / "dask"), *args], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True))

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(10)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def ingest(files: list[Path], ocr: str, cluster: str | None) -> dict:
    """One ingest into a fresh home (fresh OCR cache): seconds, pages, pages/s."""
    from archive.catalog import Catalog
    from archive.ingest import Ingestor

    with tempfile.TemporaryDirectory() as home:
        catalog = Catalog(Path(home) / "catalog.db")
        started = time.perf_counter()
        s = Ingestor(catalog, workers=2, ocr=ocr, cluster=cluster).run([], files=files)
        seconds = time.perf_counter() - started
        catalog.close()
    return {"seconds": round(seconds, 2), "documents": s.added, "failed": len(s.failed),
            "pages": s.pages, "ocr_pages": s.ocr_pages, "pages_per_s": round(s.pages / seconds, 2)}


def overhead(executor, n: int = 200) -> dict:
    """Milliseconds a no-op task takes there and back, one at a time (median, p90)."""
    from archive.cluster import noop

    times = []
    for _ in range(n):
        started = time.perf_counter()
        executor.submit(noop, None, (), 30, "noop")
        assert executor.completed()[0][1]["ok"]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(n * 0.9)], 2)}


def dask_only_overhead(address: str, n: int = 200) -> dict:
    """The same without our child process: Dask's own round trip."""
    from distributed import Client

    from archive.cluster import noop

    times = []
    with Client(address, set_as_default=False) as client:
        for _ in range(n):
            started = time.perf_counter()
            client.submit(noop, pure=False).result()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(n * 0.9)], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default=str(ROOT / "corpus" / "sample"))
    ap.add_argument("--files", type=int, default=150, help="text-layer files")
    ap.add_argument("--scans", type=int, default=2, help="scanned files (OCR'd, no cache)")
    args = ap.parse_args()

    from archive.cluster import DaskExecutor
    from archive.executors import PoolExecutor
    from archive.ingest import DEFAULT_MEMORY_MB, discover

    sample = Path(args.sample)
    truth = json.loads((sample / "truth.json").read_text())
    scans = sorted(sample / p for p in truth["scans"])[:args.scans]
    text = [f for f in discover([sample]) if f not in set(scans)][:args.files]
    runs: dict[str, dict] = {}
    pool = PoolExecutor(2, DEFAULT_MEMORY_MB)
    try:
        overheads = {"local pool (2 workers)": overhead(pool)}
    finally:
        pool.close()
    runs["local pool (2 workers)"] = {"text": ingest(text, "never", None), "ocr": ingest(scans, "auto", None)}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder, LocalCluster(Path(folder), workers) as address:
            name = f"dask ({workers} worker{'s' if workers > 1 else ''})"
            cold = ingest(scans[:1], "auto", address)      # each worker's first task starts its child
            runs[name] = {"cold_start_s": cold["seconds"],"text": ingest(text, "never", address), "ocr": ingest(scans, "auto", address)}
            executor = DaskExecutor(address, DEFAULT_MEMORY_MB)
            try:
                overheads[name] = overhead(executor)
            finally:
                executor.close()
            overheads[f"{name}, Dask alone"] = dask_only_overhead(address)
    out = {"cores": os.cpu_count(), "text_files": len(text), "scans": len(scans), "runs": runs,
           "noop_round_trip": overheads}
    (ROOT / "benchmarks" / "out").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "out" / "cluster.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(f"{'':24} {'text pages/s':>13} {'OCR pages/s':>12}   (text: {len(text)} files; OCR: {len(scans)} scans)")
    for name, r in runs.items():
        print(f"{name:24} {r['text']['pages_per_s']:>13} {r['ocr']['pages_per_s']:>12}"
              f"   ({r['text']['pages']} pages in {r['text']['seconds']} s; "
              f"{r['ocr']['ocr_pages']} OCR pages in {r['ocr']['seconds']} s)")
    for name, r in runs.items():
        if "cold_start_s" in r:
            print(f"{name}: first ingest on fresh workers (1 scan) {r['cold_start_s']} s")
    for name, o in overheads.items():
        print(f"no-op round trip, {name}: {o['median_ms']} ms median, {o['p90_ms']} ms p90")


if __name__ == "__main__":
    main()
