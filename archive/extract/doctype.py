"""Document type and title, from the heading of the first page.

Forms put their name in a heading line (`审核计划`, `不符合报告`, `质量管理体系认证证书`); the rules
are ordered from specific to general (不符合报告 before 审核报告, 文件审查报告 before both).
"""
from __future__ import annotations

import re

from ..text import compact

# (doc_type, pattern on a whitespace-free heading line), most specific first.
RULES: tuple[tuple[str, str], ...] = (
    ("attendance", r"签到表|签到记录|会议签到|首末次会议|首次会议.*末次会议"),
    ("ncr", r"不符合(项)?(报告|通知|记录)|不合格(项)?报告|不符合项$"),
    ("observation", r"观察项(报告|记录|通知)?|观察事项"),
    ("document_review", r"文件(审查|审核|评审)(报告|记录|表)|体系文件审查"),
    ("audit_programme", r"审核方案|(审核)?任务(下达)?书|审核任务通知|审核派遣"),
    ("audit_notice", r"审核.{0,4}通知(书|单|函)?$|现场审核通知"),
    ("audit_plan", r"审核(计划|日程)(书|表)?|审核日程安排"),
    ("checklist", r"检查(单|表)|审核(记录|检查)(表|单)?|现场审核记录"),
    ("contract_review", r"(申请|合同)评审(表|记录)?|认证合同|合同书|受理(通知|决定)"),
    ("application", r"认证申请(书|表)|申请(书|表)$|认证申请"),
    ("decision", r"认证决定|评定(报告|表|记录)|评议(报告|表|记录)|技术委员会|认证批准|注册批准|认证评价"),
    ("audit_report", r"审核报告"),
    ("certificate", r"认证证书|注册证书|证书$|^证书|CERTIFICATE"),
)
_COMPILED = tuple((t, re.compile(p, re.I)) for t, p in RULES)
HEADING_LINES = 12


_NUMBERED = re.compile(r"^(\d+|[一二三四五六七八九十]+)[\s.、)]")
_LETTERHEAD = re.compile(r"(公司|中心|集团|协会|委员会|Ltd\.?|Center|Centre|Co\.?)$", re.I)
# The heading ends where the body begins: the first line this long is prose.
BODY_LINE = 42


def _is_heading(line: str) -> bool:
    c = compact(line)
    return (2 <= len(c) <= 40 and ":" not in c and not _NUMBERED.match(line)
            and re.search(r"[\u4e00-\u9fffA-Za-z]", c) is not None)


def heading_lines(first_page_lines: list[str]) -> list[str]:
    """The lines of the page's heading: short lines before the body text starts."""
    out = []
    for line in first_page_lines[:HEADING_LINES]:
        c = compact(line)
        # prose: Chinese with its punctuation (not a letterhead's `Co.,Ltd` read onto one line)
        if len(c) > BODY_LINE and ":" not in c and re.search(r"[\u4e00-\u9fff][,。;,]|[,。;,][\u4e00-\u9fff]", c):
            break
        if _is_heading(line):
            out.append(line.strip())
    return out


def classify(first_page_lines: list[str]) -> tuple[str | None, str | None]:
    """(doc_type, title) from the first page's lines; ("other", a heading) if no rule matches."""
    if not first_page_lines:
        return None, None
    head = heading_lines(first_page_lines)
    for line in head:
        c = compact(line)
        for doc_type, pattern in _COMPILED:
            if pattern.search(c):
                return doc_type, line
    if "兹证明" in compact("".join(first_page_lines[:40])):
        return "certificate", None
    # a title comes before the text starts: nothing after the first sentence is one
    before_text = []
    for line in first_page_lines[:HEADING_LINES]:
        if _sentence(line):
            break
        before_text.append(line)
    titles = [l for l in head if l in before_text and re.search(r"[\u4e00-\u9fff]", l)
              and not _LETTERHEAD.search(compact(l)) and not _only_a_date(l)]
    return "other", titles[0] if titles else None


_DATE = re.compile(r"\d{4}\s*(?:年\s*(?:\d{1,2}\s*月\s*(?:\d{1,2}\s*日)?)?|[-./]\d{1,2}(?:[-./]\d{1,2})?)")
# how prose begins: a heading names a thing, a sentence starts by pointing at what follows
_OPENER = re.compile(r"^(以下|如下|根据|按照|依据|为了|为使|我们|我|本文|今年|随着|经过|通过|注\s*[:：])")


def _only_a_date(line: str) -> bool:
    """A date line (`2021年6月整理`, `发布日期 2017-02-01`), not a title that carries a year
    (`2021年5月CCAA审核员考试《认证通用基础》真题`): little is left once the dates are gone."""
    rest = re.findall(r"[\u4e00-\u9fffA-Za-z]", _DATE.sub("", line))
    return bool(_DATE.search(line)) and len(rest) < 6


def _sentence(line: str) -> bool:
    """Prose rather than a heading: sentence punctuation, or a sentence's opening words."""
    c = compact(line)
    return bool(re.search(r"[,。;!?，；！？]", c) or _OPENER.match(c))
