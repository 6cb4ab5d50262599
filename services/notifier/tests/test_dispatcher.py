"""The dispatcher against fake channels: claim, send, record, retry, cancel, defer."""

import asyncio
import uuid
from datetime import time, timedelta
from uuid import UUID

import pytest
from notifier_testing import FakeClock, NoticeSpec, envelope, handle, recipient_updated
from sqlalchemy import select

from notifier.channels.base import EmailMessage, SendResult
from notifier.dispatcher import Dispatcher, DispatchPolicy
from notifier.store.db import SessionFactory
from notifier.store.models import Attempt, Channel, Delivery, Preferences, WebhookEndpoint
from notifier_devtools.fakes import (
    GONE_RESULT,
    RETRY_RESULT,
    FakeEmailChannel,
    FakeWebhookChannel,
)

HOOK_URL = "https://hooks.example/endpoint"


@pytest.fixture
def dispatcher(
    session_factory: SessionFactory,
    fake_email: FakeEmailChannel,
    fake_webhooks: FakeWebhookChannel,
    clock: FakeClock,
) -> Dispatcher:
    policy = DispatchPolicy(
        max_attempts=3, backoff_base_seconds=1, backoff_cap_seconds=10, claim_lease_seconds=30
    )
    return Dispatcher(
        session_factory=session_factory,
        email=fake_email,
        webhooks=fake_webhooks,
        policy=policy,
        clock=clock,
    )


async def _seed(
    session_factory: SessionFactory, clock: FakeClock, notice: NoticeSpec, *, webhook: bool = False
) -> UUID | None:
    endpoint_id = uuid.uuid4() if webhook else None
    async with session_factory.begin() as session:
        for user in notice.recipient_ids:
            event = envelope(recipient_updated(user))
            await handle(session, event, now=clock.now)
        if endpoint_id:
            session.add(
                WebhookEndpoint(
                    id=endpoint_id,
                    url=HOOK_URL,
                    secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                    event_types=["notices.notice.published.v1"],
                    enabled=True,
                    created_at=clock.now,
                    updated_at=clock.now,
                )
            )
            await session.flush()
        event = envelope(notice.published())
        await handle(session, event, now=clock.now)
    return endpoint_id


async def _deliveries(session_factory: SessionFactory) -> dict[tuple[UUID, str], Delivery]:
    async with session_factory() as session:
        rows = await session.scalars(select(Delivery))
        return {(row.target_id, row.kind): row for row in rows}


async def _attempts(session_factory: SessionFactory, delivery_id: UUID) -> list[Attempt]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.number)
        )
        return list(rows)


async def test_an_email_is_sent_once_with_its_delivery_id_and_recorded(
    dispatcher: Dispatcher,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_email: FakeEmailChannel,
) -> None:
    ann = uuid.uuid4()
    await _seed(session_factory, clock, NoticeSpec([ann]))

    assert await dispatcher.dispatch_due(Channel.EMAIL) == 1
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0

    [message] = fake_email.delivered
    delivery = (await _deliveries(session_factory))[(ann, "notice")]
    assert message.delivery_id == delivery.id
    assert "Fire drill &lt;Tuesday&gt;" in message.html_body
    assert message.headers["List-Unsubscribe"].startswith("<http")
    assert "/unsubscribe?" in message.headers["List-Unsubscribe"]
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert delivery.status == "delivered"
    [attempt] = await _attempts(session_factory, delivery.id)
    assert (attempt.number, attempt.outcome) == (1, "delivered")


async def test_every_email_links_the_configured_settings_page(
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_email: FakeEmailChannel,
    fake_webhooks: FakeWebhookChannel,
) -> None:
    dispatcher = Dispatcher(
        session_factory=session_factory,
        email=fake_email,
        webhooks=fake_webhooks,
        preferences_url="https://web.example/settings/",
        clock=clock,
    )
    await _seed(session_factory, clock, NoticeSpec([uuid.uuid4()]))

    await dispatcher.dispatch_due(Channel.EMAIL)

    [message] = fake_email.delivered
    assert "Notification settings: https://web.example/settings/" in message.text_body
    assert 'href="https://web.example/settings/"' in message.html_body


async def test_transient_failures_back_off_then_give_up_after_max_attempts(
    dispatcher: Dispatcher,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_email: FakeEmailChannel,
) -> None:
    ann = uuid.uuid4()
    await _seed(session_factory, clock, NoticeSpec([ann]))
    fake_email.script(f"{ann.hex[:12]}@example.org", then=RETRY_RESULT)

    for _ in range(3):
        assert await dispatcher.dispatch_due(Channel.EMAIL) == 1
        delivery = (await _deliveries(session_factory))[(ann, "notice")]
        assert await dispatcher.dispatch_due(Channel.EMAIL) == 0  # not due before its backoff
        clock.advance(seconds=11)

    assert delivery.status == "failed"
    attempts = await _attempts(session_factory, delivery.id)
    assert [a.outcome for a in attempts] == ["retry", "retry", "retry"]
    assert [a.status_code for a in attempts] == [503, 503, 503]


async def test_a_webhook_answering_410_disables_its_endpoint(
    dispatcher: Dispatcher,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_webhooks: FakeWebhookChannel,
) -> None:
    fake_webhooks.script(HOOK_URL, then=GONE_RESULT)
    endpoint_id = await _seed(session_factory, clock, NoticeSpec([]), webhook=True)

    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 1

    async with session_factory() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
    assert endpoint is not None
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "410 Gone"
    [(message, _)] = fake_webhooks.attempts
    assert message.secrets == ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)


async def test_a_due_reminder_goes_only_to_those_who_have_not_read(
    dispatcher: Dispatcher,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_email: FakeEmailChannel,
) -> None:
    reader, other = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([reader, other], remind_after_seconds=3600)
    await _seed(session_factory, clock, notice)
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 2
    async with session_factory.begin() as session:
        event = envelope(notice.read(reader))
        await handle(session, event, now=clock.now)

    clock.advance(seconds=3600)
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 1

    reminders = [m for m in fake_email.delivered if m.subject.lower().startswith("reminder")]
    assert [m.to_address for m in reminders] == [f"{other.hex[:12]}@example.org"]
    ledger = await _deliveries(session_factory)
    assert ledger[(reader, "reminder")].status == "cancelled"
    assert ledger[(reader, "reminder")].attempt_count == 0
    assert ledger[(other, "reminder")].status == "delivered"


async def test_a_reminder_due_in_quiet_hours_waits_for_their_end(
    dispatcher: Dispatcher,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_email: FakeEmailChannel,
) -> None:
    ann = uuid.uuid4()
    await _seed(session_factory, clock, NoticeSpec([ann], remind_after_seconds=2 * 3600))
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 1
    async with session_factory.begin() as session:  # 14:00-16:00 UTC
        session.add(
            Preferences(
                user_id=ann,
                opt_outs={},
                quiet_hours_start=time(14),
                quiet_hours_end=time(16),
                updated_at=clock.now,
            )
        )

    clock.advance(hours=2)
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
    reminder = (await _deliveries(session_factory))[(ann, "reminder")]
    assert reminder.due_at == clock.now + timedelta(hours=2)
    # Leased to be judged, then given back: not an attempt, and no lease left on it.
    assert (reminder.attempt_count, reminder.claim_token, reminder.claimed_until) == (0, None, None)
    clock.advance(hours=2)
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 1
    assert len(fake_email.delivered) == 2


class _SlowEmailChannel(FakeEmailChannel):
    """Suspends in every send, as a real SMTP round trip does."""

    async def send(self, message: EmailMessage) -> SendResult:
        await asyncio.sleep(0.01)
        return await super().send(message)


async def test_the_running_pipeline_records_every_send_once(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    users = [uuid.uuid4() for _ in range(60)]
    await _seed(session_factory, clock, NoticeSpec(users))
    email = _SlowEmailChannel()
    dispatcher = Dispatcher(
        session_factory=session_factory,
        email=email,
        webhooks=FakeWebhookChannel(),
        policy=DispatchPolicy(concurrency={Channel.EMAIL: 4, Channel.WEBHOOK: 1}),
        clock=clock,
    )

    async def all_recorded() -> bool:
        ledger = await _deliveries(session_factory)
        return all(row.status == "delivered" for row in ledger.values())

    task = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(60):
            while not await all_recorded():  # noqa: ASYNC110 - polls the ledger
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    sent = [message.delivery_id for message in email.delivered]
    assert len(sent) == len(set(sent)) == len(users)
