"""Micro-wishes (微心愿) through review and claiming, party members and observers: small queries."""

from __future__ import annotations

import math
from datetime import datetime

from sqlite_utils import Database

from storage.db import one
from storage.petitions import iso


def wish(db: Database, wid: int) -> dict | None:
    return one(db, "SELECT * FROM items WHERE id = ? AND kind = 'wish'", (wid,))


def set_wish(db: Database, wid: int, now: datetime, **fields: object) -> None:
    fields["updated_at"] = iso(now)
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*fields.values(), wid))


def open_wishes(db: Database) -> list[dict]:
    return list(db.query("SELECT * FROM items WHERE kind = 'wish' AND status = 'approved' ORDER BY id"))


def residents_with_role(db: Database, role: str) -> list[dict]:
    return list(db.query("SELECT * FROM residents WHERE role = ? AND subscribed = 1 ORDER BY openid", (role,)))


def find_resident(db: Database, who: str) -> list[dict]:
    """By openid, or by the name staff know them by."""
    return list(db.query("SELECT * FROM residents WHERE openid = ? OR name = ?", (who, who)))


def remember_location(db: Database, openid: str, lat: float, lng: float, now: datetime) -> None:
    db.conn.execute("UPDATE residents SET lat = ?, lng = ?, located_at = ? WHERE openid = ?",
                    (lat, lng, iso(now), openid))


def metres(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), plenty for a community's few hundred metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def nearest_building(db: Database, lat: float, lng: float, radius: float) -> dict | None:
    best, best_d = None, radius
    for b in db.query("SELECT * FROM buildings WHERE lat IS NOT NULL AND lng IS NOT NULL"):
        d = metres(lat, lng, b["lat"], b["lng"])
        if d <= best_d:
            best, best_d = b, d
    return best
