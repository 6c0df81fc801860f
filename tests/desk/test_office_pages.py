"""The office pages of the workbench, driven as staff at a desk would: through the real app, logged in,
with the CSRF token on every form. What a page shows, what a resident or a building group receives, and
that a grid worker is refused."""

from __future__ import annotations

import pytest
from aiohttp import FormData
from openpyxl import Workbook

from bot.keys import DELIVERER, INTAKE
from handlers.deliberation import close_due_votes
from storage import accounts, desk_office, org, outbox
from storage.db import transaction
from tests.desk.helpers import logged_in

PAGES = ["/admin/announcements", "/admin/deliberation", "/admin/wishes", "/admin/suggestions",
         "/admin/disclosure", "/admin/roster", "/admin/deliveries"]
TITLES = ["公告", "亲邻议事", "微心愿", "需求清单", "信息公开", "名册", "发送失败"]


async def _staff(sim) -> str:
    return await logged_in(sim.client, sim.db, "sun.hong")


async def _post(sim, path: str, csrf: str, **form: str) -> str:
    """Post a form as the page does (CSRF token included), follow the redirect, return the page."""
    res = await sim.client.post(path, data={"_csrf": csrf, **form})
    assert res.status == 200, (path, res.status, await res.text())
    return await res.text()


@pytest.mark.parametrize(("path", "title"), list(zip(PAGES, TITLES, strict=True)))
async def test_each_page_shows_for_staff_and_refuses_a_worker(sim, aiohttp_client, path: str, title: str) -> None:
    await _staff(sim)
    res = await sim.client.get(path)
    assert res.status == 200 and title in await res.text()
    other = await aiohttp_client(sim.app)
    await logged_in(other, sim.db, "li.na")
    assert (await other.get(path)).status == 403


async def test_an_announcement_reaches_the_building_group_and_a_scheduled_one_is_cancelled(sim) -> None:
    csrf = await _staff(sim)
    page = await _post(sim, "/admin/announcements", csrf, target="b:dy-1", text="周六上午停水", when="now")
    aid = desk_office.announcements(sim.db)[0]["id"]
    rows = desk_office.ref_targets(sim.db, f"announcement:{aid}")
    assert [(r["target_kind"], r["target_id"]) for r in rows] == [("group", "dy-1")]
    assert "周六上午停水" in page and "已发送" in page and "1号楼" in page and "待发送 1" in page
    await sim.app[DELIVERER].drain()
    assert "已送达 1" in await (await sim.client.get("/admin/announcements")).text()
    per_building = await (await sim.client.get(f"/admin/announcements/{aid}/delivery")).text()   # opened
    assert "1号楼" in per_building and "已送达 1" in per_building

    page = await _post(sim, "/admin/announcements", csrf, target="g:g1", text="下周一消防检查", when="later",
                       at="2026-11-27T09:30")
    assert "待发送（定时）" in page
    scheduled = desk_office.announcements(sim.db)[0]
    assert scheduled["state"] == "scheduled" and scheduled["text"] == "下周一消防检查"
    assert f"/admin/announcements/{scheduled['id']}/cancel" in page
    page = await _post(sim, f"/admin/announcements/{scheduled['id']}/cancel", csrf)
    assert desk_office.announcements(sim.db)[0]["state"] == "cancelled" and "已取消" in page
    assert desk_office.ref_targets(sim.db, f"announcement:{scheduled['id']}") == []


async def test_a_votes_turnout_shows_against_the_buildings_households_and_its_result(sim, clock) -> None:
    sim.db.execute("UPDATE buildings SET households = 10 WHERE id = 'dy-6'")
    await sim.resident("voter", "我住6号楼1单元101")
    csrf = await _staff(sim)
    page = await _post(sim, "/admin/deliberation/topic", csrf, title="楼前空地改建停车位")
    assert "楼前空地改建停车位" in page
    topic = desk_office.topics(sim.db)[0]["id"]
    page = await _post(sim, "/admin/deliberation/vote", csrf, topic=str(topic), deadline="2026-11-28T18:00",
                       scope="b:dy-6", options="同意\n不同意\n再议")
    assert "0/10 户" in page
    assert "已记录" in await sim.resident("voter", "投票 A")
    page = await (await sim.client.get("/admin/deliberation")).text()
    assert "1/10 户（10%）" in page and "6号楼：1/10 户" in page
    clock.advance(days=4)
    assert await sim.app[INTAKE].run_job(close_due_votes) == 1
    page = await (await sim.client.get("/admin/deliberation")).text()
    assert "已结束" in page and "同意：1 票" in page and "再议：0 票" in page and "未通过" in page


async def test_approving_a_wish_on_the_page_changes_its_status_and_tells_the_resident(sim) -> None:
    await sim.resident("granny", "我住3号楼1单元101")
    await sim.resident("granny", "微心愿希望有人陪我去医院")
    csrf = await _staff(sim)
    page = await (await sim.client.get("/admin/wishes")).text()
    wid = desk_office.items(sim.db, "wish", "pending")[0]["id"]
    assert "陪我去医院" in page and f"/admin/wishes/{wid}/review" in page
    page = await _post(sim, f"/admin/wishes/{wid}/review", csrf, decision="approve")
    assert desk_office.items(sim.db, "wish")[0]["status"] == "approved" and "待认领" in page
    assert "陪我去医院" in await (await sim.client.get("/admin/wishes?status=approved")).text()
    assert "陪我去医院" not in await (await sim.client.get("/admin/wishes?status=claimed")).text()
    assert any("心愿" in m for m in await sim.log("resident", "granny"))


async def test_declining_a_wish_tells_the_resident_why(sim) -> None:
    await sim.resident("granny", "我住3号楼1单元101")
    await sim.resident("granny", "微心愿希望有人教我用智能手机")
    csrf = await _staff(sim)
    wid = desk_office.items(sim.db, "wish", "pending")[0]["id"]
    page = await _post(sim, f"/admin/wishes/{wid}/review", csrf, decision="decline", reason="社区下周统一开课")
    assert desk_office.items(sim.db, "wish")[0]["status"] == "declined" and "社区下周统一开课" in page
    await sim.app[DELIVERER].drain()
    assert any("社区下周统一开课" in m for m in await sim.log("resident", "granny"))


async def test_suggestions_newest_first_and_marked_handled(sim) -> None:
    await sim.resident("s1", "我住3号楼1单元101")
    await sim.resident("s1", "建议小区门口装个公告屏")
    await sim.resident("s1", "我觉得可以在楼下放几张椅子")
    csrf = await _staff(sim)
    page = await (await sim.client.get("/admin/suggestions")).text()
    assert page.index("椅子") < page.index("公告屏") and "3号楼" in page and "1单元101" not in page
    first = desk_office.items(sim.db, "suggestion")[-1]["id"]
    page = await _post(sim, f"/admin/suggestions/{first}", csrf, status="handled")
    assert "已处理" in page
    pending = await (await sim.client.get("/admin/suggestions?status=pending")).text()
    assert "椅子" in pending and "公告屏" not in pending


async def test_a_disclosure_answer_reaches_the_requester(sim, clock) -> None:
    await sim.resident("asker", "我住5号楼1单元101")
    await sim.resident("asker", "申请公开 小区停车费收支明细")
    csrf = await _staff(sim)
    page = await (await sim.client.get("/admin/disclosure")).text()
    assert "小区停车费收支明细" in page and "还剩" in page
    clock.advance(days=30)
    page = await (await sim.client.get("/admin/disclosure")).text()
    assert "已超期" in page
    did = desk_office.disclosures(sim.db, "request")[0]["id"]
    page = await _post(sim, f"/admin/disclosure/{did}/answer", csrf, answer="收支明细已张贴在物业公告栏")
    await sim.app[DELIVERER].drain()
    assert any("收支明细已张贴在物业公告栏" in m for m in await sim.log("resident", "asker"))
    assert "已答复" in page


HEADER = "kind,id,userid,name,role,community,grid,head,workers,group,households,lat,lng\r\n"
GOOD = HEADER + "楼栋,dy-9,,9号楼,,dongyang,g1,,,sim,48,34.7515,112.4125\r\n"
BAD = GOOD + "楼栋,dy-10,,10号楼,,dongyang,g9,,,,,,\r\n"


async def _upload(sim, csrf: str, data: bytes, name: str) -> str:
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("file", data, filename=name)
    res = await sim.client.post("/admin/roster", data=form)
    assert res.status == 200
    return await res.text()


async def test_a_roster_with_a_bad_row_imports_nothing_and_a_good_one_imports(sim) -> None:
    csrf = await _staff(sim)
    page = await _upload(sim, csrf, BAD.encode("gbk"), "roster.csv")
    assert "第 3 行" in page and "g9" in page and "没有导入" in page
    assert "9号楼" not in page and org.building(sim.db, "dy-9") is None
    page = await _upload(sim, csrf, GOOD.encode("gbk"), "roster.csv")
    assert "名册已导入" in page and "9号楼" in page and "34.75150" in page
    assert org.building(sim.db, "dy-9")["households"] == 48


async def test_only_an_admin_imports_staff_rows_for_roles_open_the_workbench(sim, aiohttp_client) -> None:
    promote = HEADER + "staff,,sun.hong,孙红,admin,dongyang,,,,,,,\r\n"
    csrf = await _staff(sim)
    page = await _upload(sim, csrf, promote.encode("utf-8"), "roster.csv")
    assert "只有管理员可以导入" in page
    assert accounts.person(sim.db, "sun.hong")["role"] == "staff"
    assert (await sim.client.get("/admin/accounts")).status == 403
    refused = accounts.audit_log(sim.db, action="import_roster_refused")
    assert [(e["actor"], e["subject"]) for e in refused] == [("sun.hong", "roster.csv")]
    admin = await aiohttp_client(sim.app)
    token = await logged_in(admin, sim.db, "zhou.jie")
    new_worker = HEADER + "staff,,zhang.wei,张伟,worker,dongyang,,,,,,,\r\n"
    form = FormData()
    form.add_field("_csrf", token)
    form.add_field("file", new_worker.encode("utf-8"), filename="staff.csv")
    assert "名册已导入" in await (await admin.post("/admin/roster", data=form)).text()
    assert accounts.person(sim.db, "zhang.wei")["role"] == "worker"
    assert [e["actor"] for e in accounts.audit_log(sim.db, action="import_roster")] == ["zhou.jie"]


async def test_an_xlsx_roster_imports_and_the_roster_view_is_audited(sim, tmp_path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "楼栋"
    sheet.append(["id", "name", "community", "grid", "group", "households"])
    sheet.append(["dy-11", "11号楼", "dongyang", "g2", "sim", 60])
    book.save(tmp_path / "roster.xlsx")
    csrf = await _staff(sim)
    page = await _upload(sim, csrf, (tmp_path / "roster.xlsx").read_bytes(), "名册.xlsx")
    assert "11号楼" in page and org.building(sim.db, "dy-11")["grid"] == "g2"
    page = await (await sim.client.get("/admin/roster?building=dy-3")).text()
    assert "刘大爷" in page and "1单元302" in page            # a bound resident, for the office only
    actions = [(e["actor"], e["action"], e["subject"]) for e in accounts.audit_log(sim.db, action="view_roster")]
    assert ("sun.hong", "view_roster", "dy-3") in actions


async def test_a_failed_delivery_retried_from_the_page_is_pending_again(sim, clock) -> None:
    db = sim.db
    with transaction(db):
        oid = outbox.enqueue(db, "resident", "demo-r2", "您的诉求已办结", clock.now())
        outbox.mark_failed(db, oid, "errcode 45015: outside the 48-hour window")
    csrf = await _staff(sim)
    page = await (await sim.client.get("/admin/deliveries")).text()
    assert "刘大爷" in page and f"/admin/deliveries/{oid}/retry" in page
    page = await _post(sim, f"/admin/deliveries/{oid}/retry", csrf)
    assert desk_office.outbox_row(db, oid)["status"] == "pending" and "重新排队" in page
    page = await _post(sim, f"/admin/deliveries/{oid}/retry", csrf)
    assert "不在失败列表" in page


async def test_the_roster_pages_its_residents(sim) -> None:
    with transaction(sim.db):
        sim.db.conn.executemany(
            "INSERT INTO residents (openid, channel, name, building, room, created_at) VALUES (?, 'sim', ?, 'dy-6', ?, ?)",
            [(f"p{i:03}", f"住户{i:03}", f"{100 + i}", "2026-11-25T09:00:00+08:00") for i in range(250)])
    await _staff(sim)
    first = await (await sim.client.get("/admin/roster?building=dy-6")).text()
    assert "住户000" in first and "住户199" in first and "住户200" not in first and "下一页" in first
    second = await (await sim.client.get("/admin/roster?building=dy-6&page=2")).text()
    assert "住户200" in second and "住户249" in second and "住户000" not in second and "下一页" not in second
    details = [e["detail"] for e in accounts.audit_log(sim.db, action="view_roster")]
    assert "page 2" in details
