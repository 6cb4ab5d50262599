"""The console's reads: a publisher's own notices, their receipts with delivery state."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Count

from notices_api.accounts.models import User
from notices_api.console.delivery import (
    DeliveryStates,
    DeliveryStateUnavailableError,
    RecipientDelivery,
)
from notices_api.core.exceptions import NotFoundError
from notices_api.groups.models import RecipientGroup
from notices_api.notices.models import Notice, NoticeQuerySet
from notices_api.notices.selectors import audience_users, notice_receipts

EMAIL_LABELS = {
    "pending": "Email queued",
    "delivered": "Email sent",
    "failed": "Email failed",
    "cancelled": "Email cancelled",
}
REMINDER_LABELS = {
    "pending": "Reminder pending",
    "delivered": "Reminder sent",
    "failed": "Reminder failed",
    "cancelled": "Reminder cancelled",
}


def console_notices(*, author: User, status: str | None) -> NoticeQuerySet:
    """The author's notices, newest first, with how many received and read each."""
    notices = Notice.objects.authored_by(author)
    if status:
        notices = notices.filter(status=status)
    return notices.annotate(
        recipient_count=Count("recipients", distinct=True),
        read_count=Count("read_receipts", distinct=True),
    ).order_by("-created_at")


def console_notice_get(*, author: User, notice_id: UUID) -> Notice:
    """One of the author's own notices; anyone else's is NotFoundError, with no hint."""
    notice = Notice.objects.authored_by(author).filter(pk=notice_id).first()
    if notice is None:
        raise NotFoundError("No such notice.")
    return notice


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeAudience:
    groups: list[RecipientGroup]
    users: list[User]
    count: int


def notice_audience(*, notice: Notice) -> NoticeAudience:
    """Who was chosen, and how many people that is: resolved now for a draft, frozen after."""
    if notice.status == Notice.Status.DRAFT:
        count = audience_users(
            user_ids=notice.audience_users.values("id"),
            group_ids=notice.audience_groups.values("id"),
        ).count()
    else:
        count = notice.recipients.count()
    return NoticeAudience(
        groups=list(notice.audience_groups.all()),
        users=list(notice.audience_users.order_by("username")),
        count=count,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptRow:
    user: User
    read_at: datetime | None
    delivery: RecipientDelivery | None

    @property
    def delivery_labels(self) -> list[str]:
        if self.delivery is None:
            return ["Not known to the notifier yet"]
        email = EMAIL_LABELS.get(self.delivery.email_status or "", "No email")
        reminder = REMINDER_LABELS.get(self.delivery.reminder_status or "")
        return [email, reminder] if reminder else [email]

    @property
    def delivery_failed(self) -> bool:
        return self.delivery is not None and "failed" in {
            self.delivery.email_status,
            self.delivery.reminder_status,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptsOverview:
    read: list[ReceiptRow]
    unread: list[ReceiptRow]
    delivery_available: bool

    @property
    def recipient_count(self) -> int:
        return len(self.read) + len(self.unread)


def receipts_overview(*, notice: Notice, delivery_states: DeliveryStates) -> ReceiptsOverview:
    """Reads from this service's receipts; delivery state from the notifier, if it answers."""
    deliveries: dict[UUID, RecipientDelivery] | None
    try:
        deliveries = delivery_states.for_notice(notice.id)
    except DeliveryStateUnavailableError:
        deliveries = None
    rows = [
        ReceiptRow(
            user=receipt.user,
            read_at=receipt.read_at,
            delivery=None if deliveries is None else deliveries.get(receipt.user.id),
        )
        for receipt in notice_receipts(notice=notice)
    ]
    read = [(row.read_at, row) for row in rows if row.read_at is not None]
    read.sort(key=lambda pair: pair[0], reverse=True)  # the newest read on top, as they arrive
    return ReceiptsOverview(
        read=[row for _, row in read],
        unread=[row for row in rows if row.read_at is None],
        delivery_available=deliveries is not None,
    )
