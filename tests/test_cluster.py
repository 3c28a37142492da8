"""Ingest on a real Dask cluster: a scheduler and two workers as separate processes on loopback.

The cluster's catalogue must equal a local ingest's (same documents, same fields, same failures),
and a worker killed with SIGKILL mid-run must cost nothing: the ingest completes, nothing is lost
or doubled, catalogue and index agree. Every process started here is in its own process group,
killed as a group at the end (the workers' children with them).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import own_ocr_cache_env

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


class Cluster:
    """`dask scheduler` and `dask worker` processes, each the head of its own process group."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        # workers use the OCR cache each client names (the suite's shared one, or a home's own)
        proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=self.folder, env=own_ocr_cache_env())
        self.procs.append(proc)
        return proc

    def start(self, workers: int = 2) -> "Cluster":
        info = self.folder / "scheduler.json"
        self._start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(info))
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert time.monotonic() < deadline, (self.folder / "scheduler.log").read_text()
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for n in range(workers):
            self._start(f"worker{n}", "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                        "--no-dashboard", "--name", f"w{n}")
        with self.client() as client:
            client.wait_for_workers(workers, timeout=90)
        return self

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs:                      # whatever is left of the groups, children too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def stray(self, wait: float = 15) -> list[int]:
        """Process groups of this cluster that still have a member once `wait` seconds have
        passed (killed children take a moment to be reaped)."""
        deadline = time.monotonic() + wait
        while True:
            alive = []
            for proc in self.procs:
                try:
                    os.killpg(proc.pid, 0)
                    alive.append(proc.pid)
                except ProcessLookupError:
                    pass
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c.start()
    finally:
        c.stop()
        assert c.stray() == [], "processes of the cluster outlived it"


def cli(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "auditarchive"), "--home", str(home), *args], capture_output=True,
                          text=True, timeout=kw.pop("timeout", 600), cwd=ROOT, **kw)


def documents(home: Path) -> dict[str, dict]:
    res = cli(home, "list", "--json")
    assert res.returncode == 0, res.stderr
    return {d["id"]: d for d in json.loads(res.stdout)}


def failures(home: Path) -> list[tuple[str, str]]:
    res = cli(home, "failures", "--json")
    return sorted((f["path"], f["reason"]) for f in json.loads(res.stdout))


def test_a_cluster_ingest_equals_a_local_one(cluster: Cluster, sample, sample_home, tmp_path: Path):
    root, _ = sample
    local = sample_home[0]
    home = tmp_path / "home"
    # The suite's shared OCR cache (conftest), which the local run filled: the cluster's OCR tasks
    # still render and look up every scanned page, without paying seconds a page again (the kill
    # test below OCRs for real, with its home's own cache).
    res = cli(home, "ingest", str(root), "--cluster", cluster.address, "--json", "--progress")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["cluster_workers"] == 2 and summary["workers"] == 2
    assert summary["added"] == sample_home[2].added and summary["pages"] == sample_home[2].pages
    assert summary["ocr_pages"] == sample_home[2].ocr_pages > 0
    assert "已读" in res.stderr and "OCR" in res.stderr             # progress as results arrive
    assert documents(home) == documents(local)
    assert failures(home) == failures(local)
    assert cli(home, "check").returncode == 0
    again = json.loads(cli(home, "ingest", str(root), "--cluster", cluster.address, "--json").stdout)
    assert again["added"] == 0 and again["unchanged"] == summary["added"]


def test_send_bytes_reads_nothing_from_the_workers_disk(cluster: Cluster, sample, sample_home, tmp_path):
    root, _ = sample
    files = sorted(root.rglob("*.pdf"))[:12]
    home = tmp_path / "home"
    res = cli(home, "ingest", *map(str, files), "--cluster", cluster.address, "--send-bytes", "--json")
    assert res.returncode == 0, res.stderr
    got = {i: _no_path(d) for i, d in documents(home).items()}
    assert got == _same_content(sample_home[0], files)


def _same_content(local: Path, files: list[Path]) -> dict[str, dict]:
    """The local run's documents for these files, by content (a copy elsewhere in the sample may
    have given the document another path there)."""
    from archive.ingest import sha256_file

    ids = {sha256_file(f) for f in files}
    return {i: _no_path(d) for i, d in documents(local).items() if i in ids}


def _no_path(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("path", "filename")}


def _saved(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("select count(*) from documents").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_worker_killed_mid_run_costs_nothing(cluster: Cluster, sample, sample_home, tmp_path: Path):
    root, truth = sample
    scans = sorted(root / p for p in truth["scans"])[:3]            # real OCR on the cluster
    files = [f for f in sorted(root.rglob("*.pdf")) if f not in scans][:40] + scans
    home = tmp_path / "home"
    proc = subprocess.Popen([str(BIN / "auditarchive"), "--home", str(home), "ingest", *map(str, files),
                             "--cluster", cluster.address, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=own_ocr_cache_env())
    killed = None
    try:
        deadline = time.monotonic() + 300
        with cluster.client() as client:
            while killed is None and time.monotonic() < deadline and proc.poll() is None:
                busy = [w for w, keys in client.processing().items()
                        if any(str(k).startswith("ocr_task") for k in keys)]
                if busy and _saved(home) >= 3:                    # mid-run, and mid-OCR on that worker
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed = busy[0]
                time.sleep(0.2)
            out, err = proc.communicate(timeout=600)
            assert killed is not None, "the run ended before a worker could be killed"
            client.wait_for_workers(2, timeout=90)                # the nanny restarts it
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    want = _same_content(sample_home[0], files)
    got = {i: _no_path(d) for i, d in documents(home).items()}
    assert got == want                                               # nothing lost, nothing doubled
    assert summary["added"] == len(want) and summary["ocr_pages"] > 0
    assert summary["added"] + summary["unchanged"] + len(summary["failed"]) == len(files)
    assert [f["reason"] for f in summary["failed"]] == [
        r for p, r in failures(sample_home[0]) if p in set(map(str, files))]
    assert cli(home, "check").returncode == 0
