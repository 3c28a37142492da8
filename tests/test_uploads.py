"""Uploads are checked, stored by content hash under files/, named safely, and never executed."""
from __future__ import annotations

import hashlib
import io
import stat

import pytest

from archive.uploads import UploadError, find_upload, safe_filename, store_upload, stored_files

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize("given, expected", [
    ("审核报告.pdf", "审核报告.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("..\\..\\windows\\system32\\x.PDF", "x.pdf"),
    (".hidden.pdf", "hidden.pdf"),
    ("a\x00b\u202ec.pdf", "abc.pdf"),
    ("<script>alert(1)</script>.pdf", "script.pdf"), ("<img onerror=x>.pdf", "img onerror_x.pdf"),
    ("", "upload.pdf"), (None, "upload.pdf"), ("....pdf", "upload.pdf"),
    ("报告 （终稿） v2.pdf", "报告 （终稿） v2.pdf"),
])
def test_safe_filename(given, expected):
    assert safe_filename(given) == expected


def test_long_names_are_cut():
    assert len(safe_filename("审" * 500 + ".pdf")) == 124


def test_stored_by_content_hash_read_only_and_once(tmp_path):
    first = store_upload(tmp_path, "../a.pdf", io.BytesIO(PDF))
    assert first.path == tmp_path / hashlib.sha256(PDF).hexdigest() / "a.pdf"
    assert first.path.read_bytes() == PDF and not first.duplicate
    assert not stat.S_IMODE(first.path.stat().st_mode) & 0o222           # nobody may write it
    again = store_upload(tmp_path, "other-name.pdf", io.BytesIO(PDF))
    assert again.duplicate and again.path == first.path
    assert stored_files(tmp_path) == [first.path]
    assert find_upload(tmp_path, first.sha256) == first.path
    assert find_upload(tmp_path, "../" + first.sha256) is None


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"), (b"MZ\x90\x00 an executable", "not_pdf"), (b"<html>" + b" " * 2000 + b"%PDF-1.4", "not_pdf"),
])
def test_refused_content(tmp_path, data, reason):
    with pytest.raises(UploadError) as err:
        store_upload(tmp_path, "x.pdf", io.BytesIO(data))
    assert err.value.reason == reason
    assert not any(tmp_path.rglob("*")), "nothing half-written is left"


def test_header_within_the_first_kilobyte_is_accepted(tmp_path):
    assert store_upload(tmp_path, "x.pdf", io.BytesIO(b"\x00" * 100 + PDF)).size == 100 + len(PDF)


def test_size_limit_while_streaming(tmp_path):
    with pytest.raises(UploadError) as err:
        store_upload(tmp_path, "big.pdf", io.BytesIO(PDF + b"0" * 5000), max_bytes=4096)
    assert err.value.reason == "too_large"
    assert not any(tmp_path.rglob("*"))


def test_a_request_over_the_limit_is_413_json(live_server):
    from webui.app import create_app

    app = create_app(live_server.home, {"MAX_CONTENT_LENGTH": 2048, "START_UPLOAD_QUEUE": False})
    client = app.test_client()
    response = client.post("/api/v1/documents", data={"file": (io.BytesIO(PDF + b"0" * 5000), "a.pdf")},
                           headers={"Authorization": f"Bearer {live_server.token}"},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"]
