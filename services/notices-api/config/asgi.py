import os
from importlib import import_module

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
# The API's /metrics reports the outbox backlog, registered on import (after setup: it
# reads a model); the relay process, which exports its own figures, never loads it.
import_module("notices_api.outbox.backlog")
