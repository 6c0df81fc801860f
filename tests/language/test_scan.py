"""The matcher's fast paths against their plain definitions: the one-pass scan (language/scan.py), the
words a pattern needs, the emergency rules read from the scan, and both models summed in one pass
(language/model.py)."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from language import emergency as alarms
from language import model as ngram
from language.intents import Matcher, default_matcher
from language.normalise import compact, normalise
from language.scan import RuleIndex, Scanner, required_words

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
_ALPHABET = "ab路灯坏了的事 "


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return default_matcher()


@pytest.fixture(scope="module")
def texts(matcher: Matcher) -> list[tuple[str, str]]:
    """(compact, spaced) forms of the held-out messages and of every one of their halves."""
    with open(DATA / "heldout.jsonl", encoding="utf-8") as fh:
        raw = [json.loads(line)["text"] for line in fh if line.strip()]
    raw += [text[: len(text) // 2] for text in raw] + [text[len(text) // 2 :] for text in raw]
    spaced = [matcher._fold_variants(normalise(text)) for text in raw]
    return [(compact(s), s) for s in spaced]


# ------------------------------------------------------------------ the scan
@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(_ALPHABET, max_size=4), max_size=8), st.text(_ALPHABET, max_size=30))
def test_scan_finds_every_occurrence(words: list[str], text: str) -> None:
    found = Scanner(words).scan(text)
    vocabulary = set(words)
    expected = sorted((i, i + len(w), w) for w in vocabulary if w for i in range(len(text))
                      if text.startswith(w, i))
    assert sorted(found.occurrences(vocabulary)) == expected
    assert found.present == {w for w in vocabulary if w in text}  # "" is in every text


def test_spans_of_some_words() -> None:
    found = Scanner(["路灯", "灯", "坏了"]).scan("路灯坏了灯")
    assert found.spans(frozenset({"灯"})) == [(1, 2), (4, 5)]
    assert found.spans(frozenset({"电梯"})) == []


def test_rule_index_keeps_list_order() -> None:
    index = RuleIndex([("a",), None, ("b", "c"), ("a", "c"), ()])
    assert index.candidates(Scanner("abc").scan("c a")) == [0, 1, 2, 3]
    assert index.candidates(Scanner("abc").scan("b")) == [1, 2]
    assert index.candidates(Scanner("abc").scan("x")) == [1]


# ------------------------------------------------------------------ what a pattern needs
@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"(?:ab|cd)x+y", {"ab", "cd"}),
        (r"a.{0,3}的事(?:儿|情)?", {"的事"}),
        (r"^\s*[1-5]\s*$", {"1", "2", "3", "4", "5"}),
        (r"a?b*", None),
        (r"(?:ab|c?)d?", None),
        (r"a b", None),  # a space may be gone from the compact text
        (r"(?i)abc", None),
        (r"[^a]bc", {"bc"}),
        (r"\d+号", {"号"}),
    ],
)
def test_required_words(pattern: str, needs: set[str] | None) -> None:
    assert required_words(re.compile(pattern)) == (None if needs is None else frozenset(needs))


def test_every_match_of_a_catalogue_pattern_has_a_word_it_needs(matcher: Matcher,
                                                                 texts: list[tuple[str, str]]) -> None:
    patterns = [(search.__self__, needs) for *_, search, _, needs in matcher._pattern_rules if needs]
    assert patterns
    matched = 0
    for dense, spaced in texts:
        for pattern, needs in patterns:
            if pattern.search(dense) or pattern.search(spaced):
                matched += 1
                assert any(word in dense for word in needs), (pattern.pattern, dense)
    assert matched


# ------------------------------------------------------------------ emergencies and the model
def test_emergencies_from_the_scan_are_the_rules_own(matcher: Matcher, texts: list[tuple[str, str]]) -> None:
    extra = ["电梯困人了", "不是说电梯困人", "楼道里着火了", "万一着火怎么办", "闻到煤气味", "我妈摔倒了起不来"]
    guard, after = matcher.cfg.emergency_guard_window, matcher.cfg.emergency_after_window
    fired = 0
    for dense in [d for d, _ in texts] + [compact(normalise(t)) for t in extra]:
        found = matcher._scanner.scan(dense)
        rule = alarms.detect_found(dense, matcher._emergency_words, found, guard, after)
        assert rule is alarms.detect(dense, matcher._emergencies, guard, after), dense
        fired += rule is not None
    assert fired


def test_grams_keep_their_order() -> None:
    for text in ("", "a", "ab", "路灯坏了", "路灯坏了路灯坏了 12"):
        reference = frozenset(text[i : i + k] for k in (1, 2, 3) for i in range(len(text) - k + 1))
        assert ngram.grams(text) == reference
        assert list(ngram.grams(text)) == list(reference)


def test_one_pass_gives_each_models_own_probabilities(matcher: Matcher,
                                                      texts: list[tuple[str, str]]) -> None:
    votes, models = matcher._votes, (matcher._intent_model, matcher._category_model)
    assert votes is not None and None not in models
    for dense, _ in texts + [("zzzz", "zzzz")]:
        grams = ngram.grams(dense)
        sums = votes.sums(grams)
        for index, model in enumerate(models):
            assert votes.probabilities(sums, index, 1.3) == model.probabilities(grams, 1.3), dense
