"""On PostgreSQL's claim engine, an email the rules do not send now is leased, judged and
given back: deferred or cancelled, not counted as an attempt, with no lease left on it."""

import uuid
from datetime import time, timedelta

from integration_harness import migrated
from notifier_testing import FakeClock, NoticeSpec, envelope, handle, recipient_updated
from sqlalchemy import select

from notifier.dispatcher import Dispatcher
from notifier.ledger.cancel import CancelReason
from notifier.store.db import (
    claim_sessions,
    create_claim_engine,
    create_engine,
    create_session_factory,
)
from notifier.store.models import Channel, Delivery, Preferences
from notifier_devtools.fakes import FakeEmailChannel, FakeWebhookChannel


async def test_deferred_and_cancelled_emails_are_given_back_unattempted(database_url: str) -> None:
    await migrated({"NOTIFIER_DATABASE_URL": database_url})
    engine, claim_engine = create_engine(database_url), create_claim_engine(database_url)
    sessions, clock, email = create_session_factory(engine), FakeClock(), FakeEmailChannel()
    dispatcher = Dispatcher(
        session_factory=sessions,
        claim_sessions=claim_sessions(sessions, claim_engine),
        email=email,
        webhooks=FakeWebhookChannel(),
        clock=clock,
    )
    quiet, opted_out = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([quiet, opted_out], remind_after_seconds=2 * 3600)
    try:
        async with sessions.begin() as session:
            for user in (quiet, opted_out):
                await handle(session, envelope(recipient_updated(user)), now=clock.now)
            await handle(session, envelope(notice.published()), now=clock.now)
        assert await dispatcher.dispatch_due(Channel.EMAIL) == 2
        async with sessions.begin() as session:  # what the rules learn after the rows exist
            session.add_all(
                [
                    Preferences(
                        user_id=quiet,
                        opt_outs={},
                        quiet_hours_start=time(14),  # 14:00-16:00 UTC
                        quiet_hours_end=time(16),
                        updated_at=clock.now,
                    ),
                    Preferences(
                        user_id=opted_out,
                        opt_outs={"email": [notice.category]},
                        updated_at=clock.now,
                    ),
                ]
            )

        clock.advance(hours=2)
        assert await dispatcher.dispatch_due(Channel.EMAIL) == 0
        async with sessions() as session:
            reminders = {
                row.target_id: row
                for row in await session.scalars(
                    select(Delivery).where(Delivery.kind == "reminder")
                )
            }
    finally:
        await engine.dispose()
        if claim_engine is not None:
            await claim_engine.dispose()

    deferred, cancelled = reminders[quiet], reminders[opted_out]
    assert (deferred.status, deferred.due_at) == ("pending", clock.now + timedelta(hours=2))
    assert (cancelled.status, cancelled.last_error) == ("cancelled", CancelReason.OPTED_OUT.value)
    for row in (deferred, cancelled):
        assert (row.attempt_count, row.claim_token, row.claimed_until) == (0, None, None)
    assert len(email.delivered) == 2
