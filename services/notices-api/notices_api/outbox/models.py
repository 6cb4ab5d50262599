"""The transactional outbox: events written in the same transaction as the change."""

import json
import zlib
from datetime import datetime
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Func
from django.db.models.sql.compiler import SQLCompiler


def encode_envelope(envelope: dict[str, Any]) -> bytes:
    """The message body the relay sends: the envelope as compact JSON."""
    return json.dumps(envelope, separators=(",", ":")).encode()


def partition_for(aggregate_id: str, partitions: int) -> int:
    """Stable across processes and hosts (unlike ``hash()``), so every writer agrees."""
    return zlib.crc32(aggregate_id.encode()) % partitions


class NextOutboxPosition(Func):
    """The next value of the outbox's own sequence, taken by the INSERT itself.

    Services lock the aggregate's row before writing its events, so for one
    aggregate insert order is commit order, and ``position`` orders them. Unlike a
    client-made timestamp it does not depend on the clocks of several API hosts.
    """

    output_field = models.BigIntegerField()
    SEQUENCE = "outbox_outboxevent_position_seq"

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        # SQLite: the connection runs in IMMEDIATE mode, so MAX()+1 holds the write lock.
        return "(SELECT COALESCE(MAX(position), 0) + 1 FROM outbox_outboxevent)", []

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        return f"nextval('{self.SEQUENCE}')", []


class OutboxEventQuerySet(models.QuerySet["OutboxEvent"]):
    def pending(self) -> "OutboxEventQuerySet":
        return self.filter(status=OutboxEvent.Status.PENDING)

    def failed(self) -> "OutboxEventQuerySet":
        return self.filter(status=OutboxEvent.Status.FAILED)

    def published(self) -> "OutboxEventQuerySet":
        return self.filter(status=OutboxEvent.Status.PUBLISHED)

    def in_partitions(self, partitions: "tuple[int, ...]") -> "OutboxEventQuerySet":
        return self.filter(partition__in=partitions)

    def backing_off(self, *, now: datetime) -> "OutboxEventQuerySet":
        """Pending rows whose last attempt failed and whose retry is not due yet."""
        return self.pending().filter(attempts__gt=0, next_attempt_at__gt=now)

    def held(self) -> "OutboxEventQuerySet":
        """Pending rows queued behind a parked row of their aggregate: an operator's call."""
        return self.pending().filter(models.Exists(_older_of_same_aggregate(self.failed())))

    def publishable(self, *, now: datetime) -> "OutboxEventQuerySet":
        """Pending rows that are due and not queued behind a backing-off or parked row.

        A first attempt is always due: its ``next_attempt_at`` comes from the clock of
        the host that wrote it, which may run ahead of the relay's. A parked row holds
        its aggregate until it is replayed or skipped, so that nothing overtakes it.
        """
        blockers = OutboxEvent.objects.backing_off(now=now) | OutboxEvent.objects.failed()
        return (
            self.pending()
            .filter(models.Q(attempts=0) | models.Q(next_attempt_at__lte=now))
            .exclude(models.Exists(_older_of_same_aggregate(blockers)))
        )

    def published_before(self, cutoff: datetime) -> "OutboxEventQuerySet":
        return self.published().filter(published_at__lt=cutoff)


def _older_of_same_aggregate(rows: OutboxEventQuerySet) -> OutboxEventQuerySet:
    return rows.filter(
        aggregate_type=models.OuterRef("aggregate_type"),
        aggregate_id=models.OuterRef("aggregate_id"),
        position__lt=models.OuterRef("position"),
    )


class OutboxEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed (parked)"
        # An operator gave up on a parked row (outbox_skip): never published.
        SKIPPED = "skipped", "Skipped by an operator"

    # The UUIDv7 event id: CloudEvents id, AMQP message_id, notifier inbox key.
    id = models.UUIDField(primary_key=True, editable=False)
    position = models.BigIntegerField(unique=True, editable=False)
    partition = models.PositiveSmallIntegerField()
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=128)
    envelope = models.JSONField(help_text="The CloudEvents 1.0 structured-mode document.")
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    objects = OutboxEventQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        indexes = [
            models.Index(
                fields=["partition", "position"],
                name="outbox_pending_by_partition",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["status", "published_at"], name="outbox_status_published_at"),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate"),
            # The relay's claim walks pending rows in commit order (all partitions owned)...
            models.Index(
                fields=["position"],
                name="outbox_pending_by_position",
                condition=models.Q(status="pending"),
            ),
            # ...skipping aggregates queued behind a backing-off row (few: retries only)...
            models.Index(
                fields=["aggregate_type", "aggregate_id", "position"],
                name="outbox_retrying_by_aggregate",
                condition=models.Q(status="pending", attempts__gt=0),
            ),
            # ...and, when another relay holds rows, looks up each aggregate's oldest one.
            models.Index(
                fields=["aggregate_type", "aggregate_id", "position"],
                name="outbox_pending_by_aggregate",
                condition=models.Q(status="pending"),
            ),
            # Parked rows hold their aggregate's later rows (few: an operator's backlog).
            models.Index(
                fields=["aggregate_type", "aggregate_id", "position"],
                name="outbox_parked_by_aggregate",
                condition=models.Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id} ({self.status})"

    def envelope_json(self) -> bytes:
        return encode_envelope(self.envelope)
