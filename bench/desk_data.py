"""A workbench-sized store: N petitions (default 1,000,000) of a district-sized community, fast.

    python bench/desk_data.py --petitions 1000000 --out /tmp/desk1m.db [--seed 2026] [--end ISO] [--residents N]

The store is opened with storage.db.open_db (every migration applied) and the demo organisation loaded
as bot/app.py `open_store` does; then the community grows to 20 grids, 400 buildings with lat/lng and 41
workers (storage.org.store), 200,000 residents, and N petitions over the two years before `--end`
(default: this hour), with their events (3-6 each, more for reopened and long-running ones), followers
of merged repeats, the chat lines of a share of them, the outbox rows of the notices (worker at dispatch,
resident at 办结; a few failed) and two announcements a week to every building of the community or a
grid (bench/desk_org.py: organisation, residents, announcements). Rows are written with executemany in one
transaction; secondary indexes are dropped for the load and rebuilt once. The triggers of the
migrations stay on, so the epoch twins and the statistics rollup are what the product maintains
(`check_rollup` recounts them). ≈ 1-3 minutes for 1M on a 2-vCPU VM. A JSON summary (`<out>.json`):
counts, `end`, the petitions with the most events. SQL here is bench code (not product code).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from common import REPO
from desk_org import announce, grow_org, residents
from desk_texts import (
    PHRASES,
    PLACES,
    PROGRESS,
    REPLY,
    RESOLUTIONS,
    SUFFIXES,
    TO_RESIDENT,
    TO_WORKER,
    category_weights,
)

GEN_VERSION = 3
RESIDENTS = 200_000
TZ = timezone(timedelta(hours=8))
OPEN = ("submitted", "assigned", "accepted", "in_progress", "returned", "escalated")
OPEN_MIX = ((("assigned", 30), ("accepted", 25), ("in_progress", 33), ("escalated", 5), ("submitted", 4),
             ("returned", 3)))
CHAT_SHARE = 0.3
LONG_EVERY = 1500          # one petition in this many has a long history (urges, notes, reopens)
PETITION_COLS = (
    "id", "resident", "building", "grid", "worker", "category", "text", "state", "urgent", "private",
    "reopen_count", "urge_count", "created_at", "updated_at", "dispatched_at", "accepted_at", "resolved_at",
    "closed_at", "resolution", "rating", "rating_note", "clock_started_at", "sign_deadline",
    "feedback_deadline", "resolve_deadline", "sign_remind_at", "feedback_remind_at", "resolve_remind_at",
    "feedback_at", "escalation_level", "escalate_at", "followup_at", "autoclose_at", "merged_into",
    "group_notice_at", "created_ts", "dispatched_ts", "accepted_ts", "resolved_ts", "closed_ts",
    "clock_started_ts", "sign_deadline_ts", "resolve_deadline_ts")
TWINS = {"created_ts": "created_at", "dispatched_ts": "dispatched_at", "accepted_ts": "accepted_at",
         "resolved_ts": "resolved_at", "closed_ts": "closed_at", "clock_started_ts": "clock_started_at",
         "sign_deadline_ts": "sign_deadline", "resolve_deadline_ts": "resolve_deadline"}


def iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def epoch(t: datetime | None) -> int | None:
    return int(t.timestamp()) if t is not None else None


# --- one petition -----------------------------------------------------------------------------------

class Maker:
    """Builds the rows of one petition: the petition, its events, chat lines and followers."""

    def __init__(self, rnd: random.Random, org: dict[str, Any], people: list[tuple], end: datetime) -> None:
        cats = tomllib.loads((REPO / "catalogue" / "categories.toml").read_text(encoding="utf-8"))["category"]
        self.rnd, self.end, self.people = rnd, end, people
        self.grid_of = dict(org["buildings"])
        self.workers = org["workers"]
        self.categories, self.cat_weights = category_weights(list(cats))
        self.last_open: dict[tuple[str, str], int] = {}
        self.events: list[tuple] = []
        self.chat: list[tuple] = []
        self.followers: list[tuple] = []
        self.outbox: list[tuple] = []

    def state(self, created: datetime) -> str:
        rnd, age = self.rnd, (self.end - created).total_seconds() / 86400
        r = rnd.random()
        if r < 0.08:
            return "merged"
        if r < 0.115:
            return "cancelled"
        if r < 0.125:
            return "rejected"
        running = 0.001 if age > 14 else 0.05 if age > 3 else 0.5
        fixed = 0.0 if age > 14 else 0.1 if age > 3 else 0.2
        r = rnd.random()
        if r < running:
            return rnd.choices([s for s, _ in OPEN_MIX], [w for _, w in OPEN_MIX])[0]
        return "resolved" if r < running + fixed else "closed"

    def make(self, pid: int, created: datetime) -> tuple:
        rnd = self.rnd
        resident, home = self.people[int(len(self.people) * rnd.random() ** 1.6)]
        building = home if rnd.random() < 0.85 else rnd.choice(list(self.grid_of))
        grid = self.grid_of[building]
        category = rnd.choices(self.categories, self.cat_weights)[0]
        text = f"{rnd.choice(PLACES).format(b=building.split('-')[1])}{rnd.choice(PHRASES[category])}" \
               f"{rnd.choice(SUFFIXES)}"
        p: dict[str, Any] = {"id": pid, "resident": resident, "building": building, "grid": grid,
                             "category": category, "text": text, "urgent": int(rnd.random() < 0.02),
                             "private": int(rnd.random() < 0.03), "reopen_count": 0, "urge_count": 0,
                             "created_at": created, "escalation_level": 0}
        state = self.state(created)
        self.event(pid, created, resident, None, "submitted", text)
        key = (building, category)
        if state == "merged" and key in self.last_open:
            self.merge(p, self.last_open[key])
        elif state in ("cancelled", "rejected", "merged"):
            self.stop(p, "cancelled" if state == "merged" else state)
        else:
            self.last_open[key] = pid
            self.run(p, state)
        if rnd.random() < CHAT_SHARE:
            self.chat += [("resident", resident, "in", text, iso(created)),
                          ("resident", resident, "out", REPLY.format(id=pid), iso(created))]
        self.notify(p)
        return self.row(p)

    def notify(self, p: dict[str, Any]) -> None:
        """The outbox rows the handlers write: the worker's notice at dispatch, the resident's at 办结
        (0.2% of those failed after every attempt)."""
        for kind, who, at, text in (("staff", p.get("worker"), p.get("dispatched_at"), TO_WORKER),
                                    ("resident", p["resident"], p.get("resolved_at"), TO_RESIDENT)):
            if who and at:
                failed = kind == "resident" and self.rnd.random() < 0.002
                self.outbox.append((iso(at), kind, who, text.format(id=p["id"], text=p["text"]), f"petition:{p['id']}",
                                    "failed" if failed else "sent", 8 if failed else 1, iso(at),
                                    "45015 out of time limit" if failed else None, None if failed else iso(at),
                                    "wecom" if kind == "staff" else "oa", None if failed else who))

    def event(self, pid: int, at: datetime, actor: str, before: str | None, after: str, note: str | None) -> None:
        self.events.append((pid, iso(at), actor, before, after, note))

    def merge(self, p: dict[str, Any], into: int) -> None:
        p.update(state="merged", merged_into=into, updated_at=p["created_at"])
        self.event(p["id"], p["created_at"], "system", "submitted", "merged", str(into))
        self.followers.append((into, p["resident"], p["id"], iso(p["created_at"]), f"resident:{p['resident']}"))

    def stop(self, p: dict[str, Any], state: str) -> None:
        at = p["created_at"] + timedelta(minutes=self.rnd.randint(5, 600))
        actor = p["resident"] if state == "cancelled" else "sun.hong"
        p.update(state=state, updated_at=at)
        self.event(p["id"], at, actor, "submitted", state, None)

    def clock(self, p: dict[str, Any], start: datetime) -> None:
        urgent = p["urgent"]
        sign = start + (timedelta(minutes=15) if urgent else timedelta(hours=2))
        resolve = start + (timedelta(hours=2) if urgent else timedelta(hours=24) if p["category"] == "utilities"
                           else timedelta(days=3))
        p.update(clock_started_at=start, sign_deadline=sign, feedback_deadline=start + timedelta(hours=24),
                 resolve_deadline=resolve)

    def run(self, p: dict[str, Any], state: str) -> None:
        """The life of a dispatched petition up to `state` (submitted and returned stop before it)."""
        rnd, pid, at = self.rnd, p["id"], p["created_at"]
        if state == "submitted":
            p.update(state=state, updated_at=at)
            return
        if state == "returned":
            at += timedelta(minutes=rnd.randint(10, 300))
            p.update(state=state, updated_at=at, grid=None if rnd.random() < 0.5 else p["grid"])
            self.event(pid, at, "desk.w03", "submitted", "returned", None)
            return
        worker = rnd.choice(self.workers.get(p["grid"]) or ["li.na"])
        at = min(at + timedelta(seconds=rnd.randint(0, 900)), self.end - timedelta(minutes=1))
        p.update(worker=worker, dispatched_at=at)
        self.clock(p, at)
        self.event(pid, at, "system", "submitted", "assigned", worker)
        cycles = 1 + (rnd.random() < 0.04) + (pid % LONG_EVERY == 0) * 2
        for cycle in range(cycles):
            at = self.work(p, state if cycle == cycles - 1 else "reopen", at)
        if pid % LONG_EVERY == 0:
            self.long_tail(p, at)

    def work(self, p: dict[str, Any], state: str, at: datetime) -> datetime:
        """From assigned to `state` ("reopen": resolved, then 不满意 back to assigned)."""
        rnd, pid, worker = self.rnd, p["id"], p["worker"]
        limit = self.end - timedelta(minutes=1)
        step = (lambda lo, hi: min(at + timedelta(seconds=rnd.randint(lo, hi)), limit))
        p["state"], p["updated_at"] = "assigned", at
        if state == "assigned":
            p.update(sign_remind_at=p["sign_deadline"], escalate_at=p["sign_deadline"])
            return at
        if state == "escalated":
            at = step(7200, 20000)
            p.update(state=state, escalation_level=1, updated_at=at, escalate_at=p["resolve_deadline"])
            self.event(pid, at, worker, "assigned", "escalated", rnd.choice(PROGRESS))
            return at
        at = step(120, 7500 if rnd.random() < 0.9 else 30000)
        p.update(accepted_at=at, state="accepted", updated_at=at, escalate_at=p["resolve_deadline"])
        self.event(pid, at, worker, "assigned", "accepted", None)
        if state in ("in_progress", "resolved", "closed", "reopen") and (state == "in_progress" or rnd.random() < 0.4):
            at = step(1800, 86400)
            p.update(state="in_progress", updated_at=at, feedback_at=at)
            self.event(pid, at, worker, "accepted", "in_progress", rnd.choice(PROGRESS))
        if state in ("accepted", "in_progress"):
            return at
        before = p["state"]
        at = step(3600, 200000 if rnd.random() < 0.85 else 600000)
        note = rnd.choice(RESOLUTIONS)
        p.update(state="resolved", resolved_at=at, resolution=note, updated_at=at, feedback_at=p.get("feedback_at") or at,
                 escalate_at=None, group_notice_at=at if not p["private"] else None)
        self.event(pid, at, worker, before, "resolved", note)
        if state == "resolved":
            p.update(followup_at=at + timedelta(hours=24), autoclose_at=at + timedelta(days=7))
            return at
        return self.close(p, state, at, step)

    def close(self, p: dict[str, Any], state: str, at: datetime, step: Any) -> datetime:
        rnd, pid = self.rnd, p["id"]
        if state == "reopen":
            at = step(3600, 100000)
            p.update(state="assigned", rating="unsatisfied", rating_note="还是老样子", updated_at=at,
                     reopen_count=p["reopen_count"] + 1, accepted_at=None, resolved_at=None, resolution=None)
            self.event(pid, at, p["resident"], "resolved", "assigned", "还是老样子")
            self.clock(p, at)
            return at
        if rnd.random() < 0.1:   # not rated within the week: closed by the clock, keeping an earlier 不满意
            at = min(at + timedelta(days=7), self.end - timedelta(minutes=1))
            p.update(state="closed", closed_at=at, updated_at=at)
            self.event(pid, at, "system", "resolved", "closed", None)
            return at
        at = step(1800, 200000)
        rating = "satisfied" if rnd.random() < 0.78 else "basic"
        p.update(state="closed", closed_at=at, updated_at=at, rating=rating, rating_note=None)
        self.event(pid, at, p["resident"], "resolved", "closed", rating)
        return at

    def long_tail(self, p: dict[str, Any], at: datetime) -> None:
        """Urges and progress notes of a long-running petition (notes keep the state)."""
        rnd = self.rnd
        for _ in range(rnd.randint(20, 40)):
            at = min(at + timedelta(minutes=rnd.randint(5, 600)), self.end - timedelta(seconds=30))
            urge = rnd.random() < 0.4
            who = p["resident"] if urge else p["worker"]
            p["urge_count"] += urge
            self.event(p["id"], at, who, p["state"], p["state"], "催办" if urge else rnd.choice(PROGRESS))
        p["updated_at"] = max(p["updated_at"], at)

    def row(self, p: dict[str, Any]) -> tuple:
        for twin, column in TWINS.items():
            p[twin] = epoch(p.get(column))
        return tuple(iso(v) if isinstance(v, datetime) else v for v in (p.get(c) for c in PETITION_COLS))


# --- the load ---------------------------------------------------------------------------------------

LOADED = ("petitions", "events", "chat_log", "followers", "outbox")


def generate(out: Path, petitions: int, seed: int = 2026, end: datetime | None = None,
             people: int = RESIDENTS) -> dict[str, Any]:
    """Write the store at `out` (replaced); returns the summary also written to `<out>.json`."""
    from storage.db import open_db

    t0 = time.perf_counter()
    for p in (out, Path(f"{out}-wal"), Path(f"{out}-shm"), Path(f"{out}.json")):
        p.unlink(missing_ok=True)
    end = end or datetime.now(TZ).replace(minute=0, second=0, microsecond=0)
    start, rnd = end - timedelta(days=730), random.Random(seed)
    db = open_db(out)
    org = grow_org(db, rnd)
    conn = db.conn
    for pragma in ("journal_mode=DELETE", "journal_mode=OFF", "synchronous=OFF", "cache_size=-400000"):
        conn.execute(f"PRAGMA {pragma}")
    marks = ",".join("?" * len(LOADED))
    indexes = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                           f" AND tbl_name IN ({marks})", LOADED).fetchall()
    for name, _ in indexes:   # rebuilt once at the end: much faster than kept up row by row
        conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    maker = Maker(rnd, org, residents(db, rnd, org["buildings"], start, people), end)
    span = (end - start - timedelta(minutes=10)).total_seconds() / petitions
    for first in range(0, petitions, 20_000):
        rows = [maker.make(i + 1, start + timedelta(seconds=int((i + 0.9 * rnd.random()) * span)))
                for i in range(first, min(petitions, first + 20_000))]
        flush(conn, maker, rows)
    announce(conn, rnd, org, start)
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    summary = describe(conn, org, petitions, end)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    conn.close()
    Path(f"{out}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary


def flush(conn: Any, maker: Maker, rows: list[tuple]) -> None:
    conn.executemany(f"INSERT INTO petitions ({', '.join(PETITION_COLS)}) VALUES"
                     f" ({', '.join('?' * len(PETITION_COLS))})", rows)
    conn.executemany("INSERT INTO events (petition, at, actor, from_state, to_state, note) VALUES (?,?,?,?,?,?)",
                     maker.events)
    conn.executemany("INSERT INTO chat_log (kind, person, direction, text, at) VALUES (?,?,?,?,?)", maker.chat)
    conn.executemany("INSERT OR IGNORE INTO followers (petition, resident, source, at, household)"
                     " VALUES (?,?,?,?,?)", maker.followers)
    conn.executemany("INSERT INTO outbox (created_at, target_kind, target_id, text, ref, status, attempts, next_at,"
                     " last_error, sent_at, via, dest) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", maker.outbox)
    maker.events, maker.chat, maker.followers, maker.outbox = [], [], [], []


def check_rollup(conn: Any) -> dict[str, Any]:
    """The rollup the triggers kept, against a recount of the petitions (received, open, done, rated)."""
    rollup = list(conn.execute("SELECT sum(received), sum(open), sum(done), sum(rated) FROM petition_rollup")
                  .fetchone())
    recount = list(conn.execute(
        f"SELECT count(*), sum(state IN ({', '.join(repr(s) for s in OPEN)})), sum(state IN ('resolved', 'closed')),"
        " sum(coalesce(rating IN ('satisfied', 'basic', 'unsatisfied'), 0)) FROM petitions").fetchone())
    return {"rollup": rollup, "recount": recount, "consistent": rollup == recount}


def describe(conn: Any, org: dict[str, Any], petitions: int, end: datetime) -> dict[str, Any]:
    count = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("residents", "petitions", "events", "chat_log", "followers", "buildings", "outbox",
                       "announcements")}
    states = dict(conn.execute("SELECT state, count(*) FROM petitions GROUP BY state").fetchall())
    now = int(end.timestamp())
    overdue = conn.execute(
        "SELECT count(*) FROM petitions WHERE state IN ('assigned', 'accepted', 'in_progress', 'escalated')"
        " AND (resolve_deadline_ts < ? OR (state = 'assigned' AND sign_deadline_ts < ?))", (now, now)).fetchone()[0]
    busiest = conn.execute("SELECT petition, count(*) AS n FROM events GROUP BY petition ORDER BY n DESC, petition"
                           " LIMIT 5").fetchall()
    return {"version": GEN_VERSION, "petitions": petitions, "end": iso(end), "counts": count, "states": states,
            "overdue_at_end": overdue, "grids": len(org["workers"]), "busiest": [list(b) for b in busiest],
            "rollup_check": check_rollup(conn)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--end", type=datetime.fromisoformat, default=None,
                        help="the last moment of the two years (default: this hour, +08:00)")
    args = parser.parse_args()
    summary = generate(args.out, args.petitions, args.seed, args.end, args.residents)
    print(json.dumps(summary, ensure_ascii=False))
    print(f"{args.petitions} petitions in {summary['seconds']} s -> {args.out}", file=sys.stderr)
    if not summary["rollup_check"]["consistent"]:
        sys.exit("rollup differs from a recount")


if __name__ == "__main__":
    main()
