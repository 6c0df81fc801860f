"""Who is speaking and which handler answers, inside one transaction with the message's id.

All store access runs on one thread (the writer), which also serialises every conversation: WeChat's
retries and double taps for the same resident can never interleave.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.intents import Matcher
from bot.messages import Message
from bot.texts import t
from handlers import resident, worker
from handlers.context import Ctx
from storage import outbox, people
from storage.db import transaction
from storage.petitions import iso

log = logging.getLogger("minsheng.router")
T = TypeVar("T")


class Core:
    def __init__(self, db: Database, settings: Settings, clock: Clock, matcher: Matcher) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.matcher = matcher
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minsheng-store")
        self.on_outbox: Callable[[], None] = lambda: None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def handle(self, msg: Message) -> list[str]:
        replies = await self.call(self.handle_sync, msg)
        self.on_outbox()
        return replies

    def handle_sync(self, msg: Message) -> list[str]:
        try:
            with transaction(self.db):
                return self._handle(msg)
        except Exception:
            log.exception("handler failed for %s message %s; kept for staff", msg.channel, msg.key)
            self._keep_failed(msg)
            return [t("common.internal_error")]

    def _handle(self, msg: Message) -> list[str]:
        if msg.key:
            earlier = people.seen(self.db, msg.key)
            if earlier is not None:
                log.info("duplicate callback %s answered from the ledger", msg.key)
                if earlier["replied_late"]:
                    return []
                self.db.conn.execute("UPDATE inbound SET answered_again = 1 WHERE key = ?", (msg.key,))
                return json.loads(earlier["reply"] or "[]")
        ctx = Ctx(self.db, self.clock.now(), self.settings, self.matcher)
        kind = "resident" if msg.role == "resident" else "staff"
        if msg.kind == "text":
            people.log_chat(self.db, kind, msg.sender, "in", msg.text, ctx.now)
        if msg.role == "resident":
            resident.handle(ctx, msg)
        else:
            worker.handle(ctx, msg)
        for reply in ctx.replies:
            people.log_chat(self.db, kind, msg.sender, "out", reply, ctx.now)
        if msg.key:
            people.remember(self.db, msg.key, msg.channel, msg.sender,
                            json.dumps(ctx.replies, ensure_ascii=False), ctx.now)
        return ctx.replies

    async def run_job(self, job: Callable[[Ctx], T]) -> T:
        """Run a time-driven job (it takes a Ctx) in one transaction on the store thread."""
        def run() -> T:
            with transaction(self.db):
                return job(Ctx(self.db, self.clock.now(), self.settings, self.matcher))
        result = await self.call(run)
        self.on_outbox()
        return result

    async def reply_late(self, msg: Message, replies: list[str]) -> None:
        """Replies that missed the callback's answer window go out as messages instead."""
        await self.call(self._reply_late, msg, replies)
        self.on_outbox()

    def _reply_late(self, msg: Message, replies: list[str]) -> None:
        with transaction(self.db):
            row = people.seen(self.db, msg.key) if msg.key else None
            if row is not None and row["answered_again"]:
                return  # a retry already carried these replies
            if row is not None:
                self.db.conn.execute("UPDATE inbound SET replied_late = 1 WHERE key = ?", (msg.key,))
            kind = "resident" if msg.role == "resident" else "staff"
            for text in replies:
                outbox.enqueue(self.db, kind, msg.sender, text, self.clock.now(), ref="late-reply")

    def _keep_failed(self, msg: Message) -> None:
        """A message whose handling failed is still stored, once, for staff to see."""
        try:
            with transaction(self.db):
                if msg.key and people.seen(self.db, msg.key):
                    return
                self.db.conn.execute(
                    "INSERT INTO failed_inbound (key, at, channel, sender, kind, text) VALUES (?,?,?,?,?,?)",
                    (msg.key, iso(self.clock.now()), msg.channel, msg.sender, msg.kind, msg.text))
        except Exception:
            log.exception("could not keep failed message %s", msg.key)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
