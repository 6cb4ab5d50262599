"""structlog, configured once: JSON lines when stderr is not a TTY, pretty when it is.

The standard library's loggers (Django, kombu, gunicorn) go through the same
processors, so every line of the process has one shape and carries the bound
context (request id, trace id, event id).
"""

import logging
import logging.config
import sys
from typing import Any

import structlog


def _render_as_json(log_format: str) -> bool:
    if log_format == "json":
        return True
    if log_format in {"console", "pretty"}:
        return False
    return not sys.stderr.isatty()


def configure_logging(*, log_format: str = "auto", level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if _render_as_json(log_format)
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structlog": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "formatter": "structlog"},
            },
            "root": {"handlers": ["stderr"], "level": level},
            "loggers": {
                # Django logs each request itself; our middleware logs one richer line.
                "django.server": {"level": "WARNING"},
                "django.request": {"level": "ERROR"},
            },
        }
    )
