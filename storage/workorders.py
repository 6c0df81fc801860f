"""The workbench's list of petitions (工单, issue 15): filters, full-text search, sort, pages and counts that
answer within milliseconds at 1,000,000 petitions.

Every list is a walk of one index in the order it is read (EXPLAIN QUERY PLAN: no temporary b-tree), named
with INDEXED BY so the plan never depends on the planner's guesses, and each filter is checked on the
index entry itself (the indexes of migration 142 carry every filtered column), so only the rows of the
page shown are read from the table. The walk is chosen by what narrows it most:

- words to search for: the bigram index of migration 141, newest (highest number) first;
- sort by deadline: the running petitions by their current deadline (overdue ones first);
- one building, or one grid (a worker's own): the entries of that building or grid, by time received;
- urgent ones: those (few) by number;
- open or overdue petitions: the open ones, by time received;
- else every petition by time received.

A count stops at COUNT_CAP (the page says "1000+"): counting a million rows on every view is not worth it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from storage import states
from storage.db import rows

PER_PAGE = 50
MAX_PAGE = 200          # pages beyond are not offered: narrow the filters instead
COUNT_CAP = 1000
# search words found in at least this many petitions are checked along a narrower walk (grid, building)
COMMON = 5000

FAMILIES: dict[str, tuple[str, ...]] = {
    "open": states.OPEN_STATES,
    "fixed": tuple(s for s, f in states.STATES.items() if f == "fixed"),
    "closed": tuple(s for s, f in states.STATES.items() if f == "closed"),
    "all": (),
}
SORTS = ("new", "old", "due")

# the deadline a running petition is up against: the sign-for deadline while it waits to be signed for
# (or the resolution deadline, if that came first), else the resolution deadline. Past it = overdue
# (as storage/ledger.py and storage/stats.py count them). Spelled exactly as migration 142's index.
DUE = ("(CASE WHEN state = 'assigned' THEN coalesce(min(sign_deadline_ts, resolve_deadline_ts),"
       " sign_deadline_ts, resolve_deadline_ts) ELSE resolve_deadline_ts END)")
_RUNNING = "state IN (" + states.marks(states.RUNNING) + ")"
_OVERDUE = f"({_RUNNING} AND {DUE} < :now)"


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; every field has a value that means "not narrowed"."""
    family: str = "open"
    grid: str = ""
    building: str = ""
    category: str = ""
    urgent: bool = False
    overdue: bool = False
    unsatisfied: bool = False
    since: datetime | None = None      # received at or after
    until: datetime | None = None      # received before
    q: str = ""
    sort: str = "new"
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def search_terms(q: str) -> str | None:
    """An FTS5 query for the words typed: each run of letters and digits (spaces and punctuation
    separate runs) is the phrase of its bigrams, or a prefix term when it is one character; runs are
    ANDed. None when nothing searchable was typed."""
    runs = [r.lower() for r in re.findall(r"\w+", q)][:8]
    terms = []
    for run in runs:
        if len(run) == 1:
            terms.append(f'"{run}"*')
        else:
            terms.append('"' + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + '"')
    return " AND ".join(terms) or None


def _conditions(f: Filters, scope: frozenset[str] | None, now: datetime) -> tuple[list[str], dict[str, object]]:
    """The filters as SQL terms on the walked index's columns (no alias), and their parameters."""
    where: list[str] = []
    params: dict[str, object] = {"now": int(now.timestamp())}
    family = FAMILIES.get(f.family, ())
    if family:
        where.append(f"state IN ({states.marks(family)})")
    if scope is not None:
        names = sorted(scope)
        params.update({f"scope{i}": g for i, g in enumerate(names)})
        where.append("grid IN (" + ", ".join(f":scope{i}" for i in range(len(names))) + ")" if names else "FALSE")
    for column in ("grid", "building", "category"):
        if getattr(f, column):
            where.append(f"{column} = :{column}")
            params[column] = getattr(f, column)
    if f.urgent:
        where.append("urgent = 1")
    if f.unsatisfied:
        where.append("rating = 'unsatisfied'")
    if f.overdue or f.sort == "due":
        where.append(_OVERDUE if f.overdue else _RUNNING)
    if f.since is not None:
        where.append("created_ts >= :since")
        params["since"] = int(f.since.timestamp())
    if f.until is not None:
        where.append("created_ts < :until")
        params["until"] = int(f.until.timestamp())
    return where, params


def _one_grid(f: Filters, scope: frozenset[str] | None) -> str | None:
    if f.grid:
        return f.grid
    return next(iter(scope)) if scope is not None and len(scope) == 1 else None


def _common(db: Database, terms: str) -> bool:
    """Whether the words are in so many petitions that walking a narrower index and checking each
    entry against them beats reading every match (a few milliseconds to tell)."""
    sql = "SELECT count(*) FROM (SELECT 1 FROM petition_words WHERE petition_words MATCH ? LIMIT ?) AS hits"
    return int(db.conn.execute(sql, (terms, COMMON)).fetchone()[0]) >= COMMON


def _walk(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime
          ) -> tuple[str, dict[str, object], str]:
    """(FROM ... WHERE ..., parameters, ORDER BY) of the walk that answers `f`; selects `id`."""
    where, params = _conditions(f, scope, now)
    desc = "ASC" if f.sort == "old" else "DESC"
    terms = search_terms(f.q) if f.q else None
    if terms is not None:
        params["q"] = terms
        grid = _one_grid(f, scope)
        if db.dialect == "postgresql" and grid is not None and f.sort != "due":
            # the grid is beside the words there (pg migration 171): one index scan for both
            params["wgrid"] = grid
            sql = (" FROM petition_words CROSS JOIN petitions AS p ON p.id = petition_words.rowid"
                   f" WHERE petition_words MATCH :q AND petition_words.grid = :wgrid{_aliased(where)}")
            return sql, params, f"petition_words.rowid {desc}"
        narrow = f.sort == "due" or bool(f.building) or grid is not None
        if not (narrow and _common(db, terms)):
            sql = (" FROM petition_words CROSS JOIN petitions AS p ON p.id = petition_words.rowid"
                   f" WHERE petition_words MATCH :q{_aliased(where)}")
            return sql, params, f"petition_words.rowid {desc}"
        where.append("id IN (SELECT rowid FROM petition_words WHERE petition_words MATCH :q)")
    if f.sort == "due":
        index, order = "petitions_desk_due", f"{DUE} ASC, id ASC"
    elif f.building:
        index, order = "petitions_desk_building", f"building, created_ts {desc}, id {desc}"
    elif _one_grid(f, scope) is not None:
        if not f.grid:
            where.append("grid = :grid")
            params["grid"] = _one_grid(f, scope)
        index, order = "petitions_desk_grid", f"grid, created_ts {desc}, id {desc}"
    elif f.urgent:      # urgent petitions are few: their partial index of migration 130, by number
        index, order = "petitions_urgent", f"id {desc}"
    elif f.unsatisfied:   # so are those rated 不满意 (migration 143)
        index, order = "petitions_desk_unsatisfied", f"created_ts {desc}, id {desc}"
    elif f.family == "open" or f.overdue:
        index, order = "petitions_desk_open", f"created_ts {desc}, id {desc}"
        if f.family != "open":
            where.append(f"state IN ({states.marks(states.OPEN_STATES)})")
    else:
        index, order = "petitions_desk_all", f"created_ts {desc}, id {desc}"
    return f" FROM petitions INDEXED BY {index}" + (" WHERE " + " AND ".join(where) if where else ""), params, order


def _aliased(where: list[str]) -> str:
    """The terms on `p.` columns, for the search walk (a join of the words and the petitions)."""
    out = ""
    for w in where:
        w = re.sub(r"(?<![:.\w])(state|grid|building|category|urgent|rating|created_ts|sign_deadline_ts|resolve_deadline_ts)\b",
                   r"p.\1", w)
        out += f" AND {w}"
    return out


def page_ids(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime, page: int = 1,
             per_page: int = PER_PAGE) -> list[int]:
    """The numbers of the petitions on page `page` (1-based, at most MAX_PAGE) of the list."""
    page = max(1, min(page, MAX_PAGE))
    sql, params, order = _walk(db, f, scope, now)
    idcol = "p.id" if sql.startswith(" FROM petition_words") else "id"
    params.update(limit=per_page, offset=(page - 1) * per_page)
    return [r[0] for r in db.conn.execute(f"SELECT {idcol}{sql} ORDER BY {order} LIMIT :limit OFFSET :offset",
                                          params)]


def count(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime, cap: int = COUNT_CAP) -> int:
    """How many petitions the list holds, counted up to `cap` + 1 (more than `cap`: show "cap+")."""
    sql, params, _order = _walk(db, f, scope, now)
    params["cap"] = cap + 1
    return int(db.conn.execute(f"SELECT count(*) FROM (SELECT 1{sql} LIMIT :cap) AS listed", params).fetchone()[0])


_ROW = ("SELECT p.id, p.urgent, p.building, p.grid, p.category, p.state, p.worker, p.created_at, p.text,"
        " p.sign_deadline, p.resolve_deadline, p.rating, p.merged_into, p.reopen_count,"
        " b.name AS building_name, g.name AS grid_name, s.name AS worker_name"
        " FROM petitions AS p LEFT JOIN buildings AS b ON b.id = p.building LEFT JOIN grids AS g ON g.id = p.grid"
        " LEFT JOIN staff AS s ON s.userid = p.worker WHERE p.id IN ({marks})")


def rows_of(db: Database, ids: list[int]) -> list[dict]:
    """The list's columns of these petitions, in the order given."""
    if not ids:
        return []
    found = {r["id"]: r for r in rows(db, _ROW.format(marks=", ".join("?" for _ in ids)), tuple(ids))}
    return [found[i] for i in ids if i in found]


def page(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime, number: int = 1,
         per_page: int = PER_PAGE) -> list[dict]:
    return rows_of(db, page_ids(db, f, scope, now, number, per_page))


def ids_where(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime
              ) -> tuple[str, dict[str, object]]:
    """`p.id IN (...)` of every petition the list holds, for another query over `petitions AS p` (the
    ledger export of a filtered list), and its parameters."""
    sql, params, _order = _walk(db, f, scope, now)
    idcol = "p.id" if sql.startswith(" FROM petition_words") else "id"
    return f"p.id IN (SELECT {idcol}{sql})", params
