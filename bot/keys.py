"""Typed application keys, in one module."""

from __future__ import annotations

from aiohttp import web
from sqlite_utils import Database

from bot.channels.freshness import Freshness
from bot.channels.senders import Senders
from bot.clock import Clock
from bot.config import Settings
from bot.intake import Intake

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
DB = web.AppKey("db", Database)
INTAKE = web.AppKey("intake", Intake)
SENDERS = web.AppKey("senders", Senders)
DELIVERER = web.AppKey("deliverer", object)
FRESHNESS = web.AppKey("freshness", Freshness)
