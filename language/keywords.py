"""Keyword evidence of a message: the catalogue keywords the scan found (language/scan.py), longest
match first, each target counting a text span once. Category keywords are weighted by salience
(closeness to a complaint predicate, see [salience] in categories.toml), and a category's incidental
keywords count in part when another category has stronger object evidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from language.rules import MatcherSettings, Scores, Target
from language.scan import Found

_INTENT, _INCIDENTAL, _TYPE, _OBJECT = range(4)  # how a keyword counts for a target (KeywordEvidence._role)


class KeywordEvidence:
    """The keywords of every target (keyword -> (kind, target, weight); kind "i" intent, "c" category)."""

    def __init__(self, cfg: MatcherSettings, keywords: Mapping[str, list[tuple[str, str, float]]],
                 categories: Mapping[str, Target]) -> None:
        self.cfg = cfg
        self._categories = categories
        self._predicate_words = frozenset(cfg.predicates)
        self._hypothetical_words = frozenset(cfg.hypothetical)
        # keyword -> (target, weight, span key, seen key, role) for each target it is evidence for
        self._entries = {
            word: tuple((name, weight, (kind, name), (kind, name, word), self._role(kind, name, word))
                        for kind, name, weight in entries)
            for word, entries in keywords.items() if entries}

    def _role(self, kind: str, name: str, word: str) -> int:
        if kind == "i":
            return _INTENT
        category = self._categories[name]
        return _INCIDENTAL if word in category.incidental else _TYPE if word in category.types else _OBJECT

    def words(self) -> set[str]:
        """Every word the scan must find: the keywords, predicates and hypothetical markers."""
        return {*self._entries, *self._predicate_words, *self._hypothetical_words}

    def scores(self, text: str, found: Found) -> Scores:
        """Keyword evidence of `text` (normalised and compact), whose scan is `found`."""
        intents: dict[str, float] = defaultdict(float)
        core: dict[str, float] = defaultdict(float)
        incidental: dict[str, float] = defaultdict(float)
        scored: list[tuple[str, float, float]] = []  # (category, weight, salience) of object keywords
        taken: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        seen: set[tuple[str, str, str]] = set()
        hypothetical = [(end, end + self.cfg.hypothetical_window)
                        for _, end in found.spans(self._hypothetical_words)]
        predicates: list[tuple[int, int]] | None = None  # found when first needed
        entries = self._entries
        for start, end, word in found.longest_first(entries):  # "路灯不亮" is not also counted as "灯"
            for name, weight, span_key, seen_key, role in entries[word]:
                spans = taken[span_key]
                if spans and _covered(spans, start, end):
                    continue
                spans.append((start, end))
                if seen_key in seen:  # a keyword counts once
                    continue
                seen.add(seen_key)
                if role == _INTENT:
                    intents[name] += weight
                    continue
                if weight > 0 and hypothetical and _covered_start(hypothetical, start):
                    weight *= self.cfg.hypothetical_factor
                if role == _INCIDENTAL:
                    incidental[name] += weight
                elif weight > 0 and role == _TYPE:
                    scored.append((name, weight, 1.0 + self.cfg.salience_boost))
                elif weight > 0:
                    if predicates is None:
                        predicates = found.spans(self._predicate_words) if self.cfg.predicates else []
                    scored.append((name, weight, self._salience(start, end, predicates, len(text))))
                else:
                    core[name] += weight
        return Scores(intents, self._category_evidence(core, incidental, scored))

    def _salience(self, start: int, end: int, predicates: list[tuple[int, int]], length: int) -> float:
        """Multiplier of a category keyword at text[start:end] (see [salience] in categories.toml)."""
        long_text = length >= self.cfg.salience_min_len
        if not predicates:
            return self.cfg.salience_damp if long_text else 1.0
        window = self.cfg.salience_window
        for p_start, p_end in predicates:
            # the predicate follows the object ("路灯坏了") or closely precedes it ("坏了的路灯")
            if end - 1 <= p_start <= end + window or start - window // 2 <= p_end <= start:
                if p_start >= start and p_end <= end:
                    continue  # the predicate is part of the keyword itself ("灯不亮")
                return 1.0 + self.cfg.salience_boost
        return self.cfg.salience_damp if long_text else 1.0

    def _category_evidence(self, core: dict[str, float], incidental: dict[str, float],
                           scored: list[tuple[str, float, float]]) -> dict[str, float]:
        """Object keywords weighted by salience, plus incidental ones (in part when another category has
        clearly stronger object evidence)."""
        # background damping only makes sense against a foreground: with no salient keyword at all,
        # every object keyword counts in full
        categories: dict[str, float] = defaultdict(float)
        if not scored and not core and not incidental:
            return categories
        any_salient = any(factor > 1.0 for _, _, factor in scored)
        for name, weight, factor in scored:
            core[name] += weight * (factor if any_salient or factor > 1.0 else 1.0)
        top_core = max(core.values(), default=0.0)
        for name in set(core) | set(incidental):
            factor = 1.0
            if core.get(name, 0.0) + self.cfg.incidental_margin < top_core:
                factor = self.cfg.incidental_factor
            categories[name] = core.get(name, 0.0) + factor * incidental.get(name, 0.0)
        return categories


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """text[start:end] lies within one of `spans` (a longer keyword of the same target took it)."""
    for s, e in spans:
        if s <= start and end <= e:
            return True
    return False


def _covered_start(spans: list[tuple[int, int]], start: int) -> bool:
    """`start` lies within one of `spans` (right after a hypothetical marker)."""
    for s, e in spans:
        if s <= start < e:
            return True
    return False
