"""One shape for every line of the process: JSON when not on a TTY (or LOG_FORMAT=json),
readable lines otherwise.

structlog's events and the records of every standard-library logger (FastStream,
uvicorn, aio-pika, SQLAlchemy, ...) reach a single root handler and its
ProcessorFormatter; no other handler writes to the process's streams.
"""

import logging
import sys
from typing import Any

import structlog

# Libraries that attach handlers of their own at import or start-up (FastStream's module
# logger at import, uvicorn when handed a log config): their records go to the root too.
_SELF_HANDLED_LOGGERS = ("faststream", "uvicorn", "uvicorn.error", "uvicorn.access")
# FastStream passes the message it is handling as extras of its records.
_FASTSTREAM_CONTEXT = ("message_id", "queue", "exchange")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (version-traceid-parentid-flags)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


def configure_logging(*, log_format: str = "auto", level: str = "INFO") -> None:
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    # JSON carries a traceback as one string; the console prints it as Python does, the
    # same whether or not rich happens to be installed.
    rendering: list[Any] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if as_json
        else [structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]
    )
    numeric_level = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(_FASTSTREAM_CONTEXT)],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *rendering,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    for name in _SELF_HANDLED_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers = []
        library_logger.propagate = True
