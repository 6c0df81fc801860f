"""A report that repeats an open petition of the same building and category joins it: the resident
follows the original (and is told its number), the worker hears how many households raise it, and
enough households open a deliberation topic (handlers/deliberation.py)."""

from __future__ import annotations

import functools
from datetime import timedelta

from rapidfuzz import fuzz

from handlers.context import Ctx
from handlers.deliberation import open_topic_for
from language.intents import normalise
from language.texts import t
from storage import deliberation as store
from storage import petitions, states

# Only a bounded opening of each text is compared: rapidfuzz's measures grow with the product of the two
# lengths (and hold the GIL), so two long reports could freeze the event loop. A report's gist is in its
# opening; `_RAW` raw characters are folded to get `_GIST` normalised ones (folding drops symbols).
_GIST = 200
_RAW = _GIST * 4
_CANDIDATES = 200   # the newest open petitions of a building and category one report is compared with


def gist(text: str) -> str:
    """The normalised opening of `text` that the duplicate check compares (at most `_GIST` characters)."""
    return normalise(text[:_RAW])[:_GIST]


def similarity(a: str, b: str) -> float:
    return _similarity(gist(a), gist(b))


def _similarity(na: str, nb: str) -> float:
    na, nb = na[:_GIST], nb[:_GIST]
    if not na or not nb:
        return 0.0
    return max(fuzz.ratio(na, nb), fuzz.partial_ratio(na, nb) * 0.92, fuzz.token_set_ratio(na, nb))


@functools.lru_cache(maxsize=4096)
def _stored_gist(text: str) -> str:
    """`gist` of a stored petition's text: an open petition is compared with every later report of its
    building and category, so its text is folded once, not once per report (a pure function)."""
    return gist(text)


def find_duplicate(ctx: Ctx, building: str, category: str, text: str) -> dict | None:
    """The open petition of this building and category, filed within the window, that `text` repeats
    best (the earliest on a tie); runs on every report, so it compares bounded openings of at most
    `_CANDIDATES` open petitions."""
    cfg = ctx.settings.deliberation
    since = petitions.iso(ctx.now - timedelta(days=cfg.duplicate_window_days))
    mine = gist(text)
    best, score = None, 0.0
    for pid, other in store.open_candidates(ctx.db, building, category, since, _CANDIDATES):
        s = _similarity(mine, _stored_gist(other))
        if s > score:
            best, score = pid, s
    return petitions.get(ctx.db, best) if best is not None and score >= cfg.duplicate_score else None


def follow(ctx: Ctx, original: dict, me: dict, text: str) -> None:
    """A resident's report that repeats an open petition: recorded, merged, and followed."""
    if original["resident"] == me["openid"] or store.is_following(ctx.db, original["id"], me["openid"]):
        ctx.say(t("delib.already_following", id=original["id"], state=states.label(original["state"])))
        return
    dup = petitions.create_merged(ctx.db, resident=me["openid"], building=original["building"],
                                  grid=original["grid"], category=original["category"], text=text, now=ctx.now,
                                  into=original["id"], actor="system",
                                  note=t("delib.merged_note", id=original["id"]))
    store.add_follower(ctx.db, original["id"], me["openid"], dup, ctx.now)
    count = store.households_raising(ctx.db, original["id"])
    ctx.say(t("delib.merged", id=original["id"], state=states.label(original["state"]), count=count))
    if original["worker"]:
        ctx.to_staff(original["worker"], t("delib.worker_more_households", id=original["id"], count=count),
                     ref=f"petition:{original['id']}")
    if count >= ctx.settings.deliberation.topic_households:
        open_topic_for(ctx, original, "system", t("delib.topic_reason_households", count=count))
