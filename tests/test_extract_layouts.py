"""Extraction on hand-written layouts the sample generator does not make.

Each PDF here is built the way another body's forms look; the rules must read them from the
domain's labels and formats, and say null where the document does not say.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from pdfmaker import make_pdf

from archive.extract import extract, wants_tables
from archive.identifiers import credit_check_char
from archive.pdf import read_pdf

CREDIT = "91330212MA2GQ0R3X" + credit_check_char("91330212MA2GQ0R3X")


def read(path: Path):
    return extract(read_pdf(path.read_bytes(), want_tables=wants_tables))


def test_ncr_as_a_two_column_form(tmp_path):
    pdf = make_pdf(tmp_path / "ncr.pdf", [
        "华东质量认证中心",
        "不 符 合 项 报 告",
        [["受审核组织", "浙江华茂食品科技股份有限公司"],
         ["统一社会信用代码", CREDIT],
         ["审核类型", "□初次认证 √监督审核 □再认证"],
         ["监督次数", "第 2 次"],
         ["现场审核时间", "２０２２年１１月８日～９日"],
         ["审核准则", "ISO 22000:2018"],
         ["不符合条款", "8.5.2"],
         ["不符合事实", "抽查原料验收记录，2022年10月的面粉批次未见供方检验报告。"],
         ["不符合类型", "严重■  一般□"],
         ["审核员", "周建国"]],
    ])
    got = read(pdf)
    assert got.doc_type == "ncr"
    assert got.org.name == "浙江华茂食品科技股份有限公司"
    assert got.org.credit_code == CREDIT
    assert got.stage == "surveillance2"
    assert (got.audit_start, got.audit_end) == ("2022-11-08", "2022-11-09")
    assert got.fields == ["FSMS"]
    assert len(got.findings) == 1
    f = got.findings[0]
    assert (f.clause, f.field, f.severity) == ("8.5.2", "FSMS", "major")
    assert "面粉批次" in f.statement
    assert [(a.name, a.role) for a in got.auditors] == [("周建国", None)]
    assert got.cert_no is None and got.codes == []


def test_bilingual_certificate_with_prose_layout(tmp_path):
    pdf = make_pdf(tmp_path / "cert.pdf", [
        "CERTIFICATE",
        "管理体系认证证书",
        "证书号 No.: 00123q20345r1m",
        "兹证明",
        "广州市番禺区永盛五金制品厂",
        f"统一社会信用代码：{CREDIT}",
        "建立的质量管理体系符合 GB/T 19001-2016 idt ISO 9001:2015 标准",
        "认证范围：五金冲压件的生产（涉及专业代码：17.12.05）",
        "颁证日期：2021年3月2日  有效期至：2024年3月1日",
    ])
    got = read(pdf)
    assert got.doc_type == "certificate"
    assert got.cert_no == "00123Q20345R1M"
    assert got.org.name == "广州市番禺区永盛五金制品厂"
    assert got.fields == ["QMS"]
    assert got.issue_date == "2021-03-02" and got.expiry_date == "2024-03-01"
    assert got.scope and got.scope.startswith("五金冲压件的生产")
    assert got.stage is None and got.audit_start is None


def test_notice_with_team_in_lines(tmp_path):
    pdf = make_pdf(tmp_path / "notice.pdf", [
        "现场审核通知",
        "致：苏州工业园区恒信电子有限公司",
        "申请组织：苏州工业园区恒信电子有限公司",
        "审核类型：再认证审核（QMS+EMS）",
        "审核代码：Q：19.05.01；19.09.01 E：19.05.01",
        "审核日期：2024.03.18-2024.03.20",
        "审核组长：欧阳文华（2020-N1QMS-4012345）",
        "组员：钱明、孙丽娟（2019-2-EMS-1056789）",
        "技术专家：韩冬",
    ])
    got = read(pdf)
    assert got.doc_type == "audit_notice"
    assert got.stage == "recertification"
    assert got.fields == ["QMS", "EMS"]
    assert got.codes == ["19.05.01", "19.09.01"]
    assert got.code_table == "2020"
    assert (got.audit_start, got.audit_end) == ("2024-03-18", "2024-03-20")
    assert [(a.name, a.role, a.reg_no) for a in got.auditors] == [
        ("欧阳文华", "leader", "2020-N1QMS-4012345"), ("钱明", "member", None),
        ("孙丽娟", "member", "2019-2-EMS-1056789"), ("韩冬", "expert", None)]


def test_traditional_report_with_findings_table(tmp_path):
    pdf = make_pdf(tmp_path / "report.pdf", [
        "管理體系審核報告",
        "受審核方：香港恒generic有限公司".replace("generic", "達"),
        "審核類型：第一次監督審核",
        "審核日期：2023年9月4日至5日",
        "審核依據：GB/T 19001-2016、GB/T 24001-2016",
        "本次審核發現不符合項2項，詳見下表。",
        [["序號", "體系", "條款", "不符合事實描述", "嚴重程度"],
         ["1", "QMS", "7.1.5", "現場抽查計量器具，游標卡尺未按期校準。", "一般"],
         ["2", "EMS", "6.1.2", "未識別噴漆工序的VOCs排放環境因素。", "一般"]],
    ])
    got = read(pdf)
    assert got.doc_type == "audit_report"
    assert got.org.name == "香港恒达有限公司"
    assert got.stage == "surveillance1"
    assert got.fields == ["QMS", "EMS"]
    assert [(f.clause, f.field, f.severity) for f in got.findings] == [
        ("7.1.5", "QMS", "minor"), ("6.1.2", "EMS", "minor")]
    assert got.findings[0].statement == "现场抽查计量器具,游标卡尺未按期校准。"


def test_unrelated_document_says_nothing_it_does_not_know(tmp_path):
    pdf = make_pdf(tmp_path / "misc.pdf", [
        "会议纪要",
        "时间：2023年4月1日，地点：三楼会议室。",
        "讨论了档案室搬迁和扫描外包事宜，编号 12.03.05 的柜子待维修。",
    ])
    got = read(pdf)
    assert got.doc_type == "other"
    assert got.org.name is None and got.org.credit_code is None
    assert got.cert_no is None and got.stage is None
    assert got.audit_start is None and got.auditors == [] and got.findings == []
    assert got.fields == []


def test_observation_has_no_severity(tmp_path):
    pdf = make_pdf(tmp_path / "obs.pdf", [
        "观察项报告",
        "受审核方：成都蜀信软件有限公司",
        "审核依据：ISO/IEC 27001:2013",
        "条款：A.9.2.3",
        "观察项描述：特权账号的分配未见定期评审记录，存在潜在风险。",
    ])
    got = read(pdf)
    assert got.doc_type == "observation"
    assert [(f.clause, f.field, f.severity) for f in got.findings] == [("A.9.2.3", "ISMS", None)]


def test_fast_tables_equal_pdfplumbers(tmp_path):
    """The PDFium-fed table reader gives what pdfplumber itself reads, cell for cell."""
    import pypdfium2 as pdfium

    from archive.pdf import read_tables
    from archive.tables import page_tables

    pdf_path = make_pdf(tmp_path / "tables.pdf", [
        "审核计划",
        [["日期", "时间", "部门/过程", "涉及条款", "审核人员"],
         ["3月2日", "08:30-09:00", "首次会议", "-", "全体"],
         ["3月2日", "09:00-11:30", "管理层", "Q:7.1.5.1、8.3.5、9.3;E:4.2、9.2.1 以及很长的说明文字需要在单元格里换行显示", "高亚男"]],
        "",
        [["序号", "体系", "条款", "不符合事实描述", "性质"],
         ["1", "Q", "GB/T 45001-2020 10.2", "10月发生一起轻微货物坍塌事件,组织未进行事件调查和原因分析。", "严重"],
         ["2", "", "", "", ""]],
    ])
    pdf = pdfium.PdfDocument(str(pdf_path))
    page = pdf[0]
    mine = page_tables(page, page.get_textpage())
    assert mine == read_tables(pdf_path.read_bytes(), [1])[1]
    assert len(mine) == 2 and mine[1][1][3].startswith("10月发生一起轻微货物坍塌事件")
    assert mine[0][2][3].endswith("单元格里换行显示")


def test_graph_paper_is_not_read_as_tables(tmp_path):
    """A page ruled with thousands of crossings (no form has them) is not searched for cells."""
    import pypdfium2 as pdfium
    from pdfmaker import FONT, _font
    from reportlab.pdfgen import canvas

    from archive.tables import MAX_INTERSECTIONS, page_tables

    _font()
    path = tmp_path / "grid.pdf"
    c = canvas.Canvas(str(path))
    c.setFont(FONT, 10)
    c.drawString(50, 800, "姓名 组内身份")
    n = int(MAX_INTERSECTIONS ** 0.5) + 10
    for i in range(n):
        c.line(40 + i * 3.6, 40, 40 + i * 3.6, 780)
        c.line(40, 40 + i * 3.6, 540, 40 + i * 3.6)
    c.save()
    page = pdfium.PdfDocument(str(path))[0]
    assert page_tables(page, page.get_textpage()) == []


# -- Layouts of other bodies' forms (issue 17, item 5) ------------------------------------------
# (a) a certificate names its organisation on a line of its own under 兹证明 / This is to certify;
# (b) the audit team stated on one line, roles separated by punctuation;
# (c) names wrapped onto the next line by the layout.

CREDIT_2 = "91330206MA2H7K5L0" + credit_check_char("91330206MA2H7K5L0")
CERTIFIED = "浙江华东精密机械制造有限公司"


def drawn_pdf(path: Path, lines: list) -> Path:
    """A page drawn line by line as certificates are: an item is a string (left-aligned) or
    (text, how) with how "centre" or "spaced" (centred, with wide letter spacing and no blanks)."""
    from pdfmaker import FONT, _font
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfgen import canvas

    _font()
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    y = 790.0
    for item in lines:
        text, how = (item, "left") if isinstance(item, str) else item
        if how == "spaced":
            t = c.beginText()
            t.setFont(FONT, 18)
            t.setCharSpace(18)
            width = pdfmetrics.stringWidth(text, FONT, 18) + 18 * (len(text) - 1)
            t.setTextOrigin((A4[0] - width) / 2, y)
            t.textOut(text)
            c.drawText(t)
        elif how == "centre":
            c.setFont(FONT, 13)
            c.drawCentredString(A4[0] / 2, y, text)
        else:
            c.setFont(FONT, 10.5)
            c.drawString(60, y, text)
        y -= 26
    c.save()
    return path


CERTIFICATES = {
    "spaced-anchor-labelled-code-english-line": ([
        ("华正联合认证有限公司", "centre"), ("质量管理体系认证证书", "centre"),
        ("证书编号：00123Q20345R1M", "centre"),
        ("兹  证  明", "centre"),
        (CERTIFIED, "centre"),
        (f"统一社会信用代码：{CREDIT}", "centre"),
        ("Zhejiang Huadong Precision Machinery Manufacturing Co., Ltd.", "centre"),
        ("注册地址：浙江省宁波市鄞州区四明东路88号", "centre"),
        ("质量管理体系符合", "centre"), ("GB/T 19001-2016 / ISO 9001:2015", "centre"),
    ], CERTIFIED, CREDIT),
    "colon-anchor-bare-code": ([
        ("环境管理体系认证证书", "centre"), ("证书编号：00123E20345R1M", "centre"),
        "兹证明：",
        (CERTIFIED, "centre"),
        (CREDIT, "centre"),
        ("Zhejiang Huadong Precision Machinery Manufacturing Co., Ltd.", "centre"),
        "建立的环境管理体系符合 GB/T 24001-2016 / ISO 14001:2015 标准",
    ], CERTIFIED, CREDIT),
    "traditional-bracketed-code-then-de": ([
        ("質量管理體系認證證書", "centre"),
        ("茲  證  明", "centre"),
        ("香港恒達精密機械製造有限公司", "centre"),
        (f"（統一社會信用代碼 {CREDIT_2}）", "centre"),
        ("的質量管理體系符合 GB/T 19001-2016 標準", "centre"),
    ], "香港恒达精密机械制造有限公司", CREDIT_2),
    "no-known-suffix-half-width-brackets": ([
        ("质量管理体系认证证书", "centre"),
        ("兹 证 明", "spaced"),
        ("宁波市鄞州区中河街道社区卫生服务站", "centre"),
        (f"(统一社会信用代码: {CREDIT_2})", "centre"),
        ("的质量管理体系符合 GB/T 19001-2016 idt ISO 9001:2015", "centre"),
    ], "宁波市鄞州区中河街道社区卫生服务站", CREDIT_2),
    "english-statement-first": ([
        ("CERTIFICATE OF REGISTRATION", "centre"), ("证书编号：00123Q20345R1M", "centre"),
        ("This is to certify that the Quality Management System of", "centre"),
        ("Zhejiang Huadong Precision Machinery Manufacturing Co., Ltd.", "centre"),
        (CERTIFIED, "centre"),
        (f"Unified Social Credit Code: {CREDIT}", "centre"),
        ("has been assessed and found to conform to ISO 9001:2015", "centre"),
    ], CERTIFIED, CREDIT),
    "english-only": ([
        ("CERTIFICATE", "centre"), ("Certificate No.: 00123Q20345R1M", "centre"),
        ("This is to certify that", "centre"),
        ("Ningbo Hengda Machinery Co., Ltd.", "centre"),
        (f"(USCC: {CREDIT_2})", "centre"),
        ("operates a Quality Management System which complies with ISO 9001:2015", "centre"),
    ], "Ningbo Hengda Machinery Co., Ltd.", CREDIT_2),
    "org-line-ends-with-colon": ([
        ("管理体系认证证书", "centre"),
        ("兹    证    明    ：", "centre"),
        ("宁波市鄞州区中河街道社区卫生服务站：", "centre"),
        ("所建立的质量管理体系符合标准 GB/T 19001-2016", "centre"),
        (f"统一社会信用代码 {CREDIT}", "left"),
    ], "宁波市鄞州区中河街道社区卫生服务站", CREDIT),
}


@pytest.mark.parametrize("case", CERTIFICATES, ids=list(CERTIFICATES))
def test_certificate_names_its_organisation_on_a_line_of_its_own(tmp_path, case):
    lines, name, credit = CERTIFICATES[case]
    got = read(drawn_pdf(tmp_path / "cert.pdf", lines))
    assert got.doc_type == "certificate"
    assert (got.org.name, got.org.credit_code) == (name, credit)


TEAM = [("欧阳文华", "leader", "2020-N1QMS-4012345"), ("钱明", "member", "2019-2-EMS-1056789"),
        ("韩冬", "expert", None)]
TEAM_STATEMENTS = {
    "full-width-semicolons": "组长：欧阳文华（2020-N1QMS-4012345）；组员：钱明（2019-2-EMS-1056789）；技术专家：韩冬",
    "half-width-commas": "审核组长:欧阳文华(2020-N1QMS-4012345),成员:钱明(2019-2-EMS-1056789),专家:韩冬",
    "numbers-after-a-blank": "审核组长：欧阳文华 2020-N1QMS-4012345；组员：钱明 2019-2-EMS-1056789；专家：韩冬",
    "full-width-commas-labelled-numbers":
        "组长：欧阳文华（注册号：2020-N1QMS-4012345），组员：钱明（注册号：2019-2-EMS-1056789），技术专家：韩冬",
    "traditional": "審核組長：歐陽文華（2020-N1QMS-4012345）；組員：錢明（2019-2-EMS-1056789）；技術專家：韓冬",
    "blanks-only": "组长 欧阳文华 (2020-N1QMS-4012345)   组员 钱明 2019-2-EMS-1056789 孙丽娟   技术专家 韩冬",
}


@pytest.mark.parametrize("case", TEAM_STATEMENTS, ids=list(TEAM_STATEMENTS))
def test_team_stated_on_one_line(tmp_path, case):
    got = read(make_pdf(tmp_path / "plan.pdf", [
        "审核计划", "受审核方：苏州工业园区恒信电子有限公司", TEAM_STATEMENTS[case],
        "审核日期：2024.03.18-2024.03.20"], font_size=8))
    team = TEAM[:2] + [("孙丽娟", "member", None)] + TEAM[2:] if "孙丽娟" in TEAM_STATEMENTS[case] else TEAM
    assert [(a.name, a.role, a.reg_no) for a in got.auditors] == team


def test_team_statement_in_a_table_cell_with_roles_in_brackets(tmp_path):
    got = read(make_pdf(tmp_path / "plan.pdf", [
        "审核计划",
        [["受审核方", "苏州工业园区恒信电子有限公司"],
         ["审核组", "欧阳文华（组长，2020-N1QMS-4012345）、钱明（2019-2-EMS-1056789）、韩冬（技术专家）"]]]))
    assert [(a.name, a.role, a.reg_no) for a in got.auditors] == TEAM


def test_spaced_two_character_names_in_a_team_list(tmp_path):
    """Forms pad two-character names to the width of three (`王  明`): still one name."""
    got = read(make_pdf(tmp_path / "notice.pdf", [
        "现场审核通知", "审核组长：欧阳文华（2020-N1QMS-4012345）",
        "组员：钱  明（2019-2-EMS-1056789）、孙丽娟；技术专家：韩  冬"]))
    assert [(a.name, a.role) for a in got.auditors] == [
        ("欧阳文华", "leader"), ("钱明", "member"), ("孙丽娟", "member"), ("韩冬", "expert")]


WRAPPED_ORGS = {
    "label-line-cut-after-four": ["受审核方：浙江华东", "精密机械制造有限公司", "审核类型：监督审核"],
    "table-row-continues": ["受审核组织名称 浙江华东精密", "机械制造有限公司 审核日期 2023年5月6日"],
    "label-alone-value-below": ["受审核方", "浙江华东精密机械", "制造有限公司", "审核类型 监督审核"],
    "certificate-name-wraps": ["兹  证  明", "浙江华东精密机械制造有", "限公司", f"统一社会信用代码：{CREDIT}",
                               "建立的质量管理体系符合GB/T 19001-2016"],
    "blank-inside-the-name": ["受审核方：浙江华东精密 机械制造有限公司", "审核类型：监督审核"],
}


@pytest.mark.parametrize("case", WRAPPED_ORGS, ids=list(WRAPPED_ORGS))
def test_organisation_name_wrapped_onto_the_next_line(tmp_path, case):
    got = read(drawn_pdf(tmp_path / "doc.pdf", ["不符合项报告", *WRAPPED_ORGS[case]]))
    assert got.org.name == CERTIFIED


def test_organisation_name_wrapped_in_a_narrow_table_cell(tmp_path):
    """A form whose cells are too narrow for their text: the text layer puts the label on a line of
    its own and the name on the two lines below it; the credit code's label wraps too."""
    got = read(make_pdf(tmp_path / "ncr.pdf", [
        "不符合项报告",
        [["受审核方", "浙江华东精密机械制造有限公司", "审核日期", "2023年5月6日"],
         ["统一社会信用代码", CREDIT, "审核类型", "监督审核"]],
    ], font_size=14))
    assert got.org.name == CERTIFIED
    assert got.org.credit_code == CREDIT


WRAPPED_PEOPLE = {
    "after-the-surname": ["审核组长：欧阳文华（2020-N1QMS-4012345）", "组员：钱明（2019-2-EMS-1056789）、孙",
                          "丽娟；技术专家：韩冬"],
    "before-the-last-character": ["审核组长：欧阳文华（2020-N1QMS-4012345）；组员：钱明（2019-2-EMS-1056789）、孙丽",
                                  "娟；技术专家：韩冬"],
    "compound-surname": ["审核组长：欧阳", "文华（2020-N1QMS-4012345）", "组员：钱明（2019-2-EMS-1056789）、孙丽娟",
                         "技术专家：韩冬"],
}


@pytest.mark.parametrize("case", WRAPPED_PEOPLE, ids=list(WRAPPED_PEOPLE))
def test_person_name_wrapped_onto_the_next_line(tmp_path, case):
    got = read(drawn_pdf(tmp_path / "notice.pdf", ["现场审核通知", *WRAPPED_PEOPLE[case]]))
    assert [(a.name, a.role) for a in got.auditors] == [
        ("欧阳文华", "leader"), ("钱明", "member"), ("孙丽娟", "member"), ("韩冬", "expert")]


def test_team_table_row_whose_name_cell_wraps(tmp_path):
    """Cells centred vertically: the text layer holds `欧阳` on a line of its own and the row
    `文华 组长 …` below it. `文华` is no second auditor, and without the table it is 欧阳文华."""
    from pdfmaker import FONT, _font
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    _font()
    style = ParagraphStyle("t", fontName=FONT, fontSize=10, leading=14)
    rows = [["姓名", "组内身份", "注册号"], ["欧阳文华", "组长", "2020-N1QMS-4012345"],
            ["钱明", "组员", "2019-2-EMS-1056789"]]
    table = Table([[Paragraph(c, style) for c in row] for row in rows], colWidths=[34, 60, 150])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    path = tmp_path / "team.pdf"
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1).build([Paragraph("审核组", style), table])
    want = [("欧阳文华", "leader", "2020-N1QMS-4012345"), ("钱明", "member", "2019-2-EMS-1056789")]
    assert [(a.name, a.role, a.reg_no) for a in read(path).auditors] == want
    pages = read_pdf(path.read_bytes())           # the text layer alone, as for a page not read for tables
    assert "欧阳\n文华 组长" in pages[0].text
    assert [(a.name, a.role, a.reg_no) for a in extract(pages).auditors] == want
