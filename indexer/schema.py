"""The Whoosh schema, its version, and the mapping from a catalogue document to an index record.

Text fields (title, org, findings, body …) use the jieba analyzer and hold document frequencies
only: what matching and scoring read. Phrases are matched through each text field `f`'s pair field
`fp`: every pair of words at consecutive positions with the positions where it starts (the
analyzer segments each text once for both fields). The segment writer hands the pairs to the
segment's posting sidecar, not to Whoosh (`pairpostings`, `sidecar`); a segment written without
one keeps them in Whoosh as raw integers (`PackedPositions`). Codes, clauses
and certificate numbers are not text: each has an exact field and a field holding every prefix
(`17.10.02` → 17, 17.10, 17.10.02), so `code:17.10` is one term lookup. Facet values are packed
into one column per document, read without touching stored fields.
The version written beside the index covers the schema, the analyzer, the domain dictionary and
the engine (Whoosh's version, with or without `whoosh_ext`): when any of them changes, the index
is rebuilt from the catalogue.
"""
from __future__ import annotations

import hashlib
import sys
from array import array
from collections import Counter
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
from whoosh import columns, fields, formats
from whoosh.analysis import Analyzer
from whoosh.system import pack_uint

from archive.catalog import org_key
from archive.codes import prefixes, table
from archive.identifiers import cert_lookup_key
from archive.models import Document

from . import analysis, dictionary, whoosh_ext

SCHEMA_VERSION = 5
# BM25F field weights (applied by the query parser): where a word appears says how much the
# document is about it. `kind` holds the names of the document's type and stage, `scope` its
# scope wording and the names of its specialty codes.
BOOSTS = {"title": 4.0, "org": 3.0, "kind": 2.5, "findings": 2.0, "scope": 1.5, "body": 1.0}
TYPE_NAMES = {
    "application": "认证申请书 申请书", "contract_review": "申请评审表 合同评审 认证合同",
    "audit_programme": "审核方案 审核任务书", "audit_notice": "审核通知书 审核通知",
    "audit_plan": "审核计划 审核日程", "checklist": "检查单 检查表 审核记录",
    "attendance": "签到表 首次会议 末次会议", "document_review": "文件审查报告 文审",
    "ncr": "不符合报告 不符合项 不合格报告", "observation": "观察项报告 观察项",
    "audit_report": "审核报告", "decision": "认证决定 技术委员会评定", "certificate": "认证证书 证书",
    "other": ""}
STAGE_NAMES = {
    "stage1": "一阶段 第一阶段 初审", "stage2": "二阶段 第二阶段 初审",
    "surveillance1": "监一 第一次监督审核 监督审核", "surveillance2": "监二 第二次监督审核 监督审核",
    "surveillance3": "监三 第三次监督审核 监督审核", "recertification": "再认证 复评 再认证审核",
    "special": "特殊审核 变更审核"}
TEXT_FIELDS = tuple(BOOSTS)
# what a role that may not read page text searches in: what extraction read, never the text
METADATA_TEXT_FIELDS = ("title", "org", "kind", "scope")
PAGE_SEPARATOR = "\n\n"


def version(analyzer_name: str = "jieba") -> str:
    """A fingerprint of everything that decides what the index holds."""
    parts = [str(SCHEMA_VERSION), analyzer_name, whoosh_ext.engine()]
    if analyzer_name == "jieba":
        parts += [str(analysis.ANALYZER_VERSION), dictionary.fingerprint()]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def pair_field(fieldname: str) -> str:
    """The name of a text field's pair field (sorted right after it: Whoosh indexes fields in
    name order, so the analyzer's last segmentation is reused)."""
    return fieldname + "p"


class PackedPositions(formats.Format):
    """Posting values holding token positions as little-endian uint32, nothing else: a block of
    postings decodes with one `numpy.frombuffer` (`matchsets`), where Whoosh's Positions and
    Characters formats pickle each posting's deltas (unpickled one posting at a time, 2/3 of the
    time of a phrase check over common words). zlib compresses the blocks on disk."""

    posting_size = -1

    def word_values(self, value, analyzer, **kwargs):
        found: dict[str, list[int]] = {}
        for t in analyzer(value, positions=True, **kwargs):
            found.setdefault(t.text, []).append(t.pos)
        for text, poses in found.items():
            yield text, len(poses), self.field_boost * len(poses), pack_positions(poses)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return unpack_positions(valuestring).tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.field_boost * (len(valuestring) // 4)


class WordFrequency(formats.Frequency):
    """Whoosh's Frequency format (the same postings), counting the jieba analyzer's words from
    its remembered spans instead of through Whoosh's stream of tokens: ~1,100 tokens a document,
    each a generator step and attribute updates, cost about as much as the counting itself."""

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(analyzer, analysis.JiebaTokenizer) or not isinstance(value, str):
            return super().word_values(value, analyzer, **kwargs)
        mode = analyzer.segmode or ("query" if kwargs.get("mode") == "query" else "index")
        counts = Counter(map(itemgetter(0), analyzer._memo_spans(value, mode == "index")))
        boost = self.field_boost
        return ((word, n, float(n) * boost, pack_uint(n)) for word, n in counts.items())


def pack_positions(positions: list[int]) -> bytes:
    data = array("I", positions)
    if sys.byteorder != "little":
        data.byteswap()
    return data.tobytes()


def unpack_positions(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")


class PairField(fields.FieldType):
    """Word pairs and where they start (`analysis.JiebaPairTokenizer`, `PackedPositions`). The
    segment writer normally takes them past Whoosh into the sidecar (`pairpostings`); `index` is
    Whoosh's way in, used where the field writer keeps no sidecar. It yields the pairs directly
    rather than through Whoosh's token stream (~1,500 a document)."""

    def __init__(self, analyzer: analysis.JiebaPairTokenizer):
        super().__init__(PackedPositions(), analyzer, scorable=False)

    def index(self, value, **kwargs):
        stacked = kwargs.get("mode", "index") != "query"
        for pair, starts in self.analyzer.pair_positions(value, stacked).items():
            yield pair.encode("utf-8"), len(starts), 1.0, pack_positions(starts)


def build_schema(analyzer: Analyzer | None = None, positions: bool = False) -> fields.Schema:
    """The schema. `analyzer` replaces the jieba analyzer (the relevance benchmark's baselines:
    positions in the text fields, no pair fields); `positions=True` also keeps positions in the
    jieba text fields, so that Whoosh itself can check phrases (the tests' reference index)."""
    text = analyzer or analysis.index_analyzer()
    # Without pair fields, phrases need the words' positions. With them, the words' postings hold
    # document ids and frequencies only: Whoosh keeps a posting's positions in the same
    # compressed block as its id, so matching and scoring a common word would decompress every
    # position of it.
    phrase = positions or analyzer is not None

    def words(stored: bool = False) -> fields.TEXT:
        field = fields.TEXT(analyzer=text, stored=stored, phrase=phrase)
        if type(field.format) is formats.Frequency:
            field.format = WordFrequency(field.format.field_boost)
        return field

    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        path=fields.STORED(),
        stamp=fields.STORED(),          # the catalogue's ingested_at: a changed document is stale
        title=words(stored=True),
        org=words(stored=True),
        kind=words(),
        findings=words(),
        scope=words(),
        body=words(stored=True),
        # For each text field, the pairs of its words at consecutive positions ("x y") with their
        # positions (`title` → `titlep` …): a two-word phrase is one term lookup, a longer one
        # the pairs whose positions line up. Only with the jieba analyzer.
        **({pair_field(name): PairField(analysis.pair_analyzer()) for name in TEXT_FIELDS}
           if analyzer is None else {}),
        page_starts=fields.STORED(),
        doc_type=fields.ID(stored=True),
        stage=fields.ID(stored=True),
        field=fields.KEYWORD(stored=True, commas=True, scorable=False),
        code=fields.KEYWORD(stored=True, commas=True, scorable=False),
        code_tree=fields.KEYWORD(commas=True, scorable=False),
        clause=fields.KEYWORD(stored=True, commas=True, scorable=False),
        clause_tree=fields.KEYWORD(commas=True, scorable=False),
        cert=fields.KEYWORD(commas=True, scorable=False),
        org_id=fields.ID(stored=True),
        year=fields.ID(stored=True),
        date=fields.DATETIME(stored=True, sortable=True),
        facets=fields.COLUMN(columns.VarBytesColumn()),
    )


def clause_prefixes(clause: str) -> list[str]:
    """`8.5.1` → [8, 8.5, 8.5.1]; `A.9.2.3` → [A.9, A.9.2, A.9.2.3]."""
    parts = clause.split(".")
    start = 2 if parts[0] == "A" else 1
    return [".".join(parts[:i]) for i in range(start, len(parts) + 1)]


def _code_entries(code: str, version: str | None) -> list:
    """The table entries naming a code (or prefix) in the table(s) the document is read in."""
    versions = ["2020", "legacy"] if version in (None, "ambiguous") else [version]
    found = [table(v).get(code) for v in versions]
    return [e for e in found if e is not None]


def document_date(doc: Document) -> str | None:
    return doc.audit_start or doc.issue_date


def pack_facets(values: dict[str, list[str]]) -> bytes:
    return "\x1f".join(f"{k}={v}" for k, vs in values.items() for v in vs).encode("utf-8")


def unpack_facets(data: bytes) -> list[tuple[str, str]]:
    if not data:
        return []
    return [tuple(item.split("=", 1)) for item in data.decode("utf-8").split("\x1f")]  # type: ignore[misc]


def to_record(doc: Document, page_texts: list[str]) -> dict[str, Any]:
    """The index record of a document: text fields, filter fields and packed facet values."""
    body, starts = "", []
    for text in page_texts:
        starts.append(len(body))
        body += text + PAGE_SEPARATOR
    code_tree = sorted({p for c in doc.codes for p in prefixes(c)})
    clauses = sorted({f.clause for f in doc.findings if f.clause})
    when = document_date(doc)
    year = when[:4] if when else None
    org_names = [doc.org.name] + dictionary.short_names(doc.org.name) if doc.org.name else []
    code_names = [entry.name for c in code_tree for entry in _code_entries(c, doc.code_table)]
    record: dict[str, Any] = {
        "id": doc.id, "path": doc.path, "title": doc.title or doc.filename,
        "org": " ".join(dict.fromkeys(org_names)),
        "findings": "\n".join(f.statement for f in doc.findings if f.statement),
        "kind": " ".join(filter(None, [TYPE_NAMES.get(doc.doc_type or "", ""),
                                       STAGE_NAMES.get(doc.stage or "", "")])),
        "scope": "\n".join([doc.scope or ""] + list(dict.fromkeys(code_names))),
        "body": body, "page_starts": starts,
        "field": ",".join(doc.fields), "code": ",".join(doc.codes), "code_tree": ",".join(code_tree),
        "clause": ",".join(clauses),
        "clause_tree": ",".join(sorted({p for c in clauses for p in clause_prefixes(c)})),
        "cert": ",".join(cert_lookup_key(c) for c in (doc.cert_nos or ([doc.cert_no] if doc.cert_no else []))),
        "facets": pack_facets({"field": doc.fields, "code": code_tree, "stage": [doc.stage] if doc.stage else [],
                               "type": [doc.doc_type] if doc.doc_type else [], "year": [year] if year else []}),
    }
    for name in TEXT_FIELDS:
        record[pair_field(name)] = record[name]        # the same string: segmented once
    org_id = org_key(doc.org.name, doc.org.credit_code)
    for key, value in (("doc_type", doc.doc_type), ("stage", doc.stage), ("org_id", org_id), ("year", year)):
        if value:
            record[key] = value
    if when:
        record["date"] = datetime.fromisoformat(when)
    return record


@lru_cache(maxsize=1)
def schema_date_default() -> int:
    """The value Whoosh's sortable date column holds for a document without a date."""
    return build_schema().__getitem__("date").default
