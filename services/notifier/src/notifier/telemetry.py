"""OpenTelemetry tracing of the notifier, set up from the standard ``OTEL_*`` variables.

Tracing is on when ``notices_contracts.tracing`` says so (an OTLP endpoint is set, the
SDK is not disabled). Then the process gets a TracerProvider named ``OTEL_SERVICE_NAME``
(else ``notifier``), exporting OTLP/HTTP through a batch span processor (``OTEL_BSP_*``,
``OTEL_TRACES_SAMPLER`` and the other ``OTEL_EXPORTER_OTLP_*`` variables apply as the SDK
reads them), the httpx and
SQLAlchemy instrumentations and FastStream's telemetry middleware, whose consume span is
a child of the relay's publish (the message's ``traceparent`` header). Off, nothing is
installed or even imported, and the functions below only call through.

Spans of our own: a batch of consumed messages (child of the message's publish when the
batch holds one, else linked to each), and each delivery's send, a child of the span
that wrote its event (the ``traceparent`` its ledger row keeps). A send in a trace the
sampler dropped runs with the HTTP client instrumentation suppressed.
"""

import contextlib
from collections.abc import Awaitable, Iterator, Sequence
from typing import Any

from faststream.rabbit import RabbitMessage
from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.ext.asyncio import AsyncEngine

from notices_contracts.amqp import TRACEPARENT_HEADER
from notices_contracts.tracing import service_name, tracing_requested
from notifier.channels.base import Outcome, SendResult
from notifier.ledger.claims import DueRow

DEFAULT_SERVICE_NAME = "notifier"

tracer = trace.get_tracer("notifier")
_provider: trace.TracerProvider | None = None
_PROPAGATOR = TraceContextTextMapPropagator()


def configure_tracing() -> bool:
    """Install tracing once per process if the environment asks for it; True when it is on."""
    global _provider
    if _provider is not None or not tracing_requested():
        return _provider is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name(DEFAULT_SERVICE_NAME)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    return True


def instrument_engine(engine: AsyncEngine) -> None:
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses unchanged.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=_provider, skip_dep_check=True
    )


def broker_middlewares() -> list[Any]:
    """FastStream's telemetry middleware when tracing is on."""
    if _provider is None:
        return []
    from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware

    return [RabbitTelemetryMiddleware(tracer_provider=_provider)]


@contextlib.contextmanager
def consume_batch_span(messages: Sequence[RabbitMessage]) -> Iterator[None]:
    """The span of one consumed batch, in the messages' traces rather than the batcher's."""
    if _provider is None:
        yield
        return
    published = [_PROPAGATOR.extract(message.headers or {}) for message in messages]
    links = [trace.Link(trace.get_current_span(c).get_span_context()) for c in published]
    with tracer.start_as_current_span(
        "consume batch",
        context=published[0] if len(messages) == 1 else context.Context(),
        kind=trace.SpanKind.CONSUMER,
        links=None if len(messages) == 1 else [link for link in links if link.context.is_valid],
        attributes={"messaging.system": "rabbitmq", "messaging.batch.message_count": len(messages)},
    ):
        yield


async def traced_send(row: DueRow, send: Awaitable[SendResult]) -> SendResult:
    """Await one delivery's send in a span of its own, with channel, attempt and outcome."""
    if _provider is None:
        return await send
    parent = _PROPAGATOR.extract({TRACEPARENT_HEADER: row.traceparent or ""})
    with tracer.start_as_current_span(
        f"deliver {row.channel}",
        context=parent,
        kind=trace.SpanKind.CLIENT,
        attributes={
            "notices.delivery.id": str(row.id),
            "notices.delivery.channel": row.channel,
            "notices.delivery.kind": row.kind,
            "notices.delivery.attempt": row.attempt_count,
            "notices.event.id": str(row.event_id),
        },
    ) as span:
        if span.is_recording():
            result = await send
        else:
            # An unsampled trace: the httpx instrumentation would still build its request
            # attributes and record its metrics for a span nobody keeps.
            from opentelemetry.instrumentation.utils import suppress_http_instrumentation

            with suppress_http_instrumentation():
                result = await send
        span.set_attribute("notices.delivery.outcome", result.outcome.value)
        if result.status_code is not None:
            span.set_attribute("notices.delivery.status_code", result.status_code)
        if result.outcome is not Outcome.DELIVERED:
            span.set_status(trace.StatusCode.ERROR, result.error or result.outcome.value)
    return result
