"""The workbench's numbers (/admin/numbers) and map (/admin/map), issue 15.

The numbers are those of SPEC §10 (storage/stats.py says how each is counted) over a run of whole weeks
(Monday to Monday, local dates as written on the petitions), read from `desk_weekly` and
`desk_weekly_categories` (migration 150): sums per (week, grid, worker) and counts per (week, grid,
category) that triggers keep in the same transaction as every change to a petition. A page sums a few
thousand rollup rows in SQL; it never reads a petition row. Overdue counts are
one walk of the partial index of running petitions (storage.stats.late_groups); the map counts open
petitions per building through a partial index that covers the count (migration 150).

A scope is a set of grid ids (a worker or grid head) or None (staff: the community).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo

from sqlite_utils import Database

from storage import states, stats

SUMS = ("received", "excluded", "open", "dispatched", "signed_on_time", "sign_n", "sign_sum", "done",
        "done_on_time", "resolve_n", "resolve_sum", "rated", "satisfied", "reopened", "basic", "unrated")
TOP_CATEGORIES = 8

Scope = frozenset[str] | None


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(first: date, last: date, tz: tzinfo) -> tuple[date, date, datetime, datetime]:
    """The whole weeks that hold `first` and `last`: (first Monday, the Monday after the last week,
    and the same two as instants in `tz`)."""
    start, end = monday(min(first, last)), monday(max(first, last)) + timedelta(days=7)
    return (start, end, datetime.combine(start, time(), tz), datetime.combine(end, time(), tz))


def _grid_filter(grids: Scope, column: str) -> tuple[str, list[str]]:
    if grids is None:
        return "", []
    ids = sorted(grids)
    return f" AND {column} IN ({', '.join('?' for _ in ids)})", ids


def _weeks_where(start: date, end: date, grids: Scope) -> tuple[str, list[str]]:
    where, params = _grid_filter(grids, "g")
    return f"WHERE week >= ? AND week < ?{where}", [start.isoformat(), end.isoformat(), *params]


_SUM_LIST = ", ".join(f"sum({s})" for s in SUMS)


def group_sums(db: Database, start: date, end: date, grids: Scope) -> list[tuple]:
    """(grid, worker, *SUMS) of the petitions received in the weeks [start, end) within the scope: one
    range of the rollup's key, summed in SQL."""
    where, params = _weeks_where(start, end, grids)
    return db.conn.execute(f"SELECT g, w, {_SUM_LIST} FROM desk_weekly {where} GROUP BY g, w"
                           " HAVING sum(received) <> 0", params).fetchall()


def week_counts(db: Database, start: date, end: date, grids: Scope) -> dict[str, tuple[int, int]]:
    """(received, of them done now) per week."""
    where, params = _weeks_where(start, end, grids)
    return {week: (int(n), int(done)) for week, n, done in db.conn.execute(
        f"SELECT week, sum(received), sum(done) FROM desk_weekly {where} GROUP BY week", params)}


def category_counts(db: Database, start: date, end: date, grids: Scope) -> list[tuple[str, int]]:
    """How many were received per category, most first."""
    where, params = _weeks_where(start, end, grids)
    return [(c, int(n)) for c, n in db.conn.execute(
        f"SELECT c, sum(received) AS n FROM desk_weekly_categories {where} GROUP BY c HAVING sum(received) <> 0"
        " ORDER BY n DESC, c", params)]


def _zero() -> dict[str, float]:
    return dict.fromkeys((*SUMS, "overdue"), 0)


def _add(into: dict[str, float], values: Iterable[tuple[str, float]]) -> None:
    for key, value in values:
        into[key] += value


def _late(db: Database, grids: Scope, since: datetime, until: datetime, as_of: datetime
          ) -> tuple[int, dict[tuple[str, str], int]]:
    """Overdue at `as_of`: how many in the scope (whenever received), and per (grid, worker)
    how many of them were received in [since, until). One walk of the index when the period reaches
    `as_of` (the default), two for a period in the past."""
    now_total = 0
    in_period: dict[tuple[str, str], int] = {}
    for grid, worker, _category, n, received_in in stats.late_groups(db, since, until, as_of):
        g = grid or "-"
        if grids is None or g in grids:
            now_total += n
            if received_in:
                key = (g, worker or "")   # '' and NULL are one group, as in the rollup
                in_period[key] = in_period.get(key, 0) + received_in
    if until <= as_of:   # some overdue petitions were received after the period
        now_total = sum(n for grid, _w, _c, n, _i in stats.late_groups(db, None, None, as_of)
                        if grids is None or (grid or "-") in grids)
    return now_total, in_period


def numbers(db: Database, grids: Scope, start: date, end: date, tz: tzinfo, as_of: datetime) -> dict:
    """Every number of the statistics page for the weeks in [start, end) within the scope."""
    since, until = datetime.combine(start, time(), tz), datetime.combine(end, time(), tz)
    overdue_now, late = _late(db, grids, since, until, as_of)
    total = _zero()
    by_grid: dict[str, dict[str, float]] = {}
    by_worker: dict[str, dict[str, float]] = {}
    for g, w, *values in group_sums(db, start, end, grids):
        sums = [*zip(SUMS, values, strict=True), ("overdue", late.get((g, w), 0))]
        for bucket in (total, by_grid.setdefault(g, _zero()), by_worker.setdefault(w, _zero()) if w else None):
            if bucket is not None:
                _add(bucket, sums)
    counts = week_counts(db, start, end, grids)
    weeks = [(day.isoformat(), *counts.get(day.isoformat(), (0, 0)))
             for day in (start + timedelta(weeks=i) for i in range((end - start).days // 7))]
    return {
        "weeks": weeks,
        "community": stats.rates(total),
        "grids": {g: stats.rates(by_grid[g]) for g in sorted(by_grid, key=lambda g: (g == "-", _natural(g)))},
        "workers": {w: stats.rates(t) for w, t in sorted(by_worker.items())},
        "categories": category_counts(db, start, end, grids)[:TOP_CATEGORIES],
        "satisfaction": {"satisfied": int(total["satisfied"] - total["basic"]), "basic": int(total["basic"]),
                         "unsatisfied": int(total["rated"] - total["satisfied"]), "unrated": int(total["unrated"])},
        "overdue_now": overdue_now,
        "overdue_in_period": int(total["overdue"]),
    }


# --- the map ---------------------------------------------------------------------------------------

_OPEN = states.marks(states.OPEN_STATES)
_RUNNING = " OR ".join(f"state = '{s}'" for s in states.RUNNING)
_PER_BUILDING = (
    "SELECT building, count(*), sum(urgent), sum(CASE WHEN (state = 'assigned' AND sign_deadline_ts < :now)"
    f" OR (({_RUNNING}) AND resolve_deadline_ts < :now) THEN 1 ELSE 0 END) FROM petitions INDEXED BY petitions_open_by_building_state"
    f" WHERE state IN ({_OPEN}) GROUP BY building")


def open_by_building(db: Database, as_of: datetime) -> dict[str | None, tuple[int, int, int]]:
    """(open, urgent, overdue at `as_of`) per building of the open petitions."""
    return {b: (int(n), int(u or 0), int(late or 0))
            for b, n, u, late in db.conn.execute(_PER_BUILDING, {"now": stats.instant(as_of)})}


def _natural(text: str | None) -> tuple:
    """'g2' before 'g10', '2号楼' before '10号楼'."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.findall(r"\d+|\D+", text or ""))


def building_map(db: Database, grids: Scope, as_of: datetime) -> list[dict]:
    """The community's buildings in the scope, with their coordinates (None when unknown) and their open,
    urgent and overdue petitions, in the order of grid and name (numbers by their value)."""
    counts = open_by_building(db, as_of)
    where, params = _grid_filter(grids, "grid")
    rows = sorted(db.conn.execute(f"SELECT id, name, grid, lat, lng FROM buildings WHERE TRUE{where}", params),
                  key=lambda r: (_natural(r[2]), _natural(r[1]), r[0]))
    out = []
    for bid, name, grid, lat, lng in rows:
        n, urgent, late = counts.get(bid, (0, 0, 0))
        out.append({"id": bid, "name": name, "grid": grid, "lat": lat, "lng": lng,
                    "open": n, "urgent": urgent, "overdue": late})
    return out
