"""Every sentence the bot says, from catalogue/texts*.toml, filled with str.format fields."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue"


def _flatten(prefix: str, node: dict, out: dict[str, str]) -> dict[str, str]:
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)
    return out


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    """texts.toml plus one file per capability (texts.clock.toml, ...); each key is defined once."""
    texts: dict[str, str] = {}
    for path in sorted(CATALOGUE.glob("texts*.toml")):
        part = _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), {})
        clash = texts.keys() & part.keys()
        if clash:
            raise ValueError(f"{path.name} redefines catalogue texts: {sorted(clash)[:5]}")
        texts.update(part)
    return texts


def t(key: str, **fields: object) -> str:
    """The catalogue text `key` with `fields` filled in; a missing key is a programming error."""
    return _texts()[key].format(**fields).strip()


def has(key: str) -> bool:
    return key in _texts()
