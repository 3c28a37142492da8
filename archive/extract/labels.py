"""Labelled values on forms: `受审核方：宁波某某有限公司`, table rows `证书编号 03410Q10286R0S`.

Real forms use many labels for one thing; the lists below are the vocabulary, written from the
domain (and meant to be extended). A value ends where the line does or where the next known label
begins, so one row holding several label/value pairs reads correctly.
"""
from __future__ import annotations

import re
from functools import lru_cache

ORG = ("受审核方名称", "受审核方", "受审核组织名称", "受审核组织", "受审核单位", "被审核方",
       "组织名称", "申请组织名称", "申请组织", "获证组织名称", "获证组织", "企业名称", "单位名称",
       "申请单位", "申请方", "申请人名称", "委托方", "客户名称", "认证委托人", "受审方", "名称")
CREDIT = ("统一社会信用代码", "社会信用代码", "信用代码", "组织机构代码")
CERT = ("认证证书编号", "证书编号", "证书号码", "证书号", "证书注册号", "原证书编号")
CODES = ("专业代码", "业务范围代码", "业务范围分类代码", "专业分类代码", "专业分类", "审核专业代码",
         "认证专业代码", "专业范围代码", "代码")
AUDIT_DATES = ("现场审核日期", "现场审核时间", "审核起止日期", "审核起止时间", "计划审核日期",
               "审核日期", "审核时间", "审核实施日期")
STAGE = ("审核类型", "审核阶段", "阶段", "审核性质", "审核类别", "审核种类", "认证类型", "申请类型",
         "申请认证类型", "认证类别", "审核形式")
SCOPE = ("申请认证范围", "认证覆盖范围", "认证范围", "审核范围", "注册范围", "覆盖范围",
         "覆盖的产品及过程", "覆盖的产品", "业务范围")
FIELDS = ("认证领域", "认证体系", "审核体系", "认证项目", "申请认证体系", "认证标准", "审核依据",
          "审核准则", "符合标准", "依据标准", "认证依据", "管理体系标准", "标准")
ISSUED = ("发证日期", "颁证日期", "签发日期", "注册日期", "换证日期", "初次发证日期", "初次发证")
EXPIRES = ("有效期至", "证书有效期至", "有效期", "证书有效期")
LEADER = ("审核组组长", "审核组长", "组长")
MEMBER = ("审核组成员", "审核组员", "组员", "成员")
EXPERT = ("技术专家", "专家")
AUDITOR = ("审核员", "审核人员", "审核人", "审查人", "文件审查人")
CLAUSE = ("不符合条款", "标准条款", "对应条款", "涉及条款", "条款号", "条款编号", "条款")
STATEMENT = ("不符合事实描述", "不符合事实陈述", "不符合项描述", "不符合描述", "不符合事实",
             "事实描述", "问题描述", "观察项描述", "观察项内容", "观察内容", "观察项", "描述")
SEVERITY = ("严重程度", "不符合类型", "不符合性质", "不符合程度", "不符合项类型", "性质", "级别")
OTHER = ("地址", "注册地址", "经营地址", "生产地址", "办公地址", "联系人", "联系电话", "电话", "传真",
         "邮编", "邮政编码", "法定代表人", "管理者代表", "员工人数", "人数", "受审部门", "受审核部门",
         "部门", "审核目的", "审核结论", "原因分析", "纠正措施", "纠正", "验证方式", "跟踪验证",
         "验证结论", "完成期限", "期限", "受审核方代表", "编号", "日期", "签字", "签名", "备注",
         "删减条款", "删减", "人日", "审核人日", "邮箱", "网址", "组织人数", "体系人数")

ALL_LABELS: tuple[str, ...] = tuple(sorted(
    set(ORG + CREDIT + CERT + CODES + AUDIT_DATES + STAGE + SCOPE + FIELDS + ISSUED + EXPIRES
        + LEADER + MEMBER + EXPERT + AUDITOR + CLAUSE + STATEMENT + SEVERITY + OTHER),
    key=len, reverse=True))

_SEP = r"\s*[:]\s*"


def _alternation(labels: tuple[str, ...]) -> str:
    return "|".join(re.escape(l) for l in sorted(labels, key=len, reverse=True))


@lru_cache(maxsize=None)
def label_re(labels: tuple[str, ...], colon_required: bool = False) -> re.Pattern:
    """A label at the start of a line or after a blank, then `:` (or a blank, as in table rows)."""
    sep = _SEP if colon_required else r"(?:\s*[:]\s*|\s+|$)"
    return re.compile(rf"(?:^|(?<=[\s(]))(?:{_alternation(labels)})(?:\([^)]{{0,12}}\))?{sep}")


# A value ends at the next label: one of ≥ 3 characters followed by a colon or a blank (a table
# row), or a short generic one (标准, 描述, 日期 …) only when a colon follows — in running text
# those are ordinary words.
_LONG = tuple(l for l in ALL_LABELS if len(l) >= 3)
_NEXT_LABEL = re.compile(rf"\s(?:(?:{_alternation(_LONG)})(?:\([^)]{{0,12}}\))?\s*(?::|\s)"
                         rf"|(?:{_alternation(ALL_LABELS)})(?:\([^)]{{0,12}}\))?\s*:)")


def cut_at_next_label(value: str) -> str:
    m = _NEXT_LABEL.search(" " + value)
    if m:
        value = (" " + value)[: m.start()]
    return value.strip()


def find_values(lines: list[str], labels: tuple[str, ...], colon_required: bool = False,
                next_line: bool = True) -> list[tuple[int, str]]:
    """(line index, value) for every occurrence of one of `labels`, in order.

    A label alone on its line (the value below it, or in the next table row) takes the next line.
    """
    pattern = label_re(labels, colon_required)
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        for m in pattern.finditer(line):
            value = cut_at_next_label(line[m.end():])
            if not value and next_line and i + 1 < len(lines):
                nxt = lines[i + 1]
                if not label_re(ALL_LABELS, True).match(nxt):
                    value = cut_at_next_label(nxt)
            if value:
                out.append((i, value))
    return out


def first_value(lines: list[str], labels: tuple[str, ...], colon_required: bool = False) -> str | None:
    found = find_values(lines, labels, colon_required)
    return found[0][1] if found else None


_PAGE_MARK = re.compile(r"^(第\s*\d+\s*页|共\s*\d+\s*页|page\s*\d+)", re.I)


def block_value(lines: list[str], start: int, first: str, max_lines: int = 30) -> str:
    """A labelled value that runs on over the following lines until the next label (joined)."""
    parts = [first]
    colon_label = label_re(ALL_LABELS, True)
    for line in lines[start + 1: start + 1 + max_lines]:
        if colon_label.match(line) or _PAGE_MARK.match(line) or compact_label(line):
            break
        parts.append(line)
    return "".join(p.strip() for p in parts if p.strip())


_LABEL_SET = frozenset(ALL_LABELS)
_TAIL = re.compile(r"(?:^|[\s;,、。(])([\u4e00-\u9fff]{1,10})$")
_HEAD = re.compile(r"^([\u4e00-\u9fff]{1,10})(?=[\s:(]|$)")


def join_wrapped_labels(lines: list[str]) -> list[str]:
    """Lines with a label that the line's end broke in two made one again (a narrow table cell, a
    long line): `统一社会信用` + `代码 9133…` → `统一社会信用代码 9133…`, `受审核` + `方 某某有限公司`,
    `…；技术专` + `家：韩冬`. Only a line's last word and the next line's first, together exactly a
    known label, are joined."""
    out: list[str] = []
    for line in lines:
        tail = _TAIL.search(out[-1]) if out else None
        head = _HEAD.match(line)
        label = tail.group(1) + head.group(1) if tail and head else ""
        # a two-character label only with its colon: `组` / `员：钱明`
        if label in _LABEL_SET and (len(label) >= 3 or line[head.end():head.end() + 1] == ":"):
            out[-1] += line
        else:
            out.append(line)
    return out


def compact_label(line: str) -> bool:
    """A line that is only a label (a table's label cell): `严重程度`, `原因分析：`."""
    return line.strip().rstrip(":").strip() in ALL_LABELS
