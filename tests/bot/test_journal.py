"""The intake journal: a callback is stored before it is answered, handled after, and its replies
reach the resident exactly once — as the passive reply when it is ready in time, else as a message."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

import pytest

from bot import intake, journal
from bot.app import create_app
from bot.channels import callback
from bot.clock import FakeClock
from bot.journal import journal_dir, keys_on_disk
from bot.keys import INTAKE
from bot.messages import Message
from tests import fakewechat
from tests.desk.helpers import desk_page
from tests.engines import journal_on_sqlite  # noqa: F401 (a fixture)
from tests.fakewechat import WechatEnv
from tests.peers import OfficialAccount, drain

wechat_env = fakewechat.wechat_env
# the file journal: SQLite deployments only (tests/engines.py `journal_on_sqlite`)
pytestmark = pytest.mark.usefixtures("journal_on_sqlite")

REPORTS = [f"{b}号楼{p}" for b in (1, 3, 5) for p in ("楼道灯坏了", "门口垃圾没人清", "单元门关不上")]


def petitions(app) -> list[str]:
    return [t for (t,) in app[INTAKE].db.execute("SELECT text FROM petitions ORDER BY id")]


def handled(app) -> set[str]:
    return {k for (k,) in app[INTAKE].db.execute("SELECT key FROM inbound")}


def on_disk(app) -> set[str]:
    return set(keys_on_disk(app[INTAKE].settings.storage.path))


async def burst(oa: OfficialAccount, base: int) -> dict[str, object]:
    senders = [f"oJournal{base + i}" for i in range(len(REPORTS))]
    xmls = [oa.text(s, text, msg_id=base + i) for i, (s, text) in enumerate(zip(senders, REPORTS, strict=True))]
    answers = await asyncio.gather(*(oa.send(x) for x in xmls))
    assert all(a.status == 200 for a in answers)
    return dict(zip(senders, answers, strict=True))


def assert_each_answered_once(answers: dict, env: WechatEnv) -> None:
    for sender, answer in answers.items():
        sent = env.fake.oa_texts(sender)
        if answer.reply is not None:        # the passive reply carried it: no message as well
            assert sent == [], sender
        else:                               # "success": the reply came as one message
            assert len(sent) == 1 and ("编号" in sent[0] or "合并" in sent[0]), (sender, sent)


async def test_a_burst_behind_a_backlog_is_answered_success_and_replied_by_message(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    monkeypatch.setattr(callback, "ANSWER_WITHIN", 0)      # no callback's replies are ready in time
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(app))
    answers = await burst(oa, 7100)
    assert all(a.reply is None for a in answers.values())  # nobody waited
    db = app[INTAKE].db
    keys = {f"oa:{7100 + i}" for i in range(len(REPORTS))}
    assert keys <= on_disk(app)                                 # in the journal file before "success"
    await drain(app)
    assert sorted(petitions(app)) == sorted(REPORTS)
    assert_each_answered_once(answers, wechat_env)
    assert keys <= handled(app) and app[INTAKE].backlog == 0
    assert db.execute("SELECT count(*) FROM inbound WHERE replied_late = 1").fetchone() == (len(REPORTS),)


async def test_concurrent_reports_are_each_answered_once_passive_or_by_message(
        aiohttp_client, wechat_env: WechatEnv) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(app))
    answers = await burst(oa, 7200)
    await drain(app)
    assert sorted(petitions(app)) == sorted(REPORTS)
    assert_each_answered_once(answers, wechat_env)
    assert any(a.reply is not None for a in answers.values())   # the first ones had nothing ahead


async def test_a_retry_while_the_first_waits_in_the_journal_is_replied_once(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    monkeypatch.setattr(callback, "ANSWER_WITHIN", 0)
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(app))
    xml = oa.text("oRetry", "3号楼楼道灯坏了", msg_id=7300)
    first, retry = await asyncio.gather(oa.send(xml), oa.send(xml))
    await drain(app)
    again = await oa.send(xml)                              # a third delivery, after it was handled
    await drain(app)
    assert first.reply is None and retry.reply is None and again.reply is None
    assert petitions(app) == ["3号楼楼道灯坏了"]
    assert len(wechat_env.fake.oa_texts("oRetry")) == 1


async def test_messages_left_in_the_journal_are_handled_at_the_next_start(
        aiohttp_client, wechat_env: WechatEnv) -> None:
    """What a kill -9 leaves: records synced but not handled, one handled already (its `inbound` row
    committed, the segment not deleted yet) and a last line cut short (never acknowledged)."""
    directory = journal_dir(wechat_env.settings.storage.path)
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for n, text in enumerate(REPORTS[:4]):
        msg = Message("oa", "resident", f"oKilled{n}", "text", text, key=f"oa:{7450 + n}")
        lines.append(json.dumps(asdict(msg), ensure_ascii=False))
    (directory / "000007.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:25], encoding="utf-8")
    first = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    db = first[INTAKE].db
    db.execute("INSERT INTO inbound (key, at, channel, sender, reply) VALUES "
               "('oa:7453', '2026-11-25T10:00:00+08:00', 'oa', 'oKilled3', '[]')")
    db.conn.commit()
    await aiohttp_client(first)                          # starts: the store thread reads the journal
    await drain(first)
    assert sorted(petitions(first)) == sorted(REPORTS[:3])  # the handled one is not filed again
    for n in range(3):                                   # nobody waits any more: each gets a message
        assert len(wechat_env.fake.oa_texts(f"oKilled{n}")) == 1
    assert wechat_env.fake.oa_texts("oKilled3") == []
    assert not (directory / "000007.jsonl").exists()     # all handled: the old segment is gone


async def test_rows_an_earlier_version_left_in_the_intake_table_are_handled_at_the_next_start(
        aiohttp_client, wechat_env: WechatEnv) -> None:
    first = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    db = first[INTAKE].db
    for n, text in enumerate(REPORTS[:3]):              # what a kill -9 left: journalled, not handled
        msg = Message("oa", "resident", f"oLeft{n}", "text", text, key=f"oa:{7400 + n}")
        db.execute("INSERT INTO intake (key, at, message) VALUES (?, '2026-11-25T10:00:00+08:00', ?)",
                   (msg.key, json.dumps(asdict(msg), ensure_ascii=False)))
    db.conn.commit()
    await aiohttp_client(first)                          # starts: the store thread reads the journal
    await drain(first)
    assert sorted(petitions(first)) == sorted(REPORTS[:3])
    assert db.execute("SELECT count(*) FROM intake").fetchone() == (0,)
    for n in range(3):                                   # nobody waits any more: each gets a message
        assert len(wechat_env.fake.oa_texts(f"oLeft{n}")) == 1


@pytest.mark.parametrize("claim_first", ["late", "passive"])
async def test_giving_up_and_handling_agree_on_who_carries_the_replies(
        aiohttp_client, wechat_env: WechatEnv, claim_first: str) -> None:
    """The callback gives up just as the store thread claims the replies: exactly one side wins."""
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    await aiohttp_client(app)
    core = app[INTAKE]
    entry = intake._Entry(Message("oa", "resident", "oRace", "text", "x"), None)
    if claim_first == "passive":
        entry.claim = "passive"
    assert core._give_up(entry) is (claim_first == "late")
    assert entry.claim == claim_first


async def test_a_failed_journal_write_is_not_acknowledged_and_the_retry_is_filed(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(app))
    real_write, failures = journal.os.write, []

    def full_disk(fd: int, data) -> int:
        if not failures:   # half the record reaches the file, then the disk is full
            failures.append(real_write(fd, bytes(data[:len(data) // 2])))
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", full_disk)
    xml = oa.text("oDiskFull", "3号楼楼道灯坏了", msg_id=7500)
    refused = await oa.send(xml)
    assert refused.status == 500 and failures                # not on disk: not acknowledged
    assert app[INTAKE].backlog == 0
    retry = await oa.send(xml)                               # WeChat sends it again
    await drain(app)
    assert retry.status == 200
    assert petitions(app) == ["3号楼楼道灯坏了"]
    assert len(wechat_env.fake.oa_texts("oDiskFull")) + (retry.reply is not None) == 1
    directory = journal_dir(wechat_env.settings.storage.path)
    assert directory is not None
    # nothing was appended after the torn half record (the two would make one unreadable line, and
    # the retry, acknowledged, would be lost at the next start): the retry went to a segment of its own
    for _, path in journal.segments(directory):
        complete = path.read_bytes().split(b"\n")[:-1]
        assert all(json.loads(line) for line in complete), path.read_bytes()
    app[INTAKE].close()
    again = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)   # a start reads it all
    await aiohttp_client(again)
    await drain(again)
    assert petitions(again) == ["3号楼楼道灯坏了"]


async def test_full_segments_are_deleted_once_every_message_in_them_is_handled(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 600)      # about two messages per segment
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(app))
    for i, text in enumerate(REPORTS):                       # one by one: a write per message
        assert (await oa.send(oa.text(f"oSeg{i}", text, msg_id=7600 + i))).status == 200
    await drain(app)
    directory = journal_dir(wechat_env.settings.storage.path)
    assert directory is not None
    left = journal.segments(directory)
    assert len(left) == 1, left                              # only the one being written to
    assert sorted(petitions(app)) == sorted(REPORTS)
    app[INTAKE].close()                                        # a clean stop: all handled, nothing kept
    assert journal.segments(directory) == []


async def test_a_second_server_on_the_same_store_is_refused_clearly(wechat_env: WechatEnv) -> None:
    first = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    with pytest.raises(RuntimeError, match="in use by another process"):
        create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    first[INTAKE].close()
    second = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)   # once the first stopped
    second[INTAKE].close()


async def test_the_workbench_says_how_many_messages_wait_to_be_filed(aiohttp_client, wechat_env: WechatEnv,
                                                                     monkeypatch) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    db = app[INTAKE].db
    page = await desk_page(client, db, "/admin/orders")   # nothing waiting
    assert "排队登记中的来信" not in page and "导出台账" in page
    monkeypatch.setattr(type(app[INTAKE]), "backlog", property(lambda self: 3))
    board = await desk_page(client, db, "/admin/orders/board")
    assert "排队登记中的来信：3 条" in board
    worker = await aiohttp_client(app)                     # the office's concern, not a worker's
    assert "排队登记中的来信" not in await desk_page(worker, db, "/admin/orders/board", "li.na")
