"""Unit rules of reading: normalisation, dates, codes, identifiers, clauses, stages, fields."""
from datetime import date

import pytest

from archive import clauses, codes, identifiers
from archive.dates import find_date_range, find_dates
from archive.extract import checkbox, stage
from archive.extract.people import is_person_name, role_of
from archive.extract.schemes import fields_in
from archive.text import normalise


def test_normalise_full_width_and_traditional():
    assert normalise("Ｑ：１７．１０．０２；１８．０５．０１") == "Q:17.10.02;18.05.01"
    assert normalise("質量管理體系審核報告\r\n\r\n第１頁") == "质量管理体系审核报告\n第1页"
    assert normalise("受审核方\u3000\u3000宁波") == "受审核方 宁波"


@pytest.mark.parametrize("text,start,end", [
    ("2023年5月10日至2023年5月12日", "2023-05-10", "2023-05-12"),
    ("2023年5月10日-12日", "2023-05-10", "2023-05-12"),
    ("2023年5月30日至6月2日", "2023-05-30", "2023-06-02"),
    ("2023-05-10 至 2023-05-12", "2023-05-10", "2023-05-12"),
    ("2023.05.10~05.12", "2023-05-10", "2023-05-12"),
    ("2023年5月10日上午至12日下午", "2023-05-10", "2023-05-12"),
    ("2023/5/10", "2023-05-10", "2023-05-10"),
])
def test_date_ranges(text, start, end):
    found = find_date_range(normalise(text))
    assert found and (found[0].isoformat(), found[1].isoformat()) == (start, end)


def test_impossible_dates_are_not_read():
    assert find_dates("2023年2月30日") == []
    assert find_date_range("第12页") is None


def test_codes_as_real_files_write_them():
    text = normalise("专业代码：Ｑ：１７．１０．０２；18.05.01 E:17.10.02/2 日期2023.05.10 条款8.5.1")
    found = codes.find_codes(text)
    assert [(m.code, m.risk, m.field) for m in found] == [
        ("17.10.02", None, "QMS"), ("18.05.01", None, "QMS"), ("17.10.02", "2", "EMS")]


def test_codes_are_read_in_the_table_their_date_implies():
    valid, version, warnings = codes.resolve_codes(["17.10.02"], date(2023, 1, 1))
    assert valid == ["17.10.02"] and version == "2020" and not warnings
    # 03.04.01 exists in both tables with different meanings: without a date it is ambiguous.
    assert codes.resolve_codes(["03.04.01"], None)[1] == "ambiguous"
    valid, version, warnings = codes.resolve_codes(["99.99.99"], date(2023, 1, 1))
    assert valid == [] and version is None and "99.99.99" in warnings[0]
    assert codes.table_2020()["03.04.01"].name != codes.table_legacy()["03.04.01"].name


def test_code_prefixes():
    assert codes.prefixes("17.10.02") == ["17", "17.10", "17.10.02"]


def test_credit_code_check_character():
    base = "91330200MA2HABCDE"
    good = base + identifiers.credit_check_char(base)
    assert identifiers.is_valid_credit_code(good)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not identifiers.is_valid_credit_code(bad)
    assert identifiers.find_credit_codes(f"代码：{bad} 与 {good}") == [good]


@pytest.mark.parametrize("text,expected", [
    ("证书编号：03410Q10286R0S", ["03410Q10286R0S"]),
    ("证书号 061-11-q1-00075-r0-s", ["061-11-Q1-00075-R0-S"]),
    ("证书编号：０３４１０Ｑ１０２８６Ｒ０Ｓ", ["03410Q10286R0S"]),
    ("注册号 2021-N1QMS-1234567", []),
    ("有机产品 证书编号 123OP2100456", ["123OP2100456"]),
])
def test_certificate_numbers(text, expected):
    assert identifiers.find_cert_nos(normalise(text)) == expected


def test_cert_lookup_key_ignores_case_dashes_and_width():
    assert identifiers.cert_lookup_key("061-11-q1-00075-R0-S") == "06111Q100075R0S"
    assert identifiers.cert_lookup_key(normalise("０６１－１１")) == "06111"


def test_registration_numbers():
    found = [v for _, _, v in identifiers.find_reg_nos(
        "张三 2021-N1QMS-1234567 李四 2019-2-EMS-1056789 王五 QMS-2018-1234567")]
    assert found == ["2021-N1QMS-1234567", "2019-2-EMS-1056789", "QMS-2018-1234567"]


def test_clauses_not_confused_with_standards_or_dates():
    assert clauses.find_clauses("GB/T 19001-2016 标准 8.5.1 条款") == ["8.5.1"]
    assert clauses.find_clauses("ISO 9001:2015 7.1.5", "QMS") == ["7.1.5"]
    assert clauses.find_clauses("2023.05.10 条款 10.2") == ["10.2"]
    assert clauses.find_clauses("Q8.5.1/E8.1") == ["8.5.1", "8.1"]


@pytest.mark.parametrize("text,expected", [
    ("审核类型：□初审 ☑监督 □再认证 监督次数：2", "surveillance2"),
    ("审核类型：初次认证第一阶段", "stage1"),
    ("审核阶段：监一", "surveillance1"),
    ("审核类型：复评", "recertification"),
    ("审核类型：☑初审（第二阶段）", "stage2"),
    ("审核类型：一阶段、二阶段", None),
    ("质量管理体系审核报告", None),
])
def test_stage(text, expected):
    lines = normalise(text).split("\n")
    assert stage.find_stage(lines, None) == expected


def test_checkboxes():
    assert checkbox.checked_options("□初审 ☑监督 □再认证") == ["监督"]
    assert checkbox.checked_options("一般☑ 严重□") == ["一般"]
    assert checkbox.resolve("无勾选") == "无勾选"


@pytest.mark.parametrize("text,expected", [
    ("审核依据：GB/T 19001-2016", ["QMS"]),
    ("三体系结合审核", ["QMS", "EMS", "OHSMS"]),
    ("Q:17.10.02 E:17.10.02", ["QMS", "EMS"]),
    ("审核员 2019-2-EMS-1056789", []),
    ("售后服务认证 GB/T 27922-2011", ["SERVICE"]),
    ("ISO/IEC 27001:2013", ["ISMS"]),
    ("OHSAS 18001:2007", ["OHSMS"]),
])
def test_fields(text, expected):
    assert fields_in(normalise(text)) == expected


def test_person_names_and_roles():
    assert is_person_name("张三") and is_person_name("欧阳明")
    assert not is_person_name("审核员") and not is_person_name("有限公司")
    assert role_of("组长") == "leader" and role_of("技术专家") == "expert"
    assert role_of("组员") == "member" and role_of("生产部") is None


def test_bracketed_ticks_and_shared_field_names():
    assert checkbox.checked_options(normalise("初审（√） 监督（  ） 再认证（  ）")) == ["初审"]
    assert fields_in("质量、环境、职业健康安全管理体系") == ["QMS", "EMS", "OHSMS"]
    assert fields_in("FW:60.02.00") == ["SERVICE"]
