import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from notifier.channels.base import WebhookMessage
from notifier.channels.webhook import new_webhook_secret, signed_headers
from notifier_devtools.webhook_receiver import Behaviour, WebhookReceiver

StartProcess = Callable[..., int]  # the start_devtool fixture: name, *args -> port


def signed(secret: str, body: bytes = b'{"id": "1"}') -> tuple[dict[str, str], bytes]:
    message = WebhookMessage(delivery_id=uuid.uuid4(), url="unused", secrets=(secret,), body=body)
    return signed_headers(message, timestamp=int(time.time())), body


async def post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, headers=headers, content=body)


async def test_rejects_a_bad_or_missing_signature_with_401() -> None:
    secret = new_webhook_secret()
    receiver = WebhookReceiver(secrets=[secret])
    headers, body = signed(secret)
    async with receiver.serving() as base_url:
        tampered = await post(f"{base_url}/hook", headers, body + b" ")
        unsigned = await post(f"{base_url}/hook", {}, body)
        good = await post(f"{base_url}/hook", headers, body)

    assert (tampered.status_code, unsigned.status_code, good.status_code) == (401, 401, 204)
    assert receiver.rejected == 2
    assert [call.body for call in receiver.calls] == [body]


async def test_query_parameters_override_the_behaviour_per_url() -> None:
    secret = new_webhook_secret()
    receiver = WebhookReceiver(secrets=[secret], behaviour=Behaviour(status=503))
    headers, body = signed(secret)
    async with receiver.serving() as base_url:
        default = await post(f"{base_url}/a", headers, body)
        throttled = await post(f"{base_url}/b?status=429&retry_after=5", headers, body)

    assert default.status_code == 503
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "5")


async def test_random_failures_repeat_with_the_same_seed() -> None:
    secret = new_webhook_secret()

    async def statuses(seed: int) -> list[int]:
        receiver = WebhookReceiver(
            secrets=[secret], behaviour=Behaviour(failure_rate=0.5), seed=seed
        )
        async with receiver.serving() as base_url:
            for _ in range(20):
                await post(f"{base_url}/hook", *signed(secret))
        return [call.status for call in receiver.calls]

    first, again = await statuses(42), await statuses(42)

    assert first == again
    assert set(first) == {204, 500}


async def test_learns_secrets_and_reports_over_http(start_devtool: StartProcess) -> None:
    known, issued_later = new_webhook_secret(), new_webhook_secret()
    port = start_devtool("webhook_receiver", "--secret", known, "--fail-first", "1")
    base_url = f"http://127.0.0.1:{port}"

    async with httpx.AsyncClient(base_url=base_url) as client:
        before = await client.post("/hook", headers=signed(issued_later)[0], content=b"{}")
        await client.post("/_secrets", json={"secret": issued_later})
        headers, body = signed(issued_later)
        attempts = [
            (await client.post("/hook", headers=headers, content=body)).status_code
            for _ in range(2)
        ]
        received = (await client.get("/_received")).json()
        await client.delete("/_received")
        forgotten = (await client.get("/_received")).json()

    assert before.status_code == 401
    assert attempts == [500, 204]
    assert received["rejected"] == 1
    assert [(call["webhook_id"], call["status"]) for call in received["calls"]] == [
        (headers["webhook-id"], 500),
        (headers["webhook-id"], 204),
    ]
    assert received["calls"][0]["body"] == body.decode()
    assert forgotten == {"rejected": 0, "calls": []}


@pytest.mark.parametrize("field", ["fail_first", "status", "failure_rate", "delay_seconds"])
def test_every_behaviour_field_is_settable_by_query(field: str) -> None:
    changed = Behaviour().overridden_by({field: "1"})

    assert getattr(changed, field) == 1
