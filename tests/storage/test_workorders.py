"""The workbench's list (storage/workorders.py): each filter, the search in the residents' words, the
sorts, pages, the capped count and a worker's scope find exactly the petitions they should."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage import petitions
from storage.db import Store
from storage.workorders import Filters, count, page_ids, search_terms
from tests.engines import sqlite_only

T0 = datetime.fromisoformat("2026-11-02T09:00:00+08:00")


def iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


@pytest.fixture
def db(store: Store) -> Store:
    db = store
    texts = [("g1", "b1", "lighting", "门口路灯不亮了", 0), ("g1", "b2", "elevator", "电梯困人了快来", 1),
             ("g2", "b5", "lighting", "楼道灯坏了，晚上很黑", 0), ("g2", "b6", "sanitation", "垃圾没人清运", 0),
             ("g2", "b5", "road", "12号楼门口路面塌了", 0)]
    for n, (grid, building, category, text, urgent) in enumerate(texts):
        petitions.create(db, resident=f"r{n}", building=building, grid=grid, category=category, text=text,
                         now=T0 + timedelta(hours=n), urgent=bool(urgent))
    late = iso(T0 + timedelta(hours=10))
    # 1: dispatched, never signed for, sign-for deadline passed at T0+10h; 3: resolved and rated 不满意;
    # 4: closed; 5: accepted, resolution deadline at T0+100h
    petitions.transition(db, 1, "assigned", actor="s", now=T0, worker="w1", sign_deadline=late,
                         resolve_deadline=iso(T0 + timedelta(hours=50)))
    petitions.transition(db, 3, "assigned", actor="s", now=T0, worker="w2")
    petitions.transition(db, 3, "resolved", actor="w2", now=T0 + timedelta(hours=3))
    petitions.update(db, 3, rating="unsatisfied")
    petitions.transition(db, 4, "cancelled", actor="r3", now=T0 + timedelta(hours=4))
    petitions.transition(db, 5, "assigned", actor="s", now=T0, worker="w2",
                         sign_deadline=iso(T0 + timedelta(hours=20)), resolve_deadline=iso(T0 + timedelta(hours=100)))
    petitions.transition(db, 5, "accepted", actor="w2", now=T0 + timedelta(hours=5))
    return db


def ids(db, now: datetime = T0 + timedelta(hours=6), scope=None, **kw) -> list[int]:
    return page_ids(db, Filters(**kw), scope, now)


def test_families_newest_first(db) -> None:
    assert ids(db) == [5, 2, 1]
    assert ids(db, family="fixed") == [3]
    assert ids(db, family="closed") == [4]
    assert ids(db, family="all") == [5, 4, 3, 2, 1]
    assert ids(db, family="all", sort="old") == [1, 2, 3, 4, 5]


def test_each_filter(db) -> None:
    assert ids(db, family="all", grid="g1") == [2, 1]
    assert ids(db, family="all", building="b5") == [5, 3]
    assert ids(db, family="all", category="lighting") == [3, 1]
    assert ids(db, family="all", urgent=True) == [2] == ids(db, urgent=True, sort="old")
    assert ids(db, family="closed", urgent=True) == []
    assert ids(db, family="all", unsatisfied=True) == [3]
    assert ids(db, family="all", since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [3, 2]
    assert ids(db, family="all", grid="g2", category="lighting", unsatisfied=True) == [3]


def test_overdue_follows_the_clock(db) -> None:
    assert ids(db, overdue=True) == []
    assert ids(db, overdue=True, now=T0 + timedelta(hours=11)) == [1]      # sign-for deadline passed
    assert ids(db, overdue=True, now=T0 + timedelta(hours=101)) == [5, 1]  # and a resolution deadline
    assert ids(db, family="all", sort="due", now=T0 + timedelta(hours=11)) == [1, 5]


def test_a_workers_scope(db) -> None:
    assert ids(db, family="all", scope=frozenset({"g1"})) == [2, 1]
    assert ids(db, family="all", scope=frozenset({"g1"}), grid="g2") == []
    assert ids(db, family="all", scope=frozenset()) == []
    assert ids(db, family="all", scope=frozenset({"g1", "g2"})) == [5, 4, 3, 2, 1]


def test_search_in_the_residents_words(db) -> None:
    assert ids(db, family="all", q="路灯") == [1]
    assert ids(db, family="all", q="灯") == [3, 1]          # one character, also at the end of a run
    assert ids(db, family="all", q="黑") == [3]
    assert ids(db, family="all", q="门口") == [5, 1]
    assert ids(db, family="all", q="门口 路面") == [5]      # every word
    assert ids(db, family="all", q="12号楼") == [5]
    assert ids(db, family="all", q="灯不亮了") == [1]
    assert ids(db, family="all", q="路灯坏") == []          # the phrase, not its characters anywhere
    assert ids(db, family="all", q="灯", grid="g2") == [3]
    assert ids(db, family="all", q="，") == [5, 4, 3, 2, 1]  # nothing searchable: not narrowed
    assert search_terms("路灯 不亮！") == '"路灯" AND "不亮"'


def test_search_follows_edits_and_deletes(db) -> None:
    db.conn.execute("UPDATE petitions SET text = '水管爆了' WHERE id = 1")
    assert ids(db, family="all", q="路灯") == []
    assert ids(db, family="all", q="水管") == [1]
    db.conn.execute("DELETE FROM petitions WHERE id = 1")
    assert ids(db, family="all", q="水管") == []


def test_pages_and_a_capped_count(db) -> None:
    f = Filters(family="all")
    assert page_ids(db, f, None, T0, 1, per_page=2) == [5, 4]
    assert page_ids(db, f, None, T0, 3, per_page=2) == [1]
    assert count(db, f, None, T0) == 5
    assert count(db, f, None, T0, cap=3) == 4      # "3+"
    assert count(db, Filters(family="all", q="灯"), None, T0) == 2


def test_common_words_along_a_narrower_walk(db, monkeypatch) -> None:
    """Words found in many petitions are checked along the grid's or building's walk: same answers."""
    monkeypatch.setattr("storage.workorders.COMMON", 1)
    assert ids(db, family="all", q="灯", grid="g2") == [3]
    assert ids(db, family="all", q="门口", scope=frozenset({"g1"})) == [1]
    assert ids(db, family="all", q="门口", building="b5") == [5]
    assert ids(db, q="门口", sort="due", now=T0 + timedelta(hours=101)) == [1, 5]
    assert count(db, Filters(family="all", q="门口", grid="g2"), None, T0) == 1


@pytest.mark.parametrize(("filters", "index"), [
    (Filters(family="all"), "petitions_desk_all"),
    (Filters(family="open"), "petitions_desk_open"),
    (Filters(family="all", grid="g1"), "petitions_desk_grid"),
    (Filters(family="all", building="dy-3"), "petitions_desk_building"),
    (Filters(family="closed", unsatisfied=True, category="road"), "petitions_desk_unsatisfied"),
    (Filters(family="all", sort="due"), "petitions_desk_due"),
])
def test_every_list_walks_one_covering_index_without_sorting(db, filters: Filters, index: str) -> None:
    """At a million petitions a page reads its 50 entries off an index in order: no table scan and no
    temporary sort, whichever filters are set (rare combinations included)."""
    from storage import workorders

    sqlite_only(db, "a query plan with INDEXED BY")
    sql, params, order = workorders._walk(db, filters, None, T0)
    plan = " ".join(r[3] for r in db.conn.execute(f"EXPLAIN QUERY PLAN SELECT id{sql} ORDER BY {order} LIMIT 50",
                                                  params))
    assert f"COVERING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
