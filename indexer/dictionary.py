"""The domain dictionary for jieba: certification words, code-table and clause names, and the
organisation names learned from the catalogue.

- `domain_words()` — the static dictionary: `data/terms.txt` (certification and management-system
  vocabulary), the Chinese names of the field synonyms (`indexer.synonyms`), the specialty-code names
  of both code tables cut into words, and the clause titles of GB/T 19001 / 24001 / 45001 cut into
  words. `load_domain_dictionary()` adds them to jieba (the analyzer's `ensure_jieba` does it once a
  process); `fingerprint()` names this dictionary, for the schema version.
- `short_names(full_name)` — the short forms of an organisation name (字号, city + 字号, …).
- `add_org_names(names)` — teach jieba organisation names and their short forms.

Frequencies. A word without an explicit frequency gets `margin` × what jieba's route gives its
pieces together (`suggest_freq`'s rule), so it is cut out whole where it appears, without
outweighing neighbouring words. Words are normalised as the analyzer sees text (NFKC, simplified,
lowercase), since jieba is run on normalised text.
"""
from __future__ import annotations

import hashlib
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

__all__ = ["domain_words", "load_domain_dictionary", "fingerprint", "short_names", "add_org_names",
           "learned_org_names", "code_name_words", "clause_title_words", "COMPANY_SUFFIXES"]

DATA = Path(__file__).parent / "data"

# Legal-form endings, longest first (the first that matches is removed).
COMPANY_SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "股份公司", "集团公司",
    "总公司", "分公司", "公司", "合伙企业", "有限合伙", "合作社", "专业合作社", "研究院", "研究所", "设计院",
    "事务所", "工作室", "加工厂", "制造厂", "总厂", "分厂", "厂", "商行", "经营部", "门市部", "中心", "集团",
)
_COMPANY_SUFFIXES = tuple(sorted(set(COMPANY_SUFFIXES), key=len, reverse=True))
# Leading verbs of clause titles (确定质量管理体系的范围 → 质量管理体系, 范围).
_TITLE_VERBS = ("理解", "确定", "制定", "沟通", "实现", "应对", "消除", "降低", "提供给", "创建")
# Code-table names: where to cut a name into words.
_NAME_CUTS = re.compile(r"[、，,；;（）()\s/]+|以及|及其|或者|的|和|及|与|或|等")
_FUNCTION = re.compile(r"[的和及与或等]")
_HAN_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")

_lock = threading.Lock()
_org_words: set[str] = set()
_org_names: list[str] = []


def _read_words(name: str) -> list[str]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def _norm(word: str) -> str:
    from indexer.analysis import normalise_chars

    return re.sub(r"\s+", "", normalise_chars(word))


# -- the static dictionary ------------------------------------------------------------------------

def _words_of_name(name: str, max_len: int = 8) -> list[str]:
    """A code-table name or clause title cut into words; the whole name too when short and plain."""
    out = []
    name = name.strip()
    if len(name) <= max_len and _HAN_ONLY.match(name) and not _FUNCTION.search(name):
        out.append(name)
    for part in _NAME_CUTS.split(name):
        part = part.strip()
        if part.startswith("其他") and len(part) > 3:
            part = part[2:]
        for verb in _TITLE_VERBS:
            if part.startswith(verb) and len(part) > len(verb) + 1:
                part = part[len(verb):]
                break
        if part.startswith(("在", "为", "对", "以", "由", "从", "未", "向")):
            continue
        if 2 <= len(part) <= max_len and _HAN_ONLY.match(part):
            out.append(part)
    return out


@lru_cache(maxsize=1)
def code_name_words() -> tuple[str, ...]:
    """Words from the names of both specialty-code tables (谷物（稻米除外），豆科作物… → 谷物, 稻米除外, …)."""
    from archive.codes import table_2020, table_legacy

    words: dict[str, None] = {}
    for table in (table_2020(), table_legacy()):
        for entry in table.values():
            for w in _words_of_name(entry.name):
                words.setdefault(w)
    return tuple(words)


@lru_cache(maxsize=1)
def clause_title_words() -> tuple[str, ...]:
    """Words from the clause titles (不合格和纠正措施 → 不合格, 纠正措施)."""
    from archive.clauses import clause_titles

    words: dict[str, None] = {}
    for title in clause_titles().values():
        for w in _words_of_name(title):
            words.setdefault(w)
    return tuple(words)


@lru_cache(maxsize=1)
def domain_words() -> tuple[tuple[str, int | None], ...]:
    """The static dictionary as (word, frequency or None), normalised, first occurrence kept."""
    from indexer.synonyms import groups

    entries: dict[str, int | None] = {}

    def put(word: str, freq: int | None = None) -> None:
        word = _norm(word)
        if len(word) >= 2 and word not in entries:
            entries[word] = freq

    for line in _read_words("terms.txt"):
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        put(parts[0], freq)
    for group in groups():
        for variant in group:
            if _HAN_ONLY.match(variant) and len(variant) <= 10:
                put(variant)
    for w in code_name_words():
        put(w)
    for w in clause_title_words():
        put(w)
    return tuple(entries.items())


def fingerprint() -> str:
    """A short hash of the static dictionary and the jieba version: put it in the schema version,
    since a changed dictionary changes how text is cut."""
    import jieba

    h = hashlib.sha1(jieba.__version__.encode())
    for word, freq in domain_words():
        h.update(f"{word}\t{freq}\n".encode())
    return h.hexdigest()[:12]


def _whole_freq(dt, word: str, margin: float) -> int | None:
    """jieba's suggest_freq rule × margin: enough for `word` to be cut out whole; None when jieba
    already cuts it whole (its frequency is left alone)."""
    pieces = list(dt.cut(word, HMM=False))
    if len(pieces) == 1:
        return None
    total = float(dt.total)
    p = 1.0
    for piece in pieces:
        p *= dt.FREQ.get(piece, 1) / total
    return max(int(p * total * margin) + 1, dt.FREQ.get(word, 0) or 0)


def _add(dt, word: str, freq: int | None, margin: float) -> bool:
    if freq is None:
        freq = _whole_freq(dt, word, margin)
        if freq is None:
            return False
    if dt.FREQ.get(word, 0) >= freq:
        return False
    dt.add_word(word, freq)
    return True


def load_domain_dictionary(dt=None, margin: float = 10.0) -> int:
    """Add the static dictionary to jieba (`dt`, default jieba's own). Returns how many words were
    added or raised. Called by `indexer.analysis.ensure_jieba`; cheap (~0.1 s for ~2,500 words)."""
    if dt is None:
        from indexer.analysis import ensure_jieba

        ensure_jieba()  # loads us
        return 0
    return sum(_add(dt, w, f, margin) for w, f in domain_words())


# -- organisation names ---------------------------------------------------------------------------

_ADMIN_SUFFIX = ("经济技术开发区|高新技术产业开发区|高新区|开发区|新区|特别行政区|自治区|自治州|地区|省|市|区|县|镇|乡")


@lru_cache(maxsize=1)
def _place_re() -> re.Pattern:
    """A leading place name (from data/places.txt) with its administrative suffix, if any."""
    names = {w for line in _read_words("places.txt") for w in line.split()}
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(rf"^(?:{alternatives})(?:{_ADMIN_SUFFIX})?")


@lru_cache(maxsize=1)
def _industry() -> frozenset[str]:
    return frozenset(w for line in _read_words("industry_words.txt") for w in line.split())


_PAREN = re.compile(r"[（(][^（）()]{1,12}[）)]")
_PLACE_SUFFIX = re.compile(rf"^[\u4e00-\u9fff]{{2,4}}?(?:{_ADMIN_SUFFIX})")


def _industry_parse(rest: str) -> list[str] | None:
    """`rest` as a sequence of industry words, finest first (精密机械 → 精密, 机械), or None."""
    words = _industry()
    n = len(rest)
    best: list[list[str] | None] = [None] * (n + 1)
    best[n] = []
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n + 1):
            if rest[i:j] in words and best[j] is not None:
                cand = [rest[i:j]] + best[j]  # type: ignore[operator]
                if best[i] is None or len(cand) > len(best[i]):  # type: ignore[arg-type]
                    best[i] = cand
    return best[0]


def _strip_place(name: str) -> tuple[str, str]:
    """(place, rest): up to three leading place names (浙江宁波…, 上海市浦东新区…) taken off, as
    long as a trade name is left (中山精工: 中山 is the trade name here, not the city)."""
    place = ""
    for _ in range(3):
        m = _place_re().match(name) or _PLACE_SUFFIX.match(name)
        if m is None or len(name) - m.end() < 2:
            break
        rest = name[m.end():]
        if _industry_parse(rest) is not None:  # nothing left but industry words
            break
        place, name = place + m.group(), rest
    return place, name


def _base(piece: str) -> str:
    return re.sub(rf"(?:{_ADMIN_SUFFIX})$", "", piece) or piece


_PROVINCES = frozenset("河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
                       "云南 陕西 甘肃 青海 内蒙古 广西 西藏 宁夏 新疆 台湾".split())


def _city(place: str) -> str:
    """The city of a stripped place prefix, without suffix: 浙江省宁波市北仑区 → 宁波,
    上海市浦东新区 → 上海, 浙江 → 浙江."""
    pieces = []
    while place:
        m = _place_re().match(place) or _PLACE_SUFFIX.match(place)
        if m is None:
            break
        pieces.append(m.group())
        place = place[m.end():]
    if not pieces:
        return ""
    if len(pieces) > 1 and (_base(pieces[0]) in _PROVINCES or pieces[0].endswith(("省", "自治区"))):
        return _base(pieces[1])
    return _base(pieces[0])


def _name_forms(full_name: str) -> tuple[str, str, str, str, str]:
    """(trade, city + trade, trade + first industry word, core, place + core); "" where absent."""
    from archive.text import normalise

    name = re.sub(r"\s+", "", normalise(full_name))
    bracketed = ""
    for m in _PAREN.finditer(name):  # 恒信精工机械（苏州）有限公司: 苏州 is the city
        inner = m.group()[1:-1]
        pm = _place_re().match(inner)
        if not bracketed and pm and pm.end() == len(inner):
            bracketed = _base(inner)
    name = _PAREN.sub("", name)
    for suffix in _COMPANY_SUFFIXES:
        i = name.find(suffix)
        if i >= 2:
            name = name[:i]
            break
    place, core = _strip_place(name)
    if len(core) < 2:
        return "", "", "", "", ""
    trade, industry = core, []
    for i in range(2, len(core)):
        parsed = _industry_parse(core[i:])
        if parsed:
            trade, industry = core[:i], parsed
            break
    else:
        if len(core) >= 4 and _HAN_ONLY.match(core):
            trade, industry = core[:2], [core[2:]]
    city = _city(place) or bracketed
    return (trade, city + trade if city else "", trade + industry[0] if industry else "",
            core, place + core if place else "")


def short_names(full_name: str) -> list[str]:
    """Short forms of an organisation name:
    宁波恒达精密机械有限公司 → [恒达, 宁波恒达, 恒达精密, 恒达精密机械, 宁波恒达精密机械].
    Strips a bracketed place (恒达精密机械（宁波）有限公司), the legal form (有限公司, 股份有限公司,
    …, and anything after it such as 宁波分公司), then leading provinces/cities/districts; the trade
    name (字号) is the shortest head of 2+ characters after which only industry words follow
    (`data/industry_words.txt`), else the first two characters. Names are NFKC-normalised and
    simplified first; never returns the full name itself or anything shorter than 2 characters."""
    out: list[str] = []
    for cand in _name_forms(full_name):
        if len(cand) >= 2 and cand != full_name and cand not in out:
            out.append(cand)
    return out


def add_org_names(names: Iterable[str], margin: float = 10.0) -> int:
    """Teach jieba organisation names learned from the catalogue. Each full name is cut out whole
    (the analyzer then splits it back into its parts on both sides, so a phrase inside it still
    matches, and stacks the whole name as an index token); its trade name (恒达) and city + trade
    name (宁波恒达) become words. Trade name + industry words (恒达精密) are NOT added: jieba's
    integer frequencies cannot make them whole on their own without letting them win inside the name
    (恒达精密|机械 instead of 恒达|精密机械, which would lose the phrase 精密机械有限公司); the query
    恒达精密 still finds the name as the phrase 恒达 精密. Returns how many words were added.
    Call it before indexing and in every process that parses queries, with the same names:
    segmentation must agree on both sides."""
    from indexer.analysis import clear_caches, ensure_jieba

    dt = ensure_jieba()
    added = 0
    with _lock:
        for full in names:
            if not full:
                continue
            key = _norm(full)
            if key in _org_words:
                continue
            _org_words.add(key)
            _org_names.append(full)
            if len(key) >= 2:
                added += _add(dt, key, None, margin)
            trade, city_trade = _name_forms(full)[:2]
            for form in (trade, city_trade):
                w = _norm(form)
                if len(w) >= 2 and w != key:
                    added += _add(dt, w, None, margin)
        if added:
            clear_caches()
    return added


def learned_org_names() -> list[str]:
    """The organisation names `add_org_names` has taught jieba in this process, in order (to persist
    beside the index, so that a process that only queries can learn the same names)."""
    with _lock:
        return list(_org_names)
