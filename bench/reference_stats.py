"""The original storage/stats.py summary (before the SQL rewrite), kept to check the rewrite gives the
same numbers: `bench_scale.py --check` compares both on a generated store. Its summary lists every
overdue petition; the product's counts them and lists the first few (`as_summarised` says how the
one becomes the other, without asking the product)."""
from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage import states

LEGACY_SIGN_FOR_SECONDS = 2 * 3600
LEGACY_RESOLVE_SECONDS = 72 * 3600
EXCLUDED = ("cancelled", "rejected", "merged")
RATINGS = ("satisfied", "basic", "unsatisfied")
RUNNING = ("assigned", "accepted", "in_progress", "escalated")


def _ts(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp).timestamp() if stamp else None


def _secs(a: str | None, b: str | None) -> float | None:
    ta, tb = _ts(a), _ts(b)
    return None if ta is None or tb is None else tb - ta


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _mean_hours(values: list[float]) -> float | None:
    return round(sum(values) / len(values) / 3600, 2) if values else None


def _start(r: dict) -> str | None:
    return r.get("clock_started_at") or r["dispatched_at"]


def _sign_start(r: dict) -> str | None:
    """The latest dispatch (migration 150): a sign-for counts only when it follows it."""
    return r["dispatched_at"] or r.get("clock_started_at")


def signed(r: dict) -> bool:
    secs = _secs(_sign_start(r), r["accepted_at"])
    return secs is not None and secs >= 0


def signed_on_time(r: dict) -> bool:
    if not signed(r):
        return False
    if r.get("sign_deadline"):
        return (_ts(r["accepted_at"]) or 0) <= (_ts(r["sign_deadline"]) or 0)
    return (_secs(_sign_start(r), r["accepted_at"]) or 0) <= LEGACY_SIGN_FOR_SECONDS


def resolved_on_time(r: dict) -> bool:
    if not r["resolved_at"]:
        return False
    if r.get("resolve_deadline"):
        return (_ts(r["resolved_at"]) or 0) <= (_ts(r["resolve_deadline"]) or 0)
    return (_secs(_start(r), r["resolved_at"]) or 0) <= LEGACY_RESOLVE_SECONDS


def overdue_kind(r: dict, as_of: datetime) -> str | None:
    """'sign' or 'resolve' when the open petition `r` is past that deadline at `as_of`."""
    if r["state"] == "assigned" and r.get("sign_deadline") and (_ts(r["sign_deadline"]) or 0) < as_of.timestamp():
        return "sign"
    if r["state"] in RUNNING and r.get("resolve_deadline") and \
            (_ts(r["resolve_deadline"]) or 0) < as_of.timestamp():
        return "resolve"
    return None


def numbers(rows: list[dict], as_of: datetime) -> dict:
    received = len(rows)
    excluded = sum(1 for r in rows if r["state"] in EXCLUDED)
    dispatched = [r for r in rows if _start(r)]
    signed_for = [r for r in dispatched if signed(r)]
    done = [r for r in rows if r["state"] in ("resolved", "closed")]
    rated = [r for r in rows if r["rating"] in RATINGS]
    satisfied = [r for r in rated if r["rating"] in ("satisfied", "basic")]
    sign_times = [s for r in signed_for if (s := _secs(_sign_start(r), r["accepted_at"])) is not None]
    resolve_times = [s for r in done if (s := _secs(_start(r), r["resolved_at"])) is not None]
    return {
        "received": received,
        "open": sum(1 for r in rows if states.is_open(r["state"])),
        "response_rate": _rate(sum(1 for r in dispatched if signed_on_time(r)), len(dispatched)),
        "completion_rate": _rate(len(done), received - excluded),
        "on_time_rate": _rate(sum(1 for r in done if resolved_on_time(r)), len(done)),
        "satisfaction_rate": _rate(len(satisfied), len(rated)),
        "avg_sign_for_hours": _mean_hours(sign_times),
        "avg_resolution_hours": _mean_hours(resolve_times),
        "reopened": sum(r["reopen_count"] for r in rows),
        "overdue": sum(1 for r in rows if overdue_kind(r, as_of)),
    }


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


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _rows(db: Database, since: datetime | None, until: datetime | None) -> list[dict]:
    """Petitions created in [since, until); stored times share the clock's zone, so strings compare."""
    rows = list(db.query("SELECT * FROM petitions ORDER BY id"))
    lo = since.timestamp() if since else None
    hi = until.timestamp() if until else None
    return [r for r in rows if (lo is None or (_ts(r["created_at"]) or 0) >= lo)
            and (hi is None or (_ts(r["created_at"]) or 0) < hi)]


def overdue_list(db: Database, until: datetime | None, as_of: datetime) -> list[dict]:
    out = []
    for r in _rows(db, None, until):
        kind = overdue_kind(r, as_of)
        if kind:
            due = r["sign_deadline"] if kind == "sign" else r["resolve_deadline"]
            out.append({"id": r["id"], "grid": r["grid"], "worker": r["worker"], "category": r["category"],
                        "state": r["state"], "kind": kind, "deadline": due,
                        "hours_overdue": round((as_of.timestamp() - (_ts(due) or 0)) / 3600, 1)})
    return sorted(out, key=lambda o: (_ts(o["deadline"]) or 0, o["id"]))


def summary(db: Database, since: datetime | None = None, until: datetime | None = None,
            now: datetime | None = None) -> dict:
    """Every number of SPEC §10 for petitions received in [since, until); overdue is judged at `now`."""
    as_of = now or datetime.now().astimezone()
    rows = _rows(db, since, until)
    by_grid: dict[str, list[dict]] = {}
    by_worker: dict[str, list[dict]] = {}
    categories: dict[str, int] = {}
    for r in rows:
        by_grid.setdefault(r["grid"] or "-", []).append(r)
        if r["worker"]:
            by_worker.setdefault(r["worker"], []).append(r)
        categories[r["category"]] = categories.get(r["category"], 0) + 1
    grids = {g: numbers(rs, as_of) for g, rs in sorted(by_grid.items())}
    workers = {w: numbers(rs, as_of) for w, rs in sorted(by_worker.items())}
    return {
        "period": {"since": _iso(since) if since else None, "until": _iso(until) if until else None,
                   "as_of": _iso(as_of)},
        "community": numbers(rows, as_of),
        "grids": grids,
        "workers": workers,
        "ranking": {"workers": ranking(workers), "grids": ranking(grids)},
        "overdue": overdue_list(db, until, as_of),
        "top_categories": sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
    }


def as_summarised(reference: dict, shown: int) -> dict:
    """`reference` (a summary of this module) in the shape of the product's: the whole overdue list
    becomes its length (`overdue_count`) and its first `shown` items (`overdue`)."""
    return {**reference, "overdue_count": len(reference["overdue"]), "overdue": reference["overdue"][:shown]}
