"""The spans of the outbox: the write, and the relay's publish of each row until its confirm."""

import time
import uuid
from datetime import UTC, datetime

import pytest
from django.db import transaction
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from notices_api.core import telemetry
from notices_api.outbox.publisher import (
    BrokerUnavailableError,
    Outcome,
    OutgoingMessage,
    PublishResult,
)
from notices_api.outbox.services import outbox_event_record
from notices_api.outbox.tracing import PublishSpans
from notices_contracts import AmqpProperties, NoticeArchivedV1

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
ROW_SPAN_ID = "b7ad6b7169203331"


def _message(event_id: str = "0197c3a0-0000-7000-8000-000000000001") -> OutgoingMessage:
    return OutgoingMessage(
        event_id=event_id,
        body=b"{}",
        properties=AmqpProperties(
            message_id=event_id,
            type="notices.notice.archived.v1",
            timestamp=datetime.now(UTC),
            correlation_id="r-1",
            headers={"traceparent": f"00-{TRACE_ID}-{ROW_SPAN_ID}-01"},
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_the_event_carries_the_span_of_its_outbox_write(
    finished_spans: InMemorySpanExporter,
) -> None:
    notice_id = uuid.uuid4()
    with telemetry.tracer.start_as_current_span("request") as request, transaction.atomic():
        event = outbox_event_record(
            data=NoticeArchivedV1(notice_id=notice_id, archived_at=datetime.now(UTC)),
            aggregate_id=notice_id,
        )
    (write,) = [span for span in finished_spans.get_finished_spans() if span.name != "request"]
    assert write.name == "outbox write notices.notice.archived.v1"
    assert write.parent is not None
    assert write.parent.span_id == request.get_span_context().span_id
    assert write.attributes == {
        "notices.outbox.row_id": str(event.id),
        "notices.event.type": "notices.notice.archived.v1",
    }
    traceparent = (
        f"00-{trace.format_trace_id(write.context.trace_id)}"
        f"-{trace.format_span_id(write.context.span_id)}-{write.context.trace_flags:02x}"
    )
    assert event.envelope["traceparent"] == traceparent
    assert event.headers["traceparent"] == traceparent


def test_a_publish_is_a_child_of_the_rows_span_and_the_header_names_it(
    finished_spans: InMemorySpanExporter,
) -> None:
    message = _message()
    with PublishSpans(exchange="notices.events") as spans:
        sent = spans.start(message, event_type="notices.notice.archived.v1")
        assert finished_spans.get_finished_spans() == ()
        spans.answered({message.event_id: PublishResult(Outcome.CONFIRMED, "", time.time())})
    (publish,) = finished_spans.get_finished_spans()
    assert publish.name == "publish notices.events"
    assert publish.kind is trace.SpanKind.PRODUCER
    assert trace.format_trace_id(publish.context.trace_id) == TRACE_ID
    assert publish.parent is not None
    assert trace.format_span_id(publish.parent.span_id) == ROW_SPAN_ID
    own = trace.format_span_id(publish.context.span_id)
    assert sent.properties.headers == {"traceparent": f"00-{TRACE_ID}-{own}-01"}
    assert sent.body == message.body
    assert publish.attributes is not None
    assert publish.attributes["notices.outbox.row_id"] == message.event_id
    assert publish.attributes["notices.event.type"] == "notices.notice.archived.v1"
    assert publish.attributes["notices.outbox.outcome"] == "confirmed"
    assert float(publish.attributes["notices.outbox.confirm_ms"]) >= 0  # type: ignore[arg-type]
    assert publish.status.status_code is trace.StatusCode.UNSET


def test_a_returned_publish_is_an_error_and_one_without_an_answer_too(
    finished_spans: InMemorySpanExporter,
) -> None:
    returned, lost = _message(), _message("0197c3a0-0000-7000-8000-000000000002")

    def batch_that_loses_the_connection() -> None:
        with PublishSpans(exchange="notices.events") as spans:
            spans.start(returned, event_type="notices.notice.archived.v1")
            spans.start(lost, event_type="notices.notice.archived.v1")
            spans.answered({returned.event_id: PublishResult(Outcome.RETURNED, "no route")})
            raise BrokerUnavailableError("connection lost")

    with pytest.raises(BrokerUnavailableError):
        batch_that_loses_the_connection()
    by_row = {
        span.attributes["notices.outbox.row_id"]: span  # type: ignore[index]
        for span in finished_spans.get_finished_spans()
    }
    assert by_row[returned.event_id].status.status_code is trace.StatusCode.ERROR
    assert by_row[returned.event_id].status.description == "no route"
    assert by_row[lost.event_id].status.status_code is trace.StatusCode.ERROR
    assert [event.name for event in by_row[lost.event_id].events] == ["exception"]


def test_with_tracing_off_the_message_keeps_the_rows_traceparent() -> None:
    message = _message()
    with PublishSpans(exchange="notices.events") as spans:
        assert spans.start(message, event_type="notices.notice.archived.v1") is message
        spans.answered({message.event_id: PublishResult(Outcome.CONFIRMED)})
