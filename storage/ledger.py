"""The ledger (台账): one row per petition to CSV (UTF-8 with BOM, so Excel opens it) or XLSX with the
sheets 台账 (one row per petition), 办理过程 (every event), 统计 (SPEC §10 rates for the community, each
grid and each worker over the period) and 超期 (the overdue petitions), all in Chinese.

Rows stream from SQL cursors as lists (no per-row dicts), so memory stays flat however many petitions
there are; `since`/`until` limit the export to petitions received in [since, until). A row shows each
petition as it stands: the latest dispatch (签收时间 only when signed for since then), the latest
resolution (办结时间 and 办理结果 only while resolved or closed, so a reopened petition has none), the
latest rating and its 不满意 reason, and the petition it was merged into. 超期 follows storage/stats.py:
running, past the sign-for deadline (still assigned) or the resolution deadline, at `now`.

Texts come from residents and workers, so a cell may begin like a formula (`=HYPERLINK(…)`, `+cmd|…`,
`-2+3`, `@SUM(…)`). In CSV such a text cell gets a leading `'` (OWASP CSV injection); in XLSX it stays
an inline string, which is never evaluated, and carries the quotePrefix style (storage/ledger_sheets.py).
Numbers stay numbers; times are date cells in XLSX and `YYYY-MM-DD HH:MM:SS` in CSV, on the wall clock
they were stored with.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
from collections.abc import Iterator
from datetime import datetime

from sqlite_utils import Database

from language.texts import has, t
from storage import states, stats
from storage.ledger_sheets import Sheet, formula_like, write

__all__ = ["COLUMNS", "csv_safe", "export", "formula_like", "rows"]

_DONE, _RUNNING = states.marks(states.DONE), states.marks(states.RUNNING)
_OVERDUE = (f"(p.state IN ({_RUNNING}) AND ((p.state = 'assigned' AND p.sign_deadline_ts < :now)"
            " OR p.resolve_deadline_ts < :now))")

# the ledger's columns in order, each with its SQL; each heading is `ledger.<key>` in
# catalogue/texts.ledger.toml
_SELECT: dict[str, str] = {
    "id": "p.id", "created_at": "p.created_at", "community": "coalesce(c.name, b.community)",
    "grid": "coalesce(g.name, p.grid)", "building": "coalesce(b.name, p.building)", "resident": "r.name",
    "room": "r.room", "phone": "r.phone",
    "category": "p.category", "text": "p.text", "state": "p.state", "state_label": "NULL", "urgent": "p.urgent",
    "worker": "coalesce(s.name, p.worker)", "dispatched_at": "p.dispatched_at", "sign_deadline": "p.sign_deadline",
    "accepted_at": ("CASE WHEN p.state <> 'submitted' AND p.state <> 'assigned' AND (p.dispatched_ts IS NULL"
                    " OR p.accepted_ts >= p.dispatched_ts) THEN p.accepted_at END"),
    "resolve_deadline": "p.resolve_deadline",
    "resolved_at": f"CASE WHEN p.state IN ({_DONE}) THEN p.resolved_at END",
    "resolution": f"CASE WHEN p.state IN ({_DONE}) THEN p.resolution END",
    "overdue": f"CASE WHEN {_OVERDUE} THEN 1 END", "rating": "p.rating",
    "rating_note": "CASE WHEN p.rating = 'unsatisfied' THEN p.rating_note END",
    "reopen_count": "p.reopen_count", "urge_count": "p.urge_count", "merged_into": "p.merged_into",
}
COLUMNS = list(_SELECT)
_DATES = [COLUMNS.index(k) for k in ("created_at", "dispatched_at", "sign_deadline", "accepted_at",
                                     "resolve_deadline", "resolved_at")]
_WIDE = {"text": 40, "resolution": 30, "rating_note": 24, "phone": 14, "room": 10}
_SQL = ("SELECT " + ", ".join(_SELECT.values())
        + " FROM petitions p LEFT JOIN buildings b ON b.id = p.building LEFT JOIN communities c ON c.id = b.community"
        " LEFT JOIN grids g ON g.id = p.grid LEFT JOIN staff s ON s.userid = p.worker"
        " LEFT JOIN residents r ON r.openid = p.resident")
_I = {key: COLUMNS.index(key) for key in ("category", "state", "state_label", "urgent", "overdue", "rating")}
_CODE = _I["state"]
_PHONE = COLUMNS.index("phone")   # residents' phones: the office's; a worker's ledger has no such column


def _when(text: object) -> datetime | None:
    """A stored ISO time as a date cell: the wall clock it was written with."""
    return datetime.fromisoformat(text).replace(tzinfo=None) if isinstance(text, str) and text else None


# a further condition on `petitions AS p` and its parameters (the workbench's list filters and the
# viewer's grids: storage.workorders.ids_where), and whether residents' phones are shown
Only = tuple[str, dict[str, object]]


def _where(since: datetime | None, until: datetime | None, only: Only | None = None
           ) -> tuple[list[str], dict[str, object]]:
    where: list[str] = [only[0]] if only else []
    params: dict[str, object] = dict(only[1]) if only else {}
    if since is not None:
        where.append("unixepoch(p.created_at) >= :since")
        params["since"] = int(since.timestamp())
    if until is not None:
        where.append("unixepoch(p.created_at) < :until")
        params["until"] = int(until.timestamp())
    return where, params


def _label(prefix: str, code: object) -> object:
    return t(f"{prefix}.{code}") if code and has(f"{prefix}.{code}") else code


def rows(db: Database, since: datetime | None = None, until: datetime | None = None,
         now: datetime | None = None, overdue_only: bool = False, only: Only | None = None,
         phones: bool = True) -> Iterator[list[object]]:
    """Ledger rows in id order; times compare as instants, whatever zone they were stored in."""
    where, params = _where(since, until, only)
    params.setdefault("now", int((now or datetime.now().astimezone()).timestamp()))
    if overdue_only:
        where.append(_OVERDUE)
    sql = _SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.id"
    labels = {code: states.label(code) for code in states.STATES}
    yes = t("ledger.yes")
    cat, label, urgent, overdue, rating = (_I[k] for k in ("category", "state_label", "urgent", "overdue", "rating"))
    for r in db.conn.execute(sql, params):
        row = list(r)
        for i in _DATES:
            row[i] = _when(row[i])
        row[cat] = _label("category", row[cat])
        row[label] = labels.get(row[_CODE], row[_CODE])
        row[urgent] = yes if row[urgent] else ""
        row[overdue] = yes if row[overdue] else ""
        row[rating] = _label("rating_label", row[rating])
        if not phones:
            del row[_PHONE]
        yield row


_EVENTS = ("SELECT e.petition, e.at, CASE WHEN e.actor = 'system' THEN :system ELSE coalesce(s.name, r.name,"
           " CASE WHEN r.openid IS NOT NULL THEN :resident END, e.actor) END, e.from_state, e.to_state,"
           " coalesce(w.name, e.note) FROM petitions p JOIN events e ON e.petition = p.id"
           " LEFT JOIN staff s ON s.userid = e.actor LEFT JOIN residents r ON r.openid = e.actor"
           " LEFT JOIN staff w ON e.to_state = 'assigned' AND w.userid = e.note")
EVENT_COLUMNS = ["id", "at", "actor", "from_state", "to_state", "note"]


def events(db: Database, since: datetime | None = None, until: datetime | None = None,
           only: Only | None = None) -> Iterator[list[object]]:
    """办理过程: every event of the petitions received in the period, by petition then in order; a dispatch
    names the worker, a rating says how it was rated, a reopening says so."""
    where, params = _where(since, until, only)
    params.update(system=t("ledger.system"), resident=t("ledger.a_resident"))
    sql = _EVENTS + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.id, e.id"
    reopened = t("plain.reopened")
    for pid, at, actor, before, after, note in db.conn.execute(sql, params):
        moved = reopened if before in states.DONE and after in states.OPEN_STATES else _label("state", after)
        yield [pid, _when(at), actor, _label("state", before) if before else "",
               "" if before == after else moved, _label("rating_label", note)]


STAT_COLUMNS = ["scope", "name", "received", "response_rate", "completion_rate", "on_time_rate",
                "satisfaction_rate", "avg_sign_for_hours", "avg_resolution_hours", "reopened", "overdue"]


def statistics(db: Database, since: datetime | None, until: datetime | None,
               now: datetime | None, grids: frozenset[str] | None = None) -> list[list[object]]:
    """统计: SPEC §10 numbers (storage/stats.py) for the community, each grid and each worker; with
    `grids` (a worker's or head's scope), only those grids and the people working in them."""
    numbers = stats.summary(db, since, until, now=now)
    if grids is not None:
        marks = ",".join("?" * len(grids))
        people = {r[0] for r in db.conn.execute(
            f"SELECT userid FROM grid_workers WHERE grid IN ({marks}) UNION SELECT head FROM grids WHERE id IN ({marks})",
            [*grids, *grids])}
        numbers = {"grids": {g: n for g, n in numbers["grids"].items() if g in grids},
                   "workers": {w: n for w, n in numbers["workers"].items() if w in people}}
    grid_names = dict(db.conn.execute("SELECT id, name FROM grids").fetchall())
    staff = dict(db.conn.execute("SELECT userid, name FROM staff").fetchall())
    community = db.conn.execute("SELECT name FROM communities ORDER BY id LIMIT 1").fetchone()
    out = [] if grids is not None else [
        [t("ledger.scope_community"), community[0] if community else "", *(numbers["community"][k] for k in STAT_COLUMNS[2:])]]
    for scope, names, key in (("scope_grid", grid_names, "grids"), ("scope_worker", staff, "workers")):
        out.extend([t(f"ledger.{scope}"), names.get(code, code), *(n[k] for k in STAT_COLUMNS[2:])]
                   for code, n in numbers[key].items())
    return out


def csv_safe(value: object) -> object:
    """A CSV cell: a formula-like text gets a leading `'`; numbers and other texts are unchanged."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def _widths(keys: list[str], header: list[str], dates: list[int]) -> list[float]:
    return [18 if i in dates else _WIDE.get(key, max(8, 2 * len(head) + 4))
            for i, (key, head) in enumerate(zip(keys, header, strict=True))]


def _sheet_rows(rows: Iterator[list[object]], phones: bool) -> Iterator[list[object]]:
    """台账 and 超期 rows without the state's code (its label stays); rows without phones are one shorter
    already, after the code's place when the phone stood after it."""
    code = _CODE if phones or _CODE < _PHONE else _CODE - 1
    for row in rows:
        del row[code]
        yield row


def columns(phones: bool = True) -> list[str]:
    """The 台账 columns of the CSV (the state's code included), without the phone for a worker's ledger."""
    return [key for key in COLUMNS if phones or key != "phone"]


def _sheets(db: Database, since: datetime | None, until: datetime | None, now: datetime,
            only: Only | None = None, phones: bool = True, grids: frozenset[str] | None = None) -> list[Sheet]:
    keys = [key for key in columns(phones) if key != "state"]
    header = [t(f"ledger.{key}") for key in ["state" if key == "state_label" else key for key in keys]]
    widths = _widths(keys, header, [keys.index(COLUMNS[i]) for i in _DATES])
    urgent = keys.index("urgent")
    ev_header = [t(f"ledger.event_{key}") for key in EVENT_COLUMNS]
    st_header = [t(f"ledger.stat_{key}") for key in STAT_COLUMNS]
    return [
        Sheet(t("ledger.sheet"), header, _sheet_rows(rows(db, since, until, now, only=only, phones=phones), phones), widths, urgent=urgent),
        Sheet(t("ledger.sheet_events"), ev_header, events(db, since, until, only), [8, 18, 12, 10, 10, 40]),
        Sheet(t("ledger.sheet_stats"), st_header, statistics(db, since, until, now, grids),
              _widths(STAT_COLUMNS, st_header, []), percent=frozenset(range(3, 7))),
        Sheet(t("ledger.sheet_overdue"), header, _sheet_rows(rows(db, since, until, now, True, only, phones), phones),
              widths, urgent=urgent),
    ]


def export(db: Database, fmt: str, out: str, since: datetime | None = None,
           until: datetime | None = None, now: datetime | None = None, only: Only | None = None,
           phones: bool = True, grids: frozenset[str] | None = None) -> None:
    """CSV: the 台账 rows (UTF-8 with BOM; `out` may be `-` for stdout); XLSX: the four sheets. `only`
    limits the petitions (and their events) to a further condition; `phones=False` leaves phones out;
    `grids` limits the 统计 sheet to those grids and their people."""
    now = now or datetime.now().astimezone()
    if fmt == "csv":
        with contextlib.ExitStack() as stack:
            if out == "-":   # stdout too gets the BOM and UTF-8, whatever the locale
                sys.stdout.flush()
                stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8-sig", newline="")
                stack.callback(stream.detach)
                stack.callback(stream.flush)
            else:
                stream = stack.enter_context(open(out, "w", encoding="utf-8-sig", newline=""))
            writer = csv.writer(stream)
            writer.writerow([t(f"ledger.{key}") for key in columns(phones)])
            writer.writerows([csv_safe(v) for v in row] for row in rows(db, since, until, now, only=only, phones=phones))
        return
    write(out, _sheets(db, since, until, now, only, phones, grids))
