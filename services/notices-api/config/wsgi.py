import os
from importlib import import_module

from django.core.wsgi import get_wsgi_application

from notices_api.core.telemetry import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# Before the application loads its middleware: Django's instrumentation adds its own.
configure_tracing(default_service_name="notices-api")
application = get_wsgi_application()
# The API's /metrics reports the outbox backlog, registered on import (after setup: it
# reads a model); the relay process, which exports its own figures, never loads it.
import_module("notices_api.outbox.backlog")
