"""Hostile PDFs fail cleanly in their worker, within the time limit, and the batch goes on; page
images of hostile pages never stall or kill the web server."""
from __future__ import annotations

import io
import time

import pytest
from hostile import write_all
from pdfmaker import make_pdf
from PIL import Image

from archive.catalog import Catalog
from archive.ingest import Ingestor
from archive.pagerender import MAX_SIDE_PX, Renderer
from archive.pdf import PdfError

pytestmark = pytest.mark.slow
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    files = write_all(folder)
    files["ordinary"] = make_pdf(folder / "ordinary.pdf", ["审核报告", "受审核方：温州正常样本有限公司",
                                                          "审核发现：普通文件与恶意文件同批处理。"])
    return folder, files


def test_a_hostile_batch_goes_on_and_each_file_is_accounted_for(corpus, tmp_path):
    folder, files = corpus
    catalog = Catalog(tmp_path / "catalog.db")
    started = time.monotonic()
    summary = Ingestor(catalog, workers=2, timeout=TIMEOUT).run([folder])
    elapsed = time.monotonic() - started
    failed = {f.path: f for f in summary.failed}
    stored = {row["path"]: row["doc_id"] for row in catalog.db.query("select path, doc_id from files")}
    for name, path in files.items():
        assert (str(path) in failed) != (str(path) in stored), f"{name} is neither stored nor failed, or both"
        if str(path) in failed:
            assert failed[str(path)].reason and failed[str(path)].message, name
    # the time limit holds: even files that hang end by it (two workers, a few files each)
    assert elapsed < TIMEOUT * len(files) / 2 + 60
    ordinary = catalog.get_document(stored[str(files["ordinary"])])
    assert ordinary.org.name == "温州正常样本有限公司"
    assert str(files["huge_page_count"]) in failed and failed[str(files["huge_page_count"])].reason == "too_large"
    js = catalog.get_document(stored[str(files["javascript"])]) if str(files["javascript"]) in stored else None
    assert js is not None and "JavaScript" in catalog.pages(js.id)[0]["text"]       # read, never run
    rows = {r["path"]: r for r in catalog.failures()}
    assert set(rows) == set(failed)                      # every failure recorded with its reason
    catalog.close()


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(workers=1, timeout=TIMEOUT)
    yield r
    r.close()


@pytest.mark.parametrize("name", ["giant_page", "gigantic_image", "deep_nesting", "decompression_bomb",
                                  "broken_xref", "javascript"])
def test_rendering_a_hostile_page_is_bounded(corpus, renderer, name):
    _, files = corpus
    started = time.monotonic()
    try:
        png = renderer.png(files[name], 1)
    except PdfError as exc:
        assert exc.reason and str(exc)
    else:
        with Image.open(io.BytesIO(png)) as image:
            assert max(image.size) <= MAX_SIDE_PX
    assert time.monotonic() - started < TIMEOUT + 10
    # and the renderer still works afterwards
    assert renderer.png(files["ordinary"], 1)[:4] == b"\x89PNG"


def test_the_server_shows_a_giant_page_scaled_down(live_server, corpus):
    from test_api import call, multipart

    _, files = corpus
    body, headers = multipart([("giant.pdf", files["giant_page"].read_bytes())])
    sha = call(live_server, "POST", "/api/v1/documents", body=body, headers=headers).json()["uploads"][0]["sha256"]
    deadline = time.monotonic() + 120
    while (status := call(live_server, "GET", f"/api/v1/uploads/{sha}").json())["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert status["status"] == "ingested", status
    started = time.monotonic()
    reply = call(live_server, "GET", f"/api/v1/documents/{status['document_id']}/pages/1?format=png")
    assert reply.status == 200 and time.monotonic() - started < 15
    with Image.open(io.BytesIO(reply.body)) as image:
        assert max(image.size) <= MAX_SIDE_PX
