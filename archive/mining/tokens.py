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
