"""archive.readers.office: Word formats we do not parse ourselves → PDF by LibreOffice headless.

Every input is made here (RTF by hand, ODT as a zip, a binary Word 97 file by LibreOffice from the RTF),
plus the real Word 97 file in ../shared/realdocs when it is there.
"""
from __future__ import annotations

import hashlib
import http.server
import io
import multiprocessing
import os
import stat
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from archive.pdf import read_pdf
from archive.readers import office
from archive.readers.base import ReadError

needs_soffice = pytest.mark.skipif(not office.available(), reason="LibreOffice (soffice) is not installed: "
                                   "scripts/setup-system.sh installs it")
REAL_DOC = "auditor-work-rules.doc"


# -- inputs made here --------------------------------------------------------------------------


def make_rtf(*paragraphs: str) -> bytes:
    """An RTF file with its Chinese written as \\uN? escapes, as Word writes them."""
    def escape(text: str) -> str:
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in text)

    body = "".join(f"\\pard {escape(p)}\\par\n" for p in paragraphs)
    return ("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0 SimSun;}}\n" + body + "}").encode("ascii")


ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
          'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
          'xmlns:xlink="http://www.w3.org/1999/xlink"')
MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry '
            'manifest:full-path="content.xml" manifest:media-type="text/xml">{extra}</manifest:file-entry>'
            '</manifest:manifest>')


def make_odt(body: str, content: str | None = None, manifest_extra: str = "") -> bytes:
    """An ODT file as LibreOffice writes one: `mimetype` first and stored, content.xml, the manifest."""
    if content is None:
        content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODT_NS} office:version="1.2">'
                   '<office:automatic-styles><style:style style:name="C" style:family="table-cell">'
                   '<style:table-cell-properties fo:border="0.5pt solid #000000" fo:padding="0.1cm"/>'
                   '</style:style></office:automatic-styles>'
                   f'<office:body><office:text>{body}</office:text></office:body></office:document-content>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", MANIFEST.format(extra=manifest_extra),
                    compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def odt_table(rows: list[list[str]]) -> str:
    cells = "".join("<table:table-row>" + "".join(
        f'<table:table-cell table:style-name="C" office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
        for c in row) + "</table:table-row>" for row in rows)
    return f'<table:table table:name="T"><table:table-column table:number-columns-repeated="{len(rows[0])}"/>' \
           f"{cells}</table:table>"


TEAM = [["审核员", "注册号", "专业代码"], ["张三", "2023-N1QMS-1234567", "17.10.02"],
        ["李四", "2022-N1QMS-7654321", "29.10.07"]]


@pytest.fixture(scope="session")
def made_doc(tmp_path_factory) -> bytes:
    """A binary Word 97 file, made by LibreOffice itself from an RTF (its own profile, not the module's)."""
    if not office.available():
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("made-doc")
    (folder / "source.rtf").write_bytes(make_rtf("审核员工作守则", "审核档案质量最低标准要求：记录完整、签字齐全。"))
    profile = folder / "profile"
    subprocess.run([office._soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "doc:MS Word 97", "--outdir", str(folder), str(folder / "source.rtf")],
                   cwd=folder, env={"PATH": os.environ["PATH"], "HOME": str(profile)}, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=120, check=True)
    data = (folder / "source.doc").read_bytes()
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    return data


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temporary folder of the test's own and a fresh profile made in it (thrown away afterwards)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    office._discard_profile()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    office._discard_profile()


def text_of(pdf: bytes) -> str:
    return "".join("".join(page.text.split()) for page in read_pdf(pdf))


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of running processes that mention `marker` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(cmdline)
    return found


# -- conversions -------------------------------------------------------------------------------


@pytest.mark.slow
@needs_soffice
def test_real_word97_file_converts_and_its_chinese_is_read(realdocs):
    path = realdocs / REAL_DOC
    if not path.is_file():
        pytest.skip(f"{REAL_DOC} is not in {realdocs}")
    pdf = office.convert_to_pdf(path.read_bytes(), "doc")
    pages = read_pdf(pdf)
    assert len(pages) == 2
    text = text_of(pdf)
    for phrase in ("中标华信认证中心管理制度", "审核员工作守则", "含审核档案质量最低标准要求",
                   "中华人民共和国认证认可条例", "QP015《管理体系认证控制程序》"):
        assert phrase in text, phrase


@pytest.mark.slow
@needs_soffice
def test_word97_made_here_converts_as_doc_and_as_kingsoft_wps(made_doc):
    for kind in ("doc", "wps"):
        text = text_of(office.convert_to_pdf(made_doc, kind))
        assert "审核员工作守则" in text and "审核档案质量最低标准要求" in text, kind


@needs_soffice
def test_rtf_converts():
    pdf = office.convert_to_pdf(make_rtf("审核报告", "受审核方：杭州安恒检测技术有限公司", "审核日期 2023-05-10"), "rtf")
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert "审核报告" in text and "受审核方:杭州安恒检测技术有限公司" in text and "2023-05-10" in text


@needs_soffice
def test_odt_converts_with_its_table():
    pdf = office.convert_to_pdf(make_odt("<text:p>审核组成员名单</text:p>" + odt_table(TEAM)
                                         + "<text:p>以上人员均具备相应专业能力。</text:p>"), "odt")
    pages = read_pdf(pdf, want_tables=lambda text: True)
    assert "审核组成员名单" in pages[0].text and "以上人员均具备相应专业能力" in pages[0].text
    assert pages[0].tables == [TEAM]


# -- the cache ---------------------------------------------------------------------------------


@needs_soffice
def test_cache_keeps_the_pdf_and_the_second_call_does_not_run_libreoffice(tmp_path, monkeypatch):
    data = make_rtf("缓存测试：审核计划")
    cache = tmp_path / "home" / "renditions"
    pdf = office.convert_to_pdf(data, "rtf", cache_dir=cache)
    kept = office.rendition_path(cache, hashlib.sha256(data).hexdigest())
    assert kept.read_bytes() == pdf
    assert sorted(p.name for p in cache.iterdir()) == [kept.name]           # no temporary file left
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))          # LibreOffice cannot be found now
    assert not office.available()
    start = time.monotonic()
    assert office.convert_to_pdf(data, "rtf", cache_dir=cache) == pdf
    assert time.monotonic() - start < 0.2
    with pytest.raises(ReadError) as err:                                   # other content still needs it
        office.convert_to_pdf(make_rtf("另一份文件"), "rtf", cache_dir=cache)
    assert err.value.reason == "unsupported"


@needs_soffice
def test_a_cut_cache_file_is_made_again(tmp_path):
    data = make_rtf("缓存文件被截断")
    cache = tmp_path / "renditions"
    cache.mkdir()
    kept = office.rendition_path(cache, hashlib.sha256(data).hexdigest())
    kept.write_bytes(b"")
    pdf = office.convert_to_pdf(data, "rtf", cache_dir=cache)
    assert pdf.startswith(b"%PDF-") and kept.read_bytes() == pdf


def test_rendition_path():
    sha = hashlib.sha256(b"x").hexdigest()
    assert office.rendition_path("/data/renditions", sha) == Path("/data/renditions") / f"{sha}.pdf"
    for bad in ("../../etc/passwd", sha.upper(), sha[:10], sha + "/x"):
        with pytest.raises(ValueError):
            office.rendition_path("/data/renditions", bad)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data, kind", [
    (os.urandom(20000), "doc"),                                             # garbage named .doc
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(20000), "doc"),       # an OLE2 signature, then garbage
    (b"PK\x03\x04" + os.urandom(5000), "odt"),                              # a zip signature, then garbage
    (b"just some text, not a document", "wps"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 10, "doc"),                         # OLE2, cut short
])
def test_garbage_fails_as_damaged_quickly(data, kind):
    start = time.monotonic()
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(data, kind)
    assert err.value.reason == "damaged"
    assert "可能已损坏" in str(err.value)
    assert time.monotonic() - start < 1.0          # decided from the content, LibreOffice not started


@pytest.mark.slow
@needs_soffice
def test_a_cut_word_file_fails_as_damaged(made_doc):
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(made_doc[: len(made_doc) // 2], "doc")
    assert err.value.reason == "damaged"


@needs_soffice
def test_a_file_libreoffice_cannot_load_fails_as_damaged():
    data = make_odt("", content="this is not XML")         # passes the content check, fails in LibreOffice
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(data, "odt")
    assert err.value.reason == "damaged" and "无法把这份ODT 文档转换为 PDF" in str(err.value)


def test_empty_file():
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(b"", "doc")
    assert err.value.reason == "empty"


@pytest.mark.slow
@needs_soffice
def test_encrypted_word_and_odt_fail_as_encrypted(made_doc, tmp_path):
    import olefile

    path = tmp_path / "encrypted.doc"
    path.write_bytes(made_doc)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        fib = bytearray(ole.openstream("WordDocument").read())
        fib[11] |= 0x01                                    # FIB flags (offset 10): fEncrypted is bit 8
        ole.write_stream("WordDocument", bytes(fib))
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(path.read_bytes(), "doc")
    assert err.value.reason == "encrypted"
    odt = make_odt("<text:p>加密</text:p>", manifest_extra='<manifest:encryption-data manifest:checksum-type="SHA1"/>')
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(odt, "odt")
    assert err.value.reason == "encrypted"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        office.convert_to_pdf(make_rtf("x"), "docx")


def test_without_libreoffice_the_user_is_told_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not office.available()
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(make_rtf("审核报告"), "rtf")
    assert err.value.reason == "unsupported"
    assert "scripts/setup-system.sh" in str(err.value) and "libreoffice-writer-nogui" in str(err.value)


# -- running LibreOffice safely ----------------------------------------------------------------


@pytest.mark.slow
@needs_soffice
def test_timeout_kills_libreoffice_and_all_it_started(private_tmp):
    big = make_rtf(*[f"{i} 审核员应自觉遵循认证认可条例及相关认证领域的认证实施规则的要求。" for i in range(3000)])
    profile = office._profile_dir()
    pipe = "OSL_PIPE_{}_SingleOfficeIPC_{}".format(os.getuid(), "".join(
        format(b, "x") for b in hashlib.md5((profile / "lo").as_uri().encode("utf-16-le")).digest()))
    start = time.monotonic()
    with pytest.raises(ReadError) as err:
        office.convert_to_pdf(big, "rtf", timeout=1.0)    # ~3 s of work on 66 pages
    elapsed = time.monotonic() - start
    assert err.value.reason == "timeout" and "1 秒" in str(err.value)
    assert elapsed < 2.5
    assert processes_mentioning(str(private_tmp)) == []            # soffice.bin, oosplash, the script
    assert not profile.exists() and not (Path("/tmp") / pipe).exists()
    assert [p.name for p in private_tmp.iterdir()] == []           # its temporary folder is gone too
    assert "审核报告" in text_of(office.convert_to_pdf(make_rtf("审核报告"), "rtf"))   # a new profile works


@needs_soffice
def test_writes_nothing_outside_its_temporary_folder_and_the_cache(tmp_path, private_tmp, monkeypatch):
    source = tmp_path / "incoming" / "审核员工作守则.rtf"
    source.parent.mkdir()
    source.write_bytes(make_rtf("审核员工作守则"))
    os.utime(source, (1_600_000_000, 1_600_000_000))

    def listing(folder: Path):
        return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())

    before = listing(source.parent)
    folder_mtime = source.parent.stat().st_mtime_ns
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    user_config = Path.home() / ".config" / "libreoffice"
    config_before = user_config.stat().st_mtime_ns if user_config.exists() else None
    cache = tmp_path / "home" / "renditions"

    pdf = office.convert_to_pdf(source.read_bytes(), "rtf", cache_dir=cache)

    assert "审核员工作守则" in text_of(pdf)
    assert listing(source.parent) == before and source.parent.stat().st_mtime_ns == folder_mtime
    assert list(cwd.iterdir()) == []
    assert [p.name for p in cache.iterdir()] == [f"{hashlib.sha256(source.read_bytes()).hexdigest()}.pdf"]
    left = [p.name for p in private_tmp.iterdir()]                 # only the reusable profile, no work folder
    assert len(left) == 1 and left[0].startswith(f"auditarchive-soffice-{os.getpid()}-")
    assert (user_config.stat().st_mtime_ns if user_config.exists() else None) == config_before


@needs_soffice
def test_profile_is_reused_and_keeps_its_settings(private_tmp):
    office.convert_to_pdf(make_rtf("第一次"), "rtf")
    profile = office._profile
    office.convert_to_pdf(make_rtf("第二次"), "rtf")
    assert office._profile == profile
    settings = (profile / "lo" / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
    for name in ("BlockUntrustedRefererLinks", "DisableMacrosExecution", "MacroSecurityLevel", "ooSetupLastVersion"):
        assert f'oor:name="{name}"' in settings, name
    assert not (profile / "lo" / "user" / "GraphicsRenderTests.log").exists()   # the self-tests did not run


@needs_soffice
def test_profiles_of_ended_processes_are_swept(private_tmp):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = private_tmp / f"auditarchive-soffice-{dead.pid}-abcd1234"
    (stale / "lo" / "user").mkdir(parents=True)
    alive = private_tmp / f"auditarchive-soffice-{os.getppid()}-efgh5678"
    alive.mkdir()
    office.convert_to_pdf(make_rtf("清理"), "rtf")
    assert not stale.exists() and alive.exists()


def _profile_in_child() -> tuple[str | None, str, bool]:
    before = office._profile
    pdf = office.convert_to_pdf(make_rtf("子进程"), "rtf")
    return (str(before) if before else None), str(office._profile), "子进程" in text_of(pdf)


@pytest.mark.slow
@needs_soffice
def test_a_forked_process_makes_its_own_profile():
    office.convert_to_pdf(make_rtf("父进程"), "rtf")
    parent = str(office._profile)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        before, child, ok = pool.apply(_profile_in_child)
    assert before is None and ok and child != parent
    office._sweep_profiles(Path(child).parent)          # the worker ended by os._exit, skipping atexit
    assert not Path(child).exists() and Path(parent).exists()


@needs_soffice
def test_threads_convert_one_at_a_time():
    results: dict[int, str] = {}

    def convert(n: int) -> None:
        results[n] = text_of(office.convert_to_pdf(make_rtf(f"线程 {n} 的文件"), "rtf"))

    threads = [threading.Thread(target=convert, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(f"线程{n}的文件" in results[n] for n in range(3))


@needs_soffice
def test_linked_pictures_are_not_fetched():
    """LibreOffice fetches a document's linked pictures from any URL while converting unless the
    profile blocks untrusted links: a hostile file could make the server call out (or probe the LAN)."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/picture.png"
        body = ('<text:p>外部链接的图片：<draw:frame draw:name="p" text:anchor-type="as-char" svg:width="2cm" '
                f'svg:height="2cm"><draw:image xlink:href="{url}" xlink:type="simple" xlink:show="embed" '
                'xlink:actuate="onLoad"/></draw:frame></text:p>')
        text = text_of(office.convert_to_pdf(make_odt(body), "odt"))
    finally:
        server.shutdown()
        server.server_close()
    assert "外部链接的图片" in text
    assert requests == []
