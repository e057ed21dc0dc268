"""Logging for `serve`: the access log, uvicorn's messages and the application's, all on stderr.

`log_level` is the level of the site's own loggers (`dailypapers.*`, among them the access log
`dailypapers.access`, one line per request at info) and of uvicorn's; other libraries log only their
warnings and errors. `log_format = "json"` writes one JSON object per line for log shippers: ts, level,
logger, message, pid; access lines add client, method, path, query, route, status and duration_ms; an
exception adds its traceback as `exception`.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import datetime, timezone

import orjson

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("text", "json")
ACCESS_FIELDS = ("client", "method", "path", "query", "route", "status", "duration_ms")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OURS = ("dailypapers", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def logging_config(level: str, fmt: str) -> dict:
    """The `logging.config.dictConfig` for `log_level` and `log_format`; ValueError says what is wrong."""
    level, fmt = str(level).strip().lower(), str(fmt).strip().lower()
    if level not in LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    formatter = {"()": "dailypapers.logs.JSONFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    others = level if LEVELS.index(level) > LEVELS.index("warning") else "warning"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "default"}},
        # One handler, on the root: these only set their level (and lose uvicorn's own handlers, if set before).
        "loggers": {name: {"level": level.upper(), "handlers": [], "propagate": True} for name in OURS},
        "root": {"level": others.upper(), "handlers": ["stderr"]},
    }


def configure(config) -> dict:
    """Set up logging from the settings `log_level` and `log_format`; the configuration, for uvicorn to
    apply again in each worker process. ValueError for a bad setting."""
    settings = logging_config(config.log_level, config.log_format)
    logging.config.dictConfig(settings)
    return settings


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker process
        }
        fields = record.__dict__
        for name in ACCESS_FIELDS:
            if name in fields:
                entry[name] = fields[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()
