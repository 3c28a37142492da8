"""Scope lookups: specialty codes by number, by words, and suggested for a 认证范围 text.

- `lookup_code("17.10.02")` — name, level, parents, children and the counterpart in the other
  table version: the same number read in the other table (None when that table does not list
  it, e.g. the legacy table has no middle classes; the codes it has under that number are listed
  apart), whether it means the same, and the codes whose names say the same (`counterparts`).
- `search_codes("机加工")` — codes whose names match the words, best first.
- `suggest_codes("数控机床零部件的机械加工", …)` — codes for a scope text, from `ScopeModel`:
  TF-IDF over characters (1–3) and words (`tokens.tokenize`) of two kinds of labelled text, the
  code table's own names (each minor code's name, with its middle and major classes' names: the
  prior, so it works on an empty archive) and the archive's (scope text, code) pairs. A code's
  score is the larger of its best pair's cosine similarity and its name's similarity times
  `PRIOR_WEIGHT`; pairs agreeing on a code add a little (`AGREEMENT`).
- `ensure_model(models_dir, pairs)` — the model trained on these pairs, loaded from
  `<home>/models/` when the pairs' fingerprint matches, else trained and written atomically.
- `scope_query(q, …)` — what the `scope` command and `/api/v1/scopes` answer.

A scope text and a code name each say an activity and its object (汽车零部件 | 制造, 汽车零部件
及配件的 | 批发). Characters and words measure the object only: the trade and repair words
(批发, 零售, 销售, 修理 …) are taken out of both, like the generic 生产/制造 always were, since
they are few and so weigh much in TF-IDF although they say nothing about the object (this is why
汽车零部件制造 used to rank 29.03 汽车零部件及配件的批发 first: it shares the longer run of
characters). The activity is compared apart (`activities`, `code_activities`): the code's comes
from its name's head (…的批发 → 销售, 金属加工制品的维修 → 维修) or, when the name says none,
from its IAF sector (01–23 manufacturing, 24–27 making and supplying, 28 construction, 29
trade, 30–39 services); a code whose activity the text does not state has its score multiplied
by `OTHER_ACTIVITY`. A text stating several activities is first of all a manufacturer's when it
says 生产/制造/加工 (…的设计、生产和销售: its design and sales are part of making, and count as
other activities), otherwise the activity it names first, its others counting `SECOND_ACTIVITY`.

Counterparts in the other table are found by meaning, never by shared characters: both names are
cut into words by jieba (`tokens.meaning_words`, with the few synonyms of
`data/scope_synonyms.csv`: 机加工 = 机械加工, 维修 = 修理, 货运 = 货物运输 …), the shared words
weighted by how rare they are among all names of both tables (IDF, cosine), and candidates in the
same IAF sector ranked first (`SAME_SECTOR`); a candidate must be of the same activity and share a
word that is not just an activity (制造, 生产 …).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import re
import tempfile
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..catalog import Catalog
from ..codes import CODE_RE, DATA_DIR, table
from ..text import normalise
from .tokens import TOKENIZER_VERSION, meaning_words, tokenize

MODEL_VERSION = 2           # 2: trade and repair words out of the features, the activity apart
PRIOR_WEIGHT = 0.8          # a name's similarity counts this much against an archive pair's
AGREEMENT = 0.05            # added per further pair (up to 4) that agrees on a code
SECOND_ACTIVITY = 0.85      # a code of an activity the text names, but not its main one
OTHER_ACTIVITY = 0.3        # a code of an activity the text does not name
SAME_SECTOR = 1.5           # a counterpart in the same IAF sector counts this much more
SAME_MEANING = 0.5          # the meaning similarity from which two names say the same
WEAKEST_COUNTERPART = 0.25  # counterparts scoring less than this share of the best are left out
VERSIONS = ("2020", "legacy")

# Labels that follow a scope when a form's cells are read as one line, and the field wording
# certificates add around the same activity (EMS, OHSMS, ISMS).
_TRAILERS = re.compile(r"(管理体系运行情况|评审内容|本次发证|本次颁证|有效人数|审核安排|专业代码|删减|"
                       r"初次发证|发证日期|有效期|认证标准|审核准则|审核依据).*$")
_FIELD_WORDING = re.compile(r"(所涉及场所的相关(?:环境|职业健康安全|能源|食品安全)管理活动|"
                            r"(?:所涉及|涉及)的相关(?:环境|职业健康安全)管理活动)$")
_ISMS_WORDING = re.compile(r"^与(.+?)相关的信息安全管理活动$")
_CODE_QUERY = re.compile(r"^\s*(\d{2})(?:[.．](\d{2}))?(?:[.．](\d{2}))?\s*$")


def clean_scope(text: str | None) -> str | None:
    """A 认证范围 as the activity it names: what a form printed after it cut off, and the
    EMS/OHSMS/ISMS wording around it removed (…所涉及场所的相关环境管理活动 → …)."""
    if not text:
        return None
    s = re.sub(r"\s+", "", normalise(text))
    s = _TRAILERS.sub("", s)
    s = _FIELD_WORDING.sub("", s)
    m = _ISMS_WORDING.match(s)
    if m:
        s = m.group(1)
    s = s.strip("。;；,，:：")
    return s if len(s) >= 2 else None


# -- activities -----------------------------------------------------------------------------------

MAKE, TRADE, REPAIR, BUILD, SERVE = "制造", "销售", "维修", "施工", "服务"
# What a scope text may say it does. 加工 is an activity (食品加工) but also part of objects
# (机械加工, 金属加工制品), so it never leaves the features.
_TEXT_WORDS: dict[str, tuple[str, ...]] = {
    MAKE: ("制造", "生产", "加工", "制作", "装配", "组装", "铸造", "锻造", "冶炼", "酿造", "种植", "养殖",
           "饲养", "栽培", "开采", "采掘", "建造"),     # 建造: the tables build ships with it, 建设 buildings
    TRADE: ("批发", "零售", "销售", "经销", "分销", "贸易", "商贸", "进出口", "购销"),
    REPAIR: ("维修", "修理", "保养", "检修", "维护"),
    BUILD: ("施工", "安装", "装修", "装饰", "建设", "拆除"),
    SERVE: ("设计", "研发", "研究", "开发", "咨询", "检测", "测试", "运维", "运营", "运输", "货运",
            "客运", "仓储", "物流", "配送", "快递", "培训", "教育", "餐饮", "住宿", "物业", "租赁", "出租",
            "保洁", "清洁", "监理", "勘察", "编程", "数据处理"),
}
# A code name that says no activity has its sector's: 01–23 make things, recycling and the
# utilities (24–27) make, supply and sell them (发电, 配电和供电, 燃气的管道分配和供给).
_SECTOR_ACTIVITY = {**{f"{i:02d}": frozenset({MAKE}) for i in range(1, 24)},
                    **{f"{i:02d}": frozenset({MAKE, SERVE, TRADE}) for i in range(24, 28)},
                    "28": frozenset({BUILD}), "29": frozenset({TRADE}),
                    **{f"{i:02d}": frozenset({SERVE}) for i in range(30, 40)}}
# Out of the object features: they tell apart the activity, which is compared on its own.
_ACTIVITY_ONLY = frozenset(_TEXT_WORDS[TRADE] + _TEXT_WORDS[REPAIR])


def _words_re(words) -> re.Pattern:
    return re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)))


_TEXT_RE = {a: _words_re(ws) for a, ws in _TEXT_WORDS.items()}


def activities(text: str) -> list[str]:
    """The activities a scope text states, its main one first: 制造 whenever it makes something
    (…的设计、生产和销售 is a manufacturer's scope), else in the order the text names them."""
    t = normalise(text or "")
    found = sorted((m.start(), a) for a, rx in _TEXT_RE.items() if (m := rx.search(t)))
    acts = [a for _, a in found]
    if MAKE in acts:
        acts.remove(MAKE)
        acts.insert(0, MAKE)
    return acts


def name_activities(name: str, code: str) -> frozenset[str]:
    """A code's activities: what each clause of its name says after its last 的 (…的批发, 金属加工
    制品的维修, 燃气的生产，燃气通过管道的配送), else its IAF sector's (a utility's always)."""
    out: set[str] = set()
    for clause in re.split(r"[，,；;]", normalise(name or "")):
        head = clause.rsplit("的", 1)[-1]
        out |= {a for a, rx in _TEXT_RE.items() if rx.search(head)}
    if not out or code[:2] in ("24", "25", "26", "27"):
        out |= _SECTOR_ACTIVITY.get(code[:2], {MAKE})
    return frozenset(out)


@lru_cache(maxsize=2)
def code_activities(version: str) -> dict[str, frozenset[str]]:
    """Code → its activities, for every code of a table version."""
    return {c: name_activities(e.name, c) for c, e in table(version).items()}


def activity_factor(stated: list[str], acts: frozenset[str] | set[str]) -> float:
    """How far a code's activities agree with a text's (1 for a text that states none). A maker's
    other activities (its design, its sales) are part of making: they count as other activities."""
    if not stated or stated[0] in acts:
        return 1.0
    if stated[0] != MAKE and acts.intersection(stated):
        return SECOND_ACTIVITY
    return OTHER_ACTIVITY


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    """Word → the form the code names use (data/scope_synonyms.csv)."""
    with (DATA_DIR / "scope_synonyms.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {r["word"]: r["canonical"] for r in csv.DictReader(fh) if r.get("word")}


def canonical(text: str) -> str:
    """Text with the synonyms replaced by the forms the names use (机加工 → 机械加工)."""
    for word, canon in synonyms().items():
        if word in text:        # 客运 → 旅客运输, leaving a 旅客运输 already there as it is
            text = canon.join(piece.replace(word, canon) for piece in text.split(canon))
    return text


# -- the tables ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _sector_names() -> dict[str, dict[str, str]]:
    """IAF sector → {zh, en}: major classes of both tables (the 39 sectors did not change)."""
    with (DATA_DIR / "iaf_39_sectors.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {r["code"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in csv.DictReader(fh)}


def _entry(code: str, version: str) -> dict[str, Any] | None:
    """code → {code, name, level, table} in one table version; legacy majors from the IAF list."""
    tab = table(version)
    if code in tab:
        e = tab[code]
        return {"code": e.code, "name": e.name, "level": e.level, "table": version}
    if version == "legacy" and len(code) == 2 and code in _sector_names():
        return {"code": code, "name": _sector_names()[code]["zh"], "level": "major", "table": version}
    if version == "legacy" and len(code) == 5 and any(c.startswith(code + ".") for c in tab):
        return {"code": code, "name": None, "level": "middle", "table": version}
    return None


@lru_cache(maxsize=2)
def _children(version: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for code in sorted(table(version)):
        if version == "2020":
            parent = table(version)[code].parent
            if parent:
                out[parent].append(code)
        else:
            out[code[:5]].append(code)
            if code[:5] not in out[code[:2]]:
                out[code[:2]].append(code[:5])
    return out


def _parents(code: str, version: str) -> list[dict[str, Any]]:
    parts = code.split(".")
    return [e for i in range(1, len(parts)) if (e := _entry(".".join(parts[:i]), version))]


def lookup_code(code: str, version: str | None = None, equivalents: int = 3) -> dict[str, Any] | None:
    """A code in one table (the 2020 table unless `version` says "legacy", or the code is only in
    the legacy table): name, level, parents, children, and its counterpart in the other table:
    `same_number` (that table's code of the same number with `same_meaning`, or None when that
    table does not list it), `under_same_number` (when it does not: the codes it has below that
    number, each with `same_meaning`) and `equivalents` (its codes of the same meaning)."""
    code = normalise(code).strip().replace("．", ".")
    if version is None:
        version = "2020" if _entry(code, "2020") else "legacy"
    entry = _entry(code, version)
    if entry is None:
        return None
    other = "legacy" if version == "2020" else "2020"
    same = _entry(code, other)
    if same and not same["name"]:
        same = None             # a middle class the legacy table implies by its digits but never names
    under = [] if same else [
        {**e, "same_meaning": bool(entry["name"]) and same_meaning(entry["name"], e["name"])}
        for c in sorted(table(other)) if c.startswith(code + ".") and (e := _entry(c, other)) and e["name"]]
    counterpart = {
        "table": other,
        "same_number": {**same, "same_meaning": bool(entry["name"]) and same_meaning(entry["name"], same["name"])}
        if same else None,
        "under_same_number": under,
        "equivalents": counterparts(code, entry["name"], other, entry["level"], equivalents)
        if entry["name"] else [],
    }
    return {**entry, "parents": _parents(code, version),
            "children": [e for c in _children(version).get(code, []) if (e := _entry(c, version))],
            "counterpart": counterpart}


# -- meaning: the words of two names -----------------------------------------------------------------

# Words that say only what is done to a thing (制造, 销售, 修理, 安装 …) or that it is a product:
# sharing only these is no sign of the same meaning. (A service's words — 运输, 仓储, 设计 — are
# what it is about.)
_BARE = frozenset(w for a in (MAKE, TRADE, REPAIR, BUILD) for w in _TEXT_WORDS[a]) | {
    "制品", "产品", "用品", "设备", "物品"}


@lru_cache(maxsize=1)
def _idf() -> dict[str, float]:
    """Word → IDF over the names of both tables (each distinct name once)."""
    import math

    names = {e.name for v in VERSIONS for e in table(v).values() if e.name}
    df: dict[str, int] = defaultdict(int)
    for n in names:
        for w in meaning_words(n, synonyms()):
            df[w] += 1
    return {w: math.log((len(names) + 1) / (d + 1)) + 1 for w, d in df.items()}


@lru_cache(maxsize=8192)
def _meaning(name: str) -> tuple[dict[str, float], float]:
    """A name's words weighted by rarity, and the vector's length."""
    idf = _idf()
    top = max(idf.values(), default=1.0)
    vec = {w: wt * idf.get(w, top) for w, wt in meaning_words(name, synonyms()).items()}
    return vec, sum(v * v for v in vec.values()) ** 0.5


def meaning_similarity(a: str, b: str) -> float:
    """Cosine of two names' rarity-weighted words (0 when they share only activity words)."""
    (va, la), (vb, lb) = _meaning(a), _meaning(b)
    shared = set(va) & set(vb)
    if not la or not lb or not shared - _BARE:
        return 0.0
    return sum(va[w] * vb[w] for w in shared) / (la * lb)


def same_meaning(a: str | None, b: str | None) -> bool:
    """Two names that say the same (机加工 / 一般机械加工), not merely share characters."""
    return bool(a and b) and (normalise(a) == normalise(b) or meaning_similarity(a, b) >= SAME_MEANING)


def counterparts(code: str, name: str, version: str, level: str, limit: int = 3) -> list[dict[str, Any]]:
    """The codes of table `version` whose names mean what `name` (code `code` of the other table)
    means, best first: rarity-weighted shared words, the same IAF sector first (`SAME_SECTOR`);
    never a code of another activity (the repair of a thing is not its manufacture), nor those far
    behind the best (`WEAKEST_COUNTERPART`). Codes at the same level (the legacy table names minor
    codes only: a middle class is compared with them); none for a major class (the IAF sectors
    are the same in both tables)."""
    if level == "major" or not name:
        return []
    tab = table(version)
    pool = [e for e in tab.values() if e.name and e.level == level] or \
        [e for e in tab.values() if e.name and e.level == "minor"]
    own = name_activities(name, code)
    acts = code_activities(version)
    scored = []
    for e in pool:
        sim = meaning_similarity(name, e.name) if own & acts[e.code] else 0.0
        if sim > 0:
            weight = SAME_SECTOR if e.code[:2] == code[:2] else 1.0
            scored.append((sim * weight, e.code == code, sim, e))
    scored.sort(key=lambda t: (-t[0], not t[1], t[3].code))
    scored = [t for t in scored if t[0] >= WEAKEST_COUNTERPART * scored[0][0]]
    return [{"code": e.code, "name": e.name, "level": e.level, "table": version, "score": round(sim, 4),
             "same_sector": e.code[:2] == code[:2]} for _, _, sim, e in scored[:limit]]


# -- names → codes --------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _name_index(version: str):
    """TF-IDF (character 1–3-grams of what the names handle, `strip_generic`) over every code
    name of a table version."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    entries = [e for e in table(version).values() if e.name]
    names = [normalise(e.name) for e in entries]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=strip_generic)
    return entries, vec, vec.fit_transform(names)


def search_codes(words: str, version: str = "2020", limit: int = 10,
                 level: str | None = None) -> list[dict[str, Any]]:
    """Codes whose names match the words, best first (character n-gram cosine of what they
    handle; a name holding the whole query is ranked first; a name of another activity than the
    words state — 汽车配件销售 and …的制造 — counts `OTHER_ACTIVITY` as much)."""
    from sklearn.metrics.pairwise import linear_kernel

    query = re.sub(r"\s+", "", normalise(words))
    if not query:
        return []
    entries, vec, matrix = _name_index(version)
    scores = linear_kernel(vec.transform([query]), matrix).ravel()
    stated = activities(query)
    acts = code_activities(version)
    out = []
    for i in scores.argsort()[::-1]:
        e = entries[i]
        if scores[i] <= 0 or len(out) >= limit * 4:
            break
        if level and e.level != level:
            continue
        bonus = 0.5 if query in normalise(e.name) else 0.0
        factor = activity_factor(stated, acts.get(e.code, frozenset()))
        out.append({"code": e.code, "name": e.name, "level": e.level, "table": version,
                    "score": round(min(1.0, float(scores[i]) + bonus) * factor, 4)})
    return sorted(out, key=lambda m: -m["score"])[:limit]


# -- scope text → codes -----------------------------------------------------------------------------

def _prior_texts(version: str) -> tuple[list[str], list[str]]:
    """(name text, minor code) per minor code: its name with its middle and major classes' names."""
    tab = table(version)
    texts, codes = [], []
    for code, e in sorted(tab.items()):
        if e.level != "minor":
            continue
        middle = tab.get(code[:5])
        major = tab[code[:2]].name if code[:2] in tab else _sector_names().get(code[:2], {}).get("zh", "")
        parts = [e.name, e.name, middle.name if middle and middle.name != e.name else "", major]
        texts.append(normalise(" ".join(p for p in parts if p)))
        codes.append(code)
    return texts, codes


# Words every kind of activity uses (…的生产, …的制造, …服务活动): they tell codes apart only by
# accident (a name with 生产 is rare in the table, so 生产 would weigh much), so characters skip them.
_GENERIC = re.compile(r"的|生产|制造|制作|服务|活动|其他|未另分类|相关|及|和|、|，|（|）|\(|\)|\s")
_ACTIVITY_ONLY_RE = _words_re(_ACTIVITY_ONLY)


def object_text(text: str) -> str:
    """What a text says is handled, for the features: synonyms in the names' form, the trade and
    repair words out (the activity is compared apart, `activity_factor`)."""
    return _ACTIVITY_ONLY_RE.sub(" ", canonical(text))


def strip_generic(text: str) -> str:
    """Text without the generic activity words, for the character n-grams."""
    return _GENERIC.sub(" ", object_text(text))


def _features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True,
                                  preprocessor=strip_generic)),
        ("words", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False,
                                  preprocessor=object_text, sublinear_tf=True)),
    ])


class ScopeModel:
    """Scope text → codes of one table version (see the module docstring)."""

    def __init__(self, version: str = "2020", pairs: Iterable[tuple[str, str]] = ()):
        self.version = version
        tab = table(version)
        self.pairs = sorted({(t, c) for s, c in pairs if c in tab and (t := clean_scope(s))})
        self.fingerprint = fingerprint(self.pairs, version)
        self._fit()

    def _fit(self) -> None:
        from sklearn.preprocessing import normalize

        prior_texts, self.prior_codes = _prior_texts(self.version)
        pair_texts = [t for t, _ in self.pairs]
        self.features = _features().fit(prior_texts + pair_texts)
        self.prior = normalize(self.features.transform(prior_texts))
        self.pair_codes = [c for _, c in self.pairs]
        self.pair_matrix = normalize(self.features.transform(pair_texts)) if pair_texts else None

    def suggest(self, text: str, limit: int = 5) -> list[dict[str, Any]]:
        """Codes for a scope text, best first, with scores in [0, 1] and the pairs behind them."""
        from sklearn.preprocessing import normalize

        query = clean_scope(text) or normalise(text or "")
        if not query.strip():
            return []
        q = normalize(self.features.transform([query]))
        stated = activities(query)
        acts = code_activities(self.version)
        scores: dict[str, float] = {}
        evidence: dict[str, list[str]] = defaultdict(list)
        prior = (self.prior @ q.T).toarray().ravel()
        if stated:
            prior = prior * [activity_factor(stated, acts[c]) for c in self.prior_codes]
        for i in prior.argsort()[::-1][: limit * 4]:
            if prior[i] > 0:
                scores[self.prior_codes[i]] = PRIOR_WEIGHT * float(prior[i])
        if self.pair_matrix is not None:
            sims = (self.pair_matrix @ q.T).toarray().ravel()
            if stated:
                sims = sims * [activity_factor(stated, acts[c]) for c in self.pair_codes]
            per_code: dict[str, list[float]] = defaultdict(list)
            for i in sims.argsort()[::-1][: limit * 8]:
                if sims[i] > 0:
                    per_code[self.pair_codes[i]].append(float(sims[i]))
                    evidence[self.pair_codes[i]].append(self.pairs[i][0])
            for code, sims_c in per_code.items():
                best = sims_c[0] + AGREEMENT * sum(1 for s in sims_c[1:5] if s > 0.3)
                scores[code] = max(scores.get(code, 0.0), min(1.0, best))
        tab = table(self.version)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [{"code": c, "name": tab[c].name, "level": tab[c].level, "table": self.version,
                 "score": round(s, 4), "examples": evidence.get(c, [])[:3]} for c, s in ranked]


def fingerprint(pairs: list[tuple[str, str]], version: str) -> str:
    """What a trained model depends on: its pairs, table, code and tokenizer versions."""
    h = hashlib.sha256(f"{MODEL_VERSION}|{TOKENIZER_VERSION}|{version}|".encode())
    for text, code in sorted(pairs):
        h.update(f"{text}\t{code}\n".encode("utf-8"))
    return h.hexdigest()[:16]


def archive_pairs(catalog: Catalog, version: str = "2020") -> list[tuple[str, str]]:
    """The archive's own (scope text, code) pairs: each case's scope with each of its codes
    (cases whose codes are read in `version`). Kept per catalogue state (documents and when the
    last was written), so a stream of suggestions builds the cases once."""
    from .cases import build_cases

    state = (str(catalog.path), version) + tuple(catalog.db.execute(
        "select count(*), max(ingested_at) from documents").fetchone())
    if state not in _PAIRS:
        pairs = set()
        for case in build_cases(catalog):
            if case.scope and case.code_table == version:
                pairs.update((case.scope, c) for c in case.codes)
        _PAIRS.clear()
        _PAIRS[state] = sorted(pairs)
    return _PAIRS[state]


_PAIRS: dict[tuple, list[tuple[str, str]]] = {}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_path(models_dir: Path, version: str = "2020") -> Path:
    return Path(models_dir) / f"scopes-{version}-v{MODEL_VERSION}.pickle"


def ensure_model(models_dir: Path | None, pairs: list[tuple[str, str]],
                 version: str = "2020") -> tuple[ScopeModel, bool]:
    """The model for these pairs and whether it was (re)trained: loaded when the file under
    `models_dir` has the same fingerprint, else trained and written atomically (model, then its
    meta file). Without `models_dir` the model is only kept in memory."""
    import sklearn

    tab = table(version)
    want = fingerprint(sorted({(t, c) for s, c in pairs if c in tab and (t := clean_scope(s))}), version)
    key = (str(models_dir), version)
    cached = _MODELS.get(key)
    if cached and cached.fingerprint == want:
        return cached, False
    if models_dir is not None:
        path = model_path(models_dir, version)
        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("fingerprint") == want and meta.get("sklearn") == sklearn.__version__:
                model = pickle.loads(path.read_bytes())
                if isinstance(model, ScopeModel) and model.fingerprint == want:
                    _MODELS[key] = model
                    return model, False
        except (OSError, ValueError, pickle.UnpicklingError, AttributeError, EOFError):
            pass
    model = ScopeModel(version, pairs)
    if models_dir is not None:
        path = model_path(models_dir, version)
        _write_atomic(path, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        _write_atomic(path.with_suffix(".json"), json.dumps({
            "fingerprint": model.fingerprint, "version": version, "model_version": MODEL_VERSION,
            "pairs": len(model.pairs), "codes": len(set(model.pair_codes)),
            "sklearn": sklearn.__version__}, ensure_ascii=False, indent=1).encode("utf-8"))
    _MODELS[key] = model
    return model, True


_MODELS: dict[tuple[str, str], ScopeModel] = {}


def suggest_codes(text: str, catalog: Catalog | None = None, models_dir: Path | None = None,
                  limit: int = 5, version: str = "2020") -> list[dict[str, Any]]:
    """Codes for a scope text, trained on the archive's pairs when a catalogue is given."""
    pairs = archive_pairs(catalog, version) if catalog is not None else []
    model, _ = ensure_model(models_dir, pairs, version)
    return model.suggest(text, limit)


# -- one entry point for the command line and the API ---------------------------------------------

def scope_query(query: str, catalog: Catalog | None = None, models_dir: Path | None = None,
                limit: int = 10, version: str | None = None) -> dict[str, Any]:
    """`{"query", "kind", "matches": [{"code", "name", "level", "score", …}]}`, best first.
    kind: "code" (that code first, then its children; `lookup` holds its hierarchy and
    counterpart), "words" (a few characters: names that match) or "text" (a scope text:
    suggested codes, with name matches after them)."""
    q = normalise(query or "").strip()
    m = _CODE_QUERY.match(q)
    if m or CODE_RE.fullmatch(q):
        code = ".".join(g for g in (m.groups() if m else q.split(".")) if g)
        info = lookup_code(code, version)
        if info is None:
            return {"query": query, "kind": "code", "matches": [], "lookup": None}
        head = {k: info[k] for k in ("code", "name", "level", "table")}
        matches = [{**head, "score": 1.0}] + [{**c, "score": 0.9} for c in info["children"]][: max(0, limit - 1)]
        return {"query": query, "kind": "code", "matches": matches, "lookup": info}
    version = version or "2020"
    compact_q = re.sub(r"\s+", "", q)
    if len(compact_q) <= 6:
        return {"query": query, "kind": "words", "matches": search_codes(compact_q, version, limit)}
    suggested = suggest_codes(q, catalog, models_dir, limit, version)
    seen = {s["code"] for s in suggested}
    named = [n for n in search_codes(compact_q, version, limit) if n["code"] not in seen]
    return {"query": query, "kind": "text", "matches": (suggested + named)[:limit]}


__all__ = ["clean_scope", "lookup_code", "search_codes", "ScopeModel", "ensure_model", "suggest_codes",
           "scope_query", "archive_pairs", "fingerprint", "model_path", "VERSIONS"]
