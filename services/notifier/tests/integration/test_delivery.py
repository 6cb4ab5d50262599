"""End to end through a real RabbitMQ vhost, PostgreSQL, the SMTP sink and the webhook receiver."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from integration_harness import API_TOKEN, Publisher, eventually, publisher, running_notifier
from notifier_testing import NoticeSpec, envelope, recipient_updated, wire_bytes
from sqlalchemy import func, select

from notifier.app import Notifier
from notifier.dlq import list_dead_letters, replay_dead_letters
from notifier.store.models import Attempt, Delivery, InboxEvent
from notifier_devtools.smtp_sink import SmtpSink
from notifier_devtools.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def env(settings_env: dict[str, str], smtp_sink: tuple[SmtpSink, int]) -> dict[str, str]:
    return settings_env | {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_sink[1])}


@asynccontextmanager
async def api_client(notifier: Notifier) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=notifier.api),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as client:
        yield client


async def add_endpoint(
    notifier: Notifier, receiver: WebhookReceiver, url: str, *types: str
) -> dict[str, Any]:
    async with api_client(notifier) as client:
        response = await client.post(
            "/v1/webhook-endpoints",
            json={"url": url, "event_types": list(types) or ["notices.notice.published.v1"]},
        )
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    receiver.add_secret(created["secret"])
    return created


async def directory(bus: Publisher, *users: UUID) -> None:
    for user in users:
        await bus.event(envelope(recipient_updated(user)))


async def ledger(notifier: Notifier, **filters: Any) -> list[Delivery]:
    async with notifier.session_factory() as session:
        return list(await session.scalars(select(Delivery).filter_by(**filters)))


async def settled(notifier: Notifier, expected: int) -> list[Delivery]:
    async def check() -> list[Delivery] | None:
        rows = await ledger(notifier)
        done = [d for d in rows if d.status != "pending"]
        return rows if len(rows) == expected and len(done) == expected else None

    result: list[Delivery] = await eventually(check)
    return result


async def test_one_event_published_three_times_gives_one_email_per_recipient_and_one_webhook(
    env: dict[str, str],
    smtp_sink: tuple[SmtpSink, int],
    webhook_receiver: tuple[WebhookReceiver, str],
) -> None:
    sink, (receiver, base_url) = smtp_sink[0], webhook_receiver
    users = [uuid.uuid4() for _ in range(3)]
    async with running_notifier(env) as notifier, publisher(env) as bus:
        await add_endpoint(notifier, receiver, f"{base_url}/a")
        await add_endpoint(notifier, receiver, f"{base_url}/b")
        await directory(bus, *users)
        published = envelope(NoticeSpec(users).published())
        for _ in range(3):
            await bus.event(published)

        rows = await settled(notifier, expected=5)
        await asyncio.sleep(1.0)  # anything sent twice would arrive now

    assert {row.status for row in rows} == {"delivered"}
    assert sorted(to for mail in sink.mails for to in mail.rcpt_tos) == sorted(
        f"{user.hex[:12]}@example.org" for user in users
    )
    assert len({mail.message_id for mail in sink.mails}) == 3
    assert sorted(call.path for call in receiver.calls) == ["/a", "/b"]
    assert receiver.rejected == 0


POISON = [
    (b"{not json", "invalid_json"),
    (b'{"specversion": "1.0"}', "not_a_cloudevent"),
    (
        wire_bytes(envelope(recipient_updated(uuid.uuid4()))).replace(b'"locale"', b'"lang"'),
        "invalid_data",
    ),
]


async def test_poison_messages_are_dead_lettered_with_a_reason_and_the_next_one_delivered(
    env: dict[str, str], smtp_sink: tuple[SmtpSink, int]
) -> None:
    sink = smtp_sink[0]
    ann = uuid.uuid4()
    async with running_notifier(env) as notifier, publisher(env) as bus:
        for number, (body, _) in enumerate(POISON):
            await bus.raw(body, routing_key="recipient.updated.v1", message_id=f"poison-{number}")
        unknown = wire_bytes(envelope(recipient_updated(ann))).replace(b".v1", b".v7")
        await bus.raw(unknown, routing_key="recipient.updated.v1", message_id="from-the-future")
        await directory(bus, ann)
        await bus.event(envelope(NoticeSpec([ann]).published()))
        async with asyncio.timeout(60):
            await sink.wait_for(1)

        letters = await eventually(
            lambda: _letters_when(notifier, len(POISON)), within=30, interval=0.5
        )
        assert {(letter.message_id, letter.reason) for letter in letters} == {
            (f"poison-{number}", reason) for number, (_, reason) in enumerate(POISON)
        }
        assert all(letter.error for letter in letters)

        replayed = await replay_dead_letters(
            amqp_url=env["AMQP_URL"], topology=notifier.topology, message_id="poison-0"
        )
        assert replayed == ["poison-0"]
        # Still poison: it comes back to the DLQ, once, with its reason.
        again = await eventually(lambda: _letters_when(notifier, len(POISON)), within=30)
        assert Counter(letter.reason for letter in again) == Counter(r for _, r in POISON)


async def _letters_when(notifier: Notifier, count: int) -> list[Any] | None:
    letters = [
        letter
        async for letter in list_dead_letters(
            amqp_url=notifier.settings.amqp_url, topology=notifier.topology
        )
    ]
    return letters if len(letters) == count else None


async def test_a_transient_failure_is_retried_through_the_wait_queues_then_dead_lettered(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_notifier(env) as notifier, publisher(env) as bus:
        real_factory, failures = notifier.session_factory, Counter[str]()

        class FlakyDatabase:
            def begin(self) -> Any:
                failures["begin"] += 1
                if failures["begin"] <= 2:
                    raise ConnectionRefusedError("database is down")
                return real_factory.begin()

        monkeypatch.setattr(notifier.consumer, "_session_factory", FlakyDatabase())
        ann = uuid.uuid4()
        await directory(bus, ann)
        await eventually(lambda: _recipient_count(notifier, 1), within=30)
        assert failures["begin"] == 3  # two failures, two waits, then handled

        class DownDatabase:
            def begin(self) -> Any:
                raise ConnectionRefusedError("database is down")

        monkeypatch.setattr(notifier.consumer, "_session_factory", DownDatabase())
        await directory(bus, uuid.uuid4())
        [letter] = await eventually(lambda: _letters_when(notifier, 1), within=30, interval=0.5)
        assert letter.reason == "retries_exhausted"
        assert "database is down" in (letter.error or "")


async def _recipient_count(notifier: Notifier, count: int) -> bool:
    from notifier.store.models import Recipient

    async with notifier.session_factory() as session:
        found = await session.scalar(select(func.count()).select_from(Recipient))
    return found == count


async def test_a_webhook_failing_three_times_is_received_once_after_four_attempts(
    env: dict[str, str], webhook_receiver: tuple[WebhookReceiver, str]
) -> None:
    receiver, base_url = webhook_receiver
    async with running_notifier(env) as notifier, publisher(env) as bus:
        await add_endpoint(notifier, receiver, f"{base_url}/flaky?fail_first=3&fail_status=503")
        await bus.event(envelope(NoticeSpec([]).published()))
        [delivery] = await settled(notifier, expected=1)
        async with notifier.session_factory() as session:
            attempts = list(
                await session.scalars(
                    select(Attempt).where(Attempt.delivery_id == delivery.id).order_by(Attempt.id)
                )
            )

    assert delivery.status == "delivered"
    assert [a.outcome for a in attempts] == ["retry", "retry", "retry", "delivered"]
    assert [a.status_code for a in attempts] == [503, 503, 503, 204]
    assert len(receiver.delivered) == 1
    assert {call.webhook_id for call in receiver.calls} == {str(delivery.id)}


async def test_a_webhook_answering_410_gets_its_endpoint_disabled(
    env: dict[str, str], webhook_receiver: tuple[WebhookReceiver, str]
) -> None:
    receiver, base_url = webhook_receiver
    async with running_notifier(env) as notifier, publisher(env) as bus:
        created = await add_endpoint(notifier, receiver, f"{base_url}/gone?status=410")
        await bus.event(envelope(NoticeSpec([]).published()))

        async def answered_410() -> list[Delivery] | None:
            rows = await ledger(notifier)
            return rows if [d.last_status_code for d in rows] == [410] else None

        [delivery] = await eventually(answered_410)
        async with api_client(notifier) as client:
            endpoint = (await client.get(f"/v1/webhook-endpoints/{created['id']}")).json()
            ready = await client.get("/readyz")
            asyncapi = (await client.get("/asyncapi.json")).json()
            metrics = (await client.get("/metrics")).text

    assert ready.json() == {"broker": "ok", "database": "ok"}
    assert asyncapi["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert notifier.topology.queue.name in addresses
    assert 'notifier_deliveries_total{channel="webhook",outcome="gone"}' in metrics

    # It waits for the endpoint to be enabled again (docs/notifier.md, runbooks).
    assert delivery.status == "pending"
    assert delivery.last_status_code == 410
    assert endpoint["enabled"] is False
    assert endpoint["disabled_reason"] == "410 Gone"


async def test_reminders_go_to_non_readers_only_and_archive_cancels_them(
    env: dict[str, str], smtp_sink: tuple[SmtpSink, int]
) -> None:
    sink = smtp_sink[0]
    reader, early_reader, non_reader = (uuid.uuid4() for _ in range(3))
    now = datetime.now(UTC)
    # Long enough for the first emails to go out and the read and the archive to be handled
    # before the reminders fall due, even on a loaded CI machine.
    remind_after = 15
    notice = NoticeSpec(
        [reader, early_reader, non_reader], remind_after_seconds=remind_after, published_at=now
    )
    archived = NoticeSpec([non_reader], remind_after_seconds=remind_after, published_at=now)
    async with running_notifier(env) as notifier, publisher(env) as bus:
        await directory(bus, reader, early_reader, non_reader)
        await bus.event(envelope(notice.read(early_reader)))  # before its publish
        await bus.event(envelope(notice.published()))
        await bus.event(envelope(archived.published()))
        # Both notices' emails are out before the archive could cancel the second one's.
        await eventually(lambda: _delivered_count(notifier, 4), within=60)
        await bus.event(envelope(notice.read(reader)))  # after its publish
        await bus.event(envelope(archived.archived()))
        await eventually(lambda: _handled_count(notifier, 8), within=60)
        handled_at = datetime.now(UTC)
        assert handled_at < now + timedelta(seconds=remind_after), (
            "the read and the archive were handled after the reminders fell due: "
            "this run cannot tell a cancelled reminder from a sent one"
        )

        await eventually(lambda: _delivered_count(notifier, 5), within=60)
        await asyncio.sleep(1.0)
        reminders = await ledger(notifier, kind="reminder")

    status = {(row.notice_id, row.target_id): row.status for row in reminders}
    assert status == {
        (notice.notice_id, reader): "cancelled",
        (notice.notice_id, early_reader): "cancelled",  # as if the read had come second
        (notice.notice_id, non_reader): "delivered",
        (archived.notice_id, non_reader): "cancelled",
    }
    reminder_mails = [m for m in sink.mails if m.subject.startswith("Reminder")]
    assert [m.rcpt_tos for m in reminder_mails] == [(f"{non_reader.hex[:12]}@example.org",)]


async def _handled_count(notifier: Notifier, count: int) -> bool:
    async with notifier.session_factory() as session:
        handled = await session.scalar(select(func.count()).select_from(InboxEvent))
    return (handled or 0) >= count


async def _delivered_count(notifier: Notifier, count: int) -> bool:
    return len(await ledger(notifier, status="delivered")) >= count
