"""The numbers of SPEC §10 (定期通报), read from the petitions table and the deadlines stored on it.

Over the petitions received (created) in [since, until):
- received 受理量: all of them (times compare as instants, whatever their zone);
- response_rate 响应率: signed for by the sign-for deadline / dispatched;
- completion_rate 办结率: resolved or closed / (received − cancelled − rejected − merged);
- on_time_rate 按时办结率: resolved by the resolution deadline / resolved or closed;
- satisfaction_rate 满意率: (满意 + 基本满意) / rated; 未评价 is not a rating and not satisfied;
- avg_sign_for_hours, avg_resolution_hours: wall-clock hours from the start of the clock (dispatch);
- reopened: sum of reopen counts; overdue: how many of them are open and past a deadline.
The overdue list holds every open petition received before `until` that is past its deadline at
`now` (the caller's as-of time), whenever it was received. The ranking scores each worker and
grid with ticket data only: 100 × the mean of its available rates (response, completion, on time,
satisfaction); ties go to more received, then the id. Petitions dispatched before deadlines were stored
are measured against the default wall-clock limits (2 h sign-for, 72 h resolution).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
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


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _period(since: datetime | None, until: datetime | None) -> tuple[str, list[float]]:
    """A WHERE clause for [since, until): times compare as instants, whatever zone they carry."""
    where, params = [], []
    if since is not None:
        where.append("unixepoch(created_at) >= ?")
        params.append(since.timestamp())
    if until is not None:
        where.append("unixepoch(created_at) < ?")
        params.append(until.timestamp())
    return ("WHERE " + " AND ".join(where) if where else ""), params


# The per-row predicates (the row-by-row original is bench/reference_stats.py) live in SQL, in the view `petition_stat_rows` (migration 060):
# every number of SPEC §10 is a count or a sum, so the store keeps them summed per (month of creation,
# grid, worker, category) in `petition_rollup`, updated by triggers in the same transaction as every
# change to a petition. A summary adds the rollup rows of the months wholly inside the period, reads
# only the rows of the months it cuts (through the index on created_ts), and counts overdue petitions
# from the running ones (a partial index). 1,000,000 petitions took 10-14 s as one pass over every row.
_FIELDS = ("received", "excluded", "open", "dispatched", "signed_on_time", "sign_n", "sign_sum", "done",
           "done_on_time", "resolve_n", "resolve_sum", "rated", "satisfied", "reopened", "overdue")
_SUMMED = _FIELDS[:-1]  # overdue depends on the as-of time: counted apart
_SUM_LIST = ", ".join(f"sum({f})" for f in _SUMMED)
_FROM_ROLLUP = f"SELECT g, w, c, {_SUM_LIST} FROM petition_rollup {{where}} GROUP BY g, w, c"
_FROM_ROWS = (f"SELECT g, w, c, {_SUM_LIST} FROM petition_stat_rows WHERE bucket = :bucket AND id IN"
              " (SELECT id FROM petitions WHERE created_ts >= :lo AND created_ts < :hi) GROUP BY g, w, c")


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


def _buckets(db: Database, lo: float | None, hi: float | None
             ) -> tuple[list[str], list[tuple[str, float, float]], bool]:
    """The months wholly inside [lo, hi), the ones it cuts (with the bounds of their rows to read),
    and whether every month is wholly inside."""
    whole: list[str] = []
    cut: list[tuple[str, float, float]] = []
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
    lo = since.timestamp() if since is not None else None
    hi = until.timestamp() if until is not None else None
    whole, cut, everything = _buckets(db, lo, hi)
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

    if whole:
        if everything:
            add(db.conn.execute(_FROM_ROLLUP.format(where="")))
        else:
            marks = ", ".join("?" for _ in whole)
            add(db.conn.execute(_FROM_ROLLUP.format(where=f"WHERE bucket IN ({marks})"), whole))
    for bucket, first, last in cut:
        add(db.conn.execute(_FROM_ROWS, {"bucket": bucket, "lo": first, "hi": last}))
    return {k: v for k, v in groups.items() if v[0]}  # a group every petition has left is no group


_OVERDUE = ("SELECT id, grid, worker, category, state, sign_deadline, resolve_deadline, sign_deadline_ts,"
             " resolve_deadline_ts, created_ts FROM petitions INDEXED BY petitions_running_deadlines"
             " WHERE state IN " + _in(states.RUNNING) + "{until} AND ((state = 'assigned' AND sign_deadline_ts < :as_of)"
             " OR resolve_deadline_ts < :as_of)")


def _overdue(db: Database, until: datetime | None, as_of: datetime, since: datetime | None = None
             ) -> tuple[list[dict], dict[tuple, int]]:
    """Running petitions received before `until` and past a deadline at `as_of`, oldest deadline first
    (the overdue list), and how many of them were received in [since, until) per (grid, worker,
    category). Times are the stored epoch seconds (ISO times are written to the second)."""
    params: dict[str, float] = {"as_of": as_of.timestamp()}
    if until is not None:
        params["until"] = until.timestamp()
    sql = _OVERDUE.format(until=" AND created_ts < :until" if until is not None else "")
    now = params["as_of"]
    lo = since.timestamp() if since is not None else None
    keyed: list[tuple[int, int, dict]] = []
    late: dict[tuple, int] = {}
    with _no_gc_pauses():
        _collect(db.conn.execute(sql, params), now, lo, keyed, late)
        keyed.sort(key=lambda k: (k[0], k[1]))
        return [item for _, _, item in keyed], late


def _collect(rows: Iterable[tuple], now: float, lo: float | None, keyed: list[tuple[int, int, dict]],
             late: dict[tuple, int]) -> None:
    for pid, grid, worker, category, state, sign, resolve, sign_ts, resolve_ts, created in rows:
        if state == "assigned" and sign_ts is not None and sign_ts < now:
            kind, due, due_ts = "sign", sign, sign_ts
        else:
            kind, due, due_ts = "resolve", resolve, resolve_ts
        keyed.append((due_ts, pid, {"id": pid, "grid": grid, "worker": worker, "category": category,
                                    "state": state, "kind": kind, "deadline": due,
                                    "hours_overdue": round((now - due_ts) / 3600, 1)}))
        if lo is None or (created is not None and created >= lo):
            key = (grid or "-", worker or None, category)
            late[key] = late.get(key, 0) + 1


def overdue_list(db: Database, until: datetime | None, as_of: datetime) -> list[dict]:
    return _overdue(db, until, as_of)[0]


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
    """Every number of SPEC §10 for petitions received in [since, until); overdue is judged at `now`."""
    as_of = now or datetime.now().astimezone()
    groups = _group_sums(db, since, until)
    overdue, late = _overdue(db, until, as_of, since)
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
        "overdue": overdue,
        "top_categories": sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
    }


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def render(numbers: dict) -> str:
    c = numbers["community"]
    lines = [f"受理 {c['received']} 件，在办 {c['open']} 件，超时在办 {len(numbers['overdue'])} 件",
             (f"响应率 {_pct(c['response_rate'])}  办结率 {_pct(c['completion_rate'])}  "
              f"按时办结率 {_pct(c['on_time_rate'])}  满意率 {_pct(c['satisfaction_rate'])}")]
    for gid, g in numbers["grids"].items():
        lines.append(f"  网格 {gid}：受理 {g['received']}，办结率 {_pct(g['completion_rate'])}，"
                     f"按时办结率 {_pct(g['on_time_rate'])}，满意率 {_pct(g['satisfaction_rate'])}")
    return "\n".join(lines)
