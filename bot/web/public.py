"""The public board at /public: disclosure items, answered requests and vote results, no personal data."""

from __future__ import annotations

from html import escape

from aiohttp import web

from bot.keys import CORE
from bot.texts import t
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


def _item(title: str, body: str, when: str) -> str:
    return (f"<article><strong>{escape(title)}</strong><p>{escape(body).replace(chr(10), '<br>')}</p>"
            f"<small>{escape(when[:16].replace('T', ' '))}</small></article>")


def render(db) -> str:
    proactive, requests = [], []
    for d in store.public_disclosures(db):
        if d["kind"] == "proactive":
            proactive.append(_item(d["title"], d["body"] or "", d["created_at"]))
        elif d["status"] == "answered":
            requests.append(_item(d["title"], f"{t('public.answer')}：{d['answer']}", d["answered_at"]))
        else:
            requests.append(_item(d["title"], t("public.pending", due=(d["due_at"] or "")[:10]), d["created_at"]))
    votes = []
    for v in store.closed_votes(db):
        r = v["result"]
        lines = "\n".join(f"{o}：{c}" for o, c in zip(v["options"], r.get("counts", []), strict=False))
        verdict = t("delib.passed") if r.get("passed") else t("delib.failed")
        summary = (f"{lines}\n{r.get('voted', 0)}/{r.get('eligible', 0)}，"
                   f"{r.get('participation', 0) * 100:.1f}% / {r.get('approval', 0) * 100:.1f}% — {verdict}")
        votes.append(_item(f"投票{v['id']}：{v['question']}", summary, v["deadline"]))
    sections = (_section(t("public.proactive"), proactive) + _section(t("public.requests"), requests)
                + _section(t("public.votes"), votes))
    return PAGE.format(title=escape(t("public.title")), sections=sections)


async def public(request: web.Request) -> web.Response:
    core = request.app[CORE]
    html = await core.call(render, core.db)
    return web.Response(text=html, content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/public", public)
