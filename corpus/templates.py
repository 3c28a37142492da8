"""One function per document type: each prints a story and records what it printed.

A template gets a `Ctx` (the world, the organisation, the programme, the audit, the document's own
date and a random generator private to the document) and returns a `Doc`. Wording and layout are
drawn per document, so that no two forms look alike; the truth is recorded from the facts, at the
moment they are printed.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from . import names
from .refdata import clause_titles
from .render import Layout, Story, text_width_for
from .texts import (
    CHECK_RECORDS,
    DEPT_NARRATIVE,
    GENERIC_MGMT,
    IMPROVEMENTS,
    MGMT_DEPTS,
    MGMT_NARRATIVE,
    NARRATIVE_BY_FIELD,
    RESPONSES_ACTION,
    RESPONSES_CAUSE,
    RESPONSES_CORRECTION,
    Slots,
)
from .truth import DocTruth
from .wording import (
    CERT_LABELS,
    CODE_LABELS,
    CREDIT_LABELS,
    DATE_LABELS,
    FIELD_LETTER_SHORT,
    FIELD_NAMES,
    ORG_LABELS,
    audit_period,
    boxes,
    clause_key,
    colon,
    fields_text,
    fmt_codes,
    fmt_date,
    printed_cert_no,
    some_date,
    stage_boxes,
    stage_text,
    standard,
    standard_short,
)
from .world import Audit, Certificate, Finding, Org, Programme, World, programme_scope

MGMT = ("QMS", "EMS", "OHSMS", "FSMS", "ISMS")


@lru_cache(maxsize=None)
def converter(kind: str | None) -> Callable[[str], str]:
    """Simplified → traditional for one string; a string that would not convert back is kept."""
    if kind is None:
        return lambda s: s
    import opencc
    s2t = opencc.OpenCC("s2hk" if kind == "hk" else "s2tw")
    t2s = opencc.OpenCC("t2s")

    def conv(s: str) -> str:
        t = s2t.convert(s)
        if t2s.convert(t) == s:
            return t
        if len(t) == len(s):       # keep the characters that do not convert back (衞 → 衞) simplified
            t = "".join(tc if t2s.convert(tc) == sc else sc for sc, tc in zip(s, t))
            if t2s.convert(t) == s:
                return t
        return s
    return conv


@dataclass
class Ctx:
    rng: random.Random
    world: World
    org: Org
    prog: Programme
    audit: Audit | None
    date: dt.date
    trad: str | None = None
    findings: list[Finding] = field(default_factory=list)
    certs: list[Certificate] = field(default_factory=list)
    variant: str | None = None

    @property
    def code_date(self) -> dt.date:
        """The date that decides the code table: the audit's (legacy codes for audits up to 2019)."""
        return self.audit.start if self.audit else self.date


@dataclass
class Doc:
    story: Story
    layout: Layout
    truth: DocTruth


FORM_NO = {"application": "01", "contract_review": "02", "audit_programme": "03", "document_review": "04",
           "audit_notice": "05", "audit_plan": "06", "checklist": "07", "attendance": "08", "ncr": "09",
           "observation": "10", "audit_report": "11", "decision": "13", "certificate": "14", "other": "15"}


# -- names in English (certificates print them under the Chinese name) ----------------------------

def _pairs(text: str) -> dict[str, str]:
    words = text.split()
    return {words[i]: words[i + 1].replace("_", " ") for i in range(0, len(words), 2)}


PLACES_EN = _pairs(
    "宁波 Ningbo 杭州 Hangzhou 苏州 Suzhou 无锡 Wuxi 常州 Changzhou 佛山 Foshan 东莞 Dongguan 深圳 Shenzhen "
    "青岛 Qingdao 济南 Jinan 成都 Chengdu 武汉 Wuhan 合肥 Hefei 郑州 Zhengzhou 西安 Xi'an 天津 Tianjin "
    "上海 Shanghai 北京 Beijing 厦门 Xiamen 温州 Wenzhou 台州 Taizhou 长沙 Changsha 南京 Nanjing "
    "浙江 Zhejiang 江苏 Jiangsu 广东 Guangdong 山东 Shandong 四川 Sichuan 湖北 Hubei 安徽 Anhui 河南 Henan "
    "陕西 Shaanxi 福建 Fujian 湖南 Hunan")
TRADES_EN = _pairs(
    "恒达 Hengda 华锐 Huarui 金诚 Jincheng 宏远 Hongyuan 鑫盛 Xinsheng 永固 Yonggu 德润 Derun 博创 Bochuang "
    "泰和 Taihe 瑞丰 Ruifeng 中联 Zhonglian 天成 Tiancheng 嘉禾 Jiahe 振华 Zhenhua 新光 Xinguang 明辉 Minghui "
    "海纳 Haina 立信 Lixin 旭日 Xuri 正源 Zhengyuan 汇通 Huitong 恒信 Hengxin 昊天 Haotian 安捷 Anjie "
    "精工 Jinggong 凯瑞 Kairui 三力 Sanli 广益 Guangyi 盛世 Shengshi 华盈 Huaying 卓越 Zhuoyue 晟泰 Shengtai "
    "宇通 Yutong 禾丰 Hefeng 信达 Xinda 东升 Dongsheng 远航 Yuanhang 兆丰 Zhaofeng 润泽 Runze 鼎盛 Dingsheng "
    "锦程 Jincheng 启明 Qiming 宏图 Hongtu 银河 Yinhe 康达 Kangda 益民 Yimin 佳和 Jiahe 同创 Tongchuang "
    "新 xin 鑫 xin 华 hua")
WORDS_EN = _pairs(
    "传动科技 Transmission_Technology 供应链管理 Supply_Chain_Management 信息技术 Information_Technology "
    "制衣 Garment 办公家具 Office_Furniture 化工 Chemical 医疗器械 Medical_Devices 医疗科技 Medical_Technology "
    "商贸 Trading 国际货运代理 International_Freight_Forwarding 塑业 Plastics 塑料制品 Plastic_Products "
    "塑胶制品 Plastic_Products 实业 Industrial 家具 Furniture 家居 Home_Furnishing 市政工程 Municipal_Engineering "
    "建筑工程 Construction_Engineering 建筑装饰工程 Building_Decoration_Engineering 建设工程 Construction "
    "数据科技 Data_Technology 新材料 New_Materials 智能科技 Intelligent_Technology 服饰 Apparel 机械 Machinery "
    "机械制造 Machinery_Manufacturing 汽车零部件 Auto_Parts 汽配 Auto_Parts 涂料 Coatings 物业服务 Property_Services "
    "物业管理 Property_Management 物流 Logistics 环保科技 Environmental_Technology 环境工程 Environmental_Engineering "
    "生物科技 Biotechnology 电力科技 Electric_Power_Technology 电子 Electronics 电子科技 Electronic_Technology "
    "电气 Electric 电气设备 Electrical_Equipment 精密机械 Precision_Machinery 纺织 Textile 网络科技 Network_Technology "
    "茶业 Tea 贸易 Trading 软件 Software 食品 Food 食品科技 Food_Technology 饮品 Beverage")
FIELDS_EN = {"QMS": "Quality Management System", "EMS": "Environmental Management System",
             "OHSMS": "Occupational Health and Safety Management System", "FSMS": "Food Safety Management System",
             "ISMS": "Information Security Management System"}


def english_name(name: str) -> str | None:
    """`宁波恒达机械有限公司` → `Ningbo Hengda Machinery Co., Ltd.`; None for a name the tables miss."""
    for suffix in ("股份有限公司", "有限公司"):
        if name.endswith(suffix):
            body = name[: -len(suffix)]
            break
    else:
        return None
    after = ""
    if body.endswith("）") and "（" in body:            # `恒达机械（宁波）`
        body, after = body[:-1].split("（", 1)
        if after not in PLACES_EN:
            return None
        after = f" ({PLACES_EN[after]})"
    place = next((p for p in PLACES_EN if body.startswith(p)), "")
    body = body[len(place):].removeprefix("市")
    trade = next((t for t in sorted(TRADES_EN, key=len, reverse=True) if len(t) == 2 and body.startswith(t)), "")
    rest = body[len(trade):]
    extra = rest[:1] if rest[:1] in TRADES_EN and rest[1:] in WORDS_EN else ""
    word = rest[len(extra):]
    if not trade or word not in WORDS_EN:
        return None
    head = f"{PLACES_EN[place]} " if place else ""
    return f"{head}{TRADES_EN[trade]}{TRADES_EN.get(extra, '')} {WORDS_EN[word]}{after} Co., Ltd."


def _wrap_at(rng: random.Random, text: str) -> tuple[str, str]:
    """`text` cut in two at a random character, as a narrow cell or a centred line cuts a name."""
    k = rng.randint(2 if len(text) > 3 else 1, len(text) - 1)
    return text[:k], text[k:]


def _layout(ctx: Ctx, doc_type: str, landscape: bool = False) -> Layout:
    rng = ctx.rng
    y = ctx.date.year
    era = "A/0" if y <= 2018 else ("B/1" if y <= 2021 else "C/0")
    left = rng.choice([names.BODY_NAME, names.BODY_NAME, f"{names.BODY_NAME}  {names.BODY_NAME_EN}", None])
    right = rng.choice([f"HZ/QR-{FORM_NO[doc_type]}（{era}）", f"表号：HZ-QR-{FORM_NO[doc_type]}  版本：{era}",
                        None])
    footer = rng.choice(["第 {p} 页 共 {n} 页", "第{p}页/共{n}页", "第 {p} 页，共 {n} 页", "Page {p} of {n}",
                         "- {p} -", "{p}/{n}", None])
    return Layout(left, right, footer, landscape)


def _story(ctx: Ctx, layout: Layout) -> Story:
    return Story(conv=converter(ctx.trad), width=text_width_for(layout))


def _begin(ctx: Ctx, doc_type: str, title: str, landscape: bool = False, letterhead: bool | None = None) -> Doc:
    layout = _layout(ctx, doc_type, landscape)
    story = _story(ctx, layout)
    if letterhead or (letterhead is None and layout.header_left is None and ctx.rng.random() < 0.6):
        story.line(names.BODY_NAME, size=12, align="center")
    truth = DocTruth(doc_type)
    truth.title = title
    story.title(title)
    return Doc(story, layout, truth)


# -- shared blocks -------------------------------------------------------------------------------

def _info(ctx: Ctx, doc: Doc, pairs: list[tuple[str, str]], style: str | None = None) -> None:
    """Label/value pairs as lines with colons, a 2-column grid or a 4-column grid."""
    rng, S = ctx.rng, doc.story
    style = style or rng.choice(["lines", "lines", "grid2", "grid4", "grid4"])
    pairs = [(l, v) for l, v in pairs if v]
    if style == "lines":
        # now and then the organisation's name does not fit its line and goes on on the next (not in
        # a table: a scan's visual lines would put the label between the two pieces)
        wrapped = ctx.org.name if rng.random() < 0.2 else None
        c = colon(rng)
        for label, value in pairs:
            if value == wrapped:
                first, rest = _wrap_at(rng, value)
                S.line(f"{label}{c}{first}")
                S.line(rest)
            else:
                S.line(f"{label}{c}{value}")
        S.spacer(4)
    elif style == "grid2":
        S.table([[l, v] for l, v in pairs], [0.24, 0.76], header_rows=0, shade_labels=True)
    else:
        rows, spans, pending = [], [], None
        for label, value in pairs:
            if len(value) > 16 or len(label) > 7:
                if pending:
                    rows.append([pending[0], pending[1], "", ""])
                    spans.append(((1, len(rows) - 1), (3, len(rows) - 1)))
                    pending = None
                rows.append([label, value, "", ""])
                spans.append(((1, len(rows) - 1), (3, len(rows) - 1)))
            elif pending:
                rows.append([pending[0], pending[1], label, value])
                pending = None
            else:
                pending = (label, value)
        if pending:
            rows.append([pending[0], pending[1], "", ""])
            spans.append(((1, len(rows) - 1), (3, len(rows) - 1)))
        S.table(rows, [0.18, 0.32, 0.18, 0.32], header_rows=0, spans=spans)


def _org_pairs(ctx: Ctx, doc: Doc, labels=ORG_LABELS, credit: float = 0.0, address: float = 0.5) -> list:
    rng, org = ctx.rng, ctx.org
    pairs = [(rng.choice(labels), org.name)]
    doc.truth.org(org.name)
    if rng.random() < credit:
        pairs.append((rng.choice(CREDIT_LABELS), org.credit_code))
        doc.truth.org(org.name, org.credit_code)
    if rng.random() < address:
        pairs.append((rng.choice(["地址", "注册地址", "经营地址", "审核地址"]), org.address))
    return pairs


def _codes_pair(ctx: Ctx, doc: Doc, p: float = 1.0, prefix: bool = True) -> list:
    if ctx.rng.random() >= p:
        return []
    codes, table = ctx.org.codes_on(ctx.code_date)
    text = fmt_codes(ctx.rng, codes, ctx.prog.fields, ctx.org.risk, allow_prefix=prefix)
    doc.truth.add_codes(codes, table)
    return [(ctx.rng.choice(CODE_LABELS), text)]


def _period_pair(ctx: Ctx, doc: Doc, labels=DATE_LABELS) -> list:
    a = ctx.audit
    doc.truth.dates(a.start, a.end)
    return [(ctx.rng.choice(labels), audit_period(ctx.rng, a.start, a.end))]


def _stage_pairs(ctx: Ctx, doc: Doc, boxed: float = 0.3) -> list:
    stage = ctx.audit.stage
    doc.truth.set_stage(stage)
    if ctx.rng.random() < boxed:
        line, extra = stage_boxes(ctx.rng, stage)
        out = [("审核类型", line)]
        if extra:
            label, value = extra.split("：", 1)
            out.append((label, value))
        return out
    return [(ctx.rng.choice(["审核类型", "审核阶段", "审核类别"]), stage_text(ctx.rng, stage))]


def _fields_pair(ctx: Ctx, doc: Doc, fields: list[str] | None = None) -> list:
    fields = fields or ctx.prog.fields
    doc.truth.add_fields(fields)
    rng = ctx.rng
    if rng.random() < 0.5:
        return [(rng.choice(["审核准则", "审核依据", "认证标准", "依据标准"]),
                 "；".join(standard(f, ctx.date) for f in fields))]
    return [(rng.choice(["认证体系", "审核体系", "认证领域", "申请认证体系"]), fields_text(rng, fields, ctx.date))]


def _cert_pairs(ctx: Ctx, doc: Doc, certs: list[Certificate], labels=CERT_LABELS) -> list:
    if not certs:
        return []
    rng = ctx.rng
    for c in certs:
        doc.truth.cert(c.cert_no)
    label = rng.choice(labels)
    if len(certs) == 1:
        return [(label, printed_cert_no(rng, certs[0].cert_no))]
    if rng.random() < 0.5:
        return [(label, "；".join(f"{FIELD_LETTER_SHORT[c.field]}：{printed_cert_no(rng, c.cert_no)}"
                                  for c in certs))]
    return [(label, "、".join(printed_cert_no(rng, c.cert_no) for c in certs))]


def _scope_pair(ctx: Ctx, doc: Doc, labels=("认证范围", "审核范围", "申请认证范围")) -> list:
    scope = programme_scope(ctx.prog)
    doc.truth.scope = scope
    return [(ctx.rng.choice(labels), scope)]


ROLE_WORDS = {"leader": ("组长", "审核组长"), "member": ("组员", "组员", "成员"), "expert": ("技术专家", "专家")}


def _covered_codes(ctx: Ctx, auditor) -> list[str]:
    codes, _ = ctx.org.codes_on(ctx.code_date)
    return codes if ctx.org.profile.key in auditor.profiles else []


def _team(ctx: Ctx, doc: Doc, style: str | None = None, reg: bool = True, codes: bool = True) -> None:
    """The audit team as a table or as lines; records names, roles, registration numbers."""
    rng, S, T = ctx.rng, doc.story, doc.truth
    team = ctx.audit.team
    style = style or rng.choice(["table", "table", "lines"])
    _, table = ctx.org.codes_on(ctx.code_date)
    if style == "table":
        head = ["姓名", rng.choice(["组内身份", "组内职务", "审核组职务"]),
                rng.choice(["注册号", "注册证书号", "注册证书编号", "注册资格及证书号"])]
        widths = [0.18, 0.16, 0.36]
        if not reg:
            head, widths = head[:2], [0.3, 0.3]
        if codes:
            head.append(rng.choice(["专业代码", "专业能力代码"]))
            widths.append(0.30 if reg else 0.4)
        rows = [head]
        for a, role in team:
            row = [a.name, rng.choice(ROLE_WORDS[role])]
            if reg:
                row.append(a.reg_no or "—")
            if codes:
                cov = _covered_codes(ctx, a)
                row.append("、".join(cov) if cov else "/")
                T.add_codes(cov, table)
            rows.append(row)
            T.auditor(a.name, role, a.reg_no if reg else None)
        S.heading(rng.choice(["审核组成员", "审核组", "审核组组成"]), size=10.5)
        S.table(rows, widths)
        return
    leaders = [a for a, r in team if r == "leader"]
    members = [a for a, r in team if r == "member"]
    experts = [a for a, r in team if r == "expert"]
    if rng.random() < 0.4:
        _team_line(ctx, doc, leaders, members, experts, reg)
        return
    fmt = (lambda a: f"{a.name}（{a.reg_no}）") if reg else (lambda a: a.name)
    if members and rng.random() < 0.2:      # the members' line cut inside a name
        text = f"{rng.choice(['审核组员', '组员', '审核组成员'])}：{'、'.join(fmt(a) for a in members)}"
        who = rng.choice(members).name
        at = text.index(who) + rng.randint(1, len(who) - 1)
        S.line(f"{rng.choice(['审核组长', '组长'])}：{fmt(leaders[0])}")
        S.line(text[:at])
        S.line(text[at:])
        if experts:
            S.line(f"技术专家：{'、'.join(a.name for a in experts)}")
        _record_team(doc, leaders, members, experts, reg)
        S.spacer(4)
        return
    S.line(f"{rng.choice(['审核组长', '组长'])}：{fmt(leaders[0])}")
    if members:
        S.line(f"{rng.choice(['审核组员', '组员', '审核组成员'])}：{'、'.join(fmt(a) for a in members)}")
    if experts:
        S.line(f"技术专家：{'、'.join(a.name for a in experts)}")
    _record_team(doc, leaders, members, experts, reg)
    S.spacer(4)


def _record_team(doc: Doc, leaders: list, members: list, experts: list, reg: bool) -> None:
    """The truth of a team printed as lines (however laid out): leader, members, experts; experts
    print no registration number."""
    T = doc.truth
    T.auditor(leaders[0].name, "leader", leaders[0].reg_no if reg else None)
    for a in members:
        T.auditor(a.name, "member", a.reg_no if reg else None)
    for a in experts:
        T.auditor(a.name, "expert", None)


def _team_line(ctx: Ctx, doc: Doc, leaders: list, members: list, experts: list, reg: bool) -> None:
    """The whole team on one line, as many forms state it: `组长：张三（注册号）；组员：李四；技术专家：王五`,
    with the separators, the labels and the way registration numbers follow a name varied."""
    rng = ctx.rng
    sep = rng.choice(["；", "；", "，", "  ", "; "])
    c = rng.choice(["：", "：", ":"]) if sep != "  " else rng.choice(["：", " "])
    shown = rng.choice(["（{}）", "({})", " {}", "（注册号：{}）"])

    def fmt(a) -> str:
        return a.name + (shown.format(a.reg_no) if reg and a.reg_no else "")

    parts = [f"{rng.choice(['组长', '审核组长'])}{c}{fmt(leaders[0])}"]
    if members:
        parts.append(f"{rng.choice(['组员', '成员', '审核组员'])}{c}{'、'.join(fmt(a) for a in members)}")
    if experts:
        parts.append(f"{rng.choice(['技术专家', '专家'])}{c}{'、'.join(a.name for a in experts)}")
    _record_team(doc, leaders, members, experts, reg)
    doc.story.line(sep.join(parts))
    doc.story.spacer(4)


def _slots(ctx: Ctx) -> Slots:
    d = ctx.audit.start if ctx.audit else ctx.date
    year0 = d.year if d.month >= 4 else d.year - 1
    return Slots(ctx.org.profile, ctx.org.people[2:], ctx.org.suppliers, year0, ctx.org.legal_rep)


def _clauses_for(ctx: Ctx, f: str, n: int) -> list[str]:
    titles = clause_titles(clause_key(f, ctx.audit.start if ctx.audit else ctx.date))
    keys = [k for k in titles if k.count(".") >= 1]
    return sorted(ctx.rng.sample(keys, min(n, len(keys))), key=lambda k: [int(x) for x in k.split(".")])


def _sign(ctx: Ctx, doc: Doc, items: list[str]) -> None:
    doc.story.spacer(10)
    for it in items:
        doc.story.line(it, align=ctx.rng.choice(["left", "right"]) if len(items) == 1 else "left")


# -- application 认证申请书 ---------------------------------------------------------------------

def application(ctx: Ctx) -> Doc:
    rng, org, prog, a = ctx.rng, ctx.org, ctx.prog, ctx.audit
    recert = a.stage == "recertification"
    fields = prog.fields
    if fields == ["SERVICE"]:
        title = rng.choice(["售后服务认证申请书", "服务认证申请表"])
    elif len(fields) == 1:
        title = rng.choice([f"{FIELD_NAMES[fields[0]]}认证申请书", "管理体系认证申请书", "认证申请书"])
    else:
        title = rng.choice(["管理体系认证申请书", "认证申请书", "管理体系认证申请表"])
    doc = _begin(ctx, "application", title)
    S, T = doc.story, doc.truth
    S.line(f"申请编号：SQ{ctx.date.year}{rng.randint(1, 999):04d}", align="right")
    pairs = [(rng.choice(["申请组织名称", "申请组织", "组织名称"]), org.name)]
    T.org(org.name, org.credit_code)
    pairs += [("统一社会信用代码", org.credit_code), ("注册地址", org.address),
              ("邮政编码", org.postcode), ("法定代表人", org.legal_rep),
              ("联系人", org.contact), ("联系电话", f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}"),
              ("员工总数", f"{org.staff}人")]
    _info(ctx, doc, pairs)
    # fields applied for: ticked boxes, or plain text
    T.add_fields(fields)
    options = [("质量管理体系", "QMS"), ("环境管理体系", "EMS"), ("职业健康安全管理体系", "OHSMS"),
               ("食品安全管理体系", "FSMS"), ("信息安全管理体系", "ISMS"), ("售后服务认证", "SERVICE")]
    if rng.random() < 0.6:
        S.line("申请认证的体系/领域：")
        S.line(boxes([(label, f in fields) for label, f in options], rng.choice([0, 0, 1])))
        S.line("认证依据：" + "；".join(standard(f, ctx.date) for f in fields))
    else:
        S.line(f"申请认证的体系：{fields_text(rng, fields, ctx.date)}")
    kinds = [("初次认证", not recert), ("再认证", recert), ("扩大范围", False), ("转换认证", False)]
    S.line("申请类型：" + boxes(kinds, rng.choice([0, 1])))
    if recert:
        T.set_stage("recertification")
        S.line("原证书编号：" + "、".join(printed_cert_no(rng, c.cert_no) for c in a.certs_before))
        for c in a.certs_before:
            T.cert(c.cert_no)
    scope = programme_scope(prog)
    T.scope = scope
    S.line(f"申请认证范围：{scope}")
    if rng.random() < 0.35:
        codes, table = org.codes_on(ctx.code_date)
        S.line(f"专业代码（由认证机构填写）：{fmt_codes(rng, codes, fields, org.risk)}")
        T.add_codes(codes, table)
    S.heading("管理体系运行情况")
    established = ctx.date - dt.timedelta(days=rng.randint(120, 400))
    rows = [["项目", "情况"],
            ["管理体系建立时间", fmt_date(established)],
            ["是否完成内部审核和管理评审", "是"],
            ["多场所情况", rng.choice(["无", "无", "有，临时场所（项目部）"])],
            ["外包过程", rng.choice(["无", f"{rng.choice(org.profile.steps)}（外包）", "运输"])],
            ["咨询机构", rng.choice(["无", f"{rng.choice(['杭州', '苏州', '广州'])}某管理咨询有限公司"])]]
    if "QMS" in fields and rng.random() < 0.4:
        rows.append(["删减条款", rng.choice(["8.3 产品和服务的设计和开发", "7.1.5.2 测量溯源"])])
    S.table(rows, [0.35, 0.65])
    if rng.random() < 0.5:
        S.page_break()
    S.heading("申请方声明")
    S.para("本组织承诺遵守认证机构的认证规则和相关要求，提供的申请资料真实有效；同意认证机构按照认证规则"
           "实施审核，并承担相应的认证费用。")
    _sign(ctx, doc, [f"法定代表人（签字）：{org.legal_rep}", f"申请日期：{some_date(rng, ctx.date)}"])
    return doc


# -- contract_review 申请评审表 ------------------------------------------------------------------

def contract_review(ctx: Ctx) -> Doc:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    recert = a.stage == "recertification"
    title = rng.choice(["认证申请评审表", "申请评审表", "合同评审表", "认证申请评审记录"])
    doc = _begin(ctx, "contract_review", title)
    S, T = doc.story, doc.truth
    pairs = _org_pairs(ctx, doc, ("申请组织", "组织名称", "申请方"), credit=0.6, address=0.4)
    pairs += _fields_pair(ctx, doc)
    kind = boxes([("初次认证", not recert), ("再认证", recert), ("扩项", False)], rng.choice([0, 1]))
    pairs.append(("认证类型", kind))
    if recert:
        T.set_stage("recertification")
        pairs += _cert_pairs(ctx, doc, a.certs_before, ("原证书编号", "证书编号"))
    pairs.append(("有效人数", f"{org.staff}人"))
    pairs += _codes_pair(ctx, doc, 0.9)
    pairs += _scope_pair(ctx, doc, ("申请认证范围", "认证范围"))
    _info(ctx, doc, pairs)
    S.heading("评审内容")
    rows = [["评审项目", "评审结果"],
            ["申请资料是否齐全、有效", "是"],
            ["申请范围是否在认可/批准范围内", "是"],
            ["是否具备相应专业能力的审核员", rng.choice(["具备", "具备，需配备技术专家"])],
            ["是否存在影响公正性的因素", "否"],
            ["法律法规及行政许可", rng.choice(["已提供", "已提供营业执照及相关许可"])]]
    S.table(rows, [0.6, 0.4])
    S.heading("审核人日")
    md = a.man_days
    if recert:
        rows = [["审核类型", "人日"], ["再认证审核", f"{md}"]]
    else:
        rows = [["审核类型", "人日"], ["一阶段", f"{max(1.0, round(md))}"],
                ["二阶段", f"{a.programme.audits[1].man_days if len(a.programme.audits) > 1 else md * 2}"],
                ["监督审核（每次）", f"{max(1.0, round(md))}"]]
    S.table(rows, [0.5, 0.5])
    staff = ctx.world.body_staff
    _sign(ctx, doc, [f"评审人：{staff[0]}    批准人：{staff[1]}", f"评审日期：{some_date(rng, ctx.date)}"])
    return doc


# -- audit_programme 审核方案 / 审核任务书 ------------------------------------------------------

def audit_programme(ctx: Ctx) -> Doc:
    if ctx.variant == "task":
        return _audit_task(ctx)
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    title = rng.choice(["审核方案", "认证审核方案", "审核方案（认证周期）", "三年审核方案"])
    doc = _begin(ctx, "audit_programme", title)
    S = doc.story
    pairs = _org_pairs(ctx, doc, credit=0.2)
    pairs += _fields_pair(ctx, doc)
    pairs += _codes_pair(ctx, doc, 0.9)
    pairs += _scope_pair(ctx, doc)
    pairs.append(("有效人数", f"{org.staff}"))
    if a.stage == "recertification":
        pairs += _cert_pairs(ctx, doc, a.certs_before)
    _info(ctx, doc, pairs)
    S.heading("审核安排")
    plan = ([("一阶段", a.start), ("二阶段", a.start + dt.timedelta(days=40))] if a.stage == "stage1"
            else [("再认证", a.start)])
    first = plan[-1][1]
    plan += [("第一次监督", first + dt.timedelta(days=330)), ("第二次监督", first + dt.timedelta(days=690))]
    rows = [["审核类型", "计划时间", "人日", "审核重点"]]
    for label, when in plan:
        rows.append([label, f"{when.year}年{when.month}月", f"{a.man_days}",
                     rng.choice(["体系策划及运行情况", "关键过程控制", "上次不符合项的验证", "证书及标志使用"])])
    S.table(rows, [0.18, 0.2, 0.12, 0.5])
    S.heading("审核组能力要求")
    S.para(f"审核组应具备与{org.profile.words[0]}相关的专业能力，熟悉{rng.choice(org.profile.laws)}等法律法规和标准要求；"
           f"关键控制点：{'、'.join(org.profile.kcps[:3])}。")
    staff = ctx.world.body_staff
    _sign(ctx, doc, [f"编制：{staff[2]}    审批：{staff[1]}", f"日期：{some_date(rng, ctx.date)}"])
    return doc


def _audit_task(ctx: Ctx) -> Doc:
    rng, a = ctx.rng, ctx.audit
    title = rng.choice(["审核任务书", "审核任务下达书", "审核任务通知单"])
    doc = _begin(ctx, "audit_programme", title)
    S = doc.story
    pairs = _org_pairs(ctx, doc, credit=0.3, address=0.6)
    pairs += _stage_pairs(ctx, doc)
    pairs += _period_pair(ctx, doc)
    pairs += _fields_pair(ctx, doc)
    pairs += _codes_pair(ctx, doc, 0.9)
    pairs += _cert_pairs(ctx, doc, a.certs_before)
    pairs.append(("审核人日", f"{a.man_days}"))
    _info(ctx, doc, pairs)
    _team(ctx, doc, style="table")
    S.heading("审核要求")
    S.para("审核组应按照认证规则和审核方案实施审核，审核结束后5个工作日内提交审核资料。")
    staff = ctx.world.body_staff
    _sign(ctx, doc, [f"下达人：{staff[3]}", f"下达日期：{some_date(rng, ctx.date)}"])
    return doc


# -- audit_notice 审核通知书 ----------------------------------------------------------------------

def audit_notice(ctx: Ctx) -> Doc:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    title = rng.choice(["审核通知书", "现场审核通知书", "审核通知", "审核安排通知书"])
    doc = _begin(ctx, "audit_notice", title, letterhead=True)
    S, T = doc.story, doc.truth
    S.line(f"{org.name}：")
    T.org(org.name)
    T.set_stage(a.stage)
    T.dates(a.start, a.end)
    T.add_fields(a.fields)
    period = audit_period(rng, a.start, a.end)
    what = fields_text(rng, a.fields, a.start)
    if a.stage in ("stage1", "stage2"):
        why = "根据贵组织的认证申请及双方签订的认证合同"
    else:
        why = "根据认证规则和贵组织的认证证书保持要求"
    S.para(f"{why}，我公司定于{period}对贵组织的{what}进行{stage_text(rng, a.stage)}现场审核。"
           f"现将有关事项通知如下：")
    if a.certs_before and rng.random() < 0.7:
        pairs = _cert_pairs(ctx, doc, a.certs_before)
        S.line(f"{pairs[0][0]}：{pairs[0][1]}")
    if rng.random() < 0.4:
        p = _codes_pair(ctx, doc)
        S.line(f"{p[0][0]}：{p[0][1]}")
    S.line("一、审核组成员")
    _team(ctx, doc, reg=rng.random() < 0.7, codes=rng.random() < 0.4)
    S.line("二、请贵组织做好以下准备")
    for i, t in enumerate(["安排熟悉情况的人员陪同审核；", "准备好管理体系文件及运行记录；",
                           "通知相关部门负责人参加首次会议和末次会议；",
                           "如对审核组成员有异议，请在接到通知后3个工作日内提出。"], 1):
        S.line(f"{i}. {t}")
    staff = ctx.world.body_staff
    S.line(f"三、联系人：{staff[4]}，电话：010-{rng.randint(60000000, 89999999)}")
    _sign(ctx, doc, [names.BODY_NAME, some_date(rng, ctx.date)])
    return doc


# -- audit_plan 审核计划 -------------------------------------------------------------------------

def _slot_times(n: int, first_day: bool, last_day: bool) -> list[str]:
    """`n` consecutive time slots between the meetings, around the lunch break."""
    start = 9 * 60 if first_day else 8 * 60 + 30
    end = 16 * 60 if last_day else 17 * 60
    usable = end - start - 60
    step = max(30, (usable // max(1, n)) // 30 * 30)
    out, t = [], start
    for _ in range(n):
        if t < 12 * 60 < t + step or t == 12 * 60:
            t = 13 * 60
        out.append(f"{t // 60:02d}:{t % 60:02d}-{(t + step) // 60:02d}:{(t + step) % 60:02d}")
        t += step
    return out


def _plan_rows(ctx: Ctx, letters: dict[str, str] | None) -> list[list[str]]:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    team = [t for t in a.team if t[1] != "expert"]
    days = [(a.start + dt.timedelta(days=i)) for i in range((a.end - a.start).days + 1)]
    depts = ["管理层", rng.choice(["办公室", "行政部", "综合办"])] + list(org.profile.depts) + \
        rng.sample(["采购部", "销售部", "人事部", "财务部"], 2)
    rows = [["日期", "时间", rng.choice(["部门/过程", "受审部门/过程", "审核部门"]),
             rng.choice(["条款", "标准条款", "涉及条款"]), rng.choice(["审核员", "审核人员"])]]

    def who(k: int) -> str:
        people = [team[0][0]] if a.stage == "stage1" or len(team) == 1 else [team[k % len(team)][0]]
        return "、".join(letters[p.name] if letters else p.name for p in people)

    def clauses() -> str:
        parts = []
        for f in a.fields:
            ks = _clauses_for(ctx, f, rng.randint(2, 4))
            label = {"SERVICE": "售后服务"}.get(f, FIELD_LETTER_SHORT[f])
            parts.append(f"{label}:{'、'.join(ks)}" if len(a.fields) > 1 else "、".join(ks))
        return "；".join(parts)

    all_names = rng.choice(["全体", "审核组全体成员"])
    per_day = -(-len(depts) // len(days))
    k = 0
    cn_dates = rng.random() < 0.7
    for di, day in enumerate(days):
        dtext = f"{day.month}月{day.day}日" if cn_dates else f"{day.month:02d}-{day.day:02d}"
        first, last = di == 0, di == len(days) - 1
        if first:
            rows.append([dtext, "08:30-09:00", "首次会议", "—", all_names])
        todays = depts[k:k + per_day]
        for t, dept in zip(_slot_times(len(todays), first, last), todays):
            rows.append([dtext, t, dept, clauses(), who(k)])
            k += 1
        if last:
            rows.append([dtext, "16:00-16:30", "审核组内部沟通", "—", all_names])
            rows.append([dtext, "16:30-17:00", "末次会议", "—", all_names])
    return rows


def audit_plan(ctx: Ctx) -> Doc:
    rng, a = ctx.rng, ctx.audit
    land = rng.random() < 0.3
    title = rng.choice(["审核计划", "审核计划", "现场审核计划", "审核日程安排"])
    if rng.random() < 0.3:
        title = f"{stage_text(rng, a.stage)}审核计划" if a.stage in ("stage1", "stage2") else title
    doc = _begin(ctx, "audit_plan", title, landscape=land)
    S = doc.story
    pairs = _org_pairs(ctx, doc, credit=0.15, address=0.7)
    pairs += _stage_pairs(ctx, doc, boxed=0.35)
    pairs += _period_pair(ctx, doc)
    pairs += _cert_pairs(ctx, doc, a.certs_before) if rng.random() < 0.7 else []
    doc.truth.add_fields(a.fields)
    pairs.append((rng.choice(["审核准则", "审核依据"]),
                  "；".join(standard_short(f, a.start, rng) for f in a.fields) + "；认证规则及相关法律法规"))
    pairs += _scope_pair(ctx, doc, ("审核范围", "认证范围"))
    pairs += _codes_pair(ctx, doc, 0.85)
    pairs.append(("审核人日", f"{a.man_days}人日"))
    _info(ctx, doc, pairs)
    S.heading("审核目的")
    S.para(rng.choice([
        "确定受审核方管理体系与审核准则的符合性，评价管理体系确保组织满足适用的法律法规及合同要求的能力，"
        "以及实现其目标的有效性。",
        "评价受审核方管理体系的符合性和有效性，确定能否推荐认证注册/保持认证资格。"]))
    letters = None
    team_style = rng.choice(["table", "table", "lines"])
    _team(ctx, doc, style=team_style)
    if rng.random() < 0.3 and len(a.team) > 1:
        letters = {}
        for i, (p, _) in enumerate(a.team):
            letters[p.name] = "ABCD"[i]
        S.line("（审核员代号：" + "；".join(f"{v}：{k}" for k, v in letters.items()) + "）", size=9)
    S.heading(rng.choice(["审核日程安排", "现场审核日程", "审核安排"]))
    rows = _plan_rows(ctx, letters)
    S.table(rows, [0.11, 0.15, 0.22, 0.36, 0.16], size=9)
    S.para("说明：审核过程中如需调整，审核组长将与受审核方协商后确定。午餐时间12:00-13:00。", size=9, indent=False)
    _sign(ctx, doc, [f"审核组长：{a.team[0][0].name}    编制日期：{some_date(rng, ctx.date)}"])
    return doc


# -- checklist 检查单 -----------------------------------------------------------------------------

def checklist(ctx: Ctx) -> Doc:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    title = rng.choice(["审核检查表", "检查单", "现场审核记录", "审核记录表", "审核检查单"])
    doc = _begin(ctx, "checklist", title)
    S, T = doc.story, doc.truth
    slots = _slots(ctx)
    team = [p for p, r in a.team if r != "expert"]
    depts = rng.sample(list(org.profile.depts), min(len(org.profile.depts), rng.randint(2, 4)))
    stage_p = _stage_pairs(ctx, doc, boxed=0.2)
    period_p = _period_pair(ctx, doc)
    T.add_fields(a.fields)
    for di, dept in enumerate(depts):
        if di:
            S.page_break()
            S.title(title, size=13)
        auditor = team[di % len(team)]
        T.auditor(auditor.name, None, None)
        pairs = [(rng.choice(["受审核方", "受审核组织"]), org.name), ("受审核部门", dept),
                 ("审核员", auditor.name)] + period_p + stage_p
        if di == 0:
            T.org(org.name)
            pairs.append(("审核准则", "；".join(standard_short(f, a.start, rng) for f in a.fields)))
        pairs.append(("陪同人员", rng.choice(org.people[2:])))
        _info(ctx, doc, pairs, style=rng.choice(["lines", "grid4"]))
        rows = [["条款", "审核内容", "审核记录", "结论"]]
        for f in a.fields:
            for clause in _clauses_for(ctx, f, rng.randint(2, 4)):
                title_c = clause_titles(clause_key(f, a.start))[clause]
                label = clause if len(a.fields) == 1 else f"{FIELD_LETTER_SHORT.get(f, f)} {clause}"
                record = slots.fill(rng, rng.choice(CHECK_RECORDS), dept)
                verdict = "符合"
                for fi, fnd in enumerate(a.findings):
                    if fnd.dept == dept and fnd.field == f and fnd.clause == clause:
                        verdict = "观察项" if fnd.observation else f"不符合，见NC-{fi + 1:02d}"
                rows.append([label, f"查{title_c}的实施情况", record, verdict])
        S.table(rows, [0.12, 0.26, 0.48, 0.14], size=9)
    S.spacer(6)
    S.line(f"受审核方确认：{org.people[1]}")
    return doc


# -- attendance 签到表 ----------------------------------------------------------------------------

def attendance(ctx: Ctx) -> Doc:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    title = rng.choice(["首次会议签到表", "首、末次会议签到表", "末次会议签到表", "会议签到表"])
    doc = _begin(ctx, "attendance", title)
    S, T = doc.story, doc.truth
    pairs = _org_pairs(ctx, doc, ("受审核方", "组织名称"), address=0.0)
    pairs += _period_pair(ctx, doc)
    if rng.random() < 0.5:
        pairs += _stage_pairs(ctx, doc, boxed=0.4)
    if rng.random() < 0.5:
        pairs += _fields_pair(ctx, doc)
    day = a.start if "末次" not in title else a.end
    pairs.append(("会议时间", f"{day.month}月{day.day}日 {'08:30' if day == a.start else '16:30'}"))
    _info(ctx, doc, pairs, style=rng.choice(["lines", "grid4"]))
    S.heading("受审核方参会人员")
    rows = [["序号", "姓名", "部门", "职务", "签到"]]
    posts = ["总经理", "管理者代表", "部门经理", "主管", "内审员"]
    for i, person in enumerate(org.people[: rng.randint(4, 6)], 1):
        rows.append([str(i), person, rng.choice(org.profile.depts + ("管理层",)), rng.choice(posts), person])
    S.table(rows, [0.1, 0.2, 0.25, 0.2, 0.25])
    S.heading("审核组")
    rows = [["姓名", "组内身份", "签到"]]
    for p, role in a.team:
        rows.append([p.name, rng.choice(ROLE_WORDS[role]), p.name])
        T.auditor(p.name, role, None)
    S.table(rows, [0.3, 0.3, 0.4])
    return doc


# -- document_review 文件审查报告 ---------------------------------------------------------------

def document_review(ctx: Ctx) -> Doc:
    rng, a = ctx.rng, ctx.audit
    title = rng.choice(["文件审核报告", "体系文件审查报告", "文件评审记录", "管理体系文件审查表"])
    doc = _begin(ctx, "document_review", title)
    S, T = doc.story, doc.truth
    pairs = _org_pairs(ctx, doc, credit=0.2)
    if rng.random() < 0.5:
        T.set_stage(a.stage)
        pairs.append(("审核阶段", stage_text(rng, a.stage)))
    T.add_fields(a.fields)
    pairs.append(("审查依据", "；".join(standard(f, a.start) for f in a.fields)))
    docs = ["管理手册（A/0版）", "程序文件（A/0版）", "作业文件"] if a.stage == "stage1" else \
        ["管理手册（B/0版）", "程序文件（B/1版）"]
    pairs.append(("审查文件", "、".join(docs)))
    pairs += _codes_pair(ctx, doc, 0.3)
    pairs.append(("审查日期", some_date(rng, ctx.date)))
    _info(ctx, doc, pairs)
    rows = [["标准条款", "文件对应章节", "审查结论"]]
    for f in a.fields:
        for clause in _clauses_for(ctx, f, rng.randint(4, 7)):
            t = clause_titles(clause_key(f, a.start))[clause]
            rows.append([f"{clause} {t}", f"手册第{clause}节",
                         rng.choice(["符合", "符合", "符合", "基本符合，建议补充相关记录要求"])])
    S.table(rows, [0.45, 0.25, 0.30], size=9)
    S.heading("审查结论")
    S.para(rng.choice(["文件基本符合审核准则的要求，可以进行现场审核。",
                       "管理体系文件基本覆盖标准要求，个别问题需在现场审核前完善。"]))
    leader = a.team[0][0]
    if rng.random() < 0.5:
        S.line(f"审查人：{leader.name}（审核组长）")
        T.auditor(leader.name, "leader", None)
    else:
        S.line(f"审查人：{leader.name}")
        T.auditor(leader.name, None, None)
    return doc


# -- ncr 不符合报告 / observation 观察项报告 ----------------------------------------------------

def _finding_page(ctx: Ctx, doc: Doc, fnd: Finding, number: int, obs: bool, header: dict) -> None:
    rng, org, a, S, T = ctx.rng, ctx.org, ctx.audit, doc.story, doc.truth
    std_short = standard_short(fnd.field, a.start, rng)
    T.add_fields([fnd.field])
    clause_printed = (not obs) or rng.random() < 0.7
    ctitle = clause_titles(clause_key(fnd.field, a.start)).get(fnd.clause, "")
    pairs = [(rng.choice(["受审核方", "受审核组织", "组织名称"]), org.name),
             (rng.choice(["受审核部门", "受审部门"]), fnd.dept)]
    T.org(org.name)
    pairs += header["period"]
    pairs += header["stage"]
    if header["cert"]:      # the certificate of the finding's field only
        pairs += _cert_pairs(ctx, doc, [c for c in a.certs_before if c.field == fnd.field])
    if header["codes"]:
        pairs += _codes_pair(ctx, doc, prefix=False)
    pairs.append((rng.choice(["审核依据", "审核准则", "依据标准"]), std_short))
    if clause_printed:
        style = rng.randrange(4)
        if style == 0:
            pairs.append(("条款号", fnd.clause))
        elif style == 1:
            pairs.append(("不符合条款", f"{fnd.clause} {ctitle}"))
        elif style == 2:
            pairs.append(("标准条款", f"{std_short} 标准 {fnd.clause} 条款"))
        else:
            pairs.append(("条款", f"第{fnd.clause}条"))
    S.line(f"编号：{'OB' if obs else 'NC'}-{number:02d}", align="right")
    _info(ctx, doc, pairs, style=header["style"])
    S.heading(rng.choice(["不符合事实描述：", "不符合事实陈述：", "事实描述："]) if not obs else "观察项描述：",
              size=10.5)
    S.para(fnd.statement)
    T.finding(fnd.clause if clause_printed else None, fnd.field, None if obs else fnd.severity, fnd.statement)
    if not obs:
        major = fnd.severity == "major"
        sv = rng.randrange(3)
        if sv == 0:
            S.line("不符合性质：" + boxes([("一般", not major), ("严重", major)], rng.choice([0, 1])))
        elif sv == 1:
            S.line(f"严重程度：{'严重' if major else rng.choice(['一般', '轻微'])}")
        else:
            S.line(f"不符合类型：{'严重不符合' if major else '一般不符合'}")
        S.line("验证方式：" + boxes([("书面验证", not major), ("现场验证", major)], 0) +
               f"    纠正期限：{'30' if not major else '90'}天内")
    raiser = header["raiser"]
    signs = [f"审核员：{raiser.name}"]
    T.auditor(raiser.name, None, None)
    if header["leader_sign"]:
        leader = a.team[0][0]
        signs.append(f"审核组长：{leader.name}")
        T.auditor(leader.name, "leader", None)
    signs.append(f"受审核方代表：{org.people[1]}")
    S.line("    ".join(signs))
    if not obs:
        S.heading("原因分析：", size=10.5)
        S.para(rng.choice(RESPONSES_CAUSE))
        S.heading("纠正：", size=10.5)
        S.para(rng.choice(RESPONSES_CORRECTION))
        S.heading("纠正措施：", size=10.5)
        S.para(rng.choice(RESPONSES_ACTION))
        S.heading("跟踪验证结论：", size=10.5)
        S.para("经现场验证，纠正措施已实施且有效，同意关闭。" if fnd.severity == "major" else
               rng.choice(["纠正措施已实施，验证有效，同意关闭。", "已提供整改证据，经书面验证有效。"]))
    else:
        S.line("受审核方意见：" + rng.choice(["同意，将予以关注。", "已知悉，将持续改进。"]))


def _findings_doc(ctx: Ctx, obs: bool) -> Doc:
    rng, a = ctx.rng, ctx.audit
    if obs:
        title = rng.choice(["观察项报告", "观察项记录", "审核观察项"])
    else:
        title = rng.choice(["不符合报告", "不符合项报告", "不符合项报告（NCR）", "不符合报告单"])
    doc = _begin(ctx, "observation" if obs else "ncr", title)
    header = {"style": rng.choice(["lines", "grid2", "grid4"])}
    header["period"] = _period_pair(ctx, doc)
    if rng.random() < 0.3:          # the day the finding was raised, besides the audit period
        header["period"].append(("开具日期", some_date(
            rng, a.start + dt.timedelta(days=rng.randint(0, (a.end - a.start).days)))))
    header["stage"] = _stage_pairs(ctx, doc, boxed=0.3) if rng.random() < 0.6 else []
    header["cert"] = bool(a.certs_before) and rng.random() < 0.4
    header["codes"] = rng.random() < 0.12
    header["leader_sign"] = rng.random() < 0.6
    auditors = [p for p, r in a.team if r != "expert"]
    for i, fnd in enumerate(ctx.findings):
        if i:
            doc.story.page_break()
            doc.story.title(title)
        header["raiser"] = rng.choice(auditors)
        number = a.findings.index(fnd) + 1
        _finding_page(ctx, doc, fnd, number, obs, header)
    return doc


def ncr(ctx: Ctx) -> Doc:
    return _findings_doc(ctx, obs=False)


def observation(ctx: Ctx) -> Doc:
    return _findings_doc(ctx, obs=True)


# -- audit_report 审核报告 ------------------------------------------------------------------------

def _narrative(ctx: Ctx, slots: Slots, dept: str, used: set[str]) -> str:
    """A paragraph on one department: what was seen, per audited field, without repeating templates."""
    rng, a = ctx.rng, ctx.audit
    mgmt = dept in MGMT_DEPTS
    out = []
    for k, f in enumerate(a.fields):
        if dept in DEPT_NARRATIVE:
            pool = DEPT_NARRATIVE[dept] if f in ("QMS", "SERVICE") else MGMT_NARRATIVE[f]
        elif mgmt:
            pool = MGMT_NARRATIVE[f] + (GENERIC_MGMT if k == 0 else ())
        else:
            pool = NARRATIVE_BY_FIELD[f]
        fresh = [t for t in pool if t not in used]
        if not fresh and not out:
            fresh = list(NARRATIVE_BY_FIELD[f] if not mgmt else GENERIC_MGMT)
        n = rng.randint(3, 4) if k == 0 else rng.randint(1, 2)
        for tpl in rng.sample(fresh, min(n, len(fresh))):
            used.add(tpl)
            out.append(slots.fill(rng, tpl, dept))
    return "".join(out)


def audit_report(ctx: Ctx) -> Doc:
    rng, org, a = ctx.rng, ctx.org, ctx.audit
    stage1 = a.stage == "stage1"
    if stage1:
        title = rng.choice(["一阶段审核报告", "第一阶段审核报告", "初次认证一阶段审核报告"])
    elif a.fields == ["SERVICE"]:
        title = rng.choice(["售后服务认证审核报告", "服务认证现场审核报告"])
    elif len(a.fields) == 1:
        title = rng.choice([f"{FIELD_NAMES[a.fields[0]]}审核报告", "管理体系审核报告", "审核报告"])
    else:
        title = rng.choice(["管理体系审核报告", "审核报告", "管理体系结合审核报告"])
    doc = _begin(ctx, "audit_report", title)
    S, T = doc.story, doc.truth
    slots = _slots(ctx)
    pairs = _org_pairs(ctx, doc, credit=0.45, address=0.8)
    pairs += _cert_pairs(ctx, doc, a.certs_before) if a.certs_before else []
    pairs += _stage_pairs(ctx, doc, boxed=0.25)
    pairs += _period_pair(ctx, doc)
    T.add_fields(a.fields)
    pairs.append(("审核准则", "；".join(standard(f, a.start) for f in a.fields)))
    pairs += _scope_pair(ctx, doc, ("审核范围", "认证范围"))
    pairs += _codes_pair(ctx, doc, 0.9)
    pairs.append(("审核人日", f"{a.man_days}"))
    _info(ctx, doc, pairs)
    _team(ctx, doc, style=rng.choice(["table", "table", "table", "lines"]))
    n = iter(["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三"])
    S.heading(f"{next(n)}、审核目的")
    S.para("确认受审核方管理体系与审核准则的符合性，评价管理体系满足适用法律法规和合同要求的能力及"
           "实现预期结果的有效性" + ("，确定二阶段审核的准备情况。" if stage1 else "，识别可能的改进区域。"))
    S.heading(f"{next(n)}、组织概况")
    S.para(f"{org.short_name}成立于{org.founded.year}年，位于{org.address}，现有员工{org.staff}人，"
           f"主要产品/服务为{'、'.join(org.profile.products[:3])}。组织的主要过程为：{'→'.join(org.profile.steps)}。"
           f"{'外包过程主要为' + org.profile.steps[len(org.profile.steps) // 2] + '。' if rng.random() < 0.4 else ''}")
    S.heading(f"{next(n)}、审核实施概况")
    S.para(f"审核组按照审核计划于{fmt_date(a.start)}召开首次会议，"
           f"{'当日' if a.start == a.end else fmt_date(a.end)}下午召开末次会议。审核采用面谈、查阅文件和记录、"
           f"现场观察等方法，抽样覆盖了组织的{'主要部门和过程' if stage1 else '全部部门和认证范围内的产品/服务'}。"
           f"审核过程中受审核方积极配合，未发生影响审核实施的情况。")
    if not stage1:
        prev = [x for x in a.programme.audits if x.end < a.start]
        prev_ncrs = [f for f in prev[-1].findings if not f.observation] if prev else []
        if a.stage != "stage2" or rng.random() < 0.5:
            S.heading(f"{next(n)}、上次审核发现的验证")
            if prev_ncrs:
                S.para(f"上次审核开具不符合项{len(prev_ncrs)}项（涉及条款："
                       f"{'、'.join(f.clause for f in prev_ncrs)}），组织已分析原因并采取纠正措施，"
                       f"本次审核现场验证有效。")
            else:
                S.para("上次审核未开具不符合项；上次审核提出的关注事项，组织已予以改进。")
        if a.stage != "stage2":
            S.heading(f"{next(n)}、管理体系变更及证书标志使用")
            S.para(rng.choice(["自上次审核以来，组织的名称、地址、认证范围及管理体系未发生重大变化。",
                               f"自上次审核以来，组织新增{rng.choice(org.profile.equipment)}一台，"
                               "其他方面未发生重大变化。"]) +
                   rng.choice(["组织在宣传资料和网站上使用认证标志，符合认证机构的规定。",
                               "组织未在产品上使用认证标志，证书使用符合规定。"]))
    S.heading(f"{next(n)}、审核过程及发现")
    depts = ["管理层", rng.choice(["办公室", "行政部"])] + list(org.profile.depts)
    if stage1:
        depts = depts[:3]
    else:
        depts[2:2] = rng.sample(["采购部", "销售部"], rng.randint(1, 2))
    used: set[str] = set()
    for i, dept in enumerate(depts, 1):
        S.heading(f"{i}. {dept}", size=10.5)
        S.para(_narrative(ctx, slots, dept, used))
    S.heading(f"{next(n)}、{rng.choice(['关键控制点', '关键过程及控制点'])}")
    for k, kcp in enumerate(org.profile.kcps, 1):
        S.line(f"（{k}）{kcp}：{rng.choice(['控制有效', '有作业指导书和记录', '已识别并实施监控', '抽查记录完整'])}")
    S.heading(f"{next(n)}、适用的法律法规和标准")
    S.para("；".join(org.profile.laws) + "。", indent=False)
    if stage1:
        S.heading(f"{next(n)}、一阶段审核结论")
        s2 = next((x for x in a.programme.audits if x.stage == "stage2"), None)
        when = f"，二阶段审核拟于{s2.start.year}年{s2.start.month}月实施" if s2 else ""
        S.para(rng.choice([
            "组织的管理体系已按标准要求建立并运行三个月以上，完成了内部审核和管理评审，具备二阶段审核的条件"
            f"{when}。二阶段审核中需重点关注关键过程的控制及合规义务的履行情况。",
            f"经审核，组织基本具备实施二阶段审核的条件，审核组建议按计划实施二阶段审核{when}。"]))
    else:
        ncrs = [f for f in a.findings if not f.observation]
        n_obs = len(a.findings) - len(ncrs)
        S.heading(f"{next(n)}、{rng.choice(['不符合项汇总', '审核发现汇总'])}")
        if ncrs:
            multi = len(a.fields) > 1
            col_style = rng.randrange(2) if multi else 2
            if col_style == 0:
                rows = [["序号", "部门", "体系", "条款", "不符合事实描述", "性质"]]
                widths = [0.07, 0.13, 0.1, 0.1, 0.48, 0.12]
            else:
                rows = [["序号", "部门", "条款", "不符合事实描述", "性质"]]
                widths = [0.07, 0.14, 0.2 if col_style == 1 else 0.1, 0.47 if col_style == 1 else 0.57, 0.12]
            for i, f in enumerate(ncrs, 1):
                sev = "严重" if f.severity == "major" else rng.choice(["一般", "一般", "轻微"])
                if col_style == 0:
                    rows.append([str(i), f.dept, rng.choice([f.field, FIELD_LETTER_SHORT[f.field]])
                                 if f.field != "SERVICE" else "售后服务", f.clause, f.statement, sev])
                elif col_style == 1:
                    rows.append([str(i), f.dept, f"{standard(f.field, a.start).split('/ISO')[0]} {f.clause}",
                                 f.statement, sev])
                else:
                    rows.append([str(i), f.dept, f.clause, f.statement, sev])
                T.finding(f.clause, f.field, f.severity, f.statement)
            S.table(rows, widths, size=9)
            S.para(f"本次审核共开具不符合项{len(ncrs)}项，其中严重不符合"
                   f"{sum(1 for f in ncrs if f.severity == 'major')}项。"
                   + (f"另提出观察项{n_obs}项，详见观察项报告。" if n_obs else ""), indent=False)
        else:
            S.para("本次审核未发现不符合项。" + (f"提出观察项{n_obs}项，详见观察项报告。" if n_obs else ""),
                   indent=False)
        S.heading(f"{next(n)}、改进建议")
        for k, tpl in enumerate(rng.sample(IMPROVEMENTS, 2), 1):
            S.line(f"{k}. {slots.fill(rng, tpl)}")
        S.heading(f"{next(n)}、审核结论")
        verdict = {"stage2": "推荐注册", "recertification": "推荐再认证注册"}.get(a.stage, "推荐保持认证资格")
        S.para(f"审核组认为，受审核方的管理体系符合审核准则的要求，运行基本有效。"
               f"{'在不符合项得到有效纠正后，' if ncrs else ''}审核组{verdict}。")
    _sign(ctx, doc, [f"审核组长（签字）：{a.team[0][0].name}", f"报告日期：{some_date(rng, ctx.date)}"])
    return doc


# -- decision 认证决定 ----------------------------------------------------------------------------

def decision(ctx: Ctx) -> Doc:
    rng, a = ctx.rng, ctx.audit
    title = rng.choice(["认证决定书", "技术委员会评议表", "认证评定表", "认证决定审批表"])
    doc = _begin(ctx, "decision", title)
    S, T = doc.story, doc.truth
    pairs = _org_pairs(ctx, doc, credit=0.5, address=0.3)
    pairs += _fields_pair(ctx, doc)
    if a.stage == "stage2" and rng.random() < 0.4:
        pairs.append(("认证类型", boxes([("初次认证", True), ("监督", False), ("再认证", False)],
                                        rng.choice([0, 1]))))
    else:
        pairs += _stage_pairs(ctx, doc, boxed=0.3)
    if rng.random() < 0.7:
        pairs += _period_pair(ctx, doc)
    pairs += _codes_pair(ctx, doc, 0.9)
    pairs += _scope_pair(ctx, doc, ("认证范围", "注册范围"))
    leader = a.team[0][0]
    pairs.append(("审核组长", leader.name))
    T.auditor(leader.name, "leader", None)
    members = [p for p, r in a.team if r == "member"]
    if members and rng.random() < 0.6:
        pairs.append(("审核组成员", "、".join(p.name for p in members)))
        for p in members:
            T.auditor(p.name, "member", None)
    _info(ctx, doc, pairs)
    S.heading("评定意见")
    if a.certs_issued:
        S.para(rng.choice(["审核资料齐全，审核过程符合认证规则的要求，不符合项已得到有效纠正，同意注册，颁发认证证书。",
                           "经评定，同意推荐注册，批准颁发认证证书。"]))
        certs = a.certs_issued
    else:
        S.para("经评定，同意保持认证资格。")
        certs = a.certs_before
    p = _cert_pairs(ctx, doc, certs)
    S.line(f"{p[0][0]}：{p[0][1]}")
    staff = ctx.world.body_staff
    S.line(f"评定人员：{staff[0]}、{staff[5]}")
    S.line(f"认证决定人：{staff[1]}    决定日期：{some_date(rng, ctx.date)}")
    return doc


# -- certificate 证书 -------------------------------------------------------------------------------

def _certified(ctx: Ctx, doc: Doc, c: Certificate, credit: bool) -> None:
    """The statement as many certificates print it: `兹  证  明` centred, the organisation's name on
    a line of its own (now and then cut in two), its credit code labelled, in brackets or bare, its
    name in English, then `（所建立）的…体系符合…`; sometimes the English statement after."""
    rng, org, S, T = ctx.rng, ctx.org, doc.story, doc.truth
    S.line(rng.choice(["兹  证  明", "兹证明", "兹  证  明：", "兹证明："]), size=14, align="center")
    T.org(org.name)
    statement = rng.choice(["de", "built", "colon"]) if c.field != "SERVICE" else "de"
    lines = list(_wrap_at(rng, org.name)) if rng.random() < 0.2 else [org.name]
    if statement == "colon":
        lines[-1] += "："
    for line in lines:
        S.line(line, size=14, align="center")
    under = []
    if credit:
        T.org(org.name, org.credit_code)
        under.append(rng.choice([f"统一社会信用代码：{org.credit_code}", org.credit_code,
                                 f"（统一社会信用代码 {org.credit_code}）", f"（统一社会信用代码：{org.credit_code}）"]))
    english = english_name(org.name)
    if english and rng.random() < 0.6:
        under.insert(rng.randrange(len(under) + 1), english)
    for line in under:
        S.line(line, size=10.5, align="center")
    S.line(f"{rng.choice(['注册地址', '地址', '经营地址'])}：{org.address}", size=10.5, align="center")
    if c.field == "SERVICE":
        S.para(f"的售后服务符合 {standard(c.field, c.issued)} 的要求，服务等级：{c.grade}。", indent=False)
    else:
        lead = {"de": "的", "built": "建立的", "colon": "所建立的"}[statement]
        S.line(f"{lead}{FIELD_NAMES[c.field]}符合标准", size=12, align="center")
        S.line(standard(c.field, c.issued), size=12, align="center")
        if english and rng.random() < 0.5:
            S.line(f"This is to certify that the {FIELDS_EN[c.field]} of", size=10, align="center")
            S.line(english, size=10, align="center")
            std = standard(c.field, c.issued)
            S.line(f"conforms to {'ISO' + std.split('/ISO', 1)[1] if '/ISO' in std else std}", size=10, align="center")
    S.spacer(6)


def certificate(ctx: Ctx) -> Doc:
    rng, org = ctx.rng, ctx.org
    certs = ctx.certs
    first = certs[0]
    if first.field == "SERVICE":
        title = rng.choice(["售后服务认证证书", "服务认证证书"])
    else:
        title = rng.choice([f"{FIELD_NAMES[first.field]}认证证书", "管理体系认证证书", "认证证书"])
    layout = Layout(None, None, None, frame=True)
    doc = Doc(Story(conv=converter(ctx.trad), width=text_width_for(layout)), layout, DocTruth("certificate"))
    S, T = doc.story, doc.truth
    T.title = title
    T.issue_date, T.expiry_date = first.issued, first.expires
    T.scope = first.scope
    credit = rng.random() < 0.8
    codes_p = rng.random() < 0.15
    centred = rng.random() < 0.4          # `兹  证  明` and the name on lines of their own
    for i, c in enumerate(certs):
        if i:
            S.page_break()
        S.spacer(30)
        S.title(names.BODY_NAME, size=13, space=2)
        S.title(title, size=22, space=2)
        S.line("CERTIFICATE", size=12, align="center")
        S.spacer(12)
        label = rng.choice(CERT_LABELS)
        S.line(f"{label}：{printed_cert_no(rng, c.cert_no)}", align="center")
        T.cert(c.cert_no)
        T.add_fields([c.field])
        S.spacer(14)
        if centred:
            _certified(ctx, doc, c, credit)
        else:
            S.para(f"兹证明 {org.name}", size=12, indent=False)
            T.org(org.name)
            if credit:
                S.line(f"统一社会信用代码：{org.credit_code}")
                T.org(org.name, org.credit_code)
            S.line(f"{rng.choice(['注册地址', '地址', '经营地址'])}：{org.address}")
            if c.field == "SERVICE":
                S.para(f"的售后服务符合 {standard(c.field, c.issued)} 的要求，服务等级：{c.grade}。", indent=False)
            else:
                S.para(f"建立的{FIELD_NAMES[c.field]}符合标准：{standard(c.field, c.issued)}", indent=False)
        S.para(f"{rng.choice(['认证范围', '覆盖范围', '认证覆盖的范围'])}：{c.scope}", indent=False)
        if codes_p:
            codes, table = org.codes_on(c.issued)
            S.line(f"专业代码：{'、'.join(codes)}", size=9)
            T.add_codes(codes, table)
        S.spacer(14)
        if c.cycle > 1:
            S.line(f"初次发证日期：{fmt_date(c.first_issued)}")
        S.line(f"{rng.choice(['发证日期', '颁证日期', '本次发证日期'])}：{some_date(rng, c.issued)}")
        S.line(f"有效期至：{some_date(rng, c.expires)}")
        S.spacer(10)
        S.para("本证书有效期内须接受年度监督审核，证书的有效性以监督审核结果为准，可在国家认证认可监督管理委员会"
               "官方网站（www.cnca.gov.cn）查询。", size=9, indent=False)
        S.spacer(10)
        S.line(f"总经理：{ctx.world.body_staff[1]}", align="right")
        S.line(f"{names.BODY_NAME}（批准号：{names.BODY_APPROVAL}）", size=9, align="right")
        S.line(names.BODY_ADDRESS, size=9, align="right")
    return doc


# -- other 营业执照说明 / 保密承诺书 / 人日确认 --------------------------------------------------

def other(ctx: Ctx) -> Doc:
    rng, org = ctx.rng, ctx.org
    kind = ctx.variant or "licence"
    if kind == "licence":
        title = rng.choice(["营业执照复印件说明", "营业执照信息登记表", "企业资质证明（营业执照）"])
        doc = _begin(ctx, "other", title)
        T = doc.truth
        T.org(org.name, org.credit_code)
        founded = org.founded
        pairs = [("名称", org.name), ("统一社会信用代码", org.credit_code),
                 ("类型", "股份有限公司" if "股份" in org.name else "有限责任公司（自然人投资或控股）"),
                 ("法定代表人", org.legal_rep), ("注册资本", f"{rng.choice([500, 1000, 2000, 5000])}万元人民币"),
                 ("成立日期", fmt_date(founded)), ("住所", org.address), ("经营范围", org.profile.business)]
        _info(ctx, doc, pairs, style=rng.choice(["lines", "grid2"]))
        doc.story.para("以上信息与营业执照原件一致，复印件加盖公章后附后。", indent=False)
        _sign(ctx, doc, [f"{org.name}（盖章）", some_date(rng, ctx.date)])
        return doc
    if kind == "pledge":
        a = ctx.audit
        title = rng.choice(["保密承诺书", "公正性及保密承诺书", "审核人员保密承诺"])
        doc = _begin(ctx, "other", title)
        T = doc.truth
        person = rng.choice([p for p, r in a.team if r != "expert"])
        T.org(org.name)
        T.set_stage(a.stage)
        S = doc.story
        S.para(f"本人{person.name}（注册号：{person.reg_no}）作为审核人员参加对{org.name}的"
               f"{stage_text(rng, a.stage)}审核，郑重承诺：")
        T.auditor(person.name, None, person.reg_no)
        for i, t in enumerate(["对审核中获取的受审核方信息保密，未经许可不向第三方泄露；",
                               "与受审核方不存在任何利益关系，不提供咨询服务；",
                               "遵守认证机构的审核人员行为规范。"], 1):
            S.line(f"{i}. {t}")
        _sign(ctx, doc, [f"承诺人：{person.name}", f"日期：{some_date(rng, ctx.date)}"])
        return doc
    # man-day confirmation
    a = ctx.audit
    title = rng.choice(["审核人日确认单", "人日确认表", "审核时间确认书"])
    doc = _begin(ctx, "other", title)
    T = doc.truth
    pairs = _org_pairs(ctx, doc, ("组织名称", "受审核方"), credit=0.3)
    pairs += _fields_pair(ctx, doc)
    pairs.append(("有效人数", f"{org.staff}人"))
    pairs += _codes_pair(ctx, doc, 0.5)
    _info(ctx, doc, pairs)
    rows = [["审核类型", "审核人日", "备注"]]
    for au in ctx.prog.audits:
        if au.cycle == a.cycle:
            label = {"stage1": "一阶段", "stage2": "二阶段", "surveillance1": "第一次监督",
                     "surveillance2": "第二次监督", "recertification": "再认证"}[au.stage]
            rows.append([label, f"{au.man_days}", ""])
    doc.story.table(rows, [0.4, 0.3, 0.3])
    doc.story.para("组织确认以上审核人日安排，并保证审核期间各部门人员在岗。", indent=False)
    _sign(ctx, doc, [f"组织确认（签字）：{org.legal_rep}", f"日期：{some_date(rng, ctx.date)}"])
    return doc


TEMPLATES = {
    "application": application, "contract_review": contract_review, "audit_programme": audit_programme,
    "audit_notice": audit_notice, "audit_plan": audit_plan, "checklist": checklist,
    "attendance": attendance, "document_review": document_review, "ncr": ncr,
    "observation": observation, "audit_report": audit_report, "decision": decision,
    "certificate": certificate, "other": other,
}
