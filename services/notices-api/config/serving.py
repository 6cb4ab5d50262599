"""What the WSGI and ASGI entry points share: settings, tracing, the application, then a
frozen start-up heap (``notices_contracts.heap``)."""

import os
from collections.abc import Callable
from importlib import import_module
from typing import TypeVar

from notices_api.core.telemetry import configure_tracing
from notices_contracts.heap import freeze_startup_heap

Application = TypeVar("Application")


def load_application(load: Callable[[], Application]) -> Application:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    # Before the application loads its middleware: Django's instrumentation adds its own.
    configure_tracing(default_service_name="notices-api")
    application = load()
    # The API's /metrics reports the outbox backlog, registered on import (after setup: it
    # reads a model); the relay process, which exports its own figures, never loads it.
    import_module("notices_api.outbox.backlog")
    freeze_startup_heap()
    return application
