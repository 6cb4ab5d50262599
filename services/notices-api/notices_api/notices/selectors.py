from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import OuterRef, Q, Subquery

from notices_api.accounts.models import User, UserQuerySet
from notices_api.core.exceptions import NotFoundError
from notices_api.groups.models import RecipientGroup
from notices_api.notices.models import Notice, NoticeQuerySet, NoticeRecipient, ReadReceipt


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeFilters:
    authored: bool = False
    unread: bool = False
    category: str | None = None
    search: str | None = None


def notice_list(*, user: User, filters: NoticeFilters) -> NoticeQuerySet:
    """What the user may read now, or (``authored``) their own notices in every status."""
    notices = (
        Notice.objects.authored_by(user) if filters.authored else Notice.objects.visible_to(user)
    )
    if filters.unread:
        notices = notices.unread_by(user)
    if filters.category:
        notices = notices.in_category(filters.category)
    if filters.search:
        notices = notices.search(filters.search)
    return notices.for_listing().with_read_state(user)


def notice_inbox(*, user: User, filters: NoticeFilters) -> NoticeQuerySet:
    """What the user may read now (``notice_list``), unread first, each part newest first."""
    return notice_list(user=user, filters=filters).order_by("is_read", "-published_at", "-pk")


def notice_categories(*, user: User) -> list[str]:
    """The categories of the notices the user may read now, for an inbox filter."""
    categories = Notice.objects.visible_to(user).order_by("category")
    return list(categories.values_list("category", flat=True).distinct())


def notice_get(*, user: User, notice_id: UUID) -> Notice:
    """A notice the user may see (as recipient or author); otherwise NotFoundError, no hint."""
    notice = (
        Notice.objects.visible_or_authored_by(user)
        .for_listing()
        .with_read_state(user)
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise NotFoundError("No such notice.")
    return notice


def notice_unread_count(*, user: User) -> int:
    return Notice.objects.visible_to(user).unread_by(user).count()


@dataclass(frozen=True, slots=True)
class Receipt:
    user: User
    read_at: datetime | None


def notice_receipts(*, notice: Notice) -> list[Receipt]:
    """Every frozen recipient with the time they first read the notice (None: not yet)."""
    read_at = ReadReceipt.objects.filter(notice=notice, user=OuterRef("user")).values("read_at")
    rows = (
        NoticeRecipient.objects.filter(notice=notice)
        .select_related("user")
        .annotate(read_at=Subquery(read_at[:1]))
        .order_by("user__username")
    )
    return [Receipt(user=row.user, read_at=row.read_at) for row in rows]


def audience_users(*, user_ids: Any, group_ids: Any) -> UserQuerySet:
    """The active users an audience of these users and groups resolves to, each once.

    The ids may be lists or ``values("id")`` querysets. Publishing freezes exactly these
    users; the console counts them while the audience is being chosen.
    """
    members = RecipientGroup.members.through.objects.filter(recipientgroup__in=group_ids).values(
        "user_id"
    )
    return User.objects.active().filter(Q(id__in=user_ids) | Q(id__in=members))
