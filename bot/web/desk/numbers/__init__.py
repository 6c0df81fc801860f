"""The workbench's numbers (统计) and map of the community's buildings (issue 15, point 3)."""

from __future__ import annotations

from bot.web.desk.numbers.pages import routes

__all__ = ["routes"]
