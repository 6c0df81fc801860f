"""How an outgoing target is reached: the channel (`via`) and address of an outbox row.

A row names who it is for (a resident, a staff member, a building's group, a fan-out to a building's
residents); the channel follows from the configuration: the Official Account or the simulator for a
resident, WeCom or the simulator for staff, a group robot, a WeCom app chat, a fan-out or the
simulator for a building. Adding a channel means a `via` here, its API in `API_OF` and its sender in
`bot/channels/senders.py`; the outbox (bot/outbox.py) only moves rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.config import Settings
from storage import org, people

# finished without a network call: the simulator's log, a fan-out into per-resident rows, undeliverable
LOCAL = frozenset({"sim", "none", "fanout"})
# the API behind each channel: one that does not answer says nothing about another
API_OF = {"oa": "oa", "wecom": "wecom", "appchat": "wecom", "robot": "robot"}
VIAS = {api: tuple(v for v, a in API_OF.items() if a == api) for api in set(API_OF.values())}
# per-target limits: channel -> (messages, per seconds). A group robot takes 20 messages a minute.
RATE_LIMITS = {"robot": (20, 60.0)}


@dataclass(frozen=True)
class Route:
    via: str          # sim | oa | wecom | robot | appchat | fanout | none
    address: str = ""
    log_kind: str = ""
    log_id: str = ""


def route(db: Database, row: dict, settings: Settings, wecom_configured: bool) -> Route:
    """The channel and address of one outbox row."""
    kind, target = row["target_kind"], row["target_id"]
    if kind == "resident":
        r = people.resident(db, target)
        if r is None:
            return Route("none", "unknown resident")
        return Route("oa" if r["channel"] == "oa" else "sim", target, "resident", target)
    if kind == "staff":
        return Route("wecom" if wecom_configured else "sim", target, "staff", target)
    if kind == "fanout":
        return Route("fanout", target, "group", target)
    return _group(org.building(db, target), target, settings)


def _group(b: dict | None, target: str, settings: Settings) -> Route:
    """A building's group chat, as configured on the building (`grp`)."""
    group = (b or {}).get("grp") or ""
    if group.startswith("robot:"):
        return Route("robot", group[6:], "group", target)
    if group.startswith("appchat:"):
        return Route("appchat", group[8:], "group", target)
    if group == "fanout":
        return Route("fanout", target, "group", target)
    if group == "sim" or (group and not settings.wecom.enabled):
        return Route("sim", target, "group", target)
    return Route("none", "building has no group")
