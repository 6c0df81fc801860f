"""The statistical complement of the matcher: a character n-gram naive Bayes model trained on the
team-written corpus (catalogue/corpus/*.jsonl), and the cache of its counts (model.json) with the
fingerprint that says when it must be trained again."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import operator
import pathlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


def _excess(per_class: list[dict[str, float]], alpha: float,
            offset: int = 0) -> dict[str, list[tuple[int, float]]]:
    """gram -> [(offset + class index, log P(gram | class) - log P(unseen gram | class))] of the classes
    the gram was seen with, in class order."""
    excess: dict[float, float] = {}
    delta: dict[str, list[tuple[int, float]]] = {}
    for k, counter in enumerate(per_class, offset):
        for gram, n in counter.items():
            d = excess.get(n)
            if d is None:
                d = excess[n] = math.log((n + alpha) / alpha)
            entry = delta.get(gram)
            if entry is None:
                delta[gram] = [(k, d)]
            else:
                entry.append((k, d))
    return delta


class NaiveBayes:
    """Multinomial naive Bayes over character 1-3-grams of the folded, compact message text.

    A complement to the keyword rules: it knows the phrasing of the team-written training corpus
    (catalogue/corpus/*.jsonl), including words no keyword lists. Every gram of a message counts
    once; log-probabilities are stored sparsely (only the classes a gram was seen in), so scoring a
    message costs one dict lookup per gram. ``Votes`` scores several models in one pass.
    """

    def __init__(self, classes: tuple[str, ...], per_class: list[dict[str, float]], alpha: float) -> None:
        size = len(set().union(*per_class))
        totals = [sum(counter.values()) for counter in per_class]
        self.classes = classes
        self.counts = per_class
        self.alpha = alpha
        # log P(gram | class) of a gram never seen with the class (seen ones add their excess over it)
        self._unseen = [math.log(alpha / (t + alpha * max(1, size))) if t else -30.0 for t in totals]
        self._present = tuple(k for k, t in enumerate(totals) if t)
        self._present_names = tuple(classes[k] for k in self._present)

    @functools.cached_property
    def _delta(self) -> dict[str, list[tuple[int, float]]]:
        return _excess(self.counts, self.alpha)

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
        return self.posterior(scores, known, temperature)

    def posterior(self, scores: Sequence[float], known: int, temperature: float) -> dict[str, float]:
        """``probabilities`` from the summed excess log-likelihoods of the known grams (index = class)."""
        if not known:
            return {}
        scale = temperature * math.sqrt(known)
        if len(self._present) == len(self.classes):  # every class was trained (the usual case)
            logits = [(score + known * unseen) / scale for score, unseen in zip(scores, self._unseen)]
        else:
            logits = [(scores[k] + known * self._unseen[k]) / scale for k in self._present]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return dict(zip(self._present_names, [v / total for v in exps]))


class Sums:
    """``Votes.sums`` of one message, added up model by model as they are asked for (a message that is
    no report never needs the category model's)."""

    __slots__ = ("_columns", "_done")

    def __init__(self, rows: list[tuple[float, ...]]) -> None:
        self._columns = zip(*rows)
        self._done: list[float] = []

    def upto(self, end: int) -> list[float]:
        """The column sums up to `end` (0.0 for every column when no gram was known)."""
        done = self._done
        if len(done) < end:
            done.extend(map(sum, itertools.islice(self._columns, end - len(done))))
            done.extend([0.0] * (end - len(done)))  # no rows: no columns
        return done


class Votes:
    """Several models over the same grams, summed in one pass.

    Every gram known to a model has one dense row: for each model, its excess log-likelihood for each
    class (0.0 where unseen) and then 1.0 / 0.0 as the model knows the gram. A message costs one dict
    lookup per gram, and the column sums run in C over the rows in the grams' order: class by class,
    the same additions in the same order as ``NaiveBayes.probabilities`` (adding 0.0 changes no sum;
    Python 3.12+ ``sum`` compensates rounding, which can move the last bit).
    """

    def __init__(self, models: Sequence[NaiveBayes]) -> None:
        self.models = tuple(models)
        # model i's columns: its classes from _offsets[i], then its "known" flag
        self._offsets = list(itertools.accumulate((len(m.classes) + 1 for m in self.models), initial=0))
        rows: dict[str, list[float]] = {}
        blank = [0.0] * self._offsets[-1]
        for i, model in enumerate(self.models):
            flag = self._offsets[i + 1] - 1
            excess: dict[float, float] = {}  # the same values as NaiveBayes._delta's
            for k, counter in enumerate(model.counts, self._offsets[i]):
                for gram, n in counter.items():
                    d = excess.get(n)
                    if d is None:
                        d = excess[n] = math.log((n + model.alpha) / model.alpha)
                    row = rows.get(gram)
                    if row is None:
                        row = rows[gram] = blank.copy()
                    row[flag] = 1.0
                    row[k] = d
        self._rows = _compact_rows(rows)

    def sums(self, grams: Iterable[str]) -> Sums:
        """The rows of the known grams of a message, to be summed."""
        return Sums(list(filter(None, map(self._rows.get, grams))))

    def probabilities(self, sums: Sums, index: int, temperature: float) -> dict[str, float]:
        """Model `index`'s ``probabilities`` from ``sums``."""
        offset, flag = self._offsets[index], self._offsets[index + 1] - 1
        columns = sums.upto(flag + 1)
        return self.models[index].posterior(columns[offset:flag], int(columns[flag]), temperature)


def _compact_rows(rows: Mapping[str, list[float]]) -> dict[str, tuple[float, ...]]:
    """The rows as tuples, one for each kind of row: most grams were seen in one or two classes, and
    ~45,000 grams share ~5,000 rows (less memory, and fewer cache lines read per message)."""
    shared: dict[tuple[float, ...], tuple[float, ...]] = {}
    return {gram: shared.setdefault(row, row) for gram, row in zip(rows, map(tuple, rows.values()))}


def grams(text: str) -> frozenset[str]:
    """Character 1-, 2- and 3-grams of a compact text (built in the order 1-grams, 2-grams, 3-grams,
    each left to right: the set's iteration order, and so the model's sums, depend on it)."""
    pairs = list(map(operator.add, text, text[1:]))
    return frozenset(itertools.chain(text, pairs, map(operator.add, pairs, text[2:])))



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
    values = scores.values()
    top = max(max(values), baseline)
    exps = [math.exp((v - top) / temperature) for v in values]
    total = sum(exps) + (math.exp((baseline - top) / temperature) if baseline > 0 else 0.0)
    return dict(zip(scores, [v / total for v in exps]))
