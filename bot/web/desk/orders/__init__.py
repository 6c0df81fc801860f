"""Work orders (工单): the list of petitions with its board (the workbench's home), one petition's page
and its actions, and the ledger of the list as filtered. The modules below add their routes here."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

# each module below adds its routes to `routes`
from bot.web.desk.orders import detail, listing

__all__ = ["detail", "listing", "routes"]
