"""Identifiers printed on audit records: credit codes, certificate numbers, auditor registrations.

All functions take normalised text (see `archive.text.normalise`).
"""
from __future__ import annotations

import re

# 统一社会信用代码 (GB 32100-2015): 18 characters from 31 symbols, the last a check character.
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_RE = re.compile(r"(?<![0-9A-Za-z])([0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10})(?![0-9A-Za-z])")


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    code = code.upper()
    return (len(code) == 18 and all(ch in CREDIT_CHARS for ch in code)
            and credit_check_char(code[:17]) == code[17])


def find_credit_codes(text: str) -> list[str]:
    """Valid credit codes in text, in order, without repeats."""
    found: list[str] = []
    for m in CREDIT_RE.finditer(text.upper()):
        code = m.group(1)
        if is_valid_credit_code(code) and code not in found:
            found.append(code)
    return found


# Certificate numbers. Compact: body no. (3) + year (2) + field letters + serial + R<n> + size,
# e.g. 03410Q10286R0S, 00123E1012345R2M. Dashed: 061-11-Q1-00075-R0-S. Organic: 123OP2000123.
_FIELD_LETTERS = r"(?:FW|Q|E|S|F|H|I|IS|IT|EN|IP|SV|OH|FS|MS|P|C|J|T)\d?"
CERT_PATTERNS = (
    # Printed copies sometimes space the parts: `21721 Q01042 R0M`.
    re.compile(rf"(?<![0-9A-Z\-])(\d{{5}} ?{_FIELD_LETTERS}\d{{3,7}} ?R\d{{1,2}}[SML]?)(?![0-9A-Z])"),
    re.compile(rf"(?<![0-9A-Z\-])(\d{{3}}-\d{{2}}-{_FIELD_LETTERS}-\d{{3,7}}-R\d{{1,2}}(?:-[SML])?)(?![0-9A-Z])"),
    re.compile(r"(?<![0-9A-Z\-])(\d{3,6}OP\d{2}\d{3,6})(?![0-9A-Z])"),
)
CERT_LABEL_RE = re.compile(r"(?:认证)?证书(?:编号|号码|号|注册号)\s*[:]?\s*(?:No\.?)?\s*([0-9A-Z][0-9A-Z\-/ ]{5,30}[0-9A-Z])")


def normalise_cert_no(raw: str) -> str:
    """As printed, made comparable: upper case, no blanks (dashes kept: they are the format's)."""
    return re.sub(r"\s+", "", raw).upper()


def cert_lookup_key(raw: str) -> str:
    """The key certificate numbers are matched by: no case, no dashes, no blanks."""
    return re.sub(r"[\s\-_/]+", "", raw).upper()


def find_cert_nos(text: str) -> list[str]:
    """Certificate numbers in text (known formats, or after a 证书编号 label), in order."""
    upper = text.upper()
    hits: list[tuple[int, str]] = []
    for pattern in CERT_PATTERNS:
        hits += [(m.start(), m.group(1)) for m in pattern.finditer(upper)]
    if not hits:
        for m in CERT_LABEL_RE.finditer(upper):
            value = m.group(1).split(" ")[0]
            if re.search(r"\d{4}", value) and re.search(r"[A-Z]", value):
                hits.append((m.start(1), value))
    out: list[str] = []
    for _, value in sorted(hits):
        value = normalise_cert_no(value)
        if value not in out:
            out.append(value)
    return out


# CCAA registration numbers of auditors: 2021-N1QMS-1234567, 2019-2-EMS-1056789, QMS-2018-1234567.
REG_NO_RE = re.compile(
    r"(?<![0-9A-Za-z\-])("
    r"(?:19|20)\d{2}-(?:[A-Z]{0,2}\d{0,2}-?)(?:QMS|EMS|OHSMS|OHS|FSMS|HACCP|ISMS|ITSMS|ENMS|IPMS|MMS|SMS|SERVICE|SV|AUD)-?\d{4,8}"
    r"|(?:QMS|EMS|OHSMS|OHS|FSMS|HACCP|ISMS|ITSMS|ENMS|IPMS|SV|AUD)-(?:19|20)\d{2}-\d{4,8}"
    r"|(?:CCAA|ACCA)[-: ]?\d{6,10}"
    r")(?![0-9A-Za-z])", re.I)


def find_reg_nos(text: str) -> list[tuple[int, int, str]]:
    """Auditor registration numbers: (start, end, value upper-cased)."""
    return [(m.start(1), m.end(1), m.group(1).upper()) for m in REG_NO_RE.finditer(text)]
