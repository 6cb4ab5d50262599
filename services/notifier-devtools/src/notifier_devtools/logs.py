"""The dev servers log like the notifier, without the per-connection chatter of their libraries."""

import logging

from notifier.logging import configure_logging


def configure_devtool_logging() -> None:
    configure_logging()
    # aiosmtpd logs every connection; only its problems matter here (uvicorn is started
    # with log_level="warning" for the same reason).
    logging.getLogger("mail.log").setLevel(logging.WARNING)
