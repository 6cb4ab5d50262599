"""Off without an OTLP endpoint (notices_contracts.tracing); trace ids from the current span."""

import pytest
from django.conf import settings
from opentelemetry import trace

from notices_api.core import telemetry, tracecontext
from notices_api.core.tests.web_process import web_process_output


def test_without_an_endpoint_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert telemetry.configure_tracing(default_service_name="notices-api") is False
    assert not telemetry.tracing_enabled()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not any("opentelemetry" in middleware for middleware in settings.MIDDLEWARE)


def test_the_trace_ids_are_the_current_spans_when_there_is_one() -> None:
    span = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=0x0AF7651916CD43DD8448EB211C80319C,
            span_id=0xB7AD6B7169203331,
            is_remote=False,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    caller = "00-11111111111111111111111111111111-2222222222222222-01"
    with trace.use_span(span):
        context = tracecontext.new_trace_context(request_id="r-1", traceparent=caller)
        assert tracecontext.with_current_span(tracecontext.new_trace_context()).span_id == (
            "b7ad6b7169203331"
        )
    assert context == tracecontext.TraceContext(
        request_id="r-1",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        flags="01",
    )


def test_without_a_span_the_ids_are_made_here_continuing_the_caller() -> None:
    caller = "00-11111111111111111111111111111111-2222222222222222-01"
    context = tracecontext.new_trace_context(request_id="r-1", traceparent=caller)
    assert context.trace_id == "1" * 32
    assert context.span_id != "2" * 16
    assert tracecontext.with_current_span(context) is context


def test_off_the_sdk_and_the_instrumentations_are_never_imported() -> None:
    """The web process with tracing off: the OpenTelemetry API only, no SDK, no hooks."""
    probe = (
        "import sys\n"
        "prefixes = tuple(f'opentelemetry.{p}' for p in ('sdk', 'instrumentation', 'exporter'))\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    assert web_process_output(probe) == "[]"
