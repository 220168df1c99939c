"""Structured logs: every line can carry the request, user and room it concerns.

Context variables travel with the request and into the tasks it starts (a step's task copies
the context of the request that began it), so a step's log lines name its room and player.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["request_id", "user_id", "room_id", "JsonFormatter", "configure_logging"]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
room_id: ContextVar[str | None] = ContextVar("room_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            "user_id": user_id.get(),
            "room_id": room_id.get(),
        }
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(*, json_lines: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # pgserver narrates every initdb and pg_ctl at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # In text mode uvicorn writes its own access log; in JSON mode ours replaces it.
    logging.getLogger("exquisite.access").setLevel(logging.INFO if json_lines else logging.WARNING)
