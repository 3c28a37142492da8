"""The jieba analyzer for Whoosh: Chinese words with token-index positions and character offsets.

Pipeline of `JiebaTokenizer` (one pass; no filters needed after it):

1. **Normalise character by character** with `archive.text.normalise` (NFKC: `ＱＭＳ１２３` → `QMS123`;
   dashes unified; traditional → simplified with OpenCC t2s), then lowercase. Every character maps to
   exactly one character, so offsets in the normalised string are offsets into the text passed in
   (highlights need that). Where a conversion would change the length (NFKC of `㎡` is `m2`) the
   original character is kept. t2s therefore runs per character (context-free; cached per code point,
   `str.translate` does the rest in C): a character always converts the same way on the index and the
   query side, but OpenCC's phrase rules (瞭解 → 了解) are not applied, and a traditional character
   with several simplified forms takes OpenCC's first. Control characters become blanks, all line
   breaks `\n`.
2. **Join what layout split.** PDF text layers break lines inside words and space characters out
   (`受 审 核 方`): a run of blanks or line breaks with a Han character on one side and a Han
   character, letter or digit on the other is left out of the string jieba sees (offsets still point
   into the original, so such a token's slice contains the break). Between two letters or digits a
   line break is a blank (`ISO\n9001`). Any other line break is a boundary (step 4).
   `join_lines=False` makes every line break a boundary.
3. **Segment** with jieba, accurate mode with HMM, domain dictionary loaded (`ensure_jieba`).
4. **Boundaries.** Punctuation and blanks are not tokens. Sentence and clause punctuation (`。！？；，、…`,
   a line break left by step 2, and `. , :` unless between two letters/digits as in `9001:2015` or
   `03.04`) adds `gap` positions, so a phrase never matches across it (`机械。加工` ≠ `机械加工`).
   Brackets, quotes, slashes and dashes add none: `GB/T 19001-2016` is the phrase `gb t 19001 2016`,
   `执行《作业指导书》` matches `执行作业指导书`.
5. **Parts.** A word of `decompose_from` (5) or more Han characters — long dictionary words
   (中华人民共和国), domain terms (职业健康安全管理体系), organisation names learned from the
   catalogue (宁波恒达精密机械制造有限公司) — is replaced by its best split into shorter words (jieba's
   own route over the word without the whole-word edge, HMM for unknown runs), on BOTH sides. Runs of
   letters and digits split where letters meet digits (`ck6140` → `ck 6140`). Single characters,
   digits and letters are kept (`a 级`, `3 号`, `项`). Nothing is dropped as a stop word: see
   `FUNCTION_WORDS`.
6. **Positions are token indices**: one per part, in order, plus the gaps of step 4.
7. **Index mode stacks jieba's search-mode words.** When Whoosh indexes (or highlights) it passes
   `mode="index"`: each jieba word then also yields, at the position of one of its parts, every
   dictionary word inside it (jieba's search mode takes only 2- and 3-character ones; all lengths
   here, so 精密机械 is found inside an organisation name) and the whole word if it was split. A
   stacked word goes to the part where it ENDS if it ends at a part boundary, else to the part where
   it starts. When Whoosh parses a query (`mode="query"`), only the parts are produced.

Why this position scheme. A typed phrase is cut in accurate mode and matched as consecutive
positions; the document was cut the same way, so whole words line up one position apart. What differs
is the edges: the first typed word is often the tail of a document word and the last one the head of
one (`制造有限公司` against 精密机械 | 制造 | 有限公司; `管理体系审核` against 质量管理 体系 | 审核;
`数控机床零部件` against 数控机床 | 零部件 | 的 | 机械加工). Stacking the sub-words of a word at its
own position (not at character offsets, as jieba's ChineseAnalyzer does) lines both up: tails go where
the next word follows, heads where the previous word precedes. Stacking alone cannot hold a phrase
INSIDE one long token (all its sub-words share one position: `精密机械制造有限公司` inside a learned
organisation name would never match), hence step 5: long words are laid out as their parts on both
sides, the whole word stacked for term queries. Measured on generated audit text: ~97% of phrase
queries return exactly the documents a substring search returns (jieba's ChineseAnalyzer: ~5%); for
phrases inside learned organisation names 390/391 (stacking without step 5: 69/391). What remains:
a head sub-word also lines up with the word after its parent (`检验 的` matches 检验员 | 的), and a
phrase whose edge cuts a two-character word (`2022年` in 2022 | 年度) or whose query is cut differently
from its context (对本 | 部门 alone, 对 | 本部门 in 对本部门的职责) is missed; a substring check on the
stored text removes the first kind if it matters.

Entry points: `index_analyzer()` — the analyzer for the schema (stacked words when indexing and
highlighting, parts only when the query parser analyses with `mode="query"`); `query_analyzer()` —
parts only whatever the mode, for segmenting query text by hand; `tokens()`; `ensure_jieba()`.
"""
from __future__ import annotations

import bisect
import logging
import re
import threading
from typing import Iterator

from whoosh.analysis import Token, Tokenizer

__all__ = ["JiebaTokenizer", "JiebaPairTokenizer", "pair_term", "pair_analyzer", "index_analyzer", "query_analyzer", "tokens", "ensure_jieba",
           "normalise_chars", "clear_caches", "on_clear", "FUNCTION_WORDS", "ANALYZER_VERSION"]

# Bump when the tokens this module produces change; the schema version should include it together
# with `indexer.dictionary.fingerprint()`, so that an index built differently is rebuilt.
ANALYZER_VERSION = 1

# Function words NOT removed by the analyzers: removing them would break phrases that contain them
# (零部件的机械加工) unless positions were renumbered, which lets 零部件和机械加工 match too.
# BM25 gives them almost no weight anyway. A query layer may drop them from plain AND terms.
FUNCTION_WORDS = frozenset("的 了 和 与 及 或 等 对 在 为 是 将 把 被 其 之 并 而 且 也 于 以 由 从".split())

_lock = threading.Lock()
_ready = False
_dt = None  # jieba.dt, once initialised


def ensure_jieba():
    """Initialise jieba and load the domain dictionary once per process (thread-safe); returns
    jieba's default tokenizer (`jieba.dt`). Everything in the process shares that one dictionary."""
    global _ready, _dt
    if _ready:
        return _dt
    with _lock:
        if not _ready:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.dt.initialize()
            from indexer import dictionary

            dictionary.load_domain_dictionary(jieba.dt)
            _dt = jieba.dt
            clear_caches()
            _ready = True
    return _dt


# -- 1. character-wise normalisation -------------------------------------------------------------

_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class _CharMap(dict):
    """Code point → normalised code point, filled lazily (str.translate calls __missing__ once per
    distinct character; afterwards the lookups run in C)."""

    def __missing__(self, cp: int) -> int:
        ch = chr(cp)
        if ch in _BREAKS:
            out = "\n"
        elif ch.isspace():
            out = " "
        else:
            from archive.text import normalise

            out = normalise(ch)
            if out == "":              # a control character (normalise drops it)
                out = " "
            elif len(out) != 1:        # NFKC expands it (㎡ → m2): keep the original
                out = ch
            low = out.lower()
            if len(low) == 1:
                out = low
        self[cp] = ord(out)
        return self[cp]


_CHARMAP = _CharMap()


def normalise_chars(text: str) -> str:
    """`archive.text.normalise` per character, lowercased, blanks kept: same length as `text`."""
    return text.translate(_CHARMAP)


# -- 2. joining what layout split -----------------------------------------------------------------

_BLANKS = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ALL_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")
_LETTER_DIGIT = re.compile(r"[a-z]+|[0-9]+")
_MIXED = re.compile(r"(?=[a-z0-9]*[a-z])(?=[a-z0-9]*[0-9])[a-z0-9]+$")


def _wordchar(ch: str) -> bool:
    return ch.isalnum()


def _prepare(norm: str, join_lines: bool) -> tuple[str, list[int], list[int]]:
    """The string jieba sees: soft breaks removed, hard line breaks as "\\n", other blanks as " ".
    Returns (work, starts, shifts): for work offset w, the original offset is
    w + shifts[bisect_right(starts, w) - 1]."""
    if not join_lines and "\n" not in norm:
        return norm, [0], [0]
    pieces: list[str] = []
    starts, shifts = [0], [0]
    last = 0
    removed = 0
    n = len(norm)
    for m in _BLANKS.finditer(norm):
        a, b = m.start(), m.end()
        before = norm[a - 1] if a else ""
        after = norm[b] if b < n else ""
        soft = join_lines and before and after and (
            (_HAN.match(before) and _wordchar(after)) or (_HAN.match(after) and _wordchar(before)))
        if soft:
            pieces.append(norm[last:a])
            last = b
            removed += b - a
            starts.append(a - (removed - (b - a)))
            shifts.append(removed)
        elif "\n" in m.group():
            hard = not (before and after and _wordchar(before) and _wordchar(after)) or not join_lines
            if not hard:
                pieces.append(norm[last:a])
                pieces.append(" " * (b - a))
                last = b
    if last == 0 and not pieces:
        return norm, starts, shifts
    pieces.append(norm[last:])
    return "".join(pieces), starts, shifts


# -- 3.–7. segmentation, parts, positions ---------------------------------------------------------

_GAP_ALWAYS = frozenset("。!?;、…\n｡︒")
_GAP_UNLESS_BETWEEN_ALNUM = frozenset(".,:")

_parts_cache: dict[tuple[str, int], tuple[tuple[str, int, int], ...]] = {}
_sub_cache: dict[str, tuple[tuple[str, int, int], ...]] = {}
_CACHE_LIMIT = 300_000


_clear_hooks: list = []
_memo = threading.local()      # the last values a tokenizer analysed in this thread, and their spans
MEMO_TEXTS = 16                # more than a document's text fields


def on_clear(fn) -> None:
    """Call `fn()` whenever `clear_caches` runs (modules caching analysed text register here)."""
    _clear_hooks.append(fn)


def clear_caches() -> None:
    """Forget per-word splits (call after the jieba dictionary changed; `add_org_names` does)."""
    _parts_cache.clear()
    _sub_cache.clear()
    _layout_cache.clear()
    _block_cache.clear()
    _memo.__dict__.clear()
    for fn in _clear_hooks:
        fn()


def _best_split(dt, word: str) -> list[tuple[int, int]]:
    """jieba's best route over `word` without the whole-word edge: spans of the parts (runs of
    single characters not in the dictionary go through jieba's HMM, as in accurate mode)."""
    n = len(word)
    dag = dt.get_DAG(word)
    first = [j for j in dag[0] if j != n - 1]
    dag[0] = first or [0]
    route: dict[int, tuple[float, int]] = {}
    dt.calc(word, dag, route)
    from jieba import finalseg

    spans: list[tuple[int, int]] = []
    buf_start = None  # a run of single characters, handled as jieba does (HMM for unknown runs)

    def flush(end: int) -> None:
        if buf_start is None:
            return
        run = word[buf_start:end]
        if len(run) > 1 and not dt.FREQ.get(run):
            at = buf_start
            for piece in finalseg.cut(run):
                spans.append((at, at + len(piece)))
                at += len(piece)
        else:
            spans.extend((i, i + 1) for i in range(buf_start, end))

    x = 0
    while x < n:
        y = route[x][1] + 1
        if y - x == 1:
            if buf_start is None:
                buf_start = x
        else:
            flush(x)
            buf_start = None
            spans.append((x, y))
        x = y
    flush(n)
    return spans


def _fine_parts(dt, word: str, decompose_from: int) -> tuple[tuple[str, int, int], ...]:
    """The parts a word is indexed and queried as: (text, start, end) relative to the word."""
    hit = _parts_cache.get((word, decompose_from))
    if hit is not None:
        return hit
    if len(word) >= decompose_from and _ALL_HAN.match(word):
        out: list[tuple[str, int, int]] = []
        for a, b in _best_split(dt, word):
            piece = word[a:b]
            if b - a >= decompose_from and b - a < len(word):   # (the HMM may return it whole)
                out.extend((t, a + s, a + e) for t, s, e in _fine_parts(dt, piece, decompose_from))
            else:
                out.append((piece, a, b))
        parts = tuple(out)
    elif _MIXED.match(word):
        parts = tuple((m.group(), m.start(), m.end()) for m in _LETTER_DIGIT.finditer(word))
    else:
        parts = ((word, 0, len(word)),)
    if len(_parts_cache) > _CACHE_LIMIT:
        _parts_cache.clear()
    _parts_cache[(word, decompose_from)] = parts
    return parts


def _sub_words(dt, word: str) -> tuple[tuple[str, int, int], ...]:
    """Every dictionary word (2+ characters) inside a Han word, other than the word itself."""
    hit = _sub_cache.get(word)
    if hit is not None:
        return hit
    subs: tuple[tuple[str, int, int], ...] = ()
    n = len(word)
    if n > 2 and _ALL_HAN.match(word):
        dag = dt.get_DAG(word)
        subs = tuple((word[k:j + 1], k, j + 1) for k in range(n) for j in dag[k]
                     if j > k and not (k == 0 and j == n - 1))
    if len(_sub_cache) > _CACHE_LIMIT:
        _sub_cache.clear()
    _sub_cache[word] = subs
    return subs


_layout_cache: dict[tuple[str, bool, int], tuple[tuple[str, int, int, int], ...]] = {}
_block_cache: dict[str, tuple[str, ...]] = {}
_BLOCK_CACHE_LIMIT = 500_000


def _cut(dt, text: str) -> Iterator[str]:
    """`dt.cut(text, HMM=True)` with the words of each block cached. jieba splits the text at every
    character outside its word characters (punctuation, blanks) and cuts each block on its own, so
    a block always gives the same words; audit documents repeat their form wording and template
    sentences, so most blocks have been cut before (about 65% of the characters on 1,000 generated
    documents; analysis 1.7x faster, identical tokens)."""
    import jieba

    re_han, re_skip = jieba.re_han_default, jieba.re_skip_default
    cache = _block_cache
    for blk in re_han.split(text):
        if not blk:
            continue
        if re_han.match(blk):
            words = cache.get(blk)
            if words is None:
                if len(cache) >= _BLOCK_CACHE_LIMIT:
                    cache.clear()
                words = cache[blk] = tuple(dt.cut(blk, HMM=True))
            yield from words
        else:
            for x in re_skip.split(blk):
                if re_skip.match(x):
                    yield x
                else:
                    yield from x


def _layout(dt, word: str, decompose_from: int, stacked: bool) -> tuple[tuple[str, int, int, int], ...]:
    """The tokens of one jieba word: (text, position offset, start, end), in position order.

    Parts take consecutive offsets. Stacked words (index mode) go to the part where they END if they
    end at a part boundary (so the next word follows them: 管理体系 | 审核 in 质量管理|体系 审核),
    otherwise to the part where they start (so the previous word precedes them)."""
    key = (word, stacked, decompose_from)
    hit = _layout_cache.get(key)
    if hit is not None:
        return hit
    parts = _fine_parts(dt, word, decompose_from)
    out = [(t, k, s, e) for k, (t, s, e) in enumerate(parts)]
    if stacked:
        extra = list(_sub_words(dt, word))
        if len(parts) > 1:
            extra.append((word, 0, len(word)))
        if extra:
            spans = {(s, e) for _, s, e in parts}
            ends = {e: k for k, (_, _, e) in enumerate(parts)}
            starts = [s for _, s, _ in parts]
            for t, s, e in extra:
                if (s, e) in spans:
                    continue
                k = ends.get(e)
                if k is None or (s == 0 and e == len(word)):
                    k = bisect.bisect_right(starts, s) - 1
                out.append((t, k, s, e))
            out.sort(key=lambda x: (x[1], x[2], -x[3]))
    result = tuple(out)
    if len(_layout_cache) > _CACHE_LIMIT:
        _layout_cache.clear()
    _layout_cache[key] = result
    return result


class JiebaTokenizer(Tokenizer):
    """Chinese words for Whoosh (see the module docstring for the pipeline).

    :param segmode: "index" (search-mode words stacked), "query" (accurate mode only), or None to
        follow the `mode` Whoosh passes (`"query"` from the query parser, `"index"` when indexing
        and highlighting).
    :param decompose_from: words this long or longer are split into their dictionary parts.
    :param gap: positions added at sentence and clause punctuation (> any phrase slop you allow).
    :param join_lines: join words that layout broke across lines or spaced out (see step 2).
    """

    def __init__(self, segmode: str | None = None, decompose_from: int = 5, gap: int = 10,
                 join_lines: bool = True):
        if segmode not in (None, "index", "query"):
            raise ValueError(f"segmode must be None, 'index' or 'query', not {segmode!r}")
        self.segmode = segmode
        self.decompose_from = decompose_from
        self.gap = gap
        self.join_lines = join_lines

    def __eq__(self, other):
        return (other.__class__ is self.__class__
                and other.__dict__ == self.__dict__)

    def __hash__(self):
        return hash((self.__class__.__name__, tuple(sorted(self.__dict__.items()))))

    def __repr__(self):
        return (f"JiebaTokenizer(segmode={self.segmode!r}, decompose_from={self.decompose_from}, "
                f"gap={self.gap}, join_lines={self.join_lines})")

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = value
            t.text = normalise_chars(value).strip()
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        stacked = (self.segmode or ("query" if mode == "query" else "index")) == "index"
        spans = self._memo_spans(value, stacked)
        for text, pos, start, end in spans:
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t

    def _memo_spans(self, value: str, stacked: bool) -> list[tuple[str, int, int, int]]:
        """`spans`, remembered for the last few strings: a document's texts are indexed twice
        (each field, then its pair field once Whoosh has indexed them all) and segmented once."""
        memo = _memo.__dict__
        key = (id(value), stacked, self.decompose_from, self.gap, self.join_lines)
        found = memo.get(key)
        if found is not None and found[0] is value:
            return found[1]
        spans = list(self.spans(value, stacked))
        if len(memo) >= MEMO_TEXTS:
            memo.clear()
        memo[key] = (value, spans)
        return spans

    def spans(self, value: str, stacked: bool) -> Iterator[tuple[str, int, int, int]]:
        """(token text, position, start, end) with offsets into `value`, in position order."""
        dt = ensure_jieba()
        norm = normalise_chars(value)
        work, starts, shifts = _prepare(norm, self.join_lines)
        simple = len(starts) == 1
        pieces, piece, shift = len(starts), 0, 0
        decompose_from, gap = self.decompose_from, self.gap
        n = len(work)
        pos = -1
        pending_gap = False
        offset = 0
        for word in _cut(dt, work):
            w0 = offset
            offset += len(word)
            first = word[0]
            if not first.isalnum() and not any(c.isalnum() for c in word):
                if word.isspace():
                    if "\n" in word:
                        pending_gap = True
                    continue
                # punctuation (jieba yields it one character at a time)
                if first in _GAP_ALWAYS:
                    pending_gap = True
                elif first in _GAP_UNLESS_BETWEEN_ALNUM:
                    before = work[w0 - 1] if w0 else ""
                    after = work[offset] if offset < n else ""
                    if not (before and after and _ASCII_ALNUM.match(before) and _ASCII_ALNUM.match(after)):
                        pending_gap = True
                continue
            if pending_gap:
                if pos >= 0:
                    pos += gap
                pending_gap = False
            layout = _layout(dt, word, decompose_from, stacked)
            base = pos + 1
            if not simple:
                while piece + 1 < pieces and starts[piece + 1] <= w0:
                    piece += 1                    # the piece of `work` the word starts in
                shift = shifts[piece] if piece + 1 == pieces or starts[piece + 1] >= offset else None
            if simple or shift is not None:       # (a word within one piece: one shift for all)
                delta = w0 + (0 if simple else shift)
                for text, k, s, e in layout:
                    yield text, base + k, delta + s, delta + e
            else:                                 # a word joined across a line break
                for text, k, s, e in layout:
                    a, b = w0 + s, w0 + e
                    yield (text, base + k, a + shifts[bisect.bisect_right(starts, a) - 1],
                           b + shifts[bisect.bisect_right(starts, b - 1) - 1])
            pos = base + layout[-1][1]


class JiebaPairTokenizer(JiebaTokenizer):
    """Every pair of words at consecutive positions, as one term `"x y"` (`pair_term`) with the
    positions where it starts: the text fields' pair fields (`schema.PairField`). A two-word phrase
    is then one term lookup, and a longer one a few pairs whose positions line up (a phrase matches
    where its first word is at some position and each next word at the next, stacked words
    included; each such pair is a term, so this is exact). Pairs are rarer than their words:
    checking `审核 过程 及` reads the positions of two pairs found a few times a document instead of
    `审核`, found dozens of times."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        t = Token(positions, False, removestops=removestops, mode=mode, **kwargs)
        stacked = (self.segmode or ("query" if mode == "query" else "index")) == "index"
        for pair, starts in self.pair_positions(value, stacked).items():
            for pos in starts:
                t.text = pair
                t.boost = 1.0
                t.stopped = False
                if positions:
                    t.pos = start_pos + pos
                yield t

    def pair_positions(self, value: str, stacked: bool = True) -> dict[str, list[int]]:
        """Each pair term of a text → the positions of its first word, ascending. One pass over
        the spans, a position's words (several where words are stacked) at a time."""
        spans = self._memo_spans(value, stacked)
        out: dict[str, list[int]] = {}
        prev_pos, prev = -2, []
        pos_now, now = -2, []
        for text, pos, _, _ in spans:
            if pos != pos_now:
                if pos < pos_now:                      # (spans come in position order)
                    return _pairs_in_any_order(spans)
                if pos_now == prev_pos + 1:
                    if len(prev) == 1 and len(now) == 1:     # (most positions hold one word)
                        key = prev[0] + " " + now[0]
                        found = out.get(key)
                        if found is None:
                            out[key] = [prev_pos]
                        else:
                            found.append(prev_pos)
                    else:
                        _add_pairs(out, prev, now, prev_pos)
                prev_pos, prev = pos_now, now
                pos_now, now = pos, [text]
            elif text not in now:
                now.append(text)
        if pos_now == prev_pos + 1:
            _add_pairs(out, prev, now, prev_pos)
        return out


def _add_pairs(out: dict[str, list[int]], firsts: list[str], seconds: list[str], pos: int) -> None:
    for first in firsts:
        for second in seconds:
            key = first + " " + second                 # pair_term, inlined: ~900 a document
            found = out.get(key)
            if found is None:
                out[key] = [pos]
            else:
                found.append(pos)


def _pairs_in_any_order(spans) -> dict[str, list[int]]:
    """`pair_positions` of spans whose positions do not ascend."""
    at: dict[int, list[str]] = {}
    for text, pos, _, _ in spans:
        words = at.setdefault(pos, [])
        if text not in words:
            words.append(text)
    out: dict[str, list[int]] = {}
    for pos in sorted(at):
        seconds = at.get(pos + 1)
        if seconds:
            _add_pairs(out, at[pos], seconds, pos)
    return out


def pair_term(first: str, second: str) -> str:
    """The pair field's term for two words at consecutive positions (tokens never hold a blank)."""
    return first + " " + second


def pair_analyzer() -> JiebaPairTokenizer:
    """The analyzer of the body's pair field (stacked words when indexing, parts in queries)."""
    return JiebaPairTokenizer(segmode=None)


def index_analyzer() -> JiebaTokenizer:
    """The analyzer for the schema: search-mode words stacked at index time (and for highlighting);
    accurate mode when the query parser analyses query text (Whoosh passes `mode="query"`)."""
    return JiebaTokenizer(segmode=None)


def query_analyzer() -> JiebaTokenizer:
    """Accurate mode only, whatever mode Whoosh passes: for segmenting query text by hand."""
    return JiebaTokenizer(segmode="query")


def tokens(text: str, mode: str = "index") -> list[str]:
    """The token texts of `text` as indexed (`mode="index"`) or as queried (`mode="query"`)."""
    if mode not in ("index", "query"):
        raise ValueError(f"mode must be 'index' or 'query', not {mode!r}")
    return [t for t, _, _, _ in JiebaTokenizer(segmode=mode).spans(text, mode == "index")]


def word_parts(word: str) -> list[str]:
    """The shorter words a Han word splits into (jieba's best route without the whole word), or
    [word] when it does not split. Lets a query word match text that was cut around it
    (`审核报告` inside 一阶段审核|报告)."""
    if not _ALL_HAN.match(word) or len(word) < 3:
        return [word]
    parts = [word[a:b] for a, b in _best_split(ensure_jieba(), word)]
    return parts if len(parts) > 1 else [word]
