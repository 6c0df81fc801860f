"""The public board at /public: disclosure items, answered requests and vote results, no personal data."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiohttp import web
from sqlite_utils import Database

from bot.keys import INTAKE
from language.texts import t
from storage import deliberation as store

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:760px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.6}}h1{{color:#07c160}}h2{{border-bottom:1px solid #ddd;padding-bottom:.2em}}
article{{margin:1em 0;padding:.6em 1em;background:#f7f7f7;border-radius:6px}}small{{color:#888}}</style>
</head><body><h1>{title}</h1>{sections}</body></html>"""


def _section(heading: str, items: list[str]) -> str:
    body = "".join(items) or f"<p>{escape(t('public.empty'))}</p>"
    return f"<section><h2>{escape(heading)}</h2>{body}</section>"


def _when(stamp: str | None, fmt: str = "plain.date_time") -> str:
    """A stored ISO time as an office writes it (2026年11月25日 09:00), in the zone it was stored with."""
    try:
        return datetime.fromisoformat(stamp or "").strftime(t(fmt))
    except ValueError:
        return ""


def _item(title: str, body: str, when: str) -> str:
    return (f"<article><strong>{escape(title)}</strong><p>{escape(body).replace(chr(10), '<br>')}</p>"
            f"<small>{escape(_when(when))}</small></article>")


def _disclosures(db: Database) -> tuple[list[str], list[str]]:
    """Staff's own items as they wrote them; a resident's request only as its number and state, with
    staff's answer once given (the request's text and who asked never reach this page)."""
    proactive, requests = [], []
    for d in store.public_disclosures(db):
        if d["kind"] == "proactive":
            proactive.append(_item(d["title"] or "", d["body"] or "", d["created_at"]))
            continue
        title = t("public.request_title", id=d["id"])
        if d["status"] == "answered":
            body = f"{t('public.answered')}\n{t('public.answer')}：{d['answer'] or ''}"
            requests.append(_item(title, body, d["answered_at"] or d["created_at"]))
        else:
            requests.append(_item(title, t("public.pending", due=_when(d["due_at"], "plain.date")), d["created_at"]))
    return proactive, requests


def _vote_summary(v: dict) -> str:
    """Counts per option and turnout; turnout never above 100%, whatever an older result stored."""
    r = v["result"]
    lines = "\n".join(f"{o}：{c}" for o, c in zip(v["options"], r.get("counts", []), strict=False))
    verdict = t("delib.passed") if r.get("passed") else t("delib.failed")
    eligible = int(r.get("eligible", 0))
    voted = min(int(r.get("voted", 0)), eligible)
    participation = min(float(r.get("participation", 0)), 1.0)
    return t("public.vote_summary", lines=lines, voted=voted, eligible=eligible,
             participation=f"{participation * 100:.1f}%", approval=f"{float(r.get('approval', 0)) * 100:.1f}%",
             verdict=verdict)


def render(db: Database) -> str:
    proactive, requests = _disclosures(db)
    votes = [_item(t("public.vote_title", vote=v["id"], question=v["question"]), _vote_summary(v), v["deadline"])
             for v in store.closed_votes(db)]
    sections = (_section(t("public.proactive"), proactive) + _section(t("public.requests"), requests)
                + _section(t("public.votes"), votes))
    return PAGE.format(title=escape(t("public.title")), sections=sections)


async def public(request: web.Request) -> web.Response:
    intake = request.app[INTAKE]
    html = await intake.writer.call(render, intake.db)
    return web.Response(text=html, content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/public", public)
