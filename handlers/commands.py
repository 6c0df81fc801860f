"""Parsing worker and staff commands (SPEC §5): the number may stand anywhere ("接单128", "#128 办结 …")."""

from __future__ import annotations

import re
from dataclasses import dataclass

# command word -> (code, needs a petition number); the first that appears in the text wins.
COMMANDS: dict[str, tuple[str, bool]] = {
    "待办": ("todo", False),
    "接单": ("accept", True),
    "签收": ("accept", True),
    "进度": ("progress", True),
    "进展": ("progress", True),
    "办结": ("resolve", True),
    "完结": ("resolve", True),
    "退回": ("return", True),
    "上报": ("escalate", True),
    "转派": ("transfer", True),
    "转": ("transfer", True),
    "走访": ("visit", False),
    "查询": ("show", True),
    "查看": ("show", True),
    "查": ("show", True),
    "派单": ("dispatch", True),
    "驳回": ("reject", True),
    "定时公告": ("schedule_announce", False),
    "公告": ("announce", False),
    "公示": ("publish_note", True),
    "帮助": ("help", False),
    "取消合并": ("unmerge", True),
    "合并": ("merge", True),
    "议题": ("topic", False),
    "发起投票": ("vote", False),
    "主动公开": ("publish", False),
    "答复公开": ("answer_disclosure", True),
    "审核": ("review_wish", True),
    "登记党员": ("register_party", False),
    "登记观察员": ("register_observer", False),
}
_WORDS = sorted(COMMANDS, key=len, reverse=True)
# a petition number ends at a word boundary: "1e3", "12.5" or "12a" are no number at all
_NUMBER = re.compile(r"(?:#|＃|No\.?|第|心愿|公开)?\s*([0-9０-９]{1,7})\s*(?:号|號)?(?![0-9０-９A-Za-z._\-/楼栋幢单])")


@dataclass(frozen=True)
class Command:
    code: str
    number: int | None
    rest: str


def parse(text: str) -> Command | None:
    """The command in `text`, or None when it holds none. Commands must lead or follow a number."""
    raw = text.strip()
    for word in _WORDS:
        pos = raw.find(word)
        if pos < 0:
            continue
        before = raw[:pos].strip()
        if before and not re.fullmatch(r"[#＃]?\s*\d{1,7}\s*(?:号|號)?", before):
            continue
        code, needs_number = COMMANDS[word]
        after = raw[pos + len(word):]
        number = None
        m = _NUMBER.search(before) if before else None
        if m is None and needs_number:
            m = _NUMBER.match(after.lstrip(" :：,，"))
            if m:
                after = after.lstrip(" :：,，")[m.end():]
        if m:
            number = int(m.group(1))
        rest = after.strip(" :：,，。")
        return Command(code, number, rest)
    return None
