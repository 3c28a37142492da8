"""The audit team: names, roles (leader / member / expert) and CCAA registration numbers.

Read from team tables (header row 姓名 | 组内身份 | 注册号 …), from rows a table became in the text
layer (`张三 组长 2021-N1QMS-1234567 17.10.02`), and from labelled lines (`审核组长：张三`, or the
whole team on one line: `组长：张三（…）；组员：李四；技术专家：王五`), names wrapped by the layout
made whole again.
"""
from __future__ import annotations

import re

from .. import identifiers
from ..models import Auditor
from ..text import compact
from . import labels

SURNAMES_1 = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
    "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项"
    "连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲"
    "虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜"
    "海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜"
    "羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信"
    "展阴昝智幸奉植衡富尧闭由")
SURNAMES_2 = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
              "司徒", "夏侯", "令狐", "端木", "独孤", "南宫", "西门", "澹台", "万俟")
NOT_NAMES = {"审核员", "组长", "组员", "专家", "技术专家", "成员", "签字", "签名", "日期", "时间",
             "姓名", "注册号", "见附件", "见附表", "无", "暂无", "待定", "全体", "部门", "负责人"}
ROLE_WORDS = (("leader", ("审核组组长", "审核组长", "组长", "审核组长(注册)")),
              ("expert", ("技术专家", "专家")),
              ("member", ("审核组成员", "审核组员", "组员", "成员", "审核员", "实习审核员", "见习审核员")))
_NAME = r"[\u4e00-\u9fff]{2,4}"
_HEADER_NAME = ("姓名", "审核员姓名", "人员", "审核员")
_HEADER_ROLE = ("组内身份", "组内职务", "组内角色", "身份", "角色", "职务", "审核组职务", "组别", "岗位",
                "分工", "审核组身份")
_HEADER_REG = ("注册号", "注册证书号", "注册证号", "注册编号", "资格证书号", "证书号", "CCAA注册号",
               "注册资格", "资格号", "注册证书编号", "资格证书编号", "证书编号")


def is_person_name(text: str) -> bool:
    """A Chinese personal name: 2–4 Han characters starting with a known surname."""
    if not re.fullmatch(_NAME, text) or text in NOT_NAMES:
        return False
    if text[:2] in SURNAMES_2:
        return len(text) >= 3
    return text[0] in SURNAMES_1 and len(text) <= 3


def role_of(word: str) -> str | None:
    c = compact(word)
    for role, words in ROLE_WORDS:
        if c in words or any(c.startswith(w) for w in words if len(w) >= 2 and len(c) <= len(w) + 3):
            return role
    return None


def _add(team: list[Auditor], name: str, role: str | None, reg_no: str | None) -> None:
    for a in team:
        if a.name == name:
            a.role = a.role or role
            a.reg_no = a.reg_no or reg_no
            return
    team.append(Auditor(name=name, role=role, reg_no=reg_no))


def _column(header: list[str], words: tuple[str, ...]) -> int | None:
    for i, cell in enumerate(header):
        if compact(cell) in words:
            return i
    for i, cell in enumerate(header):
        if any(w in compact(cell) for w in words if len(w) >= 2):
            return i
    return None


def team_from_table(table: list[list[str]], team: list[Auditor]) -> bool:
    """Rows of a team table, found by its header; True when the table was one."""
    for h, header in enumerate(table[:3]):
        name_col = _column(header, _HEADER_NAME)
        role_col = _column(header, _HEADER_ROLE)
        if name_col is None or role_col is None or name_col == role_col:
            continue
        reg_col = _column(header, _HEADER_REG)
        for row in table[h + 1:]:
            if max(name_col, role_col) >= len(row):
                continue
            name = compact(row[name_col])
            role = role_of(row[role_col])
            if not is_person_name(name) or role is None:
                continue
            reg = None
            if reg_col is not None and reg_col < len(row):
                regs = identifiers.find_reg_nos(row[reg_col])
                reg = regs[0][2] if regs else None
            _add(team, name, role, reg)
        return True
    return False


# The name cell may hold only part of a name: the rest wrapped onto the line above or below.
_NAME_ROLE = re.compile(r"^(?:\d{1,2}[.、)]?\s+)?([\u4e00-\u9fff]{1,4})\s+([\u4e00-\u9fff]{2,6})(?=\s|$)")
_ROLE_NAME = re.compile(rf"^(?:\d{{1,2}}[.、)]?\s+)?([\u4e00-\u9fff]{{2,6}})\s+({_NAME})(?=\s|$)")
_FRAGMENT = re.compile(r"[\u4e00-\u9fff]{1,3}")
# `王  明`: forms pad two-character names to the width of three.
_PADDED = re.compile(r"^(?:(\d{1,2}[.、)]?\s+))?([\u4e00-\u9fff])\s+([\u4e00-\u9fff]{1,2})(?=\s|$)")


def _unpad(line: str) -> str:
    m = _PADDED.match(line)
    if m and is_person_name(m.group(2) + m.group(3)):
        return (m.group(1) or "") + m.group(2) + m.group(3) + line[m.end():]
    return line


def _whole_name(lines: list[str], i: int, part: str) -> str | None:
    """The name a row's name cell holds: `part`, or `part` with the piece the cell wrapped onto a
    line of its own (`欧阳` above `文华 组长 …`, or `华` below `欧阳文 组长 …`)."""
    prev = lines[i - 1].strip() if i else ""
    if _FRAGMENT.fullmatch(prev) and not is_person_name(prev) and is_person_name(prev + part):
        return prev + part
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if _FRAGMENT.fullmatch(nxt) and not is_person_name(nxt) and is_person_name(part + nxt):
        after = _NAME_ROLE.match(lines[i + 2]) if i + 2 < len(lines) else None
        if not (after and is_person_name(nxt + after.group(1))):     # the piece starts the next row
            return part + nxt
    return part if is_person_name(part) else None


def team_from_rows(lines: list[str], team: list[Auditor]) -> None:
    """Table rows flattened to text: a name and a role word side by side, a reg. no. on the line.

    `张三 组长 …` is a team-table row; `审核员 张三` is a label cell and its value, which names an
    auditor without saying their role in the team.
    """
    lines = [_unpad(line) for line in lines]
    for i, line in enumerate(lines):
        name = role = None
        m = _NAME_ROLE.match(line)
        if m and role_of(m.group(2)) and (whole := _whole_name(lines, i, m.group(1))):
            name, role = whole, role_of(m.group(2))
        else:
            m = _ROLE_NAME.match(line)
            if m and is_person_name(m.group(2)) and role_of(m.group(1)):
                name = m.group(2)
                role = None if compact(m.group(1)) in labels.AUDITOR else role_of(m.group(1))
        if name is None:
            continue
        regs = identifiers.find_reg_nos(line)
        _add(team, name, role, regs[0][2] if regs else None)


# A value's words: a bracket (`(组长,2020-N1QMS-1234567)`) or a run between separators.
_WORD = re.compile(r"\(([^()]*)\)?|([^\s、,;/()]+)")
_INNER = re.compile(r"[,;:、/\s]+")


def _names_with_regs(value: str) -> list[tuple[str, str | None, str | None]]:
    """`张三(2021-N1QMS-1234567)、李四(审核组长)` → [(张三, reg, None), (李四, None, leader)].

    After a name may follow, in brackets or not, its registration number and its role; a value
    ends at the first other word."""
    out: list[tuple[str, str | None, str | None]] = []
    words = [(m.group(2) is None, m.group(1) if m.group(2) is None else m.group(2))
             for m in _WORD.finditer(value)]

    def attach(text: str, bracket: bool) -> bool:
        if not out:
            return False
        name, reg, role = out[-1]
        regs = identifiers.find_reg_nos(text)
        if bracket:
            own = next((r for p in _INNER.split(text) if (r := role_of(p))), None)
        else:                           # `张三 组长`: a role word of its own, not `组长签字`
            own = next((r for r, words in ROLE_WORDS if text in words), None)
        if not regs and not own:
            return bracket              # a bracket that says neither (`(实习)`) is passed over
        out[-1] = (name, reg or (regs[0][2] if regs else None), role or own)
        return True

    k = 0
    while k < len(words):
        bracket, word = words[k]
        if bracket:
            attach(word or "", True)
        elif is_person_name(word):
            out.append((word, None, None))
        elif (len(word) == 1 and k + 1 < len(words) and not words[k + 1][0]
              and is_person_name(word + words[k + 1][1])):      # `王  明`, padded to three
            out.append((word + words[k + 1][1], None, None))
            k += 1
        elif not attach(word, False):
            break                       # a value ends at the first word that is not a name
        k += 1
    return out


# Labels that name the team without a role: `审核组：张三（组长）、李四、王五`.
TEAM = ("审核组", "审核小组", "审核组组成", "审核组人员")
# A label starts a line, follows a blank or a bracket, or follows the punctuation that separates
# one role's names from the next (`组长：张三；组员：李四，技术专家：王五`).
_BEFORE_LABEL = r"(?:^|(?<=[\s(;,、。|]))"


def _team_labels() -> dict[str, str | None]:
    by_label: dict[str, str | None] = {l: "leader" for l in labels.LEADER}
    by_label |= {l: "member" for l in labels.MEMBER}
    by_label |= {l: "expert" for l in labels.EXPERT}
    by_label |= {l: None for l in labels.AUDITOR + TEAM}
    return by_label


_BY_LABEL = _team_labels()
_TEAM_LABEL = re.compile(rf"{_BEFORE_LABEL}(?:{'|'.join(sorted(map(re.escape, _BY_LABEL), key=len, reverse=True))})"
                         r"(?:\([^)]{0,12}\))?(?:\s*:\s*|\s+|$)")
_LIST_END = re.compile(r"[、,;]\s*$")
_NUMBERED = re.compile(r"^[一二三四五六七八九十]+[、.]")      # `一、审核目的`: a heading, not a name's end
_LEADING_NAME = re.compile(r"^([\u4e00-\u9fff]{1,4})(?=[\s、,;(]|$)")


def _continues(line: str, nxt: str) -> str | None:
    """Whether the next line carries on a labelled list of names that the line's end cut: a label
    with its names below (a table cell), after a separator (`组员：钱明、` / `孙丽娟`), inside a
    bracket (`韩冬（` / `技术专家）`) or inside a name (`孙丽` / `娟（…）`, `欧阳` / `文华`).
    Returns what joins the two lines ("" inside a name, else a blank), or None."""
    if not nxt or _TEAM_LABEL.match(nxt) or labels.label_re(labels.ALL_LABELS, True).match(nxt) \
            or _NUMBERED.match(nxt):
        return None
    if line.count("(") > line.count(")"):
        return ""
    bracket = re.match(r"\(([^)]*)\)?", nxt)
    if bracket and (identifiers.find_reg_nos(bracket.group(1)) or role_of(bracket.group(1).split(",")[0])):
        return ""                       # `钱明` / `（2019-2-EMS-1056789）、孙丽娟`
    regs = identifiers.find_reg_nos(nxt[:40])
    if regs and regs[0][0] == 0:
        return " "                      # `钱明` / `2019-2-EMS-1056789、孙丽娟`
    if nxt[0] in "、,;":
        return ""
    m = _LEADING_NAME.match(nxt)
    head = m.group(1) if m else ""
    ends = [x.end() for x in _TEAM_LABEL.finditer(line)]
    if _LIST_END.search(line) or (ends and ends[-1] == len(line)):
        return " " if is_person_name(head) else None
    last = re.search(r"([\u4e00-\u9fff]{1,3})$", line)
    if not head or not last:
        return None
    tail = last.group(1)
    if is_person_name(tail + head) and not (is_person_name(tail) and is_person_name(head)):
        return ""
    return None


def team_from_labels(lines: list[str], team: list[Auditor]) -> None:
    """`审核组长：张三（2021-N1QMS-1234567）`, `组员：李四、王五`, `审核员：赵六` (role unknown),
    one line for the whole team (`组长：张三；组员：李四；技术专家：王五`); in table rows the colon
    may be missing (`审核组长 范涛`): names are checked either way. A list the line's end cut
    goes on on the next line."""
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not _TEAM_LABEL.search(line):
            continue
        while i < len(lines) and (joint := _continues(line, lines[i])) is not None:
            line += joint + lines[i]
            i += 1
        found = list(_TEAM_LABEL.finditer(line))
        for k, m in enumerate(found):
            end = found[k + 1].start() if k + 1 < len(found) else len(line)
            label = re.sub(r"\(.*", "", m.group(0)).rstrip(": ").strip()
            role = _BY_LABEL.get(label)
            named = _names_with_regs(labels.cut_at_next_label(line[m.end():end]))
            # `审核组：张三（组长）、李四`: beside a marked leader, the others are members
            led = role is None and len(named) > 1 and any(r == "leader" for _, _, r in named)
            for name, reg, own_role in named:
                _add(team, name, own_role or role or ("member" if led else None), reg)


# `本人魏斌（注册号：2019-2-EMS-1056789）`: a CCAA number in brackets after a name marks an auditor.
_NAME_REG = re.compile(r"([\u4e00-\u9fff]{2,5})\s*\((?:注册号|注册证书号|注册编号|CCAA注册号)?\s*:?\s*([^)]{6,30})\)")
_NOT_FIRST = set("由和及与为是请经在对向将把被让给人员长兹")


def team_from_registrations(text: str, team: list[Auditor]) -> None:
    for m in _NAME_REG.finditer(text):
        regs = identifiers.find_reg_nos(m.group(2))
        if not regs:
            continue
        run = m.group(1)
        if any(run.endswith(a.name) for a in team):
            continue
        for size in (4, 3, 2):
            name = run[-size:]
            if any(a.name.endswith(name) for a in team):      # `文华(…)`: a wrapped name's end
                break
            if len(run) >= size and is_person_name(name) and name[0] not in _NOT_FIRST:
                _add(team, name, None, regs[0][2])
                break


def find_team(lines: list[str], tables: list[list[list[str]]]) -> list[Auditor]:
    team: list[Auditor] = []
    for table in tables:
        team_from_table(table, team)
    team_from_rows(lines, team)
    team_from_labels(lines, team)
    team_from_registrations("\n".join(lines), team)
    return team
