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
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..models import FIELDS
from ..text import normalise
from . import records as rec
from .anonymise import Anonymiser
from .cases import Case, build_cases
from .percode import cases_in_code, cases_profile
from .scopes import _sector_names, clean_scope, lookup_code
from .summary import POINT_TYPES, audit_points, case_summary, report_lines

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
_STD_NO = re.compile(r"(?<![A-Za-z])(GB/T|GB/Z|GB|ISO/IEC|ISO|IEC|OHSAS|HJ|YY/T|YY|JGJ|RB/T|AQ/T|AQ|SB/T|QB/T|JB/T|GBZ|CCAA|CNAS-CC)"
                     r"\s*(\d{1,6}(?:[.\-]\d+)*(?:[-:：]\s?(?:19|20)\d{2})?)")
_LAW_KINDS = (("法", "法律"), ("条例", "行政法规"), ("办法", "规章"), ("规定", "规章"), ("细则", "规章"),
              ("标准", "标准"), ("规范", "标准"), ("规则", "规则"), ("准则", "标准"))


def _std_kind(prefix: str) -> str:
    if prefix.startswith(("ISO", "IEC", "OHSAS")):
        return "国际标准"
    if prefix.startswith("GB"):
        return "国家标准"
    return "行业标准/规范"


def citations(texts: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Laws, regulations and standards cited: 《…法》《…条例》《…办法》 titles and standard numbers
    (GB/T, GB, ISO, HJ …, a title printed after a number kept with it), counted by documents.
    The organisations' own documents (《管理手册》, 《合格供方名录》) are left out."""
    found: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, doc_id: str) -> None:
        entry = found.setdefault(name, {"name": name, "kind": kind, "documents": set()})
        entry["documents"].add(doc_id)

    for doc_id, pages in texts.items():
        text = re.sub(r"\s*\n\s*", " ", "\n".join(pages))
        numbered: set[int] = set()
        for m in _STD_NO.finditer(text):
            number = re.sub(r"[:：]\s?", ":", m.group(2))
            name = f"{m.group(1)} {number}"
            after = _TITLE.match(text, m.end()) or _TITLE.match(text, m.end() + 1)
            if after:
                name += f"《{after.group(1)}》"
                numbered.add(after.start())
            add(name, _std_kind(m.group(1)), doc_id)
        for m in _TITLE.finditer(text):
            if m.start() in numbered:
                continue
            title = m.group(1)
            kind = next((k for suffix, k in _LAW_KINDS if title.endswith(suffix)), None)
            if kind:
                add(f"《{title}》", kind, doc_id)
    out = [{**e, "documents": len(e["documents"])} for e in found.values()]
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
    same = info["counterpart"]["same_number"]
    if same:
        desc.append(f"{'旧版' if same['table'] == 'legacy' else '2020 版'}代码表中同号 {same['code']}"
                    f"「{same['name'] or '—'}」" + ("含义相同。" if same["same_meaning"] else "含义不同，按文件日期区分版本。"))
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
        "key_control_points": profile["key_control_points"],
        "audit_points": [{"point": p.point, "documents": len(p.doc_ids), "clauses": methods["clauses"].get(p.point, [])}
                         for p in audit_points(texts)][:25],
        "audit_methods": {"named": methods["named"], "verified": methods["verified"]},
        "laws": citations(texts)[:40],
        "nonconformities": profile["nonconformities"],
        "cases": [_case_brief(catalog, c, field) for c in chosen],
        "auditors": None if anonymise else [
            {"name": a["name"], "reg_no": a["reg_no"], "audits": a["audits"], "leader": a["roles"].get("leader", 0),
             "organisations": a["organisations"], "last": a["last"]} for a in profile["auditors"]],
    }
    if anonymise:
        pack = anonymise_pack(catalog, pack, found)
    return pack


def _case_brief(catalog: Catalog, case: Case, field: str | None) -> dict[str, Any]:
    s = case_summary(catalog, case, n=4)
    return {"org": case.org["name"], "credit_code": case.org["credit_code"], "fields": case.fields,
            "cycle": case.cycle, "start": case.start, "end": case.end, "scope": case.scope, "codes": case.codes,
            "cert_nos": case.cert_nos,
            "audits": [{"stage": a.stage_name or a.stage, "start": a.start,
                        "nonconformities": sum(f["kind"] == "nonconformity" and (not field or f["field"] == field)
                                               for f in a.findings)} for a in case.audits],
            "summary": [x["sentence"] for x in s["summary"]],
            "key_control_points": [p["point"] for p in s["key_control_points"]][:8]}


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
