from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q

from notices_api.accounts.models import User, UserQuerySet
from notices_api.core.exceptions import NotFoundError
from notices_api.groups.models import RecipientGroup
from notices_api.notices.models import Notice, NoticeQuerySet, NoticeRecipient


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeFilters:
    authored: bool = False
    unread: bool = False
    category: str | None = None
    search: str | None = None


def notice_list(*, user: User, filters: NoticeFilters) -> NoticeQuerySet:
    """What the user may read now, or (``authored``) their own notices in every status.

    The inbox is ordered by ``inbox_published_at`` (see ``INBOX_ORDERING``), the copy of
    ``published_at`` on the reader's own row that the inbox indexes hold.
    """
    if filters.authored:
        notices = Notice.objects.authored_by(user).with_read_state(user)
        if filters.category:
            notices = notices.in_category(filters.category)
    else:
        notices = Notice.objects.inbox_of(
            user, unread=filters.unread, category=filters.category or None
        )
    if filters.search:
        notices = notices.search(filters.search)
    return notices.for_listing()


INBOX_ORDERING = ("-inbox_published_at",)
AUTHORED_ORDERING = ("-created_at",)


def notice_list_ordering(*, filters: NoticeFilters) -> tuple[str, ...]:
    """The cursor ordering of ``notice_list`` (own notices include drafts, never published)."""
    return AUTHORED_ORDERING if filters.authored else INBOX_ORDERING


def notice_get(*, user: User, notice_id: UUID) -> Notice:
    """A notice the user may see: in their inbox now, or their own in any status; otherwise
    NotFoundError, no hint. Its ``is_read`` is the caller's read state.

    A reader's own recipient row answers both (it carries the notice's status and window
    and the read time), so a reader's request is one query on that row with the notice and
    its author joined; only when it finds none are the caller's own notices looked in.
    """
    own_row = NoticeRecipient.objects.inbox_of(user).filter(notice_id=notice_id)
    for row in own_row.select_related("notice__author")[:1]:
        return row.notice_with_read_state()
    own_notices = Notice.objects.authored_by(user).with_read_state(user).for_listing()
    try:
        return own_notices.get(pk=notice_id)
    except Notice.DoesNotExist:
        raise NotFoundError("No such notice.") from None


def notice_unread_count(*, user: User) -> int:
    """Counted on the reader's unread rows alone (the partial index ``notice_recipient_unread``)."""
    return NoticeRecipient.objects.inbox_of(user).filter(read_at__isnull=True).count()


@dataclass(frozen=True, slots=True)
class Receipt:
    user: User
    read_at: datetime | None


def notice_receipts(*, notice: Notice) -> list[Receipt]:
    """Every frozen recipient with the time they first read the notice (None: not yet)."""
    rows = NoticeRecipient.objects.filter(notice=notice).select_related("user")
    rows = rows.order_by("user__username")
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


def notice_inbox(*, user: User, filters: NoticeFilters) -> NoticeQuerySet:
    """The recipient's inbox: what they may read now, unread first, then newest first."""
    return notice_list(user=user, filters=filters).order_by("is_read", *INBOX_ORDERING, "-pk")


def notice_categories(*, user: User) -> list[str]:
    """The categories of the notices the user may read now, for the inbox filter."""
    rows = NoticeRecipient.objects.inbox_of(user).order_by("category")
    return list(rows.values_list("category", flat=True).distinct())
