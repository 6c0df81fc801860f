"""The organisation: communities, staff, grids, buildings, as stored; storage.roster reads the TOML file
and CSV/XLSX rosters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from storage.db import rows, transaction
from storage.roster import KINDS, ROLES, Org, OrgError, parse_file, validate  # noqa: F401 - reading lives there


def current(db: Database) -> Org:
    org = Org()
    org.communities = list(db.query("SELECT id, name FROM communities"))
    org.staff = list(db.query("SELECT userid, name, role, community, phone FROM staff"))
    for g in db.query("SELECT * FROM grids"):
        g["workers"] = [r["userid"] for r in db.query(
            "SELECT userid FROM grid_workers WHERE grid = ?", (g["id"],))]
        org.grids.append(g)
    for b in db.query("SELECT * FROM buildings"):
        b["aliases"] = json.loads(b["aliases"])
        b["group"] = b.pop("grp")
        org.buildings.append(b)
    return org


def store(db: Database, org: Org, now: datetime | None = None) -> dict[str, int]:
    """Validate `org` against what is stored and upsert it; returns counts per kind. A new resident's
    created_at is `now` (default: the clock) in UTC as SQLite's datetime('now') wrote it."""
    validate(org, current(db))
    created = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    grid_community = {g["id"]: g["community"] for g in current(db).grids}
    grid_community.update({g["id"]: g["community"] for g in org.grids})
    with transaction(db):
        for c in org.communities:
            db.conn.execute("INSERT INTO communities (id, name) VALUES (?, ?)"
                            " ON CONFLICT (id) DO UPDATE SET name = excluded.name", (c["id"], c["name"]))
        for s in org.staff:
            db.conn.execute(
                "INSERT INTO staff (userid, name, role, community, phone) VALUES (?,?,?,?,?)"
                " ON CONFLICT (userid) DO UPDATE SET name = excluded.name, role = excluded.role,"
                " community = excluded.community, phone = excluded.phone",
                (s["userid"], s["name"], s.get("role", "worker"), s.get("community"), s.get("phone")))
        for g in org.grids:
            db.conn.execute("INSERT INTO grids (id, community, name, head) VALUES (?,?,?,?)"
                            " ON CONFLICT (id) DO UPDATE SET community = excluded.community,"
                            " name = excluded.name, head = excluded.head",
                            (g["id"], g["community"], g["name"], g.get("head")))
            db.conn.execute("DELETE FROM grid_workers WHERE grid = ?", (g["id"],))
            for w in g["workers"]:
                db.conn.execute("INSERT INTO grid_workers (grid, userid) VALUES (?, ?)", (g["id"], w))
        for b in org.buildings:
            db.conn.execute(
                "INSERT INTO buildings (id, community, grid, name, aliases, grp, lat, lng, households)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET community = excluded.community,"
                " grid = excluded.grid, name = excluded.name, aliases = excluded.aliases, grp = excluded.grp,"
                " lat = excluded.lat, lng = excluded.lng, households = excluded.households",
                (b["id"], b.get("community") or grid_community.get(b["grid"]), b["grid"], b["name"],
                 json.dumps(b["aliases"], ensure_ascii=False), b.get("group"), b.get("lat"), b.get("lng"),
                 b.get("households")))
        for r in org.residents:
            db.conn.execute(
                "INSERT INTO residents (openid, channel, name, phone, building, unit, room, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (openid) DO NOTHING",
                (r["openid"], r.get("channel", "sim"), r.get("name"), r.get("phone"), r.get("building"),
                 r.get("unit"), r.get("room"), created))
    return {kind: len(getattr(org, kind)) for kind in (*KINDS, "residents")}


def load_file(db: Database, path: str | Path) -> dict[str, int]:
    return store(db, parse_file(path))


# --- small lookups named by intent -------------------------------------------------------------
#
# Every report reads buildings, a grid's workers, staff: the organisation is kept in memory, one
# snapshot per connection, and re-read only when `org_version.stamp` (changed by triggers on every
# write to the organisation's tables, migration 070) differs from the snapshot's. One indexed
# single-row read per lookup instead of reading the tables. Lookups hand out copies, so a caller
# that changes a row cannot change the snapshot.


@dataclass(frozen=True)
class _Snapshot:
    stamp: int
    buildings: tuple[dict, ...]                 # ORDER BY community, grid, id
    building_by_id: dict[str, dict]
    grids: tuple[dict, ...]                     # ORDER BY id
    grid_by_id: dict[str, dict]
    workers_of_grid: dict[str, tuple[str, ...]]  # ORDER BY userid
    staff: tuple[dict, ...]                     # ORDER BY role, userid
    staff_by_id: dict[str, dict]
    community_staff: tuple[str, ...]            # role staff/admin, ORDER BY userid


_CACHE_ATTR = "_minsheng_org_snapshot"
_WRITES_ATTR = "_minsheng_org_writes"   # [n]: organisation writes made on this connection (watch_writes)
_PIN_ATTR = "_minsheng_org_pin"         # a `pinned` block: [writes at its start, 1 once the stamp is read]


def watch_writes(db: Database) -> None:
    """Count the organisation writes made on this connection (storage.db.open_db calls it, outside any
    transaction, so the TEMP trigger is never rolled back): every such write changes `org_version`
    (migration 070), and a TEMP trigger on it calls back into this process. Only `pinned` reads it.
    SQLite only: PostgreSQL has no trigger that calls into this process, and other connections (other
    instances) commit while this one works, so there it is not called, and `pinned` pins nothing:
    every lookup reads the org_version stamp (one primary-key read) and follows every commit."""
    if getattr(db, _WRITES_ATTR, None) is not None:
        return
    writes = [0]

    def written() -> None:
        writes[0] += 1

    db.conn.create_function("minsheng_org_written", 0, written)
    db.conn.execute("CREATE TEMP TRIGGER IF NOT EXISTS minsheng_org_written AFTER UPDATE ON main.org_version"
                    " BEGIN SELECT minsheng_org_written(); END")
    setattr(db, _WRITES_ATTR, writes)


@contextmanager
def pinned(db: Database) -> Iterator[None]:
    """Inside the block, lookups read the version stamp once, not once each, until the block writes to
    the organisation (on this connection; from then on each lookup reads it, as a write may yet be
    rolled back). For one message or job inside a transaction, which the block must neither commit
    nor roll back beyond its own savepoints: no other connection commits while this one holds the
    write lock (or reads its snapshot), so the stamp cannot change behind it. Outside a transaction,
    or on a connection `watch_writes` does not watch, every lookup reads it as before."""
    if (getattr(db, _WRITES_ATTR, None) is None or not db.conn.in_transaction
            or getattr(db, _PIN_ATTR, None) is not None):
        yield
        return
    setattr(db, _PIN_ATTR, [getattr(db, _WRITES_ATTR)[0], 0])   # writes at the start, stamp read
    try:
        yield
    finally:
        delattr(db, _PIN_ATTR)


def _stamp(db: Database) -> int | None:
    row = db.conn.execute("SELECT stamp FROM org_version WHERE id = 1").fetchone()
    return None if row is None else int(row[0])


def _snapshot(db: Database) -> _Snapshot:
    snap: _Snapshot | None = getattr(db, _CACHE_ATTR, None)
    pin: list[int] | None = getattr(db, _PIN_ATTR, None)
    unwritten = pin is not None and getattr(db, _WRITES_ATTR)[0] == pin[0]
    if pin is not None and unwritten and pin[1] and snap is not None and db.conn.in_transaction:
        return snap   # the stamp was read in this block, which has not written to the organisation
    stamp = _stamp(db)
    if snap is None or stamp is None or snap.stamp != stamp:
        snap = _read(db, stamp)
    if pin is not None and unwritten and stamp is not None:
        pin[1] = 1
    return snap


def _read(db: Database, stamp: int | None) -> _Snapshot:
    buildings = tuple(rows(db, "SELECT * FROM buildings ORDER BY community, grid, id"))
    grid_rows = tuple(rows(db, "SELECT * FROM grids ORDER BY id"))
    workers: dict[str, list[str]] = {}
    for gid, userid in db.conn.execute("SELECT grid, userid FROM grid_workers ORDER BY grid, userid"):
        workers.setdefault(gid, []).append(userid)
    staff = tuple(rows(db, "SELECT * FROM staff ORDER BY role, userid"))
    snap = _Snapshot(
        stamp=stamp if stamp is not None else 0,
        buildings=buildings, building_by_id={b["id"]: b for b in buildings},
        grids=grid_rows, grid_by_id={g["id"]: g for g in grid_rows},
        workers_of_grid={g: tuple(ws) for g, ws in workers.items()},
        staff=staff, staff_by_id={s["userid"]: s for s in staff},
        community_staff=tuple(sorted(s["userid"] for s in staff if s["role"] in ("staff", "admin"))),
    )
    if stamp is not None:  # without the version row (never after migration 070) nothing is kept
        setattr(db, _CACHE_ATTR, snap)
    return snap


def building(db: Database, bid: str | None) -> dict | None:
    if not bid:
        return None
    b = _snapshot(db).building_by_id.get(bid)
    return dict(b) if b is not None else None


def buildings(db: Database) -> list[dict]:
    return [dict(b) for b in _snapshot(db).buildings]


def buildings_of_grid(db: Database, grid: str) -> list[dict]:
    return sorted((dict(b) for b in _snapshot(db).buildings if b["grid"] == grid), key=lambda b: b["id"])


def grid(db: Database, gid: str | None) -> dict | None:
    if not gid:
        return None
    g = _snapshot(db).grid_by_id.get(gid)
    return dict(g) if g is not None else None


def grids(db: Database) -> list[dict]:
    return [dict(g) for g in _snapshot(db).grids]


def grid_workers(db: Database, gid: str) -> list[str]:
    return list(_snapshot(db).workers_of_grid.get(gid, ()))


def staff_member(db: Database, userid: str) -> dict | None:
    s = _snapshot(db).staff_by_id.get(userid)
    return dict(s) if s is not None else None


def staff_list(db: Database) -> list[dict]:
    return [dict(s) for s in _snapshot(db).staff]


def grids_of(db: Database, userid: str) -> list[str]:
    """Grids a worker serves or heads."""
    snap = _snapshot(db)
    ids = {gid for gid, ws in snap.workers_of_grid.items() if userid in ws}
    ids |= {g["id"] for g in snap.grids if g["head"] == userid}
    return sorted(ids)


def community_staff(db: Database) -> list[str]:
    return list(_snapshot(db).community_staff)
