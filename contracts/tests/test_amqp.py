"""AMQP properties mirror the envelope, and a consumer maps them back before parsing the body."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notices_contracts import (
    CLOUDEVENTS_CONTENT_TYPE,
    EXCHANGE_NAME,
    EXCHANGE_TYPE,
    NoticeArchivedV1,
    amqp_properties,
    build_event,
    envelope_hints,
    routing_key_for_type,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
VIENNA = timezone(timedelta(hours=1))


def _archived(**extensions: str):
    notice_id = uuid.uuid4()
    time = datetime(2026, 11, 27, 10, 30, 15, 250000, tzinfo=VIENNA)
    return build_event(
        event_id=uuid.uuid4(),
        subject=str(notice_id),
        time=time,
        data=NoticeArchivedV1(notice_id=notice_id, archived_at=time),
        **extensions,
    )


def test_exchange_is_the_notices_events_topic() -> None:
    assert (EXCHANGE_NAME, EXCHANGE_TYPE) == ("notices.events", "topic")


def test_properties_mirror_the_envelope() -> None:
    event = _archived(traceparent=TRACEPARENT, correlationid="req-42")

    properties = amqp_properties(event)

    assert properties.message_id == str(event.id)
    assert properties.type == "notices.notice.archived.v1"
    assert properties.timestamp == event.time
    assert properties.correlation_id == "req-42"
    assert properties.content_type == CLOUDEVENTS_CONTENT_TYPE == "application/cloudevents+json"
    assert properties.delivery_mode == 2  # persistent
    assert properties.headers == {"traceparent": TRACEPARENT}
    assert properties.routing_key == "notice.archived.v1"


def test_absent_extensions_leave_correlation_id_and_headers_empty() -> None:
    properties = amqp_properties(_archived())

    assert properties.correlation_id is None
    assert properties.headers == {}


def test_envelope_hints_map_the_properties_back() -> None:
    event = _archived(traceparent=TRACEPARENT, correlationid="req-42")
    properties = amqp_properties(event)

    hints = envelope_hints(
        message_id=properties.message_id,
        type=properties.type,
        timestamp=properties.timestamp,
        correlation_id=properties.correlation_id,
        headers=properties.headers,
    )

    assert (hints.event_id, hints.event_type, hints.time) == (str(event.id), event.type, event.time)
    assert (hints.correlationid, hints.traceparent) == ("req-42", TRACEPARENT)


def test_envelope_hints_read_an_amqp_timestamp_in_whole_seconds_as_utc() -> None:
    event = _archived()

    hints = envelope_hints(
        message_id=str(event.id),
        type=event.type,
        timestamp=int(event.time.timestamp()),
        correlation_id=None,
        headers=None,
    )

    assert hints.time == event.time.replace(microsecond=0)
    assert hints.time is not None
    assert hints.time.tzinfo is UTC
    assert (hints.correlationid, hints.traceparent) == (None, None)


def test_envelope_hints_ignore_a_traceparent_header_that_is_not_text() -> None:
    hints = envelope_hints(
        message_id=None, type=None, timestamp=None, correlation_id=None, headers={"traceparent": 7}
    )

    assert hints.traceparent is None


def test_routing_key_is_the_type_without_the_notices_prefix() -> None:
    assert routing_key_for_type("notices.recipient.updated.v1") == "recipient.updated.v1"
    with pytest.raises(ValueError, match="does not start with"):
        routing_key_for_type("other.recipient.updated.v1")
