"""The query language: free Chinese text in Whoosh syntax plus filters of the domain.

    数控 不符合 "机械加工" OR 车削 NOT 焊接  code:17.10  field:QMS  stage:监一  type:ncr
    clause:8.5  org:宁波恒达  year:2023  cert:03410Q10286R0S  date:2023-01-01..2023-06-30

Free text is AND by default, with OR, NOT, parentheses and "phrases" (Whoosh's parser over the
text fields, segmented by the jieba analyzer, synonyms expanded). Filters are read here, their
values normalised (`field:质量管理体系` = `field:QMS`, `stage:监一` = `stage:surveillance1`,
`cert:061-11-q1-00075` ignores case and dashes) and turned into exact term filters. Anything that
cannot be read is a `QueryError` with a message for the person who typed it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from whoosh import query as wq
from whoosh.qparser import AndGroup, MultifieldParser, OrGroup
from whoosh.qparser.plugins import FieldsPlugin, WildcardPlugin

from archive.extract import stage as stage_words
from archive.extract.schemes import fields_in
from archive.identifiers import CERT_PATTERNS, cert_lookup_key
from archive.messages import message
from archive.models import DOC_TYPES, FIELDS, STAGES
from archive.text import normalise

from . import analysis, synonyms
from .schema import BOOSTS, METADATA_TEXT_FIELDS, TEXT_FIELDS

MAX_QUERY_CHARS = 400
FILTERS = ("code", "field", "stage", "type", "clause", "org", "year", "cert", "date")
# a quoted phrase (left as it is: `"code: 17"` is text), or a filter; blanks may follow the colon
_FILTER_RE = re.compile(rf"(\"[^\"]*\")|(?<![\w:])({'|'.join(FILTERS)}):[ \t]*(\"[^\"]*\"|[^\s\"]+)?", re.I)
# letters and digits run together (F0A199, ck6140): one identifier, though the analyzer splits it
_IDENTIFIER_RE = re.compile(r"(?<![a-z0-9.])(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{3,}(?![a-z0-9.])", re.I)
# "…"~N, however the quoted words are segmented (one word or several): always refused, since
# the index keeps which words follow each other, not how far apart they are
_PROXIMITY_RE = re.compile(r'"[^"]*"\s*~\s*\d*')
PROXIMITY_MESSAGE = message("query.proximity")
_QUOTED_RE = re.compile(r'"[^"]*"')
# a name and a colon that is not one of our filters (`foo:bar`): a mistyped filter, never text
_UNKNOWN_FILTER_RE = re.compile(r"(?<![\w:./-])([a-z_]{2,12}):(?=[^\s/])[^\s\"]*", re.I)
_CODE_RE = re.compile(r"^\d{2}(?:\.\d{2}){0,2}$")
_CLAUSE_RE = re.compile(r"^(?:A\.)?\d{1,2}(?:\.\d{1,2}){0,3}$")
_TYPE_NAMES = {"申请": "application", "申请书": "application", "评审": "contract_review",
               "方案": "audit_programme", "通知": "audit_notice", "计划": "audit_plan",
               "检查单": "checklist", "签到": "attendance", "文审": "document_review",
               "不符合": "ncr", "不符合报告": "ncr", "观察项": "observation", "报告": "audit_report",
               "审核报告": "audit_report", "决定": "decision", "证书": "certificate", "其他": "other"}


_EXAMPLES = {"code": "code:17.10", "field": "field:QMS", "stage": "stage:监一", "type": "type:ncr",
             "clause": "clause:8.5", "org": "org:宁波恒达", "year": "year:2023",
             "cert": "cert:03410Q10286R0S", "date": "date:2023-01-01..2023-06-30"}


# field names and the letters forms print before codes (`QMS:17.10.02`, `Q:…`) are text, not filters
_FIELD_LETTERS = {f.upper() for f in FIELDS} | {"Q", "E", "S", "F", "H", "IS", "SV", "OHS", "EN", "IP"}


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    """Every code of both tables and every prefix of one (17, 17.10, 17.10.02)."""
    from archive.codes import prefixes, table

    return frozenset(p for version in ("2020", "legacy") for code in table(version) for p in prefixes(code))


class QueryError(ValueError):
    """A query that cannot be read; the message says why, for the person who typed it."""


@dataclass
class ParsedQuery:
    text: str                                   # the free text, filters removed
    query: wq.Query                             # what to score
    loose: wq.Query | None = None               # any word rather than all (to fill a short page)
    filters: list[wq.Query] = field(default_factory=list)
    applied: dict[str, list[str]] = field(default_factory=dict)   # filter → normalised values

    @property
    def filter(self) -> wq.Query | None:
        return wq.And(self.filters) if self.filters else None


def _field_value(raw: str) -> str:
    value = raw.strip()
    upper = value.upper()
    for f in FIELDS:
        if upper == f.upper():
            return f
    found = fields_in(value) or fields_in(value + "管理体系")
    if len(found) == 1:
        return found[0]
    raise QueryError(message("query.unknown_field", value=raw, choices="、".join(FIELDS)))


def _stage_value(raw: str) -> str:
    value = raw.strip().lower()
    if value in STAGES:
        return value
    found = stage_words.stages_in(raw)
    if len(found) == 1:
        return found[0]
    raise QueryError(message("query.unknown_stage", value=raw, choices="、".join(STAGES)))


def _type_value(raw: str) -> str:
    value = raw.strip().lower()
    if value in DOC_TYPES:
        return value
    if raw.strip() in _TYPE_NAMES:
        return _TYPE_NAMES[raw.strip()]
    raise QueryError(message("query.unknown_type", value=raw, choices="、".join(DOC_TYPES)))


def _year_values(raw: str) -> list[str]:
    m = re.fullmatch(r"(\d{4})(?:(?:-|\.\.)(\d{4}))?", raw.strip())
    if not m:
        raise QueryError(message("query.bad_year", value=raw))
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first or last - first > 100:
        raise QueryError(message("query.year_range", value=raw))
    return [str(y) for y in range(first, last + 1)]


def _date(raw: str, end: bool) -> datetime | None:
    if not raw:
        return None
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", raw)
    if not m:
        raise QueryError(message("query.bad_date", value=raw))
    year, month, day = int(m.group(1)), int(m.group(2) or (12 if end else 1)), m.group(3)
    try:
        if day:
            start = datetime(year, month, int(day))
            return start + timedelta(days=1) - timedelta(microseconds=1) if end else start
        if end:
            nxt = datetime(year + (month == 12), month % 12 + 1, 1)
            return nxt - timedelta(microseconds=1)
        return datetime(year, month, 1)
    except ValueError:
        raise QueryError(message("query.no_such_date", value=raw)) from None


def _date_range(raw: str) -> wq.Query:
    lo, sep, hi = raw.partition("..")
    if not sep:
        lo, hi = raw, raw
    start, end = _date(lo.strip(), False), _date(hi.strip(), True)
    if start is None and end is None:
        raise QueryError(message("query.date_range_open"))
    if start and end and end < start:
        raise QueryError(message("query.date_range_backwards", value=raw))
    return wq.DateRange("date", start, end)


def _split_words(query: wq.Query) -> wq.Query:
    """A Han query word also matches the body text as the phrase of its parts: `审核报告` finds text
    segmented as 一阶段审核|报告, where the word itself was never indexed. (Only in the body: it
    holds every word of the document, and phrase matching is the costliest part of a search.)"""
    def rewrite(node: wq.Query) -> wq.Query:
        if isinstance(node, wq.Term) and node.fieldname == "body" and isinstance(node.text, str) \
                and 3 <= len(node.text) <= 8:
            parts = analysis.word_parts(node.text)
            if len(parts) > 1:
                return wq.Or([node, wq.Phrase(node.fieldname, parts, boost=node.boost)])
            return node
        if node.is_leaf():
            return node
        return node.apply(rewrite)
    return rewrite(query)


def _terms(fieldname: str, values: list[str]) -> wq.Query:
    if not values:                    # e.g. code:, or code:;  (separators only)
        raise QueryError(message("query.filter_value_missing", name=fieldname.split('_')[0]))
    return wq.Or([wq.Term(fieldname, v) for v in values]) if len(values) > 1 else wq.Term(fieldname, values[0])


class QueryParser:
    """Parses query strings against a schema; build once, use for many queries."""

    def __init__(self, schema, max_chars: int = MAX_QUERY_CHARS, content: bool = True):
        """`content=False`: free text is looked for in the metadata fields only (title,
        organisation, document kind, scope), never in the pages' text or the findings: a role
        that may not read page text must not learn it by asking which documents hold a word."""
        self.schema = schema
        self.max_chars = max_chars
        self.fields = TEXT_FIELDS if content else METADATA_TEXT_FIELDS
        self.content = content
        self.text_parser = MultifieldParser(list(self.fields), schema, fieldboosts=BOOSTS,
                                            group=AndGroup)
        self.loose_parser = MultifieldParser(list(self.fields), schema, fieldboosts=BOOSTS,
                                             group=OrGroup.factory(0.9))
        # Quoted text means the words as written: the title and the text itself (which holds the
        # organisation, the findings and the scope too; phrase matching is costly per field).
        written = ["title", "body"] if content else ["title", "org", "scope"]
        self.exact_parser = MultifieldParser(written, schema, fieldboosts=BOOSTS, group=AndGroup)
        for parser in (self.text_parser, self.loose_parser, self.exact_parser):
            # Users type codes and clauses with dots and colons; only our filters are fields.
            parser.remove_plugin_class(FieldsPlugin)
            parser.remove_plugin_class(WildcardPlugin)

    def parse(self, raw: str, extra: dict[str, str | None] | None = None) -> ParsedQuery:
        """Parse `raw` plus filters given separately (the CLI's --code, the API's code=)."""
        if len(raw) > self.max_chars:
            raise QueryError(message("query.too_long", length=len(raw), limit=self.max_chars))
        text = normalise(raw).replace("\n", " ")
        pairs: list[tuple[str, str]] = []

        def take(m: re.Match) -> str:
            if m.group(1):
                return m.group(1)
            name, value = m.group(2).lower(), m.group(3)
            if value is None or not value.strip('"').strip():
                raise QueryError(message("query.filter_needs_value", name=name, example=_EXAMPLES[name]))
            pairs.append((name, value.strip('"')))
            return " "
        text = _FILTER_RE.sub(take, text).strip()
        if _PROXIMITY_RE.search(text):
            raise QueryError(PROXIMITY_MESSAGE)
        unknown = next((m for m in _UNKNOWN_FILTER_RE.finditer(_QUOTED_RE.sub(" ", text))
                        if m.group(1).upper() not in _FIELD_LETTERS), None)
        if unknown:
            raise QueryError(message("query.unknown_filter", name=unknown.group(1), choices="、".join(FILTERS),
                                     text=unknown.group(0)))
        for name, value in (extra or {}).items():
            if value not in (None, ""):
                pairs.append((name, normalise(str(value))))
        parsed = ParsedQuery(text=text, query=self._text_query(text, self.text_parser),
                             loose=self._text_query(text, self.loose_parser) if text else None)
        for name, value in pairs:
            self._add_filter(parsed, name, value)
        return parsed

    def _text_query(self, text: str, parser: MultifieldParser) -> wq.Query:
        if not text:
            return wq.Every()
        if text.count('"') % 2:
            raise QueryError(message("query.unclosed_quote"))
        if text.count("(") != text.count(")"):
            raise QueryError(message("query.brackets"))
        if re.search(r"(^|\s)(AND|OR)(\s*$|\s+(AND|OR|NOT)(\s|$))|(^|\s)NOT\s*$", text):
            raise QueryError(message("query.operators"))
        # A certificate number is one thing, not the letters and digits it is made of.
        certs = [m.group(1) for p in CERT_PATTERNS for m in p.finditer(text.upper())]
        for cert in certs:
            text = re.sub(re.escape(cert), " ", text, flags=re.I)
        parts: list[wq.Query] = [self._cert_query(c) for c in certs]
        if text.strip():
            if '"' in text and parser is self.text_parser:
                parser = self.exact_parser
            quoted = '"' in text
            if parser is self.loose_parser:
                # "any of the words" is about the words typed, not the letter and digit runs the
                # analyzer cuts an identifier into (F0A199 → f | 0 | a | 199 would match anything):
                # identifiers outside quotes become phrases
                pieces = text.split('"')
                pieces[::2] = [_IDENTIFIER_RE.sub(lambda m: f'"{m.group(0)}"', p) for p in pieces[::2]]
                text = '"'.join(pieces)
            try:
                query = parser.parse(text)
            except (IndexError, ValueError, TypeError) as exc:   # Whoosh's parser on operator soup
                raise QueryError(message("query.unreadable", text=text)) from exc
            if query is wq.NullQuery:
                raise QueryError(message("query.nothing", text=text))
            if any(isinstance(q, wq.Phrase) and q.slop != 1 for q in query.leaves()):   # (a leaf: itself)
                raise QueryError(PROXIMITY_MESSAGE)
            if not quoted:
                # A quoted phrase means these very words: no synonyms, no re-splitting.
                query = _split_words(query)
                for fieldname in self.fields:
                    query = synonyms.expand_query(query, fieldname)
            parts.append(query)
        if not parts:
            raise QueryError(message("query.nothing", text=text))
        return parts[0] if len(parts) == 1 else wq.And(parts)

    def _cert_query(self, cert: str) -> wq.Query:
        words = analysis.tokens(cert, "query")
        return wq.Or([wq.Term("cert", cert_lookup_key(cert), boost=20.0), wq.Phrase("title", words)]
                     + ([wq.Phrase("body", words)] if self.content else []))

    def _add_filter(self, parsed: ParsedQuery, name: str, value: str) -> None:
        if not value:
            raise QueryError(message("query.filter_value_missing", name=name))
        if name == "code":
            codes = [c.strip() for c in re.split(r"[,;]", value) if c.strip()]
            for c in codes:
                if not _CODE_RE.match(c):
                    raise QueryError(message("query.bad_code", code=c))
                if c not in _known_codes():
                    raise QueryError(message("query.unknown_code", code=c))
            parsed.filters.append(_terms("code_tree", codes))
        elif name == "clause":
            clauses = [c.strip() for c in re.split(r"[,;]", value) if c.strip()]
            for c in clauses:
                if not _CLAUSE_RE.match(c):
                    raise QueryError(message("query.bad_clause", clause=c))
            parsed.filters.append(_terms("clause_tree", clauses))
        elif name == "field":
            parsed.filters.append(_terms("field", [_field_value(v) for v in value.split(",")]))
        elif name == "stage":
            parsed.filters.append(_terms("stage", [_stage_value(v) for v in value.split(",")]))
        elif name == "type":
            parsed.filters.append(_terms("doc_type", [_type_value(v) for v in value.split(",")]))
        elif name == "year":
            parsed.filters.append(_terms("year", _year_values(value)))
        elif name == "cert":
            parsed.filters.append(wq.Term("cert", cert_lookup_key(value)))
        elif name == "date":
            parsed.filters.append(_date_range(value))
        elif name == "org":
            # a filter's value is literal: `org:NOT a` looks for an organisation named so, never
            # for everything but a (every word of the value, as the org field indexes them)
            words = list(dict.fromkeys(self.schema["org"].process_text(value, mode="query")))
            if not words:
                raise QueryError(message("query.empty_org", value=value))
            parsed.filters.append(wq.And([wq.Term("org", w) for w in words]) if len(words) > 1
                                  else wq.Term("org", words[0]))
        else:
            raise QueryError(message("query.unknown_filter", name=name, choices="、".join(FILTERS), text=f"{name}:{value}"))
        parsed.applied.setdefault(name, []).append(value)
