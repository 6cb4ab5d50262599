"""When a process of the platform traces: one rule for notices-api, its relay and the notifier.

Tracing (OpenTelemetry, OTLP/HTTP) is on when an OTLP endpoint is set,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``, and
``OTEL_SDK_DISABLED`` is not ``true``; the services name themselves ``OTEL_SERVICE_NAME``,
else their default. Standard library only: each service sets up the SDK itself.
"""

import os


def tracing_requested() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT", ""
    )
    return bool(endpoint.strip())


def service_name(default: str) -> str:
    return os.environ.get("OTEL_SERVICE_NAME", "").strip() or default
