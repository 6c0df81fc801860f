"""The numbers of SPEC §10 (受理量, 响应率, 办结率, 满意率, ...) read from petitions and events."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage import states

SIGN_FOR_SECONDS = 2 * 3600


def _secs(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _numbers(rows: list[dict]) -> dict:
    received = len(rows)
    excluded = sum(1 for r in rows if r["state"] in ("cancelled", "rejected", "merged"))
    dispatched = [r for r in rows if r["dispatched_at"]]
    signed = [r for r in dispatched if r["accepted_at"]]
    on_time_sign = [r for r in signed if (_secs(r["dispatched_at"], r["accepted_at"]) or 0) <= SIGN_FOR_SECONDS]
    done = [r for r in rows if r["state"] in ("resolved", "closed")]
    rated = [r for r in rows if r["rating"] in ("satisfied", "basic", "unsatisfied") and r["state"] == "closed"]
    satisfied = [r for r in rated if r["rating"] in ("satisfied", "basic")]
    sign_times = [s for r in signed if (s := _secs(r["dispatched_at"], r["accepted_at"])) is not None]
    resolve_times = [s for r in done if (s := _secs(r["dispatched_at"], r["resolved_at"])) is not None]
    return {
        "received": received,
        "open": sum(1 for r in rows if states.is_open(r["state"])),
        "response_rate": _rate(len(on_time_sign), len(dispatched)),
        "completion_rate": _rate(len(done), received - excluded),
        "satisfaction_rate": _rate(len(satisfied), len(rated)),
        "avg_sign_for_hours": round(sum(sign_times) / len(sign_times) / 3600, 2) if sign_times else None,
        "avg_resolution_hours": round(sum(resolve_times) / len(resolve_times) / 3600, 2) if resolve_times else None,
        "reopened": sum(r["reopen_count"] for r in rows),
    }


def summary(db: Database, start: str | None = None, end: str | None = None) -> dict:
    where, params = [], []
    if start:
        where.append("created_at >= ?")
        params.append(start)
    if end:
        where.append("created_at < ?")
        params.append(end)
    sql = "SELECT * FROM petitions" + (" WHERE " + " AND ".join(where) if where else "")
    rows = list(db.query(sql, params))
    by_grid: dict[str, list[dict]] = {}
    by_worker: dict[str, list[dict]] = {}
    categories: dict[str, int] = {}
    for r in rows:
        by_grid.setdefault(r["grid"] or "-", []).append(r)
        if r["worker"]:
            by_worker.setdefault(r["worker"], []).append(r)
        categories[r["category"]] = categories.get(r["category"], 0) + 1
    return {
        "period": {"start": start, "end": end},
        "community": _numbers(rows),
        "grids": {g: _numbers(rs) for g, rs in sorted(by_grid.items())},
        "workers": {w: _numbers(rs) for w, rs in sorted(by_worker.items())},
        "top_categories": sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
    }


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def render(numbers: dict) -> str:
    c = numbers["community"]
    lines = [f"受理 {c['received']} 件，在办 {c['open']} 件",
             (f"响应率 {_pct(c['response_rate'])}  办结率 {_pct(c['completion_rate'])}  "
             f"满意率 {_pct(c['satisfaction_rate'])}")]
    for gid, g in numbers["grids"].items():
        lines.append(f"  网格 {gid}：受理 {g['received']}，办结率 {_pct(g['completion_rate'])}，"
                     f"满意率 {_pct(g['satisfaction_rate'])}")
    return "\n".join(lines)
