"""The workbench's office pages (being built; see issue 15)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
