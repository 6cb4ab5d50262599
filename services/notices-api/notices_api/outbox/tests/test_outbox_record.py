"""The outbox guarantee: events live and die with the transaction that wrote them."""

import re
import uuid
from datetime import UTC, datetime

import pytest
from django.db import transaction

from notices_api.core import tracecontext
from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import OutboxOutsideTransactionError, outbox_event_record
from notices_contracts import NoticeArchivedV1, RecipientUpdatedV1, parse_event


def _archived(notice_id: uuid.UUID) -> NoticeArchivedV1:
    return NoticeArchivedV1(notice_id=notice_id, archived_at=datetime.now(UTC))


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_raises() -> None:
    with pytest.raises(OutboxOutsideTransactionError):
        outbox_event_record(data=_archived(uuid.uuid4()), aggregate_id=uuid.uuid4())
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_leaves_no_event() -> None:
    notice_id = uuid.uuid4()

    def change_that_fails_after_recording() -> None:
        with transaction.atomic():
            outbox_event_record(data=_archived(notice_id), aggregate_id=notice_id)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        change_that_fails_after_recording()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_committed_event_is_pending_with_a_valid_envelope_in_write_order() -> None:
    notice_id = uuid.uuid4()
    with transaction.atomic():
        first = outbox_event_record(data=_archived(notice_id), aggregate_id=notice_id)
        second = outbox_event_record(data=_archived(notice_id), aggregate_id=notice_id)

    stored = list(OutboxEvent.objects.pending())
    assert [event.id for event in stored] == [first.id, second.id]
    assert stored[0].position < stored[1].position
    assert stored[0].partition == stored[1].partition
    parsed = parse_event(OutboxEvent.objects.get(id=first.id).envelope_json())
    assert parsed.id == first.id
    assert parsed.subject == str(notice_id)
    assert parsed.data == _archived(notice_id).model_copy(
        update={"archived_at": parsed.data.archived_at}
    )


@pytest.mark.django_db(transaction=True)
def test_required_nulls_in_data_survive_the_outbox() -> None:
    user_id = uuid.uuid4()
    data = RecipientUpdatedV1(
        user_id=user_id,
        email=None,
        display_name="No Mail",
        timezone="UTC",
        locale="en",
        is_active=True,
    )
    with transaction.atomic():
        recorded = outbox_event_record(data=data, aggregate_id=user_id)

    parsed = parse_event(OutboxEvent.objects.get(id=recorded.id).envelope_json())
    assert parsed.data == data


@pytest.mark.django_db(transaction=True)
def test_the_request_trace_context_travels_in_headers_and_envelope() -> None:
    context = tracecontext.new_trace_context(request_id="req-42")
    notice_id = uuid.uuid4()
    tracecontext.activate(context)
    try:
        with transaction.atomic():
            recorded = outbox_event_record(data=_archived(notice_id), aggregate_id=notice_id)
    finally:
        tracecontext.deactivate()

    stored = OutboxEvent.objects.get(id=recorded.id)
    assert stored.headers == {"correlation_id": "req-42", "traceparent": context.traceparent}
    assert stored.envelope["correlationid"] == "req-42"
    assert stored.envelope["traceparent"] == context.traceparent


TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


@pytest.mark.django_db(transaction=True)
def test_an_event_written_outside_a_request_carries_a_fresh_trace_context() -> None:
    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    with transaction.atomic():
        first = outbox_event_record(data=_archived(first_id), aggregate_id=first_id)
    with transaction.atomic():
        second = outbox_event_record(data=_archived(second_id), aggregate_id=second_id)

    rows = OutboxEvent.objects.filter(id__in=[first.id, second.id])
    for stored in rows:
        assert TRACEPARENT.match(stored.headers["traceparent"])
        assert stored.headers["correlation_id"]
        assert stored.envelope["traceparent"] == stored.headers["traceparent"]
        assert stored.envelope["correlationid"] == stored.headers["correlation_id"]
    # Unrelated writes are unrelated units of work: they share no trace.
    assert len({stored.headers["traceparent"][3:35] for stored in rows}) == 2
    assert tracecontext.current_trace_context() is None


def test_a_unit_of_work_binds_one_context_only_when_none_is_bound() -> None:
    with tracecontext.unit_of_work() as outer:
        assert tracecontext.current_trace_context() == outer
        with tracecontext.unit_of_work() as inner:
            assert inner == outer
    assert tracecontext.current_trace_context() is None
