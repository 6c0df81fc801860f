"""Every catalogue word in a message at once: one Aho-Corasick pass (pyahocorasick) over the compact
text finds each occurrence of each keyword, salience predicate, hypothetical marker, combo word and
emergency word, and the matcher's rules read their evidence from that one list instead of searching
the text word by word."""

from __future__ import annotations

import operator
import re
from collections.abc import Container, Iterable, Sequence
from typing import Any

import ahocorasick

try:  # the syntax tree of a pattern, read to find the words it needs (CPython's own parser)
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover - another Python: every pattern is searched
    _parser = None

_second = operator.itemgetter(1)


class Found:
    """The scan of one text: every occurrence (index of its last character, word), and the set of
    words present."""

    __slots__ = ("hits", "present")

    def __init__(self, hits: list[tuple[int, str]], present: frozenset[str]) -> None:
        self.hits = hits
        self.present = present

    def occurrences(self, words: Container[str]) -> list[tuple[int, int, str]]:
        """(start, end, word) of every occurrence of one of `words`."""
        return [(last + 1 - len(word), last + 1, word) for last, word in self.hits if word in words]

    def longest_first(self, words: Container[str]) -> list[tuple[int, int, str]]:
        """``occurrences`` of `words`, longer words first and equal lengths left to right."""
        keyed = [(-len(word), last, word) for last, word in self.hits if word in words]
        keyed.sort()
        return [(last + 1 + minus_length, last + 1, word) for minus_length, last, word in keyed]

    def spans(self, words: frozenset[str]) -> list[tuple[int, int]]:
        """(start, end) of every occurrence of one of `words`."""
        if self.present.isdisjoint(words):
            return []
        return [(last + 1 - len(word), last + 1) for last, word in self.hits if word in words]


class Scanner:
    """The words one pass looks for (an empty word is present in every text, as ``"" in text`` is)."""

    def __init__(self, words: Iterable[str]) -> None:
        vocabulary = set(words)
        self._empty = frozenset({""}) & vocabulary
        vocabulary.discard("")
        self._automaton: ahocorasick.Automaton | None = None
        if vocabulary:
            automaton = ahocorasick.Automaton()
            for word in sorted(vocabulary):
                automaton.add_word(word, word)
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, text: str) -> Found:
        if self._automaton is None or not text:
            return Found([], self._empty)
        hits = list(self._automaton.iter(text))
        present = frozenset(map(_second, hits))
        return Found(hits, present | self._empty if self._empty else present)


def all_present(groups: Iterable[Sequence[str]], found: Found) -> bool:
    """Every group has a word in the scanned text (``all(any(w in text for w in g) for g in groups)``)."""
    present = found.present
    for group in groups:
        if present.isdisjoint(group):
            return False
    return True


def required_words(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Words one of which every match of `pattern` contains (None when the pattern has no such words
    that can be read off its syntax, or none without a space: a space may be dropped from the compact
    text the scan reads)."""
    if _parser is None or pattern.flags != re.UNICODE:  # case folding or verbose syntax: literals
        return None  # are not what they seem
    try:
        items = list(_parser.parse(pattern.pattern, pattern.flags))
    except re.error:
        return None
    return _sequence_needs(items)


def _sequence_needs(items: Iterable[tuple[Any, Any]]) -> frozenset[str] | None:
    """The best required word set of a sequence: a run of literals, or what a required element needs."""
    candidates: list[frozenset[str]] = []
    run = ""
    for op, av in items:
        if op is _c.LITERAL:
            run += chr(av)
            continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        needs = _item_needs(op, av)
        if needs is not None:
            candidates.append(needs)
    if run:
        candidates.append(frozenset({run}))
    candidates = [c for c in candidates if c and not any(not w or any(ch.isspace() for ch in w) for w in c)]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _item_needs(op: Any, av: Any) -> frozenset[str] | None:
    """What one element of a pattern needs (a class of a few characters, every branch, a repeat of at
    least one, a plain group)."""
    if op is _c.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _c.LITERAL:
                chars.add(chr(value))
            elif kind is _c.RANGE and value[1] - value[0] < 32:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            else:  # a negation, a category (\d, \s ...) or a wide range
                return None
        return frozenset(chars)
    if op is _c.BRANCH:
        words: set[str] = set()
        for branch in av[1]:
            needs = _sequence_needs(branch)
            if needs is None:
                return None
            words |= needs
        return frozenset(words)
    if op is _c.SUBPATTERN:
        _, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _sequence_needs(sub)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, _, sub = av
        return _sequence_needs(sub) if low >= 1 else None
    if op is _c.ATOMIC_GROUP:
        return _sequence_needs(av)
    return None


class RuleIndex:
    """Rules (by position in a list) that can only apply when the text has one of their words: the
    candidates of a scanned text, in list order. A rule with no words (None) is always a candidate."""

    def __init__(self, words_per_rule: Iterable[Iterable[str] | None]) -> None:
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for position, words in enumerate(words_per_rule):
            if words is None:
                always.append(position)
                continue
            for word in set(words):
                index.setdefault(word, []).append(position)
        self._index = {word: tuple(positions) for word, positions in index.items()}
        self._words = frozenset(self._index)
        self._always = tuple(always)

    def words(self) -> set[str]:
        return set(self._index)

    def candidates(self, found: Found) -> list[int]:
        words = self._words.intersection(found.present)
        if not words:
            return list(self._always)
        chosen = set(self._always)
        for word in words:
            chosen.update(self._index[word])
        return sorted(chosen)
