"""The relay's spans: one producer span per published row, in the trace the row was written in.

A row's span is a child of the ``traceparent`` the outbox stored with it (the write's
span) and lasts until the broker's answer (the confirm time); the message carries the
span's own ``traceparent`` header, so the consumer's span is a child of the publish.
With tracing off, messages keep the stored header and no span is made.
"""

import time
from dataclasses import replace
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from notices_api.core import telemetry
from notices_api.outbox.publisher import Outcome, OutgoingMessage, PublishResult
from notices_contracts.amqp import TRACEPARENT_HEADER

_PROPAGATOR = TraceContextTextMapPropagator()


class PublishSpans:
    """The spans of one batch: ``start`` each message, ``answered`` with the results.

    Leaving the block ends what got no answer (the connection broke): as an error.
    """

    def __init__(self, *, exchange: str) -> None:
        self._exchange = exchange
        self._spans: dict[str, tuple[trace.Span, int]] = {}

    def __enter__(self) -> "PublishSpans":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for span, _ in self._spans.values():
            if exc is not None:
                span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR, "no answer from the broker")
            span.end()
        self._spans.clear()

    def start(self, message: OutgoingMessage, *, event_type: str) -> OutgoingMessage:
        """``message`` with the ``traceparent`` of its new publish span."""
        if not telemetry.tracing_enabled():
            return message
        headers: dict[str, Any] = dict(message.properties.headers)
        parent = _PROPAGATOR.extract(headers)
        started = time.time_ns()
        span = telemetry.tracer.start_span(
            f"publish {self._exchange}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": self._exchange,
                "messaging.rabbitmq.destination.routing_key": message.properties.routing_key,
                "messaging.message.id": message.event_id,
                "notices.outbox.row_id": message.event_id,
                "notices.event.type": event_type,
            },
            start_time=started,
        )
        headers.pop(TRACEPARENT_HEADER, None)
        _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
        self._spans[message.event_id] = (span, started)
        return replace(message, properties=replace(message.properties, headers=headers))

    def answered(self, results: dict[str, PublishResult]) -> None:
        """End each started span with its outcome, at the time the broker answered."""
        for event_id, result in results.items():
            entry = self._spans.pop(event_id, None)
            if entry is None:
                continue
            span, started = entry
            span.set_attribute("notices.outbox.outcome", result.outcome.value)
            end_time = None
            if result.answered_at is not None:
                end_time = int(result.answered_at * 1e9)
                span.set_attribute("notices.outbox.confirm_ms", (end_time - started) / 1e6)
            if result.outcome not in (Outcome.CONFIRMED, Outcome.NOT_SENT):
                span.set_status(trace.StatusCode.ERROR, result.detail or result.outcome.value)
            span.end(end_time=end_time)
