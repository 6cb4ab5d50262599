"""``notifier prune``: what is past its retention goes, in batches; what is live stays."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from notifier.store.db import SessionFactory
from notifier.store.models import Attempt, Delivery, DeliveryStatus, InboxEvent, Read
from notifier.store.retention import FINISHED, RetentionPolicy, prune

NOTIFIER = Path(sys.executable).with_name("notifier")
NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=1)
POLICY = RetentionPolicy(inbox_days=30, deliveries_days=30, reads_days=30, batch_size=2)


def _delivery(*, notice_id: uuid.UUID, status: DeliveryStatus, updated_at: datetime) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        notice_id=notice_id,
        channel="webhook",
        kind="notice",
        target_id=uuid.uuid4(),
        status=status.value,
        due_at=updated_at,
        attempt_count=1,
        body=b"{}" * 1000,
        event_id=uuid.uuid4(),
        event_time=updated_at,
        created_at=updated_at,
        updated_at=updated_at,
    )


async def _count(session_factory: SessionFactory, model: type) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_prune_deletes_only_what_is_past_its_retention(
    session_factory: SessionFactory,
) -> None:
    live_notice, done_notice = uuid.uuid4(), uuid.uuid4()
    async with session_factory() as session, session.begin():
        for received_at in (OLD, OLD, OLD, RECENT):
            session.add(InboxEvent(event_id=uuid.uuid4(), event_type="t", received_at=received_at))
        finished = [
            _delivery(notice_id=done_notice, status=status, updated_at=OLD) for status in FINISHED
        ]
        recent = _delivery(notice_id=done_notice, status=FINISHED[0], updated_at=RECENT)
        pending = _delivery(notice_id=live_notice, status=DeliveryStatus.PENDING, updated_at=OLD)
        session.add_all([*finished, recent, pending])
        await session.flush()
        for delivery in [*finished, pending]:
            session.add(
                Attempt(
                    delivery_id=delivery.id,
                    number=1,
                    started_at=OLD,
                    finished_at=OLD,
                    outcome="retry",
                )
            )
        # An old read of a notice whose reminder is still pending stays.
        session.add(Read(notice_id=live_notice, user_id=uuid.uuid4(), read_at=OLD))
        session.add(Read(notice_id=done_notice, user_id=uuid.uuid4(), read_at=OLD))
        session.add(Read(notice_id=done_notice, user_id=uuid.uuid4(), read_at=RECENT))

    report = await prune(session_factory, policy=POLICY, now=NOW)

    assert report.deleted == {"inbox": 3, "deliveries": 3, "attempts": 3, "reads": 1}
    assert await _count(session_factory, InboxEvent) == 1
    async with session_factory() as session:
        kept = set(await session.scalars(select(Delivery.id)))
    assert kept == {recent.id, pending.id}
    assert await _count(session_factory, Attempt) == 1
    assert await _count(session_factory, Read) == 2

    again = await prune(session_factory, policy=POLICY, now=NOW)
    assert set(again.deleted.values()) == {0}


def test_the_prune_command_says_what_it_deleted(tmp_path: Path) -> None:
    env = {**os.environ, "NOTIFIER_DATABASE_URL": f"sqlite:///{tmp_path / 'n.sqlite3'}"}
    for command in ("migrate", "prune"):
        done = subprocess.run(
            [NOTIFIER, command], env=env, capture_output=True, text=True, timeout=120, check=True
        )
    assert json.loads(done.stdout) == {"inbox": 0, "deliveries": 0, "attempts": 0, "reads": 0}
