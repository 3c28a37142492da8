"""Uploads while a batch ingest runs and searches go on: every request answers, no lock error
reaches a user, and afterwards catalogue and index agree."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from pdfmaker import make_pdf
from test_api import call, multipart

pytestmark = pytest.mark.slow


def test_uploads_during_a_batch_ingest_with_searches(live_server, sample, tmp_path):
    batch = tmp_path / "batch"
    for i, pdf in enumerate(sorted(sample[0].rglob("*.pdf"))[:60]):
        target = batch / f"{i:03d}-{pdf.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, target)
        with target.open("ab") as fh:               # new content: the batch really ingests it
            fh.write(f"\n% copy {i}\n".encode())
    exe = Path(sys.executable).parent / "auditarchive"
    # --ocr never: the batch is about contention, not OCR (scans would add minutes on a busy machine)
    ingest = subprocess.Popen([str(exe), "--home", str(live_server.home), "ingest", str(batch), "--json",
                               "--workers", "1", "--ocr", "never"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    statuses: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def searcher() -> None:
        words = ["管理评审", "不符合", "纠正措施", "内部审核", "培训"]
        n = 0
        while not stop.is_set():
            reply = call(live_server, "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": words[n % 5]}))
            statuses.append(("search", reply.status, reply.body[:200].decode(errors="replace")))
            n += 1

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    uploaded = []
    try:
        for i in range(3):
            marker = f"并发{uuid.uuid4().hex[:6]}"
            pdf = make_pdf(tmp_path / f"u{i}.pdf", ["审核报告", "受审核方：苏州并发测试有限公司",
                                                     f"审核发现：{marker}工序的记录缺少签字。"])
            body, headers = multipart([(f"上传{i}.pdf", pdf.read_bytes())])
            reply = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers)
            statuses.append(("upload", reply.status, reply.body[:200].decode(errors="replace")))
            uploaded.append((json.loads(reply.body)["uploads"][0]["sha256"], marker))
        out, err = ingest.communicate(timeout=600)
        assert ingest.returncode == 0, err
        summary = json.loads(out)
        assert summary["added"] + summary["unchanged"] + summary["updated"] + len(summary["failed"]) == 60, summary
        assert summary["added"] >= 50, summary
        deadline = time.monotonic() + 300
        for sha, _ in uploaded:
            while call(live_server, "GET", f"/api/v1/uploads/{sha}").json()["status"] == "pending":
                assert time.monotonic() < deadline, "an upload was never ingested"
                time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        if ingest.poll() is None:
            ingest.kill()

    bad = [s for s in statuses if s[1] not in (200, 202)]
    assert not bad, bad[:5]
    assert sum(1 for s in statuses if s[0] == "search") > 10
    for sha, marker in uploaded:
        assert call(live_server, "GET", f"/api/v1/uploads/{sha}").json()["status"] == "ingested"
        # "ingested" is the catalogue's word; the upload queue updates the index right after it
        # (a busy machine may take a moment), and the reader may still hold the older index
        deadline = time.monotonic() + 60
        while True:
            found = call(live_server, "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": marker})).json()
            if [h for h in found["hits"] if not h["partial"]] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [h for h in found["hits"] if not h["partial"]], marker
    check = subprocess.run([str(exe), "--home", str(live_server.home), "check", "--json"], capture_output=True,
                           text=True)
    assert json.loads(check.stdout)["clean"], check.stdout[:500]


def _worker_key(root: str, start: float, out) -> None:
    from webui.auth import secret_key  # imported by the test before the fork

    time.sleep(max(0.0, start - time.time()))      # every process asks at the same moment
    try:
        out.put(secret_key(Path(root)).hex())
    except Exception as exc:                     # noqa: BLE001 — reported to the test
        out.put(f"error: {exc!r}")


def test_server_workers_starting_together_share_one_secret_key(tmp_path):
    """The server's workers start at once and each asks for the data home's session key: all must
    get the same complete key (one of them failed on a file another had just created, and a
    worker could read a key not written yet: sessions then broke between workers)."""
    import multiprocessing as mp

    import webui.auth  # noqa: F401 — loaded once here, so that the forked workers start at once

    ctx = mp.get_context("fork")
    for round_ in range(15):
        root = tmp_path / f"home{round_}"
        out = ctx.Queue()
        start = time.time() + 0.5
        procs = [ctx.Process(target=_worker_key, args=(str(root), start, out)) for _ in range(6)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert (root / "secret_key").stat().st_mode & 0o777 == 0o600
        assert [f.name for f in root.iterdir()] == ["secret_key"]      # no temporary file left
