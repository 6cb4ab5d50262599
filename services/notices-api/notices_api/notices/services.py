"""Writes on notices. Each event-writing service locks the notice row first, so one
notice's events enter the outbox in the order their transactions commit."""

from datetime import datetime
from typing import TypedDict, Unpack
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from notices_api.accounts.models import User
from notices_api.core.exceptions import ActionForbiddenError, NotFoundError, StateConflictError
from notices_api.groups.models import RecipientGroup
from notices_api.notices.models import Notice, NoticeRecipient, ReadReceipt
from notices_api.notices.selectors import audience_users
from notices_api.outbox.services import outbox_event_record
from notices_contracts import NoticeArchivedV1, NoticePublishedV1, NoticeReadV1

SUMMARY_LENGTH = 200


class DraftFields(TypedDict, total=False):
    """What a draft is made of besides its title; absent keys are left as they are."""

    body: str
    category: str
    urgent: bool
    visible_from: datetime | None
    visible_until: datetime | None
    remind_after_seconds: int | None
    audience_users: list[User]
    audience_groups: list[RecipientGroup]


class DraftChanges(DraftFields, total=False):
    title: str


def notice_draft_create(*, author: User, title: str, **content: Unpack[DraftFields]) -> Notice:
    notice = Notice(author=author, title=title)
    with transaction.atomic():
        _apply(notice, content)
    return notice


def notice_draft_update(*, notice: Notice, actor: User, **changes: Unpack[DraftChanges]) -> Notice:
    with transaction.atomic():
        locked = _locked_for_author(notice=notice, actor=actor)
        locked.ensure_status(Notice.Status.DRAFT, action="edited")
        if changes:
            locked.version += 1
            _apply(locked, changes)
    return locked


def notice_draft_delete(*, notice: Notice, actor: User) -> None:
    with transaction.atomic():
        locked = _locked_for_author(notice=notice, actor=actor)
        if locked.status != Notice.Status.DRAFT:
            raise StateConflictError(
                "Only a draft can be deleted; archive a published notice instead."
            )
        locked.delete()


def notice_publish(*, notice: Notice, actor: User) -> Notice:
    """Freeze the audience to users and record ``notice.published``."""
    with transaction.atomic():
        locked = _locked_for_author(notice=notice, actor=actor)
        published_at = timezone.now()
        locked.mark_published(at=published_at)  # checks the status; nothing saved yet
        audience = audience_users(
            user_ids=locked.audience_users.values("id"),
            group_ids=locked.audience_groups.values("id"),
        )
        recipient_ids = sorted(audience.values_list("id", flat=True), key=str)
        if not recipient_ids:
            raise StateConflictError(
                "A notice needs at least one active recipient to be published."
            )
        locked.save()
        inbox_fields = locked.inbox_fields()
        NoticeRecipient.objects.bulk_create(
            NoticeRecipient(notice=locked, user_id=user_id, **inbox_fields)
            for user_id in recipient_ids
        )
        group_ids = sorted(locked.audience_groups.values_list("id", flat=True), key=str)
        outbox_event_record(
            data=_published_event(locked, recipient_ids=recipient_ids, group_ids=group_ids),
            aggregate_id=locked.id,
            occurred_at=published_at,
        )
    return locked


def notice_archive(*, notice: Notice, actor: User) -> Notice:
    with transaction.atomic():
        locked = _locked_for_author(notice=notice, actor=actor)
        archived_at = timezone.now()
        locked.mark_archived(at=archived_at)
        locked.save()
        NoticeRecipient.objects.filter(notice=locked).update(**locked.inbox_fields())
        outbox_event_record(
            data=NoticeArchivedV1(notice_id=locked.id, archived_at=archived_at),
            aggregate_id=locked.id,
            occurred_at=archived_at,
        )
    return locked


def notice_mark_read(*, notice: Notice, user: User) -> tuple[datetime, bool]:
    """When the user read the notice, and whether this call recorded it (the receipt and
    ``notice.read``).

    One locking read finds the user's inbox row and locks it with its notice (the
    notice lock keeps one notice's events in commit order); only ``notice.pk`` is used.
    A repeated read answers from the row's copy of the read time, so it costs that one
    query (profiled: re-reading the receipt was a quarter of the repeated call).
    """
    with transaction.atomic():
        row = (
            NoticeRecipient.objects.select_for_update()
            .select_related("notice")
            .inbox_of(user)
            .filter(notice_id=notice.pk)
            .only("id", "read_at", "notice__id")
            .first()
        )
        if row is None:
            raise NotFoundError("No such notice.")
        if row.read_at is not None:
            return row.read_at, False
        receipt = ReadReceipt.objects.create(notice_id=notice.pk, user=user, read_at=timezone.now())
        NoticeRecipient.objects.filter(pk=row.pk).update(read_at=receipt.read_at)
        outbox_event_record(
            data=NoticeReadV1(notice_id=notice.pk, user_id=user.id, read_at=receipt.read_at),
            aggregate_id=notice.pk,
            occurred_at=receipt.read_at,
        )
    return receipt.read_at, True


def notice_summary(body: str) -> str:
    """A short plain-text excerpt of the body, for a mail preview or a push line."""
    text = " ".join(strip_tags(body).split())
    return Truncator(text).chars(SUMMARY_LENGTH)


def notice_url(notice: Notice) -> str:
    """The notice's page in the web app: the link every email and event carries."""
    path = reverse("web:notice", kwargs={"notice_id": notice.id})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _apply(notice: Notice, content: DraftFields) -> None:
    audience_users = content.pop("audience_users", None)
    audience_groups = content.pop("audience_groups", None)
    for field, value in content.items():
        setattr(notice, field, value)
    notice.full_clean(exclude=["author", "audience_users", "audience_groups", "recipients"])
    notice.save()
    if audience_users is not None:
        notice.audience_users.set(audience_users)
    if audience_groups is not None:
        notice.audience_groups.set(audience_groups)


def _locked_for_author(*, notice: Notice, actor: User) -> Notice:
    """The notice, read once: locked, with its author and the actor's read state
    (``is_read``), as callers render the returned notice."""
    locked = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("author")
        .with_read_state(actor)
        .filter(pk=notice.pk)
        .first()
    )
    if locked is None:
        raise NotFoundError("No such notice.")
    if locked.author_id != actor.id:
        raise ActionForbiddenError("Only the author of a notice can change it.")
    return locked


def _published_event(
    notice: Notice, *, recipient_ids: list[UUID], group_ids: list[UUID]
) -> NoticePublishedV1:
    assert notice.published_at is not None
    assert notice.visible_from is not None
    return NoticePublishedV1(
        notice_id=notice.id,
        version=notice.version,
        title=notice.title,
        summary=notice_summary(notice.body),
        category=notice.category,
        urgent=notice.urgent,
        published_at=notice.published_at,
        visible_from=notice.visible_from,
        visible_until=notice.visible_until,
        author_id=notice.author_id,
        recipient_ids=recipient_ids,
        group_ids=group_ids,
        remind_after_seconds=notice.remind_after_seconds,
        url=notice_url(notice),
    )
