"""Normalising what residents write before it is matched: full/half width, traditional -> simplified
(OpenCC), WeChat emoji codes, punctuation, repeated characters, spaces."""

from __future__ import annotations

import functools
import pathlib
import re
import unicodedata
from typing import Any

_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fffa-zA-Z]{1,5}\]")  # WeChat text emoji such as [微笑] [捂脸]
_REPEATS = re.compile(r"(\D)\1{2,}")  # 3+ identical non-digit characters -> 2
_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) (?=\S)|(?<=\S) (?=[\u3400-\u9fff])")
_LONE_DASH = re.compile(r"(?<!\d)-|-(?!\d)")
_KEEP_PUNCT = frozenset("#-")
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cf", "Mn", "Me", "Cs", "Co", "Cn"})


@functools.cache
def _t2s() -> Any:
    import opencc  # imported lazily: the dictionaries take a few milliseconds to load

    return opencc.OpenCC("t2s")


@functools.cache
def _traditional_chars() -> frozenset[str]:
    """Characters whose presence can make OpenCC ``t2s`` change a text.

    Every character key of ``TSCharacters`` that converts to something else, plus the characters of
    the few phrase keys that convert although none of their characters does (沈默 -> 沉默). A text
    without any of them converts to itself, so most (simplified) messages skip the conversion.
    """
    import opencc

    directory = pathlib.Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for line in (directory / "TSCharacters.txt").read_text("utf-8").splitlines():
        key, _, values = line.partition("\t")
        if any(value != key for value in values.split()):
            chars.add(key)
    for line in (directory / "TSPhrases.txt").read_text("utf-8").splitlines():
        key, _, values = line.partition("\t")
        if any(value != key for value in values.split()) and not any(c in chars for c in key):
            chars.update(key)
    return frozenset(chars)


@functools.cache
def _fold_char(ch: str) -> str:
    """Map one (already NFKC-folded) character to itself, a space, or nothing."""
    if ch.isalnum() or ch in _KEEP_PUNCT:
        return ch
    if ch.isspace():
        return " "
    cat = unicodedata.category(ch)
    if cat in _DROP_CATEGORIES:
        return ""
    return " "  # punctuation and everything else separate words


class _FoldTable(dict[int, str]):
    """``str.translate`` table of ``_fold_char``, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def _twice(match: re.Match[str]) -> str:
    return match.group(1) * 2  # r"\1\1", without expanding a template on every call


def normalise(text: str) -> str:
    """Fold a raw message into the form the catalogue is written in.

    Full width -> half width (NFKC), traditional -> simplified (OpenCC ``t2s``), WeChat ``[表情]`` codes,
    emoji and symbols dropped, punctuation turned into single spaces, runs of 3+ identical non-digit
    characters collapsed to two, lower case.
    """
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text)
    if "[" in s:
        s = _WECHAT_EMOJI.sub(" ", s)
    if not s.isascii() and not _traditional_chars().isdisjoint(s):
        s = _t2s().convert(s)
    s = _REPEATS.sub(_twice, s.translate(_FOLD).lower())
    if "-" in s:  # a dash is kept only between digits (3-2-501); elsewhere it is punctuation
        s = _LONE_DASH.sub(" ", s)
    return _SPACES.sub(" ", s).strip()


def compact(normalised: str) -> str:
    """Drop spaces next to CJK characters ("路 灯 坏了" -> "路灯坏了"); keep them between numbers."""
    return _CJK_SPACE.sub("", normalised)


