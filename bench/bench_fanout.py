"""Fan-out benchmark: one announcement (公告 全社区) to 1,000 buildings through WeCom group robots.

A fake robot endpoint on 127.0.0.1 enforces WeCom's limit, 20 messages a minute per robot key (sliding
window; over the limit it answers errcode 45009 like WeCom does) and records every accepted message.
Time is a FakeClock shared by the product and the fake robot: the driver runs the real Deliverer
(`drain()`) and, when nothing is due, moves the clock to the next `next_at` in the outbox. Completion
time is virtual (what the announcement would take in production); the wall time is what it cost here.

A notice goes once to each group chat, however many buildings share it, so one announcement puts
one message on each robot and the rate-limit bound is 0. The scenario that meets the limit is a busy
day: "shared": 1,000 buildings on 25 robots (a grid chat holding 40 buildings), 40 announcements ->
40 messages per robot -> bound 60 s (1-20 at t=0, 21-40 at t=60 s). "own": one announcement to 1,000
buildings with a robot each (bound 0), the raw cost of delivering 1,000 messages.

Checks: nothing lost and nothing twice (each announcement accepted exactly once by each robot, every
outbox row sent), and no 45009 from the robot (the product must respect the limit rather than hit it).

    python bench/bench_fanout.py [--buildings 1000] [--per-robot 40]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from common import save_section

LIMIT, PER = 20, 60.0
STAFF = "bench.staff"


def org_toml(buildings: int, per_robot: int, grids: int = 10) -> str:
    lines = ['[[communities]]\nid = "c1"\nname = "基准社区"\n',
             f'[[staff]]\nuserid = "{STAFF}"\nname = "基准员"\nrole = "staff"\ncommunity = "c1"\n']
    for g in range(grids):
        lines.append(f'[[staff]]\nuserid = "w{g}"\nname = "网格员{g}"\nrole = "worker"\ncommunity = "c1"\n')
        lines.append(f'[[grids]]\nid = "g{g}"\ncommunity = "c1"\nname = "第{g}网格"\nhead = "w{g}"\n'
                     f'workers = ["w{g}"]\n')
    for n in range(buildings):
        key = f"R{n // per_robot:04d}" if per_robot > 1 else f"B{n:04d}"
        lines.append(f'[[buildings]]\nid = "b{n:04d}"\ncommunity = "c1"\ngrid = "g{n % grids}"\n'
                     f'name = "{n + 1}号楼"\ngroup = "robot:{key}"\n')
    return "\n".join(lines)


class FakeRobot:
    """WeCom group robots: 20 messages per 60 s per key, in the FakeClock's time."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.accepted: dict[str, list[datetime]] = defaultdict(list)
        self.texts: dict[tuple[str, str], int] = defaultdict(int)
        self.rejected = 0

    async def send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        text = (await request.json())["text"]["content"]
        now = self.clock.now()
        recent = [t for t in self.accepted[key] if t > now - timedelta(seconds=PER)]
        if len(recent) >= LIMIT:
            self.rejected += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.accepted[key].append(now)
        self.texts[(key, text)] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def scenario(buildings: int, per_robot: int, announcements: int, max_wall: float) -> dict[str, Any]:
    from bot.app import ROUTERS, open_store
    from bot.channels.senders import Senders
    from bot.clock import FakeClock
    from bot.config import load_settings
    from bot.dispatcher import Dispatcher
    from bot.intake import Intake
    from bot.messages import Message
    from bot.outbox import Deliverer
    from language.intents import default_matcher
    from storage import outbox
    from storage.writer import Writer

    random.seed(7)
    root = Path(tempfile.mkdtemp(prefix="minsheng-fanout-"))
    clock = FakeClock()
    robot = FakeRobot(clock)
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", robot.send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    (root / "org.toml").write_text(org_toml(buildings, per_robot), encoding="utf-8")
    settings = load_settings(None, overrides={
        "storage": {"path": str(root / "store.db")}, "org": {"file": str(root / "org.toml")},
        "simulator": {"enabled": False},
        "wecom": {"webhook_url": f"http://127.0.0.1:{port}/cgi-bin/webhook/send"}}, environ={})
    db = open_store(settings)
    core = Intake(Writer(db), Dispatcher(settings, clock, default_matcher(), ROUTERS), settings)
    senders = Senders(settings)
    await senders.start()
    deliverer = Deliverer(core, senders)
    core.start()
    try:
        start_virtual, wall0 = clock.now(), time.perf_counter()
        replies = []
        for a in range(announcements):
            replies += await core.answer(Message(channel="wecom", role="staff", sender=STAFF, kind="text",
                                                 text=f"公告 全社区 第{a + 1}号通知：明天8:00-18:00停水",
                                                 key=f"bench:{a}"), None)
        steps = 0
        while time.perf_counter() - wall0 < max_wall and steps < 100_000:
            steps += 1
            if await deliverer.drain(rounds=1000):
                continue
            nxt = await core.writer.call(outbox.next_due_at, db)
            if nxt is None:
                break
            clock.current = max(clock.current, datetime.fromisoformat(nxt))
        wall = time.perf_counter() - wall0
        rows = await core.writer.call(lambda: list(db.query(
            "SELECT target_id, status, attempts, via FROM outbox WHERE ref LIKE 'announcement:%'")))
    finally:
        await senders.close()
        core.close()
        db.conn.close()
        await runner.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    robots = {f"R{n // per_robot:04d}" if per_robot > 1 else f"B{n:04d}" for n in range(buildings)}
    bound = (math.ceil(announcements / LIMIT) - 1) * PER
    last = max((t for ts in robot.accepted.values() for t in ts), default=start_virtual)
    completion = (last - start_virtual).total_seconds()
    sent = [r for r in rows if r["status"] == "sent"]
    from language.texts import t

    notices = [t("group.announcement", text=f"第{a + 1}号通知：明天8:00-18:00停水") for a in range(announcements)]
    expected = {(key, notice) for key in robots for notice in notices}
    lost = len(expected - set(robot.texts))
    twice = sum(1 for n in robot.texts.values() if n > 1)
    robot_mismatch = sum(1 for key in robots if len(robot.accepted.get(key, [])) != announcements)
    return {
        "buildings": buildings, "buildings_per_robot": per_robot, "robots": len(robots),
        "announcements": announcements,
        "announcement_reply": replies[:1], "outbox_rows": len(rows), "sent": len(sent),
        "failed": sum(1 for r in rows if r["status"] == "failed"),
        "pending": sum(1 for r in rows if r["status"] == "pending"),
        "extra_attempts": sum(r["attempts"] - 1 for r in sent),
        "robot_rejections_45009": robot.rejected, "lost": lost, "delivered_twice": twice,
        "robots_with_wrong_count": robot_mismatch,
        "bound_s": bound, "completion_virtual_s": round(completion, 1),
        "ratio_to_bound": round(completion / bound, 3) if bound else (0.0 if completion == 0 else None),
        "wall_s": round(wall, 2), "deliveries_per_wall_s": round(len(sent) / wall, 1) if wall else None,
        "driver_steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--per-robot", type=int, default=40)
    parser.add_argument("--max-wall", type=float, default=120.0)
    args = parser.parse_args()
    shared = asyncio.run(scenario(args.buildings, args.per_robot, args.per_robot, args.max_wall))
    own = asyncio.run(scenario(args.buildings, 1, 1, args.max_wall))
    ok = (shared["lost"] == 0 and shared["delivered_twice"] == 0 and shared["robot_rejections_45009"] == 0
          and shared["robots_with_wrong_count"] == 0 and shared["ratio_to_bound"] is not None
          and shared["ratio_to_bound"] <= 1.1)
    save_section("fanout", {"shared": shared, "own": own, "targets": {"within_1.1x_bound_nothing_lost_or_twice": ok}})
    for name, r in (("shared", shared), ("own", own)):
        print(f"{name:6s} {r['announcements']} notices, {r['buildings']} buildings / {r['robots']} robots: completion {r['completion_virtual_s']} s"
              f" (bound {r['bound_s']} s, ratio {r['ratio_to_bound']}), wall {r['wall_s']} s,"
              f" sent {r['sent']}, failed {r['failed']}, pending {r['pending']}, lost {r['lost']},"
              f" twice {r['delivered_twice']}, 45009 {r['robot_rejections_45009']},"
              f" extra attempts {r['extra_attempts']}")
    print({"within_1.1x_bound_nothing_lost_or_twice": ok})


if __name__ == "__main__":
    sys.exit(main())
