"""Extraction on hand-written layouts the sample generator does not make.

Each PDF here is built the way another body's forms look; the rules must read them from the
domain's labels and formats, and say null where the document does not say.
"""
from __future__ import annotations

from pathlib import Path

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
