"""A journal line that cannot be read stops nothing and loses nothing: the rest is handled, its bytes are
kept in quarantine before its segment goes, and /admin and /healthz say so. /healthz answers 503 when
the store or the journal cannot be written."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bot import journal, quarantine
from bot.app import create_app
from bot.clock import FakeClock
from bot.config import load_settings
from bot.journal import journal_dir
from bot.keys import INTAKE
from bot.messages import Message
from language.texts import t
from tests import fakewechat
from tests.desk.helpers import desk_page
from tests.engines import journal_on_sqlite  # noqa: F401 (a fixture)
from tests.fakewechat import WechatEnv
from tests.peers import OfficialAccount, drain

wechat_env = fakewechat.wechat_env
# the file journal: SQLite deployments only (tests/engines.py `journal_on_sqlite`)
pytestmark = pytest.mark.usefixtures("journal_on_sqlite")

GOOD = [("oGood1", "3号楼楼道灯坏了", "oa:7801"), ("oGood2", "5号楼门口垃圾没人清", "oa:7804")]
GARBLED = b'{"channel": "oa", "role": "resident", "sender": "oGarbled", \xff\xfe\x00 torn\n'
WRONG_TYPE = json.dumps({"channel": "oa", "role": "resident", "sender": 12345, "kind": "text",
                         "text": "1号楼单元门关不上", "key": "oa:7803"}, ensure_ascii=False).encode() + b"\n"
UNKNOWN_FIELD = json.dumps({**asdict(Message("oa", "resident", "oOdd", "text", "路灯不亮", key="oa:7805")),
                            "surprise": 1}, ensure_ascii=False).encode() + b"\n"
CUT = b'{"channel": "oa", "role": "resident", "sender": "oCut", "ki'


def record(sender: str, text: str, key: str) -> bytes:
    return json.dumps(asdict(Message("oa", "resident", sender, "text", text, key=key)), ensure_ascii=False).encode()


def settings(env: WechatEnv):
    return load_settings(overrides=env.overrides, environ={})


def write_segment(env: WechatEnv, name: str = "000003.jsonl") -> tuple[Path, Path]:
    """good, garbled, wrong type, good, unknown field, and a last line cut short by a stop."""
    directory = journal_dir(env.settings.storage.path)
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    (first, second) = (record(*g) + b"\n" for g in GOOD)
    path = directory / name
    path.write_bytes(first + GARBLED + WRONG_TYPE + second + UNKNOWN_FIELD + CUT)
    return directory, path


def petitions(app) -> list[str]:
    return [text for (text,) in app[INTAKE].db.execute("SELECT text FROM petitions ORDER BY id")]


async def page(client) -> str:
    return await desk_page(client, client.server.app[INTAKE].db, "/admin/orders")


async def test_bad_lines_are_kept_byte_for_byte_and_the_rest_is_handled(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    directory, path = write_segment(wechat_env)
    kept = directory / "quarantine" / "000003.bad"
    deletions: list[bytes | None] = []     # what quarantine held when the segment was deleted
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            deletions.append(kept.read_bytes() if kept.exists() else None)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    app = create_app(settings(wechat_env), clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    await drain(app)
    assert sorted(petitions(app)) == sorted(text for _, text, _ in GOOD)      # both good ones, once
    for sender, _, _ in GOOD:
        assert len(wechat_env.fake.oa_texts(sender)) == 1
    bad_bytes = GARBLED + WRONG_TYPE + UNKNOWN_FIELD + CUT
    assert kept.read_bytes() == bad_bytes
    assert deletions == [bad_bytes]             # deleted once, and only after its bad bytes were kept
    assert not path.exists()
    problems = app[INTAKE].journal.problems
    assert (problems.quarantined, problems.cut, problems.unsaved) == (3, 1, 0)
    assert [d.split(":")[0] for d in problems.details] == [f"000003.jsonl line {n}" for n in (2, 3, 5)]
    assert not any(word in d for d in problems.details for word in ("oGarbled", "单元门", "12345", "路灯"))
    assert t("journal.quarantined", count=3, folder=directory / "quarantine") in await page(client)
    health = await client.get("/healthz")
    body = await health.json()
    assert health.status == 200 and body["ok"] and body["errors"] == []
    assert any("000003.jsonl line 2" in w for w in body["warnings"])
    assert "单元门" not in json.dumps(body, ensure_ascii=False)

    app[INTAKE].close()                           # a start on the same store: nothing new to quarantine
    again = create_app(settings(wechat_env), clock=FakeClock(), deliver=False)
    oa = OfficialAccount(await aiohttp_client(again))
    await drain(again)
    assert again[INTAKE].journal.problems.count == 0 and kept.read_bytes() == bad_bytes
    assert sorted(petitions(again)) == sorted(text for _, text, _ in GOOD)
    assert (await oa.send(oa.text("oAfter", "7号楼电梯坏了", msg_id=7810))).status == 200
    assert [seg_id for seg_id, _ in journal.segments(directory)] == [4]   # never the quarantined id 3
    assert "无法读取" not in await page(await aiohttp_client(again))


async def test_a_segment_whose_bad_lines_cannot_be_kept_is_kept_whole(
        aiohttp_client, wechat_env: WechatEnv) -> None:
    directory, path = write_segment(wechat_env)
    original = path.read_bytes()
    (directory / "quarantine").write_bytes(b"")     # a file where the folder should be: it cannot be made
    app = create_app(settings(wechat_env), clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    await drain(app)
    assert sorted(petitions(app)) == sorted(text for _, text, _ in GOOD)      # the good ones still handled
    assert path.read_bytes() == original                                      # nothing deleted
    assert app[INTAKE].journal.problems.unsaved == 1
    assert t("journal.unsaved", count=1) in await page(client)
    body = await (await client.get("/healthz")).json()
    assert any("not quarantined" in w for w in body["warnings"])


def test_reading_a_segment_again_keeps_its_bad_lines_once(tmp_path: Path) -> None:
    segment = tmp_path / "000009.jsonl"
    segment.write_bytes(record(*GOOD[0]) + b"\n" + GARBLED + CUT)
    scan = quarantine.scan_segment(segment)
    assert [m.key for m in scan.messages] == ["oa:7801"] and scan.cut
    first = quarantine.keep(tmp_path, segment, scan.bad)
    assert quarantine.keep(tmp_path, segment, scan.bad) == first            # the same bytes: no new file
    assert first.read_bytes() == GARBLED + CUT
    other = quarantine.keep(tmp_path, segment, scan.bad[:1])                # never overwritten
    assert other.name == "000009-2.bad" and first.read_bytes() == GARBLED + CUT
    assert sorted(quarantine.quarantine_ids(tmp_path)) == [9, 9]


@pytest.mark.parametrize("fields", [
    {"lat": True}, {"lat": "31.2"}, {"cut": 1.5}, {"role": "admin"}, {"sender": ""}, {"text": None}])
def test_records_that_are_not_messages(fields: dict) -> None:
    good = asdict(Message("oa", "resident", "oX", "text", "x", key="oa:1", lat=31.2, lng=121.5))
    assert quarantine.to_message(good) == Message(**good)
    with pytest.raises(quarantine.NotAMessage):
        quarantine.to_message({**good, **fields})


async def test_healthz_is_503_while_the_store_cannot_be_written(aiohttp_client, wechat_env: WechatEnv) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    core = app[INTAKE]
    assert (await client.get("/healthz")).status == 200
    core.db.conn.execute("PRAGMA query_only = ON")   # every write refused (the store thread is idle)
    res = await client.get("/healthz")
    body = await res.json()
    assert res.status == 503 and not body["ok"]
    assert body["errors"] and body["errors"][0].startswith("store: cannot write")
    core.db.conn.execute("PRAGMA query_only = OFF")   # a write transaction cannot even begin before
    assert (await client.get("/healthz")).status == 200


async def test_healthz_is_503_while_the_journal_cannot_be_written(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    app = create_app(settings(wechat_env), clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    oa = OfficialAccount(client)
    assert (await client.get("/healthz")).status == 200

    def full_disk(fd: int, data) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal.os, "write", full_disk)
    xml = oa.text("oFull", "3号楼楼道灯坏了", msg_id=7820)
    assert (await oa.send(xml)).status == 500                 # not on disk: not acknowledged
    res = await client.get("/healthz")
    body = await res.json()
    assert res.status == 503 and not body["ok"]
    assert "journal: write failed" in body["errors"][0] and "No space left" in body["errors"][0]
    assert t("journal.failure") in await page(client)
    monkeypatch.undo()                                        # space again: the probe write succeeds
    res = await client.get("/healthz")
    assert res.status == 200 and (await res.json())["errors"] == []
    assert app[INTAKE].journal.failure is None and app[INTAKE].journal.failures == 1
    assert (await oa.send(xml)).status == 200                 # WeChat's retry is taken
    await drain(app)
    assert petitions(app) == ["3号楼楼道灯坏了"]


async def test_healthz_warns_when_the_disk_is_nearly_full(
        aiohttp_client, wechat_env: WechatEnv, monkeypatch) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    real_statvfs = journal.os.statvfs

    class Nearly:
        f_bavail, f_frsize = 1000, 4096

    monkeypatch.setattr(journal.os, "statvfs", lambda p: Nearly() if Path(p) == app[INTAKE].journal.directory
                        else real_statvfs(p))
    res = await client.get("/healthz")
    body = await res.json()
    assert res.status == 200 and body["ok"] and body["warnings"] == ["disk: 4 MB free where the journal and store are"]
