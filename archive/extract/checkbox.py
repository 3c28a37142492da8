"""Tick boxes printed on forms: `□初审 ☑监督 □再认证`, `一般☑ 严重□`."""
from __future__ import annotations

import re

CHECKED = "☑✓✔√■☒▣●⊠"
UNCHECKED = "□☐○◻"
_MARK = re.compile(f"([{CHECKED}{UNCHECKED}])")


# `初审(√) 监督( )`: the mark in brackets after the option (NFKC has made the brackets ASCII).
_BRACKETED = re.compile(rf"(\S+?)\(\s*([{CHECKED}]?)\s*\)")


_ANY_MARK = frozenset(CHECKED + UNCHECKED)


def has_boxes(text: str) -> bool:
    if not _ANY_MARK.isdisjoint(text):
        return True
    return "(" in text and len(_BRACKETED.findall(text)) >= 2


def checked_options(text: str) -> list[str]:
    """The option texts marked as ticked; [] when the text has no boxes."""
    bracketed = _BRACKETED.findall(text)
    if len(bracketed) >= 2 and any(mark for _, mark in bracketed):
        return [option for option, mark in bracketed if mark]
    parts = _MARK.split(text)
    if len(parts) < 3:
        return []
    marks_first = not parts[0].strip()
    out = []
    for i in range(1, len(parts), 2):
        mark = parts[i]
        if mark not in CHECKED:
            continue
        option = parts[i + 1] if marks_first else parts[i - 1]
        # An option is the words up to the next blank (for marks after, the last word before).
        words = option.split()
        if words:
            out.append(words[0] if marks_first else words[-1])
    return out


def resolve(text: str) -> str:
    """The text with unticked options removed, when it has boxes; else unchanged."""
    if not has_boxes(text):
        return text
    return " ".join(checked_options(text))


def drop_unticked(text: str) -> str:
    """Text with every unticked option removed (line by line), so a form's list of choices does
    not read as if all of them applied."""
    out = []
    for line in text.split("\n"):
        if has_boxes(line):
            line = re.sub(rf"[{UNCHECKED}]\s*[^\s{CHECKED}{UNCHECKED}]+", " ", line)
            line = re.sub(rf"[^\s{CHECKED}{UNCHECKED}]+?[{UNCHECKED}]", " ", line)
            line = re.sub(r"[^\s()]+\(\s*\)", " ", line)
        out.append(line)
    return "\n".join(out)
