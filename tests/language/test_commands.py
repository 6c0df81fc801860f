"""Worker command parsing: the number anywhere, common variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from language.commands import Command, parse


@pytest.mark.parametrize(("text", "expected"), [
    ("待办", Command("todo", None, "")),
    ("接单 128", Command("accept", 128, "")),
    ("接单128", Command("accept", 128, "")),
    ("128接单", Command("accept", 128, "")),
    ("128号 接单", Command("accept", 128, "")),
    ("#128 办结 已更换灯泡", Command("resolve", 128, "已更换灯泡")),
    ("办结 128 已更换灯泡", Command("resolve", 128, "已更换灯泡")),
    ("128号 进度 已联系物业，明天上门", Command("progress", 128, "已联系物业，明天上门")),
    ("进度：128 在等配件", Command("progress", 128, "在等配件")),
    ("退回 7 不属于本网格", Command("return", 7, "不属于本网格")),
    ("上报 7 需要社区协调", Command("escalate", 7, "需要社区协调")),
    ("转 7 陈杰", Command("transfer", 7, "陈杰")),
    ("查 42", Command("show", 42, "")),
    ("查询 42", Command("show", 42, "")),
    ("公告 3号楼 明天停水", Command("announce", None, "3号楼 明天停水")),
])
def test_variants(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_free_text_is_not_a_command() -> None:
    assert parse("今天天气不错") is None
    assert parse("居民说灯坏了要办结吗") is None  # a command word in the middle of a sentence


@given(st.text(max_size=200))
def test_parser_never_raises(text: str) -> None:
    cmd = parse(text)
    assert cmd is None or isinstance(cmd, Command)
