"""The organisation a document is about: its name and its unified social credit code.

Read, in order, from labels (`受审核方：…`), a certificate's statement (`兹证明` / `This is to
certify that`, the name on a line of its own, the credit code and the English name under it), a
letter's salutation (`某某有限公司：`) and a sentence about the audit. Layouts wrap names: a
name that the line's end cut (`…有限公` / `司`, a narrow table cell) goes on on the next line.
"""
from __future__ import annotations

import re
from typing import Callable

from .. import identifiers
from ..text import compact
from . import labels

ORG_SUFFIX = re.compile(
    r"(有限责任公司|股份有限公司|有限公司|公司|集团|厂|研究院|研究所|设计院|医院|学校|学院|大学|中心|合作社|"
    r"事务所|协会|商行|商店|门市部|经营部|分公司|Co\.,?\s*Ltd\.?|Limited|Inc\.?)$", re.I)
# A name a certificate's statement introduces may end in any word for a place of business.
_PLACE_SUFFIX = re.compile(r"(站|所|局|馆|社|店|场|园|院|部|队|会|处|室|行|坊|庄|办|委|团|基地|合伙)$")
ORG_SHAPE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9()·&.,\- ]{4,80}$")
STRONG_ORG = ("受审核方", "受审核方名称", "组织名称", "受审核组织", "受审核组织名称", "获证组织",
              "获证组织名称", "申请组织", "申请组织名称")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_BLANK = re.compile(r"(?<=[\u4e00-\u9fff（）]) (?=[\u4e00-\u9fff（）])")
# A piece of a name that the line's end carried over (`司`, `精密机械制造有限公司`).
_PIECE = re.compile(r"[\u4e00-\u9fff（）()·&A-Za-z0-9]{1,40}")


def clean_org(value: str) -> str:
    """An organisation name as registered: seal remarks dropped, Chinese (full-width) brackets, no
    blank between Chinese characters (`浙江华东精密 机械制造有限公司` is one name)."""
    value = re.sub(r"\((?:盖章|公章|签章|签字|印章|章)\)", "", value)
    value = re.split(r"\s{2,}|(?:(?<=公司)|(?<=厂))\s", value)[0]
    value = value.strip(" .,;:、")
    if _HAN.search(value):
        value = re.sub(r"\(([^()]*[\u4e00-\u9fff][^()]*)\)", r"（\1）", value)
        value = _HAN_BLANK.sub("", value)
    return value


def _plain(value: str) -> str:
    return value.replace("（", "(").replace("）", ")")


def has_suffix(value: str, places: bool = False) -> bool:
    """Ends as an organisation's name does; `places`: also 站, 所, 局 … (a bracketed remark such
    as `（特殊普通合伙）` aside)."""
    if ORG_SUFFIX.search(value):
        return True
    return places and bool(_PLACE_SUFFIX.search(re.sub(r"（[^（）]*）$", "", value) or value))


def _first_word(line: str) -> str:
    return line.split(" ")[0].rstrip(":")


def unwrap(value: str, following: list[str], piece_of: Callable[[str], str] = _first_word) -> tuple[str, int]:
    """A name the line's end cut (`…股份有限公` + `司`; `浙江华东` + `精密机械制造有限公司 审核日期 …`):
    the start of the next line (`piece_of` it), or the next two, completes it when together they end
    as names do. After a name that may be whole (`…服务站`, `无锡银河办`) a line that is a name of
    its own (`华正联合认证有限公司`) does not go on with it, a short tail (`公家具有限公司`) does.
    Returns the name and the number of lines it took from `following`."""
    if not value or has_suffix(value):
        return value, 0
    whole = has_suffix(value, places=True)
    joined = value
    for used, line in enumerate(following[:2], 1):
        line = line.strip()
        piece = piece_of(line)
        if not _PIECE.fullmatch(piece) or piece in labels.ALL_LABELS \
                or labels.label_re(labels.ALL_LABELS).match(line):
            break
        if whole and len(ORG_SUFFIX.sub("", piece)) >= 6:
            break
        joined += piece
        if has_suffix(joined) and len(joined) <= 60:
            return joined, used
        if piece == line and len(piece) <= 2 and has_suffix(joined, places=True):    # `…服务` / `站`
            return joined, used
        if piece != line:           # the line holds more than the name's piece: it ends there
            break
    return value, 0


def _alone(line: str) -> bool:
    return not labels.label_re(labels.ALL_LABELS, True).match(line) and not labels.compact_label(line)


def _labelled(lines: list[str]) -> str | None:
    pattern = labels.label_re(labels.ORG)
    for i, line in enumerate(lines):
        for m in pattern.finditer(line):
            label = compact(m.group(0)).rstrip(":")
            label = re.sub(r"\(.*", "", label)
            value = labels.cut_at_next_label(line[m.end():])
            below = i + 1
            at_end = m.end() + len(value) >= len(line.rstrip())
            if not value and below < len(lines) and _alone(lines[below]):
                # the label alone on its line (a table's label cell): the name is on the next
                value = labels.cut_at_next_label(lines[below])
                at_end = value == lines[below].strip()
                below += 1
            if at_end:
                value = unwrap(value, lines[below:below + 2])[0]
            value = clean_org(value)
            if not value or not ORG_SHAPE.match(_plain(value)) or not _HAN.search(value):
                continue
            if ORG_SUFFIX.search(value) or label in STRONG_ORG:
                return value
    return None


def _salutation(lines: list[str]) -> str | None:
    """A letter's salutation: `致：某某有限公司` / `某某有限公司：`."""
    for i, line in enumerate(lines[:12]):
        m = re.fullmatch(r"(?:致\s*:?\s*)?([^:\s]{1,60}?)\s*:?", line.strip())
        if m and (line.strip().endswith(":") or line.startswith("致")):
            value = clean_org(m.group(1))
            prev = lines[i - 1].strip() if i else ""
            if _PIECE.fullmatch(prev) and not has_suffix(prev):     # `浙江华东精密机械制造有` / `限公司：`
                tail = ORG_SUFFIX.search(value)
                if (len(value) - len(tail.group(0)) < 2) if tail else has_suffix(prev + value):
                    value = prev + value
            if line.startswith("致") and not line.strip().endswith(":"):
                value = clean_org(unwrap(value, lines[i + 1:i + 3])[0])
            if ORG_SHAPE.match(_plain(value)) and ORG_SUFFIX.search(value) \
                    and len(ORG_SUFFIX.sub("", value)) >= 2:        # not the tail `有限公司：` of a wrap
                return value
    return None


# -- certificates: `兹证明` / `This is to certify that`, the name on a line of its own --------------

_CN_ANCHOR = re.compile(r"兹\s*(?:证\s*明|确\s*认)\s*:?\s*")
_EN_ANCHOR = re.compile(r"this\s+is\s+to\s+(?:certify|confirm)(?:\s+that)?\s*[:,]?\s*", re.I)
_EN_SYSTEM = re.compile(r"^(?:the\s+)?[A-Za-z/&,\- ]{0,80}?\bsystems?\s+(?:of|operated\s+by|implemented\s+by|at)\b\s*",
                        re.I)
# Where the statement goes on after the name: `…有限公司的质量管理体系`, `(所)建立的`, `符合`, the
# credit code (in brackets or not), a colon.
_CN_AFTER = re.compile(r"的(?=.{0,20}(?:体系|服务|产品|认证|符合))|(?:所|已)?建立|符合|:"
                       r"|\(?\s*(?:统一社会信用代码|社会信用代码|信用代码)"
                       r"|\((?=[^)]*(?:代码|[0-9A-Z]{18}))")
_STATEMENT_GOES_ON = re.compile(r"^(?:的|(?:所|已)?建立|符合|\(?\s*(?:统一社会信用代码|社会信用代码|信用代码))")
_NOT_A_NAME = re.compile(r"^(?:该|贵|本|其|下列|以下|上述|我|你|您|在|经)|体系|符合|标准|证书|有效期|[,;。!?]")
_EN_AFTER = re.compile(r"\s+(?:has|have|is|are|was|were|conforms?|complies|meets|operates?|located|registered|"
                       r"for|in\s+respect)\b|\s*[(:]", re.I)
_EN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9&'().,\- ]{2,120}$")
_EN_SUFFIX = re.compile(r"\b(?:co\.?,?\s*ltd\.?|company|limited|ltd\.?|inc\.?|corporation|corp\.?|llc|gmbh|group|"
                        r"factory|plant|hospital|university|college|institute|cent(?:er|re)|bureau)$", re.I)
_CREDIT_WORDS = tuple(sorted((compact(w).lower() for w in labels.CREDIT + (
    "Unified Social Credit Code", "Social Credit Code", "Credit Code", "USCC", "No.", "No")), key=len, reverse=True))


def code_line(line: str) -> str | None:
    """The credit code of a line that holds nothing else but its label (`(统一社会信用代码 9133…)`,
    `Unified Social Credit Code: 9133…`, the 18 characters alone)."""
    codes = identifiers.find_credit_codes(line)
    if len(codes) != 1:
        return None
    rest = re.sub(r"[\s()\[\]【】:#.\-]", "", line.upper().replace(codes[0], "", 1)).lower()
    for word in _CREDIT_WORDS:
        rest = rest.replace(word.replace(".", ""), "")
    return codes[0] if not rest else None


def _cn_name(text: str) -> tuple[str, bool]:
    """The name at the start of a statement's text, and whether the statement went on after it."""
    m = _CN_AFTER.search(text)
    head = text[: m.start()] if m else text
    return clean_org(head), m is not None


def _cn_like(name: str) -> bool:
    return (bool(name) and _HAN.search(name) is not None and ORG_SHAPE.match(_plain(name)) is not None
            and not _NOT_A_NAME.search(name))


def _en_name(text: str) -> str | None:
    m = _EN_AFTER.search(text)
    name = (text[: m.start()] if m else text).strip(" ,;:")
    return name if _EN_NAME.match(name) and _EN_SUFFIX.search(name) else None


def _goes_on(lines: list[str], k: int) -> bool:
    """The lines under a name carry on a certificate's statement: `的…体系`, `建立的`, the credit
    code, or the name in English."""
    for line in lines[k + 1:k + 4]:
        if _STATEMENT_GOES_ON.match(line) or code_line(line) or _en_name(line):
            return True
    return False


def _chinese_under(lines: list[str], k: int, rest: str) -> tuple[str, int] | None:
    """The Chinese name a statement introduces: after it on its line (`rest`) or on line `k`."""
    text = rest if rest.strip() else lines[k] if k < len(lines) else ""
    name, went_on = _cn_name(text)
    if not went_on:                 # wrapped: `浙江华东精密机械制造有` / `限公司`
        name, used = unwrap(name, lines[k + 1:k + 3], lambda line: _cn_name(line)[0])
        k += used
    if not _cn_like(name) or len(compact(name)) < 4:
        return None
    if has_suffix(name, places=True) or went_on or _goes_on(lines, k):
        return name, k
    return None


def certified_org(lines: list[str]) -> tuple[str, int] | None:
    """The organisation a certificate's statement names, and the index of the name's (last) line.

    `兹  证  明` (letter-spaced) with the name after it or on the next line; `This is to certify
    that (the … System of)` with the name — a Chinese one printed near it first, else the English.
    Without a statement, a name line followed by `建立的…体系` / `的…管理体系符合` is one too."""
    for i, line in enumerate(lines[:60]):
        m = _CN_ANCHOR.search(line)
        if m and (found := _chinese_under(lines, i if line[m.end():].strip() else i + 1, line[m.end():])):
            return found
    for i, line in enumerate(lines[:60]):
        m = _EN_ANCHOR.search(line)
        if not m:
            continue
        k, text = i, _EN_SYSTEM.sub("", line[m.end():])
        while not text.strip() and k + 1 < len(lines) and k - i < 2:
            k += 1
            text = _EN_SYSTEM.sub("", lines[k])
        for j in range(k, min(k + 3, len(lines))):   # bilingual: the Chinese name printed near
            name, _ = _cn_name(lines[j])
            if _cn_like(name) and has_suffix(name, places=True) and not _en_name(lines[j]):
                return name, j
        name = _en_name(text)
        if name:
            return name, k
    for i, line in enumerate(lines[:40]):
        name = clean_org(line)
        if (i + 1 < len(lines) and len(name) <= 40 and ORG_SUFFIX.search(name) and _cn_like(name)
                and re.match(r"(?:(?:所|已)?建立的|的\S{0,12}(?:管理体系|体系|服务))", lines[i + 1])):
            return name, i
    return None


# -- the organisation ------------------------------------------------------------------------------

# `参加对南京某某有限公司的复评审核`: the organisation named in a sentence about its audit.
_PROSE_ORG = re.compile(r"对([^\s,;。:对]{4,60}?)的.{0,16}?(?:审核|认证)")


def find_org_name(lines: list[str]) -> str | None:
    found = _labelled(lines)
    if found:
        return found
    certified = certified_org(lines)        # before the salutation: `兹证明：` / `某某` / `有限公司：`
    if certified:
        return certified[0]
    found = _salutation(lines)
    if found:
        return found
    whole = "\n".join(lines[:40])
    for m in _PROSE_ORG.finditer(whole.replace("\n", "")):
        value = clean_org(m.group(1))
        if ORG_SUFFIX.search(value) and not value.startswith("贵"):
            return value
    return None


def _owner(lines: list[str], i: int) -> str | None:
    """The organisation a line sits with: a bare name line next to it (a letterhead's)."""
    for j in (i - 1, i + 1, i - 2):
        if 0 <= j < len(lines):
            line = lines[j].strip()
            if ":" not in line and " " not in line and ORG_SUFFIX.search(line) and len(line) <= 40:
                return clean_org(line)
    return None


def _code_under_name(lines: list[str], org_name: str) -> str | None:
    """A credit code on a line of its own just under the organisation's name (certificates)."""
    name = compact(org_name).lower()
    for i, line in enumerate(lines):
        c = compact(line).lower().rstrip(":")
        if len(c) >= 2 and (name in c or c in name):
            for below in lines[i + 1:i + 4]:
                code = code_line(below)
                if code:
                    return code
    return None


def find_credit_code(lines: list[str], org_name: str | None) -> str | None:
    """The labelled credit code nearest the organisation's label. A code printed with another
    organisation's name (the certification body's letterhead or footer) is not the organisation's;
    an unlabelled code is read only on a line of its own under the organisation's name."""
    codes = [(i, found[0]) for i, value in labels.find_values(lines, labels.CREDIT)
             if (found := identifiers.find_credit_codes(value.replace(" ", "")))]
    # `兹证明某某公司` read as one line; a name wrapped over two lines (`…有限` / `公司`)
    codes = [(i, c) for i, c in codes if (owner := _owner(lines, i)) is None
             or (org_name and (_plain(owner) in _plain(org_name) or _plain(org_name) in _plain(owner)))]
    if not codes:
        return _code_under_name(lines, org_name) if org_name else None
    org_lines = [i for i, _ in labels.find_values(lines, labels.ORG)]
    if not org_lines:
        return codes[0][1]
    return min(codes, key=lambda c: min(abs(c[0] - o) for o in org_lines))[1]
