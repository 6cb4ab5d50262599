"""The ledger rows an event creates: one per message owed, saved before anything is sent.

Row ids are deterministic (``notifier.ids``) and inserts skip ids that exist, so an
event handled twice, or two events that owe the same message (a publish and a user
becoming reachable), create it once. Whatever order events arrive in, the rows end
as the natural order leaves them (see ``rules.kept_as_cancelled``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.handlers.context import EventContext
from notifier.ids import delivery_id
from notifier.ledger.cancel import CancelReason
from notifier.ledger.facts import Subscription
from notifier.ledger.rules import (
    NoticeFacts,
    PreferenceFacts,
    RecipientFacts,
    email_schedule,
    kept_as_cancelled,
)
from notifier.store.models import Channel, Delivery, DeliveryKind, DeliveryStatus
from notifier.store.upsert import InsertFactory, built_once
from notifier.store.wakeups import announce_due

_DELIVERIES = cast(Table, Delivery.__table__)


@built_once
def _delivery_insert(insert: InsertFactory) -> Any:
    return insert(_DELIVERIES).on_conflict_do_nothing(index_elements=["id"])


@dataclass(frozen=True, slots=True)
class LedgerChange:
    created: int = 0
    cancelled: int = 0
    # The channels of the rows created: the dispatcher lanes to wake.
    channels: frozenset[Channel] = frozenset()

    def __add__(self, other: "LedgerChange") -> "LedgerChange":
        return LedgerChange(
            self.created + other.created,
            self.cancelled + other.cancelled,
            self.channels | other.channels,
        )


def _row(
    *,
    notice_id: UUID,
    target_id: UUID,
    channel: Channel,
    kind: str,
    due_at: datetime,
    context: EventContext,
    now: datetime,
    cancelled: CancelReason | None = None,
    urgent: bool = False,
    body: bytes | None = None,
) -> dict[str, Any]:
    status = DeliveryStatus.CANCELLED if cancelled else DeliveryStatus.PENDING
    return {
        "id": delivery_id(notice_id=notice_id, target_id=target_id, channel=channel, kind=kind),
        "notice_id": notice_id,
        "channel": channel.value,
        "kind": kind,
        "target_id": target_id,
        "status": status.value,
        "due_at": due_at,
        "claimed_until": None,
        "claim_token": None,
        "attempt_count": 0,
        "last_error": cancelled.value if cancelled else None,
        "last_status_code": None,
        "body": body,
        "urgent": urgent,
        "event_id": context.event_id,
        "event_time": context.time,
        "correlation_id": context.correlationid,
        "traceparent": context.traceparent,
        "created_at": now,
        "updated_at": now,
        "delivered_at": None,
    }


def email_rows(
    notice: NoticeFacts,
    *,
    user_ids: Iterable[UUID],
    recipients: dict[UUID, RecipientFacts],
    preferences: dict[UUID, PreferenceFacts],
    reads: set[tuple[UUID, UUID]],
    context: EventContext,
    now: datetime,
) -> list[dict[str, Any]]:
    """The notice email, and its reminder when it has one, for each of ``user_ids``."""
    kinds = [DeliveryKind.NOTICE]
    if notice.remind_after_seconds:
        kinds.append(DeliveryKind.REMINDER)
    rows: list[dict[str, Any]] = []
    for user_id in user_ids:
        recipient, prefs = recipients.get(user_id), preferences.get(user_id)
        for kind in kinds:
            fate = email_schedule(
                kind=kind,
                notice=notice,
                recipient=recipient,
                prefs=prefs,
                has_read=(notice.notice_id, user_id) in reads,
                now=now,
            )
            if isinstance(fate, CancelReason) and not kept_as_cancelled(fate):
                continue
            rows.append(
                _row(
                    notice_id=notice.notice_id,
                    target_id=user_id,
                    channel=Channel.EMAIL,
                    kind=kind.value,
                    due_at=now if isinstance(fate, CancelReason) else fate,
                    cancelled=fate if isinstance(fate, CancelReason) else None,
                    context=context,
                    now=now,
                    urgent=notice.urgent,
                )
            )
    return rows


def webhook_rows(
    subscriptions: Sequence[Subscription],
    *,
    notice_id: UUID,
    context: EventContext,
    now: datetime,
    user_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """One row per endpoint subscribed to the event's type; the body is the event as received.

    A per-user event (a read) is keyed by its user too, so that every reader's event
    reaches the endpoint, each once.
    """
    kind = f"{context.event_type}:{user_id}" if user_id else context.event_type
    return [
        _row(
            notice_id=notice_id,
            target_id=subscription.endpoint_id,
            channel=Channel.WEBHOOK,
            kind=kind,
            due_at=now,
            context=context,
            now=now,
            body=context.body,
        )
        for subscription in subscriptions
        if context.event_type in subscription.event_types
    ]


async def save(session: AsyncSession, rows: list[dict[str, Any]]) -> LedgerChange:
    """Insert the rows; those that exist already (same id) stay as they are."""
    if not rows:
        return LedgerChange()
    # The table, not the mapped class: a Core executemany, without the ORM's bulk machinery.
    await session.execute(_delivery_insert(session), rows)
    channels = frozenset(Channel(row["channel"]) for row in rows)
    await announce_due(session, channels)
    return LedgerChange(created=len(rows), channels=channels)
