"""Every sentence the bot says, from catalogue/texts.toml, filled with str.format fields."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue"


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    data = tomllib.loads((CATALOGUE / "texts.toml").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = str(value)

    walk("", data)
    return flat


def t(key: str, **fields: object) -> str:
    """The catalogue text `key` with `fields` filled in; a missing key is a programming error."""
    return _texts()[key].format(**fields).strip()


def has(key: str) -> bool:
    return key in _texts()
