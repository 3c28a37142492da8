"""The sample-archive generator (corpus/): determinism, the truth's shape and vocabularies, and that
every document (PDF, Word, Word XML, binary .doc, photo, OFD, zipped) says what its truth says it says,
read by the project's own readers."""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import io
import json
import random
import re
import time
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pytest

from archive.models import DOC_TYPES, FIELDS, ROLES, SEVERITIES, STAGES
from archive.readers import dispatch
from corpus import formats, is_valid_credit_code, normalise_cert_no, render
from corpus.generate import REQUIRED, generate, main
from corpus.ids import credit_check_char
from corpus.refdata import code_table
from corpus.texts import check_templates

SMALL = 4
SEED = 20261121
DOC_KEYS = {"doc_type", "title", "pages", "org", "cert_no", "cert_nos", "fields", "codes", "code_table",
            "stage", "audit_start", "audit_end", "issue_date", "expiry_date", "scope", "auditors",
            "findings", "ocr_pages", "status", "format"}
FORMATS = {"pdf", "docx", "wordml", "doc", "image", "ofd"}
TIMES: dict[str, float] = {}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus")
    t0 = time.perf_counter()
    truth = generate(out, seed=SEED, n_orgs=SMALL)
    TIMES["small"] = time.perf_counter() - t0
    return out, truth


def _text(path: Path) -> tuple[int, str]:
    pdf = pdfium.PdfDocument(path)
    try:
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        return len(pdf), text
    finally:
        pdf.close()


def _member_name(info: zipfile.ZipInfo) -> str:
    return info.filename if info.flag_bits & 0x800 else info.filename.encode("cp437").decode("gbk")


def _read(root: Path, rel: str) -> bytes:
    """A document's bytes: a file, or a member of a zipped folder (`<zip path>/<member path>`)."""
    if ".zip/" not in rel:
        return (root / rel).read_bytes()
    archive, member = rel.split(".zip/", 1)
    with zipfile.ZipFile(root / f"{archive}.zip") as zf:
        info = next(i for i in zf.infolist() if _member_name(i) == member)
        return zf.read(info)


@functools.lru_cache(maxsize=None)
def _read_text(root: Path, rel: str, kind: str) -> tuple[int, str]:
    """Pages and text of any generated document: a PDF's text layer as pypdfium2 gives it (not
    normalised), the other formats through the project's readers (archive.readers.dispatch)."""
    data = _read(root, rel)
    if kind == "pdf":
        pdf = pdfium.PdfDocument(data)
        try:
            return len(pdf), "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        finally:
            pdf.close()
    pages = dispatch.read_pages(data, kind)
    return len(pages), "".join(p.text for p in pages)


def _doc_text(root: Path, rel: str, truth: dict) -> tuple[int, str]:
    """Pages and text of a generated document: its text, and what its scanned pages (or photo) showed."""
    pages, text = _read_text(root, rel, truth["documents"][rel]["format"])
    return pages, text + "".join(p["text"] for p in truth.get("scans", {}).get(rel, []))


def _squash(text: str) -> str:
    """NFKC, without any whitespace (line breaks inside wrapped cells and paragraphs vanish)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _squash_loose(text: str) -> str:
    """`_squash` without punctuation and symbols."""
    return "".join(ch for ch in _squash(text) if unicodedata.category(ch)[0] not in "PS")


def _traditional(d: dict, text: str) -> bool:
    return d["title"] not in text and d["org"]["name"] not in text


def check_document(root: Path, rel: str, d: dict, truth: dict) -> list[str]:
    """What the truth of one document claims but its text does not show (empty: all there)."""
    pages, raw = _doc_text(root, rel, truth)
    problems = []
    if pages != d["pages"]:
        problems.append(f"pages {pages} != {d['pages']}")
    # A binary .doc is read from LibreOffice's PDF, which draws glyphs of a fallback font (■ □ “ ≥)
    # after the run they stand in: its text is compared without punctuation and symbols.
    squash = _squash_loose if d.get("format") == "doc" else _squash
    text = squash(raw)
    upper = text.upper()
    for no in d["cert_nos"]:
        if squash(normalise_cert_no(no)) not in upper:
            problems.append(f"cert_no {no}")
    if _traditional(d, text) if squash is _squash else squash(d["title"]) not in text:
        return problems                                    # opencc-free: the cert nos are enough
    # A scanned page's truth is in visual lines: wrapped table cells interleave, so long wrapped
    # wording (scope, statements) is not checked there.
    scanned = rel in truth.get("scans", {})
    expected = [d["title"], d["org"]["name"], d["org"]["credit_code"], None if scanned else d["scope"]]
    expected += d["codes"]
    for a in d["auditors"]:
        expected += [a["name"], a["reg_no"]]
    for f in d["findings"]:
        expected += [None if scanned else f["statement"], f["clause"]]
    for s in expected:
        if s and squash(s) not in text:
            problems.append(f"missing {s!r}")
    return problems


# -- determinism ---------------------------------------------------------------------------------

def test_same_seed_same_bytes(small, tmp_path):
    root, truth = small
    again = generate(tmp_path, seed=SEED, n_orgs=SMALL)
    assert (tmp_path / "truth.json").read_bytes() == (root / "truth.json").read_bytes()
    assert again == truth
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    compared = set()
    for rel in files:
        fmt = truth["documents"].get(rel, {}).get("format", rel.rsplit(".", 1)[-1])
        if fmt == "doc":                  # LibreOffice may stamp its time: the same text is enough
            assert _read_text(tmp_path, rel, "doc") == _read_text(root, rel, "doc"), rel
        else:
            assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes(), rel
        compared.add(fmt)
    assert {"pdf", "docx", "wordml", "zip", "image"} <= compared


def test_other_seed_other_archive(small, tmp_path):
    _, truth = small
    other = generate(tmp_path, seed=SEED + 1, n_orgs=SMALL, broken=False)
    assert other["orgs"] != truth["orgs"]
    assert other["broken"] == {}


def test_broken_flag_changes_nothing_else(small, tmp_path):
    _, truth = small
    clean = generate(tmp_path, seed=SEED, n_orgs=SMALL, broken=False)
    assert clean["documents"] == truth["documents"] and clean["audits"] == truth["audits"]


# -- the truth -----------------------------------------------------------------------------------

def test_truth_shape_and_vocabularies(small):
    root, truth = small
    assert truth["seed"] == SEED and truth["generator_version"] == 3
    assert json.loads((root / "truth.json").read_text(encoding="utf-8")) == truth
    assert len(truth["orgs"]) == SMALL
    for rel, d in truth["documents"].items():
        assert set(d) == DOC_KEYS, rel
        assert "\\" not in rel and not rel.startswith("/") and rel.endswith(formats.EXTENSIONS[d["format"]])
        assert d["format"] in FORMATS
        assert d["doc_type"] in DOC_TYPES
        assert d["stage"] in STAGES + (None,)
        assert set(d["fields"]) <= set(FIELDS) and d["fields"] == sorted(d["fields"])
        assert d["cert_no"] == (d["cert_nos"][0] if d["cert_nos"] else None)
        assert all(no == normalise_cert_no(no) for no in d["cert_nos"])
        assert all(CODE.match(c) for c in d["codes"]) and len(set(d["codes"])) == len(d["codes"])
        assert d["code_table"] == ({"legacy", "2020"} & {d["code_table"]} or {None}).pop()
        assert (d["code_table"] is None) == (not d["codes"])
        for key in ("audit_start", "audit_end", "issue_date", "expiry_date"):
            assert d[key] is None or ISO_DATE.match(d[key])
        assert (d["audit_start"] is None) == (d["audit_end"] is None)
        assert d["audit_start"] is None or d["audit_start"] <= d["audit_end"]
        if d["doc_type"] == "certificate":
            assert d["issue_date"] < d["expiry_date"] and d["stage"] is None and d["cert_nos"]
        else:
            assert d["issue_date"] is None and d["expiry_date"] is None
        assert set(d["org"]) == {"name", "credit_code"} and d["org"]["name"]
        for a in d["auditors"]:
            assert set(a) == {"name", "role", "reg_no"} and a["role"] in ROLES + (None,)
        assert len({a["name"] for a in d["auditors"]}) == len(d["auditors"])
        for f in d["findings"]:
            assert set(f) == {"clause", "field", "severity", "statement"}
            assert f["field"] in FIELDS and f["statement"]
            if d["doc_type"] == "observation":
                assert f["severity"] is None
            else:
                assert f["severity"] in SEVERITIES and f["clause"]
        if d["doc_type"] not in ("ncr", "observation", "audit_report"):
            assert d["findings"] == []
        if d["doc_type"] in ("ncr", "observation"):
            assert d["findings"]
        assert d["ocr_pages"] == len(truth["scans"].get(rel, [])) and d["status"] == "ok" and d["pages"] >= 1


def test_audits_own_every_document_once(small):
    _, truth = small
    owned = Counter(rel for a in truth["audits"] for rel in a["documents"])
    assert set(owned) == set(truth["documents"]) and max(owned.values()) == 1
    org_ids = {o["id"] for o in truth["orgs"]}
    certs = {c["cert_no"] for c in truth["certificates"]}
    for a in truth["audits"]:
        assert a["org_id"] in org_ids and a["stage"] in STAGES and a["cycle"] in (1, 2)
        assert a["start"] <= a["end"] and "2016-01-01" <= a["start"] <= "2025-12-31"
        assert [m["role"] for m in a["team"]].count("leader") == 1
        assert set(a["cert_nos"]) <= certs
        types = {truth["documents"][rel]["doc_type"] for rel in a["documents"]}
        for t in REQUIRED[a["stage"]]:
            assert (t in types) != (t in a["missing"]), (a["id"], t)
        assert set(a["missing"]) <= set(REQUIRED[a["stage"]]) | {"ncr"}
        assert not set(a["missing"]) & types


def test_credit_codes_pass_the_check_digit(small):
    _, truth = small
    codes = [o["credit_code"] for o in truth["orgs"]]
    codes += [d["org"]["credit_code"] for d in truth["documents"].values() if d["org"]["credit_code"]]
    assert codes and all(is_valid_credit_code(c) for c in codes)
    assert is_valid_credit_code("9144030071526726XG")              # a real one
    assert credit_check_char("9144030071526726X") == "G"
    for c in codes[:3]:
        wrong = c[:17] + ("0" if c[17] != "0" else "1")
        assert not is_valid_credit_code(wrong)


def test_codes_exist_in_their_table(small):
    _, truth = small
    for rel, d in truth["documents"].items():
        if d["codes"]:
            table = code_table(d["code_table"])
            assert all(c in table for c in d["codes"]), rel
    for o in truth["orgs"]:
        assert o["codes"] and all(c in code_table("2020") for c in o["codes"])
    check_templates()


def test_certificates_and_auditors(small):
    _, truth = small
    for c in truth["certificates"]:
        assert c["issued"] < c["expires"] and c["cycle"] in (1, 2) and c["scope"]
        assert c["cert_no"] == normalise_cert_no(c["cert_no"])
        assert re.match(r"^217(-\d{2}-[A-Z]+1?-\d{5}-R\d-[SML]|\d{2}[A-Z]+\d{5}R\d[SML])$", c["cert_no"])
    regs = [a["reg_no"] for a in truth["auditors"] if a["reg_no"]]
    assert len(regs) >= 12 and len(set(regs)) == len(regs)
    assert len({a["name"] for a in truth["auditors"]}) == len(truth["auditors"])


# -- the PDFs ------------------------------------------------------------------------------------

def test_pdfs_open_and_say_what_the_truth_says(small):
    root, truth = small
    problems = {rel: p for rel, d in truth["documents"].items() if (p := check_document(root, rel, d, truth))}
    assert problems == {}


def test_traditional_documents_exist(small):
    root, truth = small
    trad = [rel for rel, d in truth["documents"].items()
            if _traditional(d, _squash(_doc_text(root, rel, truth)[1]))]
    assert trad
    # ... and only the Hong Kong organisation's
    orgs = {truth["documents"][rel]["org"]["name"] for rel in trad}
    assert orgs == {truth["orgs"][3]["name"]}


def test_traditional_documents_convert_back_to_their_truth(small):
    """With OpenCC's t2s (what the extractor uses), a traditional document reads as its truth."""
    opencc = pytest.importorskip("opencc")
    t2s = opencc.OpenCC("t2s")
    root, truth = small
    for rel, d in truth["documents"].items():
        text = _squash(_doc_text(root, rel, truth)[1])
        if not _traditional(d, text) or rel in truth["scans"]:
            continue
        simplified = _squash(t2s.convert(text))
        expected = [d["title"], d["org"]["name"], d["scope"]] + [a["name"] for a in d["auditors"]]
        expected += [f["statement"] for f in d["findings"]]
        assert [s for s in expected if s and _squash(s) not in simplified] == [], rel


def test_scanned_documents_are_images_with_their_truth(small):
    """Scanned pages carry no text layer, only an image; the truth holds what they showed."""
    root, truth = small
    scans = truth["scans"]
    assert scans and set(scans) <= set(truth["documents"])
    assert any(len(s) < truth["documents"][rel]["pages"] for rel, s in scans.items()) or len(scans) < 8
    assert any(p["rotation"] == 90 for s in scans.values() for p in s)
    for rel, scanned in scans.items():
        if truth["documents"][rel]["format"] != "pdf":            # a photo: test_photos_*
            continue
        pdf = pdfium.PdfDocument(_read(root, rel))
        try:
            assert len(pdf) == truth["documents"][rel]["pages"]
            numbers = {p["number"] for p in scanned}
            for number in range(1, len(pdf) + 1):
                page = pdf[number - 1]
                text = page.get_textpage().get_text_range().strip()
                if number in numbers:
                    want = next(p for p in scanned if p["number"] == number)
                    assert text == "" and len(want["text"]) > 20
                    assert abs(want["skew"]) <= 2.0 and want["rotation"] in (0, 90)
                else:
                    assert text
        finally:
            pdf.close()


def test_scanned_share_zero_scans_nothing(tmp_path):
    truth = generate(tmp_path, seed=7, n_orgs=2, broken=False, scanned=0.0)
    assert truth["scans"] == {} and all(d["ocr_pages"] == 0 for d in truth["documents"].values())


def test_broken_files_fail_as_intended(small):
    root, truth = small
    assert set(truth["broken"].values()) == {"empty", "truncated", "not_pdf", "encrypted"}
    for rel, kind in truth["broken"].items():
        path = root / rel
        assert rel not in truth["documents"]
        if kind == "empty":
            assert path.stat().st_size == 0
        elif kind == "not_pdf":
            assert not path.read_bytes().startswith(b"%PDF")
        elif kind == "truncated":
            assert path.read_bytes().startswith(b"%PDF") and b"%%EOF" not in path.read_bytes()[-64:]
        with pytest.raises(pdfium.PdfiumError) as err:
            pdfium.PdfDocument(path)
        if kind == "encrypted":
            assert "password" in str(err.value).lower()


def test_pypdfium2_extracts_the_text_exactly(tmp_path):
    """Full-width digits, checkboxes, traditional characters: what is printed is what is read."""
    sample = "宁波恒达精密机械有限公司 １７．１０．０２；18.05.01/2 ■一般 □严重 質量管理體系 217-17-Q1-00075-R0-S"
    story = render.Story()
    story.title("审核报告")
    story.line(sample)
    story.table([["姓名", "注册号"], ["张伟", "2021-N1QMS-1234567"]], [0.3, 0.7])
    path = tmp_path / "x.pdf"
    assert render.render(path, story, render.Layout(footer="第 {p} 页 共 {n} 页")) == 1
    pages, text = _text(path)
    assert _squash(sample) in _squash(text)                        # NFKC-equal
    for piece in sample.split():                                   # and character for character
        assert piece in text
    assert "2021-N1QMS-1234567" in text and "第 1 页 共 1 页" in text


def test_wrapping_never_splits_identifiers():
    text = "审核组长：张三（2021-N1QMS-1234567）" * 6 + "证书编号：217-17-Q1-00075-R0-S；Q：17.10.02/2"
    render.ensure_font()
    for width in (120, 200, 333):
        lines = render.wrap_text(text, width, 10.5)
        assert "".join(lines) == text
        for token in ("2021-N1QMS-1234567", "217-17-Q1-00075-R0-S", "17.10.02/2"):
            assert text.count(token) == sum(line.count(token) for line in lines)


def test_missing_font_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(render, "FONT_PATH", str(tmp_path / "none.ttc"))
    monkeypatch.setattr(render, "_registered", False)
    with pytest.raises(RuntimeError, match="fonts-wqy-microhei"):
        render.ensure_font()


def test_cli_prints_a_summary(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "c"), "--orgs", "2", "--seed", "7", "--no-broken"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"2 orgs, \d+ PDFs \(\d+ pages\)", err)
    assert (tmp_path / "c" / "truth.json").exists()


# -- other formats: the suite's sample (conftest: 6 organisations, seed 7) ------------------------

def test_the_suite_sample_holds_every_format(sample):
    root, truth = sample
    docs = truth["documents"]
    found = Counter(d["format"] for d in docs.values())
    assert set(found) == FORMATS
    assert sum(n for fmt, n in found.items() if fmt != "pdf") >= len(docs) / 4
    assert 1 <= found["doc"] <= 4 and 1 <= found["image"] <= 3 and found["ofd"] == 1
    for rel, scanned in truth["scans"].items():             # a scan stays a PDF; a photo is one page
        d = docs[rel]
        assert d["format"] in ("pdf", "image") and d["ocr_pages"] == len(scanned)
        if d["format"] == "image":
            assert d["pages"] == 1 and scanned[0]["rotation"] == 0 and scanned[0]["photo"]["orientation"] in (1, 6, 8)
    (zip_rel, info), = truth["archives"].items()
    assert zip_rel == info["folder"] + ".zip" and (root / zip_rel).is_file() and not (root / info["folder"]).exists()
    top = PurePosixPath(info["folder"]).name
    assert re.match(r"^\d{4}-.+-.+", top)                     # 年份-企业全称-体系+审核类型
    members = {rel for rel in docs if rel.startswith(zip_rel + "/")}
    assert len(members) >= 2 and set(info["documents"]) == members
    assert all(rel.startswith(f"{zip_rel}/{top}/") for rel in members)
    owned = {rel for a in truth["audits"] for rel in a["documents"]}
    assert members <= owned and set(docs) == owned


def test_every_document_sniffs_as_its_format(sample):
    """What the readers' content sniffing names each file is its truth's format, whatever its name
    says (Word XML is named .doc like a binary Word file)."""
    root, truth = sample
    wrong = {}
    for rel, d in truth["documents"].items():
        kind = dispatch.sniff(_read(root, rel))
        if kind != d["format"] or not rel.endswith(formats.EXTENSIONS[kind]):
            wrong[rel] = (kind, d["format"])
    assert wrong == {}


def test_other_formats_say_what_the_truth_says(sample):
    """Read by the project's readers, every non-PDF document shows its truth, on the pages the truth
    counts (LibreOffice's layout for a binary .doc; explicit breaks only in Word 2003 XML)."""
    root, truth = sample
    problems = {rel: p for rel, d in truth["documents"].items()
                if d["format"] != "pdf" and (p := check_document(root, rel, d, truth))}
    assert problems == {}


def test_zip_names_are_gbk_without_the_utf8_flag(sample):
    root, truth = sample
    (zip_rel, info), = truth["archives"].items()
    raw = (root / zip_rel).read_bytes()
    with zipfile.ZipFile(root / zip_rel) as zf:
        infos = zf.infolist()
    assert infos and all(not i.flag_bits & 0x800 and i.create_system == 0 for i in infos)
    stored = [i.filename.encode("cp437") for i in infos]          # the name bytes as written
    assert all(raw.count(name) >= 2 for name in stored)            # local header + central directory
    names = [name.decode("gbk") for name in stored]
    assert all(not name.isascii() for name in names)
    with pytest.raises(UnicodeDecodeError):
        [name.decode("utf-8") for name in stored]
    top = PurePosixPath(info["folder"]).name
    assert names[0] == top + "/" and all(n.startswith(top + "/") for n in names)
    files = {f"{zip_rel}/{n}" for n in names if not n.endswith("/")}
    assert set(info["documents"]) <= files
    from archive.readers.containers import list_members

    listed = {m.name for m in list_members(raw, "zip")}
    assert {n for n in names if not n.endswith("/")} <= listed


def test_word_files_keep_the_forms_layout(sample):
    """Centred titles, tables with merged cells, the form's header and a PAGE field in the footer;
    Word 2003 XML as business systems export it, and the flat package Word 2007+ saves."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from archive.text import normalise

    root, truth = sample
    seen: Counter[str] = Counter()
    for rel, d in truth["documents"].items():
        if d["format"] == "docx":
            document = docx.Document(io.BytesIO(_read(root, rel)))
            titles = [p for p in document.paragraphs if normalise(p.text) == normalise(d["title"])]
            assert titles and titles[0].alignment == WD_ALIGN_PARAGRAPH.CENTER, rel
            xml = document.element.xml
            seen["merged"] += "<w:gridSpan " in xml
            section = document.sections[0]
            seen["header"] += any(p.text.strip() for p in section.header.paragraphs)
            seen["page field"] += " PAGE " in section.footer._element.xml
            seen["rendered breaks"] += xml.count("<w:lastRenderedPageBreak/>") >= 1
            seen["docx"] += 1
        elif d["format"] == "wordml":
            data = _read(root, rel)
            head = data[:400].decode("utf-8")
            assert head.startswith("<?xml") and '<?mso-application progid="Word.Document"?>' in head
            if b"<w:wordDocument " in data[:1000]:
                tree = ElementTree.fromstring(data)
                w = "{http://schemas.microsoft.com/office/word/2003/wordml}"
                wx = "{http://schemas.microsoft.com/office/word/2003/auxHint}"
                sect = tree.find(f"{w}body/{wx}sect")
                assert sect is not None and sect.find(f"{w}sectPr") is not None
                assert b"lastRenderedPageBreak" not in data
                seen["2003"] += 1
                seen["2003 spans"] += b"<w:gridSpan " in data
                seen["2003 header"] += sect.find(f"{w}sectPr/{w}hdr") is not None
                seen["2003 footer"] += sect.find(f"{w}sectPr/{w}ftr") is not None
            else:
                assert b"<pkg:package " in data[:1000]
                seen["flat"] += 1
    assert all(seen[k] for k in ("docx", "merged", "header", "page field", "rendered breaks", "2003", "2003 spans",
                                 "2003 header", "2003 footer", "flat")), seen


def test_the_ofd_certificate(sample):
    root, truth = sample
    (rel, d), = [(rel, d) for rel, d in truth["documents"].items() if d["format"] == "ofd"]
    ns = "{http://www.ofdspec.org/2016}"
    with zipfile.ZipFile(io.BytesIO(_read(root, rel))) as zf:
        ofd = ElementTree.fromstring(zf.read("OFD.xml"))
        assert ofd.find(f"{ns}DocBody/{ns}DocRoot").text == "Doc_0/Document.xml"
        custom = {c.get("Name"): c.text for c in ofd.iter(f"{ns}CustomData")}
        assert custom["证书编号"] == d["cert_no"]
        document = ElementTree.fromstring(zf.read("Doc_0/Document.xml"))
        pages = document.findall(f"{ns}Pages/{ns}Page")
        assert len(pages) == d["pages"] and pages[0].get("BaseLoc") == "Pages/Page_0/Content.xml"
        res = ElementTree.fromstring(zf.read("Doc_0/" + document.find(f"{ns}CommonData/{ns}PublicRes").text))
        font_ids = {f.get("ID") for f in res.iter(f"{ns}Font") if f.get("FontName")}
        content = ElementTree.fromstring(zf.read("Doc_0/Pages/Page_0/Content.xml"))
        texts = {}
        for obj in content.iter(f"{ns}TextObject"):
            assert len(obj.get("Boundary").split()) == 4 and obj.get("Font") in font_ids and float(obj.get("Size")) > 0
            code = obj.find(f"{ns}TextCode")
            assert float(code.get("X")) >= 0 and float(code.get("Y")) > 0
            texts[obj.get("ID")] = code.text
        printed = _squash("".join(texts.values())).upper()
        assert normalise_cert_no(d["cert_no"]) in printed and _squash(d["org"]["name"]) in printed
        tags = ElementTree.fromstring(zf.read("Doc_0/CustomTags.xml"))
        tag_file = tags.find(f"{ns}CustomTag/{ns}FileLoc").text
        tag_xml = zf.read("Doc_0/" + tag_file).decode("utf-8")
        assert d["cert_no"] in tag_xml
        ref = re.search(r"<zs:ObjectRef PageRef=\"\d+\">(\d+)</zs:ObjectRef>", tag_xml).group(1)
        assert d["cert_no"] in _squash(texts[ref]).upper()


def test_pdf_only(tmp_path):
    """`formats=False` gives the PDF-only archive of generator version 2 (truth adds `format`); a
    sample under 4 organisations holds no binary .doc (needs no LibreOffice)."""
    truth = generate(tmp_path, seed=7, n_orgs=2, broken=False, formats=False)
    assert {d["format"] for d in truth["documents"].values()} == {"pdf"} and truth["archives"] == {}
    assert all((tmp_path / rel).read_bytes()[:5] == b"%PDF-" for rel in truth["documents"])
    assert formats.quotas(2)["doc"] == 0 < formats.quotas(4)["doc"] and formats.quotas(6, photos=False)["image"] == 0


def test_generation_time(small):
    """The suite generates small samples often: LibreOffice converts in the background, photos
    and Word files take a fraction of a second each."""
    assert TIMES["small"] < 120


# -- other formats: the writers -------------------------------------------------------------------

def _long_story() -> render.Story:
    """Three pages or more: a spanned info grid, a long table with a vertically merged cell (split
    across pages), long paragraphs, then an explicit page break and a second form."""
    story = render.Story()
    story.title("审核报告")
    story.table([["受审核方", "宁波恒达精密机械有限公司", "", ""], ["审核组长", "张伟", "注册号", "2021-N1QMS-1234567"]],
                [0.18, 0.32, 0.18, 0.32], header_rows=0, spans=[((1, 0), (3, 0))])
    rows = [["序号", "部门", "条款"]] + [[str(i), "生产部" if i % 2 else "质量部", f"8.5.{i % 6} 生产和服务提供的控制"]
                                    for i in range(1, 70)]
    story.table(rows, [0.2, 0.3, 0.5], spans=[((0, 4), (0, 5))])
    for i in range(14):
        story.para(f"第{i + 1}段：组织建立了文件化的管理体系，审核组抽查了 ISO 9001:2015 条款 7.5 的记录，"
                   "证书编号 217-17-Q1-00075-R0-S 覆盖的产品和服务均按程序控制。" * 2)
    story.page_break()
    story.title("不符合报告")
    story.line("不符合项描述：仓储部未按规定对防护物资进行定期检查。")
    return story


def test_tracked_rendering_is_the_same_pdf_and_knows_where_pages_start(tmp_path):
    render.ensure_font()
    layout = render.Layout("华正联合认证有限公司", "HZ/QR-11（C/0）")
    plain = render.render(tmp_path / "a.pdf", _long_story(), layout)
    story = _long_story()
    rendition = formats.render_tracked(tmp_path / "b.pdf", story, layout)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert rendition.pages == plain >= 4 and len(rendition.starts) == plain - 1
    kinds = {(type(story.items[s.item]).__name__, s.unit > 0, s.hard) for s in rendition.starts}
    assert ("Table", True, False) in kinds and ("Lines", False, True) in kinds   # inside a table; after a break


def test_word_files_split_pages_as_the_pdf_or_at_explicit_breaks(tmp_path):
    """A .docx (and the flat package) marks where the PDF's pages start, so the reader counts the
    PDF's pages, each starting with the same text; Word 2003 XML has the explicit break only."""
    from archive.readers.word import read_docx, read_wordml

    render.ensure_font()
    layout = render.Layout("华正联合认证有限公司", None, "第 {p} 页 共 {n} 页")
    story = _long_story()
    rendition = formats.render_tracked(tmp_path / "a.pdf", story, layout)
    items = formats.blocks(story, rendition)
    meta = formats.Meta("审核报告", "张伟", "华正联合认证有限公司", dt.datetime(2021, 3, 4, 10, 5), rendition.pages)
    data = formats.write_docx(items, story, layout, meta, meta.saved)
    pages = read_docx(data)
    assert len(pages) == rendition.pages
    pdf = pdfium.PdfDocument(tmp_path / "a.pdf")
    for k in range(1, len(pages)):
        first = next(line for line in pages[k].text.split("\n") if line.strip())
        assert _squash(first.split()[0]) in _squash(pdf[k].get_textpage().get_text_range()), k
    pdf.close()
    assert len(read_wordml(formats.flat_package(data))) == rendition.pages
    xml = formats.write_wordml(items, story, layout, meta, meta.saved)
    assert len(read_wordml(xml)) == formats.explicit_pages(items) == 2
    assert b'<w:vmerge w:val="restart"/>' in xml and b"<w:vmerge/>" in xml and b'<w:gridSpan w:val="3"/>' in xml
    assert b'<w:br w:type="page"/>' in xml and b"<w:hdr " in xml and b"<w:instrText> PAGE </w:instrText>" in xml
    assert b'w:vMerge w:val="restart"' in zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    text = _squash("".join(p.text for p in read_wordml(xml)))
    assert "2021-N1QMS-1234567" in text and "217-17-Q1-00075-R0-S" in text and "不符合报告" in text


def test_unwrap_joins_what_wrapping_split():
    render.ensure_font()
    text = ("本公司承诺遵守认证规则 Huazheng United Certification Co., Ltd. 证书编号 217-17-Q1-00075-R0-S，"
            "范围：精密机械零部件的加工（数控车削、铣削）及相关管理活动。" * 3)
    for width in (150, 260, 400):
        lines = render.wrap_text(text, width, 10.5)
        (joined, offsets), = formats.unwrap(lines, width, 10.5)
        # a blank at a wrap between Chinese and Latin text is lost; between Latin words it comes back
        assert _squash(joined) == _squash(text) and joined.count("Huazheng United Certification Co., Ltd.") == 3
        assert len(offsets) == len(lines) and [joined[o:o + 3] for o in offsets] == [line[:3] for line in lines]
    two = render.wrap_text("第一行\n第二行较短", 300, 10.5)
    assert [p for p, _ in formats.unwrap(two, 300, 10.5)] == ["第一行", "第二行较短"]


def test_gbk_zip_round_trip():
    stamp = (2021, 3, 4, 10, 6, 0)
    data = formats.gbk_zip([("2021-宁波恒达精密机械有限公司-Q初审/", None, stamp),
                            ("2021-宁波恒达精密机械有限公司-Q初审/03审核资料/审核报告.pdf", b"%PDF-1.4 x", stamp)])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [_member_name(i) for i in infos][1].endswith("03审核资料/审核报告.pdf")
        assert zf.read(infos[1]) == b"%PDF-1.4 x" and zf.testzip() is None
        assert all(i.flag_bits & 0x800 == 0 and i.date_time == stamp for i in infos)
    assert "审核报告".encode("gbk") in data and "审核报告".encode("utf-8") not in data


def test_photos_lie_on_a_desk_and_keep_their_orientation(tmp_path):
    """A photo is a JPEG of the page on a darker desk, sometimes stored sideways with an EXIF
    orientation tag; upright (the tag applied) it is a portrait frame, the sheet brighter than its
    surroundings."""
    import numpy as np
    from PIL import Image, ImageOps

    render.ensure_font()
    story = render.Story()
    story.title("首末次会议签到表")
    story.table([["姓名", "部门", "签名"]] + [[f"人员{i}", "质量部", ""] for i in range(12)], [0.3, 0.4, 0.3])
    render.render(tmp_path / "a.pdf", story, render.Layout())
    orientations = set()
    for k in range(6):
        data, entry = formats.photograph(tmp_path / "a.pdf", random.Random(k), dt.datetime(2022, 5, 6, 10, 0))
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG"
        exif = image.getexif()
        orientations.add(exif[0x0112])
        assert exif[0x010F] and exif[0x0132] == "2022:05:06 10:00:00"
        upright = np.asarray(ImageOps.exif_transpose(image).convert("L"), dtype=np.float32)
        h, w = upright.shape
        assert h > w
        sheet = upright[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
        edge = np.concatenate([upright[: h // 30].ravel(), upright[-h // 30:].ravel()])
        assert np.percentile(sheet, 90) > np.percentile(edge, 90) + 60
        assert entry["rotation"] == 0 and entry["skew"] == 0.0 and "首末次会议签到表" in entry["text"]
        if orientations & {1} and orientations & {6, 8}:
            break
    assert 1 in orientations and orientations & {6, 8}


@pytest.mark.slow
def test_photos_stay_readable_by_ocr(sample):
    """The suite sample's photo, through the image reader (EXIF, flattening) and the OCR, reads as
    the page it shows (a few seconds of OCR)."""
    from archive.readers.image import ocr_image_page
    from archive.text import normalise

    root, truth = sample
    photos = [rel for rel, d in truth["documents"].items() if d["format"] == "image"]
    for rel in photos[:1]:
        page = ocr_image_page(_read(root, rel), 1)
        want = _squash(normalise(truth["scans"][rel][0]["text"]))
        got = _squash(page.text)
        assert difflib.SequenceMatcher(None, got, want, autojunk=False).ratio() > 0.95, (got, want)
        d = truth["documents"][rel]
        assert _squash(d["title"]) in got and _squash(d["org"]["name"]) in got


# -- full scale ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_full_scale(tmp_path):
    truth = generate(tmp_path, seed=SEED)
    docs = truth["documents"]
    assert len(truth["orgs"]) >= 30 and len(docs) >= 250
    assert set(DOC_TYPES) == {d["doc_type"] for d in docs.values()}
    assert {"QMS", "EMS", "OHSMS", "FSMS", "ISMS", "SERVICE"} <= {f for d in docs.values() for f in d["fields"]}
    assert set(STAGES) - {"surveillance3", "special"} == {d["stage"] for d in docs.values()} - {None}
    assert {"legacy", "2020"} == {d["code_table"] for d in docs.values()} - {None}
    assert sum(1 for d in docs.values() if d["pages"] > 1) > len(docs) / 4
    assert {"minor", "major"} == {f["severity"] for d in docs.values() for f in d["findings"]} - {None}
    assert {"leader", "member", "expert"} <= {a["role"] for d in docs.values() for a in d["auditors"]}
    assert any(a["missing"] for a in truth["audits"])
    assert any(a["cycle"] == 2 for a in truth["audits"])
    assert len(truth["broken"]) == 8
    # an archive is never tidy: some files are not in "年份-企业-体系类型" folders
    assert any(rel.startswith(("扫描件/", "未整理/")) for rel in docs)
    problems = {rel: p for rel, d in docs.items() if (p := check_document(tmp_path, rel, d, truth))}
    assert problems == {}
