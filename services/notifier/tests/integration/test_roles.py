"""The roles apart on one PostgreSQL store and one queue: two consumers, two dispatchers.

Each role runs as its own ``Notifier`` (as ``NOTIFIER_ROLES=consumer`` and
``NOTIFIER_ROLES=dispatcher`` processes would), so the dispatchers learn of new
deliveries only through the database's notifications, never in-process.
"""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from integration_harness import eventually, migrated, publisher, settings_from
from notifier_testing import NoticeSpec, envelope, recipient_updated
from sqlalchemy import func, select

from notifier.app import Notifier, build_notifier, shutdown, start_consuming
from notifier.store.db import wake_origin
from notifier.store.models import Delivery, WebhookEndpoint
from notifier.store.wakeups import listen_for_due
from notifier_devtools.fakes import FakeEmailChannel, FakeWebhookChannel

pytestmark = pytest.mark.timeout(180)

NOTICES = 60
USERS = 5
HOUR = 3600.0


async def _endpoint(notifier: Notifier) -> None:
    now = datetime.now(UTC)
    async with notifier.session_factory.begin() as session:
        session.add(
            WebhookEndpoint(
                id=uuid.uuid4(),
                url="https://hooks.example/roles",
                secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                event_types=["notices.notice.published.v1"],
                enabled=True,
                created_at=now,
                updated_at=now,
            )
        )


async def test_two_consumers_and_two_dispatchers_apart_deliver_each_message_once(
    settings_env: dict[str, str],
) -> None:
    # Polls an hour apart: only the wake-ups from the consumers' commits can deliver in time.
    env = settings_env | {"NOTIFIER_DISPATCH_POLL_SECONDS": str(HOUR)}
    await migrated(env)
    consumers = [
        build_notifier(settings_from(env | {"NOTIFIER_ROLES": "consumer"})) for _ in range(2)
    ]
    channels = [(FakeEmailChannel(), FakeWebhookChannel()) for _ in range(2)]
    dispatchers = [
        build_notifier(
            settings_from(env | {"NOTIFIER_ROLES": "dispatcher"}), email=email, webhooks=hooks
        )
        for email, hooks in channels
    ]
    await _endpoint(dispatchers[0])
    tasks = []
    try:
        for notifier in dispatchers:
            tasks.append(asyncio.create_task(notifier.dispatcher.run()))
            tasks.append(
                asyncio.create_task(
                    listen_for_due(
                        notifier.settings.database_url,
                        notifier.dispatcher.wake,
                        own_origin=wake_origin(notifier.session_factory),
                    )
                )
            )
        for notifier in consumers:
            await start_consuming(notifier)
        users = [uuid.uuid4() for _ in range(USERS)]
        async with publisher(env) as bus:
            for user in users:
                await bus.event(envelope(recipient_updated(user)))
            await asyncio.sleep(1)  # the directory first, so every notice finds its users
            for _ in range(NOTICES):
                await bus.event(envelope(NoticeSpec(users).published()))

        expected = NOTICES * (USERS + 1)

        async def all_delivered() -> bool:
            async with dispatchers[0].session_factory() as session:
                count = await session.scalar(
                    select(func.count()).where(Delivery.status == "delivered")
                )
            return count == expected

        await eventually(all_delivered, within=120, interval=0.2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for notifier in [*consumers, *dispatchers]:
            await shutdown(notifier)

    sent = Counter(
        message.delivery_id
        for email, hooks in channels
        for message in [*email.delivered, *hooks.delivered]
    )
    assert len(sent) == expected
    assert max(sent.values()) == 1, "a delivery was sent twice"
    assert all(email.delivered for email, _ in channels), "one dispatcher did all the work"
