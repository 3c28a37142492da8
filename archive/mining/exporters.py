"""Rendering a training pack: the pack → sections (Chinese headings, paragraphs, tables) once, then
each format draws the same sections: DOCX (python-docx: Heading 1/2 styles, tables, a TOC field
Word fills in on open), XLSX (openpyxl: one sheet per section) and Markdown (the web).
Dates are local (2023年5月10日) where people read them, ISO in the workbook's cells (data).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

TOC_INSTRUCTION = 'TOC \\o "1-2" \\h \\z \\u'


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    caption: str | None = None


@dataclass
class Section:
    """One Heading 1 section: paragraphs, bullet lists, tables and Heading 2 subsections in order."""

    title: str
    sheet: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def h2(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("ul", items))

    def table(self, headers: list[str], rows: list[list[Any]], caption: str | None = None) -> None:
        if rows:
            self.blocks.append(("table", Table(headers, rows, caption)))
        else:
            self.p("（档案中未见）")


def local_date(value: str | None) -> str:
    """2023-05-10 → 2023年5月10日 (anything else as it is)."""
    if value and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        d = date.fromisoformat(value)
        return f"{d.year}年{d.month}月{d.day}日"
    return value or "—"


def sections(pack: dict[str, Any], day: Callable[[str | None], str] = local_date) -> list[Section]:
    """The pack as the sections every format shows, in order."""
    s, f = pack["subject"], pack["figures"]
    out: list[Section] = []

    sec = Section("一、概况", "概况")
    if s["hierarchy"]:
        sec.table(["层级", "代码", "名称"], [[h["level"], h["code"], h["name"] or ""] for h in s["hierarchy"]], "在代码体系中的位置")
    for line in s["description"]:
        sec.p(line)
    if s.get("iaf"):
        i = s["iaf"]
        sec.table(["IAF/EA 类别", "中文名称", "英文名称", "NACE Rev.2"],
                  [[i["sector"], i.get("zh", ""), i.get("en", ""), i.get("nace") or ""]], "IAF 分类")
    if s["children"]:
        sec.h2("下级代码")
        sec.table(["代码", "名称"], [[c["code"], c["name"] or ""] for c in s["children"]])
    if s.get("codes"):
        sec.h2("涉及的专业代码")
        sec.table(["代码", "名称", "项目数"], [[c["code"], c["name"] or "", c["cases"]] for c in s["codes"]])
    if s["scopes"]:
        sec.h2("认证范围表述")
        sec.table(["认证范围", "项目数"], [[x["scope"], x["cases"]] for x in s["scopes"]])
    out.append(sec)

    sec = Section("二、档案中的数据", "数据")
    years = (f"{f['first_year']}—{f['last_year']} 年" if f["first_year"] else "—")
    sec.table(["项目", "数量"], [["组织", f["organisations"]], ["认证项目（案例）", f["cases"]], ["审核", f["audits"]],
                               ["文件", f["documents"]], ["不符合项", f["nonconformities"]],
                               ["其中严重不符合", f["major"]], ["审核员", f["auditors"]], ["覆盖年份", years]])
    if f["by_year"]:
        sec.h2("各年份审核次数")
        sec.table(["年份", "审核"], [[y["year"], y["audits"]] for y in f["by_year"]])
    out.append(sec)

    pr = pack["processes"]
    sec = Section("三、典型过程和关键控制点", "典型过程")
    sec.h2("主要过程（工艺流程）")
    sec.table(["过程流程", "组织数"], [[x["flow"], x["organisations"]] for x in pr["flows"]])
    sec.h2("常见过程步骤")
    sec.table(["过程", "组织数"], [[x["step"], x["organisations"]] for x in pr["steps"]])
    if pr["products"]:
        sec.h2("主要产品和服务")
        sec.table(["产品/服务", "组织数"], [[x["product"], x["organisations"]] for x in pr["products"]])
    if pr["outsourced"]:
        sec.h2("外包过程")
        sec.table(["外包过程", "组织数"], [[x["process"], x["organisations"]] for x in pr["outsourced"]])
    sec.h2("关键控制点")
    sec.table(["关键控制点", "报告数", "审核记录中的说明"],
              [[k["point"], k["reports"], "；".join(k["notes"])] for k in pack["key_control_points"]])
    out.append(sec)

    sec = Section("四、审核要点及审核方法", "审核要点及方法")
    sec.h2("审核要点")
    sec.table(["审核要点", "文件数", "检查条款"],
              [[p["point"], p["documents"], "、".join(p["clauses"])] for p in pack["audit_points"]])
    sec.h2("审核方法")
    m = pack["audit_methods"]
    if m["named"]:
        sec.table(["报告所述审核方法", "报告数"], [[x["method"], x["documents"]] for x in m["named"]])
    sec.table(["检查表记录的验证方式", "条目数"], [[x["method"], x["entries"]] for x in m["verified"]])
    out.append(sec)

    sec = Section("五、适用的法律法规和标准", "法律法规和标准")
    sec.p("文件中引用的法律、法规、规章和标准，按引用的文件数排列。")
    sec.table(["名称", "类别", "引用文件数"], [[x["name"], x["kind"], x["documents"]] for x in pack["laws"]])
    out.append(sec)

    sec = Section("六、常见不符合项", "常见不符合项")
    sec.p("按条款统计的不符合项（次数多者在前），附典型事实陈述。")
    sec.table(["领域", "条款", "条款名称", "次数", "典型事实陈述"],
              [[n["field"] or "", n["clause"], n["title"] or "", n["count"], "\n".join(n["examples"])]
               for n in pack["nonconformities"]])
    out.append(sec)

    sec = Section("七、典型案例", "典型案例")
    if not pack["cases"]:
        sec.p("（档案中未见）")
    rows = []
    for i, c in enumerate(pack["cases"], 1):
        sec.h2(f"案例{i}：{c['org'] or '—'}（{'+'.join(c['fields'])}，第{c['cycle']}周期）")
        sec.table(["项目", "内容"], [["认证范围", c["scope"] or "—"], ["专业代码", "、".join(c["codes"]) or "—"],
                                   ["证书编号", "、".join(c["cert_nos"]) or "—"],
                                   ["周期", f"{day(c['start'])} 至 {day(c['end'])}"]])
        sec.table(["审核", "日期", "不符合项"], [[a["stage"] or "—", day(a["start"]), a["nonconformities"]] for a in c["audits"]])
        if c["summary"]:
            sec.p("审核报告摘要：")
            sec.bullets(c["summary"])
        if c["key_control_points"]:
            sec.p("关键控制点：" + "、".join(c["key_control_points"]))
        rows.append(c)
    out.append(sec)

    if pack.get("auditors") is not None:
        sec = Section("八、有此经验的审核员", "审核员")
        sec.p("来自审核组记录：审核过此代码（领域）项目的审核员，审核次数多者在前。")
        sec.table(["姓名", "注册号", "审核次数", "任组长", "组织数", "最近审核"],
                  [[a["name"], a["reg_no"] or "—", a["audits"], a["leader"], a["organisations"], day(a["last"])]
                   for a in pack["auditors"]])
        out.append(sec)
    return out


def _intro(pack: dict[str, Any]) -> str:
    made = local_date(pack["generated"])
    return (f"本资料由档案系统于 {made} 从审核档案中自动生成" +
            ("，已脱敏：组织、统一社会信用代码、证书编号、地址和人员以代号替换" if pack["anonymised"] else "") + "。")


# -- DOCX -----------------------------------------------------------------------------------------

def _toc(paragraph) -> None:
    """A TOC field: Word builds the table of contents from the Heading styles when it opens."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld(kind: str):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            el.set(qn("w:dirty"), "true")
        run = OxmlElement("w:r")
        run.append(el)
        return run

    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = TOC_INSTRUCTION
    instr_run = OxmlElement("w:r")
    instr_run.append(instr)
    hint = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "（目录：打开文档时更新；或右键“更新域”）"
    hint.append(text)
    for el in (fld("begin"), instr_run, fld("separate"), hint, fld("end")):
        paragraph._p.append(el)


def _east_asian(style, font: str = "宋体") -> None:
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        from docx.oxml import OxmlElement

        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), font)


def to_docx(pack: dict[str, Any]) -> bytes:
    """The pack as a Word document."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        _east_asian(doc.styles[name], "黑体" if name != "Normal" else "宋体")
    doc.styles["Normal"].font.size = Pt(10.5)
    update = OxmlElement("w:updateFields")          # ask Word to fill in the TOC on open
    update.set(qn("w:val"), "true")
    doc.settings.element.append(update)
    doc.core_properties.title = pack["title"]
    doc.add_heading(pack["title"], level=0)
    doc.add_paragraph(_intro(pack))
    doc.add_paragraph("目录", style="TOC Heading") if "TOC Heading" in [s.name for s in doc.styles] else doc.add_paragraph("目录")
    _toc(doc.add_paragraph())
    for sec in sections(pack):
        doc.add_heading(sec.title, level=1)
        for kind, value in sec.blocks:
            if kind == "p":
                doc.add_paragraph(value)
            elif kind == "h2":
                doc.add_heading(value, level=2)
            elif kind == "ul":
                for item in value:
                    doc.add_paragraph(item, style="List Bullet")
            else:
                _docx_table(doc, value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _docx_table(doc, t: Table) -> None:
    if t.caption:
        doc.add_paragraph(t.caption).runs[0].bold = True
    table = doc.add_table(rows=1, cols=len(t.headers))
    table.style = "Table Grid"
    for cell, h in zip(table.rows[0].cells, t.headers):
        cell.text = ""
        cell.paragraphs[0].add_run(str(h)).bold = True
    for row in t.rows:
        cells = table.add_row().cells
        for cell, v in zip(cells, row):
            cell.text = "" if v is None else str(v)


# -- XLSX -----------------------------------------------------------------------------------------

def to_xlsx(pack: dict[str, Any]) -> bytes:
    """The pack as a workbook, one sheet per section (numbers stay numbers, dates ISO)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for n, sec in enumerate(sections(pack, day=lambda v: v or ""), 0):
        ws = wb.create_sheet(sec.sheet[:31])
        ws.append([sec.title])
        ws.cell(1, 1).font = Font(bold=True, size=14)
        if n == 0:
            ws.append([pack["title"]])
            ws.append([_intro(pack)])
        widths: dict[int, int] = {}
        for kind, value in sec.blocks:
            if kind in ("p", "h2"):
                ws.append([value])
                if kind == "h2":
                    ws.cell(ws.max_row, 1).font = bold
            elif kind == "ul":
                for item in value:
                    ws.append(["· " + item])
            else:
                ws.append([])
                if value.caption:
                    ws.append([value.caption])
                ws.append(list(value.headers))
                for c in range(1, len(value.headers) + 1):
                    ws.cell(ws.max_row, c).font = bold
                for row in value.rows:
                    ws.append(["" if v is None else v for v in row])
                    for c, v in enumerate(row, 1):
                        widths[c] = max(widths.get(c, 8), min(60, len(str(v)) + 2))
                        if isinstance(v, str) and len(v) > 40:
                            ws.cell(ws.max_row, c).alignment = wrap
                ws.append([])
        for c, w in widths.items():
            ws.column_dimensions[chr(64 + c)].width = w
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- Markdown -------------------------------------------------------------------------------------

def _md_cell(v: Any) -> str:
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(pack: dict[str, Any]) -> str:
    """The pack as Markdown (headings, lists and pipe tables), for the web."""
    lines = [f"# {pack['title']}", "", _intro(pack), "", "## 目录", ""]
    secs = sections(pack)
    lines += [f"- {sec.title}" for sec in secs] + [""]
    for sec in secs:
        lines += [f"## {sec.title}", ""]
        for kind, value in sec.blocks:
            if kind == "p":
                lines += [value, ""]
            elif kind == "h2":
                lines += [f"### {value}", ""]
            elif kind == "ul":
                lines += [f"- {item}" for item in value] + [""]
            else:
                if value.caption:
                    lines += [f"**{value.caption}**", ""]
                lines.append("| " + " | ".join(value.headers) + " |")
                lines.append("|" + "---|" * len(value.headers))
                lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in value.rows]
                lines.append("")
    return "\n".join(lines)
