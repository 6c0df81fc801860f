"""The input vocabularies and patterns of catalogue/words.toml: what handlers look for in messages."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

WORDS = Path(__file__).resolve().parent.parent / "catalogue" / "words.toml"


@cache
def _doc() -> dict[str, Any]:
    return tomllib.loads(WORDS.read_text(encoding="utf-8"))


def words(section: str, key: str = "words") -> Any:
    """A list (or value) of catalogue/words.toml, e.g. words("cancel") or words("scope", "community")."""
    return _doc()[section][key]


@cache
def pattern(name: str, flags: int = 0) -> re.Pattern[str]:
    """The compiled pattern `name` of [patterns]; a missing name is a programming error."""
    return re.compile(_doc()["patterns"][name], flags)
