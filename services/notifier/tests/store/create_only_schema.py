"""The schema as the create-only `notifier migrate` made it, frozen: models.py as it
was when Alembic came, without the naming convention (so with the constraint names
each backend chose). The models go on changing; this stays what old databases hold.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)

from notifier.store.models import UTCDateTime

metadata = MetaData()

# The column type the rows were written through; its DDL is DateTime(timezone=True).
UTC_DATETIME = UTCDateTime()

inbox = Table(
    "inbox",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("received_at", UTC_DATETIME, nullable=False),
)

recipients = Table(
    "recipients",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("email", String(320)),
    Column("display_name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(35), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("source_time", UTC_DATETIME, nullable=False),
)

preferences = Table(
    "preferences",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("opt_outs", JSON, nullable=False),
    Column("quiet_hours_start", Time),
    Column("quiet_hours_end", Time),
    Column("updated_at", UTC_DATETIME, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("secrets", JSON, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("notice_id", Uuid, primary_key=True),
    Column("title", Text),
    Column("summary", Text),
    Column("category", String(100)),
    Column("urgent", Boolean, nullable=False),
    Column("url", Text),
    Column("published_at", UTC_DATETIME),
    Column("remind_after_seconds", Integer),
    Column("archived_at", UTC_DATETIME),
)

notice_audience = Table(
    "notice_audience",
    metadata,
    Column("notice_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    Index("ix_notice_audience_user", "user_id"),
)

reads = Table(
    "reads",
    metadata,
    Column("notice_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    Column("read_at", UTC_DATETIME, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("notice_id", Uuid, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("target_id", Uuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", UTC_DATETIME, nullable=False),
    Column("claimed_until", UTC_DATETIME),
    Column("attempt_count", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_status_code", Integer),
    Column("body", LargeBinary),
    Column("urgent", Boolean, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_time", UTC_DATETIME, nullable=False),
    Column("correlation_id", String(200)),
    Column("traceparent", String(55)),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
    Column("delivered_at", UTC_DATETIME),
    UniqueConstraint("notice_id", "target_id", "channel", "kind", name="uq_delivery_target"),
    Index("ix_deliveries_due", "status", "channel", "due_at"),
    Index("ix_deliveries_notice", "notice_id"),
    Index("ix_deliveries_target", "target_id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Uuid,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("number", Integer, nullable=False),
    Column("started_at", UTC_DATETIME, nullable=False),
    Column("finished_at", UTC_DATETIME, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
)
