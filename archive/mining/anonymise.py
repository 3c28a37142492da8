"""Anonymising a training pack (客户保密): organisations, credit codes, certificate numbers,
addresses and people become placeholders, the same original always the same placeholder
(宁波华盈服饰有限公司 and its short form 华盈公司 → 组织A; 孟子轩 → 审核员甲).

Two passes over every string of the pack, so that a name learnt in one section is replaced in
all of them: `learn` collects originals (the catalogue's names, codes and certificate numbers
given by the caller, and what patterns find in the text: credit codes, certificate-number shapes,
company names ending in 有限公司, addresses ending in 号, people named after a role word such as
员工, 最高管理者, 陪同人员, 与…交谈), then `apply` replaces them all with one regular expression,
longest first, so a placeholder is never itself rewritten.
What it may miss: a person named without any role word or label around them, a company named
without a legal-form suffix, an address without a house number.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

PEOPLE_ORDER = "甲乙丙丁戊己庚辛壬癸"
# The hundred-odd commonest surnames: a person found by context must start with one of them.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝傅")
_NAME = r"[\u4e00-\u9fff]{2,3}?"
# What follows a person's name in audit prose: punctuation or a word that starts the next clause.
_AFTER_NAME = (r"(?=[，,。；;、：:（()）\s\"“”]|$|等|的|交谈|交流|审核|介绍|主持|未|不|其|在|已|持|"
               r"签|负责|参加|提供|说明|能|对|于|陪同|确认|同志|先生|女士)")
_ROLE = (r"(?:员工|职工|人员|成员|内审员|审核员|组长|组员|专家|最高管理者|管理者代表|法定代表人|"
         r"代表|负责人|联系人|经理|总经理|厂长|主任|主管|班长|科长|部长|站长|店长|总监|确认|签字|"
         r"签名|抽查|询问|与|由|据|经)")
_PERSON_IN_CONTEXT = re.compile(rf"{_ROLE}\s*(?:[（(][^）)]{{0,6}}[）)])?\s*[:：]?\s*({_NAME}){_AFTER_NAME}")
_PERSON_LIST = re.compile(rf"(?:审核组长|审核组成员|组长|组员|陪同人员|受审核方代表|受审核方确认)\s*[:：]?\s*"
                          rf"((?:{_NAME}(?:[、,，]\s*)?){{1,6}})")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{9}[0-9A-HJ-NPQRTUWXY](?![0-9A-Z])")
_CERT_NO = re.compile(r"(?<![0-9A-Za-z])(?:\d{3,5}[-\s]?\d{2}[-\s]?[A-Za-z]{1,2}\d?[-\s]?\d{3,6}[-\s]?R\d{1,2}"
                      r"(?:[-\s]?[SMLsml])?|\d{3,5}OP\d{2}\d{3,6})(?![0-9A-Za-z])", re.I)
_CERT_LABEL = re.compile(r"(?:证书编号|证书号|注册号|证书注册号)\s*[:：]\s*([0-9A-Za-z][0-9A-Za-z\-/]{6,30})")
_REG_NO = re.compile(r"(?<![0-9A-Za-z])(?:\d{4}-(?:N?\d-)?[A-Z]{2,5}-\d{6,8}|[A-Z]{2,5}-\d{4}-\d{6,8})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?!\d)")
_COMPANY = re.compile(r"[\u4e00-\u9fff（）()]{2,30}?(?:股份有限公司|有限责任公司|有限公司|集团公司|研究院|研究所)")
# Words a company-name match may have swallowed before the name itself.
_LEADING = re.compile(r"^.*(?:抽查|查阅|查|委托|外部供方|供方|对|由|与|向|的|为|从|在|经|据|如|包括|将|了|同)")
_PROVINCES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
              "广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门")
_ADDRESS = re.compile(
    rf"(?:(?:{_PROVINCES})(?:省|市|自治区|特别行政区)?)?(?:[\u4e00-\u9fff]{{2,4}}?市)?"
    rf"(?:[\u4e00-\u9fff]{{1,5}}?(?:区|县|镇|乡|开发区|园区))?[\u4e00-\u9fff\d]{{1,10}}?"
    rf"(?:路|街|大道|公路|大街|巷|弄|道)\s*\d+\s*号(?:\s*\d+\s*(?:幢|栋|号楼|楼|层|室|单元))*")
_ADDRESS_LEAD = re.compile(r"^(?:位于|坐落于|地处|地址为?|住所|于|在|设在|位於)")
_LEGAL_FORMS = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团有限公司|集团公司|公司)$")


def org_forms(name: str) -> list[str]:
    """The forms an organisation's name takes in prose: full, without the bracketed city, and the
    short forms reports use (宁波华盈服饰有限公司 → 华盈服饰, 华盈公司)."""
    forms = {name}
    plain = re.sub(r"[（(][^）)]*[）)]", "", name)
    forms.add(plain)
    core = _LEGAL_FORMS.sub("", plain)
    for start in (0, 2, 3):
        rest = core[start:]
        if len(rest) >= 2:
            forms |= {rest[:2] + "公司", rest[:4]} if len(rest) >= 4 else {rest[:2] + "公司"}
            if start and len(rest) >= 4:
                forms.add(rest)
    for prov in _PROVINCES.split("|"):
        if core.startswith(prov) and len(core) - len(prov) >= 2:
            rest = core[len(prov):]
            forms |= {rest, rest[:2] + "公司", rest[:4]}
    return sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)


def _letters(n: int) -> str:
    """0 → A, 25 → Z, 26 → AA (placeholders never run out)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class Anonymiser:
    """Originals → placeholders, consistent across everything it is applied to."""

    KINDS = {"org": "组织{}", "other_org": "单位{}", "credit": "信用代码{:02d}", "cert": "证书编号{:02d}",
             "address": "地址{:02d}", "auditor": "审核员{}", "person": "人员{}", "reg": "注册号{:02d}",
             "phone": "电话{:02d}"}

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}
        self._groups: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._regex: re.Pattern[str] | None = None

    def _placeholder(self, kind: str) -> str:
        n = self._counts.get(kind, 0)
        self._counts[kind] = n + 1
        if kind in ("org", "other_org"):
            return self.KINDS[kind].format(_letters(n))
        if kind in ("auditor", "person"):
            stem, round_ = PEOPLE_ORDER[n % 10], n // 10       # 甲 … 癸, then 甲2 … 癸2, …
            return self.KINDS[kind].format(stem + (str(round_ + 1) if round_ else ""))
        return self.KINDS[kind].format(n + 1)

    def add(self, original: str | None, kind: str, group: str | None = None) -> str | None:
        """Register an original (all originals of one `group` share a placeholder)."""
        original = (original or "").strip()
        if len(original) < 2 or original in self.mapping:
            return self.mapping.get(original)
        key = (kind, group or original)
        if key not in self._groups:
            self._groups[key] = self._placeholder(kind)
        self.mapping[original] = self._groups[key]
        self._regex = None
        return self.mapping[original]

    def add_org(self, org_id: str, names: Iterable[str]) -> None:
        for name in names:
            for form in org_forms(name):
                self.add(form, "org", org_id)

    def learn(self, text: str) -> None:
        """Find originals in free text by their shape and context."""
        if not text:
            return
        for m in _CREDIT_CODE.finditer(text):
            self.add(m.group(0), "credit")
        for m in _CERT_NO.finditer(text):
            self.add(m.group(0), "cert")
        for m in _CERT_LABEL.finditer(text):
            self.add(m.group(1), "cert")
        for m in _REG_NO.finditer(text):
            self.add(m.group(0), "reg")
        for m in _PHONE.finditer(text):
            self.add(m.group(0), "phone")
        for m in _COMPANY.finditer(text):
            name = _LEADING.sub("", m.group(0))
            if len(name) >= 6 and name not in self.mapping:
                self.add(name, "other_org")
        for m in _ADDRESS.finditer(text):
            addr = _ADDRESS_LEAD.sub("", m.group(0))
            if len(addr) >= 5:
                self.add(addr, "address")
        for m in _PERSON_IN_CONTEXT.finditer(text):
            self._person(m.group(1))
        for m in _PERSON_LIST.finditer(text):
            for name in re.split(r"[、,，\s]+", m.group(1)):
                self._person(name)

    def _person(self, name: str) -> None:
        if 2 <= len(name) <= 3 and name[0] in SURNAMES and name not in self.mapping:
            self.add(name, "person")

    def apply(self, text: str) -> str:
        """The text with every registered original replaced."""
        if not text or not self.mapping:
            return text
        if self._regex is None:
            self._regex = re.compile("|".join(re.escape(k) for k in sorted(self.mapping, key=len, reverse=True)))
        return self._regex.sub(lambda m: self.mapping[m.group(0)], text)

    def walk(self, value: Any, fn) -> Any:
        """`fn` applied to every string inside nested dicts and lists (keys stay)."""
        if isinstance(value, str):
            return fn(value)
        if isinstance(value, dict):
            return {k: self.walk(v, fn) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.walk(v, fn) for v in value]
        return value

    def anonymise(self, pack: dict[str, Any]) -> dict[str, Any]:
        """Learn from every string of the pack first, then replace in all of them."""
        self.walk(pack, lambda s: self.learn(s) or s)
        return self.walk(pack, self.apply)
