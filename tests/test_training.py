"""Training packs (培训资料): each format read back (python-docx, openpyxl, the Markdown text) and
checked against the sample archive's truth; anonymised packs hold none of the originals; the
command line, the page download and /api/v1/exports/training."""
from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from click.testing import CliRunner
from test_api import call, conforms
from test_webui import login

SECTIONS = ["一、概况", "二、档案中的数据", "三、典型过程和关键控制点", "四、审核要点及审核方法",
            "五、适用的法律法规和标准", "六、常见不符合项", "七、典型案例", "八、有此经验的审核员"]
SHEETS = ["概况", "数据", "典型过程", "审核要点及方法", "法律法规和标准", "常见不符合项", "典型案例", "审核员"]


# -- the truth ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def truth(sample) -> dict:
    return sample[1] if isinstance(sample[1], dict) and "documents" in sample[1] else \
        json.loads((sample[0] / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def busiest(sample_home) -> str:
    """The 2020 code with the most cases in the sample."""
    from archive.mining.cases import build_cases

    codes = Counter(k for c in build_cases(sample_home[1]) if c.code_table == "2020" for k in c.codes)
    return sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def truth_audits(truth: dict, field: str | None = None, code: str | None = None) -> list[dict]:
    """The truth's audits of a field, or of a code (audits with a document coded in the 2020 table)."""
    docs = truth["documents"]
    out = []
    for a in truth["audits"]:
        present = [docs[d] for d in a["documents"] if d in docs]
        if not present:
            continue
        if field and field in a["fields"]:
            out.append(a)
        if code and any(d["code_table"] == "2020" and any(k == code or k.startswith(code + ".") for k in d["codes"])
                        for d in present):
            out.append(a)
    return out


def truth_clauses(truth: dict, audits: list[dict], field: str | None = None) -> Counter:
    """Nonconformities per clause, each finding once per audit (an NCR and the report's table agree)."""
    counts: Counter = Counter()
    for a in audits:
        seen = set()
        for d in a["documents"]:
            for f in truth["documents"].get(d, {}).get("findings", []):
                key = (f["clause"], f["statement"][:30])
                if f["severity"] and (not field or f["field"] == field) and key not in seen:
                    seen.add(key)
                    counts[f["clause"]] += 1
    return counts


def originals(catalog, truth: dict) -> set[str]:
    """Every name, code, number, address and person the pack must not show when anonymised."""
    from corpus.world import simulate

    out: set[str] = set()
    for o in truth["orgs"]:
        out |= {o["name"], o["short_name"], o["credit_code"], o["address"]}
    for a in truth["auditors"]:
        out |= {a["name"], a["reg_no"]}
    out |= {c["cert_no"] for c in truth["certificates"]}
    world = simulate(truth["seed"], len(truth["orgs"]))
    for o in world.orgs:                       # representatives, staff and suppliers named in statements
        out |= set(o.people) | set(o.suppliers)
    for name, credit, names in catalog.db.execute("select name, credit_code, names from organisations"):
        out |= {name, credit, *json.loads(names or "[]")}
    out |= {r[0] for r in catalog.db.execute("select name from auditors")}
    out |= {r[0] for r in catalog.db.execute("select reg_no from auditors")}
    out |= {r[0] for r in catalog.db.execute("select distinct c.value from documents d, json_each(d.cert_nos) c")}
    return {o for o in out if o and len(o) >= 2}


# -- reading the files back -----------------------------------------------------------------------

def docx_text(data: bytes) -> tuple[object, str]:
    from docx import Document

    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    parts += [doc.core_properties.title or ""]
    return doc, "\n".join(parts)


def xlsx_text(data: bytes) -> tuple[object, str]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return wb, "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)


def docx_table(doc, first_header: str) -> list[list[str]]:
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == first_header)
    return [[c.text for c in row.cells] for row in table.rows[1:]]


def sheet_rows(ws, first_header: str, second: str | None = None) -> list[list]:
    """The rows of the table whose header row starts with these cells."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r and r[0] == first_header
                 and (second is None or (len(r) > 1 and r[1] == second)))
    out = []
    for r in rows[start + 1:]:
        if not r or r[0] in (None, ""):
            break
        out.append(r)
    return out


# -- the formats ----------------------------------------------------------------------------------

def test_code_pack_docx_against_truth(sample_home, truth, busiest, tmp_path):
    from archive.mining.training import export_pack

    out = tmp_path / "pack.docx"
    result = export_pack(sample_home[1], out, code=busiest)
    assert result["format"] == "docx" and out.stat().st_size == result["bytes"]
    assert not [p for p in tmp_path.iterdir() if p.name != "pack.docx"]          # nothing left behind
    doc, text = docx_text(out.read_bytes())
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == SECTIONS
    assert any(p.style.name == "Heading 2" for p in doc.paragraphs)
    body = doc.element.body.xml
    assert "TOC \\o" in body and 'w:fldCharType="begin"' in body and 'w:fldCharType="end"' in body
    assert "updateFields" in doc.settings.element.xml
    assert busiest in doc.paragraphs[0].text
    audits = truth_audits(truth, code=busiest)
    orgs = {a["org_id"] for a in audits}
    figures = dict((r[0], r[1]) for r in docx_table(doc, "项目") if r[0] in ("组织", "审核", "不符合项"))
    assert int(figures["组织"]) == len(orgs)
    assert int(figures["审核"]) == len(audits)
    expected = truth_clauses(truth, audits)
    assert int(figures["不符合项"]) == sum(expected.values())
    got = {r[1]: int(r[3]) for r in docx_table(doc, "领域")}
    assert got == dict(expected)
    auditors = {m["name"] for a in audits for m in a["team"]}
    assert {r[0] for r in docx_table(doc, "姓名")} == auditors
    assert "年" in text and "月" in text                  # local dates for people


def test_field_pack_xlsx_against_truth(sample_home, truth, tmp_path):
    from archive.mining.training import export_pack

    out = tmp_path / "qms.xlsx"
    export_pack(sample_home[1], out, field="质量管理体系")
    wb, _ = xlsx_text(out.read_bytes())
    assert wb.sheetnames == SHEETS
    audits = truth_audits(truth, field="QMS")
    figures = {r[0]: r[1] for r in sheet_rows(wb["数据"], "项目")}
    assert figures["组织"] == len({a["org_id"] for a in audits})
    assert figures["审核"] == len(audits)
    expected = truth_clauses(truth, audits, "QMS")
    assert figures["不符合项"] == sum(expected.values())
    got = {r[1]: r[3] for r in sheet_rows(wb["常见不符合项"], "领域")}
    assert got == dict(expected) and all(r[0] == "QMS" for r in sheet_rows(wb["常见不符合项"], "领域"))
    laws = sheet_rows(wb["法律法规和标准"], "名称")
    assert any(r[0].startswith("GB/T 19001") for r in laws)
    assert all(isinstance(r[2], int) and r[2] >= 1 for r in laws)
    assert sheet_rows(wb["典型过程"], "关键控制点", "报告数")


def test_markdown_pack(sample_home, busiest):
    from archive.mining.training import build_pack, render

    md = render(build_pack(sample_home[1], code=busiest[:5]), "md").decode("utf-8")
    assert md.startswith("# 专业代码 " + busiest[:5])
    for title in SECTIONS:
        assert f"\n## {title}\n" in md
    assert "| 项目 | 数量 |" in md and "### 下级代码" in md


# -- anonymisation --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["docx", "xlsx", "md"])
@pytest.mark.parametrize("subject", ["code", "field"])
def test_anonymised_pack_holds_no_original(sample_home, truth, busiest, fmt, subject, tmp_path):
    from archive.mining.training import export_pack

    out = tmp_path / f"pack.{fmt}"
    kw = {"code": busiest} if subject == "code" else {"field": "QMS"}
    export_pack(sample_home[1], out, fmt=fmt, anonymise=True, **kw)
    data = out.read_bytes()
    text = {"docx": lambda d: docx_text(d)[1], "xlsx": lambda d: xlsx_text(d)[1],
            "md": lambda d: d.decode("utf-8")}[fmt](data)
    leaks = sorted(o for o in originals(sample_home[1], truth) if o in text)
    assert not leaks, leaks
    assert "组织A" in text and "八、有此经验的审核员" not in text and "已脱敏" in text
    if fmt == "md":                      # the raw bytes too (nothing hidden outside the text)
        assert not [o for o in originals(sample_home[1], truth) if o.encode() in data]


def test_anonymiser_is_consistent():
    from archive.mining.anonymise import Anonymiser

    a = Anonymiser()
    a.add_org("o1", ["宁波华盈服饰有限公司"])
    pack = {"x": ["宁波华盈服饰有限公司成立于2013年，位于浙江省宁波市余姚市明州路12号。",
                  "华盈公司最高管理者肖雪梅主持了管理评审，抽查员工韦文静，与高伟交谈。"],
            "y": "华盈服饰的证书 03410Q10286R0S，信用代码 91330281788643641P；肖雪梅签字。"}
    out = a.anonymise(pack)
    joined = json.dumps(out, ensure_ascii=False)
    for original in ("华盈", "肖雪梅", "韦文静", "高伟", "明州路12号", "03410Q10286R0S", "91330281788643641P"):
        assert original not in joined, original
    assert out["x"][0].startswith("组织A成立于") and out["x"][1].startswith("组织A最高管理者人员")
    assert out["y"].startswith("组织A的证书 证书编号01")
    person = a.mapping["肖雪梅"]
    assert person in out["x"][1] and person in out["y"]


# -- command line ---------------------------------------------------------------------------------

def test_cli_export(sample_home, busiest, tmp_path):
    from webui.cli import main

    home = str(sample_home[0])
    runner = CliRunner()
    out = tmp_path / "p.xlsx"
    r = runner.invoke(main, ["--home", home, "export", "training", "--code", busiest, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["format"] == "xlsx" and out.exists()
    r = runner.invoke(main, ["--home", home, "export", "training", "--code", "98.76", "--out", str(tmp_path / "x.docx")])
    assert r.exit_code == 1 and "98.76" in r.output and not (tmp_path / "x.docx").exists()
    r = runner.invoke(main, ["--home", home, "export", "training", "--field", "NOPE", "--out", str(tmp_path / "y.md")])
    assert r.exit_code == 1 and "NOPE" in r.output
    r = runner.invoke(main, ["--home", home, "export", "training", "--field", "QMS"])
    assert r.exit_code == 2 and "--out" in r.output
    r = runner.invoke(main, ["--home", home, "export", "training", "--out", str(tmp_path / "z.md")])
    assert r.exit_code == 2


# -- the web UI and the API -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec(live_server) -> dict:
    return call(live_server, "GET", "/api/v1/openapi.json", token=None).json()


def test_api_export(live_server, spec, busiest):
    reply = call(live_server, "GET", f"/api/v1/exports/training?code={busiest}&format=docx&anonymise=1")
    assert reply.status == 200
    body = conforms(spec, reply, "/exports/training")
    _, text = docx_text(body)
    assert "组织A" in text and "attachment" in reply.headers["Content-Disposition"]
    reply = call(live_server, "GET", "/api/v1/exports/training?field=QMS&format=md")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/markdown")
    assert conforms(spec, reply, "/exports/training").decode("utf-8").startswith("# 质量管理体系")
    xlsx = call(live_server, "GET", "/api/v1/exports/training?field=EMS&format=xlsx")
    assert xlsx_text(conforms(spec, xlsx, "/exports/training"))[0].sheetnames == SHEETS
    for query, status in (("code=98.76", 404), ("code=abc", 400), ("field=NOPE", 400), ("", 400),
                          (f"code={busiest}&field=QMS", 400), (f"code={busiest}&format=pdf", 400)):
        reply = call(live_server, "GET", "/api/v1/exports/training?" + query)
        assert reply.status == status, query
        assert conforms(spec, reply, "/exports/training")["error"]["code"]
    reply = call(live_server, "GET", f"/api/v1/exports/training?code={busiest}", token=live_server.tokens["viewer"])
    assert reply.status == 403
    assert conforms(spec, reply, "/exports/training")["error"]["code"] == "forbidden"


def test_page_button_and_download(live_server, busiest):
    from archive.accounts import Accounts

    client = live_server.app.test_client()
    login(client, "auditor", live_server.passwords["auditor"])
    page = client.get(f"/scope/{busiest}").get_data(as_text=True)
    assert "/export/training" in page and "下载培训资料" in page
    assert 'name="field"' in client.get("/scope").get_data(as_text=True)
    r = client.get(f"/export/training?code={busiest}&format=md&anonymise=1")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    assert "组织A" in r.get_data(as_text=True)
    assert client.get("/export/training?code=98.76").status_code == 404
    accounts = Accounts(live_server.home / "auth.db")
    try:
        entries = accounts.access_log(action="export", user="auditor")
    finally:
        accounts.close()
    assert any(e["target"] == busiest for e in entries)
    viewer = live_server.app.test_client()
    login(viewer, "viewer", live_server.passwords["viewer"])
    assert viewer.get(f"/export/training?code={busiest}&format=md").status_code == 403
    assert "下载培训资料" not in viewer.get(f"/scope/{busiest}").get_data(as_text=True)


# -- issue 22, item 6 ---------------------------------------------------------------------------------

def test_the_counterpart_sentence_says_when_the_other_table_has_no_such_code():
    from archive.mining.training import code_subject

    middle = "".join(code_subject("31.04", "2020", [])["description"])
    assert "旧版代码表中没有 31.04" in middle and "31.04「—」" not in middle
    assert "31.04.01" in middle                         # what the old table has under that number
    minor = "".join(code_subject("17.13.00", "2020", [])["description"])
    assert "旧版代码表中没有 17.13.00" in minor
    same = "".join(code_subject("17.10.02", "2020", [])["description"])
    assert "旧版代码表中同号 17.10.02「一般机械加工」含义相同" in same
    other = "".join(code_subject("03.04.01", "2020", [])["description"])
    assert "同号 03.04.01「原料油及原料脂肪的生产」含义不同" in other


def test_citations_count_one_standard_once_and_join_wrapped_titles():
    from archive.mining.training import citations

    texts = {
        "d1": [("适用的法律法规和标准：GB 50300-2013《建筑工程施工质量验收统一标准》；《中华人民共和国环\n境影响评价法》；"
                "GB/T 19001-2016/ISO 9001:2015")],
        "d2": ["GB 50300 -2013 《建筑工程施工质量验收 统一标准》；《中华人民共和国环 境影响评价法》；GB/T19001—2016"],
        "d3": ["GB50300-2013；GB/T 19001 -2016；ＧＢ／Ｔ　１９００１－２０１６；ISO 9001: 2015；GB/T 2828.1-2012"],
    }
    laws = {e["name"]: e["documents"] for e in citations(texts)}
    assert [n for n in laws if "50300" in n] == ["GB 50300-2013《建筑工程施工质量验收统一标准》"]
    assert laws["GB 50300-2013《建筑工程施工质量验收统一标准》"] == 3
    assert [n for n in laws if "19001" in n] == ["GB/T 19001-2016"] and laws["GB/T 19001-2016"] == 3
    assert laws["ISO 9001:2015"] == 2 and laws["GB/T 2828.1-2012"] == 1
    assert laws["《中华人民共和国环境影响评价法》"] == 2
    assert not [n for n in laws if "《" in n and " " in n.split("《", 1)[1]]


FIELD_PAGE = """九、关键控制点
（1）焊接参数控制：控制有效
（2）有限空间作业审批：控制有效
（3）废切削液收集处置：控制有效
十、适用的法律法规和标准
《中华人民共和国产品质量法》；《中华人民共和国环境保护法》；《中华人民共和国职业病防治法》；
GB 8978-1996《污水综合排放标准》；GBZ 2.1-2019《工作场所有害因素职业接触限值》。
十一、审核记录
Q 8.5.1 查生产和服务提供的控制的实施情况 查焊接记录，符合要求。
S 8.1.2 查消除危险源和降低职业健康安全风险的实施情况 查有限空间作业审批单，符合要求。
E 6.1.2 查环境因素的实施情况 查环境因素识别评价表，符合要求。"""


@pytest.fixture(scope="module")
def joint_catalog(sample_home, tmp_path_factory):
    """A copy of the sample whose joint QMS+EMS+OHSMS audit reports carry one more page: a key
    control point, a law, a standard and a checklist line of each of the three fields."""
    from mining_support import copy_catalog

    catalog = copy_catalog(sample_home[1], tmp_path_factory.mktemp("joint") / "catalog.db")
    joint = [i for i, f in catalog.db.execute("select id, fields from documents where doc_type = 'audit_report'")
             if {"QMS", "EMS", "OHSMS"} <= set(json.loads(f or "[]"))]
    assert joint
    with catalog.db.conn:
        for doc_id in joint:
            (last,) = catalog.db.execute("select max(number) from pages where doc_id = ?", [doc_id]).fetchone()
            catalog.db.execute("insert into pages (doc_id, number, text, has_text, has_images) values (?, ?, ?, 1, 0)",
                               [doc_id, last + 1, FIELD_PAGE])
    yield catalog
    catalog.close()


@pytest.mark.parametrize("field, own, others", [
    ("OHSMS", ("有限空间作业审批", "职业病防治法", "GBZ 2.1-2019", "消除危险源和降低职业健康安全风险"),
     ("焊接参数控制", "废切削液收集处置", "产品质量法", "环境保护法", "GB 8978", "生产和服务提供的控制", "环境因素",
      "GB/T 19001", "ISO 9001", "GB/T 24001", "ISO 14001")),
    ("EMS", ("废切削液收集处置", "环境保护法", "GB 8978-1996", "环境因素"),
     ("焊接参数控制", "有限空间作业审批", "产品质量法", "职业病防治法", "GBZ 2.1", "消除危险源", "生产和服务提供的控制",
      "GB/T 19001", "GB/T 45001", "GB/T 28001")),
    ("QMS", ("焊接参数控制", "产品质量法", "生产和服务提供的控制"),
     ("有限空间作业审批", "废切削液收集处置", "职业病防治法", "环境保护法", "GB 8978", "GBZ 2.1", "消除危险源",
      "环境因素", "GB/T 24001", "GB/T 45001")),
])
def test_a_field_pack_takes_from_joint_audits_only_what_belongs_to_the_field(joint_catalog, field, own, others):
    from archive.mining.training import build_pack

    pack = build_pack(joint_catalog, field=field)
    kcps = [k["point"] for k in pack["key_control_points"]]
    points = [p["point"] for p in pack["audit_points"]]
    laws = [x["name"] for x in pack["laws"]]
    in_cases = [k for c in pack["cases"] for k in c["key_control_points"]]
    found = kcps + points + laws
    assert [w for w in own if not any(w in x for x in found)] == []
    assert [(w, x) for w in others for x in found + in_cases if w in x] == []


def test_a_code_pack_keeps_every_fields_material(joint_catalog):
    from archive.mining.cases import build_cases
    from archive.mining.training import build_pack

    case = next(c for c in build_cases(joint_catalog) if {"QMS", "EMS", "OHSMS"} <= set(c.fields)
                and c.codes and c.code_table in ("2020", "legacy"))
    pack = build_pack(joint_catalog, code=case.codes[0], version=case.code_table)
    kcps = [k["point"] for k in pack["key_control_points"]]
    assert {"焊接参数控制", "有限空间作业审批", "废切削液收集处置"} <= set(kcps)
