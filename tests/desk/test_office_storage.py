"""The reads of the office pages (storage/desk_office.py): what they count, and that none of them scans a
large table (the outbox, items, residents) at the page's speed target."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import REPO_ROOT
from storage import desk_office, org, outbox
from storage.db import open_db, transaction
from storage.petitions import add_item

NOW = datetime(2026, 12, 1, 9, 0)


def _db(where: Path | str) -> Database:
    """The demo organisation in a store: a SQLite temp dir, or a store_url (either engine)."""
    db = open_db(where / "o.db" if isinstance(where, Path) else where)
    org.load_file(db, REPO_ROOT / "org.example.toml")
    return db


def test_deliveries_count_per_building_and_a_fanout_counts_its_residents(store_url: str) -> None:
    db = _db(store_url)
    with transaction(db):
        a = outbox.enqueue(db, "group", "dy-1", "x", NOW, "announcement:1")
        outbox.enqueue(db, "group", "dy-2", "x", NOW, "announcement:1")
        fan = outbox.enqueue(db, "fanout", "dy-3", "x", NOW, "announcement:1")
        outbox.mark_sent(db, fan, NOW, "fanout")
        outbox.enqueue(db, "resident", "demo-r2", "x", NOW, "announcement:1")   # demo-r2 lives in dy-3
        outbox.enqueue(db, "staff", "sun.hong", "sent", NOW, "announcement:1")  # the author's notice: no building
        outbox.mark_sent(db, a, NOW, "sim")
        outbox.mark_failed(db, a + 1, "robot HTTP 500")
    found = desk_office.deliveries(db, ["announcement:1", "announcement:2"])
    assert found == {"announcement:1": {"dy-1": {"sent": 1}, "dy-2": {"failed": 1}, "dy-3": {"pending": 1}}}


def test_items_newest_first_by_status_and_a_suggestion_marked_handled(store_url: str) -> None:
    db = _db(store_url)
    with transaction(db):
        first = add_item(db, "suggestion", "demo-r2", "dy-3", "more benches", NOW)
        second = add_item(db, "suggestion", "demo-r3", "dy-5", "a bike shed", NOW + timedelta(hours=1))
        add_item(db, "wish", "demo-r3", "dy-5", "a visit", NOW)
    assert [i["id"] for i in desk_office.items(db, "suggestion")] == [second, first]
    assert desk_office.items(db, "suggestion")[0]["building_name"] == "5号楼"
    with transaction(db):
        assert desk_office.mark_suggestion(db, first, "handled", NOW)
        assert not desk_office.mark_suggestion(db, first + 2, "handled", NOW)   # a wish is no suggestion
    assert [i["id"] for i in desk_office.items(db, "suggestion", "pending")] == [second]
    assert desk_office.item_counts(db, "suggestion") == {"pending": 1, "handled": 1}


def test_no_page_read_scans_a_large_table(tmp_path: Path) -> None:   # SQLite's query plans: SQLite only
    db = _db(tmp_path)
    plans = {
        "deliveries": ("SELECT count(*) FROM outbox WHERE ref IN (?, ?)", ("a", "b")),
        "items": ("SELECT id FROM items WHERE kind = ? AND status = ? ORDER BY id DESC LIMIT 5", ("wish", "x")),
        "items of a kind": ("SELECT id FROM items WHERE kind = ? ORDER BY id DESC LIMIT 5", ("wish",)),
        "bound": ("SELECT openid FROM residents WHERE building = ? ORDER BY room LIMIT 5", ("dy-1",)),
        "failed": ("SELECT id FROM outbox WHERE status = 'failed' ORDER BY id DESC LIMIT 5", ()),
        "disclosures": ("SELECT id FROM disclosures WHERE kind = ? ORDER BY id DESC LIMIT 5", ("request",)),
    }
    for name, (sql, args) in plans.items():
        plan = " | ".join(r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "SCAN" not in plan.replace("COVERING INDEX", ""), (name, plan)


def test_residents_without_a_room_come_first_on_either_engine(store_url: str) -> None:
    db = _db(store_url)
    db.conn.execute("INSERT INTO residents (openid, channel, building, room, created_at) VALUES"
                    " ('b', 'oa', 'dy-1', '101', '2026-12-01'), ('a', 'oa', 'dy-1', NULL, '2026-12-01')")
    assert [r["openid"] for r in desk_office.bound_residents(db, "dy-1")][:2] == ["a", "b"]
    assert [r["openid"] for r in desk_office.bound_residents(db)][:2] == ["a", "b"]
