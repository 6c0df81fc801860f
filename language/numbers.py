"""A petition number in a resident's words ("查询12", "#12", "１２号"): what it is, when there is one."""

from __future__ import annotations

import re

# a petition number ends at a word boundary: "18e3", "20abc" or "1.5" name no petition
_NUMBER = re.compile(r"(?<![\d０-９.A-Za-z_])#?([0-9０-９]{1,7})(?![0-9０-９.A-Za-z_\-/])")


def petition_number(text: str) -> int | None:
    m = _NUMBER.search(text)
    return int(m.group(1)) if m else None
