"""The office's pages of the workbench (staff and admin): 公告, 亲邻议事, 微心愿, 需求清单, 公开, the roster
and failed deliveries; one module per page group, all on one route table."""

from bot.web.desk.office import (  # noqa: F401 - each module adds its pages to `routes`
    announcements,
    deliberation,
    deliveries,
    disclosure,
    roster,
    wishes,
)
from bot.web.desk.office.common import routes

__all__ = ["routes"]
