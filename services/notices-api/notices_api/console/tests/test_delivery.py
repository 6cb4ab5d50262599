"""The notifier client: its answers, its absence, its errors."""

import uuid
from collections.abc import Callable

import httpx
import pytest

from notices_api.console.delivery import (
    DeliveryStateUnavailableError,
    NotifierDeliveryStates,
    RecipientDelivery,
)

NOTICE = uuid.uuid4()
USER = uuid.uuid4()


def _states(handler: Callable[[httpx.Request], httpx.Response]) -> NotifierDeliveryStates:
    return NotifierDeliveryStates(
        base_url="http://notifier.test", token="secret", transport=httpx.MockTransport(handler)
    )


def test_reads_each_recipients_email_and_reminder_with_the_bearer_token():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(
            200,
            json=[
                {
                    "user_id": str(USER),
                    "delivery_status": "delivered",
                    "delivered_at": "2026-12-02T12:00:00Z",
                    "reminders_sent": 0,
                    "reminder_status": "pending",
                    "read_at": None,
                }
            ],
        )

    states = _states(handler).for_notice(NOTICE)

    assert seen[0].url.path == f"/v1/notices/{NOTICE}/acknowledgements"
    assert seen[0].headers["Authorization"] == "Bearer secret"
    assert states[USER] == RecipientDelivery(
        email_status="delivered",
        delivered_at=states[USER].delivered_at,
        reminder_status="pending",
    )
    assert states[USER].delivered_at is not None


def test_a_notice_the_notifier_has_not_heard_of_yet_has_no_states():
    assert _states(lambda request: httpx.Response(404)).for_notice(NOTICE) == {}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401),
        httpx.Response(503),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=[{"user_id": "nope"}]),
    ],
    ids=["unauthorized", "unavailable", "not json", "wrong shape"],
)
def test_an_unusable_answer_is_unavailable(answer):
    with pytest.raises(DeliveryStateUnavailableError):
        _states(lambda request: answer).for_notice(NOTICE)


def test_an_unreachable_notifier_is_unavailable():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DeliveryStateUnavailableError):
        _states(refuse).for_notice(NOTICE)
