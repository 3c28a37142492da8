"""Words for the mining models: normalised text cut by jieba with the code-table names as words.

The search index has its own analyzer (indexer/analysis.py), but `archive` must not import the
indexer, and a model must cut text the same way when it is trained and when it is used. So mining
keeps its own jieba instance (never jieba's shared default, which the indexer extends at run time)
with a fixed dictionary: the words of both code tables' names and of the clause titles.
`tokenize` is a module-level function so that fitted vectorizers that use it can be pickled.
"""
from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

from ..clauses import clause_titles
from ..codes import table_2020, table_legacy
from ..text import normalise

# Bumped whenever the cut changes: models trained with another cut are retrained.
TOKENIZER_VERSION = 1

STOPWORDS = frozenset("的 了 和 与 及 或 等 对 在 为 是 将 把 被 其 之 并 而 且 也 于 以 由 从 有 无 "
                      "其他 相关 所 涉及 内 中 各 该".split())
_NAME_CUTS = re.compile(r"[、，,；;：:（）()\s/]+|以及|及其|或者|的|和|及|与|或|等")
_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+$")
_KEEP = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]{2,}")
_lock = threading.Lock()


def _name_words() -> list[str]:
    """Words of the code names and clause titles (谷物（稻米除外），豆科作物… → 谷物, 豆科作物, …)."""
    names = [e.name for e in table_2020().values()] + [e.name for e in table_legacy().values()]
    names += list(clause_titles().values())
    words: dict[str, None] = {}
    for name in names:
        for part in _NAME_CUTS.split(normalise(name)):
            if part.startswith("其他"):
                part = part[2:]
            if 2 <= len(part) <= 8 and _HAN_ONLY.match(part):
                words.setdefault(part)
    return list(words)


@lru_cache(maxsize=1)
def _jieba():
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        dt = jieba.Tokenizer()
        dt.initialize()
        for w in _name_words():
            dt.add_word(w)
        return dt


def tokenize(text: str) -> list[str]:
    """Normalised, lower-cased words without punctuation, digits-only pieces or stopwords."""
    text = normalise(text or "").lower()
    out = []
    for w in _jieba().cut(text, HMM=False):
        w = w.strip()
        if w and w not in STOPWORDS and _KEEP.search(w):
            out.append(w)
    return out


# -- the words of a code name, for comparing the meaning of two names -----------------------------

# Words that say nothing about what a code covers (其他…, 未另分类的…, …及类似…).
_VAGUE = frozenset("其他 其它 一般 未另 分类 未另分类 相关 类似 有关 以及 及其 包括 除外 活动 服务 之外 "
                   "各种 各类 专门 通用".split())
_EXCLUDED = re.compile(r"[（(][^）)]*除外[）)]")         # （稻米除外）: what a name leaves out
_VAGUE_CUT = re.compile(r"其他|其它|未另分类的?")
SUBWORD_WEIGHT = 0.5


@lru_cache(maxsize=1)
def _added_words() -> frozenset[str]:
    """The words the mining cut knows only because a code name or clause title holds them."""
    return frozenset(_name_words())


def meaning_words(name: str, synonyms: dict[str, str] | None = None) -> dict[str, float]:
    """A name's words with weights: the mining cut's words (1.0) and the shorter words inside them
    that the dictionary knows (货物运输 → 货物, 运输: `SUBWORD_WEIGHT`). A name part the cut knows
    as one word only because a code name holds it (一般机械加工) counts as the words it is made of
    (一般 | 机械加工: 1.0; itself and the rest 0.5), as in jieba's own dictionary. Single characters,
    stopwords, vague words (其他, 一般 …) and what a name excludes (（…除外）) are left out.
    `synonyms` maps a word to the form both tables share (机加工 → 机械加工) before the cut."""
    text = _EXCLUDED.sub(" ", normalise(name or ""))
    text = _VAGUE_CUT.sub(" ", text)
    for word, canon in (synonyms or {}).items():
        if word in text:
            text = canon.join(piece.replace(word, canon) for piece in text.split(canon))
    dt = _jieba()
    out: dict[str, float] = {}

    def add(w: str, weight: float) -> None:
        if len(w) >= 2 and w not in STOPWORDS and w not in _VAGUE and _HAN_ONLY.match(w):
            out[w] = max(out.get(w, 0.0), weight)

    for part in _NAME_CUTS.split(text):
        for w in dt.cut(part, HMM=False) if part else ():
            # the dictionary's words inside it, and those of them no longer one holds (一般, 机械加工)
            inner = [(i, i + n) for n in range(len(w) - 1, 1, -1) for i in range(len(w) - n + 1)
                     if dt.FREQ.get(w[i:i + n])]
            longest = sorted(a for a in inner if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in inner))
            tiles = bool(longest) and longest[0][0] == 0 and longest[-1][1] == len(w) and all(
                a[1] == b[0] for a, b in zip(longest, longest[1:]))
            compound = tiles and w in _added_words()      # a name part the cut knows as a word: 一般 | 机械加工
            add(w, SUBWORD_WEIGHT if compound else 1.0)
            for i, j in inner:
                add(w[i:j], 1.0 if compound and (i, j) in longest else SUBWORD_WEIGHT)
    return out
