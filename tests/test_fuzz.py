"""Property tests (hypothesis): the field extractor and the query parser never crash, whatever text
they are given, and what they return stays inside the contract's vocabularies.

The strategies mix the domain's own material (labels, codes, dates, certificate numbers, query
syntax) with arbitrary Unicode, so that near-valid input, where parsers break, is common.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive.extract import extract
from archive.pdf import Page
from indexer.query import QueryError

FIELDS = {"QMS", "EMS", "OHSMS", "FSMS", "HACCP", "ISMS", "ITSMS", "EnMS", "IPMS", "MMS", "SERVICE", "PRODUCT"}
STAGES = {None, "stage1", "stage2", "surveillance1", "surveillance2", "surveillance3", "recertification", "special"}
PIECES = [
    "受审核方：", "组织名称:", "统一社会信用代码：", "91330100MA2XXXXXX1", "证书编号：", "217-19-Q1-00484-R0-S",
    "专业代码：", "17.10.02", "Q:17.10.02/2 E:18.05.01", "99.99.99", "审核日期：", "2023年5月10日至12日",
    "2023.05.10~05.12", "2023-02-30", "审核组长", "组员", "注册号", "2009-N1QMS-1263128", "不符合项",
    "条款", "8.5.1", "严重", "一般", "二阶段", "监一", "再认证", "□", "■", "√", "☑", "（", "）", "：", "\n",
    "\t", "GB/T 19001-2016", "ISO 9001:2015", "认证范围：", "质量管理体系", "三体系", "兹证明", "有效期至",
    "\x00", "\u202e", "\ufeff", "𠀀", "…", "——", "审核报告", "审核计划", "不符合报告",
]
domain_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=60).map("".join)
QUERY_PIECES = [
    "管理评审", "不符合", '"', "(", ")", "OR", "AND", "NOT", "code:", "code:17", "code:17.10.02", "clause:8.5",
    "field:QMS", "field:", "stage:监一", "stage:nonsense", "type:ncr", "type:", "org:宁波", "year:2023",
    "year:2019-2023", "year:abc", "date:2023-01-01..2023-06-30", "date:..", "date:2023-13-01..", "cert:",
    "cert:061-11-q1-00075-r0-s", "*", "?", "~", "^2", "\\", ":", " ", "　", "ＱＭＳ", "審核", "'", "[", "]", "{",
    "}", "TO", "-", "+",
]
query_text = st.lists(st.one_of(st.sampled_from(QUERY_PIECES), st.text(max_size=6)), max_size=25).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(domain_text, min_size=1, max_size=3))
def test_the_extractor_never_crashes_and_stays_in_the_vocabularies(pages):
    found = extract([Page(number=i + 1, text=t, has_text=bool(t.strip()), has_images=False, tables=[])
                     for i, t in enumerate(pages)])
    assert set(found.fields) <= FIELDS
    assert found.stage in STAGES
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", c) for c in found.codes)
    for day in (found.audit_start, found.audit_end, found.issue_date, found.expiry_date):
        assert day is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)
    assert all(a.role in (None, "leader", "member", "expert") for a in found.auditors)
    assert all(f.severity in (None, "minor", "major") for f in found.findings)


@pytest.fixture(scope="module")
def parser(sample_home):
    from indexer import build
    from indexer.search import parser_for

    return parser_for(build.open_index(sample_home[0] / "index"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=query_text)
def test_the_query_parser_accepts_or_refuses_with_a_message(parser, raw):
    try:
        parsed = parser.parse(raw)
    except QueryError as exc:
        assert str(exc).strip()
        return
    assert parsed.query is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=query_text, filters=st.dictionaries(
    st.sampled_from(["code", "field", "stage", "type", "org", "clause", "year", "cert", "date"]),
    st.one_of(st.sampled_from(QUERY_PIECES), st.text(max_size=8)), max_size=3))
@example(raw="审核", filters={"code": ","})           # found by this test: a filter of separators only
@example(raw="NOT OR 管理评审", filters={})
def test_searches_run_or_refuse_never_crash(sample_home, raw, filters):
    from indexer import build
    from indexer.search import SearchRequest, search

    home, catalog, _ = sample_home
    try:
        result = search(build.open_index(home / "index"), catalog, SearchRequest(q=raw, filters=filters))
    except QueryError as exc:
        assert str(exc).strip()
        return
    assert result["total"] >= len([h for h in result["hits"] if not h["partial"]])
