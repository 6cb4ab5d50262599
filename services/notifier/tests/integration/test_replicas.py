"""Two dispatchers on one PostgreSQL ledger share the work: each delivery is sent once. Their
claims run on the claim engine, as in ``notifier run``: statements outside a transaction."""

import asyncio
import uuid
from datetime import UTC, datetime

from integration_harness import eventually, migrated
from notifier_testing import NoticeSpec, envelope, handle, recipient_updated
from sqlalchemy import func, select

from notifier.dispatcher import Dispatcher, DispatchPolicy
from notifier.store.db import (
    claim_sessions,
    create_claim_engine,
    create_engine,
    create_session_factory,
)
from notifier.store.models import Channel, Delivery
from notifier_devtools.fakes import FakeEmailChannel, FakeWebhookChannel

RECIPIENTS = 500


async def test_replicas_claim_disjoint_deliveries_with_skip_locked(database_url: str) -> None:
    await migrated({"NOTIFIER_DATABASE_URL": database_url})
    engine, claim_engine = create_engine(database_url), create_claim_engine(database_url)
    sessions = create_session_factory(engine)
    users = [uuid.uuid4() for _ in range(RECIPIENTS)]
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        for user in users:
            event = envelope(recipient_updated(user))
            await handle(session, event, now=now)
        event = envelope(NoticeSpec(users, published_at=now).published())
        await handle(session, event, now=now)

    channels = [FakeEmailChannel(), FakeEmailChannel()]
    policy = DispatchPolicy(concurrency={Channel.EMAIL: 4, Channel.WEBHOOK: 4})
    replicas = [
        Dispatcher(
            session_factory=sessions,
            claim_sessions=claim_sessions(sessions, claim_engine),
            email=email,
            webhooks=FakeWebhookChannel(),
            policy=policy,
        )
        for email in channels
    ]
    tasks = [asyncio.create_task(replica.run()) for replica in replicas]

    async def all_delivered() -> bool:
        async with sessions() as session:
            count = await session.scalar(select(func.count()).where(Delivery.status == "delivered"))
        return count == RECIPIENTS

    try:
        await eventually(all_delivered, within=120, interval=0.2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await engine.dispose()
        if claim_engine is not None:
            await claim_engine.dispose()

    sent = [message.delivery_id for email in channels for message in email.delivered]
    assert len(sent) == len(set(sent)) == RECIPIENTS
    assert all(email.delivered for email in channels), "one replica did all the work"
