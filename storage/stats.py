"""The numbers of SPEC §10 (定期通报), read from the petitions table and the deadlines stored on it.

Over the petitions received (created) in [since, until):
- received 受理量: all of them (times compare as instants, whatever their zone);
- response_rate 响应率: signed for by the sign-for deadline / dispatched;
- completion_rate 办结率: resolved or closed / (received − cancelled − rejected − merged);
- on_time_rate 按时办结率: resolved by the resolution deadline / resolved or closed;
- satisfaction_rate 满意率: (满意 + 基本满意) / rated; 未评价 is not a rating and not satisfied;
- avg_sign_for_hours: wall-clock hours from the latest dispatch that preceded the sign-for to the
  sign-for; a petition dispatched again after its sign-for (reopened, re-dispatched, transferred) is
  dispatched and not signed for until it is signed for again (migration 150: never negative);
- avg_resolution_hours: wall-clock hours from the start of the clock (dispatch) to the resolution;
- reopened: sum of reopen counts; overdue: how many of them are open and past a deadline.
The overdue petitions are every open petition received before `until` that is past its deadline at
`now` (the caller's as-of time), whenever it was received: a summary counts them (`overdue_count`)
and lists the OVERDUE_SHOWN with the oldest deadlines (`overdue`, oldest first), since people read it
and it goes into the weekly message; `overdue_list` gives them all. The ranking scores each worker
and grid with ticket data only: 100 × the mean of its available rates (response, completion, on time,
satisfaction); ties go to more received, then the id. Petitions dispatched before deadlines were stored
are measured against the default wall-clock limits (2 h sign-for, 72 h resolution).
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo

from sqlite_utils import Database

from storage import states


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(n: dict) -> float | None:
    """The ranking score: 100 × the mean of the rates that exist."""
    rates = [n[k] for k in ("response_rate", "completion_rate", "on_time_rate", "satisfaction_rate")
             if n[k] is not None]
    return round(100 * sum(rates) / len(rates), 1) if rates else None


def ranking(groups: dict[str, dict]) -> list[dict]:
    scored = [(key, n, score(n)) for key, n in groups.items()]
    scored.sort(key=lambda x: (x[2] is None, -(x[2] or 0), -x[1]["received"], x[0]))
    return [{"rank": i, "id": key, "score": s, "received": n["received"]}
            for i, (key, n, s) in enumerate(scored, start=1)]


def parse_bound(text: str, tz: tzinfo) -> datetime:
    """'2026-11-30' (midnight) or '2026-11-30T09:00' in `tz` unless the text carries its own offset."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


_OPEN = tuple(code for code in states.STATES if states.is_open(code))


def instant(moment: datetime) -> int:
    """`moment` as whole seconds for comparing with the integer *_ts columns and rollup bounds: rounded
    up, so `x >= instant(m)` and `x < instant(m)` hold for an integer x exactly when `x >= m` and `x < m`
    do. An integer, not a float: PostgreSQL compares a bigint column with a float8 parameter by casting
    the column, and then no longer uses its index."""
    return math.ceil(moment.timestamp())


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _period(since: datetime | None, until: datetime | None) -> tuple[str, list[int]]:
    """A WHERE clause for [since, until): times compare as instants, whatever zone they carry."""
    where, params = [], []
    if since is not None:
        where.append("unixepoch(created_at) >= ?")
        params.append(instant(since))
    if until is not None:
        where.append("unixepoch(created_at) < ?")
        params.append(instant(until))
    return ("WHERE " + " AND ".join(where) if where else ""), params


# The per-row predicates (the row-by-row original is bench/reference_stats.py) live in SQL, in the view `petition_stat_rows` (migration 060):
# every number of SPEC §10 is a count or a sum, so the store keeps them summed per (month of creation,
# grid, worker, category) in `petition_rollup`, updated by triggers in the same transaction as every
# change to a petition. A summary adds the rollup rows of the months wholly inside the period, reads
# only the rows of the months it cuts (through the index on created_ts), and counts overdue petitions
# per group in SQL over the running ones (a partial index in group order, migration 090), fetching only
# the few it lists. 1,000,000 petitions took 10-14 s as one pass over every row.
_FIELDS = ("received", "excluded", "open", "dispatched", "signed_on_time", "sign_n", "sign_sum", "done",
           "done_on_time", "resolve_n", "resolve_sum", "rated", "satisfied", "reopened", "overdue")
_SUMMED = _FIELDS[:-1]  # overdue depends on the as-of time: counted apart
_SUM_LIST = ", ".join(f"sum({f})" for f in _SUMMED)
_FROM_ROLLUP = f"SELECT g, w, c, {_SUM_LIST} FROM petition_rollup {{where}} GROUP BY g, w, c"
_FROM_ROWS = (f"SELECT g, w, c, {_SUM_LIST} FROM petition_stat_rows WHERE bucket = :bucket AND id IN"
              " (SELECT id FROM petitions WHERE created_ts >= :lo AND created_ts < :hi) GROUP BY g, w, c")


def rates(t: dict[str, float]) -> dict:
    """The numbers of SPEC §10 from the sums of a group (the columns of the rollups, and `overdue`)."""
    return _from_sums(t)


def _from_sums(t: dict[str, float]) -> dict:
    return {
        "received": int(t["received"]),
        "open": int(t["open"]),
        "response_rate": _rate(int(t["signed_on_time"]), int(t["dispatched"])),
        "completion_rate": _rate(int(t["done"]), int(t["received"] - t["excluded"])),
        "on_time_rate": _rate(int(t["done_on_time"]), int(t["done"])),
        "satisfaction_rate": _rate(int(t["satisfied"]), int(t["rated"])),
        "avg_sign_for_hours": round(t["sign_sum"] / t["sign_n"] / 3600, 2) if t["sign_n"] else None,
        "avg_resolution_hours": round(t["resolve_sum"] / t["resolve_n"] / 3600, 2) if t["resolve_n"] else None,
        "reopened": int(t["reopened"]),
        "overdue": int(t["overdue"]),
    }


def _buckets(db: Database, lo: int | None, hi: int | None
             ) -> tuple[list[str], list[tuple[str, int, int]], bool]:
    """The months wholly inside [lo, hi), the ones it cuts (with the bounds of their rows to read),
    and whether every month is wholly inside."""
    whole: list[str] = []
    cut: list[tuple[str, int, int]] = []
    count = 0
    for bucket, first, last in db.conn.execute(
            "SELECT bucket, min(min_at), max(max_at) FROM petition_rollup GROUP BY bucket"):
        count += 1
        if lo is None and hi is None:
            whole.append(bucket)
        elif bucket == "" or first is None or last is None:
            continue  # no instant: outside every period (as unixepoch(created_at) compared before)
        elif (lo is None or first >= lo) and (hi is None or last < hi):
            whole.append(bucket)
        elif (lo is None or last >= lo) and (hi is None or first < hi):
            cut.append((bucket, first if lo is None else max(lo, first), last + 1 if hi is None else min(hi, last + 1)))
    return whole, cut, len(whole) == count


def _group_sums(db: Database, since: datetime | None, until: datetime | None) -> dict[tuple, list[int]]:
    """SPEC §10 sums (all but overdue) per (grid, worker, category) of the petitions received in
    [since, until)."""
    lo = instant(since) if since is not None else None
    hi = instant(until) if until is not None else None
    # no period: every month is whole, so the rollup is read without listing its months
    whole, cut, everything = ([], [], True) if lo is None and hi is None else _buckets(db, lo, hi)
    groups: dict[tuple, list[int]] = {}

    def add(rows: object) -> None:
        for g, w, c, *values in rows:  # type: ignore[attr-defined]
            key = (g, w or None, c)
            sums = groups.get(key)
            if sums is None:
                groups[key] = [v or 0 for v in values]
            else:
                for i, v in enumerate(values):
                    sums[i] += v or 0

    if everything:  # in the order of the groups (migration 090), not sorted
        add(db.conn.execute(_FROM_ROLLUP.format(where="INDEXED BY petition_rollup_by_group")))
    elif whole:
        marks = ", ".join("?" for _ in whole)
        add(db.conn.execute(_FROM_ROLLUP.format(where=f"WHERE bucket IN ({marks})"), whole))
    for bucket, first, last in cut:
        add(db.conn.execute(_FROM_ROWS, {"bucket": bucket, "lo": first, "hi": last}))
    return {k: v for k, v in groups.items() if v[0]}  # a group every petition has left is no group


OVERDUE_SHOWN = 20
"""How many overdue petitions a summary lists (the oldest deadlines); `overdue_count` counts them all."""

# Running petitions past a deadline, through the partial indexes of migration 090 (their WHERE terms
# are repeated literally: built from states.RUNNING, in the same order). Counted per group in the order
# of one index; listed as the merge of the sign-for overdue (assigned, by sign-for deadline) and the
# resolution overdue (every other running one past its resolution deadline), each in its index order.
_RUNNING = "state IN " + _in(states.RUNNING)
_LATE_GROUPS = ("SELECT grid, worker, category, count(*), {in_period} FROM petitions INDEXED BY"
                " petitions_running_by_group WHERE " + _RUNNING + "{until} AND ((state = 'assigned' AND"
                " sign_deadline_ts < :as_of) OR resolve_deadline_ts < :as_of) GROUP BY grid, worker, category")
_LATE_SIGN = ("SELECT sign_deadline_ts, id, grid, worker, category, state, sign_deadline, 'sign' FROM petitions"
              " INDEXED BY petitions_assigned_by_sign_deadline WHERE state = 'assigned'"
              " AND sign_deadline_ts < :as_of{until} ORDER BY sign_deadline_ts, id{limit}")
_LATE_RESOLVE = ("SELECT resolve_deadline_ts, id, grid, worker, category, state, resolve_deadline, 'resolve'"
                 " FROM petitions"
                 " INDEXED BY petitions_running_by_resolve_deadline WHERE " + _RUNNING + " AND resolve_deadline_ts"
                 " < :as_of AND (state <> 'assigned' OR sign_deadline_ts IS NULL OR sign_deadline_ts >= :as_of)"
                 "{until} ORDER BY resolve_deadline_ts, id{limit}")


def _late_params(until: datetime | None, as_of: datetime) -> tuple[str, dict[str, int]]:
    params: dict[str, int] = {"as_of": instant(as_of)}
    if until is None:
        return "", params
    params["until"] = instant(until)
    return " AND created_ts < :until", params


def _late_groups_query(since: datetime | None, until: datetime | None, as_of: datetime
                       ) -> tuple[str, dict[str, int]]:
    where, params = _late_params(until, as_of)
    in_period = "count(*)"
    if since is not None:
        params["since"] = instant(since)
        in_period = "count(CASE WHEN created_ts >= :since THEN 1 END)"
    return _LATE_GROUPS.format(in_period=in_period, until=where), params


def late_groups(db: Database, since: datetime | None, until: datetime | None, as_of: datetime
                ) -> list[tuple[str | None, str | None, str, int, int]]:
    """(grid, worker, category, overdue at `as_of` among those received before `until`, of them received
    in [since, until)) per group of running petitions: one walk of a partial index (migration 090)."""
    sql, params = _late_groups_query(since, until, as_of)
    return db.conn.execute(sql, params).fetchall()


def _late_counts(db: Database, since: datetime | None, until: datetime | None, as_of: datetime
                 ) -> tuple[int, dict[tuple, int]]:
    """How many running petitions received before `until` are past a deadline at `as_of` (whenever
    received: the length of the overdue list), and how many of them were received in [since, until)
    per (grid, worker, category). One GROUP BY over the index in its own order (no sort); rows are
    never fetched. Times are the stored epoch seconds (ISO times are written to the second)."""
    total = 0
    late: dict[tuple, int] = {}
    for grid, worker, category, n, in_period in late_groups(db, since, until, as_of):
        total += n
        if in_period:
            key = (grid or "-", worker or None, category)  # '' and NULL are one group, as in the rollup
            late[key] = late.get(key, 0) + in_period
    return total, late


def _late_list_queries(until: datetime | None, as_of: datetime, limit: int | None
                       ) -> tuple[str, str, dict[str, int]]:
    where, params = _late_params(until, as_of)
    last = "" if limit is None else f" LIMIT {int(limit)}"
    return _LATE_SIGN.format(until=where, limit=last), _LATE_RESOLVE.format(until=where, limit=last), params


def _late_rows(db: Database, until: datetime | None, as_of: datetime, limit: int | None) -> list[dict]:
    """The overdue list, oldest deadline first (then id), or its first `limit` items: two walks of
    indexes in deadline order (each stops after `limit` entries), merged."""
    sign_sql, resolve_sql, params = _late_list_queries(until, as_of, limit)
    now = as_of.timestamp()  # the hours overdue from the instant itself, not its rounded-up second
    merged = heapq.merge(db.conn.execute(sign_sql, params), db.conn.execute(resolve_sql, params))  # (due, id)
    with _no_gc_pauses():
        return [{"id": pid, "grid": grid, "worker": worker, "category": category, "state": state, "kind": kind,
                 "deadline": due, "hours_overdue": round((now - due_ts) / 3600, 1)}
                for due_ts, pid, grid, worker, category, state, due, kind in itertools.islice(merged, limit)]


def overdue_list(db: Database, until: datetime | None, as_of: datetime) -> list[dict]:
    """Every running petition received before `until` and past a deadline at `as_of`, oldest deadline
    first: the whole list, of which a summary shows the first OVERDUE_SHOWN."""
    return _late_rows(db, until, as_of, None)


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Building ~100k small dicts triggers the cyclic GC over and over (each pass walks every dict
    built so far): 3x the time of the work itself at 1M petitions. Dicts of strings make no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def summary(db: Database, since: datetime | None = None, until: datetime | None = None,
            now: datetime | None = None) -> dict:
    """Every number of SPEC §10 for petitions received in [since, until); overdue is judged at `now`:
    `overdue_count` counts the overdue petitions, `overdue` lists the OVERDUE_SHOWN oldest of them."""
    as_of = now or datetime.now().astimezone()
    groups = _group_sums(db, since, until)
    overdue_count, late = _late_counts(db, since, until, as_of)
    community: dict[str, float] = dict.fromkeys(_FIELDS, 0)
    by_grid: dict[str, dict[str, float]] = {}
    by_worker: dict[str, dict[str, float]] = {}
    categories: dict[str, int] = {}
    for (g, w, c), values in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])):
        sums = dict(zip(_SUMMED, values, strict=True))
        sums["overdue"] = late.get((g, w, c), 0)
        for bucket in (community, by_grid.setdefault(g, dict.fromkeys(_FIELDS, 0)),
                       by_worker.setdefault(w, dict.fromkeys(_FIELDS, 0)) if w else None):
            if bucket is not None:
                for k, v in sums.items():
                    bucket[k] += v
        categories[c] = categories.get(c, 0) + int(sums["received"])
    grids = {g: _from_sums(t) for g, t in sorted(by_grid.items())}
    workers = {w: _from_sums(t) for w, t in sorted(by_worker.items())}
    return {
        "period": {"since": _iso(since) if since else None, "until": _iso(until) if until else None,
                   "as_of": _iso(as_of)},
        "community": _from_sums(community),
        "grids": grids,
        "workers": workers,
        "ranking": {"workers": ranking(workers), "grids": ranking(grids)},
        "overdue_count": overdue_count,
        "overdue": _late_rows(db, until, as_of, OVERDUE_SHOWN),
        "top_categories": sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
    }

