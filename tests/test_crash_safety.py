"""SIGKILL `ingest` and `reindex` at random moments, run them again, and check that nothing was
lost or doubled: the catalogue matches a clean run, and `auditarchive check` is clean."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXE = Path(sys.executable).parent / "auditarchive"


def run(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), "--home", str(home), *args], capture_output=True, text=True, timeout=timeout)


def saved(home: Path) -> int:
    """Documents the catalogue holds now (0 while it does not exist yet)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("select count(*) from documents").fetchone()[0]
    except sqlite3.Error:
        return 0


def killed_once_saved(home: Path, count: int, *args: str, limit: float = 300) -> bool:
    """Start a command in its own process group and SIGKILL the whole group as soon as the
    catalogue holds `count` documents: a kill point in the work itself, whatever the machine's
    load. True when it was still running (so it was really killed)."""
    proc = subprocess.Popen([str(EXE), "--home", str(home), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + limit
    while proc.poll() is None and saved(home) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def killed_after(home: Path, seconds: float, *args: str) -> bool:
    """Start a command in its own process group and SIGKILL the whole group after `seconds`;
    True when it was still running (so it was really killed)."""
    proc = subprocess.Popen([str(EXE), "--home", str(home), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def catalogue(home: Path) -> dict[str, dict]:
    docs = json.loads(run(home, "list", "--json").stdout)
    return {d["id"]: {k: d[k] for k in ("doc_type", "org", "codes", "stage", "audit_start", "findings")}
            for d in docs}


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "pdfs"
    folder.mkdir()
    for i, pdf in enumerate(sorted(sample[0].rglob("*.pdf"))[:60]):     # scans among them: OCR tasks too
        shutil.copy(pdf, folder / f"{i:03d}.pdf")
    return folder


@pytest.fixture(scope="module")
def reference(files, tmp_path_factory) -> tuple[dict[str, dict], float, float]:
    """The catalogue of an uninterrupted run, and how long ingest and a full reindex took (kills
    are timed as fractions of these, so that they land mid-run on a fast machine or a slow one)."""
    home = tmp_path_factory.mktemp("reference") / "home"
    started = time.perf_counter()
    result = run(home, "ingest", str(files), "--workers", "2")
    ingest_s = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    started = time.perf_counter()
    assert run(home, "reindex", "--full").returncode == 0
    return catalogue(home), ingest_s, time.perf_counter() - started


def test_ingest_killed_at_random_points_ends_as_a_clean_run(files, reference, tmp_path):
    expected, _, _ = reference
    home = tmp_path / "home"
    rng = random.Random(20261121)
    kills = 0
    # four kills at random points of the work: after 1 … n-1 documents are written
    for point in sorted(rng.sample(range(1, len(expected)), 4)):
        kills += killed_once_saved(home, point, "ingest", str(files), "--workers", "2")
    result = run(home, "ingest", str(files), "--workers", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert kills >= 1, "the runs ended before they could be killed: the test proves nothing"
    assert catalogue(home) == expected                     # nothing lost, nothing doubled, same fields
    check = run(home, "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["clean"], check.stdout[:500]
    again = json.loads(run(home, "ingest", str(files), "--json").stdout)
    assert again["added"] == again["updated"] == 0          # and a further run has nothing to do


def test_reindex_killed_at_random_points_resumes_to_a_consistent_index(files, reference, tmp_path):
    expected, _, reindex_s = reference
    home = tmp_path / "home"
    assert run(home, "ingest", str(files), "--workers", "2").returncode == 0
    rng = random.Random(7)
    kills = 0
    for attempt in range(8):
        if attempt >= 4 and kills:
            break
        # a full rebuild until one run has been killed (before that there is nothing to resume);
        # on a machine whose load changed since the reference was timed, later tries kill sooner
        args = ("reindex", "--full") if not kills else ("reindex",)
        fraction = rng.uniform(0.3, 0.9) if attempt < 4 else 0.3 / (attempt - 2)
        kills += killed_after(home, fraction * reindex_s, *args)
    assert kills >= 1, "reindex ended before it could be killed: the test proves nothing"
    result = run(home, "reindex", "--json")
    assert result.returncode == 0, result.stderr
    check = run(home, "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["clean"], check.stdout[:500]
    found = json.loads(run(home, "search", "--type", "ncr", "--limit", "100", "--json").stdout)
    assert found["total"] == sum(1 for d in expected.values() if d["doc_type"] == "ncr")   # each one once


def test_a_run_killed_between_catalogue_and_index_is_repaired_by_the_next(files, tmp_path):
    """The window the random kills may miss: documents catalogued, the process gone, the index
    never told. The next ingest (whose files are all unchanged) must index them."""
    from archive.catalog import Catalog
    from archive.ingest import Ingestor
    from indexer.pipeline import PENDING

    home = tmp_path / "home"
    assert run(home, "ingest", str(files / "000.pdf")).returncode == 0      # an index exists
    catalog = Catalog(home / "catalog.db")
    Ingestor(catalog, workers=0).run([files])                                # catalogued only …
    catalog.close()
    (home / PENDING).mkdir(exist_ok=True)
    (home / PENDING / "999999999-dead").touch()                              # … by a run that died
    assert run(home, "check").returncode == 1
    result = json.loads(run(home, "ingest", str(files), "--json").stdout)
    assert result["added"] == 0
    check = run(home, "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["clean"], check.stdout[:300]
    assert not any((home / PENDING).iterdir())
