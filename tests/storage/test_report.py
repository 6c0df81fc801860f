"""定期通报: the weekly report's numbers against values computed by hand on a fixture of 32 petitions.

Period: Monday 2026-06-01 to Sunday 2026-06-07; the report goes out Monday 2026-06-08 09:00. Every
petition i of the period is created and dispatched at 2026-06-01 08:00 + i hours, its sign-for deadline
2 h and its resolution deadline 72 h later (or 2026-06-20 when marked `future`). Two more petitions from
the week before must not count, except that the overdue one is on the overdue list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import create_app
from bot.clock import TZ, FakeClock
from bot.config import REPO_ROOT
from bot.keys import DELIVERER, INTAKE
from bot.scheduler import SCHEDULER
from handlers import bulletin
from storage import stats
from storage.db import open_db

REPO = REPO_ROOT
START = datetime(2026, 6, 1, 8, 0, tzinfo=TZ)
FUTURE = datetime(2026, 6, 20, 9, 0, tzinfo=TZ)
REPORT_AT = datetime(2026, 6, 8, 9, 0, tzinfo=TZ)

# (grid, worker, state, hours to sign, hours to resolve, rating, reopens, resolution deadline in future)
P = tuple[str, str | None, str, float | None, float | None, str | None, int, bool]
LI_NA: list[P] = (
    [("g1", "li.na", "closed", 1, 24, "satisfied", 0, False)] * 4        # A: on time, satisfied
    + [("g1", "li.na", "closed", 1, 24, "basic", 0, False)] * 2          # A: on time, 基本满意
    + [("g1", "li.na", "closed", 1, 80, "unrated", 0, False)] * 2        # B: resolved late, 未评价
    + [("g1", "li.na", "resolved", 3, 48, None, 0, False)] * 2           # C: signed late, awaiting rating
    + [("g1", "li.na", "in_progress", 1, None, None, 0, False)] * 2      # D: resolution overdue
    + [("g1", "li.na", "assigned", None, None, None, 0, False)]          # E: sign-for overdue
    + [("g1", "li.na", "cancelled", None, None, None, 0, False)]         # F: withdrawn
    + [("g1", "li.na", "in_progress", 1, None, "unsatisfied", 1, True)]  # G: reopened after 不满意
)
G1_OTHER: list[P] = [("g1", None, "rejected", None, None, None, 0, False)]   # H: 不予受理, never dispatched
CHEN_JIE: list[P] = (
    [("g2", "chen.jie", "closed", 0.5, 10, "satisfied", 0, False)] * 4
    + [("g2", "chen.jie", "closed", 1.4, 30, "basic", 0, False)]
    + [("g2", "chen.jie", "accepted", 1, None, None, 0, True)] * 2
)
LIU_FANG: list[P] = [
    ("g2", "liu.fang", "resolved", 1, 100, "unsatisfied", 1, False),   # reopened once, resolved late again
    ("g2", "liu.fang", "resolved", 1, 100, None, 0, False),
    ("g2", "liu.fang", "closed", 2.4, 20, "satisfied", 0, False),        # signed late
    ("g2", "liu.fang", "assigned", None, None, None, 0, False),          # sign-for overdue
    ("g2", "liu.fang", "escalated", 1, None, None, 0, False),            # resolution overdue
]
G2_OTHER: list[P] = [("g2", None, "merged", None, None, None, 0, False),
                     ("g2", None, "submitted", None, None, None, 0, False)]
PERIOD = LI_NA + G1_OTHER + CHEN_JIE + LIU_FANG + G2_OTHER

# by hand (see the comments above; rates are rounded to 4 places, hours to 2)
EXPECTED = {
    "community": {"received": 30, "open": 9, "response_rate": 0.7778,     # 21 signed in time / 27 dispatched
                  "completion_rate": 0.6667,                               # 18 / (30 - 3)
                  "on_time_rate": 0.7778,                                  # 14 / 18
                  "satisfaction_rate": 0.8571,                             # 12 / 14 rated
                  "avg_sign_for_hours": 1.16,                              # 27.8 h / 24
                  "avg_resolution_hours": 38.33,                           # 690 h / 18
                  "reopened": 2, "overdue": 5},
    "g1": {"received": 16, "open": 4, "response_rate": 0.7333, "completion_rate": 0.7143, "on_time_rate": 0.8,
           "satisfaction_rate": 0.8571, "avg_sign_for_hours": 1.31, "avg_resolution_hours": 40.0,
           "reopened": 1, "overdue": 3},
    "g2": {"received": 14, "open": 5, "response_rate": 0.8333, "completion_rate": 0.6154, "on_time_rate": 0.75,
           "satisfaction_rate": 0.8571, "avg_sign_for_hours": 0.98, "avg_resolution_hours": 36.25,
           "reopened": 1, "overdue": 2},
    "li.na": {"received": 15, "open": 4, "response_rate": 0.7333, "completion_rate": 0.7143,
              "on_time_rate": 0.8, "satisfaction_rate": 0.8571, "avg_sign_for_hours": 1.31,
              "avg_resolution_hours": 40.0, "reopened": 1, "overdue": 3},
    "chen.jie": {"received": 7, "open": 2, "response_rate": 1.0, "completion_rate": 0.7143, "on_time_rate": 1.0,
                 "satisfaction_rate": 1.0, "avg_sign_for_hours": 0.77, "avg_resolution_hours": 14.0,
                 "reopened": 0, "overdue": 0},
    "liu.fang": {"received": 5, "open": 2, "response_rate": 0.6, "completion_rate": 0.6, "on_time_rate": 0.3333,
                 "satisfaction_rate": 0.5, "avg_sign_for_hours": 1.35, "avg_resolution_hours": 73.33,
                 "reopened": 1, "overdue": 2},
}
WORKER_RANKING = [("chen.jie", 92.9), ("li.na", 77.6), ("liu.fang", 50.8)]   # 100 × mean of the 4 rates
GRID_RANKING = [("g1", 77.6), ("g2", 76.4)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _insert(db, p: P, created: datetime) -> None:
    grid, worker, state, sign_h, res_h, rating, reopens, future = p
    dispatched = created if worker else None
    at = (lambda h: created + timedelta(hours=h) if h is not None and dispatched else None)
    db.conn.execute(
        "INSERT INTO petitions (resident, building, grid, worker, category, text, state, reopen_count,"
        " created_at, updated_at, dispatched_at, clock_started_at, accepted_at, resolved_at, rating,"
        " sign_deadline, resolve_deadline) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("fx", "dy-1" if grid == "g1" else "dy-5", grid, worker, "lighting", "灯不亮", state, reopens,
         _iso(created), _iso(created), _iso(dispatched), _iso(dispatched), _iso(at(sign_h)), _iso(at(res_h)),
         rating, _iso(at(2)), _iso(FUTURE if future and dispatched else at(72))))


def seed(db) -> None:
    db.conn.execute("BEGIN")
    before = START - timedelta(days=7)
    _insert(db, ("g1", "li.na", "in_progress", 1, None, None, 0, False), before)      # overdue, last week
    _insert(db, ("g2", "chen.jie", "closed", 1, 5, "satisfied", 0, False), before)
    for i, p in enumerate(PERIOD):
        _insert(db, p, START + timedelta(hours=i))
    db.conn.execute("COMMIT")


def _check(numbers: dict) -> None:
    assert numbers["community"] == EXPECTED["community"]
    for key in ("g1", "g2"):
        assert numbers["grids"][key] == EXPECTED[key], key
    for key in ("li.na", "chen.jie", "liu.fang"):
        assert numbers["workers"][key] == EXPECTED[key], key
    assert [(r["id"], r["score"]) for r in numbers["ranking"]["workers"]] == WORKER_RANKING
    assert [(r["id"], r["score"]) for r in numbers["ranking"]["grids"]] == GRID_RANKING
    overdue = numbers["overdue"]
    assert numbers["overdue_count"] == len(overdue) == 6
    assert overdue[0]["id"] == 1 and overdue[0]["kind"] == "resolve"            # from the week before
    assert sorted((o["worker"], o["kind"]) for o in overdue) == sorted(
        [("li.na", "resolve")] * 3 + [("li.na", "sign"), ("liu.fang", "sign"), ("liu.fang", "resolve")])


def test_fixture_has_at_least_30_petitions_in_mixed_states() -> None:
    assert len(PERIOD) == 30 and len({p[2] for p in PERIOD}) >= 8


@pytest.fixture
async def report_app(aiohttp_client, settings):
    clock = FakeClock(REPORT_AT - timedelta(minutes=1))
    app = create_app(settings, clock=clock, deliver=False)
    await aiohttp_client(app)
    seed(app[INTAKE].db)
    return app, clock


async def test_numbers_equal_the_hand_computed_values(report_app) -> None:
    app, _clock = report_app
    numbers = stats.summary(app[INTAKE].db, datetime(2026, 6, 1, tzinfo=TZ), datetime(2026, 6, 8, tzinfo=TZ),
                            now=REPORT_AT)
    _check(numbers)


async def test_weekly_report_carries_the_same_numbers(report_app) -> None:
    app, clock = report_app
    assert (await app[SCHEDULER].tick())["weekly_report"] == 0
    clock.current = REPORT_AT
    assert (await app[SCHEDULER].tick())["weekly_report"] == 1
    await app[DELIVERER].drain()
    text = next(r["text"] for r in app[INTAKE].db.query(
        "SELECT text FROM chat_log WHERE kind = 'staff' AND person = 'sun.hong' AND text LIKE '【定期通报】%'"))
    assert "2026年06月01日 至 2026年06月07日" in text
    assert ("全社区：受理 30 件｜响应率 77.8%｜办结率 66.7%｜按时办结率 77.8%｜满意率 85.7%｜"
            "平均签收 1.16 小时｜平均办结 38.33 小时｜超时在办 5 件") in text
    assert "· 第一网格：受理 16 件｜响应率 73.3%｜办结率 71.4%｜按时办结率 80.0%" in text
    assert "· 刘芳：受理 5 件｜响应率 60.0%｜办结率 60.0%｜按时办结率 33.3%｜满意率 50.0%" in text
    assert "1. 陈杰 92.9 分\n2. 李娜 77.6 分\n3. 刘芳 50.8 分" in text
    assert "超时在办（6 件）" in text and "签收超时" in text and "未列出" not in text   # all 6 listed


async def test_more_overdue_than_listed_are_counted_all_and_the_oldest_listed(report_app) -> None:
    """OVERDUE_SHOWN − 3 more overdue petitions from two weeks before: the period's numbers do not
    change, 3 more overdue petitions exist than a summary lists, and it lists the oldest deadlines
    (the extra ones, the one from the week before, then the two sign-for ones: E at 14:00 and Liu
    Fang's at 08:00 + 28 h)."""
    app, clock = report_app
    db = app[INTAKE].db
    extra = stats.OVERDUE_SHOWN - 3
    db.conn.execute("BEGIN")
    for i in range(extra):
        _insert(db, ("g2", "chen.jie", "in_progress", 1, None, None, 0, False), START - timedelta(days=14, hours=-i))
    db.conn.execute("COMMIT")
    numbers = stats.summary(db, datetime(2026, 6, 1, tzinfo=TZ), datetime(2026, 6, 8, tzinfo=TZ), now=REPORT_AT)
    assert numbers["community"] == EXPECTED["community"]          # overdue 5: received in the period
    assert numbers["workers"]["chen.jie"] == EXPECTED["chen.jie"]
    assert numbers["overdue_count"] == 6 + extra
    listed = numbers["overdue"]
    assert len(listed) == stats.OVERDUE_SHOWN
    assert [o["id"] for o in listed] == [*range(33, 33 + extra), 1, 15, 29]
    assert [o["kind"] for o in listed[-3:]] == ["resolve", "sign", "sign"]
    assert listed == stats.overdue_list(db, datetime(2026, 6, 8, tzinfo=TZ), REPORT_AT)[:stats.OVERDUE_SHOWN]
    words = bulletin.render(db, numbers, "2026-06-01", "2026-06-08")   # minsheng stats prints these
    assert "第二网格" in words and "g2" not in words and f"超时在办（{6 + extra} 件）" in words

    clock.current = REPORT_AT
    assert (await app[SCHEDULER].tick())["weekly_report"] == 1
    await app[DELIVERER].drain()
    text = next(r["text"] for r in db.query(
        "SELECT text FROM chat_log WHERE kind = 'staff' AND person = 'sun.hong' AND text LIKE '【定期通报】%'"))
    assert "全社区：受理 30 件" in text and "超时在办 5 件" in text
    assert f"超时在办（{6 + extra} 件）：" in text
    lines = text.split(f"超时在办（{6 + extra} 件）：")[1].strip().splitlines()
    assert len(lines) == stats.OVERDUE_SHOWN + 1
    assert all(line.startswith("· ") for line in lines[:-1])
    assert lines[0].startswith("· 33号 ") and lines[-2].startswith("· 29号 ") and "签收超时" in lines[-2]
    assert lines[-1] == f"（以上为时限最早的 {stats.OVERDUE_SHOWN} 件，另有 3 件超时在办未列出）"


def test_cli_stats_json_gives_the_same_numbers_for_the_period(settings) -> None:
    db = open_db(settings.storage.target)
    seed(db)
    db.conn.close()
    cfg = Path(settings.storage.path).with_suffix(".toml")
    cfg.write_text(f'[storage]\npath = "{settings.storage.path}"\nurl = "{settings.storage.url}"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "stats", "--json", "--since", "2026-06-01",
                          "--until", "2026-06-08", "--config", str(cfg)],
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    numbers = json.loads(out.stdout)
    _check(numbers)
    assert numbers["period"]["since"] == "2026-06-01T00:00:00+08:00"
    assert numbers["period"]["until"] == "2026-06-08T00:00:00+08:00"
    everything = json.loads(subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--json", "--config", str(cfg)],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True).stdout)
    assert everything["community"]["received"] == 32
