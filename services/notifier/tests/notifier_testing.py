"""Builders shared by the notifier tests: contract events, a settable clock, a ready store,
the records of a log, a PostgreSQL database of their own."""

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import (
    CloudEvent,
    NoticeArchivedV1,
    NoticePublishedV1,
    NoticeReadV1,
    RecipientUpdatedV1,
    build_event,
)
from notifier.handlers.context import EventContext, Received
from notifier.routers.events import HANDLERS

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def envelope(data: Any, *, time: datetime = T0, event_id: UUID | None = None) -> CloudEvent[Any]:
    subject = str(getattr(data, "notice_id", None) or data.user_id)
    return build_event(
        event_id=event_id or uuid.uuid4(),
        subject=subject,
        time=time,
        data=data,
        traceparent=TRACEPARENT,
        correlationid="corr-1",
    )


def wire_bytes(event: CloudEvent[Any]) -> bytes:
    """The event as the producer should send it.

    Not ``CloudEvent.to_json_bytes()``: that drops None, and so the required-but-
    nullable fields (visible_until, remind_after_seconds), which then fail parsing.
    """
    return event.model_dump_json().encode()


def context_of(event: CloudEvent[Any]) -> EventContext:
    return EventContext.of(event, wire_bytes(event))


def recipient_updated(
    user_id: UUID, *, email: str | None = None, is_active: bool = True, timezone: str = "UTC"
) -> RecipientUpdatedV1:
    return RecipientUpdatedV1(
        user_id=user_id,
        email=email if email is not None else f"{user_id.hex[:12]}@example.org",
        display_name=f"User {user_id.hex[:6]}",
        timezone=timezone,
        locale="en",
        is_active=is_active,
    )


@dataclass
class NoticeSpec:
    recipient_ids: list[UUID]
    notice_id: UUID = field(default_factory=uuid.uuid4)
    category: str = "general"
    urgent: bool = False
    remind_after_seconds: int | None = None
    published_at: datetime = T0
    visible_from: datetime | None = None  # the publish time when None
    visible_until: datetime | None = None
    url: str | None = None  # a notices.example link when None

    def published(self) -> NoticePublishedV1:
        return NoticePublishedV1(
            notice_id=self.notice_id,
            version=1,
            title="Fire drill <Tuesday>",
            summary="Leave by the east stairs & meet outside.",
            category=self.category,
            urgent=self.urgent,
            published_at=self.published_at,
            visible_from=self.visible_from or self.published_at,
            visible_until=self.visible_until,
            author_id=uuid.uuid4(),
            recipient_ids=self.recipient_ids,
            group_ids=[],
            remind_after_seconds=self.remind_after_seconds,
            url=self.url or f"https://notices.example/n/{self.notice_id}",
        )

    def read(self, user_id: UUID, *, at: datetime = T0) -> NoticeReadV1:
        return NoticeReadV1(notice_id=self.notice_id, user_id=user_id, read_at=at)

    def archived(self, *, at: datetime = T0) -> NoticeArchivedV1:
        return NoticeArchivedV1(notice_id=self.notice_id, archived_at=at)


async def handle(session: AsyncSession, event: CloudEvent[Any], *, now: datetime) -> None:
    """Hand one event to its handler as the consumer does, a batch of one, without the inbox."""
    await HANDLERS[event.type](session, events=[Received(event.data, context_of(event))], now=now)


def log_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON objects among the lines of a log, and the lines that are not one."""
    records: list[dict[str, Any]] = []
    others: list[str] = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            records.append(value)
        else:
            others.append(line)
    return records, others


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; yields its URL, drops it at the end."""
    _psql(f'CREATE DATABASE "{name}"')
    try:
        yield with_path(POSTGRES_URL, "/" + name)
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
