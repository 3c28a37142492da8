"""Ways the same fact is written on different forms and in different years.

Every function takes the facts and a random generator and returns the printed text; the truth
is always the fact passed in, never re-parsed from the text.
"""
from __future__ import annotations

import datetime as dt
import random

FW_TABLE = str.maketrans("0123456789.-:/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                         "０１２３４５６７８９．－：／ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
                         "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ")


def fullwidth(text: str) -> str:
    return text.translate(FW_TABLE)


CHECKED, UNCHECKED = "■", "□"      # the font has no ☑; forms print ■ (or √) for a ticked box


def boxes(options: list[tuple[str, bool]], style: int = 0) -> str:
    """`■初审 □监督` (style 0), `√初审 □监督` (style 1) or `初审（√） 监督（ ）` (style 2)."""
    if style == 2:
        return "  ".join(f"{label}（{'√' if on else '  '}）" for label, on in options)
    mark = CHECKED if style == 0 else "√"
    return "  ".join(f"{mark if on else UNCHECKED}{label}" for label, on in options)


# -- dates ---------------------------------------------------------------------------------------

def fmt_date(d: dt.date, style: str = "cn") -> str:
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "cn0":
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    if style == "iso":
        return d.isoformat()
    if style == "dot":
        return f"{d.year}.{d.month:02d}.{d.day:02d}"
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    raise ValueError(style)


DATE_STYLES = ("cn", "cn", "cn", "cn0", "iso", "dot", "slash")
RANGE_STYLES = ("cn_full", "cn_short", "cn_short", "iso", "dot", "cn_tilde")


def fmt_range(start: dt.date, end: dt.date, style: str) -> str:
    """An audit period as forms write it; a one-day audit is a single date."""
    if start == end:
        return fmt_date(start, {"cn_full": "cn", "cn_short": "cn", "iso": "iso", "dot": "dot",
                                "cn_tilde": "cn0"}[style])
    if style == "cn_full":
        return f"{fmt_date(start)}至{fmt_date(end)}"
    if style == "cn_short":
        if start.year == end.year and start.month == end.month:
            return f"{fmt_date(start)}-{end.day}日"
        if start.year == end.year:
            return f"{fmt_date(start)}-{end.month}月{end.day}日"
        return f"{fmt_date(start)}-{fmt_date(end)}"
    if style == "iso":
        return f"{start.isoformat()} 至 {end.isoformat()}"
    if style == "dot":
        if start.year == end.year:
            return f"{fmt_date(start, 'dot')}～{end.month:02d}.{end.day:02d}"
        return f"{fmt_date(start, 'dot')}～{fmt_date(end, 'dot')}"
    if style == "cn_tilde":
        return f"{fmt_date(start, 'cn0')}～{fmt_date(end, 'cn0')}"
    raise ValueError(style)


def audit_period(rng: random.Random, start: dt.date, end: dt.date) -> str:
    text = fmt_range(start, end, rng.choice(RANGE_STYLES))
    if rng.random() < 0.08:
        text = fullwidth(text)
    if start != end and rng.random() < 0.15:
        text += f"（共{(end - start).days + 1}天）"
    return text


def some_date(rng: random.Random, d: dt.date) -> str:
    text = fmt_date(d, rng.choice(DATE_STYLES))
    return fullwidth(text) if rng.random() < 0.05 else text


# -- specialty codes -----------------------------------------------------------------------------

FIELD_LETTER_SHORT = {"QMS": "Q", "EMS": "E", "OHSMS": "S", "FSMS": "F", "ISMS": "I", "SERVICE": "FW"}


def fmt_codes(rng: random.Random, codes: list[str], fields: list[str], risk: dict[str, int],
              allow_prefix: bool = True) -> str:
    """Specialty codes as files write them: separators, full width, risk sub-codes, field prefixes."""
    fw = rng.random() < 0.15
    with_risk = rng.random() < 0.3
    sep = rng.choice(["；", "、", " ", "，", "; ", "；"])

    def one(code: str) -> str:
        text = code + (f"/{risk.get(code, 2)}" if with_risk else "")
        return fullwidth(text) if fw else text

    body = sep.join(one(c) for c in codes)
    mgmt = [f for f in fields if f != "SERVICE"]
    if allow_prefix and len(mgmt) > 1 and rng.random() < 0.55:
        colon = rng.choice(["：", ":"])
        return "  ".join(f"{FIELD_LETTER_SHORT[f]}{colon}{body}" for f in mgmt)
    return body


# -- audit stages --------------------------------------------------------------------------------

STAGE_WORDS = {
    "stage1": ["一阶段", "第一阶段", "初审一阶段", "初次认证第一阶段", "初次认证一阶段审核"],
    "stage2": ["二阶段", "第二阶段", "初审二阶段", "初次认证第二阶段", "初次认证二阶段审核"],
    "surveillance1": ["第一次监督审核", "监督审核（1）", "监一", "第一次监督", "监督审核（第一次）"],
    "surveillance2": ["第二次监督审核", "监督审核（2）", "监二", "第二次监督", "监督审核（第二次）"],
    "recertification": ["再认证", "复评", "再认证审核", "再认证（复评）"],
}


def stage_text(rng: random.Random, stage: str) -> str:
    return rng.choice(STAGE_WORDS[stage])


def stage_boxes(rng: random.Random, stage: str) -> tuple[str, str | None]:
    """`审核类型：■初审 □监督 □再认证` plus, where needed, the line that pins the stage down."""
    kind = {"stage1": "初审", "stage2": "初审", "surveillance1": "监督", "surveillance2": "监督",
            "recertification": "再认证"}[stage]
    style = rng.choice([0, 0, 1, 2])
    line = boxes([(k, k == kind) for k in ("初审", "监督", "再认证")], style)
    extra = None
    if stage in ("stage1", "stage2"):
        n = "一" if stage == "stage1" else "二"
        extra = rng.choice([f"审核阶段：第{n}阶段", f"阶段：{n}阶段"])
    elif stage.startswith("surveillance"):
        n = stage[-1]
        extra = rng.choice([f"监督次数：第{'一' if n == '1' else '二'}次", f"监督频次：{n}"])
    return line, extra


# -- fields and standards ------------------------------------------------------------------------

FIELD_NAMES = {
    "QMS": "质量管理体系", "EMS": "环境管理体系", "OHSMS": "职业健康安全管理体系",
    "FSMS": "食品安全管理体系", "ISMS": "信息安全管理体系", "SERVICE": "售后服务认证",
}
FIELD_ORDER = ("QMS", "EMS", "OHSMS", "FSMS", "ISMS", "SERVICE")


def standard(field: str, on: dt.date) -> str:
    """The standard a field was audited against on a date."""
    if field == "QMS":
        return "ISO 9001:2015" if on.year < 2017 else "GB/T 19001-2016/ISO 9001:2015"
    if field == "EMS":
        return "ISO 14001:2015" if on.year < 2017 else "GB/T 24001-2016/ISO 14001:2015"
    if field == "OHSMS":
        return "GB/T 28001-2011/OHSAS 18001:2007" if on.year <= 2020 else "GB/T 45001-2020/ISO 45001:2018"
    if field == "FSMS":
        return "ISO 22000:2018"
    if field == "ISMS":
        return "GB/T 22080-2016/ISO/IEC 27001:2013" if on.year <= 2023 else "ISO/IEC 27001:2022"
    if field == "SERVICE":
        return "GB/T 27922-2011《商品售后服务评价体系》"
    raise ValueError(field)


def standard_short(field: str, on: dt.date, rng: random.Random) -> str:
    """One half of the standard's designation (the national or the ISO one)."""
    full = standard(field, on)
    parts = full.split("/ISO")
    if len(parts) == 2 and rng.random() < 0.5:
        return parts[0] if rng.random() < 0.6 else "ISO" + parts[1]
    return full


def clause_key(field: str, on: dt.date) -> str:
    """Which clause list applies: OHSMS before 2021 was audited against GB/T 28001 (OHSAS)."""
    if field == "OHSMS" and on.year <= 2020:
        return "OHSAS"
    return field


def fields_text(rng: random.Random, fields: list[str], on: dt.date) -> str:
    """How a form names the audited fields."""
    mgmt = [f for f in FIELD_ORDER if f in fields]
    style = rng.randrange(5)
    if mgmt == ["QMS", "EMS", "OHSMS"] and style == 0:
        return rng.choice(["三体系（QMS/EMS/OHSMS）", "QES三体系", "质量、环境、职业健康安全管理体系"])
    if style in (0, 1):
        return "、".join(FIELD_NAMES[f] for f in mgmt)
    if style == 2 and "SERVICE" not in mgmt:
        return "/".join(mgmt)
    if style == 3:
        return "；".join(standard(f, on) for f in mgmt)
    return "、".join(f"{FIELD_NAMES[f]}（{standard_short(f, on, rng)}）" for f in mgmt)


# -- certificate numbers as printed --------------------------------------------------------------

def printed_cert_no(rng: random.Random, cert_no: str) -> str:
    r = rng.random()
    if r < 0.07:
        return cert_no.lower()
    if r < 0.13:
        return fullwidth(cert_no)
    if r < 0.17 and "-" not in cert_no:
        return f"{cert_no[:5]} {cert_no[5:-3]} {cert_no[-3:]}"
    return cert_no


# -- labels --------------------------------------------------------------------------------------

ORG_LABELS = ("受审核方", "组织名称", "申请组织", "受审核组织", "受审核方名称")
CERT_ORG_LABELS = ("获证组织", "组织名称", "获证组织名称")
CERT_LABELS = ("证书编号", "证书号", "注册号", "认证证书编号")
CODE_LABELS = ("专业代码", "业务范围代码", "专业分类代码", "专业代码（风险等级）")
DATE_LABELS = ("审核日期", "审核时间", "现场审核日期", "现场审核时间")
CREDIT_LABELS = ("统一社会信用代码", "统一社会信用代码", "社会信用代码")


def colon(rng: random.Random) -> str:
    return rng.choice(["：", "：", "：", ":", ": "])
