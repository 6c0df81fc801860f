"""Intent and category matching for resident messages: how the catalogue's evidence is scored.

Everything the matcher knows lives in catalogue/intents.toml and categories.toml (read into
language/rules.py). A message is normalised (language/normalise.py) and scanned once for keywords
(longest match per target, weighted by salience), patterns and combos; catalogue phrasings it
resembles add a fuzzy bonus (language/phrases.py); an n-gram naive Bayes model trained on
catalogue/corpus adds its vote (language/model.py; rebuild its cache with ``python -m language.intents``
after editing the corpus); intent scores mixed with topic evidence become calibrated probabilities, and
an emergency (language/emergency.py, rule-based) makes the intent ``report``.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from language import emergency as alarms
from language import model as ngram
from language.normalise import compact, normalise
from language.phrases import PhraseIndex
from language.rules import (
    CATEGORIES,
    INTENTS,
    Emergency,
    Match,
    MatcherSettings,
    Scores,
    Target,
    build_target,
    emergency_rules,
    variant_forms,
)

_REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = _REPO / "catalogue"


class Matcher:
    """Scores a message against the intent and category catalogue. Build it once with ``load``."""

    def __init__(
        self,
        intents_doc: Mapping[str, Any],
        categories_doc: Mapping[str, Any],
        corpus: Iterable[Mapping[str, Any]] = (),
        corpus_key: str = "",
        model_counts: Mapping[str, Any] | None = None,
    ) -> None:
        self.cfg = MatcherSettings.from_docs(intents_doc, categories_doc)
        # keyword -> list of (kind, target, weight); kind is "i" (intent) or "c" (category)
        self._keywords: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        self._intents: dict[str, Target] = {}
        self._categories: dict[str, Target] = {}
        self.category_names: dict[str, str] = {}
        for name in INTENTS:
            self._intents[name] = build_target("i", name, intents_doc.get("intent", {}).get(name, {}), self.cfg.tiers, self._keywords)
        for name in CATEGORIES:
            spec = categories_doc.get("category", {}).get(name, {})
            self._categories[name] = build_target("c", name, spec, self.cfg.tiers, self._keywords)
            self.category_names[name] = str(spec.get("name", name))
        self._max_kw_len = max((len(k) for k in self._keywords), default=1)
        # every proper prefix of a keyword: the scan stops extending a span that no keyword starts with
        self._kw_prefixes = frozenset(k[:i] for k in self._keywords for i in range(1, len(k)))
        self._phrase_index = PhraseIndex(
            [("i", n, t.phrasings) for n, t in self._intents.items()]
            + [("c", n, t.phrasings) for n, t in self._categories.items()])
        self._emergencies = emergency_rules(categories_doc)
        self._variant_phrases = variant_forms(intents_doc)
        variants = self._variant_phrases
        self._variant_chars = {ord(k): v for k, v in variants.items() if len(k) == 1}
        phrases = sorted((k for k in variants if len(k) > 1), key=len, reverse=True)
        self._variant_re = re.compile("|".join(map(re.escape, phrases))) if phrases else None
        self._variant_trigger = frozenset(k[0] for k in variants)
        self._intent_model: ngram.NaiveBayes | None = None
        self._category_model: ngram.NaiveBayes | None = None
        self.model_fingerprint = ngram.fingerprint(corpus_key, self.cfg.min_count, variants)
        if model_counts is not None and model_counts.get("fingerprint") == self.model_fingerprint:
            counts = (model_counts["intent"], model_counts["category"])
        else:
            counts = self._train(corpus)
        if counts[0] and counts[1]:
            self._intent_model = ngram.NaiveBayes(INTENTS, counts[0], self.cfg.alpha)
            self._category_model = ngram.NaiveBayes(CATEGORIES, counts[1], self.cfg.alpha)

    def _train(self, corpus: Iterable[Mapping[str, Any]]) -> tuple[Any, Any]:
        """Gram counts per intent, and per category of the reports, from the labelled corpus."""
        rows = [
            (ngram.grams(self._dense(str(row["text"]))), str(row["intent"]), row.get("category"),
             float(row.get("weight", 1.0)))
            for row in corpus
            if row.get("text") and row.get("intent") in INTENTS
        ]
        if not rows:
            return None, None
        min_count = self.cfg.min_count
        intents = ngram.count_grams(((g, i, w) for g, i, _, w in rows), INTENTS, min_count)
        categories = ngram.count_grams(((g, str(c), w) for g, i, c, w in rows if i == "report" and c in CATEGORIES),
                                       CATEGORIES, min_count)
        return intents, categories

    def model_counts(self) -> dict[str, Any] | None:
        """The trained gram counts with their fingerprint (what ``python -m language.intents`` caches)."""
        if self._intent_model is None or self._category_model is None:
            return None
        return {
            "fingerprint": self.model_fingerprint,
            "intent": self._intent_model.counts,
            "category": self._category_model.counts,
        }

    # ---------------------------------------------------------------- construction helpers
    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, catalogue_dir: pathlib.Path | None = None) -> Matcher:
        directory = pathlib.Path(catalogue_dir) if catalogue_dir is not None else DEFAULT_CATALOGUE
        with open(directory / "intents.toml", "rb") as fh:
            intents_doc = tomllib.load(fh)
        with open(directory / "categories.toml", "rb") as fh:
            categories_doc = tomllib.load(fh)
        corpus_dir = directory / "corpus"
        key = ngram.corpus_key(corpus_dir)
        cached: dict[str, Any] | None = None
        cache = corpus_dir / ngram.MODEL_CACHE
        if cache.is_file():
            with open(cache, encoding="utf-8") as fh:
                cached = json.load(fh)
        if cached is not None and str(cached.get("fingerprint", "")).startswith(key):
            # the cache is current for this corpus: skip reading and folding the training messages
            matcher = cls(intents_doc, categories_doc, (), key, cached)
            if matcher.model_counts() is not None:
                return matcher
        return cls(intents_doc, categories_doc, ngram.load_corpus(corpus_dir), key)

    # ---------------------------------------------------------------- scoring
    def _predicate_positions(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for word in self.cfg.predicates:
            pos = text.find(word)
            while pos >= 0:
                spans.append((pos, pos + len(word)))
                pos = text.find(word, pos + 1)
        return spans

    def _salience(self, start: int, end: int, predicates: list[tuple[int, int]], long_text: bool) -> float:
        """Multiplier of a category keyword at text[start:end] (see [salience] in categories.toml)."""
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

    def _keyword_scores(self, text: str) -> Scores:
        """Longest-match keyword evidence: each target counts a text span once.

        Category keywords are weighted by salience (closeness to a complaint predicate), and a
        category's incidental keywords count in part when another category has stronger object
        evidence.
        """
        intents: dict[str, float] = defaultdict(float)
        core: dict[str, float] = defaultdict(float)
        incidental: dict[str, float] = defaultdict(float)
        taken: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        seen: set[tuple[str, str, str]] = set()
        predicates = self._predicate_positions(text) if self.cfg.predicates else []
        long_text = len(text) >= self.cfg.salience_min_len
        hypothetical = self._hypothetical_spans(text)
        # longer keywords first, so "路灯不亮" is not also counted as "灯"; a keyword counts once
        scored: list[tuple[str, float, float]] = []  # (category, weight, salience) of object keywords
        for start, end, kind, name, weight in sorted(self._keyword_hits(text), key=lambda h: h[0] - h[1]):
            spans = taken[(kind, name)]
            if any(s <= start and end <= e for s, e in spans):
                continue
            spans.append((start, end))
            word = text[start:end]
            if (kind, name, word) in seen:
                continue
            seen.add((kind, name, word))
            if kind == "i":
                intents[name] += weight
                continue
            if weight > 0 and any(h_start <= start < h_end for h_start, h_end in hypothetical):
                weight *= self.cfg.hypothetical_factor
            if word in self._categories[name].incidental:
                incidental[name] += weight
            elif weight > 0 and word in self._categories[name].types:
                scored.append((name, weight, 1.0 + self.cfg.salience_boost))
            elif weight > 0:
                scored.append((name, weight, self._salience(start, end, predicates, long_text)))
            else:
                core[name] += weight
        return Scores(intents, self._category_evidence(core, incidental, scored))

    def _keyword_hits(self, text: str) -> list[tuple[int, int, str, str, float]]:
        """Every catalogue keyword in `text`: (start, end, kind, target, weight), one scan."""
        hits: list[tuple[int, int, str, str, float]] = []
        n, keywords, prefixes = len(text), self._keywords, self._kw_prefixes
        for start in range(n):
            for length in range(1, min(self._max_kw_len, n - start) + 1):
                span = text[start : start + length]
                entries = keywords.get(span)
                if entries:
                    for kind, name, weight in entries:
                        hits.append((start, start + length, kind, name, weight))
                if span not in prefixes:
                    break
        return hits

    def _hypothetical_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans right after a hypothetical marker ("万一着火", "如果有紧急情况"): they describe what
        might happen, not what is complained about."""
        spans: list[tuple[int, int]] = []
        for marker in self.cfg.hypothetical:
            pos = text.find(marker)
            while pos >= 0:
                spans.append((pos + len(marker), pos + len(marker) + self.cfg.hypothetical_window))
                pos = text.find(marker, pos + 1)
        return spans

    def _category_evidence(self, core: dict[str, float], incidental: dict[str, float],
                           scored: list[tuple[str, float, float]]) -> dict[str, float]:
        """Object keywords weighted by salience, plus incidental ones (in part when another category has
        clearly stronger object evidence)."""
        # background damping only makes sense against a foreground: with no salient keyword at all,
        # every object keyword counts in full
        any_salient = any(factor > 1.0 for _, _, factor in scored)
        for name, weight, factor in scored:
            core[name] += weight * (factor if any_salient or factor > 1.0 else 1.0)
        categories: dict[str, float] = defaultdict(float)
        top_core = max(core.values(), default=0.0)
        for name in set(core) | set(incidental):
            factor = 1.0
            if core.get(name, 0.0) + self.cfg.incidental_margin < top_core:
                factor = self.cfg.incidental_factor
            categories[name] = core.get(name, 0.0) + factor * incidental.get(name, 0.0)
        return categories

    def _fuzzy_scores(self, text: str, scores: Scores) -> None:
        """A bonus for each target whose phrasing the message resembles (language/phrases.py)."""
        cutoff = self.cfg.fuzzy_cutoff
        for (kind, name), score in self._phrase_index.best(text, self.cfg.fuzzy_candidates, cutoff).items():
            target = self._intents[name] if kind == "i" else self._categories[name]
            bonus = target.fuzzy_weight * (score - cutoff) / (100.0 - cutoff)
            (scores.intents if kind == "i" else scores.categories)[name] += bonus

    def _structure_scores(self, text: str, spaced: str, scores: Scores) -> None:
        for table, bucket in ((self._intents, scores.intents), (self._categories, scores.categories)):
            for name, target in table.items():
                for pattern, weight in target.patterns:
                    if pattern.search(text) or pattern.search(spaced):
                        bucket[name] += weight
                for groups, weight in target.combos:
                    # `alarms.combo_hit(text, groups)` inlined (it runs ~30 times per message): every group
                    # has a word in the text
                    for group in groups:
                        for word in group:
                            if word in text:
                                break
                        else:
                            break
                    else:
                        bucket[name] += weight

    def _emergency(self, text: str) -> Emergency | None:
        return alarms.detect(text, self._emergencies, self.cfg.emergency_guard_window,
                             self.cfg.emergency_after_window)

    def _fold_variants(self, text: str) -> str:
        """Rewrite dialect / regional written forms into catalogue Mandarin ("冇水" -> "没水")."""
        if self._variant_trigger.isdisjoint(text):
            return text
        if self._variant_re is not None:
            text = self._variant_re.sub(lambda m: self._variant_phrases[m.group(0)], text)
        return text.translate(self._variant_chars)

    def _dense(self, text: str) -> str:
        return compact(self._fold_variants(normalise(text)))

    def scores(self, text: str) -> tuple[str, Scores]:
        """Raw evidence for a message (exposed for evaluation and debugging)."""
        spaced = self._fold_variants(normalise(text))
        dense = compact(spaced)
        scores = self._keyword_scores(dense)
        self._fuzzy_scores(dense, scores)
        self._structure_scores(dense, spaced, scores)
        return dense, scores

    # ---------------------------------------------------------------- public API
    def classify(self, text: str) -> Match:
        if not text or not text.strip():
            return Match("help", None, 0.2, (), None)
        dense, scores = self.scores(text)
        if not dense:
            return Match("help", None, 0.2, (), None)
        cat_scores = {c: scores.categories.get(c, 0.0) for c in CATEGORIES}
        top_cat_score = max(cat_scores.values())
        intent_scores, grams = self._intent_scores(dense, scores, max(0.0, top_cat_score))
        emergency = self._emergency(dense)
        intent_ranked = sorted(intent_scores.items(), key=lambda kv: kv[1], reverse=True)
        best_intent, best_score = intent_ranked[0]
        if best_score <= 0.0:
            best_intent = "report" if len(dense) >= self.cfg.fallback_min_len else "help"
        spread = self.cfg.model_spread if grams else 1.0
        intent_probs = ngram.softmax(dict(intent_ranked), self.cfg.temperature * spread, self.cfg.baseline)
        if emergency is not None:
            best_intent = "report"
        category, cat_probs = None, {}
        if best_intent == "report":
            category, cat_probs = self._category(dense, cat_scores, top_cat_score, emergency, grams, spread)
        joint = self._joint(intent_probs, cat_probs, cat_scores, spread)
        if emergency is not None:
            confidence = max(0.9, intent_probs.get("report", 0.0))
        else:
            confidence = next((p for i, c, p in joint if i == best_intent and c == category),
                              intent_probs.get(best_intent, 0.0))
        alternatives = tuple(
            (i, c, round(p, 3)) for i, c, p in joint if not (i == best_intent and c == category) and p >= 0.02
        )[:3]
        return Match(best_intent, category, round(min(1.0, max(0.0, confidence)), 3), alternatives,
                     emergency.name if emergency else None)

    def _intent_scores(self, dense: str, scores: Scores, topic: float) -> tuple[dict[str, float], frozenset[str]]:
        """Each intent's evidence plus its prior and topic weight, and the model's vote (with the grams it
        read, empty when the model did not vote)."""
        intent_scores = {name: scores.intents.get(name, 0.0) + target.prior + target.topic_weight * topic
                         for name, target in self._intents.items()}
        grams: frozenset[str] = frozenset()
        if self._intent_model is not None and self.cfg.model_intent_weight:
            grams = ngram.grams(dense)
            for name, p in self._intent_model.probabilities(grams, self.cfg.model_temperature).items():
                intent_scores[name] += self.cfg.model_intent_weight * p
        return intent_scores, grams

    def _category(self, dense: str, cat_scores: dict[str, float], top_cat_score: float,
                  emergency: Emergency | None, grams: frozenset[str], spread: float) -> tuple[str, dict[str, float]]:
        """A report's category and the category probabilities (`cat_scores` gets the model's vote)."""
        if top_cat_score < self.cfg.other_floor:
            cat_scores["other"] = max(cat_scores["other"], self.cfg.other_floor)
        if self._category_model is not None and self.cfg.model_category_weight:
            grams = grams or ngram.grams(dense)
            for name, p in self._category_model.probabilities(grams, self.cfg.model_temperature).items():
                cat_scores[name] += self.cfg.model_category_weight * p
        if emergency is not None and (emergency.force_category or top_cat_score < self.cfg.emergency_keep_topic):
            allowed = [c for c in emergency.categories if cat_scores.get(c, 0.0) >= self.cfg.other_floor]
            chosen = max(allowed, key=lambda c: cat_scores[c]) if allowed else emergency.categories[0]
            cat_scores[chosen] = max(cat_scores.values()) + 1.0
        cat_probs = ngram.softmax(cat_scores, self.cfg.category_temperature * spread, 0.0)
        return max(cat_probs, key=cat_probs.__getitem__), cat_probs

    def _joint(self, intent_probs: dict[str, float], cat_probs: dict[str, float], cat_scores: dict[str, float],
               spread: float) -> list[tuple[str, str | None, float]]:
        """(intent, category, probability) for the best reports' categories and every other intent."""
        joint: list[tuple[str, str | None, float]] = []
        for name, p in intent_probs.items():
            if name == "report":
                probs = cat_probs or ngram.softmax(
                    {c: max(s, 0.0) for c, s in cat_scores.items()}, self.cfg.category_temperature * spread, 0.0)
                for cat, pc in sorted(probs.items(), key=lambda kv: kv[1], reverse=True)[:3]:
                    joint.append(("report", cat, p * pc))
            else:
                joint.append((name, None, p))
        joint.sort(key=lambda t: t[2], reverse=True)
        return joint

@functools.cache
def default_matcher() -> Matcher:
    """The matcher over the repository catalogue, built once per process."""
    return Matcher.load()


def _write_model_cache(catalogue_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Train on catalogue/corpus/*.jsonl and cache the gram counts next to the corpus."""
    directory = pathlib.Path(catalogue_dir) if catalogue_dir is not None else DEFAULT_CATALOGUE
    cache = directory / "corpus" / ngram.MODEL_CACHE
    cache.unlink(missing_ok=True)
    counts = Matcher.load(directory).model_counts()
    if counts is not None:
        with open(cache, "w", encoding="utf-8") as fh:
            json.dump(counts, fh, ensure_ascii=False, separators=(",", ":"))
    return cache


if __name__ == "__main__":  # python -m language.intents: rebuild the model cache after editing the corpus
    print(_write_model_cache())
