"""Access log lines without query strings: callbacks carry openids and signatures there."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class PrivateAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s %.1fms", request.remote, request.method, request.path, response.status,
                         time * 1000)
