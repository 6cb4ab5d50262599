"""OpenTelemetry tracing of the API and the relay, set up from the standard ``OTEL_*`` variables.

Tracing is on when ``notices_contracts.tracing`` says so (an OTLP endpoint is set, the
SDK is not disabled). Then the process gets a TracerProvider named ``OTEL_SERVICE_NAME``
(else the default it passes), exporting OTLP/HTTP through a batch span processor
(``OTEL_BSP_*``, ``OTEL_TRACES_SAMPLER`` and the other ``OTEL_EXPORTER_OTLP_*`` variables
apply as the SDK reads them), and the Django, psycopg and httpx instrumentations. Off,
nothing is installed or even imported: ``tracer`` is OpenTelemetry's no-op, and trace ids
stay the hand-made ones of tracecontext.
"""

from opentelemetry import trace

from notices_contracts.tracing import service_name, tracing_requested

tracer = trace.get_tracer("notices_api")
_provider: trace.TracerProvider | None = None


def tracing_enabled() -> bool:
    return _provider is not None


def configure_tracing(*, default_service_name: str) -> bool:
    """Install tracing once per process if the environment asks for it; True when it is on."""
    global _provider
    if _provider is not None or not tracing_requested():
        return tracing_enabled()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name(default_service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(tracer_provider=provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    return True
