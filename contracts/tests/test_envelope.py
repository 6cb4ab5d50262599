"""The wire form of the envelope: what build_event makes and to_json_bytes sends."""

import json
import uuid
from datetime import UTC, datetime

from notices_contracts import RecipientUpdatedV1, build_event, parse_event


def _recipient_without_email() -> RecipientUpdatedV1:
    return RecipientUpdatedV1(
        user_id=uuid.uuid4(),
        email=None,
        display_name="Ada",
        timezone="Europe/Vienna",
        locale="de-AT",
        is_active=True,
    )


def test_a_null_inside_data_is_sent_as_null_and_parses_back() -> None:
    data = _recipient_without_email()
    body = build_event(
        event_id=uuid.uuid4(), subject=str(data.user_id), time=datetime.now(UTC), data=data
    ).to_json_bytes()

    assert json.loads(body)["data"]["email"] is None
    assert parse_event(body).data == data


def test_unset_optional_envelope_attributes_are_left_out() -> None:
    data = _recipient_without_email()
    body = build_event(
        event_id=uuid.uuid4(), subject=str(data.user_id), time=datetime.now(UTC), data=data
    ).to_json_bytes()

    assert {"traceparent", "correlationid"}.isdisjoint(json.loads(body))


def test_json_dict_is_the_wire_form_with_its_nulls() -> None:
    data = _recipient_without_email()
    event = build_event(
        event_id=uuid.uuid4(), subject=str(data.user_id), time=datetime.now(UTC), data=data
    )

    assert event.to_json_dict() == json.loads(event.to_json_bytes())
    assert parse_event(json.dumps(event.to_json_dict())) == event
