"""The root of routing: who is speaking, the inbound ledger around the routers, the chat log.

`feed` runs on the writer thread inside the job's savepoint, so a message's effects, its replies and
its `inbound` record are committed together: a retry of a handled message is answered from the
ledger, never handled twice. A sender over the flood limit is held (storage/held.py), not routed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.flood import FloodGate
from bot.logsafe import short
from bot.messages import Message
from bot.router import Event, Router
from handlers.context import Ctx
from language.intents import Matcher
from language.texts import t
from storage import chat, held, inbound, org, people
from storage.db import transaction

log = logging.getLogger("minsheng.dispatcher")
T = TypeVar("T")


class Dispatcher:
    def __init__(self, settings: Settings, clock: Clock, matcher: Matcher, routers: list[Router]) -> None:
        self.settings, self.clock, self.matcher = settings, clock, matcher
        self.root = Router("root").include_routers(*routers)
        self.flood = FloodGate(settings.limits.sender_messages, settings.limits.sender_window_seconds)

    def context(self, db: Database) -> Ctx:
        return Ctx(db, self.clock.now(), self.settings, self.matcher)

    def feed(self, db: Database, msg: Message) -> list[str]:
        """Handle `msg` (inside the caller's transaction): its replies."""
        if msg.key:
            earlier = inbound.seen(db, msg.key)
            if earlier is not None:
                return _answer_again(db, earlier)
        ctx = self.context(db)
        gate = self.flood.admit(msg.sender, ctx.now.timestamp()) if msg.role == "resident" else "pass"
        if gate != "pass":
            held.hold(db, msg.key, msg.channel, msg.sender, msg.kind, msg.text, ctx.now)
            if gate == "notice":
                log.warning("%s: sender %s over the message limit; holding the rest", msg.channel, short(msg.sender))
                ctx.say(t("intake.flood"))
        else:
            with org.pinned(db):   # the organisation is read once for the whole message
                self.route(ctx, msg)
            if msg.cut:
                ctx.say(t("intake.cut", kept=len(msg.text), cut=msg.cut))
        kind = "resident" if msg.role == "resident" else "staff"
        chat.log_exchange(db, kind, msg.sender, msg.text if msg.kind == "text" else None, ctx.replies, ctx.now)
        if msg.key:
            inbound.remember(db, msg.key, msg.channel, msg.sender, json.dumps(ctx.replies, ensure_ascii=False),
                             ctx.now)
        return ctx.replies

    def route(self, ctx: Ctx, msg: Message) -> None:
        if msg.role == "resident":
            me: dict | None = people.ensure_resident(ctx.db, msg.sender, msg.channel, ctx.now)
            role = "resident"
        else:
            me = org.staff_member(ctx.db, msg.sender)
            role = me["role"] if me else "stranger"
        self.root.propagate(Event(ctx, msg, me, role, self.root))

    def feed_now(self, db: Database, msg: Message) -> list[str]:
        """One message in its own transaction, on the calling thread (tools and tests)."""
        try:
            with transaction(db):
                return self.feed(db, msg)
        except Exception as exc:  # noqa: BLE001 - a failing handler is kept for staff, never lost
            return self.failed(db, msg, exc)

    def failed(self, db: Database, msg: Message, exc: Exception) -> list[str]:
        """After a failing handler's writes are undone: keep the message for staff, apologise."""
        log.error("handler failed for %s message %s; kept for staff", msg.channel, short(msg.key), exc_info=exc)
        try:
            with transaction(db):
                if not (msg.key and inbound.seen(db, msg.key)):
                    inbound.keep_failed(db, msg.key, msg.channel, msg.sender, msg.kind, msg.text, self.clock.now())
        except Exception:
            log.exception("could not keep failed message %s", short(msg.key))
        return [t("common.internal_error")]

    def job(self, db: Database, job: Callable[[Ctx], T]) -> T:
        """A time-driven job (it takes a Ctx), in one transaction."""
        with transaction(db), org.pinned(db):
            return job(self.context(db))


def _answer_again(db: Database, earlier: dict) -> list[str]:
    """A retry of a handled message (its `inbound` row): the stored answer, or nothing when its
    replies went as messages."""
    log.info("duplicate callback %s answered from the ledger", short(earlier["key"]))
    if earlier["replied_late"]:
        return []
    inbound.mark_answered_again(db, earlier["key"])
    return json.loads(earlier["reply"] or "[]")
