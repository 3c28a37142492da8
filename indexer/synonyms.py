"""Synonyms for query expansion: certification fields and their standards, audit stages, findings.

The table is data (`data/synonyms.txt`, one group a line). Variants are matched after query-mode
analysis, so `GB/T19001`, `ｇｂ／ｔ　１９００１` and `gb/t 19001` are the same variant.

- `groups()` — every group, as written (the first variant names the group).
- `expand(term)` — the group of `term`, `term` first; `[term]` when it has none.
- `expand_query(query, fieldname)` — a Whoosh query with every Term, Phrase, or run of Terms in an
  And (what the parser makes of an unquoted multi-word variant) in `fieldname` that equals a variant
  replaced by an Or of all the group's variants, each analysed with the query analyzer (a one-token
  variant becomes a Term, a longer one a Phrase), keeping the original's boost.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from whoosh import query as wq

from indexer import analysis

__all__ = ["groups", "expand", "expand_query", "variant_tokens"]

DATA = Path(__file__).parent / "data" / "synonyms.txt"


@lru_cache(maxsize=1)
def groups() -> tuple[tuple[str, ...], ...]:
    """The synonym groups as written in the table."""
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(tuple(v.strip() for v in line.split("|") if v.strip()))
    return tuple(out)


def variant_tokens(text: str) -> tuple[str, ...]:
    """How the query analyzer cuts a variant (the key it is matched by)."""
    return tuple(analysis.tokens(text, mode="query"))


@lru_cache(maxsize=1)
def _group_keys() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Per group, its variants' analysed forms, deduplicated, in table order."""
    out = []
    for group in groups():
        keys: list[tuple[str, ...]] = []
        for variant in group:
            key = variant_tokens(variant)
            if key and key not in keys:
                keys.append(key)
        out.append(tuple(keys))
    return tuple(out)


@lru_cache(maxsize=1)
def _by_tokens() -> dict[tuple[str, ...], int]:
    index: dict[tuple[str, ...], int] = {}
    for i, keys in enumerate(_group_keys()):
        for key in keys:
            index.setdefault(key, i)
    return index


def _forget() -> None:
    _group_keys.cache_clear()
    _by_tokens.cache_clear()


def expand(term: str) -> list[str]:
    """`term` and the other variants of its group (`term` first); `[term]` when it has none."""
    i = _by_tokens().get(variant_tokens(term))
    if i is None:
        return [term]
    key = variant_tokens(term)
    return [term] + [v for v in groups()[i] if variant_tokens(v) != key]


def _is_term(q: wq.Query, fieldname: str) -> bool:
    return isinstance(q, wq.Term) and q.fieldname == fieldname and isinstance(q.text, str)


def _group_query(fieldname: str, words: tuple[str, ...], i: int, boost: float) -> wq.Query:
    keys = [words] + [k for k in _group_keys()[i] if k != words]
    return wq.Or([wq.Term(fieldname, k[0], boost=boost) if len(k) == 1
                  else wq.Phrase(fieldname, list(k), boost=boost) for k in keys])


def expand_query(q: wq.Query, fieldname: str) -> wq.Query:
    """`q` with each synonym in `fieldname` replaced by an Or of its group: a Term or Phrase equal
    to a variant, or a run of consecutive Terms inside an And equal to one (the parser turns the
    unquoted `GB/T 19001 有效` into And(gb, t, 19001, 有效); the longest run wins)."""
    index = _by_tokens()
    longest = max((len(k) for k in index), default=1)

    def rewrite(node: wq.Query) -> wq.Query:
        if _is_term(node, fieldname):
            i = index.get((node.text,))
            return node if i is None else _group_query(fieldname, (node.text,), i, node.boost)
        if isinstance(node, wq.Phrase) and node.fieldname == fieldname:
            words = tuple(node.words)
            i = index.get(words)
            return node if i is None else _group_query(fieldname, words, i, node.boost)
        if isinstance(node, wq.And):
            subs = list(node.subqueries)
            out: list[wq.Query] = []
            k = 0
            while k < len(subs):
                best = None
                words: list[str] = []
                j = k
                while j < len(subs) and j - k < longest and _is_term(subs[j], fieldname):
                    words.append(subs[j].text)
                    j += 1
                    if tuple(words) in index:
                        best = (j, tuple(words))
                if best is not None:
                    out.append(_group_query(fieldname, best[1], index[best[1]], subs[k].boost))
                    k = best[0]
                else:
                    out.append(rewrite(subs[k]))
                    k += 1
            return out[0] if len(out) == 1 else wq.And(out, boost=node.boost)
        if node.is_leaf():
            return node
        return node.apply(rewrite)

    return rewrite(q)


analysis.on_clear(_forget)  # the analysed forms depend on the jieba dictionary
