"""Search relevance on the sample archive: our jieba analyzer against Whoosh's StandardAnalyzer and a
Han-bigram analyzer, on judged queries whose judgements come from the generator's truth.

    .venv/bin/python benchmarks/relevance.py [--sample DIR] [--seed N] [--orgs N] [--json OUT]

Without --sample it uses corpus/sample when that holds the same seed and organisation count, else it
generates the sample into a temporary folder. It ingests the sample into a temporary catalogue and
builds three indexes from that catalogue (same schema, same records, same BM25F field weights; only
the text analyzer differs), then runs every query through the same code path,
`indexer.search.search(handle, catalog, SearchRequest(q=..., per_page=10))`.

- Queries (`build_queries`) are made from truth.json: organisations by short name, auditors, clause
  topics and nonconformity wording, business scopes, certificate numbers, stage + document type +
  organisation, quoted statement phrases. Each has a `why` and grades from the truth only:
  2 = exactly what was asked, 1 = related, unlisted = 0. A query with no grade-2 document on this
  seed is left out (and said so).
- Metrics: nDCG@10 (linear gains, log2 discount, ideal ranking from all judged documents) and
  recall@10 = grade-2 documents in the top 10 / min(10, grade-2 documents).
- Synonyms: the query parser expands synonyms with jieba (`indexer.synonyms.expand_query`) for every
  index. Our engine is also run with expansion switched off (monkeypatched for that pass), and so
  are the baselines, so the table shows what synonyms add and whether expansion distorts a baseline.
- Certificate check: every certificate number the sample prints, typed as printed, against the
  documents that print it (outside the judged queries' mean, which holds three numbers).
- Phrase check: quoted phrases cut from the catalogue's page text (the text between punctuation,
  4-12 characters, line breaks removed); a search's result set is compared with the documents whose
  normalised text (`archive.text.normalise`, line breaks removed, lower case) contains the phrase
  (`substring_pattern`: a letter or digit at an end of the phrase may not continue a longer number or
  word), the totals only when either side has more than 100.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whoosh.analysis import StandardAnalyzer, Token, Tokenizer  # noqa: E402

from archive.catalog import Catalog  # noqa: E402
from archive.ingest import Ingestor  # noqa: E402
from archive.text import normalise  # noqa: E402
from indexer import build, synonyms  # noqa: E402
from indexer.analysis import normalise_chars  # noqa: E402
from indexer.query import QueryError  # noqa: E402
from indexer.search import SearchRequest, search  # noqa: E402

K = 10
DEFAULT_SEED = 20261121
DEFAULT_ORGS = 32
ANALYZERS = ("ours", "standard", "bigram")


# -- the bigram baseline ---------------------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_HAN}]|[^\W{_HAN}_]+")    # one Han character, or a run of letters/digits
_HAN_CHAR = re.compile(rf"[{_HAN}]")


class HanBigramTokenizer(Tokenizer):
    """The classic CJK baseline (as Lucene's CJKAnalyzer): overlapping Han bigrams, an isolated Han
    character as a unigram, runs of letters and digits kept whole (`iso`, `9001`, `21720q00178r0l`).

    Characters are normalised as our analyzer does (`normalise_chars`: NFKC, traditional →
    simplified, lower case, same length), and Han characters separated only by blanks or line
    breaks are adjacent (PDF layout breaks lines inside words; ours joins them too), so the
    comparison is about segmentation alone. Positions are consecutive: a quoted phrase is the phrase
    of its bigrams, i.e. a substring match; an unquoted word is the AND of its bigrams.

    Whoosh's own n-gram analyzers do not fit: `NgramTokenizer(2, 2)` makes grams of blanks,
    punctuation and ASCII alike (`o 9`), and `NgramFilter` (in `NgramWordAnalyzer`) gives every gram
    of a word the word's position (no phrases), drops one-character words and cuts ASCII words into
    bigrams too.
    """

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        norm = normalise_chars(value)
        if not tokenize:
            t.original = value
            t.text = norm.strip()
            t.boost, t.stopped = 1.0, False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        units = [(m.group(), m.start(), m.end()) for m in _UNIT.finditer(norm)]

        def han_pair(i: int) -> bool:   # units i and i+1 are adjacent Han characters
            if i < 0 or i + 1 >= len(units):
                return False
            (a, _, ae), (b, bs, _) = units[i], units[i + 1]
            return bool(_HAN_CHAR.match(a) and _HAN_CHAR.match(b) and not norm[ae:bs].strip())

        pos = start_pos
        for i, (text, s, e) in enumerate(units):
            if _HAN_CHAR.match(text):
                if han_pair(i):
                    text, e = text + units[i + 1][0], units[i + 1][2]
                elif han_pair(i - 1):
                    continue           # already the second half of the previous bigram
            t.text, t.boost, t.stopped = text, 1.0, False
            if keeporiginal:
                t.original = value[s:e]
            if positions:
                t.pos = pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t
            pos += 1


def bigram_analyzer() -> HanBigramTokenizer:
    return HanBigramTokenizer()


# -- the truth, as judgements -------------------------------------------------------------------

@dataclass
class Judged:
    kind: str
    q: str
    why: str
    grades: dict[str, int]              # doc id → 2 (exactly what was asked) or 1 (related)

    @property
    def top(self) -> int:
        return max(self.grades.values(), default=0)


class Truth:
    """truth.json seen by document id (the catalogue's id is the file's sha256)."""

    def __init__(self, truth: dict[str, Any], sample: Path):
        self.raw = truth
        self.docs: dict[str, dict[str, Any]] = truth["documents"]
        self.id_of = {rel: hashlib.sha256((sample / rel).read_bytes()).hexdigest() for rel in self.docs}
        self.audit_of = {rel: a for a in truth["audits"] for rel in a["documents"]}
        self.orgs = {o["id"]: o for o in truth["orgs"]}

    def org_id(self, rel: str) -> str | None:
        a = self.audit_of.get(rel)
        return a["org_id"] if a else None

    def org_docs(self, org_id: str) -> list[str]:
        return [rel for rel in self.docs if self.org_id(rel) == org_id]

    def grades(self, grade: Callable[[str, dict[str, Any]], int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for rel, d in self.docs.items():
            g = grade(rel, d)
            if g:
                doc_id = self.id_of[rel]
                out[doc_id] = max(g, out.get(doc_id, 0))
        return out

    def stage(self, rel: str) -> str | None:
        a = self.audit_of.get(rel)
        return a["stage"] if a else None


def trade_name(org: dict) -> str:
    """字号: the generator's short name is trade name + two characters (华盈服饰, 锦程公司)."""
    return org["short_name"][:-2]


def city(org: dict) -> str:
    m = re.match(r"(?:[^省]{2,3}省)?([^省市]{2,3})市", org["address"])
    return m.group(1) if m else ""


def statement_has(d: dict, *words: str) -> bool:
    return any(all(w in f["statement"] for w in words) for f in d["findings"])


def has_clause(d: dict, clause: str, fields: tuple[str, ...] | None = None) -> bool:
    return any(f["clause"] and (f["clause"] == clause or f["clause"].startswith(clause + "."))
               and (fields is None or f["field"] in fields) for f in d["findings"])


# Scope words an auditor types, with the code class (2020 table) they mean.
SCOPE_QUERIES = (
    ("机械加工", "17.10", "轴类、法兰类零件的机械加工企业（代码 17.10 金属的处理和涂覆，机加工）"),
    ("塑料制品", "14.02", "塑料制品的制造（代码 14.02）"),
    ("污水处理", "39.01", "污水处理（代码 39.01）"),
    ("物业管理", "32.13", "物业管理：按报酬或合同进行的房地产管理（代码 32.13）"),
    ("糕点 饼干", "03.07", "烘焙食品：糕点、饼干（代码 03.07）"),
    ("低压成套开关设备", "19.09", "配电及控制装置的制造（代码 19.09）"),
)

# Nonconformity topics: (query, why, grade-2 test, grade-1 test or None) over a document's truth.
MGMT = ("QMS", "EMS", "OHSMS", "FSMS", "ISMS")
FINDING_QUERIES: tuple[tuple[str, str, Callable[[dict], bool], Callable[[dict], bool] | None], ...] = (
    ("管理评审 不符合", "findings against clause 9.3 (management review)",
     lambda d: has_clause(d, "9.3", MGMT), None),
    ("内审 不合格", "findings against clause 9.2 (internal audit); needs the synonyms 内审 = 内部审核 and "
     "不合格 = 不符合", lambda d: has_clause(d, "9.2", MGMT), None),
    ("应急演练 不符合", "findings about missing emergency drills (EMS/OHSMS 8.2)",
     lambda d: statement_has(d, "应急演练"), None),
    ("特种作业操作证 过期", "findings: a special-work operator's permit had expired",
     lambda d: statement_has(d, "特种作业操作证", "过期"), None),
    ("检定 超期", "findings: a measuring instrument used past its verification date (QMS 7.1.5)",
     lambda d: has_clause(d, "7.1.5", ("QMS",)), None),
    ("作废文件 未回收", "findings: obsolete documents still in use (QMS 7.5.3)",
     lambda d: statement_has(d, "作废文件"), None),
    ("合同评审 未见记录", "findings: no contract review record (QMS 8.2.3)",
     lambda d: statement_has(d, "未见合同评审记录"), None),
    ("顾客投诉 未分析原因", "findings: complaints handled without cause analysis (QMS 10.2); other "
     "complaint findings are related", lambda d: statement_has(d, "顾客投诉", "未分析原因"),
     lambda d: statement_has(d, "投诉")),
    ("CCP 监控记录 缺失", "findings: CCP monitoring records missing (FSMS 8.5.4.4)",
     lambda d: has_clause(d, "8.5.4.4", ("FSMS",)), None),
    ("金属探测器 校验", "findings about the metal detector's verification (FSMS 8.7)",
     lambda d: statement_has(d, "金属探测器"), None),
    ("售后服务人员 未经培训", "findings: after-sales staff working untrained (service 5.1.3)",
     lambda d: statement_has(d, "售后服务人员", "未经培训"), lambda d: statement_has(d, "未经培训")),
    ("点检记录 漏填", "observations: equipment check records with gaps",
     lambda d: statement_has(d, "点检记录", "漏填"), None),
    ("危险源辨识 未识别", "findings: hazards missing from the hazard identification (OHSMS 6.1.2)",
     lambda d: statement_has(d, "危险源辨识"), None),
    ("危险废物 暂存间 警示标识", "findings: hazardous-waste store without warning signs (EMS 8.1)",
     lambda d: statement_has(d, "危险废物暂存间", "警示标识"), None),
    ("顾客满意度调查 未开展", "findings: no customer satisfaction survey (QMS 9.1.2); the service finding "
     "on survey analysis is related", lambda d: statement_has(d, "开展顾客满意度调查"),
     lambda d: statement_has(d, "顾客满意度调查")),
    ("ISO 14001 合规性评价 不符合", "EMS findings on the evaluation of compliance (9.1.2); needs ISO 14001 = "
     "EMS; the OHSMS compliance findings are related",
     lambda d: has_clause(d, "9.1.2", ("EMS",)), lambda d: statement_has(d, "合规性评价")),
    ('"评审输入未包括外部供方的绩效"', "a phrase quoted from a management-review finding",
     lambda d: statement_has(d, "评审输入未包括外部供方的绩效"), None),
    ('"防护罩缺失"', "a phrase quoted from a machine-guarding finding",
     lambda d: statement_has(d, "防护罩缺失"), None),
)


def build_queries(t: Truth, seed: int) -> tuple[list[Judged], list[str]]:
    """The judged queries for this sample, and notes on queries left out. Organisations, auditors
    and certificates are drawn with a seeded generator, never by looking at any engine."""
    rng = random.Random(f"{seed}:relevance")
    out: list[Judged] = []
    skipped: list[str] = []

    def add(kind: str, q: str, why: str, grades: dict[str, int]) -> None:
        if not grades or max(grades.values()) < 2:
            skipped.append(f"{q} ({kind}): nothing in this sample is exactly what it asks")
            return
        out.append(Judged(kind, q, why, grades))

    counts = Counter(t.org_id(rel) for rel in t.docs)
    orgs = [o for o in t.raw["orgs"] if counts[o["id"]] >= 8]
    picked = rng.sample(orgs, min(len(orgs), 10))
    rest = iter(picked)

    # organisations by the names people use for them
    o = next(rest)
    add("org", o["short_name"], f"short name → every document of {o['name']}",
        t.grades(lambda rel, d, o=o: 2 * (t.org_id(rel) == o["id"])))
    o = next(rest)
    add("org", city(o) + trade_name(o), f"city + trade name → every document of {o['name']}",
        t.grades(lambda rel, d, o=o: 2 * (t.org_id(rel) == o["id"])))
    o = next(rest)
    add("org", trade_name(o), f"trade name (字号) alone → every document of {o['name']}",
        t.grades(lambda rel, d, o=o: 2 * (t.org_id(rel) == o["id"])))
    o = next(rest)
    add("org+type", f"{o['short_name']} 审核报告", f"the audit reports of {o['name']}; its other "
        "documents are related",
        t.grades(lambda rel, d, o=o: (2 if d["doc_type"] == "audit_report" else 1)
                 if t.org_id(rel) == o["id"] else 0))
    o = next(rest)
    add("org+type", f"{trade_name(o)} 证书", f"the certificates of {o['name']}; its other documents "
        "are related",
        t.grades(lambda rel, d, o=o: (2 if d["doc_type"] == "certificate" else 1)
                 if t.org_id(rel) == o["id"] else 0))
    with_ncr = [o for o in picked if any(d["doc_type"] == "ncr" and t.org_id(r) == o["id"]
                                         for r, d in t.docs.items())]
    if with_ncr:
        o = with_ncr[-1]
        add("org+topic", f"{o['short_name']} 不符合项", f"documents of {o['name']} that state "
            "nonconformities (NCRs, reports with findings); its other documents are related",
            t.grades(lambda rel, d, o=o: (2 if d["findings"] and d["doc_type"] != "observation" else 1)
                     if t.org_id(rel) == o["id"] else 0))

    # auditors
    listed = Counter(a["name"] for d in t.docs.values() for a in d["auditors"])
    busy = [name for name, n in listed.most_common() if n >= 5]
    names = rng.sample(busy, min(3, len(busy)))
    for name in names[:2]:
        add("auditor", name, f"an auditor's name → every document naming {name} in its audit team",
            t.grades(lambda rel, d, name=name: 2 * any(a["name"] == name for a in d["auditors"])))
    if len(names) > 2:
        name = names[2]
        add("auditor", f"{name} 组长", f"documents where {name} is team leader; where {name} is a "
            "member, related (needs 组长 = 审核组长)",
            t.grades(lambda rel, d, name=name: max([2 if a["role"] == "leader" else 1
                                                    for a in d["auditors"] if a["name"] == name] or [0])))
        o = next(rest)
        led = [a for a in t.raw["audits"] if a["org_id"] == o["id"]]
        team = Counter(m["name"] for a in led for m in a["team"])
        if team:
            who = sorted(team, key=lambda n: (-team[n], n))[0]
            add("auditor+org", f"{who} {o['short_name']}", f"documents of {o['name']} naming {who}; "
                "its other documents are related",
                t.grades(lambda rel, d, o=o, who=who: (2 if any(a["name"] == who for a in d["auditors"])
                                                       else 1) if t.org_id(rel) == o["id"] else 0))

    # business scope / code names
    for q, klass, why in SCOPE_QUERIES:
        members = {o["id"] for o in t.raw["orgs"] if any(c.startswith(klass + ".") for c in o["codes"])}
        add("scope", q, f"{why} → documents of those organisations that state scope or codes; their "
            "other documents are related",
            t.grades(lambda rel, d, m=members: (2 if d["scope"] or d["codes"] else 1)
                     if t.org_id(rel) in m else 0))

    # certificate numbers, as printed and as typed
    printed = Counter(c for d in t.docs.values() for c in d["cert_nos"])
    compact = sorted(c for c in printed if "-" not in c)
    dashed = sorted(c for c in printed if "-" in c)
    if compact:
        c = rng.choice(compact)
        add("cert", c, "a certificate number as printed → documents that print it",
            t.grades(lambda rel, d, c=c: 2 * (c in d["cert_nos"])))
        c = rng.choice(compact)
        add("cert", c.lower(), "a certificate number typed in lower case → documents that print it",
            t.grades(lambda rel, d, c=c: 2 * (c in d["cert_nos"])))
    if dashed:
        c = rng.choice(dashed)
        add("cert", c.lower(), "an old-style dashed certificate number, lower case → documents that "
            "print it", t.grades(lambda rel, d, c=c: 2 * (c in d["cert_nos"])))

    # stage + document type + organisation
    def stage_query(stage: str, doc_type: str, words: str, form: Callable[[dict], str], why: str) -> None:
        cands = sorted({t.org_id(rel) for rel, d in t.docs.items()
                        if t.stage(rel) == stage and d["doc_type"] == doc_type})
        if not cands:
            skipped.append(f"{words} …: no {stage} {doc_type} in this sample")
            return
        o = t.orgs[rng.choice(cands)]
        add("stage", f"{words} {form(o)}", f"{why} of {o['name']}; its other {stage} documents and "
            f"other {doc_type} documents are related",
            t.grades(lambda rel, d, o=o: 0 if t.org_id(rel) != o["id"] else
                     2 if t.stage(rel) == stage and d["doc_type"] == doc_type else
                     1 if t.stage(rel) == stage or d["doc_type"] == doc_type else 0))

    stage_query("stage1", "audit_report", "一阶段 审核报告", lambda o: o["short_name"], "the stage-1 audit report")
    stage_query("surveillance1", "audit_plan", "监一 审核计划", lambda o: city(o) + trade_name(o),
                "the first surveillance audit plan (needs 监一 = 第一次监督审核)")
    stage_query("recertification", "audit_report", "复评 审核报告", lambda o: o["short_name"],
                "the recertification audit report (needs 复评 = 再认证)")
    stage_query("stage2", "ncr", "二阶段 不符合报告", lambda o: trade_name(o), "the stage-2 NCRs")

    # nonconformity topics and quoted statement phrases
    for q, why, exact, related in FINDING_QUERIES:
        add("finding", q, why, t.grades(lambda rel, d, e=exact, r=related:
                                        2 if e(d) else 1 if r and r(d) else 0))
    return out, skipped


# -- metrics --------------------------------------------------------------------------------------

def dcg(gains: list[int]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg([grades.get(d, 0) for d in ranked[:k]]) / ideal if ideal else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    top = max(grades.values())
    wanted = {d for d, g in grades.items() if g == top}
    return len(wanted & set(ranked[:k])) / min(k, len(wanted))


# -- indexes and searching ------------------------------------------------------------------------

def build_indexes(catalog: Catalog, work: Path) -> tuple[dict[str, build.IndexHandle], dict[str, float]]:
    specs = {"ours": (None, "jieba"), "standard": (StandardAnalyzer(), "standard"),
             "bigram": (bigram_analyzer(), "bigram")}
    handles, seconds = {}, {}
    ids = catalog.document_ids()
    for name, (analyzer, analyzer_name) in specs.items():
        started = time.perf_counter()
        handle = build.open_index(work / f"index-{name}", analyzer=analyzer, analyzer_name=analyzer_name)
        build.update(catalog, handle, ids)
        seconds[name] = time.perf_counter() - started
        handles[name] = handle
    return handles, seconds


class no_synonyms:
    """Switch the parser's synonym expansion off for a block (the parser calls it by module
    attribute, so replacing the attribute is enough)."""

    def __enter__(self):
        self.saved = synonyms.expand_query
        synonyms.expand_query = lambda query, fieldname: query
        return self

    def __exit__(self, *exc):
        synonyms.expand_query = self.saved


def run(handle: build.IndexHandle, catalog: Catalog, q: str, per_page: int = K) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        res = search(handle, catalog, SearchRequest(q=q, per_page=per_page))
    except QueryError as exc:
        return {"ids": [], "total": 0, "error": str(exc), "ms": (time.perf_counter() - started) * 1000}
    return {"ids": [h["id"] for h in res["hits"]], "total": res["total"], "error": None,
            "ms": (time.perf_counter() - started) * 1000}


RUNS = (("ours", "ours", True), ("ours-nosyn", "ours", False), ("standard", "standard", True),
        ("standard-nosyn", "standard", False), ("bigram", "bigram", True), ("bigram-nosyn", "bigram", False))


def evaluate(handles, catalog, queries: list[Judged]) -> list[dict[str, Any]]:
    rows = [{"kind": j.kind, "q": j.q, "why": j.why, "relevant": sum(g == j.top for g in j.grades.values()),
             "related": sum(g < j.top for g in j.grades.values()), "runs": {}} for j in queries]
    for label, index_name, expand in RUNS:
        with no_synonyms() if not expand else nullcontext():
            for j, row in zip(queries, rows):
                r = run(handles[index_name], catalog, j.q)
                row["runs"][label] = {"ndcg": ndcg_at(r["ids"], j.grades), "recall": recall_at(r["ids"], j.grades),
                                      "total": r["total"], "error": r["error"], "ms": r["ms"],
                                      "top": [[d[:12], j.grades.get(d, 0)] for d in r["ids"]]}
    return rows


# -- certificate numbers --------------------------------------------------------------------------

def cert_check(handles, catalog, t: Truth) -> dict[str, Any]:
    """Every certificate number the sample prints, typed as printed: nDCG@10 against the documents
    that print it, per analyzer, and how many numbers put a document that does not print it first."""
    printed = sorted({c for d in t.docs.values() for c in d["cert_nos"]})
    out: dict[str, Any] = {"numbers": len(printed)}
    for name in ANALYZERS:
        scores, wrong_first, worst = [], 0, []
        for c in printed:
            grades = t.grades(lambda rel, d, c=c: 2 * (c in d["cert_nos"]))
            ids = run(handles[name], catalog, c)["ids"]
            scores.append(ndcg_at(ids, grades))
            if not ids or grades.get(ids[0], 0) < 2:
                wrong_first += 1
                worst.append(c)
        out[name] = {"ndcg": statistics.fmean(scores) if scores else 0.0, "wrong_first": wrong_first,
                     "below_1": sum(x < 1 - 1e-9 for x in scores), "examples": worst[:3]}
    return out


# -- phrase check ---------------------------------------------------------------------------------

# Where a phrase may start or end: blanks and punctuation, but not `.,:` inside a number or code
# (`4.1`, `9001:2015`), where a cut would start the phrase in the middle of a word.
_CUT = re.compile(r"(?:[\s\"'“”‘’，。、；;!?！？（）()《》<>〈〉【】\[\]{}/\\|~～—\-_·•…=+*#%&@^$]"
                  r"|(?<![0-9a-z])[.,:]|[.,:](?![0-9a-z]))+")


def flat_pages(catalog: Catalog) -> dict[str, list[str]]:
    """doc id → its pages, normalised, line breaks removed, lower case."""
    return {doc_id: [normalise(p["text"]).replace("\n", "").lower() for p in catalog.pages(doc_id)]
            for doc_id in catalog.document_ids()}


def pick_phrases(pages: dict[str, list[str]], n: int, seed: int) -> list[str]:
    """`n` phrases: the text between two punctuation marks (4-12 characters, 3+ Han) of a page of a
    random document; one per document, no repeats."""
    rng = random.Random(f"{seed}:phrases")
    ids = sorted(pages)
    rng.shuffle(ids)
    out: list[str] = []
    for doc_id in ids:
        if len(out) >= n:
            break
        texts = [p for p in pages[doc_id] if p]
        if not texts:
            continue
        segments = [s for s in _CUT.split(rng.choice(texts))
                    if 4 <= len(s) <= 12 and len(_HAN_CHAR.findall(s)) >= 3]
        segments = [s for s in dict.fromkeys(segments) if s not in out]
        if segments:
            out.append(rng.choice(segments))
    return out


def substring_pattern(phrase: str) -> re.Pattern:
    """The phrase as a substring, except that a letter or digit at either end may not continue a
    longer run of letters and digits: `1审核准则` is not found inside `2021审核准则`, nor `iso` in
    `isolation` (a word index cannot, and should not, match there)."""
    head = r"(?<![0-9a-z])" if re.match(r"[0-9a-z]", phrase) else ""
    tail = r"(?![0-9a-z])" if re.search(r"[0-9a-z]$", phrase) else ""
    return re.compile(head + re.escape(phrase) + tail)


def phrase_check(handle, catalog, pages: dict[str, list[str]], phrases: list[str]) -> dict[str, Any]:
    details = []
    for phrase in phrases:
        pattern = substring_pattern(phrase)
        want = {d for d, texts in pages.items() if any(pattern.search(p) for p in texts)}
        r = run(handle, catalog, f'"{phrase}"', per_page=100)
        got = set(r["ids"])
        if len(want) > 100 or r["total"] > 100:
            ok = r["total"] == len(want)
        else:
            ok = got == want and r["total"] == len(want)
        details.append({"phrase": phrase, "ok": ok, "substring": len(want), "engine": r["total"],
                        "missing": len(want - got) if len(want) <= 100 else None,
                        "extra": len(got - want) if len(want) <= 100 else None, "error": r["error"]})
    return {"share": sum(d["ok"] for d in details) / max(1, len(details)), "details": details}


# -- the run --------------------------------------------------------------------------------------

def sample_dir(args, tmp: Path) -> tuple[Path, dict[str, Any], float]:
    if args.sample:
        sample = Path(args.sample)
        return sample, json.loads((sample / "truth.json").read_text(encoding="utf-8")), 0.0
    default = ROOT / "corpus" / "sample"
    if (default / "truth.json").exists():
        truth = json.loads((default / "truth.json").read_text(encoding="utf-8"))
        if truth.get("seed") == args.seed and len(truth.get("orgs", [])) == args.orgs:
            return default, truth, 0.0
    from corpus.generate import generate

    started = time.perf_counter()
    truth = generate(tmp / "sample", seed=args.seed, n_orgs=args.orgs)
    return tmp / "sample", truth, time.perf_counter() - started


def fmt(run_: dict[str, Any]) -> str:
    return f"{run_['ndcg']:.2f}/{run_['recall']:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", help="a sample archive with its truth.json (default: corpus/sample "
                    "if it matches --seed/--orgs, else one generated into a temporary folder)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--orgs", type=int, default=DEFAULT_ORGS)
    ap.add_argument("--phrases", type=int, default=24, help="quoted phrases in the phrase check")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    args = ap.parse_args(argv)

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="relevance-") as tmpname:
        tmp = Path(tmpname)
        sample, truth_raw, timings["generate_s"] = sample_dir(args, tmp)
        seed = truth_raw.get("seed", args.seed)
        catalog = Catalog(tmp / "catalog.db")
        started = time.perf_counter()
        summary = Ingestor(catalog, workers=2).run([sample])
        timings["ingest_s"] = time.perf_counter() - started
        handles, build_s = build_indexes(catalog, tmp)
        timings.update({f"index_{k}_s": v for k, v in build_s.items()})

        t = Truth(truth_raw, sample)
        in_catalog = set(catalog.document_ids())
        lost = sum(1 for rel in t.docs if t.id_of[rel] not in in_catalog)
        queries, skipped = build_queries(t, seed)
        rows = evaluate(handles, catalog, queries)

        certs = cert_check(handles, catalog, t)
        pages = flat_pages(catalog)
        phrases = pick_phrases(pages, args.phrases, seed)
        phrase_results = {name: phrase_check(handles[name], catalog, pages, phrases) for name in ANALYZERS}
        with no_synonyms():
            phrase_results["ours-nosyn"] = phrase_check(handles["ours"], catalog, pages, phrases)
        catalog.close()

    labels = [label for label, _, _ in RUNS]
    means = {label: {"ndcg": statistics.fmean(r["runs"][label]["ndcg"] for r in rows),
                     "recall": statistics.fmean(r["runs"][label]["recall"] for r in rows)} for label in labels}
    by_kind: dict[str, dict[str, float]] = defaultdict(dict)
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for label in labels:
            by_kind[kind][label] = statistics.fmean(r["runs"][label]["ndcg"] for r in rows if r["kind"] == kind)

    print(f"sample {sample} (seed {seed}): {len(t.docs)} documents in the truth, {summary.added} catalogued, "
          f"{len(summary.failed)} files failed, {lost} truth documents not in the catalogue")
    print(f"timings: generate {timings['generate_s']:.1f} s, ingest {timings['ingest_s']:.1f} s; index build "
          + ", ".join(f"{n} {build_s[n]:.1f} s" for n in ANALYZERS))
    print(f"\n{len(rows)} judged queries; cells are nDCG@10/recall@10 (-syn: synonym expansion off)\n")
    head = f"{'#':>2} {'kind':11} {'query':30} {'rel':>3}  {'ours':9} {'ours-syn':9} {'standard':9} {'bigram':9}"
    print(head)
    print("-" * len(head))
    for i, r in enumerate(rows, 1):
        q = r["q"] if len(r["q"]) <= 22 else r["q"][:21] + "…"
        pad = 30 - sum(2 if ord(c) > 0x2e80 else 1 for c in q)
        print(f"{i:>2} {r['kind']:11} {q}{' ' * max(1, pad)} {r['relevant']:>3}  "
              f"{fmt(r['runs']['ours']):9} {fmt(r['runs']['ours-nosyn']):9} "
              f"{fmt(r['runs']['standard']):9} {fmt(r['runs']['bigram']):9}")
    print("-" * len(head))
    print("mean nDCG@10 / recall@10: " + "; ".join(
        f"{label} {means[label]['ndcg']:.3f}/{means[label]['recall']:.3f}" for label in labels))
    print("mean nDCG@10 by kind: " + "; ".join(
        f"{kind} ({sum(r['kind'] == kind for r in rows)}) " + " ".join(
            f"{by_kind[kind][n]:.2f}" for n in ANALYZERS) for kind in by_kind) + "   (ours standard bigram)")
    ms = {n: statistics.median(r["runs"][n]["ms"] for r in rows) for n in ANALYZERS}
    print("median query time (search() with facets and snippets): "
          + ", ".join(f"{n} {ms[n]:.1f} ms" for n in ANALYZERS))
    losses = [(i, r["q"], n) for i, r in enumerate(rows, 1) for n in ("standard", "bigram")
              if r["runs"][n]["ndcg"] > r["runs"]["ours"]["ndcg"] + 1e-9]
    if losses:
        print("ours below a baseline: " + "; ".join(f"#{i} {q} (< {n})" for i, q, n in losses))
    weak = [(i, r["q"]) for i, r in enumerate(rows, 1) if r["runs"]["ours"]["ndcg"] < 0.85]
    if weak:
        print("ours below 0.85: " + "; ".join(f"#{i} {q}" for i, q in weak))
    moved = {n: [r["q"] for r in rows if abs(r["runs"][n]["ndcg"] - r["runs"][n + "-nosyn"]["ndcg"]) > 1e-9]
             for n in ANALYZERS}
    print("synonym expansion changed nDCG on: " + "; ".join(
        f"{n} {len(moved[n])} ({', '.join(moved[n]) or '-'})" for n in ANALYZERS))
    goal = means["ours"]["ndcg"] >= 0.85 and all(means["ours"]["ndcg"] > means[n]["ndcg"]
                                                  for n in ("standard", "bigram"))
    print(f"goal (ours ≥ 0.85 and above both baselines): {'met' if goal else 'NOT met'}")
    if skipped:
        print("left out: " + "; ".join(skipped))

    print(f"\ncertificate numbers: all {certs['numbers']} printed numbers typed as printed; mean nDCG@10 "
          + ", ".join(f"{n} {certs[n]['ndcg']:.3f}" for n in ANALYZERS) + "; a non-matching document first (nDCG < 1): "
          + ", ".join(f"{n} {certs[n]['wrong_first']} ({certs[n]['below_1']})" for n in ANALYZERS)
          + (f" (ours e.g. {', '.join(certs['ours']['examples'])})" if certs["ours"]["examples"] else ""))
    print(f"\nphrase check: {len(phrases)} quoted phrases from page text; result set = substring search: "
          + ", ".join(f"{n} {phrase_results[n]['share']:.0%}" for n in phrase_results))
    for name in ("ours", "ours-nosyn"):
        for d in phrase_results[name]["details"]:
            if not d["ok"]:
                print(f"  {name} differs on \"{d['phrase']}\": substring {d['substring']}, engine {d['engine']}"
                      + (f" (missing {d['missing']}, extra {d['extra']})" if d["missing"] is not None else "")
                      + (f" error: {d['error']}" if d["error"] else ""))
    print("\nSynonym expansion is the query parser's, so it runs on every index; it matches variants by "
          "jieba's segmentation, so on the baselines it seldom fires and its variants seldom match their "
          "terms (see 'synonym expansion changed nDCG on' above).")

    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "sample": str(sample), "seed": seed,
            "documents": len(t.docs), "timings": timings, "means": means, "by_kind": by_kind,
            "goal_met": goal, "skipped": skipped, "queries": rows, "certificates": certs,
            "phrases": phrase_results}, ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
