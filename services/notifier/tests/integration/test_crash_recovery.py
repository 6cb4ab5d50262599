"""kill -9 of a notifier process in the middle of a 1,000-recipient dispatch, then a restart."""

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import pytest
from integration_harness import eventually, free_port, migrated, notifier_process, publisher
from notifier_testing import NoticeSpec, envelope, recipient_updated
from sqlalchemy import func, select

from notifier.store.db import create_engine, create_session_factory
from notifier.store.models import Delivery
from notifier_devtools.smtp_sink import SmtpSink

RECIPIENTS = 1000


@pytest.mark.timeout(600)
async def test_after_kill_9_and_restart_every_recipient_has_exactly_one_delivered_email(
    settings_env: dict[str, str], smtp_sink: tuple[SmtpSink, int], tmp_path: Path
) -> None:
    sink, smtp_port = smtp_sink
    env = settings_env | {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "NOTIFIER_API_PORT": str(free_port()),
        "NOTIFIER_API_HOST": "127.0.0.1",
        "NOTIFIER_CLAIM_LEASE_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }
    await migrated(env)
    engine = create_engine(env["NOTIFIER_DATABASE_URL"])
    sessions = create_session_factory(engine)
    users = [uuid.uuid4() for _ in range(RECIPIENTS)]
    log = tmp_path / "notifier.log"
    try:
        async with notifier_process(env, log) as first, publisher(env) as bus:
            for user in users:
                await bus.event(envelope(recipient_updated(user)))
            await bus.event(envelope(NoticeSpec(users).published()))
            async with asyncio.timeout(180):
                await sink.wait_for(RECIPIENTS // 5)
            first.kill()  # SIGKILL: no cleanup, claims stay leased, results unrecorded
            await first.wait()
        await asyncio.sleep(0.2)  # let the sink take whatever was already on the wire
        received_before_restart = len(sink.mails)

        async with sessions() as session:
            in_flight = set(
                await session.scalars(
                    select(Delivery.id).where(
                        Delivery.status == "pending", Delivery.claimed_until.is_not(None)
                    )
                )
            )
        assert received_before_restart < RECIPIENTS, "the kill came too late to prove anything"

        async def all_delivered() -> bool:
            async with sessions() as session:
                delivered = await session.scalar(
                    select(func.count()).where(Delivery.status == "delivered")
                )
            return delivered == RECIPIENTS

        async with notifier_process(env, log):
            await eventually(all_delivered, within=300, interval=0.5)
            await asyncio.sleep(1.0)

        async with sessions() as session:
            rows = list(
                await session.execute(select(Delivery.id, Delivery.target_id, Delivery.status))
            )
    finally:
        await engine.dispose()

    print(f"mails before the kill: {received_before_restart}, in flight: {len(in_flight)}")
    per_recipient = Counter(target for _, target, status in rows if status == "delivered")
    assert sorted(per_recipient) == sorted(users)
    assert set(per_recipient.values()) == {1}

    by_message_id = Counter(mail.message_id for mail in sink.mails)
    ids = {str(delivery_id): delivery_id for delivery_id, _, _ in rows}
    received = {
        ids[message_id.strip("<>").split("@")[0]] for message_id in by_message_id if message_id
    }
    assert received == set(ids.values())
    duplicated = {
        ids[message_id.strip("<>").split("@")[0]]
        for message_id, count in by_message_id.items()
        if message_id and count > 1
    }
    print(f"duplicates at the SMTP server: {len(duplicated)}")
    assert duplicated <= in_flight
