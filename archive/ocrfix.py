"""Repairs of OCR's typical misreadings, applied to OCR'd page text only (never to a text layer).

What goes wrong when a form is scanned and read back, and what is done about it here:
- letters for digits inside identifiers (`2O23`, `l7.10.02`, `8.5.l`, `9133O100MA...`): digit-like
  letters next to digits in dates, codes, clauses, certificate and credit codes become digits when
  the result then has the identifier's shape (a credit code must also pass its check character);
- separators lost between identifiers (`33.02.0133.03.01`, a standard's year and the clause after
  it: `GB/T45001-20208.2`): a blank is put back; a stray dot in a year (`2.021年`) goes;
- tick boxes: an empty box read as the character 口 and a tick as V, a filled one dropped:
  `类型:初次认证口再认证` becomes `类型:■初次认证□再认证`, so that the unticked options are not
  read as stated;
- the blank between label-value pairs of one row lost (`审核员:魏文静审核组长:范涛`): put back
  before each known label after the row's first, so that a value ends where the next label begins.
Blanks that OCR puts inside identifiers (`Q 8.5.1`, `2019. 05. 06`) are removed.
"""
from __future__ import annotations

import re

from .extract.labels import ALL_LABELS
from .identifiers import _FIELD_LETTERS, CERT_PATTERNS, find_credit_codes, is_valid_credit_code

# Letters (and CJK look-alikes) OCR reads for digits.
_AS_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0", "I": "1", "l": "1",
                           "|": "1", "i": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8",
                           "G": "6", "b": "6", "g": "9", "q": "9"})
_D = r"[0-9OoDQ〇IlZzSsBGbgq|i]"           # a digit as OCR may print it
_DL = r"[0-9Ool〇I|]"                      # a digit where letters are real too: only the surest

# A run that starts and ends with a digit-like character, with a digit somewhere inside.
_NUMERIC = re.compile(rf"(?<![A-Za-z0-9]){_DL}[0-9Ool〇I|.\-/:]*{_DL}(?![A-Za-z0-9])")
_DATE = re.compile(rf"({_D}{{4}})\s*([年./\-])\s*({_D}{{1,2}})\s*([月./\-])\s*({_D}{{1,2}})(日?)")
_CODE_GLUED = re.compile(r"(\d{2}\.\d{2}\.\d{2}(?:/\d)?)(?=\d{2}\.\d{2}\.\d{2}(?!\d))")
_YEAR_DOTTED = re.compile(r"(?<![\d.])(\d[.,·]?\d[.,·]?\d[.,·]?\d)(?=\s*年)")    # 2.021年
_TICK_AS_V = re.compile(r"(?<=:)\s*[Vv](?=[\u4e00-\u9fff])")                          # 类型:V初审
# `GB/T45001-20208.2`: a standard's year glued to the clause after it.
_STANDARD_CLAUSE = re.compile(r"((?:GB/T|GB|ISO/IEC|ISO)\s?\d{4,5}(?:\.\d)?[-:](?:19|20)\d{2})(?=\d{1,2}(?:\.\d{1,2})+(?!\d))")
_SPACED_NUMBER = re.compile(r"(?<=\d)\s*([.．])\s*(?=\d)")
_CLAUSE_AFTER_LETTER = re.compile(r"\b([QESFHO])\s+(\d{1,2}(?:\.\d{1,2}){1,3})\b")
_CREDIT_LIKE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z〇|]{18})(?![0-9A-Za-z])")
# Certificate numbers in the shapes of `archive.identifiers`, digits as OCR may print them.
_CERT_COMPACT = re.compile(rf"(?<![0-9A-Za-z\-])({_DL}{{5}}) ?({_FIELD_LETTERS}) ?({_DL}{{3,7}}) ?"
                           rf"(R)({_DL}{{1,2}})([SML]?)(?![0-9A-Za-z])", re.I)
_CERT_DASHED = re.compile(rf"(?<![0-9A-Za-z\-])({_DL}{{3}})-({_DL}{{2}})-({_FIELD_LETTERS})-({_DL}{{3,7}})-"
                          rf"R({_DL}{{1,2}})(?:-([SML]))?(?![0-9A-Za-z])", re.I)

# Words with 口 that are not boxes.
_KOU_WORDS = re.compile(r"出口|进口|入口|接口|口腔|人口|港口|窗口|口岸|路口|门口|口罩|口径|口头|端口|"
                        r"户口|关口|道口|开口|口令|借口|口服|口味|风口|缺口|渠口|出入口|排口|排污口")
_BOX = "口"
# Options forms print beside tick boxes: where two of them run together after a box, the second
# one's (filled) box was dropped: `□监督再认证` → `□监督■再认证`.
OPTIONS = ("初次认证", "初审", "监督审核", "监督", "再认证", "复评", "扩大范围", "转换认证", "特殊审核",
           "变更", "第一阶段", "第二阶段", "一阶段", "二阶段", "一般", "严重", "轻微", "书面验证",
           "现场验证", "同意注册", "不同意注册", "补充")
_OPTION = "|".join(sorted(OPTIONS, key=len, reverse=True))
_TWO_OPTIONS = re.compile(rf"(?<=□)({_OPTION})({_OPTION})(?=[\s□■√]|$)")
# `性质:一般口严重`: two options, one box left: the first option's (filled) box was dropped.
_ONE_BOX = re.compile(rf"^([^:]{{1,12}}:\s*)({_OPTION})口({_OPTION})(?=\s|$)")


def _digits(text: str) -> str:
    return text.translate(_AS_DIGIT)


def _fix_numeric(m: re.Match) -> str:
    """A digit-led run with a stray O, l or I: the letters become digits (`2O23` → 2023)."""
    run = m.group(0)
    if sum(ch.isdigit() for ch in run) < 2:
        return run
    return run.translate(str.maketrans({"O": "0", "o": "0", "〇": "0", "l": "1", "I": "1", "|": "1"}))


def _fix_date(m: re.Match) -> str:
    year, s1, month, s2, day, ri = m.groups()
    y, mo, d = _digits(year), _digits(month), _digits(day)
    if not (y.isdigit() and mo.isdigit() and d.isdigit()):
        return m.group(0)
    if not (1950 <= int(y) <= 2100 and 1 <= int(mo) <= 12 and 1 <= int(d) <= 31):
        return m.group(0)
    return f"{y}{s1}{mo}{s2}{d}{ri}"


def _fix_credit(m: re.Match) -> str:
    raw = m.group(1)
    if is_valid_credit_code(raw.upper()):
        return raw
    # The credit alphabet has no I, O, S, V, Z: those are misread digits.
    fixed = raw.upper().translate(str.maketrans({"O": "0", "I": "1", "S": "5", "Z": "2", "〇": "0",
                                                 "|": "1"}))
    return fixed if is_valid_credit_code(fixed) else raw


def _cert(raw: str, fixed: str) -> str:
    if any(p.fullmatch(raw.upper()) for p in CERT_PATTERNS):
        return raw
    return fixed if any(p.fullmatch(fixed) for p in CERT_PATTERNS) else raw


def _fix_compact_cert(m: re.Match) -> str:
    """`O341OQ1O286ROS` → 03410Q10286R0S: digits in the digit places, when the result has the
    shape of a certificate number."""
    serial, letters, number, r, count, size = m.groups()
    return _cert(m.group(0), _digits(serial) + letters.upper() + _digits(number) + "R"
                 + _digits(count) + size.upper())


def _fix_dashed_cert(m: re.Match) -> str:
    """`061-11-Q1-OOO75-RO-S` → 061-11-Q1-00075-R0-S."""
    body, year, letters, number, count, size = m.groups()
    return _cert(m.group(0), f"{_digits(body)}-{_digits(year)}-{letters.upper()}-{_digits(number)}"
                             f"-R{_digits(count)}" + (f"-{size.upper()}" if size else ""))


_NEXT_LABEL = re.compile("(?<=[^\\s:])(" + "|".join(re.escape(l) for l in ALL_LABELS) + r")(?=\s*:)")


def _split_pairs(line: str) -> str:
    """`审核员:魏文静审核组长:范涛` → `审核员:魏文静 审核组长:范涛` (only after a first `label:`)."""
    first = line.find(":")
    if first < 0 or line.count(":") < 2:
        return line
    return line[: first + 1] + _NEXT_LABEL.sub(r" \1", line[first + 1:])


def _fix_boxes(line: str) -> str:
    """`申请类型:初次认证口再认证口扩大范围` → `申请类型:■初次认证□再认证□扩大范围`; a tick read as
    V before the first option (`类型:V初审口监督`) is a tick again; a line of boxes with no tick
    left gets back the one that was dropped, where two known options run together."""
    if _BOX in line:
        line = _TICK_AS_V.sub("√", line)
        line = _ONE_BOX.sub(r"\1■\2□\3", line)
    marks = sum(line.count(m) for m in "■□√☑")
    if line.count(_BOX) >= 2 or (marks and _BOX in line):
        spans = [m.span() for m in _KOU_WORDS.finditer(line)]
        positions = [i for i, ch in enumerate(line) if ch == _BOX
                     and not any(a <= i < b for a, b in spans)
                     and i + 1 < len(line) and not line[i + 1].isspace()]
        if len(positions) + marks >= 2:
            chars = list(line)
            for i in positions:
                chars[i] = "□"
            line = "".join(chars)
            # A ticked box that OCR dropped: the first option after the label has no mark.
            m = re.match(r"^([^:□■√☑]{1,16}:\s*)([^\s:□■√☑✓✔][^\s:□]{1,15}□)", line)
            if m:
                line = m.group(1) + "■" + line[m.end(1):]
    if "□" in line and not any(m in line for m in "■√☑✓✔"):
        line = _TWO_OPTIONS.sub(r"\1■\2", line)
    return line


def repair(text: str) -> str:
    """OCR'd, normalised page text with the misreadings above repaired."""
    lines = []
    for line in text.split("\n"):
        line = _fix_boxes(line)
        line = _split_pairs(line)
        line = _YEAR_DOTTED.sub(lambda m: re.sub(r"[.,·]", "", m.group(1)), line)
        line = _DATE.sub(_fix_date, line)
        line = _SPACED_NUMBER.sub(r"\1", line)
        line = _NUMERIC.sub(_fix_numeric, line)
        line = _CLAUSE_AFTER_LETTER.sub(r"\1\2", line)
        line = _CODE_GLUED.sub(r"\1 ", line)
        line = _STANDARD_CLAUSE.sub(r"\1 ", line)
        if not find_credit_codes(line):
            line = _CREDIT_LIKE.sub(_fix_credit, line)
        line = _CERT_COMPACT.sub(_fix_compact_cert, line)
        line = _CERT_DASHED.sub(_fix_dashed_cert, line)
        lines.append(line)
    return "\n".join(lines)
