"""The catalogue's example phrasings, found again in a message: candidates come from a character-bigram
inverted index, and the best few are scored with rapidfuzz's partial_ratio."""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import fuzz


def bigrams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return set(map(operator.add, text, text[1:]))  # left to right, as the set's order depends on it


class PhraseIndex:
    """Phrasings of every target (kind "i" intent or "c" category, name)."""

    def __init__(self, phrasings: Iterable[tuple[str, str, list[str]]]) -> None:
        self.phrases: list[str] = []
        self.owner: list[tuple[str, str]] = []
        self.bigram_count: list[int] = []
        index: dict[str, list[int]] = defaultdict(list)
        for kind, name, phrases in phrasings:
            for phrase in phrases:
                pid = len(self.phrases)
                self.phrases.append(phrase)
                self.owner.append((kind, name))
                grams = bigrams(phrase)
                self.bigram_count.append(max(1, len(grams)))
                for gram in grams:
                    index[gram].append(pid)
        self.index: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in index.items()}

    def best(self, text: str, candidates: int, cutoff: float) -> dict[tuple[str, str], float]:
        """The best partial_ratio (>= cutoff) of each target's phrasings found in `text`, scoring only
        the `candidates` phrasings that share the most bigrams with it (and at least half of theirs)."""
        # shared bigrams per phrasing, in the order first seen (the ranking keeps that order for ties)
        counts: dict[int, int] = {}
        for pid in itertools.chain.from_iterable(map(self.index.get, bigrams(text), itertools.repeat(()))):
            counts[pid] = counts.get(pid, 0) + 1
        total = self.bigram_count
        # the best `candidates` by shared share, of those sharing at least half their bigrams (the
        # others rank below them all); sorted stably, ties in the order first seen
        limit = len(range(len(counts))[:candidates])
        half = [(pid, shared) for pid, shared in counts.items() if shared / total[pid] >= 0.5]
        if len(half) > 1:
            half.sort(key=lambda kv: kv[1] / total[kv[0]], reverse=True)
        best: dict[tuple[str, str], float] = {}
        for pid, _ in half[:limit]:
            phrase = self.phrases[pid]
            if len(phrase) > len(text) + 1:
                continue  # a long phrasing would "contain" any short message
            score = fuzz.partial_ratio(phrase, text, score_cutoff=cutoff)
            if score:
                owner = self.owner[pid]
                best[owner] = max(best.get(owner, 0.0), score)
        return best
