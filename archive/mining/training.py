"""Training packs (培训资料) for a specialty code or a certification field: what the archive knows,
put as a document trainers hand out and edit (DOCX), a workbook (XLSX) or Markdown for the web.

`build_pack(catalog, code=…)` or `build_pack(catalog, field=…)` gathers, from the cases of the code
(a prefix covers the codes below it) or the field:
- the subject: name, place in the code hierarchy, IAF sector, a description said from those (the
  reference tables have names only) and the scope wordings the archive's cases use;
- figures: organisations, cases, audits, documents, nonconformities, years covered;
- typical processes (主要过程为 A→B→C), products, outsourced processes, mined from audit reports;
- key control points (`summary.key_control_points`), audit points (`summary.audit_points`, with
  the clauses checklists checked them under) and audit methods;
- laws, regulations and standards cited (`citations`), counted by documents;
- frequent nonconformities by clause with example statements (`percode.cases_profile`);
- a few representative cases with their extractive summaries (`summary.case_summary`);
- the auditors experienced in it (left out when anonymised).
`export_pack` writes one format atomically; `anonymise=True` runs `anonymise.Anonymiser` over the
whole pack before it is rendered, so every format carries the same placeholders.

A field pack counts only what belongs to its field (`FieldShare`). A document of that field alone
is the field's entirely, a document of other fields only is left out; a document of several fields
(a joint audit: one plan, one report, one checklist for QMS+EMS+OHSMS) says only here and there
which field a thing belongs to, so a field pack takes from it only what can be attributed, and
leaves the rest out rather than guess:
- a key control point or audit point whose report section, line or checklist label names the
  field (职业健康安全管理体系, OHSMS, GB/T 45001, a checklist's `S 8.1.2`), else whose words are the
  field's (有限空间, 动火 → OHSMS; 废水, 噪声 → EMS; `_FIELD_WORDS`), else a checklist item whose
  clause title is only the field's standard's (环境因素 → EMS). A key control point saying none of
  this is a control of the product or service realisation (关键过程, 特殊过程: GB/T 19001 8.5), as
  reports use the words, and counts for QMS (for FSMS/HACCP, as 关键控制点/CCP, in a joint audit
  without QMS); other audit points saying none of it are left out;
- a law or regulation by `data/law_fields.csv`: which management systems a law belongs to, read
  from the words of its title (环境… → EMS, 安全生产/职业病/消防 → OHSMS, 产品质量/计量 → QMS …);
  a law the table does not place is left out;
- a standard by its number (management-system standards: GB/T 19001 → QMS, 45001/28001 → OHSMS …;
  HJ → EMS; GBZ, AQ → OHSMS), else by its title's words as for laws; a product or technical
  standard saying nothing of these (GB 50300《建筑工程施工质量验收统一标准》) states product
  requirements and counts for QMS.
A table and word lists are used rather than a model: they can be read and corrected by the people
who know which law belongs where, and a wrong guess in a training pack misleads auditors.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..catalog import Catalog
from ..clauses import clause_titles
from ..codes import DATA_DIR, PREFIX_FIELD
from ..models import FIELDS
from ..text import normalise
from . import records as rec
from .anonymise import Anonymiser
from .cases import Case, build_cases
from .percode import cases_in_code, cases_profile
from .scopes import _sector_names, clean_scope, lookup_code
from .summary import POINT_TYPES, audit_points, case_summary, key_control_points, report_lines

FORMATS = ("docx", "xlsx", "md")
CODE_SHAPE = re.compile(r"^\d{2}(\.\d{2}){0,2}$")
LEVEL_NAMES = {"major": "大类", "middle": "中类", "minor": "小类"}
# name, standards, CNCA reporting code: what a field pack says about its field.
FIELD_INFO: dict[str, tuple[str, str, str | None]] = {
    "QMS": ("质量管理体系", "GB/T 19001 / ISO 9001", "A0101"),
    "EMS": ("环境管理体系", "GB/T 24001 / ISO 14001", "A0201"),
    "OHSMS": ("职业健康安全管理体系", "GB/T 45001 / ISO 45001（旧版 GB/T 28001 / OHSAS 18001）", "A0301"),
    "FSMS": ("食品安全管理体系", "GB/T 22000 / ISO 22000", "A0401"),
    "HACCP": ("危害分析与关键控制点体系", "GB/T 27341", "A0403"),
    "ISMS": ("信息安全管理体系", "GB/T 22080 / ISO/IEC 27001", "A0501"),
    "ITSMS": ("信息技术服务管理体系", "ISO/IEC 20000-1", "A0601"),
    "EnMS": ("能源管理体系", "GB/T 23331 / ISO 50001", "A0901"),
    "IPMS": ("知识产权管理体系", "GB/T 29490", None),
    "MMS": ("测量管理体系", "GB/T 19022 / ISO 10012", None),
    "SERVICE": ("售后服务认证", "GB/T 27922（按得分评级：≥70 达标，≥80 三星，≥90 四星，≥95 五星）", None),
    "PRODUCT": ("产品认证", "产品标准及认证实施规则", None),
}
CASES_SHOWN = 3
SAID_ALIKE = 0.35       # the meaning similarity from which the pack calls a code of the other table 含义相近


class TrainingError(ValueError):
    """An unknown code or field, or a bad format: the caller says so to the user."""


def resolve_field(text: str) -> str:
    """QMS, qms or 质量管理体系 → QMS."""
    t = normalise(text or "").strip()
    for f in FIELDS:
        if t.upper() == f.upper() or t == FIELD_INFO[f][0]:
            return f
    raise TrainingError(f"未知认证领域 {text!r}（可用：{'、'.join(FIELDS)}）")


# -- mining the texts -------------------------------------------------------------------------

_FLOW = re.compile(r"主要(?:生产|服务|工艺)?(?:过程|流程)(?:为|是|包括)\s*[:：]?\s*([^。；;]+)")
_PRODUCTS = re.compile(r"主要产品(?:/服务|和服务|或服务)?(?:为|是|包括)\s*[:：]?\s*([^。；;]+)")
_OUTSOURCED = re.compile(r"外包过程(?:主要)?(?:为|是|包括)\s*[:：]?\s*([^。；;]+)")
_METHODS = re.compile(r"审核采用([^。；;]{4,60}?)等?方法")
_CHECK_LINE = re.compile(r"(?:^|\s)(\d{1,2}(?:\.\d{1,2}){0,3})\s+查([\u4e00-\u9fff（）()A-Za-z]{2,24}?)\s*的?实施\s*情况\s*(.*)")
_METHOD_WORDS = (("面谈询问", ("交谈", "交流", "询问", "面谈", "介绍")),
                 ("现场观察", ("现场查看", "现场观察", "现场检查", "查看")),
                 ("查阅文件和记录", ("记录", "资料", "文件", "台账", "报告", "抽查", "提供了")))
_TITLE = re.compile(r"《([^》]{2,40})》")
# A standard's number as records print it: GB/T 19001-2016, GB／T19001—2016, GB 50300 -2013,
# ISO/IEC 20000-1:2018, GB/T 2828.1-2012 (the text is NFKC-normalised and dashes unified first).
_STD_NO = re.compile(
    r"(?<![A-Za-z])(GB\s*/\s*[TZ]|GBZ|GB|ISO\s*/\s*IEC|ISO|IEC|OHSAS|HJ|YY\s*/\s*T|YY|JGJ|CJJ|RB\s*/\s*T|"
    r"AQ\s*/\s*T|AQ|SB\s*/\s*T|QB\s*/\s*T|JB\s*/\s*T|CCAA|CNAS-CC)"
    r"\s*(\d{1,6}(?:\.\d+)*)(?:-(\d{1,2})(?!\d))?(?:\s*[-:]\s*((?:19|20)\d{2})(?!\d))?")
_DASH = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\ufe63"})
_HAN_GAP = re.compile(r"(?<=[\u4e00-\u9fff《》（）、])\s+(?=[\u4e00-\u9fff《》（）、])")
_LAW_KINDS = (("法", "法律"), ("条例", "行政法规"), ("办法", "规章"), ("规定", "规章"), ("细则", "规章"),
              ("标准", "标准"), ("规范", "标准"), ("规则", "规则"), ("准则", "标准"))
_CITED = re.compile(r"《[^》]*》|" + _STD_NO.pattern)


def _std_kind(prefix: str) -> str:
    if prefix.startswith(("ISO", "IEC", "OHSAS")):
        return "国际标准"
    if prefix.startswith("GB"):
        return "国家标准"
    return "行业标准/规范"


def _citable(pages: list[str]) -> str:
    """A document's text as one string for finding citations: full-width forms and dashes
    unified, lines joined without a blank between Chinese characters (a title the layout wrapped,
    《中华人民共和国环\n境影响评价法》, is whole again), runs of blanks made one."""
    import unicodedata

    text = unicodedata.normalize("NFKC", "\n".join(pages)).translate(_DASH)
    text = re.sub(r"(?<=[\u4e00-\u9fff《（])[ \t]*\n\s*(?=[\u4e00-\u9fff》）])", "", text)
    return re.sub(r"\s+", " ", text)


def _before(text: str, start: int) -> str:
    """What a citation's own item says before it (职业健康安全法规：…), other citations left out."""
    since = max(max(text.rfind(c, 0, start) for c in "。；;") + 1, start - 40)
    return _CITED.sub(" ", text[since:start])


def citations(texts: dict[str, list[str]], keep: Callable[[dict[str, Any], str, str], bool] | None = None
              ) -> list[dict[str, Any]]:
    """Laws, regulations and standards cited: 《…法》《…条例》《…办法》 titles and standard numbers
    (GB/T, GB, ISO, HJ …, a title printed after a number kept with it), counted by documents.
    A standard is counted once however it is written (GB 50300-2013, GB50300 -2013, ＧＢ５０３００—
    ２０１３, with or without its title; an undated GB/T 19001 joins GB/T 19001-2016 when that is
    the only edition cited) and shown with the title most documents print; a law's title is
    read without the blanks a line wrap leaves between its characters. The organisations' own
    documents (《管理手册》, 《合格供方名录》) are left out. `keep(citation, context, doc_id)`, when
    given, says whether a citation counts (citation: kind, prefix, number, title; context: the
    words of its item before it)."""
    docs: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, str] = {}
    titles: dict[str, Counter[str]] = defaultdict(Counter)
    for doc_id, pages in texts.items():
        text = _citable(pages)
        numbered: set[int] = set()
        for m in _STD_NO.finditer(text):
            prefix = re.sub(r"\s+", "", m.group(1)).upper()
            number = m.group(2) + (f"-{m.group(3)}" if m.group(3) else "")
            if m.group(4):
                number += (":" if prefix.startswith(("ISO", "IEC", "OHSAS")) else "-") + m.group(4)
            key = f"{prefix} {number}"
            after = re.compile(r"\s{0,2}《([^》]{2,40})》").match(text, m.end())
            title = re.sub(r"\s+", " ", after.group(1)).strip() if after else None
            if after:
                numbered.add(after.start() + after.group(0).index("《"))
            cited = {"kind": "standard", "prefix": prefix, "number": number, "title": title}
            if keep is not None and not keep(cited, _before(text, m.start()), doc_id):
                continue
            docs[key].add(doc_id)
            kinds[key] = _std_kind(prefix)
            if title:
                titles[key][title] += 1
        for m in _TITLE.finditer(text):
            if m.start() in numbered:
                continue
            title = _HAN_GAP.sub("", m.group(1)).strip()     # a law's title has no blanks: 《…环 境影响评价法》
            kind = next((k for suffix, k in _LAW_KINDS if title.endswith(suffix)), None)
            if not kind:
                continue
            cited = {"kind": "law", "prefix": None, "number": None, "title": title}
            if keep is not None and not keep(cited, _before(text, m.start()), doc_id):
                continue
            docs[f"《{title}》"].add(doc_id)
            kinds[f"《{title}》"] = kind
    for key in [k for k in docs if not k.startswith("《") and not re.search(r"[-:](?:19|20)\d{2}$", k)]:
        dated = [k for k in docs if k.startswith(key) and re.fullmatch(r"[-:](?:19|20)\d{2}", k[len(key):])]
        if len(dated) == 1:                     # GB/T 19001 → GB/T 19001-2016, the edition cited
            docs[dated[0]] |= docs.pop(key)
            titles[dated[0]].update(titles.pop(key, Counter()))
    out = []
    for key, ids in docs.items():
        # the title most documents print; of equally frequent ones, the one with fewest blanks
        title = min(titles[key].items(), key=lambda kv: (-kv[1], kv[0].count(" "), kv[0]))[0] if titles.get(key) else None
        out.append({"name": key + (f"《{title}》" if title else ""), "kind": kinds[key], "documents": len(ids)})
    return sorted(out, key=lambda e: (-e["documents"], e["kind"], e["name"]))


def processes(texts: dict[str, list[str]], org_of: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Process flows, their steps, products and outsourced processes the audit reports state,
    counted by organisations (an organisation's reports repeat its flow every audit)."""
    flows: dict[str, set[str]] = defaultdict(set)
    steps: dict[str, set[str]] = defaultdict(set)
    products: dict[str, set[str]] = defaultdict(set)
    outsourced: dict[str, set[str]] = defaultdict(set)
    for doc_id, pages in texts.items():
        org = org_of.get(doc_id, doc_id)
        text = "".join(report_lines(pages))
        for m in _FLOW.finditer(text):
            flow = re.sub(r"\s*(?:→|->|－>|—>)\s*", "→", m.group(1).strip(" ，,"))
            flows[flow].add(org)
            for step in re.split(r"→|、", flow):
                if 2 <= len(step) <= 16:
                    steps[step.strip()].add(org)
        for pattern, into in ((_PRODUCTS, products), (_OUTSOURCED, outsourced)):
            for m in pattern.finditer(text):
                for item in re.split(r"[、，,]|以及|和", m.group(1)):
                    if 2 <= len(item.strip()) <= 20:
                        into[item.strip()].add(org)

    def ranked(d: dict[str, set[str]], key: str) -> list[dict[str, Any]]:
        return [{key: k, "organisations": len(v)} for k, v in sorted(d.items(), key=lambda kv: (-len(kv[1]), kv[0]))]

    return {"flows": ranked(flows, "flow")[:10], "steps": ranked(steps, "step")[:25],
            "products": ranked(products, "product")[:20], "outsourced": ranked(outsourced, "process")[:10]}


def audit_methods(texts: dict[str, list[str]], doc_types: dict[str, str]) -> dict[str, Any]:
    """How the records say the audits were done: the methods reports name (审核采用面谈、…等方法),
    how checklist entries were verified, and which clauses each audit point was checked under."""
    named: dict[str, set[str]] = defaultdict(set)
    verified: Counter[str] = Counter()
    clauses: dict[str, Counter[str]] = defaultdict(Counter)
    for doc_id, pages in texts.items():
        if doc_types.get(doc_id) == "audit_report":
            for m in _METHODS.finditer("".join(report_lines(pages))):
                for item in re.split(r"[、，,]|以及", m.group(1)):
                    if 2 <= len(item.strip()) <= 12:
                        named[item.strip()].add(doc_id)
        if doc_types.get(doc_id) == "checklist":
            for line in "\n".join(pages).split("\n"):
                m = _CHECK_LINE.search(line)
                if not m:
                    continue
                clauses[m.group(2)][m.group(1)] += 1
                record = m.group(3)
                verified[next((name for name, words in _METHOD_WORDS if any(w in record for w in words)),
                              "其他")] += 1
    return {"named": [{"method": k, "documents": len(v)} for k, v in sorted(named.items(), key=lambda kv: -len(kv[1]))],
            "verified": [{"method": k, "entries": n} for k, n in verified.most_common()],
            "clauses": {p: [c for c, _ in cs.most_common(4)] for p, cs in clauses.items()}}


# -- a field's share of joint audits (see the module docstring) --------------------------------

# Where a text names a field: its system's name or abbreviation, or a standard of it.
_FIELD_NAMED = {
    "QMS": r"质量管理体系|(?<![A-Za-z])QMS(?![A-Za-z])",
    "EMS": r"环境管理体系|(?<![A-Za-z])EMS(?![A-Za-z])",
    "OHSMS": r"职业健康安全|(?<![A-Za-z])OHSMS|OH&S|OHSAS",
    "FSMS": r"食品安全管理体系|(?<![A-Za-z])FSMS",
    "HACCP": r"HACCP|危害分析与关键控制点",
    "ISMS": r"信息安全管理体系|(?<![A-Za-z])ISMS",
    "ITSMS": r"信息技术服务管理|ITSMS",
    "EnMS": r"能源管理体系|(?<![A-Za-z])EnMS",
    "IPMS": r"知识产权管理体系|IPMS",
    "MMS": r"测量管理体系",
    "SERVICE": r"售后服务认证|售后服务管理体系|售后服务评价",
}
_FIELD_NAMED_RE = {f: re.compile(p) for f, p in _FIELD_NAMED.items()}
# Management-system standards by number ("*": auditing and certification, every field's).
_STANDARD_FIELDS = {
    "19001": {"QMS"}, "9001": {"QMS"}, "19004": {"QMS"}, "24001": {"EMS"}, "14001": {"EMS"}, "24004": {"EMS"},
    "14004": {"EMS"}, "45001": {"OHSMS"}, "28001": {"OHSMS"}, "18001": {"OHSMS"}, "28002": {"OHSMS"},
    "22000": {"FSMS"}, "27341": {"HACCP"}, "27001": {"ISMS"}, "22080": {"ISMS"}, "27002": {"ISMS"},
    "22081": {"ISMS"}, "20000": {"ITSMS"}, "23331": {"EnMS"}, "50001": {"EnMS"}, "29490": {"IPMS"},
    "10012": {"MMS"}, "19022": {"MMS"}, "27922": {"SERVICE"}, "19011": {"*"}, "19021": {"*"}, "17021": {"*"},
}
_PREFIX_FIELDS = {"OHSAS": {"OHSMS"}, "HJ": {"EMS"}, "GBZ": {"OHSMS"}, "AQ": {"OHSMS"}, "AQ/T": {"OHSMS"},
                  "CCAA": {"*"}, "CNAS-CC": {"*"}}
_NAMED_STANDARD = re.compile(r"(?:GB/T|GB|ISO/IEC|ISO|OHSAS)\s*(\d{4,5})")
# A checklist entry's field label before its clause: Q 8.5.1, E6.1.2, S:8.1.2.
_LABEL = re.compile(r"(?<![A-Za-z])(Q|E|S|OH|F|H|I|IS|EN|SV|FW)\s*[:：]?\s*(?:A\.)?\d{1,2}(?:\.\d{1,2}){0,3}\s*$")
# The words of a field's matters, most specific first; each match is used up, so 食品安全 and
# 信息安全 are not OHSMS's 安全.
_FIELD_WORDS: tuple[tuple[re.Pattern, frozenset[str]], ...] = tuple((re.compile(p), frozenset(f)) for p, f in (
    (r"食品安全|CCP|HACCP|杀菌|灭菌|金属探测|金属检测|异物|过敏原|微生物|致病菌|农药残留|农残|添加剂", ("FSMS", "HACCP")),
    (r"信息安全|网络安全|数据安全|备份|访问控制|口令|密码|漏洞|恶意|病毒|保密|权限|机房", ("ISMS",)),
    (r"能源|能耗|节能|用能|耗能|能效", ("EnMS",)),
    (r"化学品|泄漏", ("EMS", "OHSMS")),
    (r"环境|排放|(?<!报)废(?!品)|噪声|扬尘|污染|合规义务", ("EMS",)),
    ((r"安全(?!性)|危险|职业|消防|防护|劳保|劳动保护|特种设备|特种作业|应急|事故|伤害|有限空间|动火|高处|用电|"
      r"隐患|触电|起重|中毒|防尘|防毒|健康"), ("OHSMS",)),
    (r"售后|回访", ("SERVICE",)),
    (r"质量|检验|验收|合格|顾客|客户|首件|尺寸|工艺|产品|交付|检测", ("QMS",)),
))


def fields_named(text: str) -> set[str]:
    """The fields a text names: a checklist label at its end (the entry's own), else the systems,
    abbreviations and standards it names."""
    if (m := _LABEL.search(text)):
        return {PREFIX_FIELD[m.group(1).upper()]}
    found = {f for f, rx in _FIELD_NAMED_RE.items() if rx.search(text)}
    for m in _NAMED_STANDARD.finditer(text):
        found |= _STANDARD_FIELDS.get(m.group(1), set()) - {"*"}
    return found


def fields_of_words(text: str) -> set[str]:
    """The fields whose matters a point's words are (有限空间作业 → OHSMS, 废水排放 → EMS)."""
    found: set[str] = set()
    for rx, fields in _FIELD_WORDS:
        if rx.search(text):
            found |= fields
            text = rx.sub(" ", text)
    return found


@lru_cache(maxsize=1)
def _law_table() -> tuple[tuple[str, frozenset[str]], ...]:
    """(title words, fields) from data/law_fields.csv, longest words first."""
    import csv

    with (DATA_DIR / "law_fields.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [(r["words"].strip(), frozenset(r["fields"].split())) for r in csv.DictReader(fh) if r["words"].strip()]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


def law_fields(title: str) -> set[str]:
    """The management systems a law, regulation or standard's title belongs to (`law_fields.csv`);
    each match is used up (《中华人民共和国食品安全法》 is FSMS's, not OHSMS's 安全)."""
    found: set[str] = set()
    for words, fields in _law_table():
        if words in title:
            found |= fields
            title = title.replace(words, " ")
    return found


@lru_cache(maxsize=1)
def _clause_fields() -> dict[str, set[str]]:
    """Clause title → the fields whose standards have it (环境因素 → EMS; 内部审核 → all three)."""
    out: dict[str, set[str]] = defaultdict(set)
    for (system, _), title in clause_titles().items():
        out[title].add(system)
    return out


class FieldShare:
    """What of a field pack's documents belongs to the field (see the module docstring).
    `doc_fields`: each document's fields (a document that records none: its case's)."""

    def __init__(self, field: str, doc_fields: dict[str, set[str]]):
        self.field = field
        self.doc_fields = doc_fields

    def _joint(self, doc_id: str) -> set[str] | None:
        """None when the whole document is the field's; the fields of a joint document; an empty
        set when the document is only other fields'."""
        fields = self.doc_fields.get(doc_id) or set()
        if self.field not in fields:
            return set() if fields else None
        return fields if len(fields) > 1 else None

    def _decide(self, joint: set[str], *candidates: set[str]) -> bool:
        """The first of the candidate attributions that names one of the joint document's fields."""
        for found in candidates:
            found = joint if "*" in found else found & joint
            if found:
                return self.field in found
        return False

    def keep_control_point(self, point: str, context: str, doc_id: str) -> bool:
        joint = self._joint(doc_id)
        if joint is None or not joint:
            return joint is None
        realisation = {"QMS"} if "QMS" in joint else {"FSMS", "HACCP"}
        return self._decide(joint, fields_named(context), fields_of_words(point), realisation)

    def keep_audit_point(self, point: str, context: str, doc_id: str) -> bool:
        joint = self._joint(doc_id)
        if joint is None or not joint:
            return joint is None
        return self._decide(joint, fields_named(context), fields_of_words(point), _clause_fields().get(point, set()))

    def keep_citation(self, cited: dict[str, Any], context: str, doc_id: str) -> bool:
        joint = self._joint(doc_id)
        if joint is None or not joint:
            return joint is None
        title = cited["title"] or ""
        if cited["kind"] == "law":
            return self._decide(joint, law_fields(title), fields_named(context))
        base = re.match(r"\d+", cited["number"] or "")
        by_number = _STANDARD_FIELDS.get(base.group(0), set()) if base else set()
        if by_number or cited["prefix"] in _PREFIX_FIELDS:      # a system's standard: that system's only
            return self._decide(joint, by_number or _PREFIX_FIELDS[cited["prefix"]])
        # a product or technical standard: by its title, else what its item says, else product requirements
        return self._decide(joint, law_fields(title), fields_named(context), {"QMS"})


def document_fields(catalog: Catalog, found: list[Case]) -> dict[str, set[str]]:
    """Each document of the cases → the fields it records (its case's when it records none)."""
    case_of = {d["id"]: set(c.fields) for c in found for a in c.audits for d in a.documents}
    out = dict(case_of)
    ids = list(case_of)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for doc_id, fields in catalog.db.execute(
                f"select id, fields from documents where id in ({','.join('?' * len(chunk))})", chunk):
            recorded = set(json.loads(fields or "[]"))
            if recorded:
                out[doc_id] = recorded
    return out


# -- the subject --------------------------------------------------------------------------------

def code_subject(code: str, version: str, found: list[Case]) -> dict[str, Any]:
    """Name, hierarchy, IAF sector and a description said from them (the tables have names only)."""
    info = lookup_code(code, version)
    if info is None:
        raise TrainingError(f"{version} 版代码表中没有专业代码 {code}")
    sector = _sector_names().get(code[:2], {})
    nace = _nace().get(code[:2])
    chain = info["parents"] + [{"code": code, "name": info["name"], "level": info["level"]}]
    table_name = "2020 版业务范围分类" if version == "2020" else "旧版（CNAS）专业代码表"
    level = LEVEL_NAMES.get(info["level"], info["level"])
    desc = [f"{code}「{info['name'] or '—'}」是{table_name}中的{level}"
            + ("，属于" + "、".join(f"{LEVEL_NAMES.get(p['level'], '')} {p['code']}「{p['name'] or '—'}」"
                                   for p in reversed(info["parents"])) if info["parents"] else "") + "。"]
    if sector:
        desc.append(f"所属 IAF/EA 第 {code[:2]} 类：{sector['zh']}（{sector['en']}）"
                    + (f"，对应 NACE Rev.2 {nace}" if nace else "") + "。")
    if info["children"]:
        names = "、".join(f"{c['code']} {c['name'] or ''}".strip() for c in info["children"][:12])
        desc.append(f"下设 {len(info['children'])} 个{LEVEL_NAMES.get(info['children'][0]['level'], '下级代码')}：{names}"
                    + ("等" if len(info["children"]) > 12 else "") + "。")
    desc.append(counterpart_sentence(code, info))
    scopes = Counter(s for c in found if (s := clean_scope(c.scope)))
    if scopes:
        desc.append("档案中此代码的认证范围表述如：" + "；".join(s for s, _ in scopes.most_common(5)) + "。")
    return {"name": info["name"], "level": info["level"], "level_name": level, "table": version,
            "hierarchy": [{"code": p["code"], "name": p["name"], "level": LEVEL_NAMES.get(p["level"], p["level"])}
                          for p in chain],
            "children": [{"code": c["code"], "name": c["name"]} for c in info["children"]],
            "iaf": {"sector": code[:2], **sector, "nace": nace} if sector else None,
            "description": desc,
            "scopes": [{"scope": s, "cases": n} for s, n in scopes.most_common(10)]}


def counterpart_sentence(code: str, info: dict[str, Any]) -> str:
    """What the other table has for a code: the same number (and whether it means the same), or
    that it has no such code (the legacy table lists no middle classes: then the codes it has
    under that number), and the codes there that mean much the same (`scopes.counterparts`, from
    `SAID_ALIKE`)."""
    cp = info["counterpart"]
    other = "旧版" if cp["table"] == "legacy" else "2020 版"
    same = cp["same_number"]
    if same:
        out = (f"{other}代码表中同号 {same['code']}「{same['name']}」"
               + ("含义相同" if same["same_meaning"] else "含义不同，按文件日期区分版本"))
    else:
        out = f"{other}代码表中没有 {code}"
        under = cp.get("under_same_number") or []
        if under:
            listed = "、".join(f"{u['code']}「{u['name']}」" for u in under[:6]) + ("等" if len(under) > 6 else "")
            alike = [u["code"] for u in under if u["same_meaning"]]
            out += (f"（{other}代码表不列中类名称；同号之下为 {listed}，"
                    + (f"其中 {'、'.join(alike)} 与此含义相近）" if alike else "与此含义不同）"))
    said = {same["code"]} if same and same["same_meaning"] else set()
    alike = [e for e in cp["equivalents"] if e["code"] not in said and e["score"] >= SAID_ALIKE]
    if alike:
        out += (f"；{other}中含义相近的代码：" if said else f"。{other}中含义相近的代码：") + \
            "、".join(f"{e['code']}「{e['name']}」" for e in alike)
    return out + "。"


def _nace() -> dict[str, str]:
    import csv

    from ..codes import DATA_DIR

    with (DATA_DIR / "iaf_39_sectors.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {r["code"]: r.get("nace_rev2", "") for r in csv.DictReader(fh)}


def field_subject(field: str, found: list[Case]) -> dict[str, Any]:
    name, standards, cnca = FIELD_INFO[field]
    codes = Counter(k for c in found for k in c.codes)
    desc = [f"{name}（{field}）认证依据 {standards}" + (f"，CNCA 上报代码 {cnca}" if cnca else "") + "。"]
    desc.append(f"档案中此领域的项目涉及 {len(codes)} 个专业代码" + (
        "，最多的是 " + "、".join(f"{k}（{n} 个项目）" for k, n in codes.most_common(5)) if codes else "") + "。")
    scopes = Counter(s for c in found if (s := clean_scope(c.scope)))
    return {"name": name, "level": None, "level_name": "认证领域", "table": None, "hierarchy": [],
            "children": [], "iaf": None, "description": desc, "standards": standards, "cnca_code": cnca,
            "codes": [{"code": k, "name": (lookup_code(k) or {}).get("name"), "cases": n} for k, n in codes.most_common(30)],
            "scopes": [{"scope": s, "cases": n} for s, n in scopes.most_common(10)]}


# -- the pack -----------------------------------------------------------------------------------

def cases_in_field(catalog: Catalog, field: str) -> list[Case]:
    """Every case certifying `field` (alone or with others), oldest first."""
    org_ids = [r[0] for r in catalog.db.execute(
        "select distinct d.org_id from documents d, json_each(d.fields) f "
        "where d.org_id is not null and f.value = ?", [field])]
    found = [c for c in (build_cases(catalog, org_ids) if org_ids else []) if field in c.fields]
    return sorted(found, key=lambda c: (c.start or "", c.id))


def _representative(found: list[Case], n: int) -> list[Case]:
    """One case per organisation, those with the most audits and findings first."""
    best: dict[str, Case] = {}
    score = lambda c: (len(c.audits), sum(len(a.findings) for a in c.audits), c.start or "")   # noqa: E731
    for c in found:
        if c.org["id"] not in best or score(c) > score(best[c.org["id"]]):
            best[c.org["id"]] = c
    return sorted(best.values(), key=score, reverse=True)[:n]


def build_pack(catalog: Catalog, code: str | None = None, field: str | None = None, version: str = "2020",
               anonymise: bool = False, cases: int = CASES_SHOWN, today: date | None = None) -> dict[str, Any]:
    """The training pack of a code or a field, as data (every format renders this)."""
    if bool(code) == bool(field):
        raise TrainingError("请指定 --code 或 --field 之一")
    if code:
        code = normalise(code).strip().replace("．", ".")
        if not CODE_SHAPE.match(code):
            raise TrainingError(f"{code!r} 不是专业代码（格式 17、17.10 或 17.10.02）")
        if lookup_code(code, version) is None:
            raise TrainingError(f"{version} 版代码表中没有专业代码 {code}")
        found = cases_in_code(catalog, code, version)
        subject = code_subject(code, version, found)
        title = f"专业代码 {code} {subject['name'] or ''} 培训资料".replace("  ", " ")
    else:
        field = resolve_field(field or "")
        found = cases_in_field(catalog, field)
        subject = field_subject(field, found)
        title = f"{subject['name']}（{field}）培训资料"
    profile = cases_profile(catalog, found, clauses=15, examples=3, field=field)
    doc_types = {d["id"]: d["doc_type"] for c in found for a in c.audits for d in a.documents}
    org_of = {d["id"]: c.org["id"] for c in found for a in c.audits for d in a.documents}
    texts = rec.page_texts(catalog, [i for i, t in doc_types.items() if t in POINT_TYPES + ("ncr",)])
    reports = {i: p for i, p in texts.items() if doc_types[i] == "audit_report"}
    methods = audit_methods(texts, doc_types)
    share = FieldShare(field, document_fields(catalog, found)) if field else None
    if share:          # the field's own key control points, not those of the joint audits' other fields
        kcps = [{"point": p.point, "reports": len(p.doc_ids), "notes": p.notes[:3]}
                for p in key_control_points(reports, share.keep_control_point)][:15]
    else:
        kcps = profile["key_control_points"]
    ncs = [f for c in found for a in c.audits for f in a.findings
           if f["kind"] == "nonconformity" and (not field or f["field"] == field)]
    years = Counter(a["start"][:4] for a in profile["audits"] if a["start"])
    chosen = _representative(found, cases)
    pack: dict[str, Any] = {
        "kind": "code" if code else "field", "key": code or field, "title": title,
        "generated": (today or date.today()).isoformat(), "anonymised": anonymise, "subject": subject,
        "figures": {"organisations": len(profile["organisations"]), "cases": len(found),
                    "audits": len(profile["audits"]), "documents": len(doc_types),
                    "nonconformities": len(ncs), "major": sum(f["severity"] == "major" for f in ncs),
                    "auditors": len(profile["auditors"]),
                    "first_year": min(years) if years else None, "last_year": max(years) if years else None,
                    "by_year": [{"year": y, "audits": n} for y, n in sorted(years.items())]},
        "processes": processes(reports, org_of),
        "key_control_points": kcps,
        "audit_points": [{"point": p.point, "documents": len(p.doc_ids), "clauses": methods["clauses"].get(p.point, [])}
                         for p in audit_points(texts, share.keep_audit_point if share else None)][:25],
        "audit_methods": {"named": methods["named"], "verified": methods["verified"]},
        "laws": citations(texts, share.keep_citation if share else None)[:40],
        "nonconformities": profile["nonconformities"],
        "cases": [_case_brief(catalog, c, field, share, reports) for c in chosen],
        "auditors": None if anonymise else [
            {"name": a["name"], "reg_no": a["reg_no"], "audits": a["audits"], "leader": a["roles"].get("leader", 0),
             "organisations": a["organisations"], "last": a["last"]} for a in profile["auditors"]],
    }
    if anonymise:
        pack = anonymise_pack(catalog, pack, found)
    return pack


def _case_brief(catalog: Catalog, case: Case, field: str | None, share: FieldShare | None = None,
                reports: dict[str, list[str]] | None = None) -> dict[str, Any]:
    s = case_summary(catalog, case, n=4)
    points = [p["point"] for p in s["key_control_points"]]
    if share:
        own = {d["id"] for a in case.audits for d in a.documents}
        points = [p.point for p in key_control_points({i: t for i, t in (reports or {}).items() if i in own},
                                                      share.keep_control_point)]
    return {"org": case.org["name"], "credit_code": case.org["credit_code"], "fields": case.fields,
            "cycle": case.cycle, "start": case.start, "end": case.end, "scope": case.scope, "codes": case.codes,
            "cert_nos": case.cert_nos,
            "audits": [{"stage": a.stage_name or a.stage, "start": a.start,
                        "nonconformities": sum(f["kind"] == "nonconformity" and (not field or f["field"] == field)
                                               for f in a.findings)} for a in case.audits],
            "summary": [x["sentence"] for x in s["summary"]],
            "key_control_points": points[:8]}


def anonymise_pack(catalog: Catalog, pack: dict[str, Any], found: list[Case]) -> dict[str, Any]:
    """The pack with the organisations, codes, certificates, addresses and people of its cases
    (and whatever else the patterns find) replaced; the originals are taken from the catalogue
    first so that every form of one organisation gets one placeholder."""
    anon = Anonymiser()
    org_ids = sorted({c.org["id"] for c in found})
    for oid, name, credit, names in catalog.db.execute(
            f"select id, name, credit_code, names from organisations where id in ({','.join('?' * len(org_ids))})",
            org_ids) if org_ids else []:
        anon.add_org(oid, [n for n in [name, *json.loads(names or "[]")] if n])
        anon.add(credit, "credit")
    for c in found:
        for n in c.cert_nos:
            anon.add(n, "cert")
        for a in c.audits:
            for m in a.team:
                anon.add(m["name"], "auditor")
                anon.add(m["reg_no"], "reg")
    for name in _labelled_people(catalog, [d["id"] for c in found for a in c.audits for d in a.documents]):
        anon.add(name, "person")
    return anon.anonymise(pack)


_LABELLED = re.compile(r"(?:法定代表人|联系人|受审核方代表|受审核方确认|陪同人员|管理者代表|最高管理者|"
                       r"组织确认|负责人)\s*(?:[（(][^）)]{0,6}[）)])?\s*[:：]?\s*([\u4e00-\u9fff]{2,3})(?![\u4e00-\u9fff])")


def _labelled_people(catalog: Catalog, doc_ids: list[str]) -> list[str]:
    """People the cases' forms name under a label (法定代表人, 联系人, 陪同人员 …): they may be
    named without any label in the statements and sentences of the pack."""
    from .anonymise import SURNAMES

    names: set[str] = set()
    for pages in rec.page_texts(catalog, doc_ids).values():
        for m in _LABELLED.finditer("\n".join(pages)):
            if m.group(1)[0] in SURNAMES:
                names.add(m.group(1))
    return sorted(names)


# -- writing ------------------------------------------------------------------------------------

def render(pack: dict[str, Any], fmt: str) -> bytes:
    """The pack in one format (docx, xlsx or md) as bytes."""
    from . import exporters

    if fmt not in FORMATS:
        raise TrainingError(f"格式 {fmt!r} 不支持（docx、xlsx 或 md）")
    return {"docx": exporters.to_docx, "xlsx": exporters.to_xlsx,
            "md": lambda p: exporters.to_markdown(p).encode("utf-8")}[fmt](pack)


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target and rename: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)       # mkstemp's 0600 is for secrets; a pack is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_pack(catalog: Catalog, out: Path, code: str | None = None, field: str | None = None,
                fmt: str | None = None, anonymise: bool = False, version: str = "2020") -> dict[str, Any]:
    """Build, render and write a pack; the format defaults to the file's suffix (else docx)."""
    fmt = fmt or (Path(out).suffix.lstrip(".").lower() if Path(out).suffix.lstrip(".").lower() in FORMATS else "docx")
    if fmt not in FORMATS:
        raise TrainingError(f"格式 {fmt!r} 不支持（docx、xlsx 或 md）")
    pack = build_pack(catalog, code=code, field=field, version=version, anonymise=anonymise)
    data = render(pack, fmt)
    write_atomic(Path(out), data)
    return {"path": str(out), "format": fmt, "bytes": len(data), "title": pack["title"],
            "figures": pack["figures"], "anonymised": anonymise}


def file_name(key: str, fmt: str, anonymise: bool) -> str:
    """A download name: 培训资料-17.10.02-脱敏.docx."""
    return f"培训资料-{key}{'-脱敏' if anonymise else ''}.{fmt}"
