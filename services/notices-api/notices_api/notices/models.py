from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
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
    def published(self) -> "NoticeQuerySet":
        return self.filter(status=Notice.Status.PUBLISHED)

    def in_window(self, at: datetime | None = None) -> "NoticeQuerySet":
        return self.filter(_in_window(at or timezone.now()))

    def addressed_to(self, user: Any) -> "NoticeQuerySet":
        return self.filter(_addressed_to(user))

    def visible_to(self, user: Any, at: datetime | None = None) -> "NoticeQuerySet":
        """Published, inside its window, and in the audience frozen at publish."""
        return self.filter(_visible_to(user, at or timezone.now()))

    def authored_by(self, user: Any) -> "NoticeQuerySet":
        return self.filter(author=user)

    def visible_or_authored_by(self, user: Any, at: datetime | None = None) -> "NoticeQuerySet":
        return self.filter(Q(author=user) | _visible_to(user, at or timezone.now()))

    def with_read_state(self, user: Any) -> "NoticeQuerySet":
        return self.annotate(
            is_read=Exists(ReadReceipt.objects.filter(notice=OuterRef("pk"), user=user))
        )

    def unread_by(self, user: Any) -> "NoticeQuerySet":
        return self.exclude(Exists(ReadReceipt.objects.filter(notice=OuterRef("pk"), user=user)))

    def in_category(self, category: str) -> "NoticeQuerySet":
        return self.filter(category=category)

    def search(self, text: str) -> "NoticeQuerySet":
        return self.filter(Q(title__icontains=text) | Q(body__icontains=text))

    def for_listing(self) -> "NoticeQuerySet":
        return self.select_related("author")


def _in_window(at: datetime) -> Q:
    return Q(visible_from__lte=at) & (Q(visible_until__isnull=True) | Q(visible_until__gt=at))


def _addressed_to(user: Any) -> Q:
    return Q(Exists(NoticeRecipient.objects.filter(notice=OuterRef("pk"), user=user)))


def _visible_to(user: Any, at: datetime) -> Q:
    return Q(status=Notice.Status.PUBLISHED) & _in_window(at) & _addressed_to(user)


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


class NoticeRecipient(models.Model):
    """One user of a notice's audience, frozen when the notice was published."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="notice_recipient_once"),
        ]
        indexes = [models.Index(fields=["user", "notice"], name="notice_recipient_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} <- {self.notice_id}"


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
