"""Identifiers: 统一社会信用代码 (GB 32100-2015), certificate numbers, CCAA registration numbers."""
from __future__ import annotations

import random
import re
import unicodedata

# GB 32100-2015: 31 characters, I O S V Z are not used.
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997 organisation code (characters 9-17 of the credit code)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015, mod 31)."""
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The check character of a GB 11714 organisation code (mod 11; 10 → X)."""
    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10
    c9 = 11 - sum(value(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def is_valid_credit_code(code: str) -> bool:
    """True when `code` is 18 characters of the GB 32100 alphabet with a correct check character."""
    code = code.strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CHARS for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


def make_credit_code(rng: random.Random, division: str, new_style: bool) -> str:
    """A valid credit code: 9 (工商) 1 (企业) + 6-digit division + organisation code + check."""
    if new_style:        # codes issued since 2015: MA + 6 characters
        body = "MA" + "".join(rng.choice(CREDIT_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
    else:                # codes converted from an old 8-digit organisation code
        body = str(rng.randint(1, 7)) + "".join(rng.choice("0123456789") for _ in range(7))
    first17 = "91" + division + body + org_code_check_char(body)
    return first17 + credit_check_char(first17)


# -- certificate numbers -------------------------------------------------------------------------

BODY_SUFFIX = "217"          # last 3 digits of the fictional body's approval number CNCA-R-2003-217
FIELD_LETTER = {"QMS": "Q", "EMS": "E", "OHSMS": "S", "FSMS": "F", "ISMS": "I", "SERVICE": "FW"}


def size_letter(staff: int) -> str:
    return "S" if staff <= 50 else ("M" if staff <= 1000 else "L")


def make_cert_no(field: str, year: int, serial: int, recert: int, staff: int, dashed: bool) -> str:
    """Canonical certificate number: `217-17-Q1-00075-R0-S` (until 2019) or `21720Q10286R0S`."""
    letter = FIELD_LETTER[field]
    size = size_letter(staff)
    if dashed:
        mark = letter if letter == "FW" else letter + "1"
        return f"{BODY_SUFFIX}-{year % 100:02d}-{mark}-{serial:05d}-R{recert}-{size}"
    return f"{BODY_SUFFIX}{year % 100:02d}{letter}{serial:05d}R{recert}{size}"


def normalise_cert_no(text: str) -> str:
    """Upper-case ASCII without spaces; the format's own dashes are kept."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


# -- CCAA registration numbers --------------------------------------------------------------------

REG_FIELD = {"QMS": "QMS", "EMS": "EMS", "OHSMS": "OHSMS", "FSMS": "FSMS", "ISMS": "ISMS"}


def make_reg_no(rng: random.Random, field: str, shape: int) -> str:
    """A CCAA registration number in one of three shapes seen on audit records."""
    year = rng.randint(2009, 2015)
    digits = f"{rng.randint(1000000, 1299999)}"
    f = REG_FIELD[field]
    if shape == 0:
        return f"{year}-N1{f}-{digits}"
    if shape == 1:
        return f"{year}-{rng.choice('12')}-{f}-{digits}"
    return f"{f}-{year}-{digits}"
