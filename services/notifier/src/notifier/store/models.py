"""Tables of the notifier's database (SQLAlchemy 2 declarative, SQLite and PostgreSQL)."""

from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # the common case, and a hot path: every row has several
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# PostgreSQL's own default names, spelled out so that SQLite gets the same ones and a
# migration can name a constraint on both backends (and on a database created before
# these names were given: PostgreSQL chose exactly these).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryKind(StrEnum):
    NOTICE = "notice"
    REMINDER = "reminder"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class InboxEvent(Base):
    """Every event id handled; written in the transaction of everything the event caused."""

    __tablename__ = "inbox"

    event_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class Recipient(Base):
    __tablename__ = "recipients"

    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(35))
    is_active: Mapped[bool] = mapped_column(Boolean)
    # The newest recipient.updated wins, whatever order they arrive in: the highest
    # directory version, or the event time for events from a producer without versions.
    source_time: Mapped[datetime]
    directory_version: Mapped[int | None] = mapped_column(Integer)


class Preferences(Base):
    __tablename__ = "preferences"

    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    # channel -> categories the user opted out of, e.g. {"email": ["newsletter"]}
    opt_outs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    # Newest first; during a rotation the previous secret signs too.
    secrets: Mapped[list[str]] = mapped_column(JSON)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Notice(Base):
    """What the notifier knows of a notice; may exist from a read or archive before its publish."""

    __tablename__ = "notices"

    notice_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    # Messages to people are due from visible_from and owed no longer after visible_until.
    visible_from: Mapped[datetime | None]
    visible_until: Mapped[datetime | None]
    remind_after_seconds: Mapped[int | None] = mapped_column(Integer)
    archived_at: Mapped[datetime | None]


class NoticeAudience(Base):
    """The frozen audience of a published notice.

    Kept so that a user the directory learns of (or can email) only later still gets it.
    """

    __tablename__ = "notice_audience"
    __table_args__ = (Index("ix_notice_audience_user", "user_id"),)

    notice_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)


class Read(Base):
    """A read receipt; kept even when it arrives before the notice is published."""

    __tablename__ = "reads"

    notice_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    read_at: Mapped[datetime]


class Delivery(Base):
    """The ledger: one row per message to send, saved before it is sent.

    The id is deterministic (see ``notifier.ids``) and doubles as the email
    Message-ID and the webhook-id, so a duplicate send is recognisable downstream.
    Reminders are deliveries of kind ``reminder`` due at publish time + delay.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "target_id", "channel", "kind", name="uq_delivery_target"),
        Index("ix_deliveries_due", "status", "channel", "due_at"),
        Index("ix_deliveries_notice", "notice_id"),
        Index("ix_deliveries_target", "target_id"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    notice_id: Mapped[UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    # user id for email, endpoint id for webhooks
    target_id: Mapped[UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    # The fencing token of the claim that holds the row: a send's result is recorded only
    # while its claim still holds it, never after a re-claim or a cancel.
    claim_token: Mapped[UUID | None] = mapped_column(Uuid)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # webhook payload (the CloudEvent)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    event_id: Mapped[UUID] = mapped_column(Uuid)
    event_time: Mapped[datetime]
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    traceparent: Mapped[str | None] = mapped_column(String(55))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
