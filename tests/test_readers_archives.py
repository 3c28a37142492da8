"""Zipped and 7z project folders: members are documents; hostile archives fail alone, with a reason."""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import py7zr
import pytest
from pdfmaker import make_pdf

from archive.ingest import Ingestor
from archive.messages import message
from archive.originals import servable_original, verified_original
from archive.readers import containers
from archive.readers.base import ReadError
from archive.readers.dispatch import sniff


def _pdf(folder: Path, name: str, org: str) -> bytes:
    path = make_pdf(folder / name, ["审核报告", f"受审核方：{org}", "审核日期：2023年5月6日至2023年5月7日"])
    data = path.read_bytes()
    path.unlink()
    return data


def _gbk_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip as Chinese Windows tools write it: names in GBK, without the UTF-8 flag."""
    placeholders = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(members.items()):
            raw = name.encode("gbk")
            stand_in = f"{i:0{len(raw)}d}".encode()       # ASCII, as long as the GBK name
            placeholders[stand_in] = raw
            zf.writestr(stand_in.decode(), data)
    out = buf.getvalue()
    for stand_in, raw in placeholders.items():
        out = out.replace(stand_in, raw)
    path.write_bytes(out)
    return path


def _flag_encrypted(data: bytes) -> bytes:
    """Mark every member encrypted (the flag bit a password-protected zip sets)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            out[at + offset] |= 1
            start = at + 4
    return bytes(out)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A filed project folder, zipped with GBK names, holding a nested zip and hostile members."""
    folder = tmp_path / "档案"
    folder.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("现场照片说明.pdf", _pdf(tmp_path, "b.pdf", "杭州安恒检测技术有限公司（现场）"))
        deeper = io.BytesIO()
        with zipfile.ZipFile(deeper, "w") as z2:
            z2.writestr("x.pdf", b"%PDF-1.4")
        zf.writestr("更深.zip", deeper.getvalue())
    _gbk_zip(folder / "2023-杭州安恒检测技术有限公司-QES初审.zip", {
        "03审核资料/2阶段/审表012 不符合报告（杭州安恒检测技术有限公司）.pdf":
            _pdf(tmp_path, "a.pdf", "杭州安恒检测技术有限公司"),
        "03审核资料/2阶段/附件.zip": inner.getvalue(),
        "../逃逸.pdf": b"%PDF-1.4 climbing out",
        "Thumbs.db": b"\x00" * 64,
    })
    return folder


def test_members_are_documents_with_gbk_names_nested_one_level(project: Path, tmp_path: Path):
    from archive.catalog import Catalog

    catalog = Catalog(tmp_path / "home" / "catalog.db")
    before = sorted(p.name for p in tmp_path.iterdir())
    summary = Ingestor(catalog, workers=0).run([project])
    archive = project / "2023-杭州安恒检测技术有限公司-QES初审.zip"
    paths = {d.path: d for d in catalog.iter_documents()}
    report = f"{archive}/03审核资料/2阶段/审表012 不符合报告（杭州安恒检测技术有限公司）.pdf"
    nested = f"{archive}/03审核资料/2阶段/附件.zip/现场照片说明.pdf"
    assert set(paths) == {report, nested}
    assert paths[report].org.name == "杭州安恒检测技术有限公司"
    assert paths[report].filename == "审表012 不符合报告（杭州安恒检测技术有限公司）.pdf"
    member = containers.read_source(containers.member_ref(archive, "03审核资料/2阶段/审表012 不符合报告（杭州安恒检测技术有限公司）.pdf"))
    assert paths[report].id == hashlib.sha256(member).hexdigest()
    reasons = {Path(f.path).name: f.reason for f in summary.failed}
    assert reasons == {"逃逸.pdf": "unsafe_name", "更深.zip": "nested"}, summary.failed
    assert summary.others == 1                     # Thumbs.db: passed over, not a failure
    assert summary.formats == {"pdf": 2}
    assert not (tmp_path / "逃逸.pdf").exists() and not (project.parent / "逃逸.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(p.name for p in project.iterdir()) == [archive.name]      # nothing written beside it

    again = Ingestor(catalog, workers=0).run([project])
    assert again.added == 0 and again.unchanged == 2
    assert again.failed == [] and again.skipped_failed == 2        # refused members: said once, not each run

    doc = paths[report]
    assert verified_original(catalog, doc) == Path(report)
    served = servable_original(catalog, doc)
    assert served.is_relative_to(tmp_path / "home") and hashlib.sha256(served.read_bytes()).hexdigest() == doc.id


def test_a_changed_archive_reads_only_changed_members(project: Path, tmp_path: Path):
    from archive.catalog import Catalog

    catalog = Catalog(tmp_path / "home" / "catalog.db")
    Ingestor(catalog, workers=0).run([project])
    archive = next(project.glob("*.zip"))
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("04其他证明/营业执照.pdf", _pdf(tmp_path, "c.pdf", "杭州安恒检测技术有限公司（执照）"))
    summary = Ingestor(catalog, workers=0).run([project])
    assert summary.added == 1 and summary.unchanged == 2          # the others hashed, not extracted again


def test_hostile_archives_fail_alone(tmp_path: Path, monkeypatch):
    from archive.catalog import Catalog

    folder = tmp_path / "in"
    folder.mkdir()
    good = _pdf(tmp_path, "g.pdf", "宁波明州精密机械有限公司")
    (folder / "好的.pdf").write_bytes(good)
    with zipfile.ZipFile(folder / "炸弹.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.pdf", b"\x00" * (20 << 20))               # 20 MB of zeros in ~20 KB
        zf.writestr("ok.pdf", good)
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("secret.pdf", good)
    (folder / "加密.zip").write_bytes(_flag_encrypted(plain.getvalue()))
    (folder / "截断.zip").write_bytes(plain.getvalue()[: len(plain.getvalue()) // 2])
    (folder / "其实是文本.docx").write_text("这不是 Word 文件", encoding="utf-8")
    (folder / "资料.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64)
    with py7zr.SevenZipFile(folder / "加密.7z", "w", password="口令") as z:
        z.set_encrypted_header(True)
        z.writestr(good, "a.pdf")
    with py7zr.SevenZipFile(folder / "项目.7z", "w") as z:
        z.writestr(good, "审核报告.pdf")
    monkeypatch.setattr(containers, "MAX_TOTAL_BYTES", 100 << 20)
    catalog = Catalog(tmp_path / "home" / "catalog.db")
    summary = Ingestor(catalog, workers=0).run([folder])
    reasons = {f.path.replace(str(folder) + "/", ""): f.reason for f in summary.failed}
    assert reasons == {
        "炸弹.zip/zeros.pdf": "too_large", "加密.zip/secret.pdf": "encrypted", "截断.zip": "damaged",
        "其实是文本.docx": "unsupported", "资料.rar": "unsupported", "加密.7z": "encrypted",
    }, summary.failed
    paths = sorted(p.replace(str(folder) + "/", "") for (p,) in catalog.db.execute("select path from files"))
    assert paths == ["好的.pdf", "炸弹.zip/ok.pdf", "项目.7z/审核报告.pdf"]     # one content, three places
    assert catalog.document_count() == 1
    assert all("\x00" not in f.path for f in summary.failed)
    messages = {f.reason: f.message for f in summary.failed}
    assert "压缩炸弹" in messages["too_large"]
    assert {f.message for f in summary.failed if f.reason == "unsupported"} >= {message("format.rar")}


def test_member_names_decoded_and_unsafe_names_refused():
    info = zipfile.ZipInfo("x")
    info.filename = "审核报告.pdf".encode("gbk").decode("cp437")
    assert containers._decoded(info) == "审核报告.pdf"
    info.filename = "审核报告.pdf".encode("utf-8").decode("cp437")          # Info-ZIP on Linux: UTF-8, no flag
    assert containers._decoded(info) == "审核报告.pdf"
    for bad in ("../a.pdf", "/etc/passwd", "a/../../b.pdf", "C:\\x.pdf", "..\\..\\x.pdf"):
        assert containers.unsafe_name(bad), bad
    assert not containers.unsafe_name("03审核资料/1阶段/a..b.pdf")


def test_sniff_decides_by_content_not_name():
    assert sniff(b"%PDF-1.7\n") == "pdf"
    with pytest.raises(ReadError) as err:
        sniff(b"")
    assert err.value.reason == "empty"
    with pytest.raises(ReadError) as err:
        sniff("纯文本，不是文档".encode())
    assert err.value.reason == "unsupported" and "纯文本" in str(err.value)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    assert sniff(buf.getvalue()) == "zip"
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 16) == "image"
    assert sniff(b"{\\rtf1\\ansi hello}") == "rtf"
