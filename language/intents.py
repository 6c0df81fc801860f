"""Intent and category matching for resident messages: how the catalogue's evidence is scored.

Everything the matcher knows lives in catalogue/intents.toml and categories.toml (read into
language/rules.py). A message is normalised (language/normalise.py) and scanned once: one
Aho-Corasick pass finds every catalogue word in it (language/scan.py), which keywords (longest match
per target, weighted by salience: language/keywords.py), patterns, combos and emergencies read;
catalogue phrasings it resembles add a fuzzy bonus (language/phrases.py); an n-gram naive Bayes model
trained on catalogue/corpus adds its vote, both models summed in one pass over the message's grams
(language/model.py; rebuild its cache with ``python -m language.intents`` after editing the corpus);
intent scores mixed with topic evidence become calibrated probabilities, and an emergency
(language/emergency.py, rule-based) makes the intent ``report``.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import pathlib
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from language import emergency as alarms
from language import model as ngram
from language.keywords import KeywordEvidence
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
from language.scan import Found, RuleIndex, Scanner, required_words

_REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = _REPO / "catalogue"
ALTERNATIVE_FLOOR = 0.02  # an alternative answer less probable than this is not offered
_SECOND, _THIRD = operator.itemgetter(1), operator.itemgetter(2)


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
        self._votes: ngram.Votes | None = None
        if counts[0] and counts[1]:
            self._intent_model = ngram.NaiveBayes(INTENTS, counts[0], self.cfg.alpha)
            self._category_model = ngram.NaiveBayes(CATEGORIES, counts[1], self.cfg.alpha)
            self._votes = ngram.Votes((self._intent_model, self._category_model))
        self._build_scan()

    def _build_scan(self) -> None:
        """The one-pass scanner of every word the rules look for; the patterns and combos of every target,
        in one list each (a pattern with the words one of which it needs, or None)."""
        targets = [(kind, name, target) for kind, table in (("i", self._intents), ("c", self._categories))
                   for name, target in table.items()]
        self._pattern_rules = [(kind == "i", name, pattern.search, weight, required_words(pattern))
                               for kind, name, target in targets for pattern, weight in target.patterns]
        self._combo_rules = [(kind == "i", name, groups, weight)
                             for kind, name, target in targets for groups, weight in target.combos]
        # a pattern needs one of its words, a combo one word of each group (of its smallest, say)
        self._pattern_index = RuleIndex(needs for *_, needs in self._pattern_rules)
        self._combo_index = RuleIndex(min(groups, key=len) if groups else None
                                      for _, _, groups, _ in self._combo_rules)
        self._keyword_evidence = KeywordEvidence(self.cfg, self._keywords, self._categories)
        self._emergency_words = [(rule, frozenset(rule.keywords), alarms.triggers(rule))
                                 for rule in self._emergencies]
        self._scanner = Scanner(itertools.chain(
            self._keyword_evidence.words(),
            (word for _, _, groups, _ in self._combo_rules for group in groups for word in group),
            self._pattern_index.words(),
            (word for rule in self._emergencies for word in rule.keywords),
            (word for rule in self._emergencies for combo in rule.combos for group in combo for word in group)))

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
    def _fuzzy_scores(self, text: str, scores: Scores) -> None:
        """A bonus for each target whose phrasing the message resembles (language/phrases.py)."""
        cutoff = self.cfg.fuzzy_cutoff
        for (kind, name), score in self._phrase_index.best(text, self.cfg.fuzzy_candidates, cutoff).items():
            target = self._intents[name] if kind == "i" else self._categories[name]
            bonus = target.fuzzy_weight * (score - cutoff) / (100.0 - cutoff)
            (scores.intents if kind == "i" else scores.categories)[name] += bonus

    def _structure_scores(self, text: str, spaced: str, scores: Scores, found: Found) -> None:
        """Patterns found in the compact or the spaced text, and combos (every group has a word in the
        text); a target's patterns count before its combos."""
        present = found.present
        other = spaced if spaced != text else None
        rules = self._pattern_rules
        for position in self._pattern_index.candidates(found):  # the others lack every word they need
            intent, name, search, weight, _ = rules[position]
            if search(text) or (other is not None and search(other)):
                (scores.intents if intent else scores.categories)[name] += weight
        combos = self._combo_rules
        for position in self._combo_index.candidates(found):
            intent, name, groups, weight = combos[position]
            for group in groups:
                if present.isdisjoint(group):
                    break
            else:
                (scores.intents if intent else scores.categories)[name] += weight

    def _emergency(self, text: str, found: Found) -> Emergency | None:
        return alarms.detect_found(text, self._emergency_words, found, self.cfg.emergency_guard_window,
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
        dense, scores, _ = self._evidence(text)
        return dense, scores

    def _evidence(self, text: str) -> tuple[str, Scores, Found]:
        """The compact text, its evidence, and its scan (which the emergency rules read too)."""
        spaced = self._fold_variants(normalise(text))
        dense = compact(spaced)
        found = self._scanner.scan(dense)
        scores = self._keyword_evidence.scores(dense, found)
        self._fuzzy_scores(dense, scores)
        self._structure_scores(dense, spaced, scores, found)
        return dense, scores, found

    # ---------------------------------------------------------------- public API
    def classify(self, text: str) -> Match:
        if not text or not text.strip():
            return Match("help", None, 0.2, (), None)
        dense, scores, found = self._evidence(text)
        if not dense:
            return Match("help", None, 0.2, (), None)
        cat_scores = dict.fromkeys(CATEGORIES, 0.0)
        cat_scores.update(scores.categories)  # every evidence is of a catalogue category
        top_cat_score = max(cat_scores.values())
        intent_scores, votes = self._intent_scores(dense, scores, max(0.0, top_cat_score))
        emergency = self._emergency(dense, found)
        intent_ranked = sorted(intent_scores.items(), key=_SECOND, reverse=True)
        best_intent, best_score = intent_ranked[0]
        if best_score <= 0.0:
            best_intent = "report" if len(dense) >= self.cfg.fallback_min_len else "help"
        spread = self.cfg.model_spread if votes is not None else 1.0
        intent_probs = ngram.softmax(dict(intent_ranked), self.cfg.temperature * spread, self.cfg.baseline)
        if emergency is not None:
            best_intent = "report"
        category, cat_probs = None, {}
        if best_intent == "report":
            category, cat_probs = self._category(dense, cat_scores, top_cat_score, emergency, votes, spread)
        joint = self._joint(intent_probs, cat_probs, cat_scores, spread)
        if emergency is not None:
            confidence = max(0.9, intent_probs.get("report", 0.0))
        else:
            confidence = next((p for i, c, p in joint if i == best_intent and c == category),
                              intent_probs.get(best_intent, 0.0))
        alternatives = tuple((i, c, round(p, 3)) for i, c, p in joint
                             if not (i == best_intent and c == category) and p >= ALTERNATIVE_FLOOR)[:3]
        return Match(best_intent, category, round(min(1.0, max(0.0, confidence)), 3), alternatives,
                     emergency.name if emergency else None)

    def _intent_scores(self, dense: str, scores: Scores,
                       topic: float) -> tuple[dict[str, float], ngram.Sums | None]:
        """Each intent's evidence plus its prior and topic weight, and the model's vote (with the sums of
        both models over the message's grams, None when the model did not vote)."""
        intent_scores = {name: scores.intents.get(name, 0.0) + target.prior + target.topic_weight * topic
                         for name, target in self._intents.items()}
        votes: ngram.Sums | None = None
        if self._votes is not None and self.cfg.model_intent_weight:
            votes = self._votes.sums(ngram.grams(dense))
            for name, p in self._votes.probabilities(votes, 0, self.cfg.model_temperature).items():
                intent_scores[name] += self.cfg.model_intent_weight * p
        return intent_scores, votes

    def _category(self, dense: str, cat_scores: dict[str, float], top_cat_score: float,
                  emergency: Emergency | None, votes: ngram.Sums | None,
                  spread: float) -> tuple[str, dict[str, float]]:
        """A report's category and the category probabilities (`cat_scores` gets the model's vote)."""
        if top_cat_score < self.cfg.other_floor:
            cat_scores["other"] = max(cat_scores["other"], self.cfg.other_floor)
        if self._votes is not None and self.cfg.model_category_weight:
            if votes is None:  # the intent model did not vote
                votes = self._votes.sums(ngram.grams(dense))
            for name, p in self._votes.probabilities(votes, 1, self.cfg.model_temperature).items():
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
                if not cat_probs and p < ALTERNATIVE_FLOOR:
                    continue  # p * (a category's probability) is below the floor: never an alternative
                probs = cat_probs or ngram.softmax(
                    {c: max(s, 0.0) for c, s in cat_scores.items()}, self.cfg.category_temperature * spread, 0.0)
                for cat, pc in sorted(probs.items(), key=_SECOND, reverse=True)[:3]:
                    joint.append(("report", cat, p * pc))
            else:
                joint.append((name, None, p))
        joint.sort(key=_THIRD, reverse=True)
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
