"""Which handler answers a message: routers of handlers, each guarded by filters; first match wins.

aiogram 3's router is the model. Each capability (handlers/*.py) exports a `Router`; a handler is
registered with the filters that must all pass:

    router = Router("report")

    @router.message(Role("resident"), Intent("report"))
    def report(ctx: Ctx, me: dict, text: str, match: Match) -> None: ...

A filter answers False (not this handler), True, or a dict of values handed to the handler. A handler
names what it needs as parameters: `ctx`, `msg`, `me` (the resident's row, or the staff member's),
`text`, `match` (the classification, computed only when a filter or handler asks), `cmd` (a parsed
staff command), `data` (the conversation state's data), and whatever its filters found. A handler
that finds the message is not its after all raises `SkipHandler`, and the search goes on. The order of
the routers is one list, in `bot/app.py`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from bot import conversation
from bot.conversation import State
from bot.messages import Message
from handlers.context import Ctx
from language.commands import Command as ParsedCommand
from language.commands import parse
from language.intents import Match
from language.words import pattern, words
from storage import petitions

Filter = Callable[["Event"], "bool | dict[str, Any]"]
Handler = Callable[..., Any]


class SkipHandler(Exception):
    """Raised by a handler whose filters passed but which leaves the message to the next one."""


class Event:
    """One message as the filters and handlers see it; what costs something is computed on demand."""

    def __init__(self, ctx: Ctx, msg: Message, me: dict | None, role: str, root: Router | None = None) -> None:
        self.ctx, self.msg, self.me, self.role, self.root = ctx, msg, me, role, root
        self.text = msg.text.strip() if msg.kind == "text" else ""

    def again(self, text: str, match: Match) -> bool:
        """Route `text` once more from the root, as if classified as `match` (a resident's pick from
        a clarifying question)."""
        if self.root is None:
            return False
        event = Event(self.ctx, self.msg, self.me, self.role, self.root)
        event.text = text
        event.__dict__["match"] = match
        return self.root.propagate(event)

    @cached_property
    def petition(self) -> dict | None:
        """The petition a staff command names, read once for all the filters that look at it."""
        number = self.cmd.number if self.cmd is not None else None
        return petitions.get(self.ctx.db, number) if number is not None else None

    @property
    def member(self) -> dict | None:
        """The staff member speaking (the same row as `me`)."""
        return self.me

    @property
    def rest(self) -> str:
        """What follows a staff command's word and number."""
        return self.cmd.rest if self.cmd is not None else ""

    @cached_property
    def match(self) -> Match:
        return self.ctx.matcher.classify(self.text)

    @cached_property
    def cmd(self) -> ParsedCommand | None:
        return parse(self.text) if self.text else None

    @cached_property
    def conv(self) -> conversation.Current | None:
        if self.role != "resident" or self.me is None:
            return None
        return conversation.current(self.me, self.ctx.now)

    def value(self, name: str) -> Any:
        return getattr(self, name)


_GIVEN = frozenset({"ctx", "msg", "me", "member", "text", "match", "cmd", "rest", "event"})


class _Registered:
    __slots__ = ("filters", "fn", "wants")

    def __init__(self, fn: Handler, filters: tuple[Filter, ...]) -> None:
        self.fn, self.filters = fn, filters
        self.wants = tuple(inspect.signature(fn).parameters)

    def call(self, event: Event, found: dict[str, Any]) -> None:
        args: dict[str, Any] = {}
        for name in self.wants:
            if name in found:
                args[name] = found[name]
            elif name == "event":
                args[name] = event
            elif name in _GIVEN:
                args[name] = event.value(name)
        self.fn(**args)


class Router:
    """Handlers in registration order, then the included routers, in theirs. `filters` guard all of
    them; `ends_conversation`: a message one of its handlers takes drops the resident's pending
    question (explicit commands win over it)."""

    def __init__(self, name: str, *filters: Filter, ends_conversation: bool = False) -> None:
        self.name = name
        self.filters = filters
        self.ends_conversation = ends_conversation
        self._handlers: list[_Registered] = []
        self._routers: list[Router] = []

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._handlers.append(_Registered(fn, filters))
            return fn
        return register

    def include_routers(self, *routers: Router) -> Router:
        for router in routers:
            if router is self or router in self._routers:
                raise ValueError(f"router {router.name} included twice")
            self._routers.append(router)
        return self

    def propagate(self, event: Event) -> bool:
        """Run the first handler whose filters pass; False when none took the message."""
        found = _check(self.filters, event)
        if found is None:
            return False
        for handler in self._handlers:
            more = _check(handler.filters, event)
            if more is None:
                continue
            try:
                handler.call(event, {**found, **more})
            except SkipHandler:
                continue
            if self.ends_conversation and event.role == "resident" and event.me is not None:
                conversation.leave(event.ctx.db, event.me["openid"])
            return True
        return any(router.propagate(event) for router in self._routers)


def _check(filters: Iterable[Filter], event: Event) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for f in filters:
        result = f(event)
        if result is False or result is None:
            return None
        if isinstance(result, dict):
            found.update(result)
    return found


# --- filters ------------------------------------------------------------------------------------------

def Role(*roles: str) -> Filter:
    """The sender's role: "resident", a staff role ("worker", "head", "staff", "admin") or "stranger"
    (a WeCom user not on the roster)."""
    wanted = frozenset(roles)
    return lambda e: e.role in wanted


def Kind(*kinds: str) -> Filter:
    wanted = frozenset(kinds)
    return lambda e: e.msg.kind in wanted


def EventIs(*names: str) -> Filter:
    wanted = frozenset(names)
    return lambda e: e.msg.kind == "event" and e.msg.event in wanted


def Not(f: Filter) -> Filter:
    return lambda e: not f(e)


def Pattern(name: str, flags: int = 0) -> Filter:
    """A catalogue pattern (catalogue/words.toml) matching the start of the text: hands `found`."""
    regex: re.Pattern[str] = pattern(name, flags)

    def check(e: Event) -> bool | dict[str, Any]:
        m = regex.match(e.text) if e.text else None
        return {"found": m} if m else False
    return check


def Intent(*intents: str) -> Filter:
    wanted = frozenset(intents)
    return lambda e: bool(e.text) and e.match.intent in wanted


def Command(*codes: str) -> Filter:
    """A staff command (catalogue/commands.toml) of one of these codes (any, when none given)."""
    wanted = frozenset(codes)
    return lambda e: e.cmd is not None and (not wanted or e.cmd.code in wanted)


def InState(*states: State) -> Filter:
    """The resident's live conversation state is one of these (any, when none given): hands `data`."""
    names = frozenset(s.name for s in states)

    def check(e: Event) -> bool | dict[str, Any]:
        conv = e.conv
        if conv is None or (names and conv.state.name not in names):
            return False
        return {"data": conv.data, "state": conv.state}
    return check


def CancelWords(max_chars: int = 8) -> Filter:
    """A short message saying "never mind" (catalogue/words.toml [cancel])."""
    return lambda e: len(e.text) <= max_chars and any(w in e.text for w in words("cancel"))


def Number(present: bool = True) -> Filter:
    """The staff command carries a petition number (hands `number`), or, with present=False, none."""
    def check(e: Event) -> bool | dict[str, Any]:
        number = e.cmd.number if e.cmd is not None else None
        if not present:
            return number is None
        return {"number": number} if number is not None else False
    return check
