"""A resident tells the bot where they live (绑定 3号楼2单元502): the building their reports go to."""

from __future__ import annotations

from bot.router import Intent, Role, Router
from handlers.context import Ctx
from language import address
from language.texts import t
from storage import org, people

router = Router("binding", Role("resident"))


@router.message(Intent("bind"))
def bind_intent(ctx: Ctx, me: dict, text: str) -> None:
    b = address.find_building(text, org.buildings(ctx.db))
    if b is None:
        ctx.say(t("resident.bind_unknown"))
        return
    bind(ctx, me, text, b)


def bind(ctx: Ctx, me: dict, text: str, b: dict, quiet: bool = False) -> None:
    parsed = address.parse(text)
    room = address.room_label(parsed) if parsed.building_no is not None or parsed.unit else None
    changed = me["building"] is not None and me["building"] != b["id"]
    people.update_resident(ctx.db, me["openid"], building=b["id"], unit=parsed.unit,
                           room=room or (me["room"] if me["building"] == b["id"] else None))
    me.update(building=b["id"])
    if not quiet:
        ctx.say(t("resident.bound_changed" if changed else "resident.bound", building=b["name"], room=room or ""))
