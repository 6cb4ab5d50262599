"""Who may be messaged, and when: every eligibility rule, as pure functions.

Creation (when an event arrives) and the claim (when a row falls due) ask the same
question, ``email_schedule``, so a rule is written once and a row created under one
state of the world is re-checked under the state at send time (preferences change,
a notice is archived, a reader reads).

Messages to people are due from the notice's ``visible_from`` and pushed past the
recipient's quiet hours unless the notice is urgent; none is owed at or after
``visible_until``. Webhooks tell systems what happened when it happened: no
visibility or quiet-hours rule applies to them.
"""

from datetime import datetime, time, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from notifier.ledger.cancel import CancelReason
from notifier.quiet_hours import quiet_until
from notifier.store.models import Channel, DeliveryKind


class RecipientFacts(NamedTuple):
    """The directory columns the rules need; plain rows (publishes read 10,000s of them)."""

    user_id: UUID
    email: str | None
    display_name: str
    timezone: str
    is_active: bool


class PreferenceFacts(NamedTuple):
    user_id: UUID
    opt_outs: dict[str, Any]
    quiet_hours_start: time | None
    quiet_hours_end: time | None


class NoticeFacts(NamedTuple):
    notice_id: UUID
    title: str | None
    summary: str | None
    category: str | None
    urgent: bool
    url: str | None
    published_at: datetime | None
    visible_from: datetime | None
    visible_until: datetime | None
    remind_after_seconds: int | None
    archived_at: datetime | None


def reachable_by_email(recipient: RecipientFacts | None) -> bool:
    return recipient is not None and bool(recipient.email) and recipient.is_active


def opted_out(prefs: PreferenceFacts | None, *, channel: Channel, category: str | None) -> bool:
    return prefs is not None and (category or "") in prefs.opt_outs.get(channel.value, [])


def _earliest(notice: NoticeFacts, kind: DeliveryKind) -> datetime | None:
    """When the notice's own dates let the message go, before quiet hours."""
    visible_from = notice.visible_from
    if kind is DeliveryKind.NOTICE:
        return visible_from
    if notice.remind_after_seconds is None or notice.published_at is None:
        return None
    # A reminder counts from when the notice could first be seen, not from its publish.
    shown_at = max(notice.published_at, visible_from or notice.published_at)
    return shown_at + timedelta(seconds=notice.remind_after_seconds)


def email_schedule(
    *,
    kind: DeliveryKind,
    notice: NoticeFacts,
    recipient: RecipientFacts | None,
    prefs: PreferenceFacts | None,
    has_read: bool,
    now: datetime,
) -> datetime | CancelReason:
    """When this email is due (at ``now`` or later), or why it is owed no longer."""
    if kind is DeliveryKind.REMINDER and has_read:
        return CancelReason.READ
    if notice.archived_at is not None:
        return CancelReason.ARCHIVED
    if recipient is None or not reachable_by_email(recipient):
        return CancelReason.UNREACHABLE
    if opted_out(prefs, channel=Channel.EMAIL, category=notice.category):
        return CancelReason.OPTED_OUT
    due = max(now, _earliest(notice, kind) or now)
    if not notice.urgent and prefs is not None:
        due = (
            quiet_until(
                now=due,
                timezone=recipient.timezone,
                start=prefs.quiet_hours_start,
                end=prefs.quiet_hours_end,
            )
            or due
        )
    if notice.visible_until is not None and due >= notice.visible_until:
        return CancelReason.EXPIRED
    return due


def kept_as_cancelled(reason: CancelReason) -> bool:
    """Whether creation writes a row of this fate as cancelled, or writes none at all.

    A read or an archive that overtook the publish leaves the ledger the natural order
    leaves (rows cancelled for that reason); a recipient nobody can email never had rows.
    """
    return reason in (CancelReason.READ, CancelReason.ARCHIVED)
