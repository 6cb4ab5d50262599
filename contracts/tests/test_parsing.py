"""parse_event: raw bytes to a typed event, or one ContractError that says what is wrong."""

import uuid
from datetime import UTC, datetime

import pytest

from notices_contracts import (
    ContractError,
    ContractErrorCode,
    NoticeReadV1,
    build_event,
    parse_event,
)


def _read_event_bytes() -> bytes:
    now = datetime.now(UTC)
    data = NoticeReadV1(notice_id=uuid.uuid4(), user_id=uuid.uuid4(), read_at=now)
    return build_event(
        event_id=uuid.uuid4(), subject=str(data.notice_id), time=now, data=data
    ).to_json_bytes()


def test_round_trip_gives_the_typed_event() -> None:
    body = _read_event_bytes()
    event = parse_event(body)
    assert isinstance(event.data, NoticeReadV1)
    assert event.to_json_bytes() == body


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda body: body[:-1], ContractErrorCode.INVALID_JSON),
        (lambda body: b"[1, 2]", ContractErrorCode.NOT_A_CLOUDEVENT),
        (lambda body: body.replace(b'"subject"', b'"subjekt"'), ContractErrorCode.NOT_A_CLOUDEVENT),
        (lambda body: body.replace(b"read.v1", b"read.v9"), ContractErrorCode.UNSUPPORTED_VERSION),
        (
            lambda body: body.replace(b"notice.read.v1", b"poll.closed.v1"),
            ContractErrorCode.UNKNOWN_TYPE,
        ),
        (lambda body: body.replace(b'"user_id"', b'"userid"'), ContractErrorCode.INVALID_DATA),
        # A type that is not a string, even one no lookup could hash.
        (
            lambda body: body.replace(b'"notices.notice.read.v1"', b'["notices.notice.read.v1"]'),
            ContractErrorCode.NOT_A_CLOUDEVENT,
        ),
        (
            lambda body: body.replace(b'"notices.notice.read.v1"', b"{}"),
            ContractErrorCode.NOT_A_CLOUDEVENT,
        ),
    ],
)
def test_each_kind_of_bad_message_raises_a_contract_error_with_its_code(mutate, code) -> None:
    with pytest.raises(ContractError) as raised:
        parse_event(mutate(_read_event_bytes()))
    assert raised.value.code is code
    assert raised.value.is_unknown_event == (
        code in {ContractErrorCode.UNKNOWN_TYPE, ContractErrorCode.UNSUPPORTED_VERSION}
    )
