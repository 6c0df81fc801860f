"""The catalogue the matcher scores against, as data: intents, categories and emergencies with their
keywords, phrasings, patterns and combos (catalogue/intents.toml, categories.toml), and the matcher's
settings, typed. Building a matcher reads these; scoring is language/intents.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from language.normalise import compact, normalise
from language.words import words

INTENTS = ("report", "query", "urge", "cancel", "rate", "bind", "wish", "suggest", "consult", "help", "human")
CATEGORIES = (
    "lighting",
    "road",
    "sanitation",
    "greening",
    "parking",
    "charging",
    "noise",
    "elevator",
    "other",
    "housing",
    "facilities",
    "safety",
    "dispute",
    "construction",
    "elderly",
    "property",
    "utilities",
)
EMERGENCIES = ("lift", "gas", "fire", "injury")



@dataclass(frozen=True)
class Match:
    intent: str
    category: str | None  # None unless intent == "report"
    confidence: float  # calibrated 0..1
    alternatives: tuple[tuple[str, str | None, float], ...]  # next-best (intent, category, conf)
    emergency: str | None  # None or one of EMERGENCIES


_M = words("intents", "macros")   # the address words the intent rules' {BLD} {UNIT} {ROOM} stand for
_NUM = rf"(?:\d{{1,4}}|[{_M['numerals']}]{{1,4}})"
_MACROS = {
    "{NUM}": _NUM,
    "{BLD}": rf"{_NUM}\s*(?:{_M['building']})",
    "{UNIT}": rf"{_NUM}\s*(?:{_M['unit']})",
    "{ROOM}": rf"\d{{3,4}}\s*(?:{_M['room']})?",
}
_MACROS["{ADDR}"] = (
    rf"(?:{_MACROS['{BLD}']}\s*(?:{_MACROS['{UNIT}']})?\s*(?:{_MACROS['{ROOM}']})?"
    r"|\d{1,3}-\d{1,2}-\d{3,4})"
)


def expand(pattern: str) -> str:
    for key, value in _MACROS.items():
        pattern = pattern.replace(key, value)
    return pattern


@dataclass
class Target:
    """Scoring data of one intent or one category."""

    name: str
    topic_weight: float = 0.0  # intents: how much the best category evidence adds (negative = penalty)
    prior: float = 0.0
    phrasings: list[str] = field(default_factory=list)
    fuzzy_weight: float = 2.5
    patterns: list[tuple[re.Pattern[str], float]] = field(default_factory=list)
    combos: list[tuple[tuple[tuple[str, ...], ...], float]] = field(default_factory=list)
    # categories: keywords that name a consequence, an affected person or the party handling the
    # problem ("物业", "老人", "危险") rather than the object complained about; they count in full
    # only when no other category has stronger object evidence
    incidental: frozenset[str] = frozenset()
    # categories: keywords that name the kind of problem itself ("调解", "噪音", "违建", "独居"); they
    # need no complaint predicate nearby, so they are never damped as background
    types: frozenset[str] = frozenset()


@dataclass
class Emergency:
    name: str
    categories: tuple[str, ...]
    keywords: tuple[str, ...]
    combos: tuple[tuple[tuple[str, ...], ...], ...]
    guards: tuple[str, ...]
    after_guards: tuple[str, ...] = ()  # hypothetical/past markers AFTER the trigger ("…咋办")
    context_guards: tuple[str, ...] = ()  # past-time markers anywhere before the trigger ("前天…摔倒了")
    force_category: bool = True  # False: the topic evidence decides the category
    # the rule fires only when every `needs` group has a word somewhere in the text ("电梯|升降机":
    # an entrapment is in a lift; "困" alone may be a cat in a tree or a sleepy resident)
    needs: tuple[tuple[str, ...], ...] = ()
    # weak triggers ("卡住", "冒烟", "漏气") name a symptom shared with ordinary problems: one fires only
    # with a `confirms` word within `confirm_window` characters of it (when the rule has confirms: "在里面",
    # "救命" for a person inside) and no `vetoes` word anywhere in the text ("烧烤", "轮胎")
    weak: tuple[str, ...] = ()
    confirms: tuple[str, ...] = ()
    confirm_window: int = 8
    vetoes: tuple[str, ...] = ()
    # the frame of the whole message ([emergency] in categories.toml, shared by every rule): a drill, a
    # training or a notice (`not_live`) is no live emergency unless a `live` word ("救命", "我在里面")
    # says it is; a question after the trigger (`asks`: "怎么办") is a hypothetical unless the event is
    # said to have happened (`happened` right after the trigger: "着火了怎么办") with no guard before it
    not_live: tuple[str, ...] = ()
    live: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    happened: tuple[str, ...] = ()


@dataclass
class Scores:
    intents: dict[str, float]
    categories: dict[str, float]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def split_group(group: str) -> tuple[str, ...]:
    return tuple(compact(normalise(part)) for part in group.split("|") if part.strip())


def normalised_words(words_: Iterable[Any]) -> tuple[str, ...]:
    return tuple(p for p in (compact(normalise(str(w))) for w in words_) if p)


@dataclass(frozen=True)
class MatcherSettings:
    """Every number and word list the scoring reads from [weights], [scoring], [model] (intents.toml),
    [salience] and the emergency windows (categories.toml), typed and in one place."""

    tiers: Mapping[str, float]
    temperature: float
    baseline: float
    fuzzy_cutoff: float
    fuzzy_candidates: int
    other_floor: float
    fallback_min_len: int
    category_temperature: float
    emergency_guard_window: int
    emergency_after_window: int
    emergency_keep_topic: float
    # salience: a category keyword close to a complaint predicate ("坏", "不亮", "漏", "占" ...) names
    # the thing complained about; in a long message a keyword far from every predicate is more likely
    # background ("我家孩子每天走那条路")
    predicates: tuple[str, ...]
    salience_window: int
    salience_boost: float
    salience_damp: float
    salience_min_len: int
    hypothetical: tuple[str, ...]
    hypothetical_window: int
    hypothetical_factor: float
    incidental_factor: float
    incidental_margin: float
    # the statistical complement (see [model] in intents.toml); its votes widen the score margins, so
    # confidences use the softmax temperatures multiplied by `model_spread` to stay calibrated
    model_intent_weight: float
    model_category_weight: float
    model_temperature: float
    model_spread: float
    alpha: float
    min_count: float

    @classmethod
    def from_docs(cls, intents_doc: Mapping[str, Any], categories_doc: Mapping[str, Any]) -> MatcherSettings:
        weights = {**intents_doc.get("weights", {}), **categories_doc.get("weights", {})}
        scoring, model = intents_doc.get("scoring", {}), intents_doc.get("model", {})
        salience = categories_doc.get("salience", {})
        shared = categories_doc.get("emergency", {})
        return cls(
            tiers={"strong": float(weights.get("strong", 3.0)), "medium": float(weights.get("medium", 1.8)),
                   "weak": float(weights.get("weak", 0.8)), "negative": float(weights.get("negative", -3.0))},
            temperature=float(scoring.get("temperature", 1.0)), baseline=float(scoring.get("baseline", 1.5)),
            fuzzy_cutoff=float(scoring.get("fuzzy_cutoff", 72.0)),
            fuzzy_candidates=int(scoring.get("fuzzy_candidates", 12)),
            other_floor=float(scoring.get("other_floor", 1.0)),
            fallback_min_len=int(scoring.get("fallback_report_min_len", 6)),
            category_temperature=float(scoring.get("category_temperature", 1.0)),
            emergency_guard_window=int(shared.get("guard_window", 6)),
            emergency_after_window=int(shared.get("after_window", 8)),
            emergency_keep_topic=float(shared.get("keep_topic", 4.5)),
            predicates=normalised_words(salience.get("predicates", [])),
            salience_window=int(salience.get("window", 6)), salience_boost=float(salience.get("boost", 0.0)),
            salience_damp=float(salience.get("damp", 1.0)), salience_min_len=int(salience.get("min_len", 24)),
            hypothetical=normalised_words(salience.get("hypothetical", [])),
            hypothetical_window=int(salience.get("hypothetical_window", 10)),
            hypothetical_factor=float(salience.get("hypothetical_factor", 1.0)),
            incidental_factor=float(salience.get("incidental_factor", 1.0)),
            incidental_margin=float(salience.get("incidental_margin", 0.0)),
            model_intent_weight=float(model.get("intent_weight", 0.0)),
            model_category_weight=float(model.get("category_weight", 0.0)),
            model_temperature=float(model.get("temperature", 1.0)), model_spread=float(model.get("spread", 1.0)),
            alpha=float(model.get("alpha", 0.5)), min_count=float(model.get("min_count", 1.0)),
        )


def emergency_rules(categories_doc: Mapping[str, Any]) -> list[Emergency]:
    """The emergency rules of categories.toml [emergency], their words normalised."""
    found: list[Emergency] = []
    shared = categories_doc.get("emergency", {})
    for name in EMERGENCIES:
        spec = shared.get(name)
        if not spec:
            continue
        found.append(Emergency(
            name=name,
            categories=tuple(spec.get("categories", ["safety"])),
            keywords=tuple(compact(normalise(k)) for k in spec.get("keywords", [])),
            combos=tuple(tuple(split_group(g) for g in combo) for combo in spec.get("combos", [])),
            guards=tuple(compact(normalise(g)) for g in spec.get("guards", [])),
            after_guards=tuple(compact(normalise(g)) for g in spec.get("after_guards", [])),
            context_guards=tuple(compact(normalise(g)) for g in spec.get("context_guards", [])),
            force_category=bool(spec.get("force_category", True)),
            needs=tuple(split_group(g) for g in spec.get("needs", [])),
            weak=normalised_words(spec.get("weak", [])),
            confirms=normalised_words(spec.get("confirms", [])),
            confirm_window=int(spec.get("confirm_window", 8)),
            vetoes=normalised_words(spec.get("vetoes", [])),
            not_live=normalised_words(shared.get("not_live", [])),
            live=normalised_words(shared.get("live", [])),
            asks=normalised_words(shared.get("asks", [])),
            happened=normalised_words(shared.get("happened", [])),
        ))
    return found


def variant_forms(intents_doc: Mapping[str, Any]) -> dict[str, str]:
    """Dialect and regional written forms folded into the Mandarin the catalogue is written in
    (Cantonese 冇/咗/嘅/喺, Wu 呒没, Taiwan 瓦斯/管委会 ...); see [variants] in intents.toml."""
    variants = {
        compact(normalise(str(k))): compact(normalise(str(v)))
        for k, v in dict(intents_doc.get("variants", {})).items()
    }
    return {k: v for k, v in variants.items() if k and k != v}


def build_target(kind: str, name: str, spec: Mapping[str, Any], tiers: Mapping[str, float],
                 keywords: dict[str, list[tuple[str, str, float]]]) -> Target:
    """One intent's or category's evidence from its catalogue table; its keywords are added to
    `keywords` (keyword -> (kind, target, weight); kind "i" for an intent, "c" for a category)."""
    target = Target(
        name=name,
        topic_weight=float(spec.get("topic_weight", 0.0)),
        prior=float(spec.get("prior", 0.0)),
        fuzzy_weight=float(spec.get("fuzzy_weight", 2.5)),
    )
    # one weight per keyword and target: an explicit `weighted` entry overrides the tier lists,
    # and a keyword listed in several tiers keeps the last tier (strong < medium < weak < negative)
    words: dict[str, float] = {}
    for tier, weight in tiers.items():
        for word in as_list(spec.get(tier)):
            words[compact(normalise(str(word)))] = weight
    for word, weight in dict(spec.get("weighted", {})).items():
        words[compact(normalise(str(word)))] = float(weight)
    for key, weight in words.items():
        if key:
            keywords[key].append((kind, name, weight))
    incidental = {compact(normalise(str(w))) for w in as_list(spec.get("incidental"))} - {""}
    for key in incidental - words.keys():  # an incidental word not listed in a tier is "medium"
        words[key] = tiers["medium"]
        keywords[key].append((kind, name, tiers["medium"]))
    target.incidental = frozenset(incidental)
    types = {compact(normalise(str(w))) for w in as_list(spec.get("types"))} - {""}
    for key in types - words.keys() - incidental:  # a type word not listed in a tier is "strong"
        words[key] = tiers["strong"]
        keywords[key].append((kind, name, tiers["strong"]))
    target.types = frozenset(types)
    target.phrasings = [
        p for p in (compact(normalise(str(x))) for x in as_list(spec.get("phrasings"))) if p
    ]
    for item in as_list(spec.get("patterns")):
        target.patterns.append((re.compile(expand(str(item["re"]))), float(item.get("weight", 3.0))))
    for item in as_list(spec.get("combos")):
        groups = tuple(split_group(g) for g in item["all"])
        target.combos.append((groups, float(item.get("weight", 2.0))))
    return target
