"""The sample-archive generator (corpus/): determinism, the truth's shape and vocabularies, and that
every PDF says what its truth says it says."""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from archive.models import DOC_TYPES, FIELDS, ROLES, SEVERITIES, STAGES
from corpus import is_valid_credit_code, normalise_cert_no, render
from corpus.generate import REQUIRED, generate, main
from corpus.ids import credit_check_char
from corpus.refdata import code_table
from corpus.texts import check_templates

SMALL = 4
SEED = 20261121
DOC_KEYS = {"doc_type", "title", "pages", "org", "cert_no", "cert_nos", "fields", "codes", "code_table",
            "stage", "audit_start", "audit_end", "issue_date", "expiry_date", "scope", "auditors",
            "findings", "ocr_pages", "status"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus")
    return out, generate(out, seed=SEED, n_orgs=SMALL)


def _text(path: Path) -> tuple[int, str]:
    pdf = pdfium.PdfDocument(path)
    try:
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        return len(pdf), text
    finally:
        pdf.close()


def _doc_text(root: Path, rel: str, truth: dict) -> tuple[int, str]:
    """Pages and text of a generated PDF: the text layer, and what its scanned pages showed."""
    pages, text = _text(root / rel)
    return pages, text + "".join(p["text"] for p in truth.get("scans", {}).get(rel, []))


def _squash(text: str) -> str:
    """NFKC, without any whitespace (line breaks inside wrapped cells and paragraphs vanish)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _traditional(d: dict, text: str) -> bool:
    return d["title"] not in text and d["org"]["name"] not in text


def check_document(root: Path, rel: str, d: dict, truth: dict) -> list[str]:
    """What the truth of one document claims but its text does not show (empty: all there)."""
    pages, raw = _doc_text(root, rel, truth)
    problems = []
    if pages != d["pages"]:
        problems.append(f"pages {pages} != {d['pages']}")
    text = _squash(raw)
    upper = text.upper()
    for no in d["cert_nos"]:
        if normalise_cert_no(no) not in upper:
            problems.append(f"cert_no {no}")
    if _traditional(d, text):
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
        if s and _squash(s) not in text:
            problems.append(f"missing {s!r}")
    return problems


# -- determinism ---------------------------------------------------------------------------------

def test_same_seed_same_bytes(small, tmp_path):
    root, truth = small
    again = generate(tmp_path, seed=SEED, n_orgs=SMALL)
    assert (tmp_path / "truth.json").read_bytes() == (root / "truth.json").read_bytes()
    assert again == truth
    for rel in list(truth["documents"]) + list(truth["broken"]):
        assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes(), rel


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
    assert truth["seed"] == SEED and truth["generator_version"] == 2
    assert json.loads((root / "truth.json").read_text(encoding="utf-8")) == truth
    assert len(truth["orgs"]) == SMALL
    for rel, d in truth["documents"].items():
        assert set(d) == DOC_KEYS, rel
        assert "\\" not in rel and not rel.startswith("/") and rel.endswith(".pdf")
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
        pdf = pdfium.PdfDocument(root / rel)
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
