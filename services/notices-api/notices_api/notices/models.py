from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection, models
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q
from django.utils import timezone
from uuid6 import uuid7

from notices_api.accounts.models import User
from notices_api.core.exceptions import InvalidInputError, StateConflictError
from notices_api.groups.models import RecipientGroup

DEFAULT_CATEGORY = "general"
# The bounds of a reminder delay, shared by the API's input and the console's form.
# Shorter would remind before most recipients could have read the notice at all.
MIN_REMIND_AFTER_SECONDS = 10
MAX_REMIND_AFTER_SECONDS = 90 * 24 * 3600


class NoticeQuerySet(models.QuerySet["Notice"]):
    def authored_by(self, user: Any) -> "NoticeQuerySet":
        return self.filter(author=user)

    def inbox_of(
        self,
        user: Any,
        at: datetime | None = None,
        *,
        unread: bool = False,
        category: str | None = None,
    ) -> "NoticeQuerySet":
        """What ``user`` may read at ``at``, driven from their own recipient rows, with
        their read state (``is_read``) and the row's publish time (``inbox_published_at``).

        Every condition is on that one row and in one ``filter()`` call (separate calls
        would join the multi-valued relation once each, matching other readers' rows),
        so the ``notice_recipient_*`` indexes serve it without touching other readers'.
        """
        row = _inbox_row_q(user, at or timezone.now(), prefix="recipient_rows__")
        if unread:
            row &= Q(recipient_rows__read_at__isnull=True)
        if category:
            row &= Q(recipient_rows__category=category)
        return self.filter(row).annotate(
            is_read=ExpressionWrapper(
                Q(recipient_rows__read_at__isnull=False), output_field=models.BooleanField()
            ),
            inbox_published_at=F("recipient_rows__published_at"),
        )

    def in_category(self, category: str) -> "NoticeQuerySet":
        return self.filter(category=category)

    def with_read_state(self, user: Any) -> "NoticeQuerySet":
        read = NoticeRecipient.objects.filter(
            notice=OuterRef("pk"), user=user, read_at__isnull=False
        )
        return self.annotate(is_read=Exists(read))

    def search(self, text: str) -> "NoticeQuerySet":
        """Full-text (websearch syntax) on PostgreSQL; substring match on SQLite."""
        if connection.vendor == "postgresql":
            query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
            return self.annotate(search_document=notice_search_vector()).filter(
                search_document=query
            )
        return self.filter(Q(title__icontains=text) | Q(body__icontains=text))

    def for_listing(self) -> "NoticeQuerySet":
        return self.select_related("author")


class NoticeRecipientQuerySet(models.QuerySet["NoticeRecipient"]):
    def inbox_of(self, user: Any, at: datetime | None = None) -> "NoticeRecipientQuerySet":
        return self.filter(_inbox_row_q(user, at or timezone.now()))


SEARCH_CONFIG = "simple"
SEARCH_INDEX_NAME = "notice_search_gin"


def notice_search_vector() -> SearchVector:
    """The document searched; the GIN index (migration 0003) is built on this expression."""
    return SearchVector("title", "body", config=SEARCH_CONFIG)


def _inbox_row_q(user: Any, at: datetime, *, prefix: str = "") -> Q:
    """A recipient row of ``user`` for a published notice inside its window at ``at``."""
    return Q(
        **{
            f"{prefix}user": user,
            f"{prefix}status": Notice.Status.PUBLISHED,
            f"{prefix}visible_from__lte": at,
        }
    ) & (Q(**{f"{prefix}visible_until__isnull": True}) | Q(**{f"{prefix}visible_until__gt": at}))


class Notice(models.Model):
    """A message from a publisher to an audience: DRAFT -> PUBLISHED -> ARCHIVED.

    The audience (users and groups) is chosen on the draft and resolved to users
    at publish time; those users (``recipients``) are frozen from then on.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=20_000)
    category = models.CharField(max_length=50, default=DEFAULT_CATEGORY)
    urgent = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # None on a draft means "from publication on"; publishing fills it in.
    visible_from = models.DateTimeField(null=True, blank=True)
    visible_until = models.DateTimeField(null=True, blank=True)
    remind_after = models.DurationField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_notices"
    )
    audience_users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    audience_groups = models.ManyToManyField(RecipientGroup, related_name="notices", blank=True)
    recipients: "models.ManyToManyField[User, NoticeRecipient]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="NoticeRecipient",
        related_name="received_notices",
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change, so events and clients can tell versions apart.
    version = models.PositiveIntegerField(default=1)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visible_from__isnull=True)
                | Q(visible_until__isnull=True)
                | Q(visible_until__gt=F("visible_from")),
                name="notice_window_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(published_at__isnull=False, visible_from__isnull=False),
                name="notice_published_has_published_at",
            ),
            models.CheckConstraint(
                condition=Q(remind_after__isnull=True) | Q(remind_after__gt=timedelta(0)),
                name="notice_remind_after_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="notice_status_published"),
            models.Index(fields=["author", "-created_at"], name="notice_author_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def remind_after_seconds(self) -> int | None:
        """``remind_after`` in whole seconds, as the API, the console and the events give
        it; None (or 0, when set) is no reminder."""
        return int(self.remind_after.total_seconds()) if self.remind_after else None

    @remind_after_seconds.setter
    def remind_after_seconds(self, seconds: int | None) -> None:
        self.remind_after = timedelta(seconds=seconds) if seconds else None

    def clean(self) -> None:
        if self.visible_from and self.visible_until and self.visible_until <= self.visible_from:
            raise InvalidInputError(
                "The notice would never be visible.",
                field_errors={"visible_until": ["Must be after visible_from."]},
            )

    def ensure_status(self, expected: "Notice.Status", *, action: str) -> None:
        if self.status != expected:
            raise StateConflictError(f"Only a {expected.label.lower()} notice can be {action}.")

    def mark_published(self, *, at: datetime) -> None:
        self.ensure_status(Notice.Status.DRAFT, action="published")
        self.visible_from = self.visible_from or at
        if self.visible_until is not None and self.visible_until <= max(at, self.visible_from):
            raise InvalidInputError(
                "The notice would never be visible.",
                field_errors={"visible_until": ["Must be in the future and after visible_from."]},
            )
        self.status = Notice.Status.PUBLISHED
        self.published_at = at
        self.version += 1

    def mark_archived(self, *, at: datetime) -> None:
        self.ensure_status(Notice.Status.PUBLISHED, action="archived")
        self.status = Notice.Status.ARCHIVED
        self.archived_at = at
        self.version += 1

    def inbox_fields(self) -> dict[str, Any]:
        """What each recipient row copies from the notice (see ``NoticeRecipient``)."""
        return {
            "status": self.status,
            "published_at": self.published_at,
            "visible_from": self.visible_from,
            "visible_until": self.visible_until,
            "category": self.category,
        }


class NoticeRecipient(models.Model):
    """One user of a notice's audience, frozen when the notice was published.

    It also carries what that user's inbox filters and orders on (the notice's status,
    publish time, window and category, and the user's read time), so inbox reads start
    from the reader's own rows. Every service that changes those on the notice updates
    these rows in the same transaction (``Notice.inbox_fields``).
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="recipient_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Notice.Status.choices)
    published_at = models.DateTimeField()
    visible_from = models.DateTimeField()
    visible_until = models.DateTimeField(null=True, blank=True)
    category = models.CharField(max_length=50)
    # Copy of the user's ReadReceipt.read_at (None: unread), written with the receipt.
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeRecipientQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="notice_recipient_once"),
        ]
        indexes = [
            models.Index(fields=["user", "notice"], name="notice_recipient_by_user"),
            # The inbox list, newest first; the unread count and unread list use the
            # partial index of unread rows; the category filter its own prefix.
            models.Index(fields=["user", "status", "-published_at"], name="notice_recipient_inbox"),
            models.Index(
                fields=["user", "status", "-published_at"],
                condition=Q(read_at__isnull=True),
                name="notice_recipient_unread",
            ),
            models.Index(
                fields=["user", "status", "category", "-published_at"],
                name="notice_recipient_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} <- {self.notice_id}"

    def notice_with_read_state(self) -> Notice:
        """The notice, with this recipient's read state as ``is_read`` (the attribute the
        QuerySets' annotations give it)."""
        notice = self.notice
        notice.is_read = self.read_at is not None  # type: ignore[attr-defined]
        return notice


class ReadReceipt(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="read_receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="read_receipt_once_per_user"),
        ]
        indexes = [models.Index(fields=["user", "notice"], name="read_receipt_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notice_id} at {self.read_at:%Y-%m-%d %H:%M}"
