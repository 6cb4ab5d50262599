"""Request id and W3C trace context of the work in progress, carried into outbox events.

Bound in contextvars by the HTTP middleware (or a command, with unit_of_work), read
by the outbox when it writes an event, so the same ids reach the relay and the notifier.
An event written with nothing bound (shell, a command without unit_of_work) gets a
fresh context of its own.

With OpenTelemetry tracing on (core.telemetry), the ids are those of the current span
(which continued the caller's trace already); off, they are made here the same way.
"""

import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from opentelemetry import trace

_TRACEPARENT = re.compile(
    r"^00-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class TraceContext:
    request_id: str
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


_current: ContextVar[TraceContext | None] = ContextVar("notices_trace_context", default=None)


def new_trace_context(
    *, request_id: str | None = None, traceparent: str | None = None
) -> TraceContext:
    """A context for one unit of work, continuing the caller's trace when it sent one."""
    request_id = request_id if request_id and _REQUEST_ID.match(request_id) else uuid.uuid4().hex
    if (spanned := _of_current_span(request_id)) is not None:
        return spanned
    match = _TRACEPARENT.match(traceparent or "")
    valid_trace = match is not None and match["trace_id"] != "0" * 32
    return TraceContext(
        request_id=request_id,
        trace_id=match["trace_id"] if valid_trace and match else secrets.token_hex(16),
        span_id=secrets.token_hex(8),
        flags=match["flags"] if valid_trace and match else "01",
    )


def with_current_span(context: TraceContext) -> TraceContext:
    """``context`` with the ids of the current span, when there is one (tracing on)."""
    return _of_current_span(context.request_id) or context


def _of_current_span(request_id: str) -> TraceContext | None:
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None
    return TraceContext(
        request_id=request_id,
        trace_id=trace.format_trace_id(span.trace_id),
        span_id=trace.format_span_id(span.span_id),
        flags=f"{span.trace_flags:02x}",
    )


def activate(context: TraceContext) -> None:
    _current.set(context)
    structlog.contextvars.bind_contextvars(
        request_id=context.request_id, trace_id=context.trace_id, span_id=context.span_id
    )


def deactivate() -> None:
    _current.set(None)
    structlog.contextvars.unbind_contextvars("request_id", "trace_id", "span_id")


def current_trace_context() -> TraceContext | None:
    return _current.get()


@contextmanager
def unit_of_work() -> Iterator[TraceContext]:
    """Everything in the block shares one trace: the bound one, else a fresh one for the block."""
    bound = current_trace_context()
    if bound is not None:
        yield bound
        return
    context = new_trace_context()
    activate(context)
    try:
        yield context
    finally:
        deactivate()
