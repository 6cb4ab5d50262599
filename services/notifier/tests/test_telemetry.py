"""The notifier's spans: the consumed batch and each send; nothing of it with tracing off."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from notifier import telemetry
from notifier.channels.base import Outcome, SendResult
from notifier.ledger.claims import DueRow

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
EVENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{EVENT_SPAN_ID}-01"


@pytest.fixture
def finished_spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Tracing on for the test (the module's tracer, no global provider): its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "_provider", provider)
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("notifier"))
    return exporter


def _row(traceparent: str | None = TRACEPARENT) -> DueRow:
    now = datetime.now(UTC)
    return DueRow(
        id=uuid.uuid4(),
        notice_id=uuid.uuid4(),
        channel="webhook",
        kind="event",
        target_id=uuid.uuid4(),
        attempt_count=2,
        due_at=now,
        last_error=None,
        last_status_code=None,
        urgent=False,
        body=b"{}",
        event_id=uuid.uuid4(),
        event_time=now,
        correlation_id="r-1",
        traceparent=traceparent,
    )


async def _result(outcome: Outcome, status_code: int | None = None) -> SendResult:
    return SendResult(outcome, status_code=status_code, error=None)


async def test_off_nothing_is_added() -> None:
    assert telemetry.broker_middlewares() == []
    with telemetry.consume_batch_span([]):
        pass
    result = await telemetry.traced_send(_row(), _result(Outcome.DELIVERED))
    assert result.outcome is Outcome.DELIVERED
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_on_the_broker_gets_faststreams_telemetry_middleware(
    finished_spans: InMemorySpanExporter,
) -> None:
    (middleware,) = telemetry.broker_middlewares()
    assert isinstance(middleware, RabbitTelemetryMiddleware)


async def test_a_send_is_a_span_in_its_events_trace_with_channel_attempt_and_outcome(
    finished_spans: InMemorySpanExporter,
) -> None:
    row = _row()
    result = await telemetry.traced_send(row, _result(Outcome.DELIVERED, 204))
    assert result.outcome is Outcome.DELIVERED
    (send,) = finished_spans.get_finished_spans()
    assert send.name == "deliver webhook"
    assert trace.format_trace_id(send.context.trace_id) == TRACE_ID
    assert send.parent is not None
    assert trace.format_span_id(send.parent.span_id) == EVENT_SPAN_ID
    assert send.attributes == {
        "notices.delivery.id": str(row.id),
        "notices.delivery.channel": "webhook",
        "notices.delivery.kind": "event",
        "notices.delivery.attempt": 2,
        "notices.event.id": str(row.event_id),
        "notices.delivery.outcome": "delivered",
        "notices.delivery.status_code": 204,
    }
    assert send.status.status_code is trace.StatusCode.UNSET


async def test_a_send_to_retry_is_an_error_and_one_without_a_trace_starts_its_own(
    finished_spans: InMemorySpanExporter,
) -> None:
    await telemetry.traced_send(_row(traceparent=None), _result(Outcome.RETRY, 503))
    (send,) = finished_spans.get_finished_spans()
    assert send.parent is None
    assert send.status.status_code is trace.StatusCode.ERROR


def test_a_batch_of_one_is_a_child_of_its_publish_and_a_larger_one_links_each(
    finished_spans: InMemorySpanExporter,
) -> None:
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    one: list[Any] = [SimpleNamespace(headers={"traceparent": TRACEPARENT})]
    two: list[Any] = [
        *one,
        SimpleNamespace(headers={"traceparent": other}),
        SimpleNamespace(headers={}),
    ]
    with telemetry.tracer.start_as_current_span("the batcher's own"):
        with telemetry.consume_batch_span(one):
            pass
        with telemetry.consume_batch_span(two):
            pass
    single, batch, _ = finished_spans.get_finished_spans()
    assert single.parent is not None
    assert trace.format_span_id(single.parent.span_id) == EVENT_SPAN_ID
    assert not single.links
    assert batch.parent is None
    assert [
        (trace.format_trace_id(link.context.trace_id), trace.format_span_id(link.context.span_id))
        for link in batch.links
    ] == [(TRACE_ID, EVENT_SPAN_ID), ("1" * 32, "2" * 16)]
    assert batch.attributes == {"messaging.system": "rabbitmq", "messaging.batch.message_count": 3}


def test_off_the_sdk_and_the_instrumentations_are_never_imported() -> None:
    """Tracing off costs what importing the OpenTelemetry API costs: no SDK, no hooks."""
    probe = (
        "import sys\n"
        "from notifier import telemetry\n"
        "from notifier.store.db import create_engine\n"
        "assert telemetry.configure_tracing() is False\n"
        "telemetry.instrument_engine(create_engine('sqlite+aiosqlite://'))\n"
        "assert telemetry.broker_middlewares() == []\n"
        "prefixes = tuple(f'opentelemetry.{p}' for p in ('sdk', 'instrumentation', 'exporter'))\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    found = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


async def _instrumented_send() -> SendResult:
    """A send that reports whether the HTTP client instrumentation would trace it."""
    from opentelemetry.instrumentation.utils import is_http_instrumentation_enabled

    return SendResult(Outcome.DELIVERED, error=str(is_http_instrumentation_enabled()))


async def test_a_send_in_an_unsampled_trace_leaves_the_http_instrumentation_out(
    finished_spans: InMemorySpanExporter,
) -> None:
    """Its span would be dropped anyway; the instrumentation's request attributes and
    metrics cost a sizeable share of a webhook send's CPU (docs/performance.md)."""
    unsampled = await telemetry.traced_send(
        _row(traceparent=TRACEPARENT.removesuffix("01") + "00"), _instrumented_send()
    )
    sampled = await telemetry.traced_send(_row(), _instrumented_send())
    assert (unsampled.error, sampled.error) == ("False", "True")
    assert [span.name for span in finished_spans.get_finished_spans()] == ["deliver webhook"]
