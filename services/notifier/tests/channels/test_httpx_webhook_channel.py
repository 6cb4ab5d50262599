import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from standardwebhooks.webhooks import Webhook

from notifier.channels.base import Outcome, WebhookMessage
from notifier.channels.webhook import HttpxWebhookChannel, new_webhook_secret
from notifier_devtools.webhook_receiver import WebhookReceiver

BODY = json.dumps(
    {"specversion": "1.0", "id": "0193", "type": "notices.notice.published.v1", "data": {}}
).encode()


def a_webhook(url: str, *secrets: str) -> WebhookMessage:
    return WebhookMessage(delivery_id=uuid.uuid4(), url=url, secrets=secrets, body=BODY)


MakeChannel = Callable[..., HttpxWebhookChannel]


@pytest.fixture
async def make_channel() -> AsyncIterator[MakeChannel]:
    channels: list[HttpxWebhookChannel] = []

    def make(**options: object) -> HttpxWebhookChannel:
        settings: dict[str, object] = {"allow_private_addresses": True} | options
        channel = HttpxWebhookChannel(**settings)  # type: ignore[arg-type]
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.aclose()


async def test_delivers_a_signed_cloudevent(
    receiver: WebhookReceiver, receiver_url: str, secret: str, make_channel: MakeChannel
) -> None:
    message = a_webhook(f"{receiver_url}/hooks/a", secret)

    result = await make_channel().send(message)

    assert (result.outcome, result.status_code) == (Outcome.DELIVERED, 204)
    (call,) = receiver.calls
    assert call.webhook_id == str(message.delivery_id)
    assert call.body == BODY
    assert call.path == "/hooks/a"


async def test_sends_standard_webhook_headers(
    receiver: WebhookReceiver, receiver_url: str, secret: str, make_channel: MakeChannel
) -> None:
    message = a_webhook(f"{receiver_url}/hooks/a", secret)

    await make_channel().send(message)

    headers = dict(receiver.calls[0].headers)
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["user-agent"] == "notices-notifier"
    assert headers["webhook-id"] == str(message.delivery_id)
    assert headers["webhook-timestamp"].isdigit()
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


@pytest.mark.parametrize("known", ["old", "new"])
async def test_during_a_rotation_either_secret_verifies(
    make_channel: MakeChannel, known: str
) -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    receiver = WebhookReceiver(secrets=[old if known == "old" else new])
    async with receiver.serving() as base_url:
        result = await make_channel().send(a_webhook(f"{base_url}/hook", new, old))

    assert result.outcome is Outcome.DELIVERED
    assert len(receiver.delivered) == 1


async def test_a_signature_the_receiver_cannot_verify_is_a_permanent_failure(
    receiver: WebhookReceiver, receiver_url: str, make_channel: MakeChannel
) -> None:
    result = await make_channel().send(a_webhook(f"{receiver_url}/hook", new_webhook_secret()))

    assert (result.outcome, result.status_code) == (Outcome.FAILED, 401)
    assert receiver.calls == []
    assert receiver.rejected == 1


async def test_three_failures_then_delivered(
    receiver: WebhookReceiver, receiver_url: str, secret: str, make_channel: MakeChannel
) -> None:
    channel = make_channel()
    message = a_webhook(f"{receiver_url}/hook?fail_first=3", secret)

    results = [await channel.send(message) for _ in range(4)]

    assert [(r.outcome, r.status_code) for r in results] == [(Outcome.RETRY, 500)] * 3 + [
        (Outcome.DELIVERED, 204)
    ]
    assert len(receiver.calls) == 4
    assert [call.webhook_id for call in receiver.delivered] == [str(message.delivery_id)]


async def test_410_means_gone(receiver_url: str, secret: str, make_channel: MakeChannel) -> None:
    result = await make_channel().send(a_webhook(f"{receiver_url}/hook?status=410", secret))

    assert (result.outcome, result.status_code) == (Outcome.GONE, 410)


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_and_server_errors_retry_after_the_servers_delay(
    receiver_url: str, secret: str, make_channel: MakeChannel, status: int
) -> None:
    url = f"{receiver_url}/hook?status={status}&retry_after=7"

    result = await make_channel().send(a_webhook(url, secret))

    assert (result.outcome, result.status_code) == (Outcome.RETRY, status)
    assert result.retry_after_seconds == 7


@pytest.mark.parametrize("status", [400, 404, 301])
async def test_other_answers_fail_for_good(
    receiver_url: str, secret: str, make_channel: MakeChannel, status: int
) -> None:
    result = await make_channel().send(a_webhook(f"{receiver_url}/hook?status={status}", secret))

    assert (result.outcome, result.status_code) == (Outcome.FAILED, status)


async def test_a_slow_receiver_times_out_as_transient(
    receiver_url: str, secret: str, make_channel: MakeChannel
) -> None:
    channel = make_channel(timeout_seconds=0.3)

    result = await channel.send(a_webhook(f"{receiver_url}/hook?delay_seconds=1.5", secret))

    assert result.outcome is Outcome.RETRY
    assert result.error is not None
    assert "timeout" in result.error


async def test_nobody_listening_is_transient(secret: str, make_channel: MakeChannel) -> None:
    result = await make_channel().send(a_webhook("http://127.0.0.1:9/hook", secret))

    assert result.outcome is Outcome.RETRY
    assert result.status_code is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_addresses_are_refused_without_a_request(
    receiver: WebhookReceiver, receiver_url: str, secret: str, make_channel: MakeChannel, host: str
) -> None:
    port = receiver_url.rsplit(":", 1)[1]
    channel = make_channel(allow_private_addresses=False)

    result = await channel.send(a_webhook(f"http://{host}:{port}/hook", secret))

    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert "non-public" in result.error
    await asyncio.sleep(0.05)
    assert receiver.calls == []
    assert receiver.rejected == 0


@pytest.mark.parametrize(
    ("url", "secrets"),
    [("ftp://example.org/hook", ("s",)), ("https:///hook", ("s",)), ("https://x.example/", ())],
    ids=["scheme", "no-host", "unsigned"],
)
async def test_unusable_webhooks_fail_without_a_request(
    make_channel: MakeChannel, url: str, secrets: tuple[str, ...]
) -> None:
    signing = tuple(new_webhook_secret() for _ in secrets)

    result = await make_channel().send(a_webhook(url, *signing))

    assert result.outcome is Outcome.FAILED


async def test_a_trickling_receiver_is_cut_off_at_the_deadline(
    secret: str, make_channel: MakeChannel
) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):  # each byte well within the read timeout
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        channel = make_channel(timeout_seconds=1, deadline_seconds=0.5)
        result = await channel.send(a_webhook(f"http://127.0.0.1:{port}/hook", secret))

    assert result.outcome is Outcome.RETRY
    assert result.error is not None
    assert "timeout" in result.error
