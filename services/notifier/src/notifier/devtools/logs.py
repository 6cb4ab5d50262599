"""One JSON line per event when stderr is not a TTY, readable lines when it is."""

import logging
import sys

import structlog


def configure_devtool_logging(*, level: int = logging.INFO) -> None:
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    # aiosmtpd and uvicorn log every connection; only their problems matter here.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
