"""Issue 12, point 3: no message can hold the server, and no sender can flood it.

Through the running server with signed, AES-encrypted callbacks: the longest reports are cut at the
callback (the resident is told what was cut) and everything after works on bounded text; a sender past
[limits] is held back (kept, shown to staff, answered once).
"""

from __future__ import annotations

import asyncio
import re

from bot.keys import INTAKE
from tests import fakewechat, peers
from tests.desk.helpers import desk_page
from tests.fakewechat import WechatEnv
from tests.peers import counts, drain

wechat_env = fakewechat.wechat_env
running = peers.running

LONG = 60_000


def _long_report(seed: str) -> str:
    """A real report, then a very long tail of different characters (worst case for similarity)."""
    body = "".join(chr(0x4E00 + (i * 7919 + ord(seed)) % 20000) for i in range(LONG))
    return "楼道里的灯坏了好几天，晚上很黑" + body


async def test_two_longest_reports_do_not_hold_another_resident(running, wechat_env: WechatEnv) -> None:
    app, oa, _ = running
    for who, room in (("oLong1", "我住3号楼1单元101"), ("oLong2", "我住3号楼1单元102"),
                      ("oShort", "我住3号楼2单元201")):
        await oa.send(oa.text(who, room))
    limit = app[INTAKE].settings.limits.max_text_chars

    async def short_one() -> float:
        await asyncio.sleep(0.05)   # while the long ones are on their way
        answer = await oa.send(oa.text("oShort", "单元门禁刷不开了"))
        assert re.search(r"编号 ?\d+", answer.content), answer.content
        return answer.elapsed

    long1, long2, elapsed = await asyncio.gather(oa.send(oa.text("oLong1", _long_report("a"))),
                                                 oa.send(oa.text("oLong2", _long_report("b"))), short_one())
    assert elapsed < 1.0, f"another resident waited {elapsed:.2f}s"
    await drain(app)
    for answer, who in ((long1, "oLong1"), (long2, "oLong2")):
        said = answer.content if answer.reply else "\n".join(wechat_env.fake.oa_texts(who))
        assert f"前 {limit} 个字" in said, said
    lengths = [n for (n,) in app[INTAKE].db.execute("SELECT length(text) FROM petitions")]
    assert lengths and max(lengths) <= limit
    assert counts(app)["failed_inbound"] == 0


async def test_a_flooding_sender_is_held_back_and_told_once(running, wechat_env: WechatEnv) -> None:
    app, oa, _ = running
    await oa.send(oa.text("oFlood", "我住3号楼2单元301"))
    allowed = app[INTAKE].settings.limits.sender_messages
    answers = [await oa.send(oa.text("oFlood", f"你好{i}")) for i in range(allowed + 40)]
    await drain(app)
    replies = [a.content for a in answers if a.reply is not None] + wechat_env.fake.oa_texts("oFlood")
    told = [r for r in replies if "发得太快" in r]
    assert len(told) == 1
    assert len(replies) <= allowed + 1
    db = app[INTAKE].db
    held = db.execute("SELECT count(*) FROM held_inbound WHERE sender = 'oFlood'").fetchone()[0]
    assert held == 41                        # the first of them bound the room; nothing is lost
    kept = db.execute("SELECT count(*) FROM chat_log WHERE person = 'oFlood' AND direction = 'in'").fetchone()[0]
    assert kept == allowed + 41
    page = await desk_page(oa.client, db, "/admin/deliveries")
    assert "你好" in page and "41" in page

    app[INTAKE].clock.advance(seconds=app[INTAKE].settings.limits.sender_window_seconds + 1)
    answer = await oa.send(oa.text("oFlood", "单元门禁刷不开了"))
    assert re.search(r"编号 ?\d+", answer.content), answer.content   # after the window: handled again
