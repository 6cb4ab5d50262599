"""Delivery rules that went wrong before the ledger owned them, one test each.

Each goes through the handlers and the dispatcher as the running notifier does,
with fake channels and a settable clock.
"""

import asyncio
import uuid
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from notifier_testing import T0, FakeClock, NoticeSpec, envelope, handle, recipient_updated
from prometheus_client import REGISTRY
from sqlalchemy import select

from notifier.channels.base import SendResult, WebhookMessage
from notifier.dispatcher import Dispatcher, DispatchPolicy
from notifier.ledger.cancel import cancel_for_endpoint_deleted
from notifier.store.db import SessionFactory
from notifier.store.models import Attempt, Channel, Delivery, WebhookEndpoint
from notifier_devtools.fakes import (
    GONE_RESULT,
    RETRY_RESULT,
    FakeEmailChannel,
    FakeWebhookChannel,
)

HOOK_URL = "https://hooks.example/endpoint"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT_TYPES = [
    "notices.notice.published.v1",
    "notices.notice.read.v1",
    "notices.notice.archived.v1",
]


def _dispatcher(
    session_factory: SessionFactory,
    clock: FakeClock,
    *,
    email: FakeEmailChannel | None = None,
    webhooks: FakeWebhookChannel | None = None,
    public_base_url: str = "https://notifier.example",
    concurrency: int = 4,
) -> Dispatcher:
    return Dispatcher(
        session_factory=session_factory,
        email=email or FakeEmailChannel(),
        webhooks=webhooks or FakeWebhookChannel(),
        policy=DispatchPolicy(
            max_attempts=5,
            backoff_base_seconds=1,
            backoff_cap_seconds=1,
            claim_lease_seconds=30,
            poll_seconds=0.05,
            concurrency={Channel.EMAIL: concurrency, Channel.WEBHOOK: concurrency},
        ),
        public_base_url=public_base_url,
        unsubscribe_secret="unsubscribe-key",
        clock=clock,
    )


async def _directory(session_factory: SessionFactory, clock: FakeClock, *users: UUID) -> None:
    async with session_factory.begin() as session:
        for user in users:
            await handle(session, envelope(recipient_updated(user)), now=clock.now)


async def _endpoint(session_factory: SessionFactory, clock: FakeClock) -> UUID:
    endpoint_id = uuid.uuid4()
    async with session_factory.begin() as session:
        session.add(
            WebhookEndpoint(
                id=endpoint_id,
                url=HOOK_URL,
                secrets=[SECRET],
                event_types=EVENT_TYPES,
                enabled=True,
                created_at=clock.now,
                updated_at=clock.now,
            )
        )
    return endpoint_id


async def _event(session_factory: SessionFactory, clock: FakeClock, data: object) -> None:
    async with session_factory.begin() as session:
        await handle(session, envelope(data), now=clock.now)


async def _ledger(session_factory: SessionFactory) -> list[Delivery]:
    async with session_factory() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.created_at)))


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# 1. One bad row stops all email ------------------------------------------------------------


async def test_a_notice_whose_link_cannot_be_rendered_fails_alone_and_the_rest_is_sent(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann = uuid.uuid4()
    await _directory(session_factory, clock, ann)
    # The contract takes any non-empty url; only http(s) links go into an email.
    bad = NoticeSpec([ann], url="javascript:alert(1)")
    good = NoticeSpec([ann], published_at=T0 + timedelta(seconds=1))
    await _event(session_factory, clock, bad.published())
    clock.advance(seconds=1)
    await _event(session_factory, clock, good.published())
    email = FakeEmailChannel()
    unsendable_before = _sample(
        "notifier_claim_outcomes_total", channel="email", outcome="unsendable"
    )

    sent = await _dispatcher(session_factory, clock, email=email).dispatch_due(Channel.EMAIL)

    assert sent == 1
    assert [m.delivery_id for m in email.delivered] == [
        d.id for d in await _ledger(session_factory) if d.notice_id == good.notice_id
    ]
    by_notice = {d.notice_id: d for d in await _ledger(session_factory)}
    assert by_notice[bad.notice_id].status == "failed"
    assert "cannot render" in (by_notice[bad.notice_id].last_error or "")
    assert by_notice[good.notice_id].status == "delivered"
    unsendable_after = _sample(
        "notifier_claim_outcomes_total", channel="email", outcome="unsendable"
    )
    assert unsendable_after == unsendable_before + 1


async def test_a_public_base_url_without_a_scheme_fails_each_email_alone_and_webhooks_still_go(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    await _directory(session_factory, clock, ann, bob)
    await _endpoint(session_factory, clock)
    await _event(session_factory, clock, NoticeSpec([ann, bob]).published())
    webhooks = FakeWebhookChannel()
    dispatcher = _dispatcher(
        session_factory, clock, webhooks=webhooks, public_base_url="notifier.example"
    )

    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 1

    emails = [d for d in await _ledger(session_factory) if d.channel == "email"]
    assert [d.status for d in emails] == ["failed", "failed"]
    assert all("unsubscribe_url" in (d.last_error or "") for d in emails)
    assert len(webhooks.delivered) == 1


# 2. Double sends without a crash; cancelled rows coming back --------------------------------


class _HeldWebhooks(FakeWebhookChannel):
    """Every send waits until the test lets it go, then answers as scripted."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.started = 0

    async def send(self, message: WebhookMessage) -> SendResult:
        self.started += 1
        await self.release.wait()
        return await super().send(message)


async def _sends_started(channel: _HeldWebhooks, count: int) -> None:
    async with asyncio.timeout(10):
        while channel.started < count:  # noqa: ASYNC110 - the channel counts, nothing to await
            await asyncio.sleep(0.01)


async def test_a_lease_covers_only_the_rows_being_sent(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    await _endpoint(session_factory, clock)
    for _ in range(10):
        await _event(session_factory, clock, NoticeSpec([]).published())
    webhooks = _HeldWebhooks()
    dispatcher = _dispatcher(session_factory, clock, webhooks=webhooks, concurrency=2)
    task = asyncio.create_task(dispatcher.run())
    try:
        await _sends_started(webhooks, 2)
        await asyncio.sleep(0.2)  # a lane that over-claims would have done so by now
        leased = [d for d in await _ledger(session_factory) if d.claim_token is not None]
        assert len(leased) == 2
        assert webhooks.started == 2
    finally:
        webhooks.release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_result_never_brings_back_a_row_cancelled_while_it_was_in_flight(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    endpoint_id = await _endpoint(session_factory, clock)
    await _event(session_factory, clock, NoticeSpec([]).published())
    webhooks = _HeldWebhooks()
    webhooks.script(HOOK_URL, then=RETRY_RESULT)
    dispatcher = _dispatcher(session_factory, clock, webhooks=webhooks)

    sending = asyncio.create_task(dispatcher.dispatch_due(Channel.WEBHOOK))
    await _sends_started(webhooks, 1)
    async with session_factory.begin() as session:
        await cancel_for_endpoint_deleted(session, endpoint_id=endpoint_id, now=clock.now)
    webhooks.release.set()
    await sending

    [delivery] = await _ledger(session_factory)
    assert (delivery.status, delivery.last_error) == ("cancelled", "endpoint deleted")
    assert delivery.attempt_count == 1


async def test_a_result_applies_only_to_the_claim_that_sent_it(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    await _endpoint(session_factory, clock)
    await _event(session_factory, clock, NoticeSpec([]).published())
    slow = _HeldWebhooks()
    slow.script(HOOK_URL, then=RETRY_RESULT)
    first = asyncio.create_task(
        _dispatcher(session_factory, clock, webhooks=slow).dispatch_due(Channel.WEBHOOK)
    )
    await _sends_started(slow, 1)
    clock.advance(seconds=31)  # the first claim's lease ran out: another dispatcher takes it
    quick = FakeWebhookChannel()
    assert await _dispatcher(session_factory, clock, webhooks=quick).dispatch_due(Channel.WEBHOOK)
    slow.release.set()
    await first

    [delivery] = await _ledger(session_factory)
    assert delivery.status == "delivered"
    assert delivery.claim_token is None


# 3. The visibility window ---------------------------------------------------------------


async def test_messages_to_people_wait_for_visible_from_and_webhooks_do_not(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann = uuid.uuid4()
    await _directory(session_factory, clock, ann)
    await _endpoint(session_factory, clock)
    monday = T0 + timedelta(days=6)
    await _event(session_factory, clock, NoticeSpec([ann], visible_from=monday).published())
    email, webhooks = FakeEmailChannel(), FakeWebhookChannel()
    dispatcher = _dispatcher(session_factory, clock, email=email, webhooks=webhooks)

    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 1
    [row] = [d for d in await _ledger(session_factory) if d.channel == "email"]
    assert row.due_at == monday

    clock.now = monday
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 1


async def test_nothing_goes_to_people_after_visible_until(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    await _directory(session_factory, clock, ann, bob)
    notice = NoticeSpec(
        [ann, bob], remind_after_seconds=3600, visible_until=T0 + timedelta(minutes=30)
    )
    await _event(session_factory, clock, notice.published())
    email = FakeEmailChannel()
    dispatcher = _dispatcher(session_factory, clock, email=email)
    # The reminder would fall due after visible_until: none is written.
    assert {d.kind for d in await _ledger(session_factory)} == {"notice"}

    clock.advance(minutes=31)  # the notice emails were never claimed in time
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
    assert email.attempts == []
    assert {(d.status, d.last_error) for d in await _ledger(session_factory)} == {
        ("cancelled", "visibility ended")
    }


# 4. Archive cancels what is addressed to people only --------------------------------------


async def test_archive_leaves_the_webhooks_of_events_already_emitted(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann = uuid.uuid4()
    await _directory(session_factory, clock, ann)
    await _endpoint(session_factory, clock)
    notice = NoticeSpec([ann], remind_after_seconds=3600)
    await _event(session_factory, clock, notice.published())
    await _event(session_factory, clock, notice.read(ann))
    await _event(session_factory, clock, notice.archived())
    webhooks = FakeWebhookChannel()
    dispatcher = _dispatcher(session_factory, clock, webhooks=webhooks)

    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 3
    assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
    states = {(d.channel, d.kind.split(":")[0]): d.status for d in await _ledger(session_factory)}
    assert states == {
        ("email", "notice"): "cancelled",
        ("email", "reminder"): "cancelled",
        ("webhook", "notices.notice.published.v1"): "delivered",
        ("webhook", "notices.notice.read.v1"): "delivered",
        ("webhook", "notices.notice.archived.v1"): "delivered",
    }


# 5. A 410 keeps the delivery that got it ----------------------------------------------------


async def test_the_delivery_that_got_a_410_is_sent_when_its_endpoint_is_enabled_again(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    endpoint_id = await _endpoint(session_factory, clock)
    await _event(session_factory, clock, NoticeSpec([]).published())
    webhooks = FakeWebhookChannel()
    webhooks.script(HOOK_URL, GONE_RESULT)
    dispatcher = _dispatcher(session_factory, clock, webhooks=webhooks)

    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 1
    [waiting] = await _ledger(session_factory)
    assert (waiting.status, waiting.last_status_code) == ("pending", 410)
    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 0  # disabled: it waits

    async with session_factory.begin() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert not endpoint.enabled
        endpoint.enabled = True
    assert await dispatcher.dispatch_due(Channel.WEBHOOK) == 1
    [delivered] = await _ledger(session_factory)
    assert delivered.status == "delivered"
    assert len(webhooks.delivered) == 1


@pytest.fixture(autouse=True)
def _clock_at_t0(clock: FakeClock) -> None:
    clock.now = T0


# delivered_at is when the receiver took it ---------------------------------------------


class _TickingClock(FakeClock):
    """Each reading is a second after the last: every step of a send has its own time."""

    def __call__(self) -> datetime:
        self.advance(seconds=1)
        return self.now


async def test_delivered_at_is_when_the_send_finished_not_when_it_was_recorded(
    session_factory: SessionFactory,
) -> None:
    clock = _TickingClock()
    await _endpoint(session_factory, clock)
    await _event(session_factory, clock, NoticeSpec([]).published())

    await _dispatcher(session_factory, clock).dispatch_due(Channel.WEBHOOK)

    [delivery] = await _ledger(session_factory)
    async with session_factory() as session:
        [attempt] = await session.scalars(select(Attempt))
    assert delivery.status == "delivered"
    assert delivery.delivered_at == attempt.finished_at
