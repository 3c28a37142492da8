"""Case summaries: the sentences that best stand for a case's audit reports, and the key control
points (关键控制点), audit points (审核要点) and laws and standards the records state.

The summary is extractive, so every sentence is one a report printed: report pages → lines
rejoined (layout wraps them; running headers and page numbers dropped) → sentences → TF-IDF over
the mining tokenizer's words (`tokens.tokenize`) → a TextRank ranking (PageRank over the
sentences' cosine similarity). Sentences every report prints alike (the form's boilerplate: 审核组
按照审核计划召开首次会议…) are recognised by comparing with reports of other organisations and left
out; near-repeats within the case are kept once.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..catalog import Catalog
from ..text import compact
from . import records as rec
from .cases import Case

_PAGE_NO = re.compile(r"^(?:-\s*\d+\s*-|第\s*\d+\s*页.*|page\s*\d+\s*of\s*\d+|\d+\s*/\s*\d+|\d+)$", re.I)
# Form identifiers printed in headers and footers (表号:HZ-QR-11 版本:C/0, Co., Ltd.): never prose.
_FORM_MARK = re.compile(r"表号|版本\s*[:：]\s*[A-Z]|[A-Z]{2,}[/-]QR|Co\.,?\s*Ltd|Page\s*\d+\s*of", re.I)
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|\d{1,2}[.、]\s*\S{1,12}$)")
_ITEM = re.compile(r"^[(（]\s*\d{1,2}\s*[)）]\s*")
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_KCP_HEADING = re.compile(r"^[一二三四五六七八九十]+、\s*(?:关键控制点|关键过程及控制点|关键过程和控制点|关键控制环节)")
# 关键控制点为首件检验，… (one point, up to the comma) and 关键控制点：a、b、c。 (a list)
_KCP_INLINE = re.compile(r"关键控制点(?:\(CCP\))?\s*(?:(?:为|是|包括)\s*([^。；;，,]+)|[:：]\s*([^。；;]+))")
_LAW_HEADING = re.compile(r"^[一二三四五六七八九十]+、\s*(?:适用的)?法律法规")
_LAW_TITLE = re.compile(r"((?:GB|GB/T|YY|JGJ|HJ|ISO|RB/T)\s*[\d.\-/]+(?:-\d{4})?)?\s*(《[^》]{2,40}》)")
_FOCUS = re.compile(r"(?:重点关注|审核重点(?:为|是)?|审核要点(?:为|是)?|应关注)\s*[:：]?\s*([^。；;]{4,40})")
_GENERIC_TITLES = frozenset(("总则", "通用要求", "一般要求", "总要求"))
_CHECK_ITEM = re.compile(r"(?<![\u4e00-\u9fff])查([\u4e00-\u9fff（）()A-Za-z]{2,24}?)的实施情况")


@dataclass
class SummarySentence:
    sentence: str
    doc_id: str
    score: float


@dataclass
class Point:
    point: str
    count: int
    notes: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)


# -- text -------------------------------------------------------------------------------------

def report_lines(pages: list[str]) -> list[str]:
    """A document's lines with running headers, footers and page numbers removed and the lines
    that layout wrapped joined again."""
    per_page = [[ln.strip() for ln in p.split("\n") if ln.strip()] for p in pages]
    seen: Counter[str] = Counter(ln for lines in per_page for ln in set(lines))
    repeated = {ln for ln, n in seen.items() if n > 1 and len(ln) < 60} if len(per_page) > 1 else set()
    lines = [ln for page in per_page for ln in page
             if ln not in repeated and not _PAGE_NO.match(ln) and not _FORM_MARK.search(ln)]
    if not lines:
        return []
    width = sorted(len(ln) for ln in lines)[int(len(lines) * 0.9)]
    out: list[str] = []
    for ln in lines:
        if (out and len(out[-1]) >= 0.8 * width and not out[-1].endswith(("。", "：", ":", "；"))
                and not _HEADING.match(ln) and not _ITEM.match(ln)):
            out[-1] += ln
        else:
            out.append(ln)
    return out


def sentences(pages: list[str]) -> list[str]:
    """The prose sentences of a document (ending in 。！？, 12–200 characters, mostly Chinese)."""
    out = []
    for line in report_lines(pages):
        if _HEADING.match(line) or _ITEM.match(line):
            continue
        for s in _SENTENCE.findall(line):
            s = s.strip()
            if 12 <= len(s) <= 200 and len(_HAN.findall(s)) >= 8:
                out.append(s)
    return out


# -- ranking ----------------------------------------------------------------------------------

def _pagerank(sim, damping: float = 0.85, iterations: int = 60):
    import numpy as np

    n = sim.shape[0]
    weights = sim.copy()
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1.0
    trans = weights / sums
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        rank = (1 - damping) / n + damping * trans.T @ rank
    return rank


def rank_sentences(items: list[tuple[str, str]], n: int = 5, background: list[str] | None = None,
                   boilerplate: float = 0.8, repeat: float = 0.7) -> list[SummarySentence]:
    """TextRank over (doc_id, sentence) pairs; sentences as similar as `boilerplate` to one of the
    `background` sentences (other organisations' reports) are dropped, near-repeats kept once."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from .tokens import tokenize

    unique = list(dict.fromkeys(items))
    if not unique:
        return []
    texts = [s for _, s in unique]
    background = background or []
    vec = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=True)
    try:
        matrix = vec.fit_transform(texts + background)
    except ValueError:            # no words at all
        return []
    own, other = matrix[: len(texts)], matrix[len(texts):]
    keep = list(range(len(texts)))
    if background:
        generic = cosine_similarity(own, other).max(axis=1)
        specific = [i for i in keep if generic[i] < boilerplate]
        keep = specific if len(specific) >= n else keep
    if not keep:
        return []
    sim = cosine_similarity(own[keep])
    rank = _pagerank(sim)
    chosen: list[int] = []
    for j in sorted(range(len(keep)), key=lambda j: -rank[j]):
        if all(sim[j, c] < repeat for c in chosen):
            chosen.append(j)
        if len(chosen) == n:
            break
    chosen.sort()                 # in the order the reports print them
    return [SummarySentence(texts[keep[j]], unique[keep[j]][0], round(float(rank[j]), 5)) for j in chosen]


# -- points -----------------------------------------------------------------------------------

def _add(points: dict[str, Point], name: str, doc_id: str, note: str | None = None) -> None:
    name = name.strip(" ，,、。;；:：")
    if not (2 <= len(name) <= 30) or not _HAN.search(name):
        return
    p = points.setdefault(name, Point(name, 0))
    p.count += 1
    if doc_id not in p.doc_ids:
        p.doc_ids.append(doc_id)
    if note and note not in p.notes:
        p.notes.append(note)


# keep(point, context, doc_id): whether a point counts (a field pack keeps only its field's points
# of a joint audit); context is the section heading and line, or the text just before the point.
Keep = Callable[[str, str, str], bool]


def key_control_points(texts: dict[str, list[str]], keep: Keep | None = None) -> list[Point]:
    """Key control points where records state them: the items of a 关键控制点 section
    ((1) 首件检验：控制有效) and phrases such as 关键控制点为首件检验 / 关键控制点：a、b、c."""
    points: dict[str, Point] = {}
    for doc_id, pages in texts.items():
        heading = None
        for line in report_lines(pages):
            if _KCP_HEADING.match(line):
                heading = line
                continue
            if heading is not None:
                if _ITEM.match(line):
                    name, _, note = _ITEM.sub("", line).replace("：", ":").partition(":")
                    if keep is None or keep(name.strip(), f"{heading} {line}", doc_id):
                        _add(points, name, doc_id, note.strip() or None)
                    continue
                heading = None
            for m in _KCP_INLINE.finditer(line):
                for part in re.split(r"[、，,]|以及", m.group(1) or m.group(2)):
                    if keep is None or keep(part.strip(), line, doc_id):
                        _add(points, part, doc_id)
    return sorted(points.values(), key=lambda p: (-len(p.doc_ids), -p.count, p.point))


def audit_points(texts: dict[str, list[str]], keep: Keep | None = None) -> list[Point]:
    """Audit points: what records say to focus on (重点关注…, 审核要点…) and what checklists
    checked (查内部审核的实施情况 → 内部审核), most often stated first."""
    focus: dict[str, Point] = {}
    checked: dict[str, Point] = {}
    for doc_id, pages in texts.items():
        text = "".join(report_lines(pages))
        for m in _FOCUS.finditer(text):
            since = max(max(text.rfind(c, 0, m.start()) for c in "。；;") + 1, m.start() - 60)
            if keep is None or keep(m.group(1), text[since:m.end()], doc_id):
                _add(focus, m.group(1), doc_id)
        for m in _CHECK_ITEM.finditer(text):
            if m.group(1) not in _GENERIC_TITLES and (
                    keep is None or keep(m.group(1), text[max(0, m.start() - 16):m.start()], doc_id)):
                _add(checked, m.group(1), doc_id)
    order = lambda p: (-len(p.doc_ids), -p.count, p.point)      # noqa: E731
    return sorted(focus.values(), key=order) + sorted(
        (p for p in checked.values() if p.point not in focus), key=order)


def laws_and_standards(texts: dict[str, list[str]]) -> list[Point]:
    """Laws, regulations and standards listed in the reports' 适用的法律法规 sections."""
    points: dict[str, Point] = {}
    for doc_id, pages in texts.items():
        in_section = False
        for line in report_lines(pages):
            if _LAW_HEADING.match(line):
                in_section = True
                continue
            if in_section and _HEADING.match(line):
                in_section = False
            if in_section:
                for m in _LAW_TITLE.finditer(line):
                    _add(points, (m.group(1) or "").replace(" ", "") + m.group(2), doc_id)
    return sorted(points.values(), key=lambda p: (-len(p.doc_ids), p.point))


# -- the case summary -------------------------------------------------------------------------

SUMMARY_TYPES = ("audit_report",)
POINT_TYPES = ("audit_report", "audit_programme", "audit_plan", "checklist", "document_review")


def background_sentences(catalog: Catalog, exclude_org: str | None, limit: int = 12) -> list[str]:
    """Sentences of `limit` other organisations' audit reports (one report each): what every
    report says alike. A fixed choice (by document id), so a summary is the same every time."""
    ids = [r[0] for r in catalog.db.execute(
        "select min(id) from documents where doc_type = 'audit_report' and status = 'ok' "
        "and org_id is not null and org_id != ? group by org_id order by 1 limit ?",
        [exclude_org or "", limit])]
    texts = rec.page_texts(catalog, ids)
    return list(dict.fromkeys(s for i in ids for s in sentences(texts.get(i, []))))


def case_summary(catalog: Catalog, case: Case, n: int = 5,
                 similar: Callable[[Case], list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The case card plus its summary sentences, key control points, audit points and laws.
    `similar`, when given (e.g. a search over the index), adds similar cases or documents."""
    doc_types = {d["id"]: d["doc_type"] for a in case.audits for d in a.documents}
    texts = rec.page_texts(catalog, [i for i, t in doc_types.items() if t in POINT_TYPES])
    reports = {i: p for i, p in texts.items() if doc_types[i] in SUMMARY_TYPES}
    items = [(i, s) for i, pages in reports.items() for s in sentences(pages)]
    ranked = rank_sentences(items, n, background_sentences(catalog, case.org["id"]))
    return {
        "case": case.to_dict(),
        "summary": [asdict(s) for s in ranked],
        "key_control_points": [asdict(p) for p in key_control_points(reports)],
        "audit_points": [asdict(p) for p in audit_points(texts)][:20],
        "laws_and_standards": [asdict(p) for p in laws_and_standards(reports)],
        "similar": similar(case) if similar else [],
    }


def report_text(catalog: Catalog, case: Case) -> str:
    """All the case's audit reports as one compact string, running headers and footers left out
    (what summary sentences come from)."""
    ids = [d["id"] for a in case.audits for d in a.documents if d["doc_type"] in SUMMARY_TYPES]
    texts = rec.page_texts(catalog, ids)
    return "\n".join(compact("".join(report_lines(texts.get(i, [])))) for i in ids)
