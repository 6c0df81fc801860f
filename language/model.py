"""The statistical complement of the matcher: a character n-gram naive Bayes model trained on the
team-written corpus (catalogue/corpus/*.jsonl), and the cache of its counts (model.json) with the
fingerprint that says when it must be trained again."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import pathlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any


def count_grams(
    docs: Iterable[tuple[frozenset[str], str, float]], classes: tuple[str, ...], min_count: float
) -> list[dict[str, float]]:
    """Weighted gram counts per class; grams seen less than ``min_count`` times overall are dropped."""
    index = {c: i for i, c in enumerate(classes)}
    grouped: dict[tuple[int, float], list[frozenset[str]]] = defaultdict(list)
    for grams, label, weight in docs:
        grouped[(index[label], weight)].append(grams)
    per_class: list[Counter[str]] = [Counter() for _ in classes]
    for (k, weight), group in grouped.items():
        if weight == int(weight):  # integral weights: count every document `weight` times
            per_class[k].update(itertools.chain.from_iterable(group * int(weight)))
        else:
            counter = Counter(itertools.chain.from_iterable(group))
            per_class[k].update({gram: n * weight for gram, n in counter.items()})
    if min_count > 1:
        total: Counter[str] = sum(per_class, Counter())
        rare = {gram for gram, n in total.items() if n < min_count}
        for counter in per_class:
            for gram in rare & counter.keys():
                del counter[gram]
    return [dict(counter) for counter in per_class]


class NaiveBayes:
    """Multinomial naive Bayes over character 1-3-grams of the folded, compact message text.

    A complement to the keyword rules: it knows the phrasing of the team-written training corpus
    (catalogue/corpus/*.jsonl), including words no keyword lists. Every gram of a message counts
    once; log-probabilities are stored sparsely (only the classes a gram was seen in), so scoring a
    message costs one dict lookup per gram.
    """

    def __init__(self, classes: tuple[str, ...], per_class: list[dict[str, float]], alpha: float) -> None:
        size = len(set().union(*per_class))
        totals = [sum(counter.values()) for counter in per_class]
        self.classes = classes
        self.counts = per_class
        # log P(gram | class) of a gram never seen with the class, and the excess of seen ones
        self._unseen = [math.log(alpha / (t + alpha * max(1, size))) if t else -30.0 for t in totals]
        excess: dict[float, float] = {}
        delta: dict[str, list[tuple[int, float]]] = {}
        for k, counter in enumerate(per_class):
            for gram, n in counter.items():
                d = excess.get(n)
                if d is None:
                    d = excess[n] = math.log((n + alpha) / alpha)
                entry = delta.get(gram)
                if entry is None:
                    delta[gram] = [(k, d)]
                else:
                    entry.append((k, d))
        self._delta = delta
        self._present = tuple(k for k, t in enumerate(totals) if t)

    def probabilities(self, grams: Iterable[str], temperature: float) -> dict[str, float]:
        """Posterior under a uniform prior, flattened: log-likelihoods are divided by
        ``temperature * sqrt(number of known grams)`` (naive Bayes is overconfident on long texts)."""
        delta = self._delta
        scores = [0.0] * len(self.classes)
        known = 0
        for entry in map(delta.get, grams):  # same order and sums as a `for gram` loop, fewer steps
            if entry is None:
                continue
            known += 1
            for k, d in entry:
                scores[k] += d
        if not known:
            return {}
        scale = temperature * math.sqrt(known)
        logits = {
            self.classes[k]: (scores[k] + known * self._unseen[k]) / scale for k in self._present
        }
        top = max(logits.values())
        exps = {c: math.exp(v - top) for c, v in logits.items()}
        total = sum(exps.values())
        return {c: v / total for c, v in exps.items()}


def grams(text: str) -> frozenset[str]:
    """Character 1-, 2- and 3-grams of a compact text."""
    n = len(text)
    return frozenset(text[i : i + k] for k in (1, 2, 3) for i in range(n - k + 1))



MODEL_CACHE = "model.json"  # gram counts cached by ``python -m language.intents`` (see fingerprint)
_MODEL_FORMAT = "nb1"  # bump when normalisation, gram extraction or counting changes


def corpus_key(directory: pathlib.Path) -> str:
    """Digest of the training files (names and bytes)."""
    digest = hashlib.sha256(_MODEL_FORMAT.encode())
    if directory.is_dir():
        for path in sorted(directory.glob("*.jsonl")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def fingerprint(corpus_key: str, min_count: float, variants: Mapping[str, str]) -> str:
    """Corpus digest + a digest of everything else the counts depend on."""
    other = hashlib.sha256(json.dumps([min_count, sorted(variants.items())], ensure_ascii=False).encode())
    return f"{corpus_key}-{other.hexdigest()[:12]}"


def load_corpus(directory: pathlib.Path) -> list[dict[str, Any]]:
    """Labelled training messages: every ``*.jsonl`` file of ``directory`` (missing -> none)."""
    rows: list[dict[str, Any]] = []
    if not directory.is_dir():
        return rows
    for path in sorted(directory.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def softmax(scores: Mapping[str, float], temperature: float, baseline: float) -> dict[str, float]:
    """Probabilities over targets; ``baseline`` acts as an implicit "none of these" competitor."""
    if not scores:
        return {}
    top = max(max(scores.values()), baseline)
    exps = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(exps.values()) + (math.exp((baseline - top) / temperature) if baseline > 0 else 0.0)
    return {k: v / total for k, v in exps.items()}
