"""Logging: one line per event, JSON by default (``PACEBOARD_LOG_FORMAT=json|text``), each line of
a request carrying its request id; secrets that travel in URLs are cut to their prefix in every
line, whichever logger wrote it."""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

#: The id of the request being served (from X-Request-ID, or made up); "-" outside a request.
request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestId(logging.Filter):
    """Puts the current request id on every record (``%(request_id)s``, ``request_id`` in JSON)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


def config(level: str = "info", fmt: str = "json") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server: paceboard's and uvicorn's loggers to stderr.

    uvicorn's own access log is replaced by ``paceboard.access`` (app/api/observe.py), which
    knows the request id, the route and the time taken.
    """
    level = level.upper()
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "json_ensure_ascii": False,
        }
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestId},
            "redact": {"()": "app.api.security.RedactSecrets"},
        },
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id", "redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "paceboard": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "alembic": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def configure(level: str = "info", fmt: str = "json") -> None:
    logging.config.dictConfig(config(level, fmt))
