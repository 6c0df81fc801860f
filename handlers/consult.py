"""Answers to common questions (代办窗口) from catalogue/faq.toml."""

from __future__ import annotations

import tomllib
from functools import lru_cache

from rapidfuzz import fuzz

from language.intents import normalise
from language.texts import CATALOGUE, t


@lru_cache(maxsize=1)
def _faq() -> list[dict]:
    data = tomllib.loads((CATALOGUE / "faq.toml").read_text(encoding="utf-8"))
    return [dict(e, keys=[normalise(k) for k in e["keywords"]]) for e in data["faq"]]


def best(text: str) -> tuple[dict | None, float]:
    norm = normalise(text)
    top, score = None, 0.0
    for entry in _faq():
        s = max((100.0 if k in norm else fuzz.partial_ratio(k, norm) * 0.8) for k in entry["keys"])
        if s > score:
            top, score = entry, s
    return top, score


def answer(text: str) -> str:
    entry, score = best(text)
    if entry is None or score < 60:
        return t("consult.unknown")
    return entry["answer"].strip()
