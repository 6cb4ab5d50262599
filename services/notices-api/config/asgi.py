import os

from django.core.asgi import get_asgi_application

from notices_api.core.telemetry import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# Before the application loads its middleware: Django's instrumentation adds its own.
configure_tracing(default_service_name="notices-api")
application = get_asgi_application()
