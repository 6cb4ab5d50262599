"""The fakes answer like the real channels do for the same scenario."""

import uuid
from collections.abc import AsyncIterator

import pytest

from notifier.channels.base import EmailMessage, Outcome, SendResult, WebhookMessage
from notifier.channels.webhook import HttpxWebhookChannel, new_webhook_secret
from notifier_devtools.fakes import (
    DELIVERED_RESULT,
    FAILED_RESULT,
    GONE_RESULT,
    RETRY_RESULT,
    FakeEmailChannel,
    FakeWebhookChannel,
)
from notifier_devtools.webhook_receiver import WebhookReceiver


def a_webhook(url: str, *secrets: str) -> WebhookMessage:
    return WebhookMessage(delivery_id=uuid.uuid4(), url=url, secrets=secrets, body=b"{}")


def an_email(to_address: str) -> EmailMessage:
    return EmailMessage(
        delivery_id=uuid.uuid4(), to_address=to_address, subject="s", text_body="t", html_body="h"
    )


@pytest.fixture
async def real_channel() -> AsyncIterator[HttpxWebhookChannel]:
    channel = HttpxWebhookChannel(allow_private_addresses=True)
    yield channel
    await channel.aclose()


async def outcomes(
    channel: FakeWebhookChannel | HttpxWebhookChannel, message: WebhookMessage, n: int
) -> list[Outcome]:
    return [(await channel.send(message)).outcome for _ in range(n)]


@pytest.mark.parametrize(
    ("query", "script", "expected"),
    [
        (
            "fail_first=3",
            {"results": (RETRY_RESULT,) * 3},
            [Outcome.RETRY] * 3 + [Outcome.DELIVERED],
        ),
        ("status=410", {"results": (), "then": GONE_RESULT}, [Outcome.GONE] * 4),
        ("status=400", {"results": (), "then": FAILED_RESULT}, [Outcome.FAILED] * 4),
    ],
    ids=["flaky", "gone", "rejecting"],
)
async def test_scripted_fake_webhooks_answer_like_the_real_receiver(
    real_channel: HttpxWebhookChannel,
    query: str,
    script: dict[str, object],
    expected: list[Outcome],
) -> None:
    secret = new_webhook_secret()
    receiver = WebhookReceiver(secrets=[secret])
    fake = FakeWebhookChannel()
    async with receiver.serving() as base_url:
        url = f"{base_url}/hook?{query}"
        fake.script(url, *script["results"], then=script.get("then"))  # type: ignore[arg-type, misc]

        real = await outcomes(real_channel, a_webhook(url, secret), 4)
        faked = await outcomes(fake, a_webhook(url, secret), 4)

    assert real == faked == expected


async def test_both_refuse_to_send_unsigned(real_channel: HttpxWebhookChannel) -> None:
    fake = FakeWebhookChannel()
    message = a_webhook("https://hooks.example/x")

    assert (await fake.send(message)).outcome is (await real_channel.send(message)).outcome
    assert fake.attempts == []


async def test_fake_email_records_attempts_per_recipient_script() -> None:
    channel = FakeEmailChannel()
    channel.script("bob@example.org", RETRY_RESULT, FAILED_RESULT)
    first, second, third = (an_email("bob@example.org") for _ in range(3))
    other = an_email("ann@example.org")

    results: list[SendResult] = [
        await channel.send(message) for message in (first, other, second, third)
    ]

    assert results == [RETRY_RESULT, DELIVERED_RESULT, FAILED_RESULT, DELIVERED_RESULT]
    assert [message for message, _ in channel.attempts] == [first, other, second, third]
    assert channel.delivered == [other, third]


async def test_a_closed_fake_refuses_to_send_like_a_closed_channel() -> None:
    channel = FakeEmailChannel()
    await channel.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await channel.send(an_email("ann@example.org"))
