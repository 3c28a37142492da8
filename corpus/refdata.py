"""Reference tables the generator draws from: specialty-code tables and standard clauses.

The tables are read from `DATA_DIR` (the project's `archive/data/`); switch the constant to read
them from elsewhere. Clause titles of GB/T 19001, 24001 and 45001 come from
`iso_clauses_qes_zh.csv`; the few clauses used for the other fields are listed here.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "archive" / "data"
# DATA_DIR = Path("/work/shared/reference")   # fallback while archive/data is being filled

CODES_2020_FILE = "scope_codes_2020.csv"
CODES_LEGACY_FILE = "scope_codes_legacy_cnas.csv"
CLAUSES_FILE = "iso_clauses_qes_zh.csv"


def _rows(name: str) -> list[dict[str, str]]:
    path = DATA_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"reference table {path} not found (corpus.refdata.DATA_DIR)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=None)
def code_table(table: str) -> dict[str, str]:
    """Specialty codes of one table ("2020" or "legacy") mapped to their names (all levels)."""
    if table == "2020":
        return {r["code"]: r["name"] for r in _rows(CODES_2020_FILE)}
    if table == "legacy":
        return {r["code"]: r["name"] for r in _rows(CODES_LEGACY_FILE)}
    raise ValueError(f"unknown code table {table!r}")


# Clauses of standards the QES table does not cover: (clause, title).
_EXTRA_CLAUSES: dict[str, list[tuple[str, str]]] = {
    # GB/T 28001-2011 / OHSAS 18001:2007 (OHSMS audits up to 2020)
    "OHSAS": [
        ("4.2", "职业健康安全方针"),
        ("4.3.1", "危险源辨识、风险评价和控制措施的确定"),
        ("4.3.2", "法律法规和其他要求"),
        ("4.4.2", "能力、培训和意识"),
        ("4.4.3", "沟通、参与和协商"),
        ("4.4.5", "文件控制"),
        ("4.4.6", "运行控制"),
        ("4.4.7", "应急准备和响应"),
        ("4.5.1", "绩效测量和监视"),
        ("4.5.2", "合规性评价"),
        ("4.5.3.1", "事件调查"),
        ("4.5.3.2", "不符合、纠正措施和预防措施"),
        ("4.5.4", "记录控制"),
        ("4.5.5", "内部审核"),
        ("4.6", "管理评审"),
    ],
    # ISO 22000:2018
    "FSMS": [
        ("7.1.4", "工作环境"),
        ("7.2", "能力"),
        ("7.5.3", "成文信息的控制"),
        ("8.2", "前提方案（PRPs）"),
        ("8.3", "可追溯性系统"),
        ("8.4.2", "应急准备和响应的处理"),
        ("8.5.1.3", "产品特性"),
        ("8.5.2", "危害分析"),
        ("8.5.4.3", "CCP关键限值和OPRP行动准则的确定"),
        ("8.5.4.4", "CCPs和OPRPs的监视系统"),
        ("8.7", "监视和测量的控制"),
        ("8.9.4", "潜在不安全产品的处置"),
        ("9.2", "内部审核"),
    ],
    # ISO/IEC 27001 (main clauses, the same numbers in 2013 and 2022)
    "ISMS": [
        ("4.3", "确定信息安全管理体系的范围"),
        ("6.1.2", "信息安全风险评估"),
        ("6.1.3", "信息安全风险处置"),
        ("6.2", "信息安全目标及其实现的策划"),
        ("7.2", "能力"),
        ("7.3", "意识"),
        ("7.5.3", "文件化信息的控制"),
        ("8.1", "运行的策划和控制"),
        ("9.1", "监视、测量、分析和评价"),
        ("9.2", "内部审核"),
        ("9.3", "管理评审"),
        ("10.1", "持续改进"),
    ],
    # GB/T 27922-2011 商品售后服务评价体系
    "SERVICE": [
        ("5.1.1", "售后服务管理机构"),
        ("5.1.2", "售后服务制度"),
        ("5.1.3", "售后服务人员"),
        ("5.2.1", "商品信息"),
        ("5.2.3", "配送与安装"),
        ("5.2.5", "维修保养"),
        ("5.3.1", "顾客投诉处理"),
        ("5.3.2", "顾客满意度"),
        ("5.4.2", "服务改进"),
    ],
}


@lru_cache(maxsize=None)
def clause_titles(standard_key: str) -> dict[str, str]:
    """Clause → title for a standard key: QMS, EMS, OHSMS (GB/T 45001), OHSAS, FSMS, ISMS, SERVICE."""
    if standard_key in ("QMS", "EMS", "OHSMS"):
        return {r["clause"]: r["title"] for r in _rows(CLAUSES_FILE) if r["system"] == standard_key}
    return dict(_EXTRA_CLAUSES[standard_key])
