"""The dev servers log like the notifier, without the per-connection chatter of their libraries."""

import logging

from notifier.logging import configure_logging


def configure_devtool_logging() -> None:
    configure_logging()
    # aiosmtpd and uvicorn log every connection; only their problems matter here.
    logging.getLogger().setLevel(logging.WARNING)
