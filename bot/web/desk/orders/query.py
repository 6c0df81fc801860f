"""The list's filters in the URL: read from a GET query string (so a filtered list can be bookmarked and
shared) and written back into links (pages, the ledger button). Anything unknown or malformed is read
as "not narrowed", never as an error: a link typed by hand still opens a list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.web.desk.pages import form_date
from language.rules import CATEGORIES
from storage.workorders import FAMILIES, MAX_PAGE, SORTS, Filters

# query-string names, in the order links write them
FIELDS = ("state", "grid", "building", "category", "urgent", "overdue", "unsat", "from", "to", "q", "sort")
_FLAGS = {"urgent": "urgent", "overdue": "overdue", "unsat": "unsatisfied"}
MAX_QUERY = 40


def read(args: Mapping[str, str], zone: ZoneInfo) -> tuple[Filters, int]:
    """Filters and the page number from a query string; dates are whole days on the office's clock."""
    family = args.get("state", "open")
    since, until = form_date(args.get("from", "")), form_date(args.get("to", ""))
    category = args.get("category", "")
    f = Filters(
        family=family if family in FAMILIES else "open",
        grid=args.get("grid", "").strip()[:MAX_QUERY], building=args.get("building", "").strip()[:MAX_QUERY],
        category=category if category in CATEGORIES else "",
        since=datetime.combine(since, time(), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        q=" ".join(args.get("q", "").split())[:MAX_QUERY],
        sort=args.get("sort", "new") if args.get("sort", "new") in SORTS else "new",
        extra={"from": since.isoformat() if since else "", "to": until.isoformat() if until else ""},
        **{attr: args.get(name) == "1" for name, attr in _FLAGS.items()},
    )
    try:
        number = max(1, min(int(args.get("page", "1")), MAX_PAGE))
    except ValueError:
        number = 1
    return f, number


def values(f: Filters) -> dict[str, str]:
    """The query-string values of `f` that differ from the defaults."""
    out = {"state": f.family if f.family != "open" else "", "grid": f.grid, "building": f.building,
           "category": f.category, "from": f.extra.get("from", ""), "to": f.extra.get("to", ""), "q": f.q,
           "sort": f.sort if f.sort != "new" else ""}
    out.update({name: "1" if getattr(f, attr) else "" for name, attr in _FLAGS.items()})
    return {k: out[k] for k in FIELDS if out.get(k)}


def link(f: Filters, **more: object) -> str:
    """`?…` of `f` plus `more` (a page number, a format), empty values left out."""
    pairs = {**values(f), **{k: str(v) for k, v in more.items() if v not in (None, "")}}
    return "?" + urlencode(pairs) if pairs else ""
