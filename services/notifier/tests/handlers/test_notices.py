"""The notice handlers, called directly with a session, as the router calls them."""

import uuid
from datetime import time, timedelta
from uuid import UUID

from notifier_testing import (
    T0,
    NoticeSpec,
    envelope,
    handle,
    recipient_updated,
    wire_bytes,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import RecipientUpdatedV1
from notifier.ids import delivery_id
from notifier.store.db import SessionFactory
from notifier.store.models import Delivery, Preferences, Recipient, WebhookEndpoint


async def _directory(session: AsyncSession, *users: UUID, **options: object) -> None:
    for user in users:
        event = envelope(recipient_updated(user, **options))  # type: ignore[arg-type]
        await handle(session, event, now=T0)


async def _publish(session: AsyncSession, notice: NoticeSpec) -> None:
    event = envelope(notice.published())
    await handle(session, event, now=T0)


async def _read(session: AsyncSession, notice: NoticeSpec, user: UUID) -> None:
    event = envelope(notice.read(user))
    await handle(session, event, now=T0)


async def _archive(session: AsyncSession, notice: NoticeSpec) -> None:
    event = envelope(notice.archived())
    await handle(session, event, now=T0)


async def _ledger(session: AsyncSession) -> list[Delivery]:
    return list(await session.scalars(select(Delivery).order_by(Delivery.kind)))


def _state(
    ledger: list[Delivery], notice: NoticeSpec
) -> dict[tuple[UUID, str], tuple[str, str | None]]:
    """Each of the notice's rows by (target, kind): its status and why it was cancelled."""
    return {
        (d.target_id, d.kind): (d.status, d.last_error)
        for d in ledger
        if d.notice_id == notice.notice_id
    }


async def test_publish_creates_one_email_per_reachable_recipient(
    session_factory: SessionFactory,
) -> None:
    ann, bob, gone, unknown, mute = (uuid.uuid4() for _ in range(5))
    notice = NoticeSpec([ann, bob, gone, unknown, mute, ann])
    async with session_factory.begin() as session:
        await _directory(session, ann, bob, mute)
        await _directory(session, gone, is_active=False)
        session.add(Preferences(user_id=mute, opt_outs={"email": ["general"]}, updated_at=T0))
        await _publish(session, notice)
        ledger = await _ledger(session)

    assert {d.target_id for d in ledger} == {ann, bob}
    assert all(
        d.channel == "email" and d.kind == "notice" and d.status == "pending" for d in ledger
    )
    expected = delivery_id(
        notice_id=notice.notice_id, target_id=ann, channel="email", kind="notice"
    )
    assert expected in {d.id for d in ledger}


async def test_publishing_twice_changes_nothing(session_factory: SessionFactory) -> None:
    ann = uuid.uuid4()
    notice = NoticeSpec([ann], remind_after_seconds=60)
    async with session_factory.begin() as session:
        await _directory(session, ann)
        await _publish(session, notice)
        await _publish(session, notice)
        ledger = await _ledger(session)
    assert [(d.kind, d.due_at) for d in ledger] == [
        ("notice", T0),
        ("reminder", T0 + timedelta(seconds=60)),
    ]


async def test_publish_adds_a_webhook_per_subscribed_endpoint(
    session_factory: SessionFactory,
) -> None:
    subscribed, other = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([])
    async with session_factory.begin() as session:
        for endpoint_id, types in ((subscribed, [envelope(notice.published()).type]), (other, [])):
            session.add(
                WebhookEndpoint(
                    id=endpoint_id,
                    url="https://hooks.example/x",
                    secrets=["whsec_AAAA"],
                    event_types=types,
                    enabled=True,
                    created_at=T0,
                    updated_at=T0,
                )
            )
        event = envelope(notice.published())
        await handle(session, event, now=T0)
        [webhook] = await _ledger(session)
    assert webhook.target_id == subscribed
    assert webhook.body == wire_bytes(event)


async def test_read_cancels_that_users_reminder_only(session_factory: SessionFactory) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([ann, bob], remind_after_seconds=60)
    async with session_factory.begin() as session:
        await _directory(session, ann, bob)
        await _publish(session, notice)
        await _read(session, notice, ann)
        ledger = await _ledger(session)
    status = {(d.target_id, d.kind): d.status for d in ledger}
    assert status == {
        (ann, "notice"): "pending",
        (bob, "notice"): "pending",
        (ann, "reminder"): "cancelled",
        (bob, "reminder"): "pending",
    }


async def test_read_before_publish_leaves_the_ledger_of_the_natural_order(
    session_factory: SessionFactory,
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    natural, overtaken = (NoticeSpec([ann, bob], remind_after_seconds=60) for _ in range(2))
    async with session_factory.begin() as session:
        await _directory(session, ann, bob)
        await _publish(session, natural)
        await _read(session, natural, ann)
        await _read(session, overtaken, ann)
        await _publish(session, overtaken)
        ledger = await _ledger(session)
    assert _state(ledger, overtaken) == _state(ledger, natural)
    assert _state(ledger, overtaken)[(ann, "reminder")] == ("cancelled", "read")
    assert _state(ledger, overtaken)[(bob, "reminder")] == ("pending", None)


async def test_archive_cancels_everything_pending(session_factory: SessionFactory) -> None:
    ann = uuid.uuid4()
    notice = NoticeSpec([ann], remind_after_seconds=60)
    async with session_factory.begin() as session:
        await _directory(session, ann)
        await _publish(session, notice)
        await _archive(session, notice)
        ledger = await _ledger(session)
    assert {d.status for d in ledger} == {"cancelled"}


async def test_archive_before_publish_leaves_the_ledger_of_the_natural_order(
    session_factory: SessionFactory,
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    natural, overtaken = (NoticeSpec([ann, bob], remind_after_seconds=60) for _ in range(2))
    async with session_factory.begin() as session:
        await _directory(session, ann, bob)
        await _publish(session, natural)
        await _read(session, natural, ann)
        await _archive(session, natural)
        await _read(session, overtaken, ann)
        await _archive(session, overtaken)
        await _publish(session, overtaken)
        ledger = await _ledger(session)
    assert _state(ledger, overtaken) == _state(ledger, natural)
    assert {status for status, _ in _state(ledger, overtaken).values()} == {"cancelled"}


async def test_quiet_hours_defer_email_unless_urgent(session_factory: SessionFactory) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()  # T0 is 12:00 UTC = 21:00 in Tokyo
    async with session_factory.begin() as session:
        await _directory(session, ann, bob, timezone="Asia/Tokyo")
        for user in (ann, bob):
            session.add(
                Preferences(
                    user_id=user,
                    opt_outs={},
                    quiet_hours_start=time(20, 0),
                    quiet_hours_end=time(7, 30),
                    updated_at=T0,
                )
            )
        await _publish(session, NoticeSpec([ann]))
        await _publish(session, NoticeSpec([bob], urgent=True))
        due = {d.target_id: d.due_at for d in await _ledger(session)}
    assert due[ann] == T0 + timedelta(hours=10, minutes=30)  # 07:30 Tokyo next morning
    assert due[bob] == T0


async def test_an_older_recipient_update_does_not_overwrite_a_newer_one(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    newer = envelope(recipient_updated(ann, email="new@example.org"), time=T0)
    older = envelope(recipient_updated(ann, email="old@example.org"), time=T0 - timedelta(hours=1))
    async with session_factory.begin() as session:
        for event in (newer, older):
            await handle(session, event, now=T0)
        recipient = await session.get(Recipient, ann)
    assert recipient is not None
    assert recipient.email == "new@example.org"


async def _emails_of(session: AsyncSession, user: UUID) -> list[tuple[str, object]]:
    return [(d.kind, d.due_at) for d in await _ledger(session) if d.target_id == user]


async def test_a_recipient_known_only_after_the_publish_still_gets_email_and_reminder(
    session_factory: SessionFactory,
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([ann, bob], remind_after_seconds=60)
    late = envelope(recipient_updated(bob), event_id=uuid.uuid4())
    async with session_factory.begin() as session:
        await _directory(session, ann)
        await _publish(session, notice)
        for _ in range(2):  # the second is a redelivery (the inbox would drop it): no change
            await handle(session, late, now=T0)
            bob_emails = await _emails_of(session, bob)
            assert bob_emails == [("notice", T0), ("reminder", T0 + timedelta(seconds=60))]
        [bob_notice] = [
            d for d in await _ledger(session) if d.target_id == bob and d.kind == "notice"
        ]
    assert bob_notice.id == delivery_id(
        notice_id=notice.notice_id, target_id=bob, channel="email", kind="notice"
    )
    assert bob_notice.event_id == late.id


async def test_the_natural_order_then_another_update_still_makes_one_email(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    notice = NoticeSpec([ann], remind_after_seconds=60)
    async with session_factory.begin() as session:
        await _directory(session, ann)
        await _publish(session, notice)
        await _directory(session, ann, is_active=False)
        await _directory(session, ann)  # reactivated: the publish's rows are already there
        assert await _emails_of(session, ann) == [
            ("notice", T0),
            ("reminder", T0 + timedelta(seconds=60)),
        ]


async def test_a_late_recipient_gets_nothing_for_an_archived_or_read_notice(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    archived = NoticeSpec([ann], remind_after_seconds=60)
    read = NoticeSpec([ann], remind_after_seconds=60)
    live = NoticeSpec([ann])
    async with session_factory.begin() as session:
        for notice in (archived, read, live):
            await _publish(session, notice)
        await _archive(session, archived)
        await _read(session, read, ann)
        await _directory(session, ann)
        ledger = await _ledger(session)
    assert [(d.notice_id, d.kind) for d in ledger] == [(live.notice_id, "notice")]


async def test_a_late_recipient_keeps_opt_outs_and_quiet_hours(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()  # T0 is 12:00 UTC = 21:00 in Tokyo
    quiet, opted_out = NoticeSpec([ann]), NoticeSpec([ann], category="newsletter")
    async with session_factory.begin() as session:
        session.add(
            Preferences(
                user_id=ann,
                opt_outs={"email": ["newsletter"]},
                quiet_hours_start=time(20, 0),
                quiet_hours_end=time(7, 30),
                updated_at=T0,
            )
        )
        await _publish(session, quiet)
        await _publish(session, opted_out)
        await _directory(session, ann, timezone="Asia/Tokyo")
        ledger = await _ledger(session)
    assert [(d.notice_id, d.due_at) for d in ledger] == [
        (quiet.notice_id, T0 + timedelta(hours=10, minutes=30))
    ]


async def test_a_user_who_gains_an_email_later_gets_the_live_notice(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    notice = NoticeSpec([ann])
    without_email = RecipientUpdatedV1.model_validate(
        recipient_updated(ann).model_dump() | {"email": None}
    )
    no_email = envelope(without_email, time=T0)
    async with session_factory.begin() as session:
        await handle(session, no_email, now=T0)
        await _publish(session, notice)
        assert await _ledger(session) == []
        gained = envelope(recipient_updated(ann), time=T0 + timedelta(minutes=5))
        await handle(session, gained, now=T0)
        assert await _emails_of(session, ann) == [("notice", T0)]


async def test_an_older_update_arriving_late_creates_nothing(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    notice = NoticeSpec([ann])
    newer = envelope(recipient_updated(ann, is_active=False), time=T0)
    older = envelope(recipient_updated(ann), time=T0 - timedelta(hours=1))
    async with session_factory.begin() as session:
        await _publish(session, notice)
        for event in (newer, older):
            await handle(session, event, now=T0)
        assert await _ledger(session) == []


def _versioned(user: UUID, *, version: int, **options: object) -> RecipientUpdatedV1:
    data = recipient_updated(user, **options)  # type: ignore[arg-type]
    return data.model_copy(update={"version": version})


async def test_the_higher_version_wins_over_a_newer_time_from_a_lagging_clock(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    active = envelope(_versioned(ann, version=1), time=T0)
    # Written later, on a host whose clock lags an hour behind.
    deactivated = envelope(
        _versioned(ann, version=2, is_active=False), time=T0 - timedelta(hours=1)
    )
    async with session_factory.begin() as session:
        for event in (active, deactivated):
            await handle(session, event, now=T0)
        recipient = await session.get(Recipient, ann)
    assert recipient is not None
    assert recipient.is_active is False


async def test_a_lower_version_arriving_late_does_not_overwrite_a_higher_one(
    session_factory: SessionFactory,
) -> None:
    ann = uuid.uuid4()
    newer = envelope(_versioned(ann, version=5, email="new@example.org"), time=T0)
    older = envelope(
        _versioned(ann, version=4, email="old@example.org"), time=T0 + timedelta(hours=1)
    )
    async with session_factory.begin() as session:
        for event in (newer, older):
            await handle(session, event, now=T0)
        recipient = await session.get(Recipient, ann)
    assert recipient is not None
    assert recipient.email == "new@example.org"


async def test_a_deleted_user_is_forgotten_and_nothing_more_is_emailed_to_them(
    session_factory: SessionFactory,
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([ann, bob], remind_after_seconds=60)
    deleted = _versioned(ann, version=2, is_active=False).model_copy(
        update={"email": None, "deleted": True}
    )
    async with session_factory.begin() as session:
        await _directory(session, ann, bob)
        await _publish(session, notice)
        await handle(session, envelope(deleted), now=T0)
        recipient = await session.get(Recipient, ann)
        state = _state(await _ledger(session), notice)
    assert recipient is not None
    assert (recipient.email, recipient.display_name, recipient.is_active) == (None, "", False)
    assert state[(ann, "notice")] == ("cancelled", "recipient deleted")
    assert state[(ann, "reminder")] == ("cancelled", "recipient deleted")
    assert state[(bob, "notice")] == ("pending", None)
