"""Access log lines without query strings: callbacks carry openids and signatures there.

Ordinary requests are logged at DEBUG: at INFO (how `minsheng serve` runs) formatting and writing a
line per callback cost about a third of what a bare aiohttp handler can serve on one core. Failed
(status >= 400) and slow requests are still logged at INFO.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from bot.logsafe import LIMITED

SLOW_SECONDS = 1.0


class PrivateAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        level = logging.INFO if response.status >= 400 or time >= SLOW_SECONDS else logging.DEBUG
        if not self.logger.isEnabledFor(level):
            return
        args = (request.remote, request.method, request.path, response.status, time * 1000)
        if response.status >= 400:   # a flood of refused requests: a few lines and a count
            LIMITED.log(self.logger, level, f"access {request.path} {response.status}", "%s %s %s %s %.1fms", *args)
        else:
            self.logger.log(level, "%s %s %s %s %.1fms", *args)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
