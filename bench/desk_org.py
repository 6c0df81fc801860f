"""The community of bench/desk_data.py: the demo organisation grown to a district (20 grids, 400 buildings
with coordinates, 41 workers), its residents, and two years of announcements with their deliveries."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from common import REPO
from desk_texts import ANNOUNCEMENTS

COMMUNITY = "dongyang"
EXTRA_GRIDS = 18           # the demo organisation has 2: 20 in all
BUILDINGS = 400            # the demo has 5


def iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def grow_org(db: Any, rnd: random.Random) -> dict[str, Any]:
    """The demo organisation (org.example.toml, as bot/app.py loads it) plus grids g3..g20 with a head and
    a worker each and buildings up to BUILDINGS, spread over the grids, with coordinates."""
    from storage import org

    org.load_file(db, REPO / "org.example.toml")
    extra = org.Org()
    for g in range(3, 3 + EXTRA_GRIDS):
        head, worker = f"desk.h{g:02d}", f"desk.w{g:02d}"
        extra.staff += [{"userid": head, "name": f"组长{g:02d}", "role": "head", "community": COMMUNITY},
                        {"userid": worker, "name": f"网格员{g:02d}", "role": "worker", "community": COMMUNITY}]
        extra.grids.append({"id": f"g{g}", "community": COMMUNITY, "name": f"第{g}网格", "head": head,
                            "workers": [worker]})
    known = {r[0] for r in db.conn.execute("SELECT id FROM buildings")}
    n = 7
    while len(known) + len(extra.buildings) < BUILDINGS:
        grid = f"g{3 + len(extra.buildings) % EXTRA_GRIDS}" if n > 12 else rnd.choice(("g1", "g2"))
        extra.buildings.append({"id": f"dy-{n}", "community": COMMUNITY, "grid": grid, "name": f"{n}号楼",
                                "aliases": [], "group": "sim", "lat": round(34.74 + (n % 20) * 0.0008, 6),
                                "lng": round(112.40 + (n // 20) * 0.0008, 6)})
        n += 1
    org.store(db, extra)
    buildings = [(r[0], r[1]) for r in db.conn.execute("SELECT id, grid FROM buildings ORDER BY id")]
    workers: dict[str, list[str]] = {}
    for grid, userid in db.conn.execute("SELECT grid, userid FROM grid_workers ORDER BY grid, userid"):
        workers.setdefault(grid, []).append(userid)
    for grid, head in db.conn.execute("SELECT id, head FROM grids"):
        if head and head not in workers.setdefault(grid, []):
            workers[grid].append(head)
    return {"buildings": buildings, "workers": workers}


def residents(db: Any, rnd: random.Random, buildings: list[tuple[str, str]], start: datetime,
              count: int) -> list[tuple]:
    """`count` residents of the Official Account: (openid, building) of each."""
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    titles = ("阿姨", "大爷", "先生", "女士", "师傅")
    rows, out = [], []
    for n in range(count):
        openid = f"oDesk{n:07d}"
        b = buildings[rnd.randrange(len(buildings))][0]
        unit = rnd.randint(1, 4)
        room = f"{unit}单元{rnd.randint(1, 18)}0{rnd.randint(1, 4)}"
        name = rnd.choice(surnames) + rnd.choice(titles) if rnd.random() < 0.3 else None
        since = start - timedelta(days=rnd.randint(1, 300), seconds=rnd.randint(0, 86399))
        rows.append((openid, "oa", name, None, b, str(unit), room, iso(since)))
        out.append((openid, b))
    db.conn.executemany("INSERT OR IGNORE INTO residents (openid, channel, name, phone, building, unit, room,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return out


def announce(conn: Any, rnd: random.Random, org: dict[str, Any], start: datetime) -> None:
    """Two announcements a week for two years, to the community or one grid, one outbox row per building."""
    for n in range(208):
        at = start + timedelta(days=n * 3.5, hours=rnd.randint(8, 18))
        grid = rnd.choice(list(org["workers"])) if rnd.random() < 0.6 else None
        blds = [b for b, g in org["buildings"] if grid in (None, g)]
        aid = conn.execute("INSERT INTO announcements (author, scope_kind, scope_id, text, created_at, buildings,"
                           " sent_at) VALUES ('sun.hong', ?, ?, ?, ?, ?, ?)", ("grid" if grid else "community", grid,
                           rnd.choice(ANNOUNCEMENTS), iso(at), len(blds), iso(at))).lastrowid
        conn.executemany("INSERT INTO outbox (created_at, target_kind, target_id, text, ref, status, attempts, next_at,"
                         " sent_at, via, dest) VALUES (?, 'group', ?, ?, ?, 'sent', 1, ?, ?, 'sim', ?)",
                         [(iso(at), b, "公告", f"announcement:{aid}", iso(at), iso(at), b) for b in blds])
