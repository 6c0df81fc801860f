"""Acting from a page as in chat: a page's action is the chat command it stands for, sent as a message
from the person at the desk through the same intake, router and handlers as WeCom (so the same
permission checks and the same notices follow). What the bot answers is what the page shows."""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.keys import INTAKE
from bot.messages import Message
from language import commands

MAX_PART = 1000   # a page's text field is cut here, as a chat message is cut at [limits] max_text_chars


async def act(request: web.Request, command: str, *parts: str) -> list[str]:
    """Send `command` (a code from catalogue/commands.toml, e.g. "dispatch") with `parts` as the
    viewer's chat message; returns the bot's replies."""
    viewer = request["viewer"]
    words = [commands.word(command), *(" ".join(str(p).split())[:MAX_PART] for p in parts if str(p).strip())]
    msg = Message(channel="web", role="staff", sender=viewer.userid, kind="text", text=" ".join(words),
                  key=f"web:{viewer.userid}:{secrets.token_hex(8)}")
    return await request.config_dict[INTAKE].answer(msg, None)
