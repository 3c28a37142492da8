"""Scope lookups: specialty codes by number, by words, and suggested for a 认证范围 text.

- `lookup_code("17.10.02")` — name, level, parents, children and the counterpart in the other
  table version (the same number read in the other table, and the codes whose names say the same).
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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..catalog import Catalog
from ..codes import CODE_RE, DATA_DIR, table
from ..text import normalise
from .tokens import TOKENIZER_VERSION, tokenize

MODEL_VERSION = 1
PRIOR_WEIGHT = 0.8          # a name's similarity counts this much against an archive pair's
AGREEMENT = 0.05            # added per further pair (up to 4) that agrees on a code
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
    the legacy table): name, level, parents, children, and its counterpart in the other table."""
    code = normalise(code).strip().replace("．", ".")
    if version is None:
        version = "2020" if _entry(code, "2020") else "legacy"
    entry = _entry(code, version)
    if entry is None:
        return None
    other = "legacy" if version == "2020" else "2020"
    same = _entry(code, other)
    counterpart = {
        "table": other,
        "same_number": {**same, "same_meaning": bool(same and same["name"] and
                                                     _similar_names(entry["name"], same["name"]))} if same else None,
        "equivalents": search_codes(entry["name"], version=other, limit=equivalents,
                                    level=entry["level"]) if entry["name"] else [],
    }
    return {**entry, "parents": _parents(code, version),
            "children": [e for c in _children(version).get(code, []) if (e := _entry(c, version))],
            "counterpart": counterpart}


def _similar_names(a: str, b: str) -> bool:
    """Same meaning, roughly: most character bigrams shared."""
    ga, gb = {a[i:i + 2] for i in range(len(a) - 1)}, {b[i:i + 2] for i in range(len(b) - 1)}
    return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) >= 0.6


# -- names → codes --------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _name_index(version: str):
    """TF-IDF (character 1–3-grams) over every code name of a table version."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    entries = [e for e in table(version).values() if e.name]
    names = [normalise(e.name) for e in entries]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    return entries, vec, vec.fit_transform(names)


def search_codes(words: str, version: str = "2020", limit: int = 10,
                 level: str | None = None) -> list[dict[str, Any]]:
    """Codes whose names match the words, best first (character n-gram cosine; a name holding
    the whole query is ranked first)."""
    from sklearn.metrics.pairwise import linear_kernel

    query = re.sub(r"\s+", "", normalise(words))
    if not query:
        return []
    entries, vec, matrix = _name_index(version)
    scores = linear_kernel(vec.transform([query]), matrix).ravel()
    out = []
    for i in scores.argsort()[::-1]:
        e = entries[i]
        if scores[i] <= 0 or len(out) >= limit:
            break
        if level and e.level != level:
            continue
        bonus = 0.5 if query in normalise(e.name) else 0.0
        out.append({"code": e.code, "name": e.name, "level": e.level, "table": version,
                    "score": round(min(1.0, float(scores[i]) + bonus), 4)})
    return sorted(out, key=lambda m: -m["score"])


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


def strip_generic(text: str) -> str:
    """Text without the generic activity words, for the character n-grams."""
    return _GENERIC.sub(" ", text)


def _features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True,
                                  preprocessor=strip_generic)),
        ("words", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False,
                                  sublinear_tf=True)),
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
        scores: dict[str, float] = {}
        evidence: dict[str, list[str]] = defaultdict(list)
        prior = (self.prior @ q.T).toarray().ravel()
        for i in prior.argsort()[::-1][: limit * 4]:
            if prior[i] > 0:
                scores[self.prior_codes[i]] = PRIOR_WEIGHT * float(prior[i])
        if self.pair_matrix is not None:
            sims = (self.pair_matrix @ q.T).toarray().ravel()
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
